"""Text search on a big run log within about a second: an estimated count and the newest matches first.

Scanning every question for a substring costs seconds at 10M runs (500 characters each), so the Runs page,
when the other filters keep more than EXACT_RUNS runs:
- counts the matches in random time slices holding about SAMPLE_RUNS of those runs and scales up by the exact
  number of runs the other filters keep (from the rollup): a ratio estimate with its 95% interval, shown as an
  estimate; `count_runs` still counts exactly, on request;
- fills a page sorted by time from the newest (or oldest) slice on, a slice of about SLICE_RUNS runs at a time,
  stopping when the page is full or the time budget is spent (the page then says how far back it searched).
Slices are plain created_at ranges, so each scan skips files and row groups outside it.

First, though, the text index (store/text_index.py) says which blocks of runs may hold the text at all: when
they hold at most EXACT_RUNS runs (a rare or absent text, over every run), those are scanned whole, so the count
is exact and the page complete, in any sort order. Common texts, which most blocks may hold, take the way above.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd

from cascade_core.store import rollup, text_index
from cascade_core.store.run_filter import RunFilter, RunSort
from cascade_core.store.runs_query import (
    ROLLUP_PARTS,
    count_in,
    count_runs,
    filter_parts,
    page_in,
    page_sql,
    runs_page,
    runs_relation,
)
from cascade_core.store.store import Store

EXACT_RUNS = 300_000  # up to this many candidate runs, one scan counts exactly and fills the page (~0.1 s at
# 300k runs on a quiet machine, quicker than sampling; 1M runs took 0.4-1.5 s with the load of other sessions)
SAMPLE_RUNS = 100_000  # runs read to estimate a count
SAMPLE_BLOCKS = 4  # ... in this many random blocks of consecutive runs: each block costs at least the row groups
# it touches (~123k runs each), so a few big blocks read far less than many small ones
SLICE_RUNS = 25_000  # runs in the first step of the newest-first page search; each next step doubles, up to
MAX_SLICE_RUNS = 400_000
SHARED_SCAN_RUNS = 120_000  # up to this many runs left by the text index, the count and the page are read in one
SHARED_ROWS = 1_000  # scan when they match at most this many runs (their page columns are fetched to count them)
PAGE_BUDGET_S = 0.5  # a page search starts no step it expects to end past this (the page says how far it got)
_T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 15: 2.13,
         20: 2.09, 30: 2.04}  # Student's t, 97.5% quantile by degrees of freedom (few blocks: a wider interval)


def _t975(df: int) -> float:
    return next((t for d, t in sorted(_T975.items()) if df <= d), 1.96)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class MatchCount:
    value: int  # exact, or the estimate
    exact: bool
    low: int | None = None  # 95% interval of an estimate
    high: int | None = None
    sampled_runs: int = 0  # runs read for the estimate
    slices: int = 0  # random time slices they came from
    candidates: int = 0  # runs the filters other than the text keep (exact)


@dataclass(frozen=True)
class SearchPage:
    rows: pd.DataFrame
    complete: bool  # every run the filters allow was searched (or the page filled)
    searched_to: datetime | None  # when incomplete: the runs from the newest (or oldest) end to here were searched
    newest_first: bool = True


def _hour_counts(store: Store, f: RunFilter) -> list[tuple[datetime, int]]:
    """Runs per hour kept by the filter's time, source and tier parts (exact, from the rollup)."""
    parts = filter_parts(f)
    keyed = [parts[k] for k in ("sources", "final_tiers") if k in parts]
    extra = " AND ".join(sql for sql, _ in keyed) or "TRUE"

    def read(w: datetime | None) -> list[tuple[datetime, int]]:
        sql, params = rollup.parts_sql(f.start, f.end, w, extra, [p for _, v in keyed for p in v])
        rows = store.execute(f"SELECT hour, sum(runs) FROM ({sql}) GROUP BY hour ORDER BY hour", params)
        return [(pd.Timestamp(h).to_pydatetime(), int(n)) for h, n in rows if n]
    return rollup.read(store, read)


def _where(f: RunFilter, low: datetime, high: datetime) -> tuple[str, list[Any]]:
    """Every part of the filter plus created_at in [low, high)."""
    parts = filter_parts(f)
    conds = [sql for sql, _ in parts.values()] + ["created_at >= ?", "created_at < ?"]
    return " AND ".join(conds), [p for _, v in parts.values() for p in v] + [low, high]


Narrowing = text_index.Candidates | None | Literal["look up"]  # what the text index leaves (None: no index)


