"""Pure statistics for audits: Wilson score intervals for proportions and Cohen's kappa for agreement."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class Proportion:
    """k of n with its Wilson score interval (a bootstrap collapses at 0 or n; Wilson does not)."""

    k: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials; (0, 1) when n is 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"expected 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Clamp rounding noise; at k = 0 the lower bound is exactly 0, at k = n the upper bound exactly 1.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def proportion(k: int, n: int, z: float = Z95) -> Proportion:
    low, high = wilson_interval(k, n, z)
    return Proportion(k=k, n=n, low=low, high=high)


@dataclass(frozen=True)
class Agreement:
    """How often a reviewer agrees with the judge, and Cohen's kappa over the two label sequences."""

    n: int
    agree: int
    rate: Proportion
    kappa: float | None  # None when undefined (too few reviews, or a rater used one label only)
    note: str = ""


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when chance agreement is 1 (undefined)."""
    if len(first) != len(second):
        raise ValueError(f"expected equal lengths, got {len(first)} and {len(second)}")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def agreement(judge: Sequence[str], reviewer: Sequence[str], *, min_reviews: int) -> Agreement:
    """Agreement rate (with a Wilson interval) and kappa, the latter only from `min_reviews` reviews on."""
    n = len(judge)
    agree = sum(a == b for a, b in zip(judge, reviewer, strict=True))
    if n < min_reviews:
        return Agreement(n, agree, proportion(agree, n), None, f"kappa needs at least {min_reviews} reviews")
    # A rater who used one label only gives kappa 0 (or 0/0) whatever the other does: not a measure of agreement.
    if len(set(judge)) == 1:
        note = "the judge used only one verdict in the reviewed items: kappa is undefined"
        return Agreement(n, agree, proportion(agree, n), None, note)
    if len(set(reviewer)) == 1:
        note = "the reviews used only one label (every review implies the same verdict): kappa is undefined"
        return Agreement(n, agree, proportion(agree, n), None, note)
    kappa = cohen_kappa(judge, reviewer)
    return Agreement(n, agree, proportion(agree, n), kappa, "" if kappa is not None else "kappa is undefined")
