"""Append-only Parquet segments: how server processes log runs without opening the DuckDB file.

DuckDB allows one writing process per file, so every process that logs traffic (each copy of the cascade
endpoint) writes its own segment files into `<folder of the store file>/segments/`:
`runs-<writer>-<seq>.parquet` and `steps-<writer>-<seq>.parquet`. A segment is written under a temporary
name and renamed into place, steps first, so a reader never sees a half-written file nor a run without its
steps. Readers (Store.refresh_views) query the tables UNION ALL BY NAME the segments.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SEGMENTS_DIRNAME = "segments"
RUNS_PREFIX = "runs-"
STEPS_PREFIX = "steps-"
_TMP_PREFIX = "tmp-"  # never matches the readers' globs

_TS = pa.timestamp("us")
# Arrow types matching the DuckDB columns (schema v1); columns added later are inferred from their values.
RUN_TYPES: dict[str, pa.DataType] = {
    "created_at": _TS, "correct": pa.bool_(), "final_tier_index": pa.int32(), "final_confidence": pa.float64(),
    "total_cost": pa.float64(), "tokens_in": pa.int64(), "tokens_out": pa.int64(), "latency_ms": pa.float64(),
    "overhead_ms": pa.float64(), "always_large_cost": pa.float64(), "always_large_estimated": pa.bool_(),
    "n_steps": pa.int32(), "escalations": pa.int32(), "had_error": pa.bool_(), "had_parse_error": pa.bool_(),
    "simulated": pa.bool_(),
}
STEP_TYPES: dict[str, pa.DataType] = {
    "step_index": pa.int32(), "tier_index": pa.int32(), "confidence_raw": pa.float64(),
    "confidence": pa.float64(), "threshold": pa.float64(), "tokens_in": pa.int64(), "tokens_out": pa.int64(),
    "cost": pa.float64(), "latency_ms": pa.float64(), "attempts": pa.int32(), "simulated": pa.bool_(),
    "verify_tokens_in": pa.int64(), "verify_tokens_out": pa.int64(), "verify_cost": pa.float64(),
    "verify_latency_ms": pa.float64(), "created_at": _TS,
}


def segments_dir(store_path: str | Path) -> Path:
    """Where segments for the store at `store_path` live: a `segments` folder beside the file."""
    return Path(store_path).resolve().parent / SEGMENTS_DIRNAME


def rows_to_table(rows: Sequence[dict[str, Any]], types: dict[str, pa.DataType]) -> pa.Table:
    """Column-wise Arrow table from flattened rows (keys as in trace_rows); unknown columns are inferred."""
    columns = list(rows[0].keys())
    arrays = []
    for name in columns:
        values = [row.get(name) for row in rows]
        wanted = types.get(name)
        if wanted is None and all(v is None for v in values):
            wanted = pa.string()  # an all-NULL column of text, not Arrow's null type
        arrays.append(pa.array(values, type=wanted))
    return pa.Table.from_arrays(arrays, names=columns)


def _write_atomic(table: pa.Table, folder: Path, name: str) -> Path:
    final = folder / name
    tmp = folder / f"{_TMP_PREFIX}{name}"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:  # durable before it becomes visible
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return final


def write_segment(folder: Path, writer_id: str, seq: int, runs: Sequence[dict[str, Any]],
                  steps: Sequence[dict[str, Any]]) -> tuple[Path, Path | None]:
    """Write one segment pair; steps become visible before their runs. Returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{writer_id}-{seq:08d}.parquet"
    steps_path = _write_atomic(rows_to_table(steps, STEP_TYPES), folder, STEPS_PREFIX + stem) if steps else None
    runs_path = _write_atomic(rows_to_table(runs, RUN_TYPES), folder, RUNS_PREFIX + stem)
    return runs_path, steps_path


def has_segments(folder: Path, prefix: str) -> bool:
    """Cheap: stops at the first matching file name."""
    try:
        with os.scandir(folder) as entries:
            return any(e.name.startswith(prefix) and e.name.endswith(".parquet") for e in entries)
    except FileNotFoundError:
        return False


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def union_view_sql(view: str, table: str, folder: Path, prefix: str) -> str:
    """`CREATE OR REPLACE TEMP VIEW view` over `table`, plus the folder's segments when there are any."""
    if not has_segments(folder, prefix):
        return f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {table}"
    pattern = _sql_string(str(folder / f"{prefix}*.parquet"))
    return (
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {table} UNION ALL BY NAME "
        f"SELECT * FROM read_parquet({pattern}, union_by_name = true)"
    )


