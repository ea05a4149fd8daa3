"""Where the endpoint's shadow labels go: the store's `shadow_labels` table, written off the request path.

`submit` never blocks; a thread writes what queued every `interval` seconds in one transaction, through its own
store handle (a DuckDB file or the DuckLake every server shares). A failed write keeps the rows for the next turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cascade_core.store.background_writer import BackgroundWriter
from cascade_core.store.routing_tables import insert_shadow_labels
from cascade_core.store.store import Store


class ShadowSink(BackgroundWriter[dict[str, Any]]):
    def __init__(self, open_store: Callable[[], Store], name: str = "the store", *, interval: float = 1.0) -> None:
        super().__init__(open_store, insert_shadow_labels, what="shadow labels", name=name, interval=interval,
                         thread_name="cascade-shadow-writer")

