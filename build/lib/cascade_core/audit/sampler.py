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
    """How many to draw per stratum: proportional to its size, each count the floor or ceiling of its exact
    share, the ceilings handed out at random with probability equal to the share's fraction (systematic
    sampling over the fractions), so every stratum's expected count is exactly its share.

    Every answer is then equally likely to be sampled, so the plain sample rate is an unbiased estimate of the
    window's rate (no weights needed). No stratum is guaranteed an item: a floor of one per stratum would
    over-sample rare strata and bias the unweighted rate towards them.
    """
    sizes = np.asarray(sizes, dtype=int)
    total = int(sizes.sum())
    if n >= total:
        return sizes.copy()
    exact = sizes * n / total
    counts = np.floor(exact).astype(int)
    rest = n - int(counts.sum())
    if rest > 0:
        cumulative = np.cumsum(exact - counts)
        cumulative *= rest / cumulative[-1]  # the fractions add up to `rest`; remove float noise
        points = rng.random() + np.arange(rest)  # one point per unit, spaced 1 apart: at most one per stratum
        hits = np.minimum(np.searchsorted(cumulative, points, side="right"), len(sizes) - 1)
        counts += np.bincount(hits, minlength=len(sizes))
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
