"""Metrics read from the store rather than counted by the endpoint: the latest audit's overconfidence rate."""

from __future__ import annotations

from cascade_core.serve.counters import Metrics
from cascade_core.store.store import Store, StoreLocation

AUDIT_READ_EVERY = 60.0  # seconds: audits finish rarely; each read opens the store briefly


def read_overconfidence_rate(location: StoreLocation) -> float | None:
    """The most recent finished audit's overconfidence rate (None: no audit yet). Opens the store briefly,
    waiting at most a second for a DuckDB file another process holds."""
    from cascade_core.audit.service import latest_overconfidence_rate

    with Store(location, lock_wait=1.0) as store:
        return latest_overconfidence_rate(store)


def add_store_readers(metrics: Metrics, location: StoreLocation, *, every: float = AUDIT_READ_EVERY) -> None:
    metrics.add_reader("cascade_audit_overconfidence_rate",
                       "flagged / audited in the latest finished audit (NaN before the first audit)",
                       lambda: read_overconfidence_rate(location), every=every, mode="livemax")
