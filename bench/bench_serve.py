"""Load benchmark of the cascade endpoint: simulator and server as separate processes, 64 concurrent clients.

    .venv/bin/python bench/bench_serve.py                      # 20,000 requests, 64 clients
    .venv/bin/python bench/bench_serve.py --requests 2000 --concurrency 16
    .venv/bin/python bench/bench_serve.py --rate 300 --serve-arg=--log-before-answer   # the durable mode's cost

Prints requests/s, total latency percentiles, and the latency ADDED by the cascade endpoint: for each request,
the client-observed time minus the time the server spent waiting on tier calls (the run's recorded call
latencies, read back from the log by run id). Then stops the server with SIGTERM and checks that exactly one
run per request was logged. The load generator is a minimal keep-alive HTTP/1.1 client on asyncio (uvloop when
installed), so that the client's own CPU cost stays small on a 2-core machine shared by all three processes.
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

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.store import Store  # noqa: E402
from tests.ports import free_port  # noqa: E402


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: not ready after {timeout}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (Linux /proc), 0 when unreadable."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (OSError, ValueError, IndexError):
        pass
    return total


class Conn:
    """One keep-alive HTTP/1.1 connection: POST JSON, read a Content-Length response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, data


async def drive(port: int, questions: list[str], total: int, concurrency: int,
                rate: float = 0.0) -> tuple[list[tuple[float, int, str]], float]:
    """`total` requests from `concurrency` clients, back to back or paced at `rate` requests/s overall.

    Returns (seconds, status, run_id) per request and the worst lag behind the pacing schedule in seconds.
    """
    results: list[tuple[float, int, str]] = []
    counter = iter(range(total))
    start = time.perf_counter()
    worst_lag = 0.0

    async def client() -> None:
        nonlocal worst_lag
        conn = Conn("127.0.0.1", port)
        for i in counter:
            if rate:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                worst_lag = max(worst_lag, -delay)
            message = {"role": "user", "content": questions[i % len(questions)]}
            body = orjson.dumps({"model": "cascade", "messages": [message]})
            started = time.perf_counter()
            status, headers, _ = await conn.post("/v1/chat/completions", body)
            results.append((time.perf_counter() - started, status, headers.get("x-cascade-run-id", "")))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return results, worst_lag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="pace the clients at this many requests/s overall (default: back to back)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (each commits its own runs)")
    parser.add_argument("--simulator-cmd", default=f"{sys.executable} -m cascade_core.simulator --port {{port}}",
                        help="command starting the simulator; {port} is replaced")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra argument for `serve` (repeatable), e.g. --serve-arg=--log-before-answer")
    args = parser.parse_args()

    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    workdir = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    store_path = workdir / "runs.duckdb"
    sim_port, port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_SERVE_TOKEN", None)
    sim = subprocess.Popen(args.simulator_cmd.format(port=sim_port).split(), cwd=ROOT, env=env)
    server = None
    try:
        wait_ready(f"http://127.0.0.1:{sim_port}/v1/models", sim)
        server = subprocess.Popen(
            [sys.executable, "-m", "cascade_core", "serve", "--port", str(port), "--store", str(store_path),
             "--simulator-url", f"http://127.0.0.1:{sim_port}/v1", "--workers", str(args.workers),
             *args.serve_arg], cwd=ROOT, env=env)
        wait_ready(f"http://127.0.0.1:{port}/healthz", server)
        questions = [item.question for item in load_bundled().items]
        cpu_before = {"server": cpu_seconds(server.pid), "simulator": cpu_seconds(sim.pid),
                      "load generator": time.process_time()}
        started = time.perf_counter()
        results, lag = asyncio.run(drive(port, questions, args.requests, args.concurrency, args.rate))
        wall = time.perf_counter() - started
        cpu_ms = {"server": cpu_seconds(server.pid), "simulator": cpu_seconds(sim.pid),
                  "load generator": time.process_time()}
        cpu_ms = {k: (v - cpu_before[k]) * 1000 / len(results) for k, v in cpu_ms.items()}
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        for proc in (server, sim):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)

    statuses = [status for _, status, _ in results]
    ok = sum(1 for s in statuses if s == 200)
    with Store(store_path) as store:
        logged = store.query_df("SELECT run_id, latency_ms, overhead_ms, final_tier, n_steps FROM all_runs "
                                "WHERE source = 'api'")
    tier_ms = dict(zip(logged.run_id, logged.latency_ms, strict=True))
    warm = min(len(results) // 10, 2 * args.concurrency)  # the first requests meet cold connections
    total_ms = np.array([seconds * 1000 for seconds, _, _ in results])
    added_ms = np.array([seconds * 1000 - tier_ms.get(run_id, np.nan) for seconds, _, run_id in results])
    steady_total, steady_added = total_ms[warm:], added_ms[warm:]
    mix = logged.final_tier.value_counts(normalize=True).round(3).to_dict()

    paced = f"paced at {args.rate:.0f}/s (worst lag {lag * 1000:.0f} ms), " if args.rate else "back to back, "
    mode = " ".join(args.serve_arg)
    print(f"server workers: {args.workers} {mode}; requests: {len(results)} at concurrency {args.concurrency}, "
          f"{paced}in "
          f"{wall:.1f} s -> {len(results) / wall:.0f} requests/s; status 200: {ok}, other: {len(results) - ok}")
    print(f"latency percentiles leave out the first {warm} requests (cold start; with them: total p99 "
          f"{np.percentile(total_ms, 99):.1f} ms, added p99 {np.nanpercentile(added_ms, 99):.1f} ms)")
    print(f"total latency (client-observed) ms: p50 {np.percentile(steady_total, 50):.1f}  "
          f"p99 {np.percentile(steady_total, 99):.1f}")
    print(f"added by the endpoint (client-observed minus tier-call time) ms: "
          f"p50 {np.nanpercentile(steady_added, 50):.1f}  p99 {np.nanpercentile(steady_added, 99):.1f}")
    print(f"cascade's own work in the walk (overhead_ms) ms: p50 {logged.overhead_ms.quantile(0.5):.2f}  "
          f"p99 {logged.overhead_ms.quantile(0.99):.2f}")
    print("CPU per request (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu_ms.items())
          + f"; machine load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"tier calls per request: {logged.n_steps.mean():.2f}; tier mix: {mix}")
    distinct = logged.run_id.nunique()
    print(f"runs logged: {len(logged)} (distinct {distinct}) for {len(results)} requests -> "
          f"{'OK' if len(logged) == distinct == len(results) else 'MISMATCH'}")
    return 0 if len(logged) == distinct == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
