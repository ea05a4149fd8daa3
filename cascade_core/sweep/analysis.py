"""A whole sweep from one outcome table: points, both Pareto fronts, references, recommendation, metrics, calibration.

Pure: it reads only the outcome table (live, imported or reopened from the store) and never calls a model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cascade_core.sweep.calibration import TierCalibration, calibration_report
from cascade_core.sweep.failures import outcome_notes
from cascade_core.sweep.frontier import FrontierPoint, per_tier_points, shared_threshold_points, threshold_grid
from cascade_core.sweep.outcomes import OutcomeMatrix, has_confidence, to_matrix, validate_outcomes
from cascade_core.sweep.pareto import pareto_front
from cascade_core.sweep.recommend import Recommendation, recommend, split_masks
from cascade_core.sweep.references import reference_points
from cascade_core.sweep.summary_metrics import SummaryMetrics, summary_metrics

AUTO_SPLIT = "auto"  # the outcome table's `split` column when it marks both splits, else a random half


@dataclass(frozen=True)
class SweepSettings:
    target: float = 0.98  # fraction of always-large accuracy to keep
    split: str | float = AUTO_SPLIT  # a column name, a calibration fraction in (0, 1), or "auto"
    seed: int = 0
    shared_steps: int = 101  # shared threshold grid: 0, 0.01, ..., 1
    per_tier_steps: int = 21  # per-tier grid per non-final tier (21 x 21 = 441 settings for 3 tiers)
    n_boot: int = 1000

    def grid(self) -> dict[str, int]:
        return {"shared_steps": self.shared_steps, "per_tier_steps": self.per_tier_steps}


@dataclass
class SweepResult:
    outcomes: pd.DataFrame
    matrix: OutcomeMatrix
    settings: SweepSettings
    has_confidence: bool
    shared: list[FrontierPoint]
    per_tier: list[FrontierPoint]
    shared_front: list[FrontierPoint]
    per_tier_front: list[FrontierPoint]
    references: list[FrontierPoint]  # always-<tier> for each tier, then the oracle
    recommendation: Recommendation | None
    metrics: dict[str, SummaryMetrics]  # "shared" / "per_tier"
    calibration: list[TierCalibration]
    split_used: str
    notes: list[str] = field(default_factory=list)

    @property
    def tiers(self) -> tuple[str, ...]:
        return self.matrix.tiers

    @property
    def always_large(self) -> FrontierPoint:
        return self.references[-2]

    @property
    def always_small(self) -> FrontierPoint:
        return self.references[0]


def on_front(result: SweepResult, points: Sequence[FrontierPoint]) -> list[bool]:
    """For each point, whether it is on one of the sweep's Pareto fronts (the very object, not an equal one)."""
    front = {id(p) for p in (*result.shared_front, *result.per_tier_front)}
    return [id(p) in front for p in points]


def _auto_split(outcomes: pd.DataFrame, matrix: OutcomeMatrix) -> tuple[str | float, str | None]:
    """The `split` column when it marks both splits, else a random half; with a note when the column is ignored."""
    values = {str(v).strip().lower() for v in matrix.splits if v is not None}
    if not values:
        return 0.5, None
    try:
        cal, hold = split_masks(outcomes, "split")
    except ValueError as err:
        why = str(err)
    else:
        if cal.any() and hold.any():
            return "split", None
        why = f"it marks only the {'calibration' if cal.any() else 'held-out'} split"
    note = (f"the 'split' column was ignored and a seeded random half used instead: {why} "
            "(fix its values, or choose the split explicitly)")
    return 0.5, note


