"""The request log: traces go on a queue; one background thread per process commits them to the store.

`submit` never blocks and never raises, so logging can't slow or fail a request. The thread commits what is
queued every `interval` seconds, or as soon as `batch_size` runs wait (one transaction holds at most
`batch_size` runs); `close` flushes whatever is left (the server calls it on shutdown, after in-flight requests
finished). A failed write keeps its batch and retries.

The store is opened by the thread on its first write (`open_store`). With DuckLake every server process commits
at once; with the embedded DuckDB file (one writer at a time) the writer lets the file go after each commit
(`take_turns`), so other processes (the dashboard, a CLI command, another server) get their turn.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from cascade_core.records import Trace
from cascade_core.store.store import Store

log = logging.getLogger(__name__)


class LogWriter:
    def __init__(self, open_store: Callable[[], Store], *, batch_size: int = 500, interval: float = 0.5,
                 name: str = "the store") -> None:
        self._open_store = open_store
        self.store: Store | None = None
        self.name = name
        self.batch_size = batch_size
        self.interval = interval
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="cascade-log-writer", daemon=False)
        self._wake = threading.Event()
        self._stopping = False
        self._closed = False
        self.submitted = 0
        self.written_runs = 0
        self.commits = 0
        self.write_errors = 0

    def start(self) -> LogWriter:
        self._thread.start()
        return self

    @property
    def backlog(self) -> int:
        """Runs submitted and not yet committed."""
        return self.submitted - self.written_runs

    def submit(self, trace: Trace) -> None:
        """Queue one run for logging: O(1), never blocks, never raises, and does not wake the thread
        (one wake-up per request would cost a GIL hand-off each) unless a whole batch is waiting."""
        self.submitted += 1
        self._queue.put(trace)
        if self._queue.qsize() >= self.batch_size:
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
            self._drain_sync()
        if self.store is not None and not self._thread.is_alive():
            self.store.close()

    # -- the thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        pending: list[Trace] = []
        try:  # open (and migrate) now, not on the first request's commit; a failure is retried on each flush
            self.store = self._open_store()
            if self.store.backend == "duckdb":
                self.store.release()
        except Exception as err:
            log.warning("request log: %s not available yet (%s); will retry", self.name, err)
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping  # read after clear(): a close() racing with us is seen now or next turn
            self._drain_into(pending)
            if pending:
                pending = self._flush(pending)
            if stopping:
                for _ in range(3):  # a failing disk gets a few more tries before the process exits
                    if not pending:
                        break
                    time.sleep(0.2)
                    self._drain_into(pending)
                    pending = self._flush(pending)
                if pending:
                    log.error("request log: %d runs could not be written to %s", len(pending), self.name)
                return

    def _drain_into(self, pending: list[Trace]) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            pending.append(item)

    def _drain_sync(self) -> None:
        pending: list[Trace] = []
        self._drain_into(pending)
        if pending:
            self._flush(pending)

    def _flush(self, pending: list[Trace]) -> list[Trace]:
        """Commit `pending` in transactions of at most batch_size runs; returns what could not be written."""
        try:
            while pending:
                batch, rest = pending[: self.batch_size], pending[self.batch_size:]
                try:
                    if self.store is None:
                        self.store = self._open_store()
                    self.store.log_traces(batch)
                except Exception:  # logging must never take the server down; keep the batch and retry
                    self.write_errors += 1
                    log.exception("request log: committing %d runs to %s failed; will retry", len(batch),
                                  self.name)
                    return pending
                self.commits += 1
                self.written_runs += len(batch)
                pending = rest
            return pending
        finally:
            if self.store is not None and self.store.backend == "duckdb":
                self.store.release()  # one writer per file: let the others take their turn
