"""The DuckDB run log: open (with migrations), write traces atomically, read them back.

One Store holds one DuckDB connection guarded by a lock (store/connection.py), so it can be shared by the
threads of one process (Streamlit sessions, a sweep's writer). DuckDB allows one writing process per file; a
second process waits up to `lock_wait` seconds, then gets a clear StoreLockedError naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cascade_core.records import Trace
from cascade_core.store.connection import SharedConnection, StoreError, StoreMissingError, open_error
from cascade_core.store.rows import trace_from_rows, trace_rows, traces_rows
from cascade_core.store.schema import MIGRATIONS, RUN_COLUMNS, STEP_COLUMNS


class Store:
    """A DuckDB file holding runs and steps (and, through later migrations, sweeps and audits).

    `idle_release` (seconds): let the file go when idle so other processes can write (the dashboard uses it).
    `lock_wait` (seconds): how long an open waits for another process to let go before StoreLockedError.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, idle_release: float | None = None,
                 lock_wait: float = 0.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a store file")
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise open_error(self.path, err) from None
        elif not self.path.exists():
            raise StoreMissingError(f"{self.path}: no store file there (nothing has been logged to it yet?)")
        self._migrated = read_only
        self._conn = SharedConnection(self.path, read_only=read_only, idle_release=idle_release,
                                      lock_wait=lock_wait, on_open=self._prepare)
        with self._conn.use():
            pass  # open now: a locked or broken file fails here, with its name, not on first use

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """On every open: migrations (once per Store) and the reader views (temporary, so per connection)."""
        if not self._migrated:
            _migrate(con)
            self._migrated = True
        _create_views(con, self.path)

    @contextmanager
    def _use(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._conn.use() as con:
            yield con

    # -- schema ---------------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        with self._use() as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
            ).fetchone() or (0,)
            if not exists[0]:
                return 0
            row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            return int(row[0]) if row else 0

    def migrate(self) -> list[int]:
        """Apply every migration the file has not had yet, each in its own transaction."""
        with self._use() as con:
            return _migrate(con)

    def refresh_views(self) -> None:
        """`all_runs` / `all_steps`: what every reader queries: the tables UNION ALL BY NAME the Parquet
        segments that server processes append beside the file (see store/segments.py). Cheap enough to call
        on every page render: a directory scan and two view definitions."""
        with self._use() as con:
            _create_views(con, self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (re-entrant) across several steps, so no other thread of this process uses the
        store in between (compaction holds it from claiming segments until their files are deleted)."""
        with self._use():
            yield

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._use() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- writing --------------------------------------------------------------------------------------------
    def log_trace(self, trace: Trace) -> None:
        """Write one run and its steps in one transaction: all or nothing."""
        run, steps = trace_rows(trace)
        run_sql = f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
        row = f"({', '.join('?' * len(STEP_COLUMNS))})"
        # All steps in one multi-row INSERT: DuckDB's cost is per statement, not per row.
        step_sql = f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) VALUES {', '.join([row] * len(steps))}"
        with self.transaction() as con:
            con.execute(run_sql, [run[c] for c in RUN_COLUMNS])
            if steps:
                con.execute(step_sql, [step[c] for step in steps for c in STEP_COLUMNS])

    def log_traces(self, traces: Iterable[Trace]) -> int:
        """Write many runs in one transaction through DataFrames (fast bulk path). Returns the count."""
        runs, steps = traces_rows(traces)
        if not runs:
            return 0
        self.append_frames(pd.DataFrame(runs, columns=list(RUN_COLUMNS)),
                           pd.DataFrame(steps, columns=list(STEP_COLUMNS)))
        return len(runs)

    def append_frames(self, runs: pd.DataFrame, steps: pd.DataFrame) -> None:
        """Bulk-insert already-flattened rows (columns as in schema.RUN_COLUMNS / STEP_COLUMNS), atomically."""
        with self.transaction() as con:
            con.register("_new_runs", runs)
            con.register("_new_steps", steps)
            try:
                con.execute(
                    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) SELECT {', '.join(RUN_COLUMNS)} FROM _new_runs"
                )
                con.execute(
                    f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) SELECT {', '.join(STEP_COLUMNS)} FROM _new_steps"
                )
            finally:
                con.unregister("_new_runs")
                con.unregister("_new_steps")

    # -- reading --------------------------------------------------------------------------------------------
    def get_trace(self, run_id: str) -> Trace | None:
        with self._use() as con:
            runs = con.execute("SELECT * FROM all_runs WHERE run_id = ?", [run_id]).df()
            if runs.empty:
                return None
            steps = con.execute("SELECT * FROM all_steps WHERE run_id = ? ORDER BY step_index", [run_id]).df()
        return trace_from_rows(runs.iloc[0].to_dict(), steps.to_dict("records"))

    def count_runs(self) -> int:
        with self._use() as con:
            row = con.execute("SELECT count(*) FROM all_runs").fetchone()
            return int(row[0]) if row else 0

    def recent_runs(self, limit: int = 20) -> pd.DataFrame:
        with self._use() as con:
            return con.execute(
                "SELECT run_id, created_at, source, question, final_tier, final_answer, total_cost, correct "
                "FROM all_runs ORDER BY created_at DESC LIMIT ?",
                [limit],
            ).df()

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """For store modules only (pages never write SQL): run a parameterised query under the lock."""
        with self._use() as con:
            return con.execute(sql, params or []).df()

    def execute(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """For store modules only: run a parameterised statement under the lock and fetch all rows."""
        with self._use() as con:
            return con.execute(sql, params or []).fetchall()

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    applied: list[int] = []
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    done = {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    for version in sorted(v for v in MIGRATIONS if v not in done):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(version)
    return applied


def _create_views(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    from cascade_core.store.segments import RUNS_PREFIX, STEPS_PREFIX, segments_dir, union_view_sql

    folder = segments_dir(path)  # temporary views live with the connection, so they work read-only too
    con.execute(union_view_sql("all_runs", "runs", folder, RUNS_PREFIX))
    con.execute(union_view_sql("all_steps", "steps", folder, STEPS_PREFIX))
