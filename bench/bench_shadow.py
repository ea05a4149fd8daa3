"""Does shadow sampling add request latency? p99 of `serve` with shadow off and at 10%, same load.

    .venv/bin/python bench/bench_shadow.py [--requests 3000] [--rate 100] [--concurrency 32] [--latency-ms 20]
                                           [--rounds 2] [--shadow-rate 0.1]

The simulator runs as its own process with `--latency-ms` added to every call (so a shadow call to the last
tier takes as long as a real one would, relatively); two `serve` processes are started in turn, one without
shadow and one with `--shadow-rate`, and driven with the same paced load (requests/s overall, keep-alive
clients). Rounds alternate off/on so machine noise hits both. Prints client-observed latency percentiles per
round, the p99 ratio on/off, and how many shadow labels were written (read back through the store).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_serve import drive, wait_ready  # noqa: E402

from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.store import Store  # noqa: E402
from cascade_core.store.routing_tables import shadow_labels  # noqa: E402
from tests.ports import free_port  # noqa: E402


def one_run(sim_url: str, shadow: float, args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="bench_shadow_"))
    store_path = workdir / "runs.duckdb"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cascade_core", "serve", "--port", str(port), "--store", str(store_path),
         "--simulator-url", sim_url, "--shadow-rate", str(shadow), "--threshold", "0.5"], cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", server)
        questions = [item.question for item in load_bundled().items]
        started = time.perf_counter()
        results, lag = asyncio.run(drive(port, questions, args.requests, args.concurrency, args.rate))
        wall = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    ms = np.array([seconds * 1000 for seconds, _, _ in results])[args.concurrency:]  # skip cold connections
    with Store(store_path) as store:
        labels = shadow_labels(store)
        accepted = store.execute("SELECT count(*) FROM all_runs WHERE source = 'api' AND final_tier_index < 2")[0][0]
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "wall": wall, "lag": lag,
            "ok": sum(1 for _, s, _ in results if s == 200), "labels": len(labels), "accepted": int(accepted),
            "shadow_cost": float(labels["cost"].sum()) if len(labels) else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s overall (paced)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="simulator latency added to every call")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--shadow-rate", type=float, default=0.1)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_SERVE_TOKEN", None)
    env.pop("CASCADE_CONFIG", None)
    sim_port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "cascade_core.simulator", "--port", str(sim_port), "--latency-ms",
                            str(args.latency_ms)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    runs: dict[float, list[dict[str, float]]] = {0.0: [], args.shadow_rate: []}
    try:
        wait_ready(f"http://127.0.0.1:{sim_port}/v1/models", sim)
        for _ in range(args.rounds):
            for shadow in (0.0, args.shadow_rate):
                result = one_run(f"http://127.0.0.1:{sim_port}/v1", shadow, args, env)
                runs[shadow].append(result)
                print(f"shadow {shadow:.0%}: {result['ok']}/{args.requests} ok at {args.rate:.0f}/s paced "
                      f"(worst lag {result['lag'] * 1000:.0f} ms); latency p50 {result['p50']:.1f} ms, "
                      f"p99 {result['p99']:.1f} ms; shadow labels {result['labels']} of {result['accepted']} "
                      f"accepted below the last tier, shadow spend ${result['shadow_cost']:.5f}")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    off = float(np.median([r["p99"] for r in runs[0.0]]))
    on = float(np.median([r["p99"] for r in runs[args.shadow_rate]]))
    print(f"median p99 over {args.rounds} rounds: off {off:.1f} ms, shadow {args.shadow_rate:.0%} {on:.1f} ms -> "
          f"ratio {on / off:.2f}; machine load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
