"""Text search on a log bigger than its sample (store/text_search.py), on a real DuckDB file: the estimate's
interval holds the exact count, a page searched slice by slice equals the page read in one scan, and a search
that runs out of time says how far it got."""

from __future__ import annotations

import random

import pytest

from cascade_core.store import RunFilter, RunSort, Store, count_runs, runs_page
from cascade_core.store.text_search import count_matches, search_page
from cascade_core.views import count_caption, search_note
from tests.factories import hours_ago, make_trace

WORDS = "capital river prime photosynthesis discount ledger orbit vector enzyme treaty".split()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """3,000 runs over 300 hours; 'photosynthesis' in about a quarter of the questions, 'zebra' in 3."""
    rng = random.Random(7)
    traces = []
    for i in range(3000):
        words = rng.sample(WORDS, 3) + (["zebra"] if i in (10, 1500, 2990) else [])
        traces.append(make_trace(rng.randrange(3), question=f"q{i} " + " ".join(words),
                                 source=rng.choice(["api", "query"]), when=hours_ago(rng.uniform(0, 300))))
    path = tmp_path_factory.mktemp("search") / "s.duckdb"
    with Store(path) as s:
        s.log_traces(traces)
    s = Store(path)
    yield s
    s.close()


@pytest.mark.parametrize("f", [RunFilter(text="PHOTOSYNTHESIS"), RunFilter(text="zebra"),
                               RunFilter(text="prime", sources=("api",), start=hours_ago(250), end=hours_ago(20.5))])
def test_estimate_interval_holds_the_exact_count(store: Store, f: RunFilter) -> None:
    exact = count_runs(store, f)
    estimate = count_matches(store, f, budget=600, exact_below=600, seed=3)
    assert not estimate.exact and estimate.sampled_runs >= 500 and estimate.slices == 4
    assert estimate.candidates == count_runs(store, RunFilter(start=f.start, end=f.end, sources=f.sources))
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low <= exact <= estimate.high and estimate.low <= estimate.value <= estimate.high
    assert count_caption(estimate, filtered=True, offset=0, shown=0).startswith(f"≈ {estimate.value:,} ")
    assert count_matches(store, f).exact  # under EXACT_RUNS candidates: one scan counts exactly
    assert count_matches(store, f).value == exact
    assert search_page(store, f, RunSort()).rows["run_id"].tolist() == runs_page(store, f, RunSort())["run_id"].tolist()


@pytest.mark.parametrize(("sort", "offset"), [(RunSort(), 0), (RunSort(), 130), (RunSort("time", False), 55)])
def test_a_page_searched_by_slices_equals_one_scan(store: Store, sort: RunSort, offset: int) -> None:
    f = RunFilter(text="orbit", sources=("api", "query"))
    sliced = search_page(store, f, sort, limit=50, offset=offset, budget_s=60, slice_runs=200, exact_below=0)
    whole = runs_page(store, f, sort, limit=50, offset=offset)
    assert sliced.complete and sliced.rows["run_id"].tolist() == whole["run_id"].tolist() and len(whole) == 50


def test_a_search_out_of_time_says_how_far_it_got(store: Store) -> None:
    page = search_page(store, RunFilter(text="zebra"), RunSort(), limit=50, budget_s=0.0, slice_runs=100, exact_below=0)
    assert not page.complete and page.searched_to is not None and len(page.rows) <= 1
    assert page.searched_to > hours_ago(300)
    note = search_note(page, 0.8)
    assert note is not None and f"{page.searched_to:%Y-%m-%d %H:%M}" in note and "older runs" in note
    everything = search_page(store, RunFilter(text="zebra"), RunSort(), limit=50, budget_s=60, slice_runs=100,
                             exact_below=0)
    assert everything.complete and len(everything.rows) == 3 and search_note(everything, 0.8) is None


def test_the_interval_covers_the_count_in_most_samples(store: Store) -> None:
    """Over 40 random samples the 95% interval holds the exact count at least 36 times (a bad variance
    estimate from a few blocks would miss far more often)."""
    f = RunFilter(text="photosynthesis")
    exact = count_runs(store, f)
    estimates = [count_matches(store, f, budget=600, exact_below=600, seed=seed) for seed in range(40)]
    covered = sum(1 for e in estimates if e.low is not None and e.high is not None and e.low <= exact <= e.high)
    assert covered >= 36, covered
    assert len({e.value for e in estimates}) > 10  # the samples differ