def text_candidates(store: Store, f: RunFilter) -> text_index.Candidates | None:
    """Where f's text may occur, per the text index (None: no text, or the index cannot tell): look it up once
    per render and hand it to count_matches and search_page."""
    return text_index.candidates(store, f.text, f.start, f.end) if f.text else None


def _narrowing(store: Store, f: RunFilter, narrowed: Narrowing) -> text_index.Candidates | None:
    return text_candidates(store, f) if narrowed == "look up" else narrowed


def _count_and_page(store: Store, f: RunFilter, narrowed: text_index.Candidates, page: tuple[RunSort, int, int]
                    ) -> tuple[int, pd.DataFrame]:
    """The matches in the index's ranges counted, and one page of them, in one scan when they are at most
    SHARED_ROWS (each range costs a scan's setup, ~10 ms on a lake, so reading them twice costs twice); kept in
    `narrowed` for search_page. (Not `count(*) OVER ()`: DuckDB 1.4.4's window over a union of ranges failed now
    and then with an internal error, "Attempted to access index 0 within vector of size 0".)"""
    sort, limit, offset = page
    fetch = max(SHARED_ROWS, limit + offset)
    relation, params = runs_relation(f, narrowed.ranges)
    sql, _ = page_sql("", sort, relation)
    frame = store.query_df(sql, [*params, fetch + 1, 0])  # the first matches in the page's order
    matched = len(frame) if len(frame) <= fetch else count_in(store, f, narrowed.ranges)
    shown = frame.iloc[offset:offset + limit].reset_index(drop=True)
    narrowed.found[(f, sort, limit, offset)] = shown
    return matched, shown


def count_matches(store: Store, f: RunFilter, *, budget: int = SAMPLE_RUNS, exact_below: int = EXACT_RUNS,
                  seed: int = 0, narrowed: Narrowing = "look up",
                  page: tuple[RunSort, int, int] = (RunSort(), 50, 0)) -> MatchCount:
    """The Runs page's count: exact without a text search, when the text index leaves at most `exact_below` runs
    or the other filters keep at most that many, otherwise estimated from random time blocks holding about
    `budget` runs (see the module doc). Through the index, the `page` (sort, limit, offset) the caller will ask
    search_page for is read in the same scan."""
    if not f.text:
        return MatchCount(count_runs(store, f), True)
    narrowed = _narrowing(store, f, narrowed)
    if narrowed is not None and narrowed.runs <= SHARED_SCAN_RUNS:  # count and page in one scan
        return MatchCount(_count_and_page(store, f, narrowed, page)[0], True)
    if narrowed is not None and narrowed.runs <= max(budget, exact_below):  # few runs may hold it: count them all
        return MatchCount(count_in(store, f, narrowed.ranges), True)
    base = dataclasses.replace(f, text="")
    if not set(filter_parts(base)) <= ROLLUP_PARTS:  # graded / confidence / errors: not in the rollup
        return MatchCount(count_runs(store, f), True)
    hours = _hour_counts(store, base)
    candidates = sum(n for _, n in hours)
    if candidates <= max(budget, exact_below):
        return MatchCount(count_runs(store, f), True, candidates=candidates)
    # The runs cut into consecutive blocks of about budget / SAMPLE_BLOCKS runs (whole hours, or parts of an hour
    # when hours are big); SAMPLE_BLOCKS blocks drawn at random are read, each one plain created_at range.
    per_block = budget / SAMPLE_BLOCKS
    blocks: list[tuple[datetime, datetime]] = []
    first: datetime | None = None
    runs = 0.0
    for hour, n in hours:
        pieces = min(60, max(1, math.ceil(n / per_block)))
        width = HOUR / pieces
        for k in range(pieces):
            if first is None:
                first = hour + k * width
            runs += n / pieces
            if runs >= per_block:
                blocks.append((first, hour + (k + 1) * width))
                first, runs = None, 0.0
    if first is not None:
        blocks.append((first, hours[-1][0] + HOUR))
    chosen = sorted(random.Random(seed).sample(blocks, min(SAMPLE_BLOCKS, len(blocks))))
    text = filter_parts(f)["text"]
    selects, params = [], []
    for start, end in chosen:
        where, where_params = _where(base, start, end)
        selects.append(f"SELECT count(*) AS m, count(*) FILTER (WHERE {text[0]}) AS y FROM all_runs WHERE {where}")
        params += [*text[1], *where_params]
    rows = store.execute(" UNION ALL ".join(selects), params)
    m = [int(r[0]) for r in rows]
    y = [int(r[1]) for r in rows]
    sampled, found = sum(m), sum(y)
    if sampled == 0:
        return MatchCount(count_runs(store, f), True, candidates=candidates)
    ratio = found / sampled
    n, total_slices = len(m), len(blocks)
    spread = sum((yi - ratio * mi) ** 2 for yi, mi in zip(y, m, strict=True)) / max(1, n - 1)
    mean_m = sampled / n
    clustered = candidates ** 2 * (1 - n / total_slices) * spread / (n * mean_m ** 2)
    # From a handful of blocks the spread between them is itself uncertain and can come out near zero: never
    # claim more than independent runs would give (the binomial variance of a simple random sample).
    binomial = candidates ** 2 * (1 - sampled / candidates) * ratio * (1 - ratio) / sampled
    variance = max(clustered, binomial)
    half = _t975(n - 1) * math.sqrt(max(variance, 0.0))
    estimate = candidates * ratio
    low = max(found, math.floor(estimate - half))  # at least the matches seen, at most all but the misses seen
    high = min(candidates - (sampled - found), math.ceil(estimate + half))
    if found == 0:  # none seen: the rule of three gives the 95% upper bound
        high = min(candidates - sampled, math.ceil(3 * candidates / sampled))
    return MatchCount(round(estimate), False, low, high, sampled, n, candidates)


