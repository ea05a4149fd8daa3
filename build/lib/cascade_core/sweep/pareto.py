"""The Pareto front of cost/quality points, and a tabular view of points for plots and exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd

from cascade_core.sweep.frontier import FrontierPoint


def pareto_front(points: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    """Non-dominated points (lower cost, higher accuracy), sorted by cost.

    A point is kept when no other point costs at most as much and is at least as accurate, with one of the two
    strictly better. Ties: at equal cost only the most accurate point survives; among points equal in both cost
    and accuracy the one with the lowest mean latency is kept, then the first in input order. Points with NaN
    accuracy or cost are ignored.
    """
    if not points:
        return []
    cost = np.array([p.cost_per_1k for p in points], dtype=float)
    acc = np.array([p.accuracy for p in points], dtype=float)
    lat = np.array([p.mean_latency_ms for p in points], dtype=float)
    lat = np.where(np.isnan(lat), np.inf, lat)
    pos = np.arange(len(points))
    ok = ~(np.isnan(cost) | np.isnan(acc))
    pos = pos[ok]
    # Sort by cost asc, then accuracy desc, then latency asc, then input order (lexsort: last key is primary).
    order = pos[np.lexsort((pos, lat[pos], -acc[pos], cost[pos]))]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(acc[order])[:-1]))
    keep = acc[order] > best_before  # strictly more accurate than everything at most as costly
    return [points[i] for i in order[keep]]


def points_frame(points: Sequence[FrontierPoint]) -> pd.DataFrame:
    """One row per point: kind, label, thresholds (tuple), accuracy, cost_per_1k, mean_latency_ms, tier_share."""
    cols = ["kind", "label", "thresholds", "accuracy", "cost_per_1k", "mean_latency_ms", "tier_share"]
    return pd.DataFrame([asdict(p) for p in points], columns=cols)
