"""The Overview's "Thresholds on live traffic" figures, kept between reruns.

Re-certification and drift read weeks of live runs (about 1.5 s at 1M runs), while the Overview reruns on every
click (a new time window, a link). They depend on the log, not on the page's widgets, so one copy per store and
config is kept and shared by every session. It is computed again when the log has moved (a run added or purged,
a new audit), or in any case after MAX_AGE_S (shadow labels and audit verdicts arrive without new runs). Under
steady traffic the log moves all the time, so a copy that was costly to compute is kept for COST_FACTOR times
its cost, REFRESH_S at most: on a small log the figures are always current, on a big busy one they are at most
REFRESH_S old and at most one render in REFRESH_S pays for them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from cascade_core.cascade import CascadeConfig
from cascade_core.clock import utc_now
from cascade_core.store import Store, time_bounds
from cascade_core.views import LiveHealth, live_health

REFRESH_S = 30.0
MAX_AGE_S = 300.0
COST_FACTOR = 20.0  # keep a copy for 20x what it cost (1.5 s at 1M runs: 30 s; 20 ms on a small log: 0.4 s)


@dataclass
class _Kept:
    version: tuple[int, datetime | None, str | None] | None = None
    value: LiveHealth | None = None
    computed_at: float = 0.0  # time.monotonic()
    cost: float = 0.0  # seconds the last computation took
    computed_utc: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@st.cache_resource(show_spinner=False)
def _kept_for(where: str, fingerprint: str) -> _Kept:
    return _Kept()


def cached_live_health(store: Store, config: CascadeConfig, latest_audit: str | None) -> tuple[LiveHealth, datetime]:
    """live_health(store, config) and when it was computed (UTC), recomputed only as the module doc says."""
    where = store.lake.describe() if store.lake is not None else str(store.path)
    kept = _kept_for(where, config.fingerprint())
    version = (store.count_runs(), time_bounds(store)[1], latest_audit)
    with kept.lock:  # one session computes; the others wait for its result
        age = time.monotonic() - kept.computed_at
        keep_for = min(REFRESH_S, COST_FACTOR * kept.cost)
        stale = kept.value is None or age >= MAX_AGE_S or (version != kept.version and age >= keep_for)
        if stale:
            started = time.monotonic()
            kept.value, kept.version = live_health(store, config), version
            kept.computed_at, kept.computed_utc = time.monotonic(), utc_now()
            kept.cost = kept.computed_at - started
        assert kept.value is not None and kept.computed_utc is not None
        return kept.value, kept.computed_utc


def forget_live_health() -> None:
    """Drop the kept figures (benchmarks time the first visit after the log moved)."""
    _kept_for.clear()
