"""Where the endpoint's shadow labels go: the store's `shadow_labels` table, written off the request path.

`submit` never blocks; a thread writes what queued every `interval` seconds in one transaction, through its own
store handle (a DuckDB file or the DuckLake every server shares). A failed write keeps the rows for the next turn.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from cascade_core.store.routing_tables import insert_shadow_labels
from cascade_core.store.store import Store

log = logging.getLogger(__name__)


class ShadowSink:
    def __init__(self, open_store: Callable[[], Store], name: str = "the store", *, interval: float = 1.0) -> None:
        self._open_store = open_store
        self._store: Store | None = None
        self.name = name
        self.interval = interval
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cascade-shadow-writer", daemon=True)
        self.written = 0
        self.write_errors = 0

    def start(self) -> ShadowSink:
        self._thread.start()
        return self

    def submit(self, label: dict[str, Any]) -> None:
        self._queue.put(label)

    def _drain(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                return rows

    def _flush(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return rows
        try:
            if self._store is None:
                self._store = self._open_store()
            insert_shadow_labels(self._store, rows)
            self._store.release()  # a DuckDB file has one writer: let readers (dashboard, CLI) take their turn
        except Exception:  # never take the server down; keep the rows for the next turn
            self.write_errors += 1
            log.exception("shadow labels: writing to %s failed; will retry", self.name)
            return rows
        self.written += len(rows)
        return []

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        while not self._stop.wait(self.interval):
            pending = self._flush(pending + self._drain())
        self._flush(pending + self._drain())

    def close(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)
        elif self._thread.ident is None:
            self._flush(self._drain())
        if self._store is not None:
            self._store.close()
            self._store = None
