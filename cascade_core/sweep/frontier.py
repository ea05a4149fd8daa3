"""Cascade outcomes over many threshold settings at once, the Pareto front and the reference points.

Cascade semantics (the same as a live run): tiers in escalation order; at tier k < last the answer is accepted
when confidence >= threshold_k, else the cascade escalates; a NaN confidence always escalates; the last tier
always answers. An item's cost (and latency) under a setting is the sum over every tier invoked: all tiers up to
and including the answering tier. Accuracy counts graded answers only: an answer whose correctness is missing
(NaN) is left out of both numerator and denominator.

`evaluate` never loops over settings or items in Python. Each item's fate depends only on, for every non-final
tier, how many of the distinct thresholds its confidence clears (its "rank"). Items are binned by rank vector,
and prefix sums over that small grid give every setting's totals in one indexing step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cascade_core.sweep.outcomes import OutcomeMatrix

PointKind = Literal["shared", "per_tier", "skip", "tier_choice", "abstain", "always", "oracle"]


@dataclass(frozen=True)
class FrontierPoint:
    """One operating point on the cost/quality plane.

    `thresholds` has one value per non-final tier (empty for reference points); `tier_share` one per tier.
    `accuracy` is over the `n_graded` answers whose correctness is known: with ungraded answers, two points may
    be measured on different sets of items.
    """

    thresholds: tuple[float, ...]
    accuracy: float
    cost_per_1k: float  # USD per 1,000 items
    mean_latency_ms: float
    tier_share: tuple[float, ...]
    kind: PointKind
    label: str = ""
    n_graded: int | None = None  # answers whose correctness is known: the accuracy's denominator
    skip: tuple[float, ...] = ()  # skip-ahead: per non-final tier, below this confidence go straight to the last tier
    abstain: float | None = None  # abstain ("I don't know") when the last tier's confidence is below this
    abstain_share: float = 0.0  # share of questions abstained on (never correct)
    start: int = 0  # tier choice: the first tier called (the cheaper ones are left out, unpaid)

    @property
    def mean_cost(self) -> float:
        return self.cost_per_1k / 1000.0


def threshold_grid(steps: int = 101) -> np.ndarray:
    """Evenly spaced thresholds 0, ..., 1 (101 steps = every 0.01).

    k / (steps - 1) rather than linspace: linspace gives 0.7000000000000001 for "0.70", which a confidence of
    exactly 0.70 then fails, so the point shown as 0.70 would not be what a cascade set to 0.70 does."""
    return np.arange(steps) / (steps - 1)


def _check_thresholds(matrix: OutcomeMatrix, thresholds: np.ndarray) -> np.ndarray:
    thr = np.asarray(thresholds, dtype=float)
    d = matrix.n_tiers - 1
    if thr.ndim == 1:
        thr = thr.reshape(1, -1)  # one setting
    if thr.ndim != 2 or thr.shape[1] != d:
        raise ValueError(f"thresholds must have shape (m, {d}) for {matrix.n_tiers} tiers, got {thr.shape}")
    if np.isnan(thr).any():
        raise ValueError("thresholds must not be NaN")
    return thr


def _tier_values(matrix: OutcomeMatrix) -> dict[str, np.ndarray]:
    """Per item and answering tier: the quantities summed over items (n x t each)."""
    lat = matrix.latency
    known = np.cumprod(~np.isnan(lat), axis=1).astype(float)  # latency of every invoked tier is known
    return {
        "correct": (matrix.correct == 1).astype(float),
        "graded": (~np.isnan(matrix.correct)).astype(float),
        "cost": np.cumsum(matrix.cost, axis=1),  # every tier invoked is paid
        "latency": np.cumsum(np.nan_to_num(lat), axis=1) * known,
        "lat_known": known,
        "count": np.ones_like(matrix.cost),
    }


def _prefix(hist: np.ndarray) -> np.ndarray:
    for axis in range(hist.ndim):
        hist = np.cumsum(hist, axis=axis)
    return hist


def _evaluate_chunk(matrix: OutcomeMatrix, values: dict[str, np.ndarray], thr: np.ndarray) -> dict[str, np.ndarray]:
    """Totals per setting (c settings) of every value over the items answered at each tier: name -> (c, t)."""
    c, d = thr.shape
    conf = matrix.confidence
    ranks, jidx, sizes = [], [], []
    for k in range(d):
        uniq = np.unique(thr[:, k])
        r = np.searchsorted(uniq, conf[:, k], side="right")  # thresholds cleared (conf >= thr)
        r[np.isnan(conf[:, k])] = 0  # NaN never clears a threshold
        ranks.append(r)
        jidx.append(np.searchsorted(uniq, thr[:, k]))  # a setting accepts at k iff its j_k < rank
        sizes.append(len(uniq) + 1)
    out = {name: np.empty((c, d + 1)) for name in values}
    for k in range(d + 1):
        dims = tuple(sizes[: k + 1]) if k < d else tuple(sizes)
        cells = np.ravel_multi_index(tuple(ranks[: len(dims)]), dims) if dims else np.zeros(len(conf), dtype=int)
        size = int(np.prod(dims)) if dims else 1
        for name, val in values.items():
            prefix = _prefix(np.bincount(cells, weights=val[:, k], minlength=size).reshape(dims))
            if k < d:  # escalated at tiers < k (rank <= j) and accepted at k (rank > j)
                reached = prefix[(*jidx[:k], sizes[k] - 1)]
                stopped = prefix[tuple(jidx[: k + 1])]
                out[name][:, k] = reached - stopped
            else:  # escalated at every non-final tier
                out[name][:, k] = prefix[tuple(jidx)] if d else prefix
    return out


def _chunks(thr: np.ndarray, lo: int, hi: int, cap: int) -> list[tuple[int, int]]:
    """Split sorted settings [lo, hi) into ranges whose rank grids have at most `cap` cells."""
    cells = np.prod([len(np.unique(thr[lo:hi, k])) + 1.0 for k in range(thr.shape[1])])
    if cells <= cap or hi - lo == 1:
        return [(lo, hi)]
    mid = (lo + hi) // 2
    return _chunks(thr, lo, mid, cap) + _chunks(thr, mid, hi, cap)


def evaluate(matrix: OutcomeMatrix, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """Outcomes of m threshold settings at once; `thresholds` has shape (m, t-1) (a 1-D array is one setting).

    Returns arrays: accuracy (m,), n_graded (m,), mean_cost (m,, USD per item), cost_per_1k (m,),
    mean_latency_ms (m,, over items whose invoked tiers all have a latency; NaN if none), tier_share (m, t).
    """
    thr = _check_thresholds(matrix, thresholds)
    m, n, t = len(thr), matrix.n_items, matrix.n_tiers
    values = _tier_values(matrix)
    totals = {name: np.empty((m, t)) for name in values}
    order = np.lexsort(thr.T[::-1]) if thr.shape[1] else np.arange(m)
    sorted_thr = thr[order]
    # Grid work per chunk grows with its cells, item work with n: about n cells per chunk balances the two.
    cap = max(4096, min(1 << 20, n))
    for lo, hi in _chunks(sorted_thr, 0, m, cap) if m else []:
        part = _evaluate_chunk(matrix, values, sorted_thr[lo:hi])
        for name in values:
            totals[name][order[lo:hi]] = part[name]
    return _summarise(totals, n)


def _summarise(totals: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Per-setting figures from per-tier totals (each (m, t))."""
    graded = np.rint(totals["graded"].sum(axis=1))
    right = np.rint(totals["correct"].sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(graded > 0, right / graded, np.nan)
        lat_n = totals["lat_known"].sum(axis=1)
        latency = np.where(lat_n > 0.5, totals["latency"].sum(axis=1) / lat_n, np.nan)
    mean_cost = totals["cost"].sum(axis=1) / n if n else np.full(len(graded), np.nan)
    return {
        "accuracy": accuracy,
        "n_graded": graded.astype(int),
        "mean_cost": mean_cost,
        "cost_per_1k": mean_cost * 1000.0,
        "mean_latency_ms": latency,
        "tier_share": np.rint(totals["count"]) / n if n else totals["count"],
    }


def answer_tiers(matrix: OutcomeMatrix, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """Index of the answering tier for every item under one setting (n,)."""
    thr = _check_thresholds(matrix, np.asarray(thresholds, dtype=float))[0]
    accept = matrix.confidence[:, :-1] >= thr  # NaN compares False: escalates
    if matrix.n_tiers == 1:
        return np.zeros(matrix.n_items, dtype=int)
    return np.where(accept.any(axis=1), np.argmax(accept, axis=1), matrix.n_tiers - 1)


def items_worse_than_large(matrix: OutcomeMatrix, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """Item ids whose answer at this setting is wrong while the largest tier's answer is right."""
    tiers = answer_tiers(matrix, thresholds)
    got = matrix.correct[np.arange(matrix.n_items), tiers]
    worse: np.ndarray = matrix.item_ids[(got == 0) & (matrix.correct[:, -1] == 1)]
    return worse


def _points(matrix: OutcomeMatrix, thr: np.ndarray, kind: PointKind) -> list[FrontierPoint]:
    res = evaluate(matrix, thr)
    return [
        FrontierPoint(
            thresholds=tuple(float(x) for x in thr[i]),
            accuracy=float(res["accuracy"][i]),
            cost_per_1k=float(res["cost_per_1k"][i]),
            mean_latency_ms=float(res["mean_latency_ms"][i]),
            tier_share=tuple(float(x) for x in res["tier_share"][i]),
            kind=kind,
            n_graded=int(res["n_graded"][i]),
        )
        for i in range(len(thr))
    ]


def shared_thresholds(matrix: OutcomeMatrix, grid: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Settings (m, t-1) with one threshold for every non-final tier."""
    g = threshold_grid() if grid is None else np.asarray(grid, dtype=float)
    return np.repeat(g.reshape(-1, 1), matrix.n_tiers - 1, axis=1)


def per_tier_thresholds(
    matrix: OutcomeMatrix, grids: Sequence[float] | Sequence[Sequence[float]] | np.ndarray | None = None
) -> np.ndarray:
    """Full grid (m, t-1) over each non-final tier's threshold; one 1-D grid is reused for every tier."""
    d = matrix.n_tiers - 1
    grids = threshold_grid() if grids is None else grids
    if len(grids) and np.ndim(grids[0]) == 0:
        axes = [np.asarray(grids, dtype=float)] * d
    else:
        axes = [np.asarray(g, dtype=float) for g in grids]
        if len(axes) != d:
            raise ValueError(f"need one grid per non-final tier ({d}), got {len(axes)}")
    if d == 0:
        return np.empty((1, 0))
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in mesh], axis=1)


def shared_threshold_points(
    matrix: OutcomeMatrix, grid: Sequence[float] | np.ndarray | None = None
) -> list[FrontierPoint]:
    """One point per threshold value, the same threshold used at every non-final tier."""
    return _points(matrix, shared_thresholds(matrix, grid), "shared")


def per_tier_points(
    matrix: OutcomeMatrix, grids: Sequence[float] | Sequence[Sequence[float]] | np.ndarray | None = None
) -> list[FrontierPoint]:
    """One point per combination of per-tier thresholds (for 3 tiers, a 2-D grid; any number of tiers works)."""
    return _points(matrix, per_tier_thresholds(matrix, grids), "per_tier")
