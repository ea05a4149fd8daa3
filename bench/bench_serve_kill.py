"""What a `kill -9` of the endpoint loses, in each logging mode, measured.

    .venv/bin/python bench/bench_serve_kill.py                  # 5 kills per mode, 200 requests/s, 32 clients
    .venv/bin/python bench/bench_serve_kill.py --kills 3 --rate 300

Simulator and server run as separate processes. Clients send a steady paced load; after a random 2-4 s the
server gets SIGKILL. A run is *lost* when its client received the answer (HTTP 200 with its run id) and the
store does not hold it afterwards. For each kill the bench prints answered, lost, and the loss window: how long
before the kill the oldest lost answer was received. Modes: the default (a commit every --flush-interval,
0.5 s) and `--log-before-answer` (the answer is sent only after its run is committed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_serve import wait_ready  # noqa: E402

from cascade_core.store import Store  # noqa: E402
from tests.ports import free_port  # noqa: E402

MODES = {"batched (default, 0.5 s commits)": [], "--log-before-answer": ["--log-before-answer"]}


async def load(port: int, rate: float, concurrency: int, until: float) -> list[tuple[float, str]]:
    """Paced requests until `until` (monotonic) or the server dies: (time received, run id) of every 200."""
    answered: list[tuple[float, str]] = []
    interval = concurrency / rate
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/v1", timeout=10,
                                 limits=httpx.Limits(max_connections=concurrency)) as http:
        async def client(index: int) -> None:
            n, next_at = 0, time.monotonic() + random.random() * interval
            while time.monotonic() < until:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
                n += 1
                try:
                    response = await http.post("/chat/completions", json={
                        "model": "cascade", "messages": [{"role": "user", "content": f"c{index} q{n}: {n} + 2?"}]})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    answered.append((time.monotonic(), response.headers["x-cascade-run-id"]))

        await asyncio.gather(*(client(i) for i in range(concurrency)))
    return answered


def one_kill(sim_url: str, extra: list[str], rate: float, concurrency: int, workdir: Path) -> tuple[int, int, float]:
    store_path = workdir / f"runs-{free_port()}.duckdb"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_SERVE_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "cascade_core", "serve", "--port", str(port), "--store",
                               str(store_path), "--simulator-url", sim_url, *extra], cwd=ROOT, env=env,
                              stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/healthz", server, timeout=60)
    delay = random.uniform(2.0, 4.0)
    killed_at = time.monotonic() + delay

    def kill() -> None:
        os.kill(server.pid, signal.SIGKILL)

    async def run() -> list[tuple[float, str]]:
        asyncio.get_running_loop().call_later(delay, kill)
        return await load(port, rate, concurrency, killed_at + 5)

    answered = asyncio.run(run())
    server.wait(timeout=10)
    with Store(store_path) as store:
        logged = {row[0] for row in store.execute("SELECT run_id FROM runs")}
    lost = [at for at, run_id in answered if run_id not in logged]
    window = (killed_at - min(lost)) if lost else 0.0
    return len(answered), len(lost), window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench_kill_"))
    sim_port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim = subprocess.Popen([sys.executable, "-m", "cascade_core.simulator", "--port", str(sim_port)], cwd=ROOT,
                           env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{sim_port}/v1/models", sim, timeout=60)
        print(f"kill -9 under {args.rate:.0f} requests/s from {args.concurrency} clients, {args.kills} kills per mode "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        for mode, extra in MODES.items():
            rows = [one_kill(f"http://127.0.0.1:{sim_port}/v1", extra, args.rate, args.concurrency, workdir)
                    for _ in range(args.kills)]
            answered, lost = sum(r[0] for r in rows), sum(r[1] for r in rows)
            windows = [r[2] for r in rows]
            print(f"{mode}: {lost} of {answered} answered runs lost ({100 * lost / max(answered, 1):.2f}%); per kill "
                  f"lost {[r[1] for r in rows]}, loss window (oldest lost answer before the kill) "
                  f"max {max(windows) * 1000:.0f} ms, per kill {[round(w * 1000) for w in windows]} ms")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
