"""`store migrate`: copy a DuckDB run log into another store (a DuckLake), exactly once and resumable.

Each table is copied in chunks of source row ids; every chunk commits together with a progress row in the
destination (`store_migration_progress`), so an interrupted migration resumes after its last committed chunk
and a finished one copies nothing when run again. Segments left beside the file by old servers are folded in
last (rows already present are skipped). The source file is only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cascade_core.store.lake import lake_ddl
from cascade_core.store.legacy_segments import fold_segments, segments_dir
from cascade_core.store.store import Store

TABLES = ("runs", "steps", "call_cache", "sweeps", "sweep_points", "sweep_outcomes", "audits", "audit_items",
          "audit_reviews")
PROGRESS_DDL = """
    CREATE TABLE IF NOT EXISTS store_migration_progress (
        source VARCHAR NOT NULL,      -- the DuckDB file copied from (absolute path)
        table_name VARCHAR NOT NULL,
        next_row BIGINT NOT NULL,     -- source row ids below this are copied
        copied BIGINT NOT NULL,       -- rows copied by this chunk
        copied_at TIMESTAMP NOT NULL
    )
"""
Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the source)


@dataclass
class MigrationReport:
    copied: dict[str, int] = field(default_factory=dict)  # rows copied by this call, per table
    skipped: dict[str, int] = field(default_factory=dict)  # rows a previous call had copied already
    segment_runs: int = 0


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def migrate_file(source: Path, dest: Store, *, chunk_rows: int = 200_000,
                 progress: Progress | None = None) -> MigrationReport:
    """Copy every table of the DuckDB file `source` into `dest`; see the module docstring."""
    source = source.resolve()
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such store file")
    Store(source).close()  # bring the source to the current schema first (forward migrations)
    report = MigrationReport()
    key = str(source)
    dest.write(lambda con: con.execute(lake_ddl(PROGRESS_DDL)))
    with dest.locked():
        dest.execute(f"ATTACH {_sql_string(key)} AS migrate_src (READ_ONLY)")
        try:
            for table in TABLES:
                _copy_table(dest, key, table, chunk_rows, report, progress)
        finally:
            dest.execute("DETACH migrate_src")
    report.segment_runs = fold_segments(dest, segments_dir(source))
    return report


def _copy_table(dest: Store, key: str, table: str, chunk_rows: int, report: MigrationReport,
                progress: Progress | None) -> None:
    total, top = dest.execute(f"SELECT count(*), coalesce(max(rowid) + 1, 0) FROM migrate_src.main.{table}")[0]
    done_rows, start = dest.execute(
        "SELECT coalesce(sum(copied), 0), coalesce(max(next_row), 0) FROM store_migration_progress "
        "WHERE source = ? AND table_name = ?", [key, table])[0]
    report.skipped[table] = int(done_rows)
    columns = ", ".join(row[0] for row in dest.execute(f"DESCRIBE migrate_src.main.{table}"))
    copied = 0
    low = int(start)
    while low < int(top):
        high = low + chunk_rows

        def chunk(con: duckdb.DuckDBPyConnection, low: int = low, high: int = high) -> int:
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM migrate_src.main.{table} "
                        "WHERE rowid >= ? AND rowid < ?", [low, high])
            n = int(con.execute(f"SELECT count(*) FROM migrate_src.main.{table} WHERE rowid >= ? AND rowid < ?",
                                [low, high]).fetchone()[0])  # type: ignore[index]
            con.execute("INSERT INTO store_migration_progress VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
                        [key, table, high, n])
            return n

        copied += dest.write(chunk)
        low = high
        if progress is not None:
            progress(table, int(done_rows) + copied, int(total))
    report.copied[table] = copied
