"""How well each tier's confidence tells right answers from wrong: reliability bins, ECE, AUROC, overconfidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cascade_core.sweep.outcomes import OutcomeMatrix

TOP_CONFIDENCE = 0.9  # "top confidence": >= 0.9 (5/5 self-rated normalises to 1.0; token probability >= 0.9)


def _pairs(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep answers that have both a confidence and a grade; correct as bool."""
    conf, corr = np.asarray(confidence, float), np.asarray(correct, float)
    ok = ~(np.isnan(conf) | np.isnan(corr))
    return conf[ok], corr[ok] == 1


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width bins [0, 0.1), ..., [0.9, 1.0] (the last one closed): count, mean confidence, accuracy.

    Empty bins have count 0 and NaN means. Answers lacking a confidence or a grade are left out.
    """
    conf, right = _pairs(confidence, correct)
    b = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, weights=conf, minlength=n_bins) / count
        acc = np.bincount(b, weights=right, minlength=n_bins) / count
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame(
        {"lower": edges[:-1], "upper": edges[1:], "count": count, "mean_confidence": mean_conf, "accuracy": acc}
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE = sum over bins b of (n_b / N) * |accuracy_b - mean_confidence_b| (equal-width bins); NaN if N = 0."""
    bins = reliability_bins(confidence, correct, n_bins)
    total = bins["count"].sum()
    if total == 0:
        return float("nan")
    gap = (bins["accuracy"] - bins["mean_confidence"]).abs().fillna(0.0)
    return float((bins["count"] / total * gap).sum())


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def auroc(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Probability that a random right answer has higher confidence than a random wrong one (ties count 1/2).

    Mann-Whitney: (sum of ranks of right answers - P(P+1)/2) / (P * W), with average ranks for ties.
    NaN when there are no right or no wrong answers.
    """
    conf, right = _pairs(confidence, correct)
    pos, neg = int(right.sum()), int((~right).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = average_ranks(conf)
    return float((ranks[right].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def overconfidence(confidence: np.ndarray, correct: np.ndarray, top: float = TOP_CONFIDENCE) -> float:
    """Share of answers given with top confidence (>= `top`) that are wrong; NaN if there are none."""
    conf, right = _pairs(confidence, correct)
    at_top = conf >= top
    return float((~right[at_top]).mean()) if at_top.any() else float("nan")


def top_confidence_share_of_wrong(confidence: np.ndarray, correct: np.ndarray, top: float = TOP_CONFIDENCE) -> float:
    """Share of wrong answers that carried top confidence (>= `top`); NaN if no answer is wrong."""
    conf, right = _pairs(confidence, correct)
    return float((conf[~right] >= top).mean()) if (~right).any() else float("nan")


@dataclass(frozen=True)
class TierCalibration:
    """Calibration figures of one tier over the answers that have both a confidence and a grade (`n`)."""

    tier: str
    n: int
    accuracy: float
    mean_confidence: float
    ece: float
    auroc: float
    overconfidence: float  # share of top-confidence answers that are wrong
    top_share_of_wrong: float  # share of wrong answers given with top confidence
    bins: pd.DataFrame


def calibration_report(matrix: OutcomeMatrix, n_bins: int = 10, top: float = TOP_CONFIDENCE) -> list[TierCalibration]:
    """One `TierCalibration` per tier, in escalation order (a tier without confidences has n = 0 and NaNs)."""
    report = []
    for k, tier in enumerate(matrix.tiers):
        conf, corr = matrix.confidence[:, k], matrix.correct[:, k]
        c, r = _pairs(conf, corr)
        report.append(
            TierCalibration(
                tier=tier,
                n=len(c),
                accuracy=float(r.mean()) if len(r) else float("nan"),
                mean_confidence=float(c.mean()) if len(c) else float("nan"),
                ece=expected_calibration_error(conf, corr, n_bins),
                auroc=auroc(conf, corr),
                overconfidence=overconfidence(conf, corr, top),
                top_share_of_wrong=top_confidence_share_of_wrong(conf, corr, top),
                bins=reliability_bins(conf, corr, n_bins),
            )
        )
    return report
