"""One DuckDB connection shared by a process's threads, opened on demand and optionally let go when idle.

DuckDB allows one process at a time to open a file for writing. A dashboard that held its file for good would
lock out the weekly cron audit and every CLI command, so long-lived processes pass `idle_release`: the file is
closed after that many idle seconds and reopened on the next use. `lock_wait` makes an open wait (with short
sleeps) for another process to let go before giving up with StoreLockedError.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class StoreError(RuntimeError):
    """A store problem with a message naming the file."""


class StoreLockedError(StoreError):
    """The DuckDB file is held by another process."""


class StoreCorruptError(StoreError):
    """The file exists but is not a readable DuckDB database (corrupt, truncated, another kind of file)."""


class StoreReadOnlyError(StoreError):
    """The file, or the folder it would be created in, cannot be written."""


class StoreMissingError(StoreError):
    """There is no store file where one is needed (a read-only open)."""


# DuckDB's own words for each case. The lock test matches whole phrases: "lock" alone is also inside "block"
# ("... checksum ... in block at location 4096"), which made a corrupt file look locked for 30 s.
_LOCKED = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)
_CORRUPT = re.compile(r"not a valid duckdb database|corrupt database|could not read enough bytes|"
                      r"checksum .* does not match|database file .* version", re.IGNORECASE)
_READ_ONLY = re.compile(r"operation not permitted|permission denied|read-only file system", re.IGNORECASE)
_MISSING = re.compile(r"database does not exist|no such file or directory", re.IGNORECASE)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: object) -> Iterator[duckdb.DuckDBPyConnection]:
    """Python tables (DataFrames, Arrow tables) visible to SQL under the given names for the block's statements,
    unregistered afterwards even when a statement fails."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield con
    finally:
        for name in frames:
            con.unregister(name)


def _is_lock_error(err: duckdb.Error) -> bool:
    return isinstance(err, duckdb.IOException) and _LOCKED.search(str(err)) is not None


def open_error(path: Path | str, err: BaseException) -> StoreError:
    """The clear, file-naming error for a store that cannot be opened (locks are handled by the caller)."""
    text = str(err)
    if _CORRUPT.search(text):
        return StoreCorruptError(
            f"{path}: not a readable DuckDB store (corrupt or truncated); it was not changed. Move it aside and "
            f"a new store is created, or restore a backup. DuckDB said: {text}")
    if _READ_ONLY.search(text) or isinstance(err, PermissionError):
        where = path if isinstance(path, str) or path.exists() else path.parent
        return StoreReadOnlyError(
            f"{path}: cannot write the store ({where} is read-only or not writable for this user); point "
            f"CASCADE_STORE (or --store) at a writable place. Cause: {text}")
    if _MISSING.search(text) or isinstance(err, FileNotFoundError):
        return StoreMissingError(f"{path}: no store file there (nothing has been logged to it yet?)")
    return StoreError(f"{path}: cannot open store: {text}")


def _locked_message(path: Path | str, err: duckdb.Error, waited: float) -> str:
    wait = f" for {waited:.0f} s" if waited >= 1 else ""
    return (
        f"{path} is in use by another process{wait} (DuckDB allows one writer per file). Wait for it to finish, "
        "stop the other Cascade Lab process (dashboard, CLI or server), or point this one at another store with "
        f"CASCADE_STORE. DuckDB said: {err}"
    )


class SharedConnection:
    """A lazily opened connection guarded by a re-entrant lock; `use()` yields it for one piece of work."""

    def __init__(self, path: Path | str, *, read_only: bool, idle_release: float | None, lock_wait: float,
                 on_open: Callable[[duckdb.DuckDBPyConnection], None],
                 connect: Callable[[], duckdb.DuckDBPyConnection] | None = None) -> None:
        self.path = path  # what to name in messages (a file, or a lake's description)
        self._connect = connect or (lambda: duckdb.connect(str(path), read_only=read_only))
        self.read_only = read_only
        self.idle_release = idle_release
        self.lock_wait = lock_wait
        self._on_open = on_open
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._last_used = time.monotonic()
        self._closed = False
        self._reaper: threading.Thread | None = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        started = time.monotonic()
        delay = 0.05
        while True:
            try:
                con = self._connect()
                break
            except duckdb.Error as err:
                waited = time.monotonic() - started
                if _is_lock_error(err) and waited < self.lock_wait:
                    time.sleep(min(delay, max(self.lock_wait - waited, 0.01)))
                    delay = min(delay * 2, 0.5)
                    continue
                if _is_lock_error(err):
                    raise StoreLockedError(_locked_message(self.path, err, waited)) from None
                raise open_error(self.path, err) from None
        try:
            self._on_open(con)
        except duckdb.Error as err:  # migrations that cannot write (a lake's data path that is not writable)
            con.close()
            raise open_error(self.path, err) from None
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def use(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: store is closed")
            if self._con is None:
                self._con = self._open()
                self._start_reaper()
            self._depth += 1
            try:
                yield self._con
            finally:
                self._depth -= 1
                self._last_used = time.monotonic()

    def _start_reaper(self) -> None:
        if self.idle_release is None or self._reaper is not None:
            return
        self._reaper = threading.Thread(target=self._reap, name="store-idle", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        """Close the file once it has been idle for `idle_release` seconds, so other processes can open it."""
        assert self.idle_release is not None
        while True:
            time.sleep(min(self.idle_release / 2, 1.0))
            with self._lock:
                if self._con is None or self._closed:
                    self._reaper = None
                    return
                if self._depth == 0 and time.monotonic() - self._last_used >= self.idle_release:
                    self._con.close()
                    self._con = None
                    self._reaper = None  # under the lock: the next open starts a new reaper
                    return

    def rewrite(self, tmp_path: Path, exclude: dict[str, str]) -> None:
        """Copy the database into a fresh file, leaving out the rows matching `exclude` ({table: condition}),
        and swap it in, under the lock. The next use reopens the new file.

        DuckDB leaves deleted rows' bytes in the file (free blocks are not zeroed, VACUUM does not rewrite), and
        deleting many rows from a keyed table is slow; a purge that must really remove text copies instead."""
        with self.use() as con:
            row = con.execute("SELECT current_database()").fetchone()
            name = str(row[0]) if row else "main"
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' "
                "AND table_type = 'BASE TABLE'", [name]).fetchall()]
            tmp_path.unlink(missing_ok=True)
            quoted = str(tmp_path).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS _fresh")
            try:
                con.execute(f'COPY FROM DATABASE "{name}" TO _fresh (SCHEMA)')
                for table in tables:
                    keep = f" WHERE ({exclude[table]}) IS NOT TRUE" if table in exclude else ""
                    con.execute(f'INSERT INTO _fresh.main."{table}" SELECT * FROM "{name}".main."{table}"{keep}')
            except BaseException:
                con.execute("DETACH _fresh")
                tmp_path.unlink(missing_ok=True)
                raise
            con.execute("DETACH _fresh")
            con.close()
            self._con = None
            path = Path(self.path)  # only a DuckDB file is rewritten (a DuckLake deletes in place)
            wal = path.with_name(path.name + ".wal")
            tmp_path.replace(path)
            wal.unlink(missing_ok=True)  # the old file's log: already checkpointed into the copy

    def release(self) -> None:
        """Close the connection now if no thread is using it (the next use reopens it): lets another process
        take its turn at a DuckDB file."""
        with self._lock:
            if self._con is not None and self._depth == 0:
                self._con.close()
                self._con = None

    @property
    def is_open(self) -> bool:
        return self._con is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._con is not None:
                self._con.close()
                self._con = None
