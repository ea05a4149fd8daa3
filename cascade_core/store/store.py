"""The run log: open (with migrations), write traces atomically, read them back. Two engines, one interface:

- the embedded DuckDB file (the default: needs nothing). DuckDB allows one writing process per file; a second
  process waits up to `lock_wait` seconds, then gets a clear StoreLockedError naming the file, and long-lived
  processes let the file go when idle (`idle_release`) or after each write (`release()`) so others get a turn;
- DuckLake (store/lake.py): catalog in PostgreSQL, data files under a data path. Any number of processes on
  any number of machines read and write at once with snapshot-isolated transactions; commit conflicts between
  writers are retried.

One Store holds one DuckDB connection guarded by a lock (store/connection.py), so it can be shared by the
threads of one process (Streamlit sessions, a sweep's writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from cascade_core.records import Trace
from cascade_core.store.catalog_lock import AdvisoryWriteLock, FileWriteLock, LakeWriteLock
from cascade_core.store.connection import SharedConnection, StoreError, StoreMissingError, open_error, registered
from cascade_core.store.lake import LakeTarget, connect_lake, lake_ddl, retrying, set_inlining, set_option
from cascade_core.store.rows import trace_from_rows, trace_rows, traces_rows
from cascade_core.store.schema import MIGRATIONS, RUN_COLUMNS, STEP_COLUMNS

StoreLocation = str | Path | LakeTarget
T = TypeVar("T")


class Store:
    """The run log's tables: runs and steps, and (through later migrations) sweeps and audits.

    `location`: a DuckDB file path, or a LakeTarget.
    `idle_release` (seconds): let a DuckDB file go when idle so other processes can write (the dashboard uses it).
    `lock_wait` (seconds): how long an open waits for another process to let a file go before StoreLockedError.
    """

    def __init__(self, location: StoreLocation, *, read_only: bool = False, idle_release: float | None = None,
                 lock_wait: float = 0.0) -> None:
        self.read_only = read_only
        self.lake: LakeTarget | None = location if isinstance(location, LakeTarget) else None
        self.path: Path | None = None if isinstance(location, LakeTarget) else Path(location)
        self._migrated = read_only
        self._open_transactions = 0  # under the connection's (re-entrant) lock: only the holding thread counts
        self._write_lock = _write_lock(self.lake) if self.lake is not None and not read_only else None
        if self.lake is not None:
            lake = self.lake
            self._conn = SharedConnection(lake.describe(), read_only=read_only, idle_release=idle_release,
                                          lock_wait=lock_wait, on_open=self._prepare,
                                          connect=lambda: connect_lake(lake, read_only=read_only))
        else:
            assert self.path is not None
            if self.path.is_dir():
                raise StoreError(f"{self.path}: is a directory, not a store file")
            if not read_only:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise open_error(self.path, err) from None
            elif not self.path.exists():
                raise StoreMissingError(f"{self.path}: no store file there (nothing has been logged to it yet?)")
            self._conn = SharedConnection(self.path, read_only=read_only, idle_release=idle_release,
                                          lock_wait=lock_wait, on_open=self._prepare)
        with self._conn.use():
            pass  # open now: a locked or broken store fails here, with its name, not on first use

    @property
    def backend(self) -> Literal["duckdb", "ducklake"]:
        return "duckdb" if self.lake is None else "ducklake"

    @property
    def enforces_keys(self) -> bool:
        """DuckDB files enforce PRIMARY KEYs; DuckLake has no constraints, so upserts delete first there."""
        return self.lake is None

    @property
    def name(self) -> str:
        """What to show: the file, or the lake without its password."""
        return str(self.path) if self.lake is None else self.lake.describe()

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """On every open: migrations (once per Store) and the reader views (temporary, so per connection)."""
        if not self._migrated:
            with self._write_lock.held(exclusive=True) if self._write_lock is not None else nullcontext():
                if self.lake is not None:  # first: the migrations' own small inserts are inlined too
                    lake = self.lake
                    retrying(lambda: set_inlining(con, lake.inlined_rows), on_retry=lambda: _rollback(con))
                retrying(lambda: _migrate(con, lake=self.lake is not None), on_retry=lambda: _rollback(con))
                if self.lake is not None:
                    retrying(lambda: _tune_lake(con), on_retry=lambda: _rollback(con))
            self._migrated = True
        _create_views(con)

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
        """Apply every migration the store has not had yet, each in its own transaction."""
        with self._use() as con:
            return retrying(lambda: _migrate(con, lake=self.lake is not None), on_retry=lambda: _rollback(con))

    def release(self) -> None:
        """Let a DuckDB file go now (reopened on next use), so another process can take its turn."""
        self._conn.release()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (re-entrant) across several steps, so no other thread of this process uses the
        store in between."""
        with self._use():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on the store's connection. Private: writes go through `write` (retried on a DuckLake
        commit conflict, which any write can meet beside another process), reads through `read`/`snapshot`."""
        with self._use() as con:
            con.execute("BEGIN TRANSACTION")
            self._open_transactions += 1
            try:
                yield con
            except BaseException:
                _rollback(con)  # a ROLLBACK that fails too (the catalog's server is gone) must not hide why
                raise
            finally:
                self._open_transactions -= 1
            con.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that see one state of the store (one read transaction; no other thread in between)."""
        with self._transaction():
            yield

    def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `work` (reads only) in one transaction on the store's connection; not retried."""
        with self._transaction() as con:
            return work(con)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the store (as `locked`) and, on a lake, its write lock exclusive: other writers, in every process,
        wait until the block ends (store/catalog_lock.py). For maintenance's long commits; else as `locked`."""
        with self._use():
            if self._write_lock is None:
                yield
            else:
                with self._write_lock.held(exclusive=True):
                    yield

    def _shared(self) -> AbstractContextManager[None]:
        return self._write_lock.held() if self._write_lock is not None else nullcontext()

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `work` in one transaction; on a commit conflict with another writer (DuckLake), run it again.
        `work` must be safe to repeat (it only issues SQL)."""
        with self._use() as con:
            def attempt() -> T:
                with self._shared(), self._transaction() as tx:
                    return work(tx)
            return retrying(attempt, on_retry=lambda: _rollback(con))

    # -- writing --------------------------------------------------------------------------------------------
    def log_trace(self, trace: Trace) -> None:
        """Write one run and its steps in one transaction: all or nothing."""
        inserts = trace_inserts(trace)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            for sql, params in inserts:
                con.execute(sql, params)

        self.write(work)

    def log_traces(self, traces: Iterable[Trace], *, skip_existing: bool = False) -> int:
        """Write many runs in one transaction through DataFrames (fast bulk path). Returns the count.

        `skip_existing`: leave out runs whose run_id is already stored (with their steps), so a batch retried
        after a commit that failed half-way (a full disk, a dropped catalog link) is never logged twice."""
        runs, steps = traces_rows(traces)
        if not runs:
            return 0
        if skip_existing:
            ids = [run["run_id"] for run in runs]
            stored = {row[0] for row in self.execute(
                "SELECT run_id FROM runs WHERE list_contains(?, run_id)", [ids])}
            if stored:
                runs = [run for run in runs if run["run_id"] not in stored]
                steps = [step for step in steps if step["run_id"] not in stored]
                if not runs:
                    return 0
        self.append_frames(_arrow(runs, RUN_COLUMNS), _arrow(steps, STEP_COLUMNS))
        return len(runs)

    def append_frames(self, runs: pd.DataFrame | pa.Table, steps: pd.DataFrame | pa.Table) -> None:
        """Bulk-insert already-flattened rows (columns as in schema.RUN_COLUMNS / STEP_COLUMNS), atomically."""
        def work(con: duckdb.DuckDBPyConnection) -> None:
            with registered(con, _new_runs=runs, _new_steps=steps):
                con.execute(
                    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) SELECT {', '.join(RUN_COLUMNS)} FROM _new_runs"
                )
                con.execute(
                    f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) SELECT {', '.join(STEP_COLUMNS)} FROM _new_steps"
                )

        self.write(work)

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
        """For store modules only: run a parameterised statement under the lock and fetch all rows.

        On a lake, a statement that is its own transaction (none open) is run again after a commit conflict or a
        busy catalog, as `write` does: maintenance calls (merge, expire, cleanup) commit to the catalog too, and
        beside another process's commit they failed a hand-run `store maintain` on a SQLite catalog."""
        with self._use() as con:
            def attempt() -> list[tuple[Any, ...]]:
                return con.execute(sql, params or []).fetchall()
            if self.lake is None or self._open_transactions:
                return attempt()
            return retrying(attempt)

    def rewrite_file(self, exclude: dict[str, str] | None = None) -> None:
        """Rewrite the file into a fresh one, leaving out rows matching `exclude` ({table: SQL condition}), so
        removed rows leave no bytes behind (see SharedConnection.rewrite)."""
        if self.read_only or self.path is None:
            raise StoreError(f"{self.name}: only a DuckDB file opened for writing can be rewritten")
        self._conn.rewrite(self.path.with_name(self.path.name + ".purge-tmp"), exclude or {})

    def size_bytes(self) -> int:
        """The DuckDB file's size, or the lake's data files' total."""
        if self.path is not None:
            return self.path.stat().st_size if self.path.exists() else 0
        rows = self.execute("SELECT coalesce(sum(file_size_bytes), 0) FROM __ducklake_metadata_lake.ducklake_data_file "
                            "WHERE end_snapshot IS NULL")
        return int(rows[0][0])

    def close(self) -> None:
        self._conn.close()
        if self._write_lock is not None:
            self._write_lock.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_RUN_INSERT = f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
