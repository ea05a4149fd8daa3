"""A whole sweep from one outcome table: points, fronts, references, certified recommendation, metrics, calibration.

Pure: it reads only the outcome table (live, imported or reopened from the store) and never calls a model.
Every front, reference, metric and calibration figure is computed per split (calibration, held-out, all); the
headline figures are the held-out ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cascade_core.sweep.calibration import TierCalibration, calibration_report
from cascade_core.sweep.candidates import (
    abstain_candidates,
    per_tier_budget,
    per_tier_candidates,
    shared_candidates,
    skip_candidates,
    start_candidates,
)
from cascade_core.sweep.certify import (
    DEFAULT_DELTA,
    DEFAULT_TARGET,
    Certification,
    Family,
    LabelsNeeded,
    certify,
    labels_needed,
)
from cascade_core.sweep.failures import outcome_notes
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.outcomes import OutcomeMatrix, has_confidence, to_matrix, validate_outcomes
from cascade_core.sweep.pareto import pareto_front
from cascade_core.sweep.policies import abstain_points, setting_points
from cascade_core.sweep.recommend import Recommendation, recommend, split_masks
from cascade_core.sweep.references import reference_points
from cascade_core.sweep.summary_metrics import SummaryMetrics, summary_metrics

AUTO_SPLIT = "auto"  # the outcome table's `split` column when it marks both splits, else a random half
SPLITS = ("held-out", "calibration", "all")


@dataclass(frozen=True)
class SweepSettings:
    target: float = DEFAULT_TARGET  # fraction of always-large accuracy to keep
    split: str | float = AUTO_SPLIT  # a column name, a calibration fraction in (0, 1), or "auto"
    seed: int = 0
    shared_steps: int = 0  # at most this many shared threshold values (0: the default budget, 1,000)
    per_tier_steps: int = 0  # at most this many values per tier (0: up to ~20,000 settings in all)
    n_boot: int = 1000
    delta: float = DEFAULT_DELTA  # risk of the certification: it holds with probability 1 - delta
    tiers: tuple[str, ...] | None = None  # a sub-cascade of the table's tiers (e.g. mid -> large); None: all
    current: tuple[float, ...] | None = None  # the configured thresholds, marked on every front
    abstain: bool = False  # also sweep a final threshold below which the cascade abstains

    def grid(self) -> dict[str, Any]:
        """What a saved sweep keeps beside target, split and seed to be recomputed the same way."""
        return {"shared_steps": self.shared_steps, "per_tier_steps": self.per_tier_steps, "delta": self.delta,
                "current": None if self.current is None else list(self.current), "abstain": self.abstain}


@dataclass
class SplitView:
    """Every point, front, reference, metric and calibration figure of one split."""

    name: str  # held-out | calibration | all
    n_items: int
    shared: list[FrontierPoint]
    per_tier: list[FrontierPoint]
    skip: list[FrontierPoint]
    shared_front: list[FrontierPoint]
    per_tier_front: list[FrontierPoint]
    skip_front: list[FrontierPoint]
    references: list[FrontierPoint]  # always-<tier> for each tier, then the oracle
    metrics: dict[str, SummaryMetrics]
    calibration: list[TierCalibration]
    current: FrontierPoint | None = None
    better_reference: str | None = None  # one line when a reference beats every cascade setting
    dominating: FrontierPoint | None = None  # that reference
    abstain: list[FrontierPoint] = field(default_factory=list)
    tier_choice: list[FrontierPoint] = field(default_factory=list)  # a cheaper tier left out (e.g. mid -> large)
    tier_choice_front: list[FrontierPoint] = field(default_factory=list)

    @property
    def always_large(self) -> FrontierPoint:
        return self.references[-2]


@dataclass
class SweepResult:
    outcomes: pd.DataFrame
    matrix: OutcomeMatrix
    settings: SweepSettings
    has_confidence: bool
    splits: dict[str, SplitView]
    headline: str  # the split the headline figures come from
    certified: Certification | None
    estimate: Recommendation | None  # the cheapest setting meeting the target on calibration: not certified
    labels: LabelsNeeded | None
    split_used: str
    notes: list[str] = field(default_factory=list)

    @property
    def view(self) -> SplitView:
        return self.splits[self.headline]

    @property
    def tiers(self) -> tuple[str, ...]:
        return self.matrix.tiers

    @property
    def shared(self) -> list[FrontierPoint]:
        return self.view.shared

    @property
    def per_tier(self) -> list[FrontierPoint]:
        return self.view.per_tier

    @property
    def skip(self) -> list[FrontierPoint]:
        return self.view.skip

    @property
    def shared_front(self) -> list[FrontierPoint]:
        return self.view.shared_front

    @property
    def per_tier_front(self) -> list[FrontierPoint]:
        return self.view.per_tier_front

    @property
    def skip_front(self) -> list[FrontierPoint]:
        return self.view.skip_front

    @property
    def references(self) -> list[FrontierPoint]:
        return self.view.references

    @property
    def metrics(self) -> dict[str, SummaryMetrics]:
        return self.view.metrics

    @property
    def calibration(self) -> list[TierCalibration]:
        return self.view.calibration

    @property
    def current(self) -> FrontierPoint | None:
        return self.view.current

    @property
    def always_large(self) -> FrontierPoint:
        return self.view.always_large

    @property
    def always_small(self) -> FrontierPoint:
        return self.view.references[0]


def on_front(result: SweepResult, points: Sequence[FrontierPoint]) -> list[bool]:
    """For each point, whether it is on one of the headline Pareto fronts (the very object, not an equal one)."""
    view = result.view
    front = {id(p) for p in (*view.shared_front, *view.per_tier_front, *view.skip_front, *view.tier_choice_front)}
    return [id(p) in front for p in points]


def drop_dominated(front: Sequence[FrontierPoint], references: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    """Front points a reference beats: it costs no more and is no less accurate, one of the two strictly."""
    refs = [r for r in references if r.kind == "always"]

    def beaten(p: FrontierPoint) -> bool:
        return any(r.cost_per_1k <= p.cost_per_1k and r.accuracy >= p.accuracy
                   and (r.cost_per_1k < p.cost_per_1k or r.accuracy > p.accuracy) for r in refs)

    return [p for p in front if not beaten(p)]


def dominating_reference(points: Sequence[FrontierPoint], references: Sequence[FrontierPoint]) -> FrontierPoint | None:
    """The cheapest always-<tier> reference other than the last that beats every cascade setting: no setting is
    more accurate, and none is as accurate for less. (The last tier is left out: the certification already says
    when it alone is the advice.)"""
    always = [r for r in references if r.kind == "always"]
    finite = [p for p in points if math.isfinite(p.accuracy)]
    if len(always) < 2 or not finite:
        return None
    for ref in sorted(always[:-1], key=lambda r: r.cost_per_1k):
        if all(p.accuracy <= ref.accuracy and not (p.accuracy >= ref.accuracy and p.cost_per_1k < ref.cost_per_1k)
               for p in finite):
            return ref
    return None


def better_reference(points: Sequence[FrontierPoint], references: Sequence[FrontierPoint]) -> str | None:
    """One line when a reference beats every cascade setting (see `dominating_reference`)."""
    return reference_line(dominating_reference(points, references))


def reference_line(ref: FrontierPoint | None) -> str | None:
    if ref is None:
        return None
    name = ref.label.removeprefix("always ")
    return (f"Always-{name} beats every cascade setting ({ref.accuracy:.1%} accuracy at "
            f"${ref.cost_per_1k:,.4f} per 1,000): no setting is more accurate and none is as accurate for "
            "less.")  # a fact, no advice: whether that accuracy is enough is the certification's call


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


@dataclass(frozen=True)
class _Candidates:
    per_tier: np.ndarray
    shared: np.ndarray
    skip_accept: np.ndarray
    skip: np.ndarray
    starts: list[tuple[int, np.ndarray]]

    def families(self) -> list[Family]:
        return [("per_tier", self.per_tier, None, 0), ("shared", self.shared, None, 0),
                ("skip", self.skip_accept, self.skip, 0),
                *(("tier_choice", accept, None, start) for start, accept in self.starts)]


def _candidates(matrix: OutcomeMatrix, settings: SweepSettings) -> _Candidates:
    d = matrix.n_tiers - 1
    per = settings.per_tier_steps or per_tier_budget(d)
    shared = shared_candidates(matrix, settings.shared_steps or 1000)
    skip_accept, skip = skip_candidates(matrix)
    return _Candidates(per_tier_candidates(matrix, per), shared, skip_accept, skip, start_candidates(matrix))


def _view(name: str, matrix: OutcomeMatrix, cands: _Candidates | None, settings: SweepSettings) -> SplitView:
    refs = reference_points(matrix)
    shared: list[FrontierPoint] = []
    per_tier: list[FrontierPoint] = []
    skip: list[FrontierPoint] = []
    choice: list[FrontierPoint] = []
    current = None
    if cands is not None:
        for start, accept in cands.starts:
            choice += setting_points(matrix, accept, "tier_choice", None, start)
        shared = setting_points(matrix, cands.shared, "shared")
        per_tier = setting_points(matrix, cands.per_tier, "per_tier")
        skip = setting_points(matrix, cands.skip_accept, "skip", cands.skip)
        if settings.current is not None and len(settings.current) == matrix.n_tiers - 1:
            current = setting_points(matrix, np.array([settings.current], dtype=float), "per_tier")[0]
            current = FrontierPoint(**{**asdict(current), "label": "current setting",
                                       "thresholds": tuple(settings.current)})
            per_tier.append(current)  # so the stored points hold the configured setting
    fronts = [drop_dominated(pareto_front(points), refs) for points in (shared, per_tier, skip, choice)]
    metrics: dict[str, SummaryMetrics] = {}
    if cands is not None:
        for key, points in (("shared", shared), ("per_tier", per_tier), ("skip", skip)):
            try:
                if points:
                    metrics[key] = summary_metrics(points, refs[0], refs[-2])
            except ValueError:
                break
    dominating = dominating_reference([*shared, *per_tier, *skip, *choice], refs) if cands is not None else None
    return SplitView(name=name, n_items=matrix.n_items, shared=shared, per_tier=per_tier, skip=skip,
                     shared_front=fronts[0], per_tier_front=fronts[1], skip_front=fronts[2], references=refs,
                     tier_choice=choice, tier_choice_front=fronts[3],
                     metrics=metrics, calibration=calibration_report(matrix), current=current,
                     better_reference=reference_line(dominating), dominating=dominating)


def select_tiers(outcomes: pd.DataFrame, tiers: Sequence[str] | None) -> pd.DataFrame:
    """The outcome table of a sub-cascade (e.g. mid -> large): only those tiers, in the given order."""
    if not tiers:
        return outcomes
    known = list(pd.unique(outcomes.sort_values("tier_index")["tier"]))
    unknown = [t for t in tiers if t not in known]
    if unknown:
        raise ValueError(f"tiers {unknown} are not in this sweep; its tiers are {known}")
    if len(tiers) < 1:
        raise ValueError("choose at least one tier")
    out = outcomes[outcomes["tier"].isin(list(tiers))].copy()
    out["tier_index"] = out["tier"].map({t: i for i, t in enumerate(tiers)})
    return out


def analyse(outcomes: pd.DataFrame, settings: SweepSettings | None = None) -> SweepResult:
    """Every figure of a sweep. Raises OutcomeError for a malformed table and ValueError for a bad split."""
    settings = settings or SweepSettings()
    outcomes = validate_outcomes(select_tiers(validate_outcomes(outcomes), settings.tiers))
    matrix = to_matrix(outcomes)
    notes: list[str] = []
    conf = matrix.n_tiers > 1 and has_confidence(matrix)
    if matrix.n_tiers < 2:
        notes.append("only one tier: there is nothing to cascade; the reference point is all there is")
    elif not conf:
        notes.append(
            "no confidence values for the non-final tiers: without them no threshold can decide to accept an "
            "answer, so there is no cascade curve; only always-<tier> baselines and the oracle are shown"
        )
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
    cands = _candidates(matrix, settings) if conf else None
    masks: tuple[np.ndarray, np.ndarray] | None = None
    try:
        masks = split_masks(outcomes, split, settings.seed) if matrix.n_items > 1 else None
    except ValueError as err:
        notes.append(f"no split, so no held-out figures and no recommendation: {err}")
    if masks is not None and not (masks[0].any() and masks[1].any()):
        notes.append("no recommendation: need items in both splits; "
                     f"calibration has {int(masks[0].sum())}, hold-out {int(masks[1].sum())}")
        masks = None
    splits = {"all": _view("all", matrix, cands, settings)}
    if masks is not None:
        splits["calibration"] = _view("calibration", matrix.subset(masks[0]), cands, settings)
        splits["held-out"] = _view("held-out", matrix.subset(masks[1]), cands, settings)
    headline = "held-out" if masks is not None else "all"
    certified = estimate = labels = None
    if cands is not None and masks is not None:
        certified = certify(matrix, calibration_mask=masks[0], holdout_mask=masks[1], families=cands.families(),
                            target=settings.target, delta=settings.delta, seed=settings.seed)
        estimate = recommend(matrix, settings.target, calibration_mask=masks[0], holdout_mask=masks[1],
                             n_boot=settings.n_boot, seed=settings.seed,
                             candidates=[("per_tier", cands.per_tier), ("shared", cands.shared)])
        if estimate.thresholds is not None:
            point = FrontierPoint(estimate.thresholds, estimate.accuracy.estimate, estimate.cost_per_1k.estimate,
                                  float("nan"), estimate.tier_share, estimate.kind)  # type: ignore[arg-type]
            labels = labels_needed(matrix, masks[0], point, estimate.savings.estimate, settings.target,
                                   settings.delta)
    if settings.abstain and cands is not None:
        finals = abstain_candidates(matrix)
        base = certified.point if certified is not None and certified.point is not None else None
        for view_name, view in splits.items():
            sub = matrix if view_name == "all" else matrix.subset(masks[0 if view_name == "calibration" else 1])  # type: ignore[index]
            anchor = base or FrontierPoint((math.inf,) * (matrix.n_tiers - 1), 0, 0, 0, (), "per_tier")
            view.abstain = abstain_points(sub, anchor, finals)
    return SweepResult(outcomes=outcomes, matrix=matrix, settings=settings, has_confidence=conf, splits=splits,
                       headline=headline, certified=certified, estimate=estimate, labels=labels,
                       split_used=split_used, notes=notes)
