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


def test_sample_is_stratified_in_proportion() -> None:
    frame = candidates()
    sample = stratified_sample(frame, 60, seed=1)
    assert len(sample) == 60 and sample["run_id"].is_unique
    strata = frame.assign(category=frame["category"].fillna("(none)"),
                          confidence_level=[confidence_level(c) for c in frame["confidence"]])
    keys = ["tier_name", "confidence_level", "category"]
    share = strata.groupby(keys).size() * 60 / len(frame)
    got = sample.groupby(keys).size().reindex(share.index, fill_value=0)
    # Every stratum gets the floor or the ceiling of its exact share, no more (no floor of one per stratum).
    assert ((got >= np.floor(share)) & (got <= np.ceil(share))).all()


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
        exact = sizes * min(n, sizes.sum()) / sizes.sum()
        assert ((counts >= np.floor(exact)) & (counts <= np.ceil(exact))).all()


def test_sample_rate_is_unbiased_with_a_dominant_stratum() -> None:
    """One stratum of 950 answers, all right, and five of 10, all wrong: the population rate is 5%. A floor of one
    item per stratum sampled the five small strata 5 times out of 50 (10%); proportional allocation must not."""
    sizes = [950] + [10] * 5
    tiers = [f"t{k}" for k, size in enumerate(sizes) for _ in range(size)]
    frame = pd.DataFrame({
        "run_id": [f"r{i:05d}" for i in range(len(tiers))], "step_index": 0, "tier_name": tiers,
        "confidence": 0.8, "category": "factual",
    })
    wrong = dict(zip(frame["run_id"], [t != "t0" for t in tiers], strict=True))
    population = sum(wrong.values()) / len(wrong)
    rates = [np.mean([wrong[r] for r in stratified_sample(frame, 50, seed=s)["run_id"]]) for s in range(400)]
    assert population == pytest.approx(0.05)
    assert np.mean(rates) == pytest.approx(population, abs=0.004)
    rng = np.random.default_rng(1)
    mean_counts = np.mean([allocate(np.array(sizes), 50, rng) for _ in range(4000)], axis=0)
    assert mean_counts == pytest.approx(np.array(sizes) * 50 / 1000, abs=0.05)  # each stratum's exact share


def test_confidence_levels() -> None:
    assert confidence_level(0.75) == "0.75-0.90"
    assert confidence_level(1.0) == ">=0.99"
    assert confidence_level(0.3) == "<0.50"
    assert confidence_level(None) == "unknown"
    assert confidence_level(float("nan")) == "unknown"
