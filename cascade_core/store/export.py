"""Exports of the Runs page's selection to CSV or Parquet, in bounded memory however many runs match.

One `COPY (... ORDER BY ...)` over millions of runs must sort them all at once: DuckDB can spill a sort of a
local file, but a sort over a DuckLake scan ran out of its memory cap (the Parquet reader's buffers for
500-character questions come on top) and had to finish unbounded (1.1 GB at 1M runs). So a big export is cut into
ranges of the sort key of about CHUNK_ROWS runs each (quantiles of the key, ties split by run id), each range
is COPYed in order to a part file, and the parts are joined in order: only one range is ever sorted in memory.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from cascade_core.store.run_filter import RunFilter, RunSort
from cascade_core.store.runs_query import order_sql, where_sql
from cascade_core.store.schema import RUN_COLUMNS
from cascade_core.store.store import Store

ExportFormat = Literal["csv", "parquet"]
EXPORT_MEMORY = "256MB"  # DuckDB's memory while exporting; a range's sort that does not fit spills to disk
CHUNK_ROWS = 50_000  # runs per sorted range (about 35 MB of 500-character questions)

Condition = tuple[str, list[Any]]


def export_runs(store: Store, f: RunFilter, sort: RunSort, fmt: ExportFormat, path: str | Path, *,
                chunk_rows: int = CHUNK_ROWS) -> int:
    """Write every filtered run (all run columns) to `path` as CSV or Parquet in the page's order; the row count."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown export format {fmt!r}; expected 'csv' or 'parquet'")
    where, params = where_sql(f)
    base = where or "WHERE TRUE"
    with store.locked(), _bounded(store), tempfile.TemporaryDirectory(prefix="cascade-export-") as folder:
        total = int(store.execute(f"SELECT count(*) FROM all_runs {base}", params)[0][0])
        ranges = _ranges(store, sort, base, params, total, chunk_rows)
        parts: list[Path] = []
        written = 0
        for i, (cond, cond_params) in enumerate(ranges):
            part = Path(folder) / f"part-{i:05d}.{fmt}"
            select = (f"SELECT {', '.join(RUN_COLUMNS)} FROM all_runs {base} AND ({cond}) {order_sql(sort)}")
            options = ("FORMAT csv, HEADER " + ("true" if i == 0 else "false")) if fmt == "csv" else \
                "FORMAT parquet, COMPRESSION zstd"
            rows = store.execute(f"COPY ({select}) TO '{_quoted(part)}' ({options})", [*params, *cond_params])
            written += int(rows[0][0]) if rows else 0
            parts.append(part)
        _join(parts, Path(path), fmt)
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")  # our own temp paths, not user input