_STEP_ROW = f"({', '.join('?' * len(STEP_COLUMNS))})"


def trace_inserts(trace: Trace) -> list[tuple[str, list[Any]]]:
    """One run's INSERT statements with their parameters: the run's row, then all its steps in one multi-row
    INSERT (DuckDB's and DuckLake's cost is per statement, not per row)."""
    run, steps = trace_rows(trace)
    inserts: list[tuple[str, list[Any]]] = [(_RUN_INSERT, [run[c] for c in RUN_COLUMNS])]
    if steps:
        inserts.append((f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) VALUES {', '.join([_STEP_ROW] * len(steps))}",
                        [step[c] for step in steps for c in STEP_COLUMNS]))
    return inserts


def _arrow(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pa.Table:
    """Rows as an Arrow table, built column-wise (several times cheaper than a DataFrame for a server's batch);
    DuckDB casts each column to the table's type on INSERT."""
    return pa.table({name: [row[name] for row in rows] for name in columns})


RUNS_ROW_GROUP = 16_384  # rows per Parquet row group of a lake's runs (DuckLake's default is 122,880)


def _tune_lake(con: duckdb.DuckDBPyConnection) -> None:
    """Per-table DuckLake options. The text index's bitmaps are never inlined (DuckLake's inlining of BLOBs into a
    PostgreSQL catalog fails, "invalid hexadecimal digit", and they are big anyway). The runs are written in row
    groups of RUNS_ROW_GROUP rows: a text search through the index reads a few thousand runs per block it keeps,
    and a question column chunk is decompressed whole (122,880 rows: 59 MB, ~50 ms; 16,384 rows: ~14 ms; a full
    scan takes the same time, the files the same size; bench/bench_store.py scale)."""
    set_inlining(con, 0, "run_text_index")
    set_option(con, "parquet_row_group_size", RUNS_ROW_GROUP, "runs")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction open


def _write_lock(lake: LakeTarget) -> LakeWriteLock:
    return FileWriteLock(lake.dsn) if lake.catalog == "sqlite" else AdvisoryWriteLock(lake.dsn)


def _migrate(con: duckdb.DuckDBPyConnection, *, lake: bool = False) -> list[int]:
    """Forward migrations, each in its own transaction with its row in schema_version (both backends)."""
    applied: list[int] = []
    adapt = lake_ddl if lake else (lambda statement: statement)
    con.execute(adapt("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"))
    done = {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    for version in sorted(v for v in MIGRATIONS if v not in done):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[version]:
                con.execute(adapt(statement))
            con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version])
        except duckdb.CatalogException as err:
            con.execute("ROLLBACK")
            # Several handles of one process (serve's log writer, shadow sink, metrics) open a fresh file at once:
            # another connection is applying this very version. Wait for its row rather than fail.
            if "already exists" not in str(err) or not _recorded_soon(con, version):
                raise
            continue
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(version)
    return applied


def _recorded_soon(con: duckdb.DuckDBPyConnection, version: int, wait: float = 10.0) -> bool:
    """Whether another connection records `version` in schema_version within `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        if con.execute("SELECT count(*) FROM schema_version WHERE version = ?", [version]).fetchone() != (0,):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    """`all_runs` / `all_steps`: what every reader queries (temporary views, so they work read-only too)."""
    con.execute("CREATE OR REPLACE TEMP VIEW all_runs AS SELECT * FROM runs")
    con.execute("CREATE OR REPLACE TEMP VIEW all_steps AS SELECT * FROM steps")