def analyse(outcomes: pd.DataFrame, settings: SweepSettings | None = None) -> SweepResult:
    """Every figure of a sweep. Raises OutcomeError for a malformed table and ValueError for a bad split."""
    settings = settings or SweepSettings()
    outcomes = validate_outcomes(outcomes)
    matrix = to_matrix(outcomes)
    notes: list[str] = []
    conf = matrix.n_tiers > 1 and has_confidence(matrix)
    shared: list[FrontierPoint] = []
    per_tier: list[FrontierPoint] = []
    if matrix.n_tiers < 2:
        notes.append("only one tier: there is nothing to cascade; the reference point is all there is")
    elif not conf:
        notes.append(
            "no confidence values for the non-final tiers: without them no threshold can decide to accept an "
            "answer, so there is no cascade curve; only always-<tier> baselines and the oracle are shown"
        )
    else:
        shared = shared_threshold_points(matrix, threshold_grid(settings.shared_steps))
        per_tier = per_tier_points(matrix, threshold_grid(settings.per_tier_steps))
    refs = reference_points(matrix)
    notes.extend(outcome_notes(outcomes))  # failed cells, endpoints without logprobs, cut-off answers
    ungraded = int(np.isnan(matrix.correct).sum())
    if ungraded:
        notes.append(
            f"{ungraded:,} of {matrix.correct.size:,} answers have no grade (correctness missing): accuracy is "
            "computed over graded answers only, so points may be measured on different sets of items "
            "(each point's n_graded says how many answers it counts)"
        )
    split = settings.split
    if settings.split == AUTO_SPLIT:
        split, split_note = _auto_split(outcomes, matrix)
        if split_note:
            notes.append(split_note)
    seeded = f"random {split:.0%} calibration (seed {settings.seed})" if not isinstance(split, str) else ""
    split_used = f"column {split!r}" if isinstance(split, str) else seeded
    recommendation = None
    if conf:
        try:
            cal, hold = split_masks(outcomes, split, settings.seed)
            recommendation = recommend(matrix, settings.target, calibration_mask=cal, holdout_mask=hold,
                                       n_boot=settings.n_boot, seed=settings.seed)
        except ValueError as err:
            notes.append(f"no recommendation: {err}")
    metrics = _metrics(shared, per_tier, refs, notes) if conf else {}
    return SweepResult(
        outcomes=outcomes, matrix=matrix, settings=settings, has_confidence=conf, shared=shared, per_tier=per_tier,
        shared_front=pareto_front(shared), per_tier_front=pareto_front(per_tier), references=refs,
        recommendation=recommendation, metrics=metrics, calibration=calibration_report(matrix),
        split_used=split_used, notes=notes,
    )


def _metrics(shared: list[FrontierPoint], per_tier: list[FrontierPoint], refs: list[FrontierPoint],
             notes: list[str]) -> dict[str, SummaryMetrics]:
    small, large = refs[0], refs[-2]  # refs[-1] is the oracle
    out = {}
    for name, points in (("shared", shared), ("per_tier", per_tier)):
        try:
            out[name] = summary_metrics(points, small, large)
        except ValueError as err:
            notes.append(f"no summary metrics: {err}")
            break
    return out


# -- JSON -------------------------------------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, tuples lists, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def point_dict(point: FrontierPoint) -> dict[str, Any]:
    clean: dict[str, Any] = _clean(asdict(point))
    return clean


def recommendation_dict(rec: Recommendation | None) -> dict[str, Any] | None:
    return None if rec is None else _clean(asdict(rec))


def metrics_dict(metrics: dict[str, SummaryMetrics]) -> dict[str, Any]:
    clean: dict[str, Any] = _clean({name: asdict(m) for name, m in metrics.items()})
    return clean


def calibration_dicts(report: list[TierCalibration]) -> list[dict[str, Any]]:
    return [_clean({k: v for k, v in asdict(c).items() if k != "bins"} | {"bins": c.bins.to_dict("records")})
            for c in report]


def result_to_json(result: SweepResult) -> dict[str, Any]:
    """What `sweep --json` prints: points, both fronts, references, recommendation, metrics, calibration."""
    return {
        "tiers": list(result.tiers),
        "n_items": result.matrix.n_items,
        "has_confidence": result.has_confidence,
        "settings": _clean(asdict(result.settings)),
        "split": result.split_used,
        "points": {"shared": [point_dict(p) for p in result.shared],
                   "per_tier": [point_dict(p) for p in result.per_tier]},
        "fronts": {"shared": [point_dict(p) for p in result.shared_front],
                   "per_tier": [point_dict(p) for p in result.per_tier_front]},
        "references": [point_dict(p) for p in result.references],
        "recommendation": recommendation_dict(result.recommendation),
        "metrics": metrics_dict(result.metrics),
        "calibration": calibration_dicts(result.calibration),
        "notes": list(result.notes),
    }
