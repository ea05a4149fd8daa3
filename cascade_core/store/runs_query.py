"""Every SQL of the Overview and Runs pages. Readers query the `all_runs` view (the same on both engines).

Filtering, sorting and pagination happen in DuckDB; user input only ever reaches the SQL as parameters
(sort keys go through a whitelist of column names in runs_filter.SORT_COLUMNS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd

from cascade_core.store import rollup, text_index
from cascade_core.store.overview_query import tiers_and_bounds
from cascade_core.store.run_filter import NO_ANSWER, RunFilter, RunSort
from cascade_core.store.store import Store

Ranges = list[tuple[datetime, datetime | None]]  # created_at ranges [low, high) (high None: no end)
PREVIEW_CHARS = 300  # question / answer text shown in the table (the trace shows it whole)


def _time_clause(start: datetime | None, end: datetime | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if start is not None:
        clauses.append("created_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("created_at <= ?")
        params.append(end)
    return clauses, params


def _placeholders(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def text_pattern(text: str) -> str:
    """An RE2 pattern matching `text` literally, ignoring case: every ASCII punctuation mark is escaped (RE2 reads
    a backslash before punctuation as that character), letters, digits, spaces and non-ASCII stay as they are."""
    literal = "".join("\\" + c if c.isascii() and not c.isalnum() and not c.isspace() else c for c in text)
    return "(?i)" + literal


def filter_parts(f: RunFilter) -> dict[str, tuple[str, list[Any]]]:
    """Each active part of a filter as (SQL condition, parameters), keyed like RunFilter's fields ("time" for
    start/end together)."""
    parts: dict[str, tuple[str, list[Any]]] = {}
    clauses, params = _time_clause(f.start, f.end)
    if clauses:
        parts["time"] = (" AND ".join(clauses), params)
    if f.sources:
        parts["sources"] = (f"source IN ({_placeholders(f.sources)})", list(f.sources))
    if f.final_tiers:
        names = tuple(t for t in f.final_tiers if t != NO_ANSWER)
        either = [f"final_tier IN ({_placeholders(names)})"] if names else []
        if NO_ANSWER in f.final_tiers:
            either.append("final_tier IS NULL")
        parts["final_tiers"] = ("(" + " OR ".join(either) + ")", list(names))
    if f.confidence is not None:
        parts["confidence"] = ("final_confidence BETWEEN ? AND ?", [float(f.confidence[0]), float(f.confidence[1])])
    graded = {"correct": "correct IS TRUE", "incorrect": "correct IS FALSE", "ungraded": "correct IS NULL"}
    if f.graded in graded:
        parts["graded"] = (graded[f.graded], [])
    if f.errors_only:
        parts["errors_only"] = ("(had_error OR error IS NOT NULL)", [])
    if f.text:
        # A literal, case-insensitive substring, as a case-insensitive RE2 pattern of the escaped text: 2-3x faster
        # than contains(lower(..)), which lowercases (copies) every 500-character question first, and ~5x faster
        # than ILIKE with an ESCAPE clause.
        pattern = text_pattern(f.text)
        parts["text"] = ("(regexp_matches(question, ?) OR regexp_matches(final_answer, ?))", [pattern, pattern])
    return parts


def where_sql(f: RunFilter) -> tuple[str, list[Any]]:
    """`WHERE ...` (or "") and its parameters for a filter."""
    parts = filter_parts(f)
    params = [p for _, values in parts.values() for p in values]
    return ("WHERE " + " AND ".join(sql for sql, _ in parts.values())) if parts else "", params


@dataclass(frozen=True)
class FilterCounts:
    """Runs logged, runs matching the filter, and for each active part of it the runs matching all the others."""

    logged: int
    matching: int
    without: dict[str, int]


def filter_counts(store: Store, f: RunFilter) -> FilterCounts:
    """One pass over the runs that evaluates each filter condition once per row: the page's count and, should
    it be zero, which filter emptied the result (a text search costs the same as a plain count). With a text
    the index narrows (runs_relation), the pass reads only the runs that may hold it, and the count without the
    text comes from count_runs."""
    parts = filter_parts(f)
    names = list(parts)
    relation, relation_params = "all_runs", list[Any]()
    narrowed = _narrowed(store, f) if "text" in parts else None
    if narrowed is not None:
        relation, relation_params = runs_relation(f, narrowed, where=False)
    inner = ", ".join(f"coalesce({sql}, FALSE) AS p{i}" for i, (sql, _) in enumerate(parts.values())) or "1 AS p"
    params = [p for _, values in parts.values() for p in values]
    every = " AND ".join(f"p{i}" for i in range(len(names))) or "TRUE"
    selects = ["count(*)", f"count(*) FILTER (WHERE {every})"]
    for i in range(len(names)):
        others = " AND ".join(f"p{j}" for j in range(len(names)) if j != i) or "TRUE"
        selects.append(f"count(*) FILTER (WHERE {others})")
    sql = f"SELECT {', '.join(selects)} FROM (SELECT {inner} FROM {relation})"
    row = store.execute(sql, params + relation_params)[0]
    without = {name: int(n) for name, n in zip(names, row[2:], strict=True)}
    if narrowed is None:
        return FilterCounts(int(row[0]), int(row[1]), without)
    without["text"] = count_runs(store, replace(f, text=""))
    return FilterCounts(store.count_runs(), int(row[1]), without)


def _narrowed(store: Store, f: RunFilter) -> Ranges | None:
    """The created_at ranges that may hold f's text when the text index rules out at least half of the runs in
    f's window (else None: one plain scan reads about as much, and keeps DuckDB's top-N)."""
    found = text_index.candidates(store, f.text, f.start, f.end)
    if found is None or found.runs * 2 > found.window_runs:
        return None
    return found.ranges


def runs_relation(f: RunFilter, ranges: Ranges, *, where: bool = True
                  ) -> tuple[str, list[Any]]:
    """The runs in `ranges` (kept by f's filter too when `where`), as one relation: a UNION ALL of plain
    created_at ranges, so each part skips the files and row groups outside it."""
    cond, params = where_sql(f) if where else ("", [])
    if not ranges:
        return "(SELECT * FROM all_runs WHERE FALSE) AS candidate_runs", []
    selects, out = [], []
    for low, high in ranges:
        bound = "created_at >= ?" + ("" if high is None else " AND created_at < ?")
        selects.append(f"SELECT * FROM all_runs {cond} {'AND' if cond else 'WHERE'} {bound}")
        out += [*params, low, *([] if high is None else [high])]
    return "(" + " UNION ALL ".join(selects) + ") AS candidate_runs", out


def order_sql(sort: RunSort) -> str:
    """Ties broken by time, then run id (compared only among runs of one instant)."""
    direction = "DESC" if sort.descending else "ASC"
    then = "" if sort.column == "created_at" else f", created_at {direction}"
    return f"ORDER BY {sort.column} {direction} NULLS LAST{then}, run_id {direction}"


# -- Runs page -------------------------------------------------------------------------------------------
# Counts, time bounds and tier options come from the per-hour rollup plus the runs it does not hold
# (store/rollup.py): exact, and a scan of thousands of rows instead of every run.
ROLLUP_PARTS = {"time", "sources", "final_tiers"}  # filter parts the rollup can count (its keys and hours)


def newest_run_time(store: Store) -> datetime | None:
    return time_bounds(store)[1]


def tier_options_and_bounds(store: Store) -> tuple[list[str], tuple[datetime | None, datetime | None]]:
    """`final_tier_options` and `time_bounds` in one read."""
    rows = rollup.read(store, lambda w: tiers_and_bounds(store, w))
    tiers = [NO_ANSWER if pd.isna(name) else str(name) for name in rows["final_tier"]]
    low, high = rows["first_at"].min(), rows["last_at"].max()
    return tiers, (None if pd.isna(low) else pd.Timestamp(low).to_pydatetime(),
                   None if pd.isna(high) else pd.Timestamp(high).to_pydatetime())


def time_bounds(store: Store) -> tuple[datetime | None, datetime | None]:
    return tier_options_and_bounds(store)[1]


def final_tier_options(store: Store) -> list[str]:
    """Final tiers seen in the log, in tier order, plus NO_ANSWER when some run had no answer."""
    return tier_options_and_bounds(store)[0]


def count_runs(store: Store, f: RunFilter) -> int:
    parts = filter_parts(f)
    if set(parts) <= ROLLUP_PARTS:
        keyed = [parts[k] for k in ("sources", "final_tiers") if k in parts]
        extra = " AND ".join(sql for sql, _ in keyed) or "TRUE"
        extra_params = [p for _, values in keyed for p in values]

        def count(w: datetime | None) -> int:
            sql, params = rollup.parts_sql(f.start, f.end, w, extra, extra_params)
            return int(store.execute(f"SELECT coalesce(sum(runs), 0) FROM ({sql})", params)[0][0])
        return rollup.read(store, count)
    return count_in(store, f, _narrowed(store, f) if "text" in parts else None)


def count_in(store: Store, f: RunFilter, ranges: Ranges | None) -> int:
    """The runs f keeps, reading only `ranges` (None: every run); the caller knows no match lies elsewhere."""
    if ranges is not None:
        relation, params = runs_relation(f, ranges)
        return int(store.execute(f"SELECT count(*) FROM {relation}", params)[0][0])
    where, params = where_sql(f)
    return int(store.execute(f"SELECT count(*) FROM all_runs {where}", params)[0][0])


def page_sql(where: str, sort: RunSort, relation: str = "all_runs") -> tuple[str, list[Any]]:
    """The page query for a WHERE clause (over `relation`), ending in `LIMIT ? OFFSET ?` (the caller appends both)."""
    return (
        f"SELECT created_at, source, left(question, {PREVIEW_CHARS}) AS question, final_tier, "
        "json_extract_string(meta, '$.route.name') AS route, "
        f"left(final_answer, {PREVIEW_CHARS}) AS answer, final_confidence AS confidence, correct, total_cost, "
        "always_large_cost, always_large_estimated, latency_ms, escalations, "
        "(had_error OR error IS NOT NULL) AS error, simulated, run_id "
        f"FROM {relation} {where} {order_sql(sort)} LIMIT ? OFFSET ?", [])


def runs_page(store: Store, f: RunFilter, sort: RunSort, *, limit: int = 50, offset: int = 0) -> pd.DataFrame:
    """One page of runs for the table: previews of the text, the figures, the run id. A text search reads only
    the runs the text index leaves (see _narrowed)."""
    return page_in(store, f, sort, _narrowed(store, f) if f.text and limit else None, limit=limit, offset=offset)


def page_in(store: Store, f: RunFilter, sort: RunSort, ranges: Ranges | None, *, limit: int = 50,
            offset: int = 0) -> pd.DataFrame:
    """`runs_page` reading only `ranges` (None: every run)."""
    if ranges is not None:
        relation, params = runs_relation(f, ranges)
        sql, _ = page_sql("", sort, relation)
        return store.query_df(sql, [*params, int(limit), int(offset)])
    where, params = where_sql(f)
    if sort.column != "created_at" and not f.text and limit:
        relation, params = _page_runs(store, where, params, sort, limit + offset)
        sql, _ = page_sql("", sort, relation)
        return store.query_df(sql, [*params, int(limit), int(offset)])
    sql, _ = page_sql(where, sort)
    return store.query_df(sql, [*params, int(limit), int(offset)])


def _page_runs(store: Store, where: str, params: list[Any], sort: RunSort, upto: int) -> tuple[str, list[Any]]:
    """The runs sorting no later than the `upto`-th (a superset of the page and the runs before it), as one
    relation. Found first from the sort key and created_at alone, a top-N over two numbers, so the run ids (the
    last tie-break) of millions of tied runs are never read; then two plain conditions that DuckDB pushes into
    the scan (one OR of them is not: it read every run id again)."""
    direction = "DESC" if sort.descending else "ASC"
    col = sort.column
    also = "AND" if where else "WHERE"
    # Many runs often share the first value (a price, a tier): then the boundary is among them, found by time
    # alone (a top-N on created_at, which skips row groups by their time range).
    top = store.execute(f"SELECT {'max' if sort.descending else 'min'}({col}) FROM all_runs {where}", params)[0][0]
    row = [] if top is None else store.execute(
        f"SELECT {col}, created_at FROM all_runs {where} {also} {col} = ? ORDER BY created_at {direction} "
        "LIMIT 1 OFFSET ?", [*params, top, upto - 1])
    if not row:
        row = store.execute(f"SELECT {col}, created_at FROM all_runs {where} ORDER BY {col} {direction} NULLS LAST, "
                            f"created_at {direction} LIMIT 1 OFFSET ?", [*params, upto - 1])
    if not row:  # fewer runs than that: all of them
        return f"(SELECT * FROM all_runs {where}) AS page_runs", params
    key, when = row[0]
    after, later = (">", ">=") if sort.descending else ("<", "<=")
    if key is None:  # the boundary is among the runs without a value, which sort last
        before, before_params = f"{col} IS NOT NULL", []
        tied, tied_params = f"{col} IS NULL AND created_at {later} ?", [when]
    else:
        before, before_params = f"{col} {after} ?", [key]
        tied, tied_params = f"{col} = ? AND created_at {later} ?", [key, when]
    if key == top:  # no run sorts before the first value
        return f"(SELECT * FROM all_runs {where} {also} {tied}) AS page_runs", [*params, *tied_params]
    return (f"(SELECT * FROM all_runs {where} {also} {before} UNION ALL "
            f"SELECT * FROM all_runs {where} {also} {tied}) AS page_runs",
            [*params, *before_params, *params, *tied_params])
