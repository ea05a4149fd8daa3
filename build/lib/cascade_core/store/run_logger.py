"""Group commit for the run log: callers hand over traces without waiting; a writer thread commits batches.

DuckDB's cost is per transaction (about 3 ms), not per row, so 10,000 runs logged one transaction each take
~30 s while the same runs in batches take ~1 s. RunLogger gives every producer the batched path: `log()`
returns at once, a background thread writes whatever has queued (up to `max_batch` runs) in one transaction,
and `flush()` / `close()` block until everything handed over is committed. Each batch is all-or-nothing.
"""

from __future__ import annotations

import logging
import queue
import threading

from cascade_core.records import Trace
from cascade_core.store.store import Store

log = logging.getLogger(__name__)

_STOP = object()


class RunLogger:
    """Batches traces into `store` from a background thread. Use as a context manager or call close()."""

    def __init__(self, store: Store, *, max_batch: int = 1000) -> None:
        self.store = store
        self.max_batch = max_batch
        self.written = 0
        self.failed: list[tuple[str, str]] = []  # (run_id, error) of batches that could not be written
        self._queue: queue.Queue[object] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="run-logger", daemon=True)
        self._thread.start()

    def log(self, trace: Trace) -> None:
        if not self._thread.is_alive():
            raise RuntimeError("RunLogger is closed: nothing would write this run")
        with self._idle:
            self._pending += 1
        self._queue.put(trace)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every trace handed over so far is committed (or failed). False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take_batch(self, first: object) -> tuple[list[Trace], bool]:
        batch: list[Trace] = []
        stop = first is _STOP
        if not stop:
            batch.append(first)  # type: ignore[arg-type]
        # No artificial delay: whatever queued while the previous batch was committing goes in this one.
        while len(batch) < self.max_batch and not stop:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
            else:
                batch.append(item)  # type: ignore[arg-type]
        return batch, stop

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take_batch(self._queue.get())
            if batch:
                try:
                    self.store.log_traces(batch)
                    self.written += len(batch)
                except Exception as err:  # recorded, never raised into the producer
                    log.error("could not log %d runs: %s", len(batch), err)
                    self.failed.extend((t.run_id, str(err)) for t in batch)
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()
