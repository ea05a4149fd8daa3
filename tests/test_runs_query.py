"""The Overview and Runs SQL on real DuckDB files: filters, sort, pages, export, windows, injection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cascade_core.store import Store
from cascade_core.store.export import export_bytes, export_runs
from cascade_core.store.run_filter import NO_ANSWER, RunFilter, RunSort, bucket_unit, window_bounds
from cascade_core.store.runs_query import (
    count_runs,
    final_tier_options,
    runs_page,
)
from cascade_core.views.overview import compute_overview
from tests.factories import hours_ago, make_trace


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """30 runs, one per hour back from the factories' fixed 'now'; a mix of sources, tiers, grades, errors."""
    traces = []
    for i in range(30):
        trace = make_trace(i % 3, question=f"question {i}", source=("query", "sweep", "audit", "api")[i % 4],
                           when=hours_ago(i), correct=(True, False, None)[i % 3 if i < 27 else 2],
                           error_at=0 if i in (4, 7) else None)
        traces.append(trace)
    traces[5].question = "100% sure_thing"
    traces[6].question = "100 percent: sureXthing"
    traces[8].final_answer, traces[8].final_tier, traces[8].final_tier_index = None, None, None
    traces[8].error, traces[8].final_confidence = "no tier could answer", None
    with Store(tmp_path / "s.duckdb") as s:
        s.log_traces(traces)
    s = Store(tmp_path / "s.duckdb")
    yield s
    s.close()


def test_empty_filter_counts_everything(store: Store) -> None:
    assert count_runs(store, RunFilter()) == 30


@pytest.mark.parametrize(("run_filter", "expected"), [
    (RunFilter(sources=("query",)), 8),
    (RunFilter(sources=("query", "api")), 15),
    (RunFilter(final_tiers=("small",)), 10),
    (RunFilter(final_tiers=(NO_ANSWER,)), 1),
    (RunFilter(final_tiers=("large", NO_ANSWER)), 10),
    (RunFilter(graded="correct"), 9),
    (RunFilter(graded="incorrect"), 9),
    (RunFilter(graded="ungraded"), 12),
    (RunFilter(errors_only=True), 3),
    (RunFilter(text="QUESTION 2"), 11),  # question 2 and 20..29, case-insensitive
    (RunFilter(text="100% sure_"), 1),  # % and _ are literal, not wildcards
    (RunFilter(start=hours_ago(9.5), end=hours_ago(0)), 10),
    (RunFilter(confidence=(0.7, 0.8)), 29),  # make_trace's final confidence is 0.75; the failed run has none
    (RunFilter(sources=("sweep",), graded="correct"), 2),
])
def test_filters_change_counts(store: Store, run_filter: RunFilter, expected: int) -> None:
    assert count_runs(store, run_filter) == expected
    assert len(runs_page(store, run_filter, RunSort(), limit=100)) == expected


def test_text_search_cannot_alter_sql(store: Store) -> None:
    for hostile in ("' OR 1=1 --", "'); DROP TABLE runs; --", "\\", "\\%", "%%", "__"):
        assert count_runs(store, RunFilter(text=hostile)) == 0
    assert count_runs(store, RunFilter(text="%")) == 1  # literal: only "100% sure_thing"
    assert count_runs(store, RunFilter(text="_")) == 1
    assert count_runs(store, RunFilter(sources=("query' OR '1'='1",))) == 0
    assert count_runs(store, RunFilter()) == 30  # the table is still there


def test_text_search_ignores_case(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces([make_trace(0, question=q) for q in ("Photosynthesis in ÉTÉ", "prime numbers")])
        assert count_runs(store, RunFilter(text="PHOTOSYNTHESIS")) == 1
        assert count_runs(store, RunFilter(text="été")) == 1  # not only ASCII
        assert count_runs(store, RunFilter(text="sis IN é")) == 1  # a substring, spaces included


def test_sort_and_pages_are_done_in_sql(store: Store) -> None:
    newest = runs_page(store, RunFilter(), RunSort("time", True), limit=5)
    assert newest["question"].tolist()[:2] == ["question 0", "question 1"]
    oldest = runs_page(store, RunFilter(), RunSort("time", False), limit=5)
    assert oldest["question"].iloc[0] == "question 29"
    pages = [runs_page(store, RunFilter(), RunSort("cost", True), limit=7, offset=o) for o in range(0, 30, 7)]
    ids = [rid for p in pages for rid in p["run_id"]]
    assert len(ids) == 30 and len(set(ids)) == 30
    costs = [c for p in pages for c in p["total_cost"]]
    assert costs == sorted(costs, reverse=True)
    with pytest.raises(ValueError):
        runs_page(store, RunFilter(), RunSort("question; DROP TABLE runs"))


def test_final_tier_options_in_tier_order(store: Store) -> None:
    assert final_tier_options(store) == ["small", "mid", "large", NO_ANSWER]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_row_count_matches_filter(store: Store, tmp_path: Path, fmt: str) -> None:
    run_filter = RunFilter(sources=("sweep", "api"), graded="ungraded")
    path = tmp_path / f"out.{fmt}"
    written = export_runs(store, run_filter, RunSort(), fmt, path)  # type: ignore[arg-type]
    expected = count_runs(store, run_filter)
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    in_file = duckdb.sql(f"SELECT count(*) FROM {reader}('{path}')").fetchone()[0]
    assert written == expected == in_file > 0
    data, rows = export_bytes(store, run_filter, RunSort(), fmt)  # type: ignore[arg-type]
    assert rows == expected and len(data) > 0


def test_overview_numbers(store: Store) -> None:
    data = compute_overview(store, "all time")
    h = data.headline
    assert h.runs == 30
    everything = sum(make_trace(i % 3).total_cost for i in range(30)) - 2 * 1e-5
    failed = make_trace(8 % 3).total_cost  # run 8: no tier could answer
    assert h.spend == pytest.approx(everything - failed)  # answered runs only
    assert h.failed_runs == 1 and h.failed_spend == pytest.approx(failed)
    assert h.total_spend == pytest.approx(everything)
    assert h.always_large == pytest.approx(29 * 3e-5)  # the failed run is not counted as if it had saved
    assert h.savings == pytest.approx(h.always_large - h.spend)
    assert h.graded == 18 and h.accuracy == pytest.approx(0.5)
    assert h.error_rate == pytest.approx(3 / 30) and h.failed_rate == pytest.approx(1 / 30)
    assert h.p50_ms is not None and h.p95_ms is not None and h.p50_ms <= h.p95_ms
    assert data.tiers["share"].sum() == pytest.approx(1.0)
    assert data.unit == "hour"
    day = compute_overview(store, "last 24 hours")
    assert day.headline.runs == 25  # the window ends at the newest run: hours 0..24 inclusive


def test_windows_are_relative_to_the_newest_run() -> None:
    assert window_bounds("all time", hours_ago(0)) == (None, None)
    assert window_bounds("last hour", hours_ago(0)) == (hours_ago(1), hours_ago(0))
    assert window_bounds("last 7 days", None) == (None, None)
    with pytest.raises(ValueError):
        window_bounds("last fortnight", hours_ago(0))
    assert bucket_unit(hours_ago(30), hours_ago(0)) == "hour"
    assert bucket_unit(hours_ago(24 * 30), hours_ago(0)) == "day"
    assert bucket_unit(hours_ago(24 * 365), hours_ago(0)) == "week"


def test_overview_of_an_empty_store(tmp_path: Path) -> None:
    with Store(tmp_path / "e.duckdb") as empty:
        data = compute_overview(empty, "last 24 hours")
    assert data.headline.runs == 0 and data.headline.savings_pct is None and data.headline.p50_ms is None
    assert data.tiers.empty and data.activity.empty


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("key", "descending"), [("time", True), ("time", False), ("escalations", True),
                                                 ("confidence", False), ("final tier", True)])
