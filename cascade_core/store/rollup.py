"""Per-hour aggregates of the run log, so the Overview and the Runs page's counts read thousands of rows, not 10M.

`run_rollup` holds, per hour, source and final tier, every sum and count the Overview shows; `run_latency_rollup`
a latency histogram per hour (bins 2% wide, so a percentile read from it is within 1% of the exact one). Both
cover exactly the runs created before the watermark in `run_rollup_state`; a reader adds the runs at or after it
(and the edge hours a window cuts) from `runs` itself, so every count and sum stays exact.

Loggers never write here (a run's commit costs nothing more). A process that may write folds the tail into the
rollup once it is big enough (`refresh`): the dashboard on render and each server's lake maintenance. Runs that
reach the log with a created_at before the watermark (a late commit, a migration, a purge) make the totals
disagree with `count(*)`, which is checked on every read: the hours whose counts differ are folded again, and a
reader that cannot write ignores the rollup until then.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import duckdb
import pandas as pd

from cascade_core.clock import utc_now
from cascade_core.store.store import Store

T = TypeVar("T")
LATENCY_STEP = 1.02  # histogram bins: [1.02^b, 1.02^(b+1)) ms
LATENCY_BIN = f"floor(ln(greatest(latency_ms, 0.01)) / {math.log(LATENCY_STEP)!r})::INTEGER"
FOLD_MIN_RUNS = 50_000  # a tail smaller than this is cheap to scan: no fold (and no write) for it
FOLD_MARGIN = timedelta(minutes=10)  # runs this close to the newest one stay in the tail (late commits land there)
REBUILD_HOURS = 200  # more hours than this to repair: rebuild everything below the watermark in one pass

KEYS = "source, final_tier, final_tier_index"
AGGREGATES = """count(*) AS runs,
    coalesce(sum(total_cost) FILTER (WHERE error IS NULL), 0) AS spend,
    coalesce(sum(always_large_cost) FILTER (WHERE error IS NULL), 0) AS always_large,
    coalesce(sum(total_cost) FILTER (WHERE error IS NOT NULL), 0) AS failed_spend,
    count(*) FILTER (WHERE always_large_estimated AND error IS NULL) AS estimated_runs,
    count(*) FILTER (WHERE escalations > 0) AS escalated,
    count(*) FILTER (WHERE had_parse_error) AS parse_errors,
    count(*) FILTER (WHERE had_error OR error IS NOT NULL) AS errors,
    count(*) FILTER (WHERE error IS NOT NULL) AS failed,
    count(correct) AS graded,
    count(*) FILTER (WHERE correct) AS correct,
    count(*) FILTER (WHERE simulated) AS simulated,
    min(created_at) AS first_at,
    max(created_at) AS last_at"""
SUMMED = ("runs", "spend", "always_large", "failed_spend", "estimated_runs", "escalated", "parse_errors", "errors",
          "failed", "graded", "correct", "simulated")
COLUMNS = f"hour, {KEYS}, {', '.join(SUMMED)}, first_at, last_at"


def _hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(when: datetime) -> datetime:
    floor = _hour(when)
    return floor if floor == when else floor + timedelta(hours=1)


def watermark(store: Store, state_table: str = "run_rollup_state") -> datetime | None:
    value = store.execute(f"SELECT max(watermark) FROM {state_table}")[0][0]
    return None if value is None else pd.Timestamp(value).to_pydatetime()


@dataclass(frozen=True)
class TailState:
    w: datetime | None
    consistent: bool  # every run before the watermark is counted once in the derived table
    tail: int  # runs at or after the watermark (all runs when nothing is folded)
    newest: datetime | None  # the newest of those


def tail_state(store: Store, state_table: str = "run_rollup_state", counted: str = "run_rollup") -> TailState:
    """The watermark of a table derived from the runs (`state_table` holds it, `counted`'s `runs` column counts
    the runs below it) and whether it agrees with the runs, in one read (count(*) comes from file metadata)."""
    w = watermark(store, state_table)
    since = "" if w is None else " WHERE created_at >= ?"
    total, rolled, tail, newest = store.execute(
        f"SELECT (SELECT count(*) FROM all_runs), (SELECT coalesce(sum(runs), 0) FROM {counted}), t.n, t.newest "
        f"FROM (SELECT count(*) AS n, max(created_at) AS newest FROM all_runs{since}) t", [] if w is None else [w])[0]
    newest = None if newest is None else pd.Timestamp(newest).to_pydatetime()
    return TailState(w, int(rolled) + int(tail) == int(total), int(tail), newest)


def covered(store: Store) -> datetime | None:
    """The watermark when the rollup agrees with the runs (every run before it counted once), else None.
    Call inside `store.snapshot()` together with the reads that use it."""
    state = tail_state(store)
    return state.w if state.consistent else None


def read(store: Store, fn: Callable[[datetime | None], T], *, min_runs: int = FOLD_MIN_RUNS,
         tables: tuple[str, str] = ("run_rollup_state", "run_rollup"),
         refresh_fn: Callable[[Store], None] | None = None) -> T:
    """`fn(watermark)` inside one snapshot (None: read every run). When the derived table (`tables`: its state
    and counted tables; the rollup by default) is behind (a tail of at least `min_runs` runs) or disagrees with
    the runs, a store that may write refreshes it first (`refresh_fn`, the rollup's `refresh` by default)."""
    for attempt in (0, 1):
        with store.snapshot():
            state = tail_state(store, *tables)
            if attempt or store.read_only or (state.consistent and state.tail < min_runs):
                return fn(state.w if state.consistent else None)
        (refresh_fn or (lambda s: refresh(s, min_runs=min_runs)))(store)  # a write: outside the read snapshot
    raise AssertionError("unreachable")


def refresh(store: Store, *, min_runs: int = FOLD_MIN_RUNS, margin: timedelta = FOLD_MARGIN) -> None:
    """Repair hours whose counts disagree, then fold the tail when it holds at least `min_runs` runs.
    A no-op for a read-only store. Safe to run from several processes: every step re-checks in its transaction."""
    if store.read_only:
        return
    state = tail_state(store)
    if not state.consistent:
        repair(store)
        state = tail_state(store)
    if state.newest is None or state.tail < min_runs:
        return
    target = state.newest - margin
    w = state.w
    if w is not None and target <= w:
        return
    store.write(lambda con: _fold(con, w, target))


def _fold(con: duckdb.DuckDBPyConnection, expected: datetime | None, target: datetime) -> None:
    current = con.execute("SELECT max(watermark) FROM run_rollup_state").fetchone()
    w = current[0] if current else None
    if w != expected:  # another process folded meanwhile
        return
    where, params = ("created_at < ?", [target]) if w is None else ("created_at >= ? AND created_at < ?", [w, target])
    _insert(con, where, params)
    con.execute("DELETE FROM run_rollup_state")
    con.execute("INSERT INTO run_rollup_state VALUES (?, ?)", [target, utc_now()])


def _insert(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> None:
    con.execute(f"INSERT INTO run_rollup SELECT date_trunc('hour', created_at) AS hour, {KEYS}, {AGGREGATES} "
                f"FROM runs WHERE {where} GROUP BY ALL", params)
    con.execute(f"INSERT INTO run_latency_rollup SELECT date_trunc('hour', created_at) AS hour, {LATENCY_BIN} AS bin, "
                f"count(*) AS runs FROM runs WHERE {where} GROUP BY ALL", params)


def repair(store: Store) -> int:
    """Fold again every hour below the watermark whose run count differs from the rollup's; the hours redone."""
    def work(con: duckdb.DuckDBPyConnection) -> int:
        row = con.execute("SELECT max(watermark) FROM run_rollup_state").fetchone()
        w = row[0] if row else None
        if w is None:  # rows without a watermark (a fold half undone by hand): start again
            con.execute("DELETE FROM run_rollup")
            con.execute("DELETE FROM run_latency_rollup")
            return 0
        bad = [r[0] for r in con.execute(
            "SELECT coalesce(r.h, u.hour) FROM (SELECT date_trunc('hour', created_at) AS h, count(*) AS n FROM runs "
            "WHERE created_at < ? GROUP BY 1) r FULL OUTER JOIN (SELECT hour, sum(runs) AS n FROM run_rollup "
            "GROUP BY 1) u ON r.h = u.hour WHERE r.n IS DISTINCT FROM u.n", [w]).fetchall()]
        if not bad:
            return 0
        if len(bad) > REBUILD_HOURS:
            con.execute("DELETE FROM run_rollup")
            con.execute("DELETE FROM run_latency_rollup")
            _insert(con, "created_at < ?", [w])
            return len(bad)
        con.execute("DELETE FROM run_rollup WHERE list_contains(?, hour)", [bad])
        con.execute("DELETE FROM run_latency_rollup WHERE list_contains(?, hour)", [bad])
        ranges = " OR ".join("(created_at >= ? AND created_at < ?)" for _ in bad)
        params: list[Any] = [v for h in bad for v in (h, h + timedelta(hours=1))]
        _insert(con, f"({ranges}) AND created_at < ?", [*params, w])
        return len(bad)

    return store.write(work)


def reset(store: Store) -> None:
    """Forget the rollup (after a purge): the next `refresh` folds every run again."""
    def work(con: duckdb.DuckDBPyConnection) -> None:
        for table in ("run_rollup", "run_latency_rollup", "run_rollup_state"):
            con.execute(f"DELETE FROM {table}")
    store.write(work)


Condition = tuple[str, list[Any]]


def _range(low: datetime | None, high: datetime | None, *, closed: bool = False) -> Condition:
    parts, params = [], []
    if low is not None:
        parts.append("created_at >= ?")
        params.append(low)
    if high is not None:
        parts.append("created_at <= ?" if closed else "created_at < ?")
        params.append(high)
    return " AND ".join(parts) or "TRUE", params


def split(start: datetime | None, end: datetime | None, w: datetime | None
          ) -> tuple[Condition | None, list[Condition]]:
    """How to read the runs in [start, end] (None: unbounded): the rollup's condition on `hour` (None when it
    holds none of them) and time ranges of runs to read from the runs themselves (the runs at or after the
    watermark and the window's cut edge hour). Each is a plain range, so the engine skips files and row groups
    outside it by their min/max statistics."""
    if w is None:
        return None, [_range(start, end, closed=True)]
    low = None if start is None else _ceil_hour(start)
    high = None if end is None else _hour(end)  # the hour holding `end` is cut by it: read from the runs
    top = w if high is None else min(high, w)
    if low is not None and low >= top:
        return None, [_range(start, end, closed=True)]
    rolled, params = _range(low, high)
    raw = [_range(top, end, closed=True)]
    if start is not None and start < low:  # type: ignore[operator]
        raw.insert(0, _range(start, low))
    return (rolled.replace("created_at", "hour"), params), raw


def parts_sql(start: datetime | None, end: datetime | None, w: datetime | None, extra: str = "TRUE",
              extra_params: list[Any] | None = None) -> tuple[str, list[Any]]:
    """Rollup rows and per-hour aggregates of the remaining runs for [start, end] (and `extra`, a condition on
    source / final_tier only), as one relation with the rollup's columns."""
    extra_params = extra_params or []
    rolled, raw = split(start, end, w)
    selects, params = [], []
    if rolled is not None:
        selects.append(f"SELECT {COLUMNS} FROM run_rollup WHERE {rolled[0]} AND ({extra})")
        params += [*rolled[1], *extra_params]
    for cond, cond_params in raw:
        selects.append(f"SELECT date_trunc('hour', created_at) AS hour, {KEYS}, {AGGREGATES} FROM all_runs "
                       f"WHERE {cond} AND ({extra}) GROUP BY ALL")
        params += [*cond_params, *extra_params]
    return " UNION ALL ".join(selects), params


def latency_sql(start: datetime | None, end: datetime | None, w: datetime | None) -> tuple[str, list[Any]]:
    """The latency histogram (bin, runs) of the runs in [start, end]."""
    rolled, raw = split(start, end, w)
    selects, params = [], []
    if rolled is not None:
        selects.append(f"SELECT bin, runs FROM run_latency_rollup WHERE {rolled[0]}")
        params += rolled[1]
    for cond, cond_params in raw:
        selects.append(f"SELECT {LATENCY_BIN} AS bin, count(*) AS runs FROM all_runs WHERE {cond} GROUP BY 1")
        params += cond_params
    return f"SELECT bin, sum(runs) AS runs FROM ({' UNION ALL '.join(selects)}) GROUP BY bin ORDER BY bin", params


def percentile(hist: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile of a latency histogram: the geometric middle of the bin that holds it (within 1%)."""
    total = sum(n for _, n in hist)
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for b, n in hist:
        seen += n
        if seen > rank:
            return float(LATENCY_STEP ** (b + 0.5))
    return float(LATENCY_STEP ** (hist[-1][0] + 0.5))