class _bounded:
    """DuckDB's memory capped and one thread (one sort run at a time) for the export; restored after."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.saved: tuple[Any, ...] = ()

    def __enter__(self) -> None:
        self.saved = self.store.execute("SELECT current_setting('memory_limit'), current_setting('threads')")[0]
        self.store.execute(f"SET memory_limit = '{EXPORT_MEMORY}'")
        self.store.execute("SET threads = 1")

    def __exit__(self, *exc: object) -> None:
        limit, threads = self.saved
        self.store.execute(f"SET memory_limit = '{limit}'")
        self.store.execute(f"SET threads = {int(threads)}")


def _ranges(store: Store, sort: RunSort, base: str, params: list[Any], total: int, chunk_rows: int) -> list[Condition]:
    """Conditions that cut the filtered runs into consecutive ranges of the sort order, each of about
    `chunk_rows` runs, in the order they are written (NULL sort keys last, as the page sorts them)."""
    if total <= chunk_rows:
        return [("TRUE", [])]
    col = sort.column
    n = math.ceil(total / chunk_rows)
    bounds = _quantiles(store, col, base, params, n)
    # (condition, parameters, one value of the key only): between two quantiles lie at most ~chunk_rows runs,
    # but one value may be shared by millions (escalations = 0), so those ranges are split by the order's next key
    # (time; run id when sorting by time).
    ranges: list[tuple[str, list[Any], bool]] = []
    if bounds:
        ranges.append((f"{col} < ?", [bounds[0]], False))
        for low, high in zip(bounds, [*bounds[1:], None], strict=True):
            ranges.append((f"{col} = ?", [low], True))
            ranges.append((f"{col} > ? AND {col} < ?", [low, high], False) if high is not None
                          else (f"{col} > ?", [low], False))
    else:
        ranges.append((f"{col} IS NOT NULL", [], False))
    if sort.descending:
        ranges.reverse()
    ranges.append((f"{col} IS NULL", [], True))
    counts = _counts(store, base, params, [(cond, values) for cond, values, _ in ranges])
    out: list[Condition] = []
    for (cond, cond_params, one_value), count in zip(ranges, counts, strict=True):
        if count == 0:
            continue
        if count <= 2 * chunk_rows or not one_value:
            out.append((cond, cond_params))
            continue
        tie = "run_id" if col == "created_at" else "created_at"  # the order's next key (order_sql)
        ids = _quantiles(store, tie, f"{base} AND ({cond})", [*params, *cond_params], math.ceil(count / chunk_rows))
        pieces = _tie_ranges(ids, tie)
        if sort.descending:
            pieces.reverse()
        out.extend((f"({cond}) AND {piece}", [*cond_params, *piece_params]) for piece, piece_params in pieces)
    return out


def _quantiles(store: Store, col: str, where: str, params: list[Any], n: int) -> list[Any]:
    """Distinct values of `col` cutting the rows into `n` parts (ascending)."""
    points = ", ".join(f"{i / n:.6f}" for i in range(1, n))
    row = store.execute(f"SELECT quantile_disc({col}, [{points}]) FROM all_runs {where} AND {col} IS NOT NULL",
                        params)[0][0]
    return sorted({v for v in (row or []) if v is not None})


def _tie_ranges(cuts: list[Any], col: str) -> list[Condition]:
    """Consecutive ranges of `col` (ascending) cut at `cuts`."""
    if not cuts:
        return [("TRUE", [])]
    pieces: list[Condition] = [(f"{col} < ?", [cuts[0]])]
    for low, high in zip(cuts, [*cuts[1:], None], strict=True):
        pieces.append((f"{col} >= ? AND {col} < ?", [low, high]) if high is not None else (f"{col} >= ?", [low]))
    return pieces


def _counts(store: Store, base: str, params: list[Any], ranges: list[Condition]) -> list[int]:
    """Runs in each range, in one pass."""
    selects = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond, _ in ranges)
    range_params = [p for _, values in ranges for p in values]
    row = store.execute(f"SELECT {selects} FROM all_runs {base}", [*range_params, *params])[0]
    return [int(v) for v in row]


def _join(parts: list[Path], path: Path, fmt: ExportFormat) -> None:
    """The part files, in order, as one file: CSV bytes appended (only the first part has a header), Parquet row
    groups copied one at a time."""
    if fmt == "csv":
        with path.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                part.unlink()
        return
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    try:
        for part in parts:
            source = pq.ParquetFile(part)
            if writer is None:
                writer = pq.ParquetWriter(path, source.schema_arrow, compression="zstd")
            for group in range(source.num_row_groups):
                writer.write_table(source.read_row_group(group))
            part.unlink()
    finally:
        if writer is not None:
            writer.close()


def export_bytes(store: Store, f: RunFilter, sort: RunSort, fmt: ExportFormat) -> tuple[bytes, int]:
    """The filtered runs as a CSV or Parquet file's bytes (written by DuckDB to a temp file) and the row count."""
    with tempfile.TemporaryDirectory(prefix="cascade-export-") as folder:
        path = Path(folder) / f"runs.{fmt}"
        rows = export_runs(store, f, sort, fmt, path)
        return path.read_bytes(), rows

