"""A certified operating point: Learn-then-Test (Angelopoulos et al. 2021) with fixed-sequence testing.

The calibration split is cut in two at random (seeded). On the first part ("learn") the candidate settings are
measured and their Pareto front, ordered from the most expensive (conservative) to the cheapest (aggressive),
fixes the sequence of settings to test. On the second part ("test") each setting in turn gets an exact binomial
test of H0: "among questions the last tier gets right, this setting gets more than (1 - target) wrong", at level
`delta`; testing stops at the first setting that fails. Every setting that passed is certified and the cheapest
is recommended; when none passes, the advice is the last tier alone.

Guarantee: with probability at least 1 - delta over the calibration questions, the recommended setting gets at
most (1 - target) of the last tier's right answers wrong on new questions drawn like them, so it keeps at least
`target` of always-large accuracy (its own right answers where the last tier is wrong only add to that).
Assumption: new questions come from the same distribution as the calibration ones (exchangeable); a shift in
traffic voids it, which is what re-certification on live labels watches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cascade_core.stats.binomial import error_rate_p_value, labels_to_certify
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.outcomes import OutcomeMatrix
from cascade_core.sweep.pareto import pareto_front
from cascade_core.sweep.policies import policy_family, route, setting_points

LEARN_FRACTION = 0.3  # share of the calibration split that orders the settings; the rest tests them
DEFAULT_DELTA = 0.1
DEFAULT_TARGET = 0.98

# (kind, accept (m, t-1), skip (m, t-1) or None, start tier)
Family = tuple[str, np.ndarray, np.ndarray | None, int]


@dataclass(frozen=True)
class TestedSetting:
    point: FrontierPoint  # as measured on the learn part
    n: int  # test questions the last tier gets right
    errors: int  # of those, answered wrongly (or abstained on) by this setting
    p_value: float
    passed: bool


@dataclass(frozen=True)
class Measured:
    """A setting measured on one split: accuracy and cost with always-large's on the same questions."""

    n: int
    accuracy: float
    cost_per_1k: float
    large_accuracy: float
    large_cost_per_1k: float
    tier_share: tuple[float, ...]
    abstain_share: float

    @property
    def savings(self) -> float:
        return 1 - self.cost_per_1k / self.large_cost_per_1k if self.large_cost_per_1k > 0 else float("nan")

    @property
    def quality_retained(self) -> float:
        return self.accuracy / self.large_accuracy if self.large_accuracy > 0 else float("nan")


@dataclass(frozen=True)
class Certification:
    target: float
    delta: float
    family: str  # always_large | per_tier | shared | skip | abstain
    point: FrontierPoint | None  # the setting (None: call the last tier alone)
    n_calibration: int
    n_learn: int
    n_test: int
    tested: tuple[TestedSetting, ...]
    calibration: Measured
    holdout: Measured | None  # None when there is no held-out split
    statement: str

    @property
    def certified(self) -> bool:
        return self.point is not None


def measure(matrix: OutcomeMatrix, point: FrontierPoint | None) -> Measured:
    large = matrix.correct[:, -1]
    if point is None:
        got, cost, tier = large, matrix.cost[:, -1], np.full(matrix.n_items, matrix.n_tiers - 1)
        abstained = np.zeros(matrix.n_items, dtype=bool)
    else:
        r = route(matrix, point.thresholds, point.skip, point.abstain, point.start)
        got, cost, tier, abstained = r.correct(matrix), r.cost, r.tier, r.abstained

    def acc(values: np.ndarray) -> float:
        graded = ~np.isnan(values)
        return float((values[graded] == 1).mean()) if graded.any() else float("nan")

    n = max(matrix.n_items, 1)
    return Measured(matrix.n_items, acc(got), float(cost.sum() / n * 1000), acc(large),
                    float(matrix.cost[:, -1].sum() / n * 1000),
                    tuple(float(x) for x in np.bincount(tier, minlength=matrix.n_tiers) / n),
                    float(abstained.mean()) if matrix.n_items else 0.0)


def errors_among_large_right(matrix: OutcomeMatrix, point: FrontierPoint) -> tuple[int, int]:
    """(n, errors): questions the last tier gets right, and how many of them `point` gets wrong.

    An ungraded or abstained answer on such a question counts as wrong (the conservative side)."""
    right = matrix.correct[:, -1] == 1
    got = route(matrix, point.thresholds, point.skip, point.abstain, point.start).correct(matrix)
    return int(right.sum()), int((right & (got != 1)).sum())


def learn_test_masks(n: int, seed: int, fraction: float = LEARN_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 7919])
    learn = np.zeros(n, dtype=bool)
    n_learn = min(max(round(fraction * n), 1), n - 1) if n > 1 else 0
    learn[rng.permutation(n)[:n_learn]] = True
    return learn, ~learn


