"""Sampling is stratified by tier, confidence level and category, reproducible, and skips audited answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cascade_core.audit import confidence_level, stratified_sample
from cascade_core.audit.sampler import allocate


def candidates(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tiers = rng.choice(["small", "mid"], size=n, p=[0.8, 0.2])
    return pd.DataFrame({
        "run_id": [f"r{i:05d}" for i in range(n)],
        "step_index": [0] * n,
        "tier_name": tiers,
        "confidence": rng.choice([0.75, 1.0], size=n, p=[0.3, 0.7]),
        "category": rng.choice(["factual", "arithmetic", "reasoning", "rare", None], size=n,
                               p=[0.4, 0.3, 0.25, 0.03, 0.02]),
    })


def test_same_seed_same_sample_regardless_of_row_order() -> None:
    frame = candidates()
    first = stratified_sample(frame, 50, seed=7)
    shuffled = frame.sample(frac=1.0, random_state=3)
    again = stratified_sample(shuffled, 50, seed=7)
    assert list(first["run_id"]) == list(again["run_id"])
    other = stratified_sample(frame, 50, seed=8)
    assert list(first["run_id"]) != list(other["run_id"])


def test_sample_is_stratified_and_covers_rare_strata() -> None:
    frame = candidates()
    sample = stratified_sample(frame, 60, seed=1)
    assert len(sample) == 60 and sample["run_id"].is_unique
    strata = frame.assign(category=frame["category"].fillna("(none)"),
                          level=[confidence_level(c) for c in frame["confidence"]])
    all_strata = set(map(tuple, strata[["tier_name", "level", "category"]].to_numpy()))
    got = set(map(tuple, sample[["tier_name", "confidence_level", "category"]].to_numpy()))
    assert got == all_strata  # 60 >= number of strata: every stratum is represented
    # Proportional otherwise: the share of each tier is within a few items of its share of the candidates.
    share = (frame["tier_name"] == "small").mean()
    assert abs((sample["tier_name"] == "small").sum() - 60 * share) <= len(all_strata) / 2


def test_small_and_large_requests() -> None:
    frame = candidates(40)
    assert len(stratified_sample(frame, 1000, seed=0)) == 40  # all of them
    assert len(stratified_sample(frame, 3, seed=0)) == 3  # fewer than strata
    with pytest.raises(ValueError):
        stratified_sample(frame, 0, seed=0)


def test_allocation_sums_and_respects_sizes() -> None:
    rng = np.random.default_rng(0)
    sizes = np.array([100, 50, 3, 1, 1])
    for n in (1, 4, 5, 6, 30, 154):
        counts = allocate(sizes, n, rng)
        assert counts.sum() == min(n, sizes.sum()) and (counts <= sizes).all() and (counts >= 0).all()
        if n >= len(sizes):
            assert (counts >= 1).all()


def test_confidence_levels() -> None:
    assert confidence_level(0.75) == "0.75-0.90"
    assert confidence_level(1.0) == ">=0.99"
    assert confidence_level(0.3) == "<0.50"
    assert confidence_level(None) == "unknown"
    assert confidence_level(float("nan")) == "unknown"
