"""Retention: runs older than `[privacy] retention_days` are purged (with every row that points at them) by a
background thread in the dashboard and in `serve`, every `purge_interval_hours`, and on demand by `purge`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cascade_core.clock import utc_now
from cascade_core.store.connection import StoreError
from cascade_core.store.location import store_location
from cascade_core.store.purging import PurgeCriteria, PurgeReport, purge
from cascade_core.store.store import Store

if TYPE_CHECKING:  # the store package does not import the cascade (and the openai SDK) at import time
    from cascade_core.cascade.config import CascadeConfig


def retention_cutoff(config: CascadeConfig, now: datetime | None = None) -> datetime | None:
    """Rows created before this (naive UTC) are past retention; None when retention is off."""
    days = config.privacy.retention_days
    return None if days is None else (now or utc_now()) - timedelta(days=days)


def purge_expired(store: Store, config: CascadeConfig, *, now: datetime | None = None) -> PurgeReport | None:
    """Purge everything past the configured retention (None when retention is off)."""
    cutoff = retention_cutoff(config, now)
    return None if cutoff is None else purge(store, PurgeCriteria(older_than=cutoff))


StoreSource = Callable[[], AbstractContextManager[Store]]


class RetentionScheduler:
    """Runs `purge_expired` now and then every `purge_interval_hours` on a daemon thread until `stop()`.

    `open_store` gives the store for one purge: the dashboard passes its shared Store; `serve`, which keeps no
    store open, opens the file for the purge and lets it go. A store held by another process is tried again
    at the next tick; every purge that removed something is reported on stderr."""

    def __init__(self, config: CascadeConfig, open_store: StoreSource) -> None:
        self.config = config
        self.open_store = open_store
        self.interval_s = config.privacy.purge_interval_hours * 3600
        self.last: PurgeReport | None = None
        self.last_error: str | None = None
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_store(cls, config: CascadeConfig, store: Store) -> RetentionScheduler:
        return cls(config, lambda: nullcontext(store))

    @classmethod
    def for_path(cls, config: CascadeConfig, *, lock_wait: float = 10.0) -> RetentionScheduler:
        location = store_location(config)
        return cls(config, lambda: Store(location, lock_wait=lock_wait))

    def run_once(self) -> PurgeReport | None:
        try:
            with self.open_store() as store:
                report = purge_expired(store, self.config)
        except StoreError as err:  # held by another process, or broken: say so and try at the next tick
            self.last_error = str(err)
            sys.stderr.write(f"retention: purge skipped: {err}\n")
            return None
        self.runs += 1
        self.last, self.last_error = report, None
        if report is not None and report.total:
            sys.stderr.write(f"retention: {report.describe()}\n")
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)

    def start(self) -> RetentionScheduler:
        """Start the thread (a no-op when retention is off or it already runs)."""
        if self.config.privacy.retention_days is None or self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._loop, name="retention-purge", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
