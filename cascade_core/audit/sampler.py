"""Stratified, seeded sampling of accepted answers (pure: a DataFrame in, a DataFrame out)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

STRATA: tuple[str, ...] = ("tier_name", "confidence_level", "category")
UNCATEGORISED = "(none)"
# Normalised-confidence bands. Self-rated 4/5 is 0.75 and 5/5 is 1.0, so they land in different bands.
LEVEL_EDGES: tuple[float, ...] = (0.5, 0.75, 0.9, 0.99)
LEVEL_LABELS: tuple[str, ...] = ("<0.50", "0.50-0.75", "0.75-0.90", "0.90-0.99", ">=0.99")


def confidence_level(value: float | None) -> str:
    """The band a normalised confidence falls in (its label sorts in confidence order)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    for edge, label in zip(LEVEL_EDGES, LEVEL_LABELS, strict=False):
        if value < edge:
            return label
    return LEVEL_LABELS[-1]


def add_strata(candidates: pd.DataFrame) -> pd.DataFrame:
    """Add confidence_level and a filled category column, the keys sampling stratifies on."""
    out = candidates.copy()
    out["confidence_level"] = [confidence_level(v) for v in out["confidence"].astype("float64")]
    out["category"] = out["category"].astype("object").where(out["category"].notna(), UNCATEGORISED)
    return out


def allocate(sizes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """How many to draw per stratum: proportional (largest remainder), at least one per stratum if n allows."""
    sizes = np.asarray(sizes, dtype=int)
    total = int(sizes.sum())
    if n >= total:
        return sizes.copy()
    exact = sizes * n / total
    counts = np.floor(exact).astype(int)
    floor_at = 1 if n >= len(sizes) else 0
    counts = np.maximum(counts, floor_at)  # cover rare strata when n allows
    jitter = rng.random(len(sizes)) * 1e-9  # seeded tie-break
    while counts.sum() < n:  # hand out the rest by largest remainder, where a stratum has rows left
        gain = np.where(counts < sizes, exact - counts + jitter, -np.inf)
        counts[int(np.argmax(gain))] += 1
    while counts.sum() > n:  # the floor overshot: take back where the count most exceeds its share
        excess = np.where(counts > floor_at, counts - exact + jitter, -np.inf)
        counts[int(np.argmax(excess))] -= 1
    return counts


def stratified_sample(candidates: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Draw n rows stratified by tier, confidence level and category; same input and seed give the same rows.

    `candidates` needs run_id, step_index, tier_name, confidence and category columns. The input order does
    not matter: rows are sorted by (run_id, step_index) first.
    """
    if n <= 0:
        raise ValueError(f"sample size must be positive, got {n}")
    frame = add_strata(candidates).sort_values(["run_id", "step_index"], kind="stable").reset_index(drop=True)
    if frame.empty:
        return frame
    rng = np.random.default_rng(seed)
    groups = frame.groupby(list(STRATA), sort=True, dropna=False)
    counts = allocate(groups.size().to_numpy(), n, rng)
    picked: list[int] = []
    for (_, group), take in zip(groups, counts, strict=True):
        if take:
            picked.extend(int(i) for i in rng.choice(group.index.to_numpy(), size=int(take), replace=False))
    return frame.loc[sorted(picked)].reset_index(drop=True)
