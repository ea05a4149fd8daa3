"""Exact fronts at the observed confidence values, skip-ahead and abstain policies, and the certified pick."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cascade_core.stats import binom_cdf, labels_to_certify
from cascade_core.sweep.analysis import SweepSettings, analyse, better_reference, drop_dominated
from cascade_core.sweep.candidates import observed_values, per_tier_candidates, skip_candidates
from cascade_core.sweep.certify import certify, errors_among_large_right, labels_needed
from cascade_core.sweep.frontier import FrontierPoint, evaluate, per_tier_thresholds, threshold_grid
from cascade_core.sweep.outcomes import OutcomeMatrix, to_matrix
from cascade_core.sweep.pareto import pareto_front
from cascade_core.sweep.policies import abstain_points, route, setting_points
from tests.frontier_naive import evaluate_loop


def synthetic(n: int, seed: int, *, auroc_noise: float = 0.15) -> OutcomeMatrix:
    """3 nested tiers with a shared latent difficulty; continuous confidences piled up near 1."""
    rng = np.random.default_rng(seed)
    d = rng.random(n)
    right = d[:, None] < np.array([0.6, 0.8, 0.88])
    conf = np.clip(np.where(right, 1 - rng.exponential(0.02, (n, 3)), rng.beta(4, 2, (n, 3))), 0, 1)
    conf = np.clip(conf + rng.normal(0, auroc_noise, (n, 3)) * (conf < 0.97), 0, 1)
    cost = np.tile([1e-5, 5e-5, 2e-4], (n, 1))
    lat = np.tile([100.0, 200.0, 400.0], (n, 1))
    none = np.full(n, None, dtype=object)
    return OutcomeMatrix(np.array([f"q{i}" for i in range(n)]), ("s", "m", "l"), right.astype(float), conf, cost,
                         lat, none, none)


def test_exact_front_reproduces_and_beats_a_brute_force_front_at_001_steps() -> None:
    mat = synthetic(400, 1)
    naive_grid = per_tier_thresholds(mat, threshold_grid(101))
    naive = evaluate_loop(mat, naive_grid)  # the independent replay, one setting at a time
    naive_points = [FrontierPoint(tuple(naive_grid[i]), float(naive["accuracy"][i]), float(naive["cost_per_1k"][i]),
                                  0.0, (), "per_tier") for i in range(len(naive_grid))]
    exact = setting_points(mat, per_tier_candidates(mat, 1000), "per_tier")  # every observed value
    naive_front, exact_front = pareto_front(naive_points), pareto_front(exact)
    # every naive front point is matched or beaten by an exact one: as accurate for no more money
    for p in naive_front:
        assert any(q.cost_per_1k <= p.cost_per_1k + 1e-12 and q.accuracy >= p.accuracy for q in exact_front), p
    # and the exact front reaches strictly better points somewhere (confidences pile up between 0.99 and 1)
    assert any(not any(p.cost_per_1k <= q.cost_per_1k + 1e-12 and p.accuracy >= q.accuracy for p in naive_front)
               for q in exact_front)
    # the vectorised figures at the observed values agree with the replay
    sample = per_tier_candidates(mat, 1000)[::997]
    np.testing.assert_allclose(evaluate(mat, sample)["accuracy"], evaluate_loop(mat, sample)["accuracy"])


def test_observed_values_keep_every_value_near_one_when_subsetting() -> None:
    conf = np.concatenate((np.linspace(0, 0.9, 5000), 1 - np.geomspace(1e-6, 1e-2, 300)))
    values = observed_values(conf, 200)
    assert len(values) <= 200
    assert set(np.sort(np.unique(conf))[-100:]) <= set(values)  # the 100 largest are all there
    assert values.min() <= 0.01  # and the rest of the range is covered
    assert len(observed_values(np.array([0.0, 0.25, 0.25, 1.0, np.nan]), 200)) == 3


def test_skip_ahead_sweep_matches_a_walk_item_by_item() -> None:
    mat = synthetic(300, 2)
    accept, skip = skip_candidates(mat)
    assert len(accept) and (skip[:, 0] > 0).all() and (accept >= skip).all()
    rows = np.arange(0, len(accept), max(1, len(accept) // 40))
    points = setting_points(mat, accept[rows], "skip", skip[rows])
    for p in points:
        r = route(mat, p.thresholds, p.skip)
        got = r.correct(mat)
        assert p.accuracy == pytest.approx(float(np.nanmean(got)))
        assert p.cost_per_1k == pytest.approx(r.cost.mean() * 1000)
    # a skipped item pays small + large, never mid
    p = points[0]
    r = route(mat, p.thresholds, p.skip)
    jumped = (mat.confidence[:, 0] < p.skip[0])
    assert np.allclose(r.cost[jumped], 1e-5 + 2e-4) and (r.tier[jumped] == 2).all()


def test_abstaining_is_counted_apart_and_never_correct() -> None:
    mat = synthetic(200, 3)
    base = FrontierPoint((0.9, 0.9), 0, 0, 0, (), "per_tier")
    plain = route(mat, base.thresholds)
    [point] = abstain_points(mat, base, np.array([0.5]))
    abstained = (plain.tier == 2) & (mat.confidence[:, 2] < 0.5)
    assert point.abstain_share == pytest.approx(abstained.mean()) and point.abstain_share > 0
    got = plain.correct(mat)
    got[abstained] = 0
    assert point.accuracy == pytest.approx(got.mean())
    assert point.cost_per_1k == pytest.approx(plain.cost.mean() * 1000)  # the abstained answers were paid


def test_dominated_settings_are_dropped_and_a_better_reference_is_named() -> None:
    ref_mid = FrontierPoint((), 0.80, 5.0, 0, (1, 0, 0), "always", "always mid")
    refs = [FrontierPoint((), 0.6, 1.0, 0, (), "always", "always small"), ref_mid,
            FrontierPoint((), 0.85, 20.0, 0, (), "always", "always large"),
            FrontierPoint((), 0.9, 6.0, 0, (), "oracle", "oracle")]
    cheap = FrontierPoint((0.5, 0.5), 0.7, 2.0, 0, (), "per_tier")
    dear = FrontierPoint((0.9, 0.9), 0.79, 8.0, 0, (), "per_tier")
    assert drop_dominated([cheap, dear], refs) == [cheap]
    line = better_reference([cheap, dear], refs)
    assert line is not None and line.startswith("Always-mid beats every cascade setting")
    assert better_reference([cheap, FrontierPoint((0.9, 0.9), 0.82, 8.0, 0, (), "per_tier")], refs) is None


def test_exact_binomial_and_labels_needed() -> None:
    assert binom_cdf(0, 100, 0.02) == pytest.approx(0.98**100)
    assert binom_cdf(2, 10, 0.5) == pytest.approx((1 + 10 + 45) / 1024)
    n = labels_to_certify(0.01, 0.02, 0.1)
    assert n is not None and binom_cdf(int(0.01 * n), n, 0.02) <= 0.1
    assert labels_to_certify(0.03, 0.02, 0.1) is None


def test_labels_needed_says_why_an_accurate_estimate_cannot_be_certified() -> None:
    """Small right where large is wrong makes up its accuracy, yet it loses half of large's right answers: the
    text names the certificate's own measure instead of saying the estimate "misses the target" it was picked to
    meet (which read as a contradiction on RouteLLM MMLU)."""
    rows = []
    for i in range(100):
        rows += [{"item_id": f"q{i}", "tier": "s", "tier_index": 0, "correct": i >= 40, "confidence": 0.9,
                  "cost": 0.001},
                 {"item_id": f"q{i}", "tier": "l", "tier_index": 1, "correct": i < 80, "confidence": None,
                  "cost": 0.02}]
    mat = to_matrix(pd.DataFrame(rows))
    accept_all = FrontierPoint((0.5,), 0.6, 1.0, 0, (1.0, 0.0), "per_tier")
    needed = labels_needed(mat, np.ones(mat.n_items, bool), accept_all, 0.95, target=0.95, delta=0.1)
    assert needed is not None and needed.needed is None
    assert "gets 50.0% of the answers always-l gets right wrong" in needed.text
    assert "allows at most 5%" in needed.text and "misses" not in needed.text


def test_certified_pick_passes_its_test_and_stops_at_the_first_failure() -> None:
    mat = synthetic(3000, 4)
    cal = np.zeros(mat.n_items, dtype=bool)
    cal[:1500] = True
    fam = [("per_tier", per_tier_candidates(mat, 40), None, 0)]
    cert = certify(mat, calibration_mask=cal, holdout_mask=~cal, families=fam, target=0.95, delta=0.1, seed=1)
    assert cert.certified and cert.family == "per_tier" and cert.n_learn + cert.n_test == 1500
    passed = [t.passed for t in cert.tested]
    assert all(passed[:-1]) and (passed[-1] or len(passed) >= 1)  # fixed sequence: only the last may fail
    costs = [t.point.cost_per_1k for t in cert.tested]
    assert costs == sorted(costs, reverse=True)  # conservative to aggressive
    assert cert.point is not None and cert.holdout is not None and cert.holdout.savings > 0.2
    n, errors = errors_among_large_right(mat.subset(~cal), cert.point)
    assert errors / n <= 0.08  # on new questions the pick keeps its promise with room to spare
    strict = certify(mat, calibration_mask=cal, holdout_mask=~cal, families=fam, target=1.0, delta=0.1)
    assert not strict.certified and "call l alone" in strict.statement


def test_analysis_labels_its_splits_and_marks_the_current_setting() -> None:
    mat_rows = []
    m = synthetic(600, 5)
    for i in range(m.n_items):
        for k, tier in enumerate(m.tiers):
            mat_rows.append({"item_id": m.item_ids[i], "tier": tier, "tier_index": k, "correct": bool(m.correct[i, k]),
                             "confidence": m.confidence[i, k], "cost": m.cost[i, k]})
    import pandas as pd

    result = analyse(pd.DataFrame(mat_rows), SweepSettings(current=(0.75, 0.75), abstain=True))
    assert result.headline == "held-out" and result.view.n_items == 300
    assert result.splits["all"].n_items == 600 and result.current is not None
    assert result.current.label == "current setting" and result.current.thresholds == (0.75, 0.75)
    assert result.view.abstain and all(p.kind == "abstain" for p in result.view.abstain)
    sub = analyse(pd.DataFrame(mat_rows), SweepSettings(tiers=("s", "l")))
    assert sub.tiers == ("s", "l") and not sub.skip  # two tiers: nothing to skip
