"""A learned router, evaluated against the threshold cascade on held-out questions (same outcome table).

Per tier, a logistic regression predicts "this tier answers correctly" from the question's embedding (and, when
`use_confidence`, the small tier's confidence: the small tier is then always called and paid for). A policy with
knob tau sends each question to the cheapest tier predicted right with probability >= tau (else the last tier).
Trained on the calibration split only; every figure here is measured on the held-out split. It is reported
plainly when it does not beat the cascade (or, without confidences, a random router at the same cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cascade_core.routing.logistic import Logistic, fit_logistic
from cascade_core.sweep.calibration import auroc
from cascade_core.sweep.frontier import shared_threshold_points
from cascade_core.sweep.outcomes import OutcomeMatrix

HELPS_MARGIN = 0.01  # mean accuracy gain at equal cost below this (1 point) reads as "does not help"
TAUS = np.round(np.linspace(0.0, 1.0, 41), 3)


@dataclass(frozen=True)
class RouterEvaluation:
    learned: pd.DataFrame  # tau, cost_per_1k, accuracy, share_<tier>...
    baseline: pd.DataFrame  # cost_per_1k, accuracy: the threshold cascade (or the random router)
    baseline_name: str
    references: list[tuple[str, float, float]]  # (always-<tier>, cost_per_1k, accuracy) on held-out
    auroc: dict[str, float]  # per non-final tier: how well the router's inputs predict that tier is right
    gain: float  # mean accuracy of the learned router minus the baseline at equal or lower cost, held-out
    n_train: int
    n_test: int
    use_confidence: bool
    notes: list[str] = field(default_factory=list)

    @property
    def helps(self) -> bool:
        return self.gain >= HELPS_MARGIN

    def verdict(self) -> str:
        what = "embedding + small-tier confidence" if self.use_confidence else "embedding only"
        aucs = ", ".join(f"{k} {v:.2f}" for k, v in self.auroc.items())
        head = ("helps" if self.helps else "does NOT help")
        return (f"The learned router ({what}) {head}: {self.gain * 100:+.1f} accuracy points on average against "
                f"the {self.baseline_name} at equal or lower cost, on {self.n_test} held-out questions "
                f"(trained on {self.n_train}). AUROC of its per-tier predictions: {aucs}.")


def _features(embeddings: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    if confidence is None:
        return embeddings
    conf = np.nan_to_num(confidence, nan=0.0)[:, None]
    return np.hstack([embeddings, conf, conf ** 2])


def fit_router(matrix: OutcomeMatrix, embeddings: np.ndarray, *, use_confidence: bool,
               l2: float = 10.0) -> list[Logistic]:
    """One model per non-final tier: P(tier right | features), on the rows given (the calibration split)."""
    x = _features(embeddings, matrix.confidence[:, 0] if use_confidence else None)
    models = []
    for k in range(matrix.n_tiers - 1):
        graded = ~np.isnan(matrix.correct[:, k])
        models.append(fit_logistic(x[graded], matrix.correct[graded, k] > 0.5, l2=l2))
    return models


def route_tiers(probabilities: np.ndarray, tau: float) -> np.ndarray:
    """Per question, the cheapest tier whose predicted P(right) >= tau; the last tier when none is."""
    k = probabilities.shape[1]
    ok = probabilities >= tau
    chosen: np.ndarray = np.where(ok.any(axis=1), ok.argmax(axis=1), k)
    return chosen


def policy_points(matrix: OutcomeMatrix, probabilities: np.ndarray, *, use_confidence: bool) -> pd.DataFrame:
    n = matrix.n_items
    rows = []
    for tau in TAUS:
        chosen = route_tiers(probabilities, float(tau))
        cost = matrix.cost[np.arange(n), chosen]
        if use_confidence:  # the small tier was asked for its confidence: paid whichever tier answers
            cost = cost + np.where(chosen > 0, matrix.cost[:, 0], 0.0)
        correct = matrix.correct[np.arange(n), chosen]
        graded = ~np.isnan(correct)
        row = {"tau": float(tau), "cost_per_1k": float(cost.mean() * 1000),
               "accuracy": float((correct[graded] > 0.5).mean()) if graded.any() else float("nan")}
        for i, tier in enumerate(matrix.tiers):
            row[f"share_{tier}"] = float((chosen == i).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _best_at_cost(curve: pd.DataFrame, cost: float) -> float:
    within = curve[curve["cost_per_1k"] <= cost * (1 + 1e-9)]
    return float(within["accuracy"].max()) if not within.empty else float("nan")


def mean_gain(learned: pd.DataFrame, baseline: pd.DataFrame) -> float:
    """Mean over the baseline's points of (best learned accuracy at <= that cost) - baseline accuracy."""
    diffs = [_best_at_cost(learned, c) - a for c, a in zip(baseline["cost_per_1k"], baseline["accuracy"], strict=True)]
    finite = [d for d in diffs if np.isfinite(d)]
    return float(np.mean(finite)) if finite else float("nan")


