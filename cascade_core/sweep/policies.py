"""Policies beyond accept/escalate: skip-ahead and abstain, evaluated exactly and per item.

Skip-ahead: a non-final tier k has two thresholds, accept at or above `accept[k]`, go straight to the last tier
below `skip[k]`, ask the next tier in between (a NaN confidence never skips: it escalates as usual). Abstain: when
the last tier's confidence is below `abstain`, the cascade answers "I don't know"; an abstention is paid like the
answer it replaces, counted apart and never correct.

Sweeping reuses `frontier.evaluate`: skipping from tier k means the tiers between k and the last are neither
paid nor able to accept, which is the same cascade over a matrix whose skipped cells cost nothing and carry no
confidence. Abstaining means the last tier's answer counts as not correct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cascade_core.sweep.frontier import FrontierPoint, PointKind, evaluate
from cascade_core.sweep.outcomes import OutcomeMatrix


@dataclass(frozen=True)
class Routed:
    """Where each item ends under one policy: answering tier (n,), abstained (n,) and cost / latency paid (n,)."""

    tier: np.ndarray
    abstained: np.ndarray
    cost: np.ndarray
    latency: np.ndarray

    def correct(self, matrix: OutcomeMatrix) -> np.ndarray:
        """1.0 / 0.0 / NaN per item; an abstention is 0.0 (never correct)."""
        got: np.ndarray = matrix.correct[np.arange(matrix.n_items), self.tier].copy()
        got[self.abstained] = 0.0
        return got


def route(matrix: OutcomeMatrix, accept: Sequence[float], skip: Sequence[float] = (),
          abstain: float | None = None, start: int = 0) -> Routed:
    """The walk of every item under one policy, as a live cascade would do it (from tier `start`)."""
    n, t = matrix.n_items, matrix.n_tiers
    if len(accept) != t - 1:
        raise ValueError(f"expected {t - 1} accept thresholds for {t} tiers, got {len(accept)}")
    tier = np.full(n, t - 1)
    active = np.ones(n, dtype=bool)
    jumped = np.zeros(n, dtype=bool)
    cost, latency = np.zeros(n), np.zeros(n)
    for k in range(start, t - 1):
        cost[active] += matrix.cost[active, k]
        latency[active] += matrix.latency[active, k]
        conf = matrix.confidence[:, k]
        took = active & (conf >= accept[k])  # NaN compares False: escalates
        tier[took] = k
        active &= ~took
        if k < len(skip) and k < t - 2 and skip[k] > 0:
            jump = active & (conf < skip[k])
            jumped |= jump
            active &= ~jump
    last = active | jumped
    cost[last] += matrix.cost[last, -1]
    latency[last] += matrix.latency[last, -1]
    abstained = np.zeros(n, dtype=bool)
    if abstain is not None:
        abstained = last & (matrix.confidence[:, -1] < abstain)
    return Routed(tier, abstained, cost, latency)


def skipped_matrix(matrix: OutcomeMatrix, skip: Sequence[float], start: int = 0) -> OutcomeMatrix:
    """The matrix a plain cascade walks the same way as skip-ahead with `skip` (and tier choice `start`):
    skipped cells, and the tiers before `start`, are free and unsure."""
    conf, cost, lat = matrix.confidence.copy(), matrix.cost.copy(), matrix.latency.copy()
    t = matrix.n_tiers
    conf[:, :start], cost[:, :start], lat[:, :start] = np.nan, 0.0, 0.0
    for k, s in enumerate(skip[: max(t - 2, 0)]):
        if s <= 0:
            continue
        cells = np.ix_(np.flatnonzero(matrix.confidence[:, k] < s), np.arange(k + 1, t - 1))
        conf[cells] = np.nan
        cost[cells] = 0.0
        lat[cells] = 0.0
    return replace(matrix, confidence=conf, cost=cost, latency=lat)


def _to_points(res: dict[str, np.ndarray], accept: np.ndarray, kind: PointKind, skip: tuple[float, ...] = (),
               abstain: float | None = None, abstain_share: np.ndarray | None = None,
               start: int = 0) -> list[FrontierPoint]:
    return [
        FrontierPoint(
            thresholds=tuple(float(x) for x in accept[i]), accuracy=float(res["accuracy"][i]),
            cost_per_1k=float(res["cost_per_1k"][i]), mean_latency_ms=float(res["mean_latency_ms"][i]),
            tier_share=tuple(float(x) for x in res["tier_share"][i]), kind=kind, n_graded=int(res["n_graded"][i]),
            skip=skip, abstain=abstain, start=start,
            abstain_share=0.0 if abstain_share is None else float(abstain_share[i]),
        )
        for i in range(len(accept))
    ]


def setting_points(matrix: OutcomeMatrix, accept: np.ndarray, kind: PointKind,
                   skip: np.ndarray | None = None, start: int = 0) -> list[FrontierPoint]:
    """Points of many settings at once; rows of `skip` (m, t-1) group the settings into plain cascades.

    `start` > 0 is a tier choice: the tiers before it are not called (their thresholds are ignored)."""
    if not len(accept):
        return []
    if start:
        return _to_points(evaluate(skipped_matrix(matrix, (), start), accept), accept, kind, start=start)
    if skip is None or not len(skip):
        return _to_points(evaluate(matrix, accept), accept, kind)
    points: list[FrontierPoint | None] = [None] * len(accept)
    groups, inverse = np.unique(skip, axis=0, return_inverse=True)
    for g, vector in enumerate(groups):
        rows = np.flatnonzero(inverse.ravel() == g)
        s = tuple(float(x) for x in vector)
        for row, point in zip(rows, _to_points(evaluate(skipped_matrix(matrix, s), accept[rows]), accept[rows],
                                               kind, skip=s), strict=True):
            points[row] = point
    return [p for p in points if p is not None]


def abstain_points(matrix: OutcomeMatrix, base: FrontierPoint, finals: np.ndarray) -> list[FrontierPoint]:
    """The `base` setting with each final threshold in `finals`: accuracy counts abstentions as not correct."""
    out = []
    for f in finals:
        r = route(matrix, base.thresholds, base.skip, float(f), base.start)
        got = r.correct(matrix)
        graded = ~np.isnan(got)
        lat_ok = ~np.isnan(r.latency)
        out.append(FrontierPoint(
            thresholds=base.thresholds, skip=base.skip, abstain=float(f), kind="abstain", start=base.start,
            accuracy=float((got[graded] == 1).sum() / graded.sum()) if graded.any() else float("nan"),
            cost_per_1k=float(r.cost.mean() * 1000), n_graded=int(graded.sum()),
            mean_latency_ms=float(r.latency[lat_ok].mean()) if lat_ok.any() else float("nan"),
            tier_share=tuple(float(x) for x in np.bincount(r.tier, minlength=matrix.n_tiers) / matrix.n_items),
            abstain_share=float(r.abstained.mean()),
        ))
    return out


def policy_family(point: FrontierPoint | None) -> str:
    """'always_large' | 'shared' | 'per_tier' | 'skip' | 'tier_choice' | 'abstain': what kind of setting it is."""
    if point is None:
        return "always_large"
    if point.start:
        return "tier_choice"
    if point.abstain is not None:
        return "abstain"
    if any(s > 0 for s in point.skip):
        return "skip"
    return point.kind
