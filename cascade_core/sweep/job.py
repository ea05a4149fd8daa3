"""A live collection running in a background thread, for the dashboard: start, poll, stop. No streamlit here.

The page keeps the job in its session state, polls `progress` on a timer, and calls `request_stop()` from its
Stop button; the collection checks the stop event before every call, so in-flight calls finish and are cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from cascade_core.cascade.config import CascadeConfig
from cascade_core.datasets.loader import Dataset
from cascade_core.security.redact import redact_exception
from cascade_core.store.store import Store
from cascade_core.sweep.collect import CollectProgress, CollectResult, collect


@dataclass
class SweepJob:
    dataset: Dataset
    config: CascadeConfig
    base_urls: Sequence[str]
    store: Store
    concurrency: int = 16
    limit: int | None = None
    name: str = ""  # what the sweep is saved as
    stop: threading.Event = field(default_factory=threading.Event)
    progress: CollectProgress | None = None
    result: CollectResult | None = None
    error: str | None = None
    _thread: threading.Thread | None = None

    def start(self) -> SweepJob:
        self._thread = threading.Thread(target=self._run, name="sweep-collect", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.result = collect(self.dataset, self.config, self.base_urls, self.store,
                                  concurrency=self.concurrency, limit=self.limit, progress=self._update,
                                  stop=self.stop)
        except Exception as err:  # shown on the page; the cache keeps every answer written so far
            self.error = redact_exception(err)

    def _update(self, progress: CollectProgress) -> None:
        self.progress = progress

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def request_stop(self) -> None:
        self.stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done
