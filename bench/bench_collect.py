"""Collection throughput against the simulator with 50 ms added latency: concurrency 32 vs sequential calls.

    .venv/bin/python bench/bench_collect.py [--items 600] [--sequential-items 20] [--latency-ms 50]
                                           [--concurrency 32] [--repeat 3] [--in-process]

Both runs use the real path (official openai SDK over HTTP to loopback, cache writes to a fresh DuckDB file,
grading). The simulator runs in its own process by default, as a remote endpoint would; `--in-process` runs it
in a thread of this process instead (it then shares the GIL and the 2 cores with the client). Sequential is
measured on a subset and compared by rate (calls per second); the concurrent rate is the median of
`--repeat` runs (the machine is shared, figures move by 10-20% between runs). Target: ratio >= 20x.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from cascade_core.cascade import default_config  # noqa: E402
from cascade_core.cascade.config import CascadeConfig, SimulatorConfig  # noqa: E402
from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.datasets.loader import Dataset  # noqa: E402
from cascade_core.store import Store  # noqa: E402
from cascade_core.sweep.collect import collect  # noqa: E402
from tests.ports import free_port  # noqa: E402


def start_process(latency_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cascade_core.simulator", "--port", str(port), "--latency-ms",
                             str(latency_ms)], cwd=ROOT, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{root}/healthz", timeout=0.5).status_code == 200:
                return proc, f"{root}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator process did not start")


def config_at(url: str) -> CascadeConfig:
    data = default_config().model_dump()
    for tier in data["tiers"]:
        tier["base_url"] = url
    return CascadeConfig.model_validate(data)


def big_dataset(n: int) -> Dataset:
    """The bundled questions repeated with a numbered prefix until there are n (distinct requests, no cache hits)."""
    base = load_bundled().items
    items = []
    for i in range(n):
        item = base[i % len(base)]
        items.append(type(item)(**{**item.__dict__, "id": f"{item.id}-{i}", "question": f"[{i}] {item.question}"}))
    return Dataset(name="bench", path="<generated>", items=tuple(items))


def timed(dataset: Dataset, config: CascadeConfig, concurrency: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bench.duckdb") as store:
        started = time.perf_counter()
        result = collect(dataset, config, [t.base_url for t in config.tiers], store, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    assert result.complete and result.progress.cached == 0 and result.progress.errors == 0
    return result.progress.calls, elapsed


def sdk_ceiling(url: str, calls: int, concurrency: int) -> float:
    """Calls per second of the bare openai SDK (same request, no cache, no grading): this machine's ceiling."""
    import asyncio

    import openai

    from cascade_core.cascade.signals import get_signal

    async def run() -> float:
        client = openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0)
        body = {"model": "sim-llama-3.1-8b", "max_tokens": 256, "temperature": 0.0,
                "response_format": {"type": "json_object"}}
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                messages = get_signal("self_rated").messages(f"[sdk {i}] What is the capital of France?")
                await client.chat.completions.create(messages=messages, **body)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        rate = calls / (time.perf_counter() - started)
        await client.close()
        return rate

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--sequential-items", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="concurrent runs; the median rate is reported")
    parser.add_argument("--in-process", action="store_true", help="simulator in a thread of this process")
    args = parser.parse_args()
    proc = sim = None
    if args.in_process:
        from cascade_core.simulator import EmbeddedSimulator

        sim = EmbeddedSimulator(SimulatorConfig(latency_ms=args.latency_ms)).start()
        url = sim.base_url
    else:
        proc, url = start_process(args.latency_ms)
    try:
        config = config_at(url)
        data = big_dataset(args.items)
        seq_calls, seq_s = timed(big_dataset(args.sequential_items), config, 1)
        runs = sorted((timed(data, config, args.concurrency) for _ in range(args.repeat)), key=lambda r: r[1])
        con_calls, con_s = runs[len(runs) // 2]  # the median run
        spread = ", ".join(f"{c / t:.0f}" for c, t in runs)
        ceiling = sdk_ceiling(url, con_calls, args.concurrency)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if sim is not None:
            sim.stop()
    seq_rate, con_rate = seq_calls / seq_s, con_calls / con_s
    where = "in-process thread" if args.in_process else "separate process"
    print(f"simulator: {where}, added latency {args.latency_ms:g} ms per call")
    print(f"sequential (concurrency 1): {seq_calls} calls in {seq_s:.2f} s = {seq_rate:.1f} calls/s")
    print(f"concurrency {args.concurrency}: {con_calls} calls in {con_s:.2f} s = {con_rate:.1f} calls/s "
          f"(median of {len(runs)} runs: {spread} calls/s)")
    print(f"ratio: {con_rate / seq_rate:.1f}x (target >= 20x)")
    print(f"bare openai SDK at concurrency {args.concurrency} (no cache, no grading): {ceiling:.1f} calls/s, "
          f"{ceiling / seq_rate:.1f}x sequential: the CPU ceiling of this machine for this client")


if __name__ == "__main__":
    main()
