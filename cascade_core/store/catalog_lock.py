"""A lake-wide write lock, so a long maintenance commit is not starved by steady small ones.

DuckLake 1.4 commits by rewriting catalog rows every writer touches (table stats, snapshot). A commit whose
snapshot another one moved on from fails: on PostgreSQL "could not serialize access due to concurrent update",
on SQLite "database is locked". Small commits win a retry; a long one (a maintenance flush or merge) never does
beside steady traffic. Measured before this lock: two writers logging 20 runs/s each made every `store maintain`
fail after 15-20 s of retries on PostgreSQL and 25-350 s on SQLite, so inlined rows and small files only grew.

So writes take the lock shared and maintenance takes it exclusive: writers queue behind a maintenance pass for
its few hundred milliseconds instead of failing it.
- PostgreSQL catalog: a session advisory lock in the catalog's own database (one extra connection per store; a
  waiting exclusive request makes later shared ones queue, so maintenance is not starved either). If that
  connection fails, writes go on without the lock (as before) and the failure is logged once.
- SQLite catalog: an exclusive `flock` on `<catalog>.write-lock` for every write (SQLite has one writer at a
  time anyway). The catalog is a local file, so every process writing it sees the lock.
The kernel or the server drops a lock when its holder dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cascade_core.store.connection import StoreError
from cascade_core.store.lake import redact

log = logging.getLogger(__name__)

LOCK_WAIT = 300.0  # seconds a writer waits for the lock before it gives up with a clear error
ADVISORY_KEY = 0x6361736361646531  # "cascade1": one lock per catalog database


class LakeWriteLock:
    """Re-entrant per thread (a write inside a maintenance pass does not wait for itself). One per Store."""

    def __init__(self, wait: float = LOCK_WAIT) -> None:
        self.wait = wait
        self._owner: int | None = None
        self._exclusive = False
        self._depth = 0
        self._threads = threading.Lock()  # threads of this store queue here, processes on the lock itself

    @contextmanager
    def held(self, *, exclusive: bool = False) -> Iterator[None]:
        if self._owner == threading.get_ident():
            if exclusive and not self._exclusive:
                raise RuntimeError("a shared lake write lock cannot be upgraded: take it exclusive first")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._threads:
            took = self._acquire(exclusive)
            self._owner, self._exclusive, self._depth = threading.get_ident(), exclusive, 1
            try:
                yield
            finally:
                self._owner, self._depth = None, 0
                if took:
                    self._release(exclusive)

    def _acquire(self, exclusive: bool) -> bool:
        raise NotImplementedError

    def _release(self, exclusive: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class FileWriteLock(LakeWriteLock):
    """SQLite catalog: `flock` on a file beside it; shared requests are exclusive too (one writer at a time)."""

    def __init__(self, catalog_path: str, wait: float = LOCK_WAIT) -> None:
        super().__init__(wait)
        self.path = catalog_path + ".write-lock"
        self._fd: int | None = None

    def _acquire(self, exclusive: bool) -> bool:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        delay = 0.001
        while True:  # polled rather than blocking, so a holder that hangs gives an error, not a hung writer
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: another process has held this SQLite-catalog lake's write lock "
                                     f"for over {self.wait:.0f} s; nothing was written") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.005)  # short: a writer that sleeps long loses its turn

    def _release(self, exclusive: bool) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdvisoryWriteLock(LakeWriteLock):
    """PostgreSQL catalog: a session advisory lock on its own connection (psycopg), opened on first use."""

    def __init__(self, dsn: str, wait: float = LOCK_WAIT) -> None:
        super().__init__(wait)
        self._dsn = dsn
        self._conn: Any = None
        self._warned = False

    def _acquire(self, exclusive: bool) -> bool:
        import psycopg  # only lakes on PostgreSQL need it

        call = "pg_advisory_lock" if exclusive else "pg_advisory_lock_shared"
        try:
            if self._conn is None:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10,
                                             application_name="cascade-lab write lock")
                self._conn.execute(f"SET lock_timeout = '{int(self.wait * 1000)}ms'")
            self._conn.execute(f"SELECT {call}(%s)", [ADVISORY_KEY])
            return True
        except psycopg.errors.LockNotAvailable:
            raise StoreError(f"another process has held this lake's write lock for over {self.wait:.0f} s (a "
                             "maintenance pass?); nothing was written") from None
        except psycopg.Error as err:
            self._drop()
            if not self._warned:  # the catalog itself may still answer: write unlocked rather than not at all
                log.warning("lake write lock unavailable, writing without it: %s",
                            redact(" ".join(str(err).split()))[:200])
                self._warned = True
            return False

    def _release(self, exclusive: bool) -> None:
        import psycopg

        call = "pg_advisory_unlock" if exclusive else "pg_advisory_unlock_shared"
        try:
            self._conn.execute(f"SELECT {call}(%s)", [ADVISORY_KEY])
        except psycopg.Error:
            self._drop()  # the session is gone, and its locks with it

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection: nothing left to do
                pass
            self._conn = None

    def close(self) -> None:
        self._drop()