def test_export_in_ranges_keeps_the_page_order(store: Store, tmp_path: Path, fmt: str, key: str,
                                               descending: bool) -> None:
    """Cut into ranges of 4 runs (ties of one value split by run id, NULL keys last), the file holds every run
    exactly once in the order the page shows them."""
    run_filter = RunFilter(sources=("query", "sweep", "api"))
    sort = RunSort(key, descending)
    expected = runs_page(store, run_filter, sort, limit=100)["run_id"].tolist()
    path = tmp_path / f"out.{fmt}"
    assert export_runs(store, run_filter, sort, fmt, path, chunk_rows=4) == len(expected) == 23  # type: ignore[arg-type]
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    assert [r[0] for r in duckdb.sql(f"SELECT run_id FROM {reader}('{path}')").fetchall()] == expected


def test_text_search_is_literal_for_every_punctuation_mark(tmp_path: Path) -> None:
    """The search is an escaped RE2 pattern: no punctuation mark acts as regex syntax."""
    import string

    text = string.punctuation + " Ünï\tend"
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces([make_trace(0, question="x" + text + "y"), make_trace(0, question="nothing here")])
        for i, mark in enumerate(string.punctuation):
            assert count_runs(store, RunFilter(text=mark)) == 1, mark
            assert count_runs(store, RunFilter(text=string.punctuation[i:i + 3])) == 1
        assert count_runs(store, RunFilter(text="ünï\tEND")) == 1
        assert count_runs(store, RunFilter(text="./")) == 1 and count_runs(store, RunFilter(text=".*")) == 0


@pytest.mark.parametrize("key", ["cost", "confidence", "latency", "escalations", "final tier"])
@pytest.mark.parametrize("descending", [True, False])
def test_pages_sorted_by_a_figure_equal_sorting_every_run(tmp_path: Path, key: str, descending: bool) -> None:
    """Sorted by a figure with many ties and missing values, every page (found from the sort key and time
    first, store/runs_query._page_runs) equals the page of all runs sorted in Python: the figure (missing ones
    last), then time, then run id, all in the chosen direction."""
    import random

    rng = random.Random(11)
    traces = []
    for _ in range(400):
        trace = make_trace(rng.randrange(3), when=hours_ago(rng.choice([1, 2, 3, 4.5])))  # many ties in time too
        trace.final_confidence = None if rng.random() < 0.2 else rng.choice([0.25, 0.5, 0.75])
        if rng.random() < 0.1:
            trace.final_answer, trace.final_tier, trace.final_tier_index = None, None, None
        traces.append(trace)
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces(traces)
        sort = RunSort(key, descending)
        every = store.query_df(f"SELECT run_id, {sort.column} AS v, created_at FROM runs")
        present = every[every["v"].notna()].sort_values(["v", "created_at", "run_id"], ascending=not descending)
        missing = every[every["v"].isna()].sort_values(["created_at", "run_id"], ascending=not descending)
        expected = present["run_id"].tolist() + missing["run_id"].tolist()
        for offset in (0, 7, 50, 180, 330, 399, 420):
            page = runs_page(store, RunFilter(), sort, limit=25, offset=offset)
            assert page["run_id"].tolist() == expected[offset:offset + 25], offset
        sources = store.query_df("SELECT run_id FROM runs WHERE source = 'query'")["run_id"].tolist()
        page = runs_page(store, RunFilter(sources=("query",)), sort, limit=30, offset=10)
        assert page["run_id"].tolist() == [r for r in expected if r in set(sources)][10:40]
