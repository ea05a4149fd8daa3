"""The Overview's "Thresholds on live traffic" figures, kept between reruns and computed off the page's path on
a big log.

Re-certification and drift read weeks of live runs (about 1.5 s at 1M runs), while the Overview reruns on every
click (a new time window, a link). They depend on the log, not on the page's widgets, so one copy per store and
config is kept and shared by every session. It is computed again when the log has moved (a run added or purged,
a new audit), or in any case after MAX_AGE_S (shadow labels and audit verdicts arrive without new runs). Under
steady traffic the log moves all the time, so a copy that was costly to compute is kept for COST_FACTOR times
its cost, REFRESH_S at most.

On a log of SYNC_RUNS runs or more the page never waits for them (its load stays under a second at 1M runs): a
background thread computes them while the page shows the copy it has, marked as being refreshed, or, the first
time, a placeholder that looks again every POLL_S. On a smaller log they take well under a second and the page
computes them in place, so they are always current there."""

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
SYNC_RUNS = 100_000  # below this the page computes the figures itself (about 0.15 s at 100,000 runs)
POLL_S = 1.0  # how often a placeholder looks for the first figures


@dataclass(frozen=True)
class LiveFigures:
    value: LiveHealth | None  # None: the first computation is still running
    computed_utc: datetime | None
    refreshing: bool  # a newer copy is being computed in the background
    error: str | None = None  # the last background computation failed (the kept copy, if any, is shown)


@dataclass
class _Kept:
    version: tuple[int, datetime | None, str | None] | None = None
    value: LiveHealth | None = None
    computed_at: float = 0.0  # time.monotonic()
    cost: float = 0.0  # seconds the last computation took
    computed_utc: datetime | None = None
    error: str | None = None
    worker: threading.Thread | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)  # the in-place computation re-enters it

    def figures(self) -> LiveFigures:
        return LiveFigures(self.value, self.computed_utc, self.worker is not None, self.error)


@st.cache_resource(show_spinner=False)
def _kept_for(where: str, fingerprint: str) -> _Kept:
    return _Kept()


def _kept(store: Store, config: CascadeConfig) -> _Kept:
    where = store.lake.describe() if store.lake is not None else str(store.path)
    return _kept_for(where, config.fingerprint())


def _compute(kept: _Kept, store: Store, config: CascadeConfig, version: tuple[int, datetime | None, str | None],
             *, in_thread: bool) -> None:
    started = time.monotonic()
    try:
        value = live_health(store, config)
    except Exception as err:  # in the background nobody else would see it: the page shows it
        if not in_thread:
            raise
        with kept.lock:
            kept.error, kept.worker = f"{type(err).__name__}: {err}", None
        return
    with kept.lock:
        kept.value, kept.version, kept.error = value, version, None
        kept.computed_at, kept.computed_utc = time.monotonic(), utc_now()
        kept.cost = kept.computed_at - started
        if in_thread:
            kept.worker = None


def cached_live_health(store: Store, config: CascadeConfig, latest_audit: str | None) -> LiveFigures:
    """The kept figures, computed again as the module doc says: in place on a small log, else in the background."""
    kept = _kept(store, config)
    runs = store.count_runs()
    version = (runs, time_bounds(store)[1], latest_audit)
    background = runs >= SYNC_RUNS
    with kept.lock:
        age = time.monotonic() - kept.computed_at
        keep_for = min(REFRESH_S, COST_FACTOR * kept.cost)
        stale = kept.value is None or age >= MAX_AGE_S or (version != kept.version and age >= keep_for)
        if not stale or kept.worker is not None:
            return kept.figures()
        if background:
            kept.worker = threading.Thread(target=_compute, args=(kept, store, config, version),
                                           kwargs={"in_thread": True}, name="live-health", daemon=True)
            kept.worker.start()
            return kept.figures()
        _compute(kept, store, config, version, in_thread=False)  # one session computes; the others wait
        return kept.figures()


def peek_live_health(store: Store, config: CascadeConfig) -> LiveFigures:
    """The kept figures as they are (for the placeholder's poll): never starts a computation."""
    kept = _kept(store, config)
    with kept.lock:
        return kept.figures()


def forget_live_health() -> None:
    """Drop the kept figures (benchmarks time the first visit after the log moved)."""
    _kept_for.clear()
