"""Exact binomial tail, the one-sided test of an error rate built on it, and the Wilson interval.

One place for these: the sweep's certified recommendation (Learn-then-Test), routing's re-certification on live
traffic and the audit all test "the error rate exceeds a limit" the same way.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k of n (a percentile bootstrap collapses at 0 or 1; this does not)."""
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
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    log_terms = math.lgamma(n + 1) - lg(i + 1) - lg(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
    top = float(np.max(log_terms))
    return float(min(1.0, math.exp(top) * float(np.sum(np.exp(log_terms - top)))))


def error_rate_p_value(errors: int, n: int, max_error: float) -> float:
    """p-value of H0 "the error rate exceeds max_error" after seeing `errors` in `n`: P(Bin(n, max_error) <= errors).

    Small p: the data are unlikely unless the error rate really is at most max_error (exact, valid at any n)."""
    if n == 0:
        return 1.0
    return binom_cdf(errors, n, max_error)


def labels_to_certify(error_rate: float, max_error: float, risk: float, limit: int = 10_000_000) -> int | None:
    """Fewest trials n at which an observed rate `error_rate` (errors = floor(rate x n)) passes the test at `risk`.

    None when the rate is not below `max_error` (no amount of data certifies it) or n would exceed `limit`."""
    if not 0 <= error_rate < max_error or not 0 < risk < 1:
        return None

    def passes(n: int) -> bool:
        return error_rate_p_value(math.floor(error_rate * n + 1e-9), n, max_error) <= risk

    hi = 1
    while not passes(hi):
        hi *= 2
        if hi > limit:
            return None
    lo = hi // 2
    while hi - lo > 1:  # the p-value is not exactly monotone in n (floor steps): the first passing n near the edge
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi
