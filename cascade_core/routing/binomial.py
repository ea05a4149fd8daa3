"""Exact binomial tail and a Learn-then-Test style fixed-sequence test over thresholds (self-contained).

TODO(unify): the sweep's certified recommendation (cascade_core/sweep/, another branch) carries its own
Learn-then-Test; once it is on main, both should share one binomial test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k of n (as audit/stats.py; kept here so routing does not import the audit)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), exactly (log-space terms, so large n is fine)."""
    if n < 0 or k < 0:
        return 0.0 if k < 0 else 1.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    i = np.arange(k + 1, dtype=np.float64)
    log_terms = (math.lgamma(n + 1) - np.array([math.lgamma(x + 1) for x in i])
                 - np.array([math.lgamma(n - x + 1) for x in i]) + i * math.log(p) + (n - i) * math.log1p(-p))
    top = float(np.max(log_terms))
    return float(min(1.0, math.exp(top) * float(np.sum(np.exp(log_terms - top)))))


def error_rate_p_value(errors: int, n: int, max_error: float) -> float:
    """p-value of H0 "the error rate exceeds max_error" after seeing `errors` in `n`: P(Bin(n, max_error) <= errors).
    Small p: the data are unlikely unless the error rate really is at most max_error."""
    if n == 0:
        return 1.0
    return binom_cdf(errors, n, max_error)


@dataclass(frozen=True)
class ThresholdTest:
    threshold: float
    n: int  # labelled answers with confidence >= threshold (the ones this threshold would accept)
    errors: int
    p_value: float
    passed: bool


def fixed_sequence_test(confidence: np.ndarray, correct: np.ndarray, thresholds: Sequence[float], *,
                        target: float, risk: float, min_labels: int) -> list[ThresholdTest]:
    """Learn-then-Test with fixed-sequence testing: thresholds from the strictest down, each tested at level
    `risk`, stopping at the first that fails. Thresholds accepting fewer than `min_labels` labels are skipped
    (that depends on the confidences only, not on the outcomes, so the guarantee holds). Every threshold that
    passed is certified: with probability >= 1 - risk, accepted answers at it are right at rate >= target."""
    out: list[ThresholdTest] = []
    max_error = 1.0 - target
    for threshold in sorted({float(t) for t in thresholds}, reverse=True):
        accepted = confidence >= threshold
        n = int(accepted.sum())
        if n < min_labels:
            continue
        errors = int((~correct[accepted]).sum())
        p = error_rate_p_value(errors, n, max_error)
        out.append(ThresholdTest(threshold, n, errors, p, p <= risk))
        if p > risk:
            break
    return out