def sequence(learn: OutcomeMatrix, families: Sequence[Family]) -> list[FrontierPoint]:
    """The settings to test, from the most expensive to the cheapest: the learn part's front below always-large."""
    points: list[FrontierPoint] = []
    for kind, accept, skip, start in families:
        points += setting_points(learn, accept, kind, skip, start)  # type: ignore[arg-type]
    large_cost = float(learn.cost[:, -1].mean() * 1000)
    front = [p for p in pareto_front(points) if p.cost_per_1k < large_cost]
    return front[::-1]


def certify(matrix: OutcomeMatrix, *, calibration_mask: np.ndarray, holdout_mask: np.ndarray | None,
            families: Sequence[Family], target: float = DEFAULT_TARGET, delta: float = DEFAULT_DELTA,
            seed: int = 0) -> Certification:
    """The cheapest setting certified to keep `target` of always-large quality with confidence 1 - delta."""
    if not 0 < target <= 1:
        raise ValueError(f"target is a fraction of always-large accuracy in (0, 1], got {target}")
    if not 0 < delta < 1:
        raise ValueError(f"delta (the risk) must lie strictly between 0 and 1, got {delta}")
    cal = matrix.subset(np.asarray(calibration_mask, bool))
    learn_mask, test_mask = learn_test_masks(cal.n_items, seed)
    learn, test = cal.subset(learn_mask), cal.subset(test_mask)
    tested: list[TestedSetting] = []
    if learn.n_items and test.n_items and matrix.n_tiers > 1:
        for point in sequence(learn, families):
            n, errors = errors_among_large_right(test, point)
            p = error_rate_p_value(errors, n, 1 - target)
            tested.append(TestedSetting(point, n, errors, p, p <= delta))
            if p > delta:
                break
    passed = [t.point for t in tested if t.passed]
    pick = min(passed, key=lambda p: p.cost_per_1k) if passed else None
    hold = matrix.subset(np.asarray(holdout_mask, bool)) if holdout_mask is not None else None
    holdout = measure(hold, pick) if hold is not None and hold.n_items else None
    cert = Certification(
        target=target, delta=delta, family=policy_family(pick), point=pick, n_calibration=cal.n_items,
        n_learn=learn.n_items, n_test=test.n_items, tested=tuple(tested), calibration=measure(cal, pick),
        holdout=holdout, statement="",
    )
    return _with_statement(cert, matrix.tiers)


def _with_statement(cert: Certification, tiers: Sequence[str]) -> Certification:
    from dataclasses import replace

    conf, goal = f"{1 - cert.delta:.0%}", f"{cert.target:.0%}"
    if cert.point is None:
        text = (f"No cascade setting could be certified to keep {goal} of always-{tiers[-1]} quality with {conf} "
                f"confidence on {cert.n_test:,} test questions: call {tiers[-1]} alone.")
    else:
        saved = cert.holdout.savings if cert.holdout is not None else cert.calibration.savings
        text = (f"With {conf} confidence this keeps ≥ {goal} of always-{tiers[-1]} quality on new questions like "
                f"these, at {saved:.0%} lower cost (certified on {cert.n_test:,} of the "
                f"{cert.n_test + cert.n_learn:,} calibration questions; the other {cert.n_learn:,} chose the "
                "settings to test).")
    return replace(cert, statement=text)


@dataclass(frozen=True)
class LabelsNeeded:
    """What more labelled questions would buy: certifying the estimate's savings needs about `needed`."""

    savings: float
    needed: int | None  # None: no amount of data certifies it at this target (it misses on calibration)
    have: int
    text: str


def labels_needed(matrix: OutcomeMatrix, calibration_mask: np.ndarray, point: FrontierPoint | None,
                  savings: float, target: float, delta: float) -> LabelsNeeded | None:
    """Calibration questions needed to certify `point` if its calibration error rate held (None: no point)."""
    if point is None:
        return None
    cal = matrix.subset(np.asarray(calibration_mask, bool))
    n, errors = errors_among_large_right(cal, point)
    if n == 0:
        return None
    rate, right_share = errors / n, n / max(cal.n_items, 1)
    trials = labels_to_certify(rate, 1 - target, delta)
    if trials is None:
        # Not a contradiction of "meets the target on calibration": the estimate counts accuracy, which right
        # answers where the last tier is wrong make up for; the certificate counts the last tier's right answers lost.
        return LabelsNeeded(savings, None, cal.n_items, f"The estimate ({savings:.0%} savings) gets {rate:.1%} of "
                            f"the answers always-{matrix.tiers[-1]} gets right wrong on the calibration questions; "
                            f"the certificate allows at most {1 - target:.0%}, so more labels would not certify it "
                            "(its accuracy holds up only by being right where the last tier is wrong).")
    needed = int(math.ceil(trials / right_share / (1 - LEARN_FRACTION) / 10) * 10)
    if needed <= cal.n_items:
        return LabelsNeeded(savings, needed, cal.n_items, f"Certifying {savings:.0%} savings needs about "
                            f"{needed:,} labelled questions; you have {cal.n_items:,} (the fixed sequence stopped "
                            "earlier on this draw).")
    return LabelsNeeded(savings, needed, cal.n_items, f"Certifying {savings:.0%} savings needs about {needed:,} "
                        f"labelled questions; you have {cal.n_items:,}.")
