"""The Overview's "Thresholds on live traffic" figures, computed once per change of the run log.

Re-certification and drift read weeks of live runs (about 1.5 s at 1M runs), while the Overview reruns on every
click (a new time window, a link). They depend on the log, not on the page's widgets, so they are kept per store
and config until a run is added or purged, a new audit lands, or LABEL_TTL seconds pass (shadow labels and audit
verdicts arrive without new runs)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from cascade_core.cascade import CascadeConfig
from cascade_core.store import Store, time_bounds
from cascade_core.views import LiveHealth, live_health

LABEL_TTL = 30.0  # seconds


@st.cache_resource(show_spinner=False, ttl=LABEL_TTL, max_entries=16)
def _live_health_for(store_key: str, fingerprint: str, runs: int, newest: datetime | None, audit: str | None,
                     _store: Store, _config: CascadeConfig) -> LiveHealth:
    return live_health(_store, _config)


def cached_live_health(store: Store, config: CascadeConfig, latest_audit: str | None) -> LiveHealth:
    """live_health(store, config), recomputed only when the log (its size, newest run, latest audit) moves."""
    newest = time_bounds(store)[1]
    where = store.lake.describe() if store.lake is not None else str(store.path)
    return _live_health_for(where, config.fingerprint(), store.count_runs(), newest, latest_audit, store, config)
