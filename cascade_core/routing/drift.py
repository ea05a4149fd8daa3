"""Drift of live traffic week over week: the share per route, per answering tier and per confidence band, and
an alert when the small tier's confidence distribution shifts (population-stability index, PSI).

PSI = sum over bins of (p_new - p_old) * ln(p_new / p_old); the usual reading: < 0.1 stable, 0.1-0.2 a moderate
shift, >= 0.2 a significant shift (the alert).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cascade_core.store.routing_tables import accepted_steps, newest_labelled_time
from cascade_core.store.store import Store

BAND_EDGES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0000001)
BAND_LABELS: tuple[str, ...] = ("<0.25", "0.25-0.5", "0.5-0.75", "0.75-0.9", ">=0.9")
PSI_ALERT = 0.2
PSI_MODERATE = 0.1
PSI_EDGES = np.linspace(0.0, 1.0000001, 11)
MIN_WEEK_RUNS = 30  # fewer small-tier confidences than this in either week: no PSI (too noisy)
NO_ROUTE = "(no route)"
DRIFT_WEEKS = 8


def psi(old: np.ndarray, new: np.ndarray, edges: np.ndarray = PSI_EDGES, eps: float = 1e-4) -> float:
    """Population-stability index of `new` against `old` over fixed bins (empty bins smoothed by eps)."""
    p_old = np.histogram(np.clip(old, 0, 1), bins=edges)[0].astype(float)
    p_new = np.histogram(np.clip(new, 0, 1), bins=edges)[0].astype(float)
    p_old = np.maximum(p_old / max(p_old.sum(), 1.0), eps)
    p_new = np.maximum(p_new / max(p_new.sum(), 1.0), eps)
    return float(np.sum((p_new - p_old) * np.log(p_new / p_old)))


def route_of(meta: Any) -> str:
    if not isinstance(meta, str) or not meta:
        return NO_ROUTE
    try:
        info = json.loads(meta).get("route")
    except (ValueError, AttributeError):
        return NO_ROUTE
    name = info.get("name") if isinstance(info, dict) else None
    return str(name) if name else NO_ROUTE


def confidence_band(values: pd.Series) -> pd.Series:
    return pd.cut(values, bins=list(BAND_EDGES), labels=list(BAND_LABELS), right=False).astype(object)


@dataclass(frozen=True)
class Drift:
    shares: pd.DataFrame  # week, dimension (route | tier | band), value, runs, share
    weeks: list[datetime]
    psi: float | None  # small tier's confidence: last week against the week before
    psi_weeks: tuple[datetime, datetime] | None
    psi_counts: tuple[int, int] | None

    @property
    def alert(self) -> bool:
        return self.psi is not None and self.psi >= PSI_ALERT


def weekly_drift(runs: pd.DataFrame) -> Drift:
    """Pure: drift over rows as store.routing_tables.accepted_steps returns them."""
    empty = pd.DataFrame(columns=["week", "dimension", "value", "runs", "share"])
    if runs.empty:
        return Drift(empty, [], None, None, None)
    frame = runs.copy()
    frame["week"] = pd.to_datetime(frame["created_at"]).dt.to_period("W-SUN").dt.start_time
    frame["route"] = frame["meta"].map(route_of)
    frame["tier"] = frame["final_tier"].fillna("(no answer)")
    small = frame["first_tier_index"] == 0
    frame["band"] = np.where(small, confidence_band(frame["first_confidence"]), None)
    parts = []
    for dimension in ("route", "tier", "band"):
        counts = frame[frame[dimension].notna()].groupby(["week", dimension]).size().rename("runs").reset_index()
        counts["share"] = counts["runs"] / counts.groupby("week")["runs"].transform("sum")
        parts.append(counts.rename(columns={dimension: "value"}).assign(dimension=dimension))
    shares = pd.concat(parts, ignore_index=True)[["week", "dimension", "value", "runs", "share"]]
    order = {label: i for i, label in enumerate(BAND_LABELS)}  # bands low to high, other values by name
    shares["_order"] = [order.get(v, 0) if d == "band" else 0 for d, v in zip(shares["dimension"], shares["value"],
                                                                                strict=True)]
    weeks = sorted(frame["week"].unique())
    value, pair, counts_pair = None, None, None
    if len(weeks) >= 2:
        conf = frame[small & frame["first_confidence"].notna()]
        old = conf[conf["week"] == weeks[-2]]["first_confidence"].to_numpy(dtype=float)
        new = conf[conf["week"] == weeks[-1]]["first_confidence"].to_numpy(dtype=float)
        counts_pair = (len(old), len(new))
        pair = (pd.Timestamp(weeks[-2]).to_pydatetime(), pd.Timestamp(weeks[-1]).to_pydatetime())
        if min(counts_pair) >= MIN_WEEK_RUNS:
            value = psi(old, new)
    shares = shares.sort_values(["dimension", "week", "_order", "value"]).drop(columns="_order")
    return Drift(shares.reset_index(drop=True),
                 [pd.Timestamp(w).to_pydatetime() for w in weeks], value, pair, counts_pair)


def drift(store: Store, end: datetime | None = None, weeks: int = DRIFT_WEEKS) -> Drift:
    """Drift over the `weeks` weeks of api/query traffic ending at `end` (default: the newest such run)."""
    end = end or newest_labelled_time(store)
    start = end - timedelta(weeks=weeks) if end is not None else None
    return weekly_drift(accepted_steps(store, start, end))
