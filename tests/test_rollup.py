"""The per-hour rollup (store/rollup.py) gives the same Overview and Runs counts as scanning every run, on a real
DuckDB file and a real DuckLake: after a fold, after a late commit below the watermark, after a double fold."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cascade_core.store import LakeTarget, PurgeCriteria, Store, purge, rollup
from cascade_core.store.run_filter import NO_ANSWER, WINDOWS, RunFilter
from cascade_core.store.runs_query import count_runs, final_tier_options, time_bounds
from cascade_core.views.overview import compute_overview
from tests.factories import hours_ago, make_trace

FILTERS = [RunFilter(), RunFilter(sources=("api",)), RunFilter(final_tiers=("small", NO_ANSWER)),
           RunFilter(start=hours_ago(50.5), end=hours_ago(3.25), sources=("query", "api")),
           RunFilter(start=hours_ago(2), final_tiers=("large",)), RunFilter(end=hours_ago(70))]


def _traces(n: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        trace = make_trace(rng.randrange(3), source=rng.choice(["query", "api", "sweep"]),
                           when=hours_ago(rng.uniform(0, 100)), correct=rng.choice([True, False, None]),
                           error_at=0 if rng.random() < 0.05 else None)
        latency = rng.lognormvariate(5, 1)
        trace.steps = [dataclasses.replace(step, call=dataclasses.replace(step.call, latency_ms=latency))
                       for step in trace.steps]
        if rng.random() < 0.03:
            trace.final_answer, trace.final_tier, trace.final_tier_index = None, None, None
            trace.error = "no tier could answer"
        out.append(trace)
    return out


def _figures(store: Store) -> dict[str, Any]:
    """Everything the pages read through the rollup, flattened to comparable values."""
    out: dict[str, Any] = {"bounds": time_bounds(store), "tiers": final_tier_options(store)}
    for i, f in enumerate(FILTERS):
        out[f"count{i}"] = count_runs(store, f)
    for window in WINDOWS:
        data = compute_overview(store, window)
        h = data.headline
        out[window] = (h.runs, round(h.spend, 12), round(h.always_large, 12), round(h.failed_spend, 12),
                       h.estimated_runs, h.graded, h.accuracy, h.error_rate, h.failed_runs, h.simulated_runs,
                       h.p50_ms, h.p95_ms, h.first_at, h.last_at, data.unit,
                       data.tiers[["tier", "runs"]].values.tolist(),
                       data.activity.assign(spend=data.activity["spend"].round(12),
                                            always_large=data.activity["always_large"].round(12)).values.tolist())
    return out


def _check(store: Store) -> None:
    store.log_traces(_traces(600, 1))
    raw = _figures(store)  # 600 runs is under FOLD_MIN_RUNS: nothing folded yet, every figure scanned
    assert rollup.watermark(store) is None and raw["count0"] == 600

    rollup.refresh(store, min_runs=0, margin=timedelta(hours=7, minutes=13))
    w = rollup.watermark(store)
    assert w == raw["bounds"][1] - timedelta(hours=7, minutes=13) and rollup.covered(store) == w
    assert int(store.execute("SELECT sum(runs) FROM run_rollup")[0][0]) > 400  # most runs are read from it
    assert _figures(store) == raw

    late = _traces(5, 2)  # committed after the fold, created before the watermark: counted in no rollup row
    for trace in late:
        trace.created_at = hours_ago(60.5)
    store.log_traces(late)
    assert rollup.covered(store) is None  # the totals disagree: readers scan until it is repaired
    assert rollup.repair(store) == 1  # only the hour that changed is folded again
    assert rollup.covered(store) == w
    with_late = _figures(store)
    rollup.reset(store)
    assert _figures(store) == with_late != raw  # the same as scanning every run
    rollup.refresh(store, min_runs=0, margin=timedelta(hours=7, minutes=13))

    store.execute("INSERT INTO run_rollup SELECT * FROM run_rollup WHERE hour = ?", [hours_ago(20)])  # folded twice
    assert rollup.covered(store) is None
    rollup.refresh(store, min_runs=0)
    assert rollup.covered(store) is not None and _figures(store) == with_late


def test_rollup_matches_a_scan_on_a_file(tmp_path: Path) -> None:
    with Store(tmp_path / "r.duckdb") as store:
        _check(store)
        purge(store, PurgeCriteria(older_than=hours_ago(90)), rewrite=False)
        assert rollup.watermark(store) is None  # a purge forgets the rollup; the next refresh folds again
        assert count_runs(store, RunFilter()) == int(store.execute("SELECT count(*) FROM runs")[0][0])


def test_rollup_matches_a_scan_on_a_lake(lake: LakeTarget) -> None:
    with Store(lake) as store:
        _check(store)


def test_a_read_only_store_scans_when_the_rollup_is_behind(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        store.log_traces(_traces(200, 3))
        rollup.refresh(store, min_runs=0, margin=timedelta(hours=1))
        store.log_traces([make_trace(1, when=hours_ago(80))])
        expected = int(store.execute("SELECT count(*) FROM runs WHERE source = 'api'")[0][0])
    with Store(path, read_only=True) as reader:
        assert rollup.covered(reader) is None
        rollup.refresh(reader, min_runs=0)  # cannot write: leaves it, and readers scan
        assert count_runs(reader, RunFilter(sources=("api",))) == expected


@pytest.mark.parametrize("latency", [0.0, 3.0, 250.0, 40_000.0])
def test_latency_percentile_is_within_one_percent(latency: float) -> None:
    import math

    b = math.floor(math.log(max(latency, 0.01)) / math.log(rollup.LATENCY_STEP))
    value = rollup.percentile([(b, 3)], 0.5)
    assert value is not None and abs(value - max(latency, 0.01)) <= 0.0101 * max(latency, 0.01)
    assert rollup.percentile([], 0.5) is None
