"""Rows written to the store off the request path: queued without blocking, written in one batch every
`interval` seconds by a thread through its own store handle.

The handle is let go after each write (a DuckDB file has one writer: the log writer, the dashboard and the CLI
take their turns; a DuckLake is shared anyway). A failed write keeps the rows for the next turn and never takes
the server down. Used by routing's shadow labels and its stored embedding cache.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, Self, TypeVar

from cascade_core.store.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class BackgroundWriter(Generic[T]):
    def __init__(self, open_store: Callable[[], Store], write: Callable[[Store, list[T]], object], *, what: str,
                 name: str = "the store", interval: float = 1.0, thread_name: str = "cascade-store-writer") -> None:
        self._open_store = open_store
        self._write = write
        self._store: Store | None = None
        self.what = what  # for log lines: "shadow labels", "embedding cache"
        self.name = name
        self.interval = interval
        self._queue: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self.written = 0
        self.write_errors = 0

    def start(self) -> Self:
        self._thread.start()
        return self

    def submit(self, row: T) -> None:
        self._queue.put(row)

    def handle(self) -> Store:
        """The writer's own store handle, opened on first use."""
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def let_go(self) -> None:
        if self._store is not None:
            self._store.release()

    def _drain(self) -> list[T]:
        rows: list[T] = []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                return rows

    def _flush(self, rows: list[T]) -> list[T]:
        if not rows:
            return rows
        try:
            self._write(self.handle(), rows)
            self.let_go()
        except Exception:  # never take the server down; keep the rows for the next turn
            self.write_errors += 1
            log.exception("%s: writing to %s failed; will retry", self.what, self.name)
            return rows
        self.written += len(rows)
        return []

    def _run(self) -> None:
        pending: list[T] = []
        while not self._stop.wait(self.interval):
            pending = self._flush(pending + self._drain())
        self._flush(pending + self._drain())

    def close(self) -> None:
        """Write what is queued (on the thread, or here when it never started) and close the handle."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)
        elif self._thread.ident is None:
            self._flush(self._drain())
        if self._store is not None:
            self._store.close()
            self._store = None
