"""Sweep a semantic route's similarity threshold over an outcome table: what routing before the cascade buys.

Questions whose similarity to the route's examples reaches the route threshold start at the route's tier (and,
when `escalate`, walk the cascade from there; else that tier answers alone); the others walk the cascade from
the first tier. Every walk is replayed from the table (no model calls), so a sweep over route thresholds is
as cheap as the threshold sweep, and its points sit on the same cost/accuracy plane.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cascade_core.sweep.outcomes import OutcomeMatrix


def walk_from(matrix: OutcomeMatrix, start: int, thresholds: Sequence[float], *,
              escalate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(answering tier, cost) per item for the cascade started at tier `start` (missing confidence escalates)."""
    n, last = matrix.n_items, matrix.n_tiers - 1
    tier = np.full(n, last if escalate else start)
    cost = np.zeros(n)
    open_ = np.ones(n, dtype=bool)
    for k in range(start, last + 1):
        cost[open_] += matrix.cost[open_, k]
        if k == last or not escalate:
            tier[open_] = k
            break
        with np.errstate(invalid="ignore"):
            accept = open_ & (matrix.confidence[:, k] >= thresholds[k])
        tier[accept] = k
        open_ &= ~accept
    return tier, cost


def route_threshold_points(matrix: OutcomeMatrix, similarity: np.ndarray, start: int, thresholds: Sequence[float],
                           route_thresholds: Sequence[float], *, escalate: bool = True) -> pd.DataFrame:
    """One point per route threshold: share routed, cost per 1k items, accuracy (over graded answers)."""
    base_tier, base_cost = walk_from(matrix, 0, thresholds)
    route_tier, route_cost = walk_from(matrix, start, thresholds, escalate=escalate)
    rows = []
    index = np.arange(matrix.n_items)
    for t in route_thresholds:
        routed = similarity >= t
        tier = np.where(routed, route_tier, base_tier)
        cost = np.where(routed, route_cost, base_cost)
        correct = matrix.correct[index, tier]
        graded = ~np.isnan(correct)
        rows.append({"route_threshold": float(t), "routed_share": float(routed.mean()),
                     "cost_per_1k": float(cost.mean() * 1000),
                     "accuracy": float((correct[graded] > 0.5).mean()) if graded.any() else float("nan")})
    return pd.DataFrame(rows)
