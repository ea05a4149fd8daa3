"""The endpoint's embedding cache: answered from memory, kept in the store.

A `serve` request must not wait for the store, so lookups are in memory only; the memory is filled at start from
the store's most recent vectors of the configured model (the routes' examples and questions any process embedded
before), and every new vector is written to the store's `embeddings` table by a background thread, batched, through
its own store handle (a DuckDB file is let go after each write so others take turns; a DuckLake is shared).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from cascade_core.routing.embeddings import MemoryCache
from cascade_core.store.background_writer import BackgroundWriter
from cascade_core.store.routing_tables import StoreEmbeddingCache, recent_embeddings
from cascade_core.store.store import Store

log = logging.getLogger(__name__)

Row = tuple[str, str, str, np.ndarray]


def _write_vectors(store: Store, rows: list[Row]) -> None:
    StoreEmbeddingCache(store).put_many(rows)


class StoredEmbeddingCache:
    """An EmbeddingCache: MemoryCache in front, the store's `embeddings` table behind (written every `interval`)."""

    def __init__(self, open_store: Callable[[], Store], model: str, *, name: str = "the store",
                 capacity: int = 50_000, interval: float = 1.0) -> None:
        self.memory = MemoryCache(capacity)
        self.model = model
        self.name = name
        self.writer = BackgroundWriter(open_store, _write_vectors, what="embedding cache", name=name,
                                       interval=interval, thread_name="cascade-embedding-writer")
        self.loaded = 0

    @property
    def written(self) -> int:
        return self.writer.written

    @property
    def write_errors(self) -> int:
        return self.writer.write_errors

    def start(self) -> StoredEmbeddingCache:
        """Warm the memory from the store (a store that cannot be read only means a cold cache), then start writing."""
        try:
            rows = recent_embeddings(self.writer.handle(), self.model, self.memory.capacity)
            self.memory.put_many(rows)
            self.loaded = len(rows)
            self.writer.let_go()
        except Exception as err:
            log.warning("embedding cache: could not read %s (%s); starting cold", self.name, err)
        self.writer.start()
        return self

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return self.memory.get_many(keys)

    def put_many(self, rows: Sequence[Row]) -> None:
        self.memory.put_many(rows)
        for row in rows:
            self.writer.submit(row)

    def close(self) -> None:
        self.writer.close()
