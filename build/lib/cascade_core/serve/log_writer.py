"""The request log: traces go on a queue; one background thread per process writes them as Parquet segments.

`submit` never blocks and never raises, so logging can't slow or fail a request. The thread flushes what is
queued every `interval` seconds, or as soon as `batch_size` runs wait (a segment holds at most `batch_size`
runs); `close` flushes whatever is left (the server calls it on shutdown, after in-flight requests finished).
A failed write keeps its batch and retries.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from cascade_core.records import Trace
from cascade_core.store.rows import traces_rows
from cascade_core.store.segments import write_segment

log = logging.getLogger(__name__)


def writer_id() -> str:
    """Unique per process start: host, pid and a random token (pids get reused)."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class LogWriter:
    def __init__(self, folder: Path, *, batch_size: int = 500, interval: float = 0.5) -> None:
        self.folder = folder
        self.batch_size = batch_size
        self.interval = interval
        self.writer_id = writer_id()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="cascade-log-writer", daemon=False)
        self._wake = threading.Event()
        self._stopping = False
        self._seq = 0
        self._closed = False
        self.submitted = 0
        self.written_runs = 0
        self.segments = 0
        self.write_errors = 0

    def start(self) -> LogWriter:
        self._thread.start()
        return self

    @property
    def backlog(self) -> int:
        """Runs submitted and not yet durable in a segment."""
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

    # -- the thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        pending: list[Trace] = []
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
                    log.error("request log: %d runs could not be written to %s", len(pending), self.folder)
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
        """Write `pending` in segments of at most batch_size runs; returns what could not be written."""
        while pending:
            batch, rest = pending[: self.batch_size], pending[self.batch_size:]
            try:
                runs, steps = traces_rows(batch)
                write_segment(self.folder, self.writer_id, self._seq, runs, steps)
            except Exception:  # logging must never take the server down; keep the batch and retry
                self.write_errors += 1
                log.exception("request log: writing a segment to %s failed; will retry", self.folder)
                return pending
            self._seq += 1
            self.segments += 1
            self.written_runs += len(batch)
            pending = rest
        return pending
