"""The learned router against the threshold cascade (pure, on synthetic outcome tables with known structure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cascade_core.cascade.config import default_config
from cascade_core.routing.learned import evaluate_learned_router, mean_gain, route_tiers, split_mask
from cascade_core.routing.logistic import fit_logistic
from cascade_core.routing.recertify import recertify_labels
from cascade_core.routing.route_sweep import route_threshold_points, walk_from
from cascade_core.sweep.outcomes import to_matrix


def _table(n: int, *, informative: bool, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two tiers. With `informative`, embedding dimension 0 says whether the small tier is right; the small tier's
    confidence is noise, so a cascade cannot tell, but a router reading the embedding can."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, 8))
    small_right = emb[:, 0] > 0 if informative else rng.uniform(size=n) < 0.5
    rows = []
    for i in range(n):
        rows.append({"item_id": f"q{i}", "tier": "small", "tier_index": 0, "correct": bool(small_right[i]),
                     "confidence": float(rng.uniform()), "cost": 1e-5})
        rows.append({"item_id": f"q{i}", "tier": "large", "tier_index": 1, "correct": True, "cost": 1e-4})
    return pd.DataFrame(rows), emb


def test_logistic_regression_learns_a_separable_rule() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    model = fit_logistic(x, x[:, 1] > 0.2, l2=0.1)
    assert ((model.predict(x) > 0.5) == (x[:, 1] > 0.2)).mean() > 0.97
    constant = fit_logistic(x, np.ones(400, dtype=bool))
    assert np.all(constant.predict(x) > 0.99)


def test_router_that_reads_the_embedding_beats_a_blind_cascade() -> None:
    table, emb = _table(600, informative=True)
    matrix = to_matrix(table)
    result = evaluate_learned_router(matrix, emb, split_mask(matrix, seed=1), use_confidence=False)
    assert result.auroc["small"] > 0.9 and result.helps and "helps" in result.verdict()
    assert result.n_train + result.n_test == 600


def test_says_plainly_when_it_does_not_help() -> None:
    table, emb = _table(600, informative=False)
    matrix = to_matrix(table)
    result = evaluate_learned_router(matrix, emb, split_mask(matrix, seed=1), use_confidence=False)
    assert not result.helps and "does NOT help" in result.verdict()
    assert abs(result.auroc["small"] - 0.5) < 0.1


def test_routing_picks_the_cheapest_tier_predicted_right() -> None:
    probabilities = np.array([[0.9, 0.9], [0.2, 0.8], [0.1, 0.1]])
    assert route_tiers(probabilities, 0.5).tolist() == [0, 1, 2]
    learned = pd.DataFrame({"cost_per_1k": [1.0, 2.0], "accuracy": [0.7, 0.9]})
    cascade = pd.DataFrame({"cost_per_1k": [1.5, 2.0], "accuracy": [0.6, 0.95]})
    assert mean_gain(learned, cascade) == pytest.approx(((0.7 - 0.6) + (0.9 - 0.95)) / 2)


def test_recertify_labels_certified_and_too_few() -> None:
    config = default_config().with_overrides(thresholds=[0.6, 0.75])
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.6, 1.0, 300)
    labels = pd.DataFrame({"run_id": [f"r{i}" for i in range(300)], "created_at": pd.Timestamp("2026-11-20"),
                           "tier_index": 0, "confidence": conf, "correct": rng.uniform(size=300) < 0.97,
                           "label_source": "shadow"})
    recert = recertify_labels(labels, config, target=0.9, risk=0.1, min_labels=30)
    small, mid = recert.tiers
    assert small.status == "certified" and small.n_at_threshold == 300 and small.by_source == {"shadow": 300}
    assert small.certified_threshold is not None and small.certified_threshold <= 0.6 + 1e-9
    assert mid.status == "too_few_labels" and mid.n_labels == 0 and not recert.alert


def test_route_sweep_replays_the_walk_from_the_routes_tier() -> None:
    # Three tiers; item 0 is easy (small confident and right), item 1 hard (only large right, small confident).
    table = pd.DataFrame([
        {"item_id": "easy", "tier": "s", "tier_index": 0, "correct": True, "confidence": 0.9, "cost": 1.0},
        {"item_id": "easy", "tier": "m", "tier_index": 1, "correct": True, "confidence": 0.9, "cost": 10.0},
        {"item_id": "easy", "tier": "l", "tier_index": 2, "correct": True, "confidence": 0.9, "cost": 100.0},
        {"item_id": "hard", "tier": "s", "tier_index": 0, "correct": False, "confidence": 0.9, "cost": 1.0},
        {"item_id": "hard", "tier": "m", "tier_index": 1, "correct": False, "confidence": 0.2, "cost": 10.0},
        {"item_id": "hard", "tier": "l", "tier_index": 2, "correct": True, "confidence": 0.9, "cost": 100.0},
    ])
    matrix = to_matrix(table)
    tier, cost = walk_from(matrix, 1, [0.5, 0.5])
    assert tier.tolist() == [1, 2] and cost.tolist() == [10.0, 110.0]
    alone, alone_cost = walk_from(matrix, 2, [0.5, 0.5], escalate=False)
    assert alone.tolist() == [2, 2] and alone_cost.tolist() == [100.0, 100.0]
    # The hard question is the one similar to the route's examples: routing it to large fixes it.
    points = route_threshold_points(matrix, np.array([0.2, 0.95]), 2, [0.5, 0.5], [1.0, 0.9, 0.1])
    assert points["routed_share"].tolist() == [0.0, 0.5, 1.0]
    assert points["accuracy"].tolist() == [0.5, 1.0, 1.0]
    assert points["cost_per_1k"].tolist() == [1000.0, (1.0 + 100.0) / 2 * 1000, 100_000.0]
