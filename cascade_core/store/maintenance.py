"""DuckLake upkeep, scheduled by the product: inlined rows out to files, small files merged, old snapshots
expired and their files deleted. Keeps the data-file count bounded however often servers commit.

Every long-lived writer (each `serve` process) runs it every `maintenance_every` seconds from a daemon thread,
starting at a random offset so several servers rarely overlap; an overlap is a commit conflict, logged and
left to the next turn. `python -m cascade_core store maintain` runs it once by hand.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from cascade_core.store import rollup, text_index
from cascade_core.store.lake import COMMIT_RETRIES, LAKE, is_conflict, redact
from cascade_core.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    files_before: int
    files_after: int
    snapshots_expired: int
    unflushed: tuple[str, ...] = ()  # tables whose inlined rows DuckLake could not write out (see flush_inlined)


def data_file_count(store: Store) -> int:
    """Live data files of the lake (0 for a DuckDB file)."""
    if store.lake is None:
        return 0
    rows = store.execute(f"SELECT count(*) FROM __ducklake_metadata_{LAKE}.ducklake_data_file "
                         "WHERE end_snapshot IS NULL")
    return int(rows[0][0])


def maintain(store: Store, *, keep_snapshots: float | None = None) -> MaintenanceReport:
    """One maintenance pass over a DuckLake store (a DuckDB file needs none: CHECKPOINT only). Both fold the
    run log's tail into the per-hour rollup and the text index when it has grown (store/rollup.py,
    store/text_index.py), so readers seldom have to (a first text index of a big log is built here)."""
    rollup.refresh(store)
    text_index.refresh(store)
    if store.lake is None:
        store.execute("CHECKPOINT")
        return MaintenanceReport(0, 0, 0)
    keep = store.lake.keep_snapshots if keep_snapshots is None else keep_snapshots
    before = data_file_count(store)
    cutoff = datetime.now(UTC) - timedelta(seconds=keep)
    with store.exclusive():  # long commits: every writer of the lake waits for them rather than starve them
        unflushed = flush_inlined(store)
        store.execute(f"CALL ducklake_merge_adjacent_files('{LAKE}')")
        expired = store.execute(f"SELECT count(*) FROM ducklake_expire_snapshots('{LAKE}', older_than => ?)",
                                [cutoff])
        store.execute(f"SELECT count(*) FROM ducklake_cleanup_old_files('{LAKE}', older_than => ?)", [cutoff])
    return MaintenanceReport(before, data_file_count(store), int(expired[0][0]), unflushed)


def flush_inlined(store: Store) -> tuple[str, ...]:
    """Move the inlined rows out to data files, never retried inside DuckLake; the tables that could not be.

    DuckLake 1.4's own retry of a flush that conflicted with a concurrent inlined insert commits the new file
    and leaves the inlined rows in place, so every row it held is then there twice (and three times after the
    next pass): duckdb/ducklake#650, fixed in the 1.5 line. With its retries off, such a conflict fails the
    whole flush and rolls it back; the store's own loop runs it again.

    A flush that DuckLake itself cannot do (an INTERNAL error: a SQLite-catalog lake made by an earlier version,
    see LakeTarget.inlined_rows) is done table by table instead, so one broken table does not stop the others'
    flush or the rest of the pass; those tables keep their rows inlined and are named in the report."""
    with store.exclusive():
        store.execute("SET ducklake_max_retry_count = 0")
        try:
            try:
                store.execute(f"CALL ducklake_flush_inlined_data('{LAKE}')")  # retried by execute
                return ()
            except duckdb.InternalException as err:
                log.warning("flushing the lake's inlined rows failed inside DuckLake (%s); flushing table by "
                            "table", redact(str(err).splitlines()[0]))
            failed: list[str] = []
            tables = store.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1",
                                   [LAKE])
            for (table,) in tables:
                try:
                    store.execute(f"CALL ducklake_flush_inlined_data('{LAKE}', table_name => ?)", [table])
                except duckdb.InternalException:
                    failed.append(table)
            if failed:
                log.warning("DuckLake cannot flush the inlined rows of %s; they stay in the catalog",
                            ", ".join(failed))
            return tuple(failed)
        finally:
            store.execute(f"SET ducklake_max_retry_count = {COMMIT_RETRIES}")


# The run log's tables and their natural keys: the tables servers write many times a second, where DuckLake 1.4's
# flush bug (#650, see flush_inlined) left copies in lakes written before that fix.
RUN_LOG_KEYS = {"runs": ("run_id",), "steps": ("run_id", "step_index")}


def remove_duplicates(store: Store) -> dict[str, int]:
    """Repair a lake that already holds copies of runs or steps (`store maintain --dedupe`): each key's rows are
    replaced by one of them, in one transaction per table. Rows per table removed. A DuckDB file enforces its
    keys and never has any. The rollup's and the text index's hours that counted copies are folded again."""
    removed: dict[str, int] = {}
    for table, key in RUN_LOG_KEYS.items():
        cols = ", ".join(key)
        match = " AND ".join(f"{table}.{c} = d.{c}" for c in key)

        def work(con: duckdb.DuckDBPyConnection, table: str = table, cols: str = cols, match: str = match) -> int:
            con.execute(f"CREATE OR REPLACE TEMP TABLE dedupe_keep AS SELECT DISTINCT ON ({cols}) * FROM {table} "
                        f"WHERE ({cols}) IN (SELECT ({cols}) FROM {table} GROUP BY {cols} HAVING count(*) > 1)")
            kept = con.execute("SELECT count(*) FROM dedupe_keep").fetchone()
            if not kept or not kept[0]:
                return 0
            con.execute(f"CREATE OR REPLACE TEMP TABLE dedupe_keys AS SELECT DISTINCT {cols} FROM dedupe_keep")
            deleted = con.execute(f"DELETE FROM {table} USING dedupe_keys d WHERE {match}").fetchone()
            con.execute(f"INSERT INTO {table} SELECT * FROM dedupe_keep")
            return int(deleted[0] if deleted else 0) - int(kept[0])

        with store.exclusive():  # a rewrite of the busiest tables: other writers wait rather than starve it
            removed[table] = store.write(work) if store.lake is not None else 0
    if removed["runs"]:  # the per-hour rollup and the text index counted the copies: count those hours again
        rollup.repair(store)
        text_index.repair(store)
    return removed


class MaintenanceTimer:
    """Runs `maintain` every `every` seconds (first turn at a random point of the first interval). The lake is
    opened on the first turn, not at startup: a server whose PostgreSQL is down when it starts still serves (its
    log writer queues the runs), and a turn that cannot reach the lake opens it afresh on the next one."""

    def __init__(self, open_store: Callable[[], Store], every: float) -> None:
        self._open_store = open_store
        self.store: Store | None = None
        self.every = every
        self.runs = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lake-maintenance", daemon=True)

    def start(self) -> MaintenanceTimer:
        if self.every > 0:
            self._thread.start()
        return self

    def _loop(self) -> None:
        wait = random.uniform(0.5, 1.0) * self.every
        while not self._stop.wait(wait):
            wait = self.every
            try:
                if self.store is None:
                    self.store = self._open_store()
                report = maintain(self.store)
                self.runs += 1
                log.info("lake maintenance: %d -> %d data files, %d snapshots expired", report.files_before,
                         report.files_after, report.snapshots_expired)
            except Exception as err:  # a conflict with another server's turn, a lost catalog: try again next time
                self.errors += 1
                log.warning("lake maintenance skipped: %s", redact(" ".join(str(err).split()))[:300])  # not its SQL
                if self.store is not None and not is_conflict(err):
                    self.store.close()
                    self.store = None

    def stop(self) -> None:
        """End the turns and close the lake."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        if self.store is not None:
            self.store.close()
            self.store = None
