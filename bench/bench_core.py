"""Core speed: the cascade's own work per question, and writing runs to the store.

Targets (issue 2): cascade overhead p50 < 1 ms for a 3-tier walk (model calls and the store write timed
separately); one run written p50 < 5 ms; 10,000 runs logged in < 10 s.

    .venv/bin/python bench/bench_core.py
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cascade_core.cascade import default_config, open_runtime
from cascade_core.cascade.walk import Cascade
from cascade_core.datasets import load_bundled
from cascade_core.store import RunLogger, Store


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    items = load_bundled().items
    # Threshold 1.0 escalates everything below self-rated 5; the walks that reach the large tier are timed.
    config = default_config().with_overrides(thresholds=[1.0, 1.0])
    with open_runtime(config) as runtime:
        traces = [runtime.cascade.run(item.question, item=item) for item in items[:200]]
    three = [t for t in traces if len(t.steps) == 3]
    overhead = [t.overhead_ms for t in three]
    calls = [t.latency_ms for t in three]
    print(f"3-tier walks against the embedded simulator: {len(three)}")
    print(f"  cascade overhead (wall - model calls): p50 {pct(overhead, .5):.3f} ms  p95 {pct(overhead, .95):.3f} ms"
          f"  (target p50 < 1 ms; ratio {1.0 / max(pct(overhead, .5), 1e-9):.1f}x under)")
    print(f"  model calls (HTTP to loopback simulator): p50 {pct(calls, .5):.2f} ms")

    # The same decision path without HTTP: replay recorded calls through a cascade with canned clients.
    class Replay:
        def __init__(self, recorded: list) -> None:
            self.recorded, self.base_url, self.i = recorded, "replay", 0

        def call(self, messages, **_: object):
            call = self.recorded[self.i % len(self.recorded)]
            self.i += 1
            return call

    replay_clients = [Replay([t.steps[k].call for t in three]) for k in range(3)]
    replay = Cascade(config, replay_clients)  # type: ignore[arg-type]
    pure: list[float] = []
    for i in range(5000):
        started = time.perf_counter()
        replay.run(items[i % len(items)].question, item=items[i % len(items)])
        pure.append((time.perf_counter() - started) * 1000)
    print(f"  decision path alone (recorded calls, no HTTP): p50 {pct(pure, .5) * 1000:.1f} us"
          f"  p95 {pct(pure, .95) * 1000:.1f} us")

    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "bench.duckdb") as store:
            single: list[float] = []
            for i in range(2000):
                trace = dataclasses.replace(three[i % len(three)], run_id=uuid.uuid4().hex)
                started = time.perf_counter()
                store.log_trace(trace)
                single.append((time.perf_counter() - started) * 1000)
            print(f"store: one run per transaction (3 steps): p50 {pct(single, .5):.2f} ms  p95 {pct(single, .95):.2f}"
                  f" ms  (target p50 < 5 ms; ratio {5 / pct(single, .5):.1f}x under)")
            started = time.perf_counter()
            for i in range(10_000):
                store.log_trace(dataclasses.replace(three[i % len(three)], run_id=uuid.uuid4().hex))
            one_by_one = time.perf_counter() - started
            print(f"store: 10,000 runs one transaction each: {one_by_one:.2f} s  (target < 10 s; "
                  f"ratio {10 / one_by_one:.1f}x under)")
            started = time.perf_counter()
            with RunLogger(store) as logger:
                for i in range(10_000):
                    logger.log(dataclasses.replace(three[i % len(three)], run_id=uuid.uuid4().hex))
            grouped = time.perf_counter() - started
            print(f"store: 10,000 runs handed one at a time to RunLogger (group commit), until all committed: "
                  f"{grouped:.2f} s  (target < 10 s; ratio {10 / grouped:.1f}x under)")
            batch = [dataclasses.replace(three[i % len(three)], run_id=uuid.uuid4().hex) for i in range(10_000)]
            started = time.perf_counter()
            store.log_traces(batch)
            batched = time.perf_counter() - started
            print(f"store: 10,000 runs in one batch: {batched:.2f} s  ({one_by_one / batched:.0f}x faster than "
                  "one by one)")
            print(f"store: {store.count_runs():,} runs in {store.size_bytes() / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