def search_page(store: Store, f: RunFilter, sort: RunSort, *, limit: int = 50, offset: int = 0,
                budget_s: float = PAGE_BUDGET_S, slice_runs: int = SLICE_RUNS,
                exact_below: int = EXACT_RUNS, narrowed: Narrowing = "look up") -> SearchPage:
    """One page of a text search sorted by time, searched slice by slice from the newest (or oldest) run, within
    `budget_s`; other sorts (and filters the rollup cannot slice) read every run."""
    base = dataclasses.replace(f, text="")
    if f.text and not limit:  # the columns only (an empty result's page)
        return SearchPage(_concat([], store, f, sort), True, None)
    narrowed = _narrowing(store, f, narrowed)
    if narrowed is not None and (f, sort, limit, offset) in narrowed.found:  # read with the count
        return SearchPage(narrowed.found[(f, sort, limit, offset)], True, None)
    if narrowed is not None and narrowed.runs <= exact_below:  # the text index leaves few runs: read them all
        return SearchPage(page_in(store, f, sort, narrowed.ranges, limit=limit, offset=offset), True, None)
    if not f.text or sort.key != "time" or not set(filter_parts(base)) <= ROLLUP_PARTS:
        return SearchPage(runs_page(store, f, sort, limit=limit, offset=offset), True, None)
    hours = _hour_counts(store, base)
    if sum(n for _, n in hours) <= exact_below:  # one scan is quicker than slicing
        return SearchPage(runs_page(store, f, sort, limit=limit, offset=offset), True, None)
    if sort.descending:
        hours.reverse()
    started = time.perf_counter()
    frames: list[pd.DataFrame] = []
    need, skip = limit, offset
    i, step, read = 0, slice_runs, 0
    while i < len(hours) and need > 0:
        group, runs = [hours[i]], hours[i][1]
        i += 1
        while i < len(hours) and runs + hours[i][1] <= step:
            group.append(hours[i])
            runs += hours[i][1]
            i += 1
        low = min(h for h, _ in group)
        high = max(h for h, _ in group) + HOUR
        where, params = _where(f, low, high)
        if skip:
            matched = int(store.execute(f"SELECT count(*) FROM all_runs WHERE {where}", params)[0][0])
            if matched <= skip:
                skip -= matched
                read += runs
                continue
        if need > 0:
            sql, page_params = page_sql(f"WHERE {where}", sort)
            frame = store.query_df(sql, [*params, *page_params, need, skip])
            skip = 0
            need -= len(frame)
            frames.append(frame)
        read += runs
        step = min(step * 2, MAX_SLICE_RUNS)
        elapsed = time.perf_counter() - started
        if need > 0 and i < len(hours) and elapsed + elapsed / read * step > budget_s:
            edge = low if sort.descending else high
            return SearchPage(_concat(frames, store, f, sort), False, edge, sort.descending)
    return SearchPage(_concat(frames, store, f, sort), True, None)


def _concat(frames: list[pd.DataFrame], store: Store, f: RunFilter, sort: RunSort) -> pd.DataFrame:
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return runs_page(store, f, sort, limit=0)  # the columns, no rows, no scan
    return pd.concat(frames, ignore_index=True)
