"""Reference points on the cost/quality plane: always-<tier> for each tier, and the oracle."""

from __future__ import annotations

import numpy as np

from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.outcomes import OutcomeMatrix


def assignment_point(
    matrix: OutcomeMatrix,
    answer_tier: np.ndarray,
    item_cost: np.ndarray,
    item_latency: np.ndarray,
    *,
    kind: str,
    label: str = "",
    thresholds: tuple[float, ...] = (),
) -> FrontierPoint:
    """A point from an explicit per-item answering tier and per-item cost/latency (n,) arrays.

    Accuracy counts graded answers only, as in `evaluate`; mean latency is over items with a known latency.
    """
    n, t = matrix.n_items, matrix.n_tiers
    got = matrix.correct[np.arange(n), answer_tier]
    graded = ~np.isnan(got)
    lat_ok = ~np.isnan(item_latency)
    return FrontierPoint(
        thresholds=thresholds,
        accuracy=float((got[graded] == 1).sum() / graded.sum()) if graded.any() else float("nan"),
        cost_per_1k=float(item_cost.sum() / n * 1000.0) if n else float("nan"),
        mean_latency_ms=float(item_latency[lat_ok].mean()) if lat_ok.any() else float("nan"),
        tier_share=tuple(float(x) for x in np.bincount(answer_tier, minlength=t) / max(n, 1)),
        kind=kind,  # type: ignore[arg-type]
        label=label,
        n_graded=int(graded.sum()),
    )


def oracle_tiers(matrix: OutcomeMatrix) -> np.ndarray:
    """Per item, the first (cheapest) tier whose answer is correct; the last tier when none is (n,)."""
    right = matrix.correct == 1
    return np.where(right.any(axis=1), np.argmax(right, axis=1), matrix.n_tiers - 1)


def reference_points(matrix: OutcomeMatrix) -> list[FrontierPoint]:
    """Always-<tier> for every tier (that tier alone is called and paid), then the oracle.

    The oracle is a cascade with a perfect right/wrong signal: it accepts the first correct answer in
    escalation order and pays every tier up to and including that one (as a cascade would). When no tier is
    correct it escalates to the end, answers with the last tier (wrong) and pays every tier. Ungraded answers
    (missing correctness) count as not correct for the oracle's choice. This is the best any cascade over
    these tiers can do; it is not the cheaper "router oracle" that calls only the one right model.
    """
    n = np.arange(matrix.n_items)
    points = [
        assignment_point(
            matrix,
            np.full(matrix.n_items, k),
            matrix.cost[:, k],
            matrix.latency[:, k],
            kind="always",
            label=f"always {tier}",
        )
        for k, tier in enumerate(matrix.tiers)
    ]
    tiers = oracle_tiers(matrix)
    cum_cost = np.cumsum(matrix.cost, axis=1)[n, tiers]
    cum_lat = np.cumsum(matrix.latency, axis=1)[n, tiers]  # NaN if any invoked latency is unknown
    points.append(assignment_point(matrix, tiers, cum_cost, cum_lat, kind="oracle", label="oracle"))
    return points


def versus_reference(point: FrontierPoint, reference: FrontierPoint) -> tuple[float, float]:
    """(savings, quality retained) of a point against a reference (usually always-large).

    savings = 1 - cost / reference cost; quality retained = accuracy / reference accuracy (NaN when undefined).
    """
    savings = 1.0 - point.cost_per_1k / reference.cost_per_1k if reference.cost_per_1k > 0 else float("nan")
    retained = point.accuracy / reference.accuracy if reference.accuracy > 0 else float("nan")
    return savings, retained
