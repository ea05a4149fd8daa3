"""The request log: traces go on a queue; one background thread per process commits them to the store.

`submit` never blocks and never raises. The thread commits what is queued every `interval` seconds, or as soon
as `batch_size` runs wait, or at once when a request waits for its run to be logged (`on_logged`: the "log
before answering" mode; runs that arrive during a commit share the next one, a group commit). `close` flushes
whatever is left (the server calls it on shutdown, after in-flight requests finished).

When the store cannot be written (read-only folder, full disk, a lost database) nothing is dropped: the batch
is kept and retried on every tick, on a freshly opened store, and written once the store is back (a batch whose
commit failed half-way is retried without the runs that did land, so none is logged twice). The backlog is
bounded: `reserve` refuses a new request once `max_backlog` runs are queued or being answered, so memory stays
bounded and the server says 503 rather than answering runs it could not log. `health()` says at once that
writes fail (the first failed commit), with the cause, for /healthz and /metrics.

The store is opened by the thread on its first write (`open_store`). With DuckLake every server process commits
at once; with the embedded DuckDB file (one writer at a time) the writer lets the file go after each commit, so
other processes (the dashboard, a CLI command, another server) get their turn.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cascade_core.records import Trace
from cascade_core.security.redact import redact_exception
from cascade_core.store.store import Store

log = logging.getLogger(__name__)
Waiter = Callable[[bool], None]  # called from the writer thread: True once the run is committed
REPORT_EVERY = 30.0  # seconds between repeated log lines while the store keeps failing


@dataclass(frozen=True)
class LogHealth:
    """What /healthz and /metrics say about the request log."""

    ok: bool
    backlog: int
    max_backlog: int
    reserved: int
    error: str | None  # the last write failure, redacted; None while writes succeed
    failing_for: float  # seconds since the first failure of the current outage (0 when ok)
    failed_commits: int
    recreated: int  # times the DuckDB file vanished and a new one was created in its place

    @property
    def full(self) -> bool:
        return self.backlog + self.reserved >= self.max_backlog

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "backlog": self.backlog, "max_backlog": self.max_backlog, "error": self.error,
                "failing_for_s": round(self.failing_for, 1), "failed_commits": self.failed_commits,
                "store_recreated": self.recreated, "refusing_requests": self.full}


class LogWriter:
    def __init__(self, open_store: Callable[[], Store], *, batch_size: int = 500, interval: float = 0.5,
                 name: str = "the store", max_backlog: int = 10_000) -> None:
        self._open_store = open_store
        self.store: Store | None = None
        self.name = name
        self.batch_size = batch_size
        self.interval = interval
        self.max_backlog = max_backlog
        self._queue: queue.SimpleQueue[tuple[Trace, Waiter | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="cascade-log-writer", daemon=False)
        self._wake = threading.Event()
        self._stopping = False
        self._closed = False
        self.submitted = 0
        self.written_runs = 0
        self.commits = 0
        self.write_errors = 0
        self.reserved = 0  # requests admitted and still being answered (their runs are not queued yet)
        self.recreated = 0
        self.last_error: str | None = None
        self._failing_since: float | None = None
        self._last_report = 0.0
        self._file: Path | None = None  # the DuckDB file written last (to notice it vanishing)
        self._held_since: float | None = None  # when the DuckDB file was last opened and kept

    def start(self) -> LogWriter:
        self._thread.start()
        return self

    @property
    def backlog(self) -> int:
        """Runs submitted and not yet committed."""
        return self.submitted - self.written_runs

    def health(self) -> LogHealth:
        since = self._failing_since
        return LogHealth(since is None, self.backlog, self.max_backlog, self.reserved, self.last_error,
                         0.0 if since is None else time.monotonic() - since, self.write_errors, self.recreated)

    # -- admission (event loop) -----------------------------------------------------------------------------
    def reserve(self) -> bool:
        """Admit one request whose run will be submitted (True), or refuse it: the backlog is at its bound."""
        if self.backlog + self.reserved >= self.max_backlog:
            return False
        self.reserved += 1
        return True

    def unreserve(self) -> None:
        """An admitted request ended without a run to log (a bad request)."""
        self.reserved = max(0, self.reserved - 1)

    def submit(self, trace: Trace, on_logged: Waiter | None = None, *, reserved: bool = False) -> None:
        """Queue one run for logging: O(1), never blocks, never raises. Without `on_logged` the thread is not
        woken (one wake-up per request would cost a GIL hand-off each) unless a whole batch is waiting."""
        if reserved:
            self.unreserve()
        self.submitted += 1
        self._queue.put((trace, on_logged))
        if on_logged is not None or self._queue.qsize() >= self.batch_size:
            self._wake.set()

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush everything queued and stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout)
        elif self._thread.ident is None:  # never started: write synchronously
            pending: list[tuple[Trace, Waiter | None]] = []
            self._drain_into(pending)
            self._flush(pending)
        if self.store is not None and not self._thread.is_alive():
            self.store.close()

    # -- the thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        pending: list[tuple[Trace, Waiter | None]] = []
        self._open()  # open (and migrate) now, not on the first request's commit
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping  # read after clear(): a close() racing with us is seen now or next turn
            self._drain_into(pending)
            if pending:
                pending = self._flush(pending)
            elif self.store is None and self._failing_since is not None:
                self._open()  # idle after a failed open: try again, so /healthz turns ok without traffic
            if stopping:
                for _ in range(3):  # a failing disk gets a few more tries before the process exits
                    if not pending:
                        break
                    time.sleep(0.2)
                    self._drain_into(pending)
                    pending = self._flush(pending)
                if pending:
                    log.error("request log: %d runs could not be written to %s and are lost: %s", len(pending),
                              self.name, self.last_error)
                    self._notify(pending, False)
                return

    def _open(self) -> None:
        """Open the store; a failure is recorded (and retried on the next tick or flush)."""
        try:
            self.store = self._open_store()
        except Exception as err:
            self._failed(err, 0)
            return
        self._file = self.store.path or self._file
        if self.store.backend == "duckdb":
            self.store.release()
        self._recovered()

    def _drain_into(self, pending: list[tuple[Trace, Waiter | None]]) -> None:
        while True:
            try:
                pending.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self, pending: list[tuple[Trace, Waiter | None]]) -> list[tuple[Trace, Waiter | None]]:
        """Commit `pending` in transactions of at most batch_size runs; returns what could not be written."""
        try:
            while pending:
                batch, rest = pending[: self.batch_size], pending[self.batch_size:]
                retry = self._failing_since is not None  # an earlier commit may have landed part-way
                try:
                    self._check_file()
                    if self.store is None:
                        self.store = self._open_store()
                        self._file = self.store.path or self._file
                    self.store.log_traces([trace for trace, _ in batch], skip_existing=retry)
                except Exception as err:  # logging must never take the server down; keep the batch and retry
                    self._failed(err, len(batch))
                    return pending
                self._recovered()  # before counting this batch: the log line says how many runs were queued
                self.commits += 1
                self.written_runs += len(batch)
                self._notify(batch, True)
                pending = rest
            return pending
        finally:
            self._take_turns()

    def _take_turns(self) -> None:
        """One writer per DuckDB file: let the others take their turn after a commit, unless runs are already
        waiting for the next one (group commit under load); the file is held for at most `interval` in a row."""
        if self.store is None or self.store.backend != "duckdb":
            return
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        if self._queue.empty() or self._stopping or now - self._held_since >= self.interval:
            self.store.release()
            self._held_since = None

    def _check_file(self) -> None:
        """A DuckDB file that vanished (deleted, its disk unmounted) is created anew on the next open: say so."""
        if self._file is not None and not self._file.exists():
            self.recreated += 1
            log.error("request log: the store file %s has disappeared (deleted, or its disk is gone); the runs from "
                      "now on go to a new file there, the runs logged before are not in it", self._file)
            if self.store is not None:
                self.store.close()
                self.store = None
            self._file = None

    def _failed(self, err: Exception, runs: int) -> None:
        self.write_errors += 1
        self.last_error = redact_exception(err)[:500]
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last_report = now
            action = f"write {runs} runs to" if runs else "open"  # 0: the open at startup
            log.error("request log: cannot %s %s (%s); keeping the runs (backlog %d of at most %d) and retrying "
                      "every %.1f s", action, self.name, self.last_error, self.backlog, self.max_backlog,
                      self.interval)
        elif now - self._last_report >= REPORT_EVERY:
            self._last_report = now
            log.error("request log: %s still failing after %.0f s (backlog %d of at most %d): %s", self.name,
                      now - self._failing_since, self.backlog, self.max_backlog, self.last_error)
        if self.store is not None:  # reopen from scratch next time (an invalidated file, a dropped catalog link)
            try:
                self.store.close()
            except Exception:
                pass
            self.store = None

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log.warning("request log: %s writable again after %.1f s; writing the %d queued runs", self.name,
                        time.monotonic() - self._failing_since, self.backlog)
            self._failing_since = None
            self.last_error = None

    @staticmethod
    def _notify(batch: list[tuple[Trace, Waiter | None]], logged: bool) -> None:
        for _, waiter in batch:
            if waiter is not None:
                waiter(logged)