# -- compaction: fold segments into the DuckDB tables, exactly once -------------------------------------------
COMPACTING_PREFIX = "compacting-"  # a claimed segment: out of the readers' globs, not yet deleted


def _claim(folder: Path) -> tuple[list[Path], list[Path]]:
    """Rename complete segment pairs out of the readers' globs. Returns (leftovers of a crashed compaction,
    newly claimed files).

    Only runs files are claimed with their steps partner: a steps file without its runs file may belong to a
    writer between its two renames, so it is left alone.
    """
    leftovers = sorted(folder.glob(f"{COMPACTING_PREFIX}*.parquet"))
    claimed: list[Path] = []
    for runs in sorted(folder.glob(f"{RUNS_PREFIX}*.parquet")):
        steps = folder / (STEPS_PREFIX + runs.name[len(RUNS_PREFIX):])
        for path in (runs, steps) if steps.exists() else (runs,):
            target = folder / (COMPACTING_PREFIX + path.name)
            os.replace(path, target)
            claimed.append(target)
    return leftovers, claimed


def _unclaim(claimed: list[Path]) -> None:
    for path in claimed:
        if path.exists():
            os.replace(path, path.with_name(path.name[len(COMPACTING_PREFIX):]))


def _insert_new(con: Any, table: str, files: list[Path], key: tuple[str, ...]) -> int:
    """INSERT the rows of `files` whose key is not in `table` yet (so a retried compaction adds nothing twice)."""
    source = f"read_parquet([{', '.join(_sql_string(str(f)) for f in files)}], union_by_name = true)"
    have = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall() if row[0] in have]
    names = ", ".join(columns)
    match = " AND ".join(f"t.{k} = s.{k}" for k in key)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join('s.' + c for c in columns)} FROM {source} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before)


def compact_segments(store: Any) -> int:
    """Fold every complete segment beside `store` (a writable Store) into its tables; returns runs added.

    Exactly once: segments are claimed (renamed out of the globs) and inserted in one transaction, and the
    Store's lock is held from the claim until the claimed files are deleted, so no other thread of this process
    sees them half-way (as a crash's leftovers, say) and this Store's readers never see a run twice or lose one;
    rows already in the tables are skipped, so a compaction that crashed after its commit and is run again adds
    nothing; claimed files are deleted only after the commit, and put back if the insert fails.
    """
    folder = segments_dir(store.path)
    if not folder.is_dir():
        return 0
    with store.locked():
        with store.transaction() as con:
            leftovers, claimed = _claim(folder)
            files = leftovers + claimed
            if not files:
                return 0
            try:
                runs = [p for p in files if p.name.startswith(COMPACTING_PREFIX + RUNS_PREFIX)]
                steps = [p for p in files if p.name.startswith(COMPACTING_PREFIX + STEPS_PREFIX)]
                added = _insert_new(con, "runs", runs, ("run_id",)) if runs else 0
                if steps:
                    _insert_new(con, "steps", steps, ("run_id", "step_index"))
                store.refresh_views()  # in the same transaction: no moment with a glob that matches nothing
            except BaseException:
                _unclaim(claimed)  # leftovers may already be committed: they stay claimed
                raise
        for path in files:  # committed: the rows live in the tables now
            path.unlink(missing_ok=True)
    return added


def compact_if_many(store: Any, *, min_segments: int = 32) -> int:
    """Compact once `min_segments` runs segments have piled up, or at once when a crashed compaction left
    claimed (`compacting-*`) files behind: those are outside the readers' globs and maybe not in the tables, so
    their runs are missing until they are folded in. (The dashboard calls this as it renders, so a
    long-running API server's segments are folded in without anyone stopping the dashboard.)"""
    folder = segments_dir(store.path)
    pending, leftovers = 0, False
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".parquet"):
                    leftovers = leftovers or entry.name.startswith(COMPACTING_PREFIX)
                    pending += entry.name.startswith(RUNS_PREFIX)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return compact_segments(store) if leftovers or pending >= min_segments else 0
