"""Parse-error rate of the self_rated signal, asked with `json_object` (before issue 16) and with a
`json_schema` response_format (after), on the simulator's malformed knob.

    .venv/bin/python bench/bench_structured.py                     # 300 bundled questions, malformed_rate 0.2
    .venv/bin/python bench/bench_structured.py --malformed 0.5 --n 500

"after, schema enforced" is a server that decodes under the schema (vLLM, llama.cpp, NIM, OpenAI strict: the
simulator's `constrained_decoding`); "after, schema ignored" one that takes the parameter and ignores it (the
simulator's knob then garbles as before). Also prints how often a reply is read by the fast path (the whole
reply is the JSON object) and how long one parse takes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.cascade import RetryConfig, TierClient, default_config  # noqa: E402
from cascade_core.cascade.config import SimulatorConfig  # noqa: E402
from cascade_core.cascade.signals import get_signal  # noqa: E402
from cascade_core.cascade.signals.self_rated import parse_self_rated  # noqa: E402
from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.simulator import EmbeddedSimulator  # noqa: E402


def rate(sim: EmbeddedSimulator, level: str, questions: list[str]) -> tuple[float, list[str]]:
    client = TierClient(default_config().tiers[0], sim.base_url, RetryConfig(max_retries=0))
    client.format_level = level  # type: ignore[assignment]
    signal = get_signal("self_rated")
    outputs = [client.call(signal.messages(q), signal.options).raw_output for q in questions]
    errors = sum(parse_self_rated(text).parse_error is not None for text in outputs)
    client.close()
    return errors / len(questions), outputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--malformed", type=float, default=0.2)
    args = parser.parse_args()
    questions = [item.question for item in load_bundled().items][: args.n]
    print(f"{len(questions)} questions, small tier, malformed_rate {args.malformed}")
    for label, level, constrained in (("before: json_object", "json_object", False),
                                      ("after, schema ignored: json_schema", "json_schema", False),
                                      ("after, schema enforced: json_schema", "json_schema", True)):
        with EmbeddedSimulator(SimulatorConfig(malformed_rate=args.malformed, constrained_decoding=constrained,
                                               seed=1)) as sim:
            share, outputs = rate(sim, level, questions)
        print(f"  {label:40s} parse errors {share:6.1%}")
    started = time.perf_counter()
    for _ in range(20):
        for text in outputs:
            parse_self_rated(text)
    per = (time.perf_counter() - started) / (20 * len(outputs))
    print(f"parse_self_rated: {per * 1e6:.1f} us per reply")


if __name__ == "__main__":
    main()
