"""The threshold settings a sweep evaluates: the confidence values that actually occur, not a fixed grid.

A threshold only changes an outcome where a confidence value sits, so evaluating every observed value gives the
true front of the data at any resolution. When a tier has more distinct values than the budget, a subset is
taken: half the budget spread over the distribution by quantile, the other half every largest value (where
confidences pile up near 1 and where most of the savings are decided). Candidates read confidences only, never
correctness, so using them on calibration data keeps the certification valid.
"""

from __future__ import annotations

import numpy as np

from cascade_core.sweep.outcomes import OutcomeMatrix

PER_TIER_SETTINGS = 20_000  # about 141 values per tier for 3 tiers
SHARED_VALUES = 1_000
SKIP_VALUES = 8  # skip-ahead thresholds tried per tier (low confidence values)
SKIP_ACCEPT_VALUES = 31  # accept thresholds per tier combined with each skip threshold


def observed_values(confidence: np.ndarray, budget: int) -> np.ndarray:
    """Distinct finite confidence values (sorted); above `budget`, quantiles plus every largest value."""
    values = np.unique(confidence[np.isfinite(confidence)])
    if len(values) <= budget:
        return values
    top = max(1, budget // 2)
    finite = np.sort(confidence[np.isfinite(confidence)])
    spread = finite[np.linspace(0, len(finite) - 1, budget - top).round().astype(int)]
    return np.unique(np.concatenate((spread, values[-top:])))


def per_tier_budget(n_dims: int, settings: int = PER_TIER_SETTINGS) -> int:
    return max(2, int(settings ** (1 / max(n_dims, 1))))


def per_tier_candidates(matrix: OutcomeMatrix, budget: int | None = None) -> np.ndarray:
    """Every combination (m, t-1) of each non-final tier's observed values (within the budget)."""
    d = matrix.n_tiers - 1
    if d == 0:
        return np.empty((1, 0))
    per = budget or per_tier_budget(d)
    axes = [_or_one(observed_values(matrix.confidence[:, k], per)) for k in range(d)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in mesh], axis=1)


def shared_candidates(matrix: OutcomeMatrix, budget: int = SHARED_VALUES) -> np.ndarray:
    """One threshold for every non-final tier (m, t-1), at the values observed at any non-final tier."""
    d = matrix.n_tiers - 1
    values = _or_one(observed_values(matrix.confidence[:, :d].ravel(), budget))
    return np.repeat(values.reshape(-1, 1), d, axis=1)


def skip_candidates(matrix: OutcomeMatrix, skip_values: int = SKIP_VALUES,
                    accept_values: int = SKIP_ACCEPT_VALUES) -> tuple[np.ndarray, np.ndarray]:
    """(accept (m, t-1), skip (m, t-1)) of skip-ahead settings; empty below 3 tiers.

    Skip thresholds are tried at the lower half of each tier's observed values (tiers with a tier between them and
    the last; the others get 0, never skip); each is combined with the accept values at or above it."""
    d = matrix.n_tiers - 1
    if d < 2:
        return np.empty((0, d)), np.empty((0, d))
    accept = per_tier_candidates(matrix, accept_values)
    skip_axes = []
    for k in range(d):
        if k >= d - 1:
            skip_axes.append(np.array([0.0]))
            continue
        conf = matrix.confidence[:, k]
        low = conf[np.isfinite(conf) & (conf <= np.nanmedian(conf))] if np.isfinite(conf).any() else conf[:0]
        values = observed_values(low, skip_values + 1)
        skip_axes.append(values[values > 0][:skip_values] if len(values) else values)  # 0 would never skip
    mesh = np.meshgrid(*skip_axes, indexing="ij")
    skips = np.stack([a.ravel() for a in mesh], axis=1)
    skips = skips[(skips[:, : d - 1] > 0).any(axis=1)] if len(skips) else skips
    acc_rows, skip_rows = [], []
    for s in skips:
        ok = accept[(accept >= s).all(axis=1)]  # skipping below s only makes sense when s <= accept
        acc_rows.append(ok)
        skip_rows.append(np.repeat(s.reshape(1, -1), len(ok), axis=0))
    if not acc_rows:
        return np.empty((0, d)), np.empty((0, d))
    return np.concatenate(acc_rows), np.concatenate(skip_rows)


def abstain_candidates(matrix: OutcomeMatrix, budget: int = 20) -> np.ndarray:
    """Final thresholds on the last tier's confidence (lower half of its observed values); empty without any."""
    conf = matrix.confidence[:, -1]
    if not np.isfinite(conf).any():
        return np.empty(0)
    low = conf[np.isfinite(conf) & (conf <= np.nanmedian(conf))]
    values = observed_values(low, budget)
    out: np.ndarray = values[values > 0]
    return out


def _or_one(values: np.ndarray) -> np.ndarray:
    """A tier without any confidence still needs one threshold value (it then always escalates)."""
    return values if len(values) else np.array([1.0])


def start_candidates(matrix: OutcomeMatrix, budget: int | None = None) -> list[tuple[int, np.ndarray]]:
    """Tier choices: for each start tier 1 .. t-2, the accept settings (m, t-1) of the tiers from it on (the
    thresholds of tiers before it are 1.0 and never used: those tiers are not called)."""
    d = matrix.n_tiers - 1
    out = []
    for start in range(1, d):
        axes = [np.array([1.0])] * start + [
            _or_one(observed_values(matrix.confidence[:, k], budget or per_tier_budget(d - start)))
            for k in range(start, d)]
        mesh = np.meshgrid(*axes, indexing="ij")
        out.append((start, np.stack([a.ravel() for a in mesh], axis=1)))
    return out
