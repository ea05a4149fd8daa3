"""Where the endpoint's shadow labels go: Parquet files beside its run segments (it never opens the DuckDB file).

`submit` never blocks; a thread writes what queued every `interval` seconds as `shadow-<writer>-<seq>.parquet`
(atomically, like the run segments). Readers (store/routing_tables.shadow_labels) union them with the table.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from cascade_core.store.routing_tables import SHADOW_PREFIX
from cascade_core.store.segments import _write_atomic, rows_to_table

log = logging.getLogger(__name__)

_TS = pa.timestamp("us")
SHADOW_TYPES: dict[str, pa.DataType] = {
    "created_at": _TS, "run_created_at": _TS, "tier_index": pa.int32(), "confidence": pa.float64(),
    "threshold": pa.float64(), "agree": pa.bool_(), "correct": pa.bool_(), "shadow_correct": pa.bool_(),
    "cost": pa.float64(), "tokens_in": pa.int64(), "tokens_out": pa.int64(), "latency_ms": pa.float64(),
    "simulated": pa.bool_(),
}


class ShadowSink:
    def __init__(self, folder: Path, writer_id: str, *, interval: float = 1.0) -> None:
        self.folder = folder
        self.writer_id = writer_id
        self.interval = interval
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cascade-shadow-writer", daemon=True)
        self._seq = 0
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
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(rows_to_table(rows, SHADOW_TYPES), self.folder,
                          f"{SHADOW_PREFIX}{self.writer_id}-{self._seq:08d}.parquet")
        except Exception:  # never take the server down; keep the rows for the next turn
            self.write_errors += 1
            log.exception("shadow labels: writing to %s failed; will retry", self.folder)
            return rows
        self._seq += 1
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
