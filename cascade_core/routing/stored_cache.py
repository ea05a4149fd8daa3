"""The endpoint's embedding cache: answered from memory, kept in the store.

A `serve` request must not wait for the store, so lookups are in memory only; the memory is filled at start from
the store's most recent vectors of the configured model (the routes' examples and questions any process embedded
before), and every new vector is written to the store's `embeddings` table by a background thread, batched, through
its own store handle (a DuckDB file is let go after each write so others take turns; a DuckLake is shared).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

import numpy as np

from cascade_core.routing.embeddings import MemoryCache
from cascade_core.store.routing_tables import StoreEmbeddingCache, recent_embeddings
from cascade_core.store.store import Store

log = logging.getLogger(__name__)

Row = tuple[str, str, str, np.ndarray]


class StoredEmbeddingCache:
    """An EmbeddingCache: MemoryCache in front, the store's `embeddings` table behind (written every `interval`)."""

    def __init__(self, open_store: Callable[[], Store], model: str, *, name: str = "the store",
                 capacity: int = 50_000, interval: float = 1.0) -> None:
        self.memory = MemoryCache(capacity)
        self.model = model
        self.name = name
        self.interval = interval
        self._open_store = open_store
        self._store: Store | None = None
        self._queue: queue.SimpleQueue[Row] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cascade-embedding-writer", daemon=True)
        self.loaded = 0
        self.written = 0
        self.write_errors = 0

    def start(self) -> StoredEmbeddingCache:
        """Warm the memory from the store (a store that cannot be read only means a cold cache), then start writing."""
        try:
            rows = recent_embeddings(self._handle(), self.model, self.memory.capacity)
            self.memory.put_many(rows)
            self.loaded = len(rows)
            self._let_go()
        except Exception as err:
            log.warning("embedding cache: could not read %s (%s); starting cold", self.name, err)
        self._thread.start()
        return self

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return self.memory.get_many(keys)

    def put_many(self, rows: Sequence[Row]) -> None:
        self.memory.put_many(rows)
        for row in rows:
            self._queue.put(row)

    def _handle(self) -> Store:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def _let_go(self) -> None:
        if self._store is not None:
            self._store.release()  # a DuckDB file has one writer: let the log writer and readers take turns

    def _drain(self) -> list[Row]:
        rows: list[Row] = []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                return rows

    def _flush(self, rows: list[Row]) -> list[Row]:
        if not rows:
            return rows
        try:
            StoreEmbeddingCache(self._handle()).put_many(rows)
            self._let_go()
        except Exception:  # never take the server down; keep the rows for the next turn
            self.write_errors += 1
            log.exception("embedding cache: writing to %s failed; will retry", self.name)
            return rows
        self.written += len(rows)
        return []

    def _run(self) -> None:
        pending: list[Row] = []
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
