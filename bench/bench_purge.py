"""Purge speed on a big run log: runs past retention, a text match and one run id, each followed by the file
rewrite that leaves no deleted bytes behind (the store built as in bench_dashboard.py: n runs x 3 steps over
90 days).

    .venv/bin/python bench/bench_purge.py [--runs 200000]
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
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import NEWEST, build  # noqa: E402

from cascade_core.store import PurgeCriteria, Store, purge  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200_000)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "purge.duckdb"
    with Store(path) as store:
        started = time.perf_counter()
        build(store, args.runs)
        size = path.stat().st_size
        print(f"built {args.runs:,} runs x 3 steps in {time.perf_counter() - started:.1f} s ({size / 1e6:.0f} MB)")
        for label, criteria in (
            ("one run id", PurgeCriteria(run_ids=("r000000007",))),
            ("text match ('photosynthesis', about 1 run in 5)", PurgeCriteria(text="photosynthesis")),
            ("past 30-day retention (2 of 3 left)", PurgeCriteria(older_than=NEWEST - timedelta(days=30))),
        ):
            started = time.perf_counter()
            dry = purge(store, criteria, dry_run=True)
            counted = time.perf_counter() - started
            started = time.perf_counter()
            report = purge(store, criteria)
            took = time.perf_counter() - started
            print(f"{label}: {report.removed['runs']:,} runs, {report.removed['steps']:,} steps removed in "
                  f"{took:.2f} s including the file rewrite ({path.stat().st_size / 1e6:.0f} MB after); "
                  f"dry run {counted:.2f} s ({dry.removed['runs']:,} runs)")


if __name__ == "__main__":
    main()
