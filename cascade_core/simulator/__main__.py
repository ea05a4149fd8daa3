"""Run the simulator standalone: python -m cascade_core.simulator --port 8400 [--seed N --latency-ms X ...]."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from cascade_core.cascade.simulator_config import SimulatorConfig
from cascade_core.simulator.embedded import fast_server_options
from cascade_core.simulator.server import create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cascade_core.simulator",
                                     description="Simulated Llama-3.1-like tiers on the OpenAI wire protocol.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--truncate-rate", type=float, default=0.0)
    parser.add_argument("--report-cost", action="store_true", help="put usage.cost in every response")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = SimulatorConfig(
        seed=args.seed, latency_ms=args.latency_ms, error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate,
        retry_after=args.retry_after, malformed_rate=args.malformed_rate, truncate_rate=args.truncate_rate,
        report_cost=args.report_cost,
    )
    logging.getLogger(__name__).warning("simulated tiers on http://%s:%d/v1", args.host, args.port)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning", access_log=False,
                **fast_server_options())


if __name__ == "__main__":
    main()