def _references(test: OutcomeMatrix) -> list[tuple[str, float, float]]:
    out = []
    for k, tier in enumerate(test.tiers):
        graded = ~np.isnan(test.correct[:, k])
        out.append((f"always {tier}", float(test.cost[:, k].mean() * 1000),
                    float((test.correct[graded, k] > 0.5).mean())))
    return out


def random_router_curve(test: OutcomeMatrix) -> pd.DataFrame:
    """Send a random share s of questions to the last tier, the rest to the first: the no-skill line."""
    refs = _references(test)
    (_, c0, a0), (_, c1, a1) = refs[0], refs[-1]
    shares = np.linspace(0, 1, 41)
    return pd.DataFrame({"cost_per_1k": c0 + shares * (c1 - c0), "accuracy": a0 + shares * (a1 - a0)})


def evaluate_learned_router(matrix: OutcomeMatrix, embeddings: np.ndarray, train: np.ndarray, *,
                            use_confidence: bool | None = None) -> RouterEvaluation:
    """Train on `train` rows, measure on the rest, against the threshold cascade when the table has
    confidences (else against a random router at the same cost)."""
    has_conf = bool(np.isfinite(matrix.confidence[:, :-1]).any())
    use_confidence = has_conf if use_confidence is None else use_confidence
    fit, test = matrix.subset(train), matrix.subset(~train)
    models = fit_router(fit, embeddings[train], use_confidence=use_confidence)
    x_test = _features(embeddings[~train], test.confidence[:, 0] if use_confidence else None)
    probabilities = np.column_stack([m.predict(x_test) for m in models])
    learned = policy_points(test, probabilities, use_confidence=use_confidence)
    scores = {}
    for k, tier in enumerate(test.tiers[:-1]):
        graded = ~np.isnan(test.correct[:, k])
        scores[tier] = float(auroc(probabilities[graded, k], test.correct[graded, k] > 0.5))
    notes = []
    if has_conf:
        points = shared_threshold_points(test)
        baseline = pd.DataFrame({"cost_per_1k": [p.cost_per_1k for p in points],
                                 "accuracy": [p.accuracy for p in points]})
        name = "threshold cascade (shared threshold)"
    else:
        baseline, name = random_router_curve(test), "random router"
        notes.append("no confidence signal in this table: compared with a random router at the same cost")
    return RouterEvaluation(learned=learned, baseline=baseline, baseline_name=name, references=_references(test),
                            auroc=scores, gain=mean_gain(learned, baseline), n_train=int(train.sum()),
                            n_test=int((~train).sum()), use_confidence=use_confidence, notes=notes)


def split_mask(matrix: OutcomeMatrix, *, fraction: float = 0.5, seed: int = 0) -> np.ndarray:
    """The calibration rows: the table's own split column when it has one, else a seeded random `fraction`."""
    splits = np.array([str(s).lower() if s is not None else "" for s in matrix.splits])
    if np.isin(splits, ["train", "calibration", "calib", "cal"]).any():
        return np.isin(splits, ["train", "calibration", "calib", "cal"])
    rng = np.random.default_rng(seed)
    return rng.uniform(size=matrix.n_items) < fraction
