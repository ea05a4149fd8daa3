"""Old logs only: the Parquet "segments" that `serve` used to append beside a DuckDB file (before servers
committed to the store directly). `store migrate` folds them into the destination store, exactly once: a row
whose key is already there is skipped, so a migration that is run again (or resumed) adds nothing twice.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cascade_core.store.store import Store

SEGMENTS_DIRNAME = "segments"
# runs-*/steps-*: written by old servers; compacting-*: claimed by an old compaction that crashed.
_RUN_GLOBS = ("runs-*.parquet", "compacting-runs-*.parquet")
_STEP_GLOBS = ("steps-*.parquet", "compacting-steps-*.parquet")


def segments_dir(store_path: str | Path) -> Path:
    return Path(store_path).resolve().parent / SEGMENTS_DIRNAME


def segment_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(runs files, steps files) left by old servers in `folder`."""
    if not folder.is_dir():
        return [], []
    runs = sorted(p for g in _RUN_GLOBS for p in folder.glob(g))
    steps = sorted(p for g in _STEP_GLOBS for p in folder.glob(g))
    return runs, steps


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_new(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], key: tuple[str, ...],
                extra: str = "") -> int:
    source = f"read_parquet([{', '.join(_sql_string(str(f)) for f in files)}], union_by_name = true)"
    have = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall() if row[0] in have]
    match = " AND ".join(f"t.{k} = s.{k}" for k in key)
    before = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join('s.' + c for c in columns)} "
                f"FROM {source} s WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match}){extra}")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) - before  # type: ignore[index]


def fold_segments(store: Store, folder: Path) -> int:
    """Insert the runs and steps of every segment in `folder` not yet in `store`, in one transaction; the
    number of runs added. The files are left in place (delete the folder once you are satisfied)."""
    runs, steps = segment_files(folder)
    if not runs and not steps:
        return 0

    def work(con: duckdb.DuckDBPyConnection) -> int:
        added = _insert_new(con, "runs", runs, ("run_id",)) if runs else 0
        if steps:
            # a steps file whose runs file never landed (a writer killed between its two renames) stays out
            _insert_new(con, "steps", steps, ("run_id", "step_index"),
                        " AND s.run_id IN (SELECT run_id FROM runs)")
        return added

    return store.write(work)
