"""Learn-then-Test style fixed-sequence test over one tier's thresholds, on live labels.

The exact binomial test it runs at each threshold lives in cascade_core/stats/binomial.py, shared with the
sweep's certified recommendation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cascade_core.stats.binomial import error_rate_p_value


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
