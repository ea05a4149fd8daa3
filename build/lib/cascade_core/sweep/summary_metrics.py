"""Summary metrics peers use for cost/quality curves: APGR and CPT (RouteLLM), AIQ (RouterBench).

Notation: S = always-small (first tier), L = always-large (last tier), q = accuracy, c = cost per item.
Normalised cost x = (c - c_S) / (c_L - c_S), so S sits at x = 0 and L at x = 1 (RouteLLM's "share of calls
to the strong model" is exactly this x for a two-model router with fixed per-call costs).

The quality curve q(x) used by APGR and CPT is the Pareto front of the given points together with S and L,
restricted to 0 <= x <= 1, joined by straight lines (what mixing two settings at random achieves, and what
RouteLLM's trapezoid rule assumes), and held flat after its last (most accurate) point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.pareto import pareto_front


@dataclass(frozen=True)
class CostAtGap:
    """Cost needed to recover `share` of the S-to-L quality gap (CPT); NaN when the curve never gets there."""

    share: float
    normalised: float  # x in [0, 1] between always-small and always-large cost
    cost_per_1k: float
    pct_of_large: float  # cost as % of always-large cost


@dataclass(frozen=True)
class SummaryMetrics:
    apgr: float
    cpt50: CostAtGap
    cpt80: CostAtGap
    aiq: float


def _curve(
    points: Sequence[FrontierPoint], small: FrontierPoint, large: FrontierPoint
) -> tuple[np.ndarray, np.ndarray]:
    """Knots (x, q) of the quality curve: Pareto front of points + S + L with 0 <= x <= 1, sorted by x."""
    span = large.mean_cost - small.mean_cost
    if not span > 0:
        raise ValueError("always-large must cost more than always-small to normalise cost")
    front = pareto_front([*points, small, large])
    x = np.array([(p.mean_cost - small.mean_cost) / span for p in front])
    q = np.array([p.accuracy for p in front])
    keep = (x >= -1e-12) & (x <= 1 + 1e-12)
    return np.clip(x[keep], 0.0, 1.0), q[keep]


def apgr(points: Sequence[FrontierPoint], small: FrontierPoint, large: FrontierPoint) -> float:
    """Average performance gap recovered: APGR = integral over x in [0, 1] of (q(x) - q_S) / (q_L - q_S) dx.

    This equals RouteLLM's (AUC - AUC_weak) / (AUC_strong - AUC_weak) with AUC the trapezoid area under
    accuracy against the strong-call share. 0 = no better than always-small, 1 = as good as always-large at every
    budget (above 1 when the cascade beats always-large). NaN when q_L == q_S.
    """
    gap = large.accuracy - small.accuracy
    if gap == 0 or np.isnan(gap):
        return float("nan")
    x, q = _curve(points, small, large)
    x, q = np.append(x, 1.0), np.append(q, q[-1])  # hold flat to x = 1
    area = float(np.sum((x[1:] - x[:-1]) * (q[1:] + q[:-1]) / 2.0))  # x starts at 0 (S is on the front)
    return (area - small.accuracy) / gap


def cost_to_recover(
    points: Sequence[FrontierPoint], small: FrontierPoint, large: FrontierPoint, share: float
) -> CostAtGap:
    """CPT(share): the least cost at which q(x) >= q_S + share * (q_L - q_S), by linear interpolation on the curve.

    Reported as normalised x (RouteLLM's % strong calls / 100), cost per 1,000 items = 1000 * (c_S + x (c_L -
    c_S)), and % of always-large cost. NaN when the gap is not positive or the curve never reaches the level.
    """
    nan = CostAtGap(share, float("nan"), float("nan"), float("nan"))
    gap = large.accuracy - small.accuracy
    if not gap > 0:
        return nan
    x, q = _curve(points, small, large)
    level = small.accuracy + share * gap
    reached = np.flatnonzero(q >= level - 1e-12)
    if not len(reached):
        return nan
    i = reached[0]
    xi = x[i] if i == 0 else x[i - 1] + (x[i] - x[i - 1]) * (level - q[i - 1]) / (q[i] - q[i - 1])
    cost = small.mean_cost + xi * (large.mean_cost - small.mean_cost)
    return CostAtGap(share, float(xi), float(cost * 1000), float(cost / large.mean_cost * 100))


def non_decreasing_hull(cost: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the non-decreasing convex hull (RouterBench): upper concave hull, cut at its highest point.

    Only Pareto-optimal points can be vertices of the rising part, so the hull is built on the front.
    """
    order = np.lexsort((-quality, cost))
    c, q = cost[order], quality[order]
    keep = q > np.concatenate(([-np.inf], np.maximum.accumulate(q)[:-1]))  # Pareto front, rising
    hull: list[tuple[float, float]] = []
    for p in zip(c[keep], q[keep], strict=True):
        while len(hull) >= 2:
            (x0, y0), (x1, y1) = hull[-2], hull[-1]
            if (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0) >= 0:  # hull[-1] lies on or below the chord
                hull.pop()
            else:
                break
        hull.append((float(p[0]), float(p[1])))
    arr = np.array(hull).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def aiq(points: Sequence[FrontierPoint], cost_range: tuple[float, float] | None = None) -> float:
    """Area under the non-decreasing convex hull of (cost, accuracy), cost normalised to [0, 1] (RouterBench AIQ).

    AIQ = 1 / (c_max - c_min) * integral from c_min to c_max of R(c) dc, where R is the hull (straight lines
    between vertices), held flat right of its highest vertex and 0 left of its cheapest one. By default c_min
    and c_max are the least and greatest cost among `points`; pass `cost_range` to compare sweeps on one range.
    """
    pts = [p for p in points if np.isfinite(p.accuracy) and np.isfinite(p.cost_per_1k)]
    if not pts:
        return float("nan")
    cost = np.array([p.mean_cost for p in pts])
    c_min, c_max = cost_range if cost_range else (cost.min(), cost.max())
    hx, hq = non_decreasing_hull(cost, np.array([p.accuracy for p in pts]))
    if not c_max > c_min:
        return float(hq[-1])
    x = (hx - c_min) / (c_max - c_min)
    lo = max(float(x[0]), 0.0)  # R is 0 left of the cheapest vertex
    if lo >= 1.0:
        return 0.0
    grid = np.unique(np.concatenate(([lo, 1.0], x[(x > lo) & (x < 1.0)])))
    r = np.interp(grid, x, hq)  # straight lines between vertices, flat right of the last
    return float(np.sum((grid[1:] - grid[:-1]) * (r[1:] + r[:-1]) / 2.0))


def summary_metrics(points: Sequence[FrontierPoint], small: FrontierPoint, large: FrontierPoint) -> SummaryMetrics:
    """APGR, CPT(50%), CPT(80%) and AIQ of the cascade points; AIQ over the points plus S and L."""
    return SummaryMetrics(
        apgr=apgr(points, small, large),
        cpt50=cost_to_recover(points, small, large, 0.5),
        cpt80=cost_to_recover(points, small, large, 0.8),
        aiq=aiq([*points, small, large]),
    )
