"""Outcome table, vectorised frontier, Pareto front, references and the recommendation, against hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cascade_core.sweep.frontier import (
    FrontierPoint,
    answer_tiers,
    evaluate,
    items_worse_than_large,
    per_tier_points,
    per_tier_thresholds,
    shared_threshold_points,
)
from cascade_core.sweep.outcomes import (
    OUTCOME_COLUMNS,
    OutcomeError,
    OutcomeMatrix,
    has_confidence,
    to_matrix,
    validate_outcomes,
)
from cascade_core.sweep.pareto import pareto_front, points_frame
from cascade_core.sweep.recommend import recommend, split_masks
from cascade_core.sweep.references import reference_points, versus_reference
from tests.frontier_naive import evaluate_loop, evaluate_per_setting

NAN = float("nan")
TIERS = ("s", "m", "l")
COST = {"s": 1.0, "m": 10.0, "l": 100.0}
LAT = {"s": 10.0, "m": 20.0, "l": 40.0}


def table(rows: dict[str, list[tuple[float, float | None]]], tiers=TIERS, cost=COST, lat=LAT) -> pd.DataFrame:
    """rows: item -> [(confidence, correct) per tier]; cost and latency fixed per tier."""
    recs = []
    for item, cells in rows.items():
        for k, (conf, corr) in enumerate(cells):
            recs.append(
                {
                    "item_id": item,
                    "tier": tiers[k],
                    "tier_index": k,
                    "correct": pd.NA if corr is None else bool(corr),
                    "confidence": conf,
                    "cost": cost[tiers[k]],
                    "latency_ms": lat[tiers[k]],
                }
            )
    return pd.DataFrame(recs)


# Table A (3 tiers; costs s=1, m=10, l=100 per item; latency 10/20/40 ms). (confidence, correct) per tier:
#   a: s (0.9, 1)  m (0.8, 1)   l (-, 1)
#   b: s (0.5, 0)  m (0.9, 1)   l (-, 1)
#   c: s (0.5, 1)  m (0.4, 0)   l (-, 0)
#   d: s (NaN, 0)  m (0.95, 0)  l (-, 1)
TABLE_A = {
    "a": [(0.9, 1), (0.8, 1), (NAN, 1)],
    "b": [(0.5, 0), (0.9, 1), (NAN, 1)],
    "c": [(0.5, 1), (0.4, 0), (NAN, 0)],
    "d": [(NAN, 0), (0.95, 0), (NAN, 1)],
}


@pytest.fixture
def mat_a() -> OutcomeMatrix:
    return to_matrix(table(TABLE_A))


def test_validate_fills_defaults_and_orders_columns():
    df = validate_outcomes(table(TABLE_A))
    assert tuple(df.columns) == OUTCOME_COLUMNS
    assert df["tokens_in"].eq(0).all() and df["answer"].isna().all()
    assert str(df["correct"].dtype) == "boolean"
    words = validate_outcomes(table(TABLE_A).assign(correct=["True", "false", None] * 4))
    assert words["correct"].tolist()[:3] == [True, False, pd.NA]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="cost"), "cost"),
        (lambda d: d.assign(confidence=1.5), "confidence"),
        (lambda d: d.assign(cost=-1.0), "cost"),
        (lambda d: d.assign(correct="maybe"), "correct"),
        (lambda d: d.assign(tier_index=0), "tier_index"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate"),
    ],
)
def test_validate_errors_name_the_column(change, message):
    with pytest.raises(OutcomeError, match=message):
        validate_outcomes(change(table(TABLE_A)))


def test_to_matrix_missing_cell_names_item_and_tier():
    df = table(TABLE_A)
    df = df[~((df.item_id == "c") & (df.tier == "m"))]
    with pytest.raises(OutcomeError, match=r"item 'c' has no row for tier 'm'"):
        to_matrix(df)


def test_to_matrix_tier_absent_everywhere_is_dropped():
    df = table(TABLE_A)
    mat = to_matrix(df[df.tier != "m"])
    assert mat.tiers == ("s", "l") and mat.n_items == 4


def test_matrix_layout(mat_a):
    assert list(mat_a.item_ids) == ["a", "b", "c", "d"]
    assert mat_a.tiers == TIERS
    assert np.isnan(mat_a.confidence[3, 0]) and mat_a.correct[2, 2] == 0
    assert has_confidence(mat_a)


def test_hand_computed_settings(mat_a):
    thr = np.array([[0.5, 0.5], [0.6, 0.85], [1.0, 1.0], [0.0, 0.0]])
    res = evaluate(mat_a, thr)
    # (0.5, 0.5): a, b, c accept at s (b and c tie at 0.5: >= accepts); d has no s confidence -> m accepts 0.95.
    #   right: a, c (b, d wrong) -> 0.5; cost 1+1+1+11 = 14 -> 3.5 per item; latency (10+10+10+30)/4 = 15.
    # (0.6, 0.85): a at s (right, 1); b at m 0.9 (right, 11); c: m 0.4 < 0.85 -> l (wrong, 111); d at m (wrong, 11).
    #   0.5; (1+11+111+11)/4 = 33.5; latency (10+30+70+30)/4 = 35.
    # (1, 1): nobody clears 1.0 -> all at l: 3/4 right; 111 each; 70 ms.
    # (0, 0): like (0.5, 0.5); the last tier is never reached.
    np.testing.assert_allclose(res["accuracy"], [0.5, 0.5, 0.75, 0.5])
    np.testing.assert_allclose(res["mean_cost"], [3.5, 33.5, 111.0, 3.5])
    np.testing.assert_allclose(res["cost_per_1k"], [3500.0, 33500.0, 111000.0, 3500.0])
    np.testing.assert_allclose(res["mean_latency_ms"], [15.0, 35.0, 70.0, 15.0])
    np.testing.assert_allclose(res["tier_share"], [[0.75, 0.25, 0], [0.25, 0.5, 0.25], [0, 0, 1], [0.75, 0.25, 0]])


def test_threshold_point_cost_is_sum_of_every_invoked_tier():
    mat = random_matrix(500, 3, seed=3)
    for thr in ([0.3, 0.7], [0.55, 0.1], [2.0, 0.5]):
        tiers = answer_tiers(mat, thr)
        spent = sum(mat.cost[i, : tiers[i] + 1].sum() for i in range(mat.n_items))  # explicit per item
        assert evaluate(mat, np.array([thr]))["mean_cost"][0] * mat.n_items == pytest.approx(spent, rel=1e-12)


def test_mid_tier_without_confidence_is_never_an_answer(mat_a):
    df = table(TABLE_A)
    df.loc[df.tier == "m", "confidence"] = NAN
    res = evaluate(to_matrix(df), np.array([[0.6, 0.0]]))
    # a accepts at s; b, c (0.5 < 0.6) and d (NaN) pass m (no confidence: escalate) and reach l.
    # right: a, b (l right), c (l wrong), d (l right) -> 3/4; cost 1 + 3 * 111 = 334 -> 83.5.
    assert res["tier_share"][0].tolist() == [0.25, 0.0, 0.75]
    assert res["accuracy"][0] == 0.75 and res["mean_cost"][0] == pytest.approx(83.5)


def test_all_correct_and_all_wrong_tiers():
    # Small tier always wrong yet confident; large always right.
    rows = {f"i{i}": [(0.9, 0), (NAN, 1)] for i in range(5)}
    mat = to_matrix(table(rows, tiers=("s", "l"), cost={"s": 1.0, "l": 4.0}, lat={"s": 1.0, "l": 2.0}))
    res = evaluate(mat, np.array([[0.5], [0.95]]))
    # 0.5: everyone accepted at s -> accuracy 0, cost 1. 0.95: everyone escalates -> accuracy 1, cost 1 + 4 = 5.
    np.testing.assert_allclose(res["accuracy"], [0.0, 1.0])
    np.testing.assert_allclose(res["mean_cost"], [1.0, 5.0])
    refs = {p.label: p for p in reference_points(mat)}
    assert refs["always s"].accuracy == 0 and refs["always l"].accuracy == 1
    assert refs["always l"].cost_per_1k == 4000.0  # always-large pays the large tier only
    assert refs["oracle"].accuracy == 1 and refs["oracle"].cost_per_1k == 5000.0  # paid s, then l


def test_missing_correctness_is_left_out_of_accuracy():
    rows = {"a": [(0.9, None), (NAN, 1)], "b": [(0.9, 1), (NAN, 0)], "c": [(0.1, 0), (NAN, 1)]}
    mat = to_matrix(table(rows, tiers=("s", "l"), cost={"s": 1.0, "l": 2.0}, lat={"s": 1.0, "l": 1.0}))
    res = evaluate(mat, np.array([[0.5]]))
    # a answered at s but ungraded -> left out; b right at s; c escalates, right at l -> 2/2.
    assert res["accuracy"][0] == 1.0 and res["n_graded"][0] == 2
    assert res["mean_cost"][0] == pytest.approx((1 + 1 + 3) / 3)
    point = shared_threshold_points(mat, [0.5])[0]
    assert point.accuracy == 1.0 and point.n_graded == 2  # the denominator travels with the point
    refs = {p.label: p for p in reference_points(mat)}
    assert refs["always s"].n_graded == 2 and refs["always l"].n_graded == 3


def test_references_and_oracle(mat_a):
    refs = {p.label: p for p in reference_points(mat_a)}
    assert [refs[f"always {t}"].accuracy for t in TIERS] == [0.5, 0.5, 0.75]
    assert [refs[f"always {t}"].cost_per_1k for t in TIERS] == [1000.0, 10000.0, 100000.0]
    # Oracle: a -> s (1), b -> m (1+10), c -> s (1), d -> l (111): all right, (1+11+1+111)/4 = 31 per item.
    oracle = refs["oracle"]
    assert oracle.accuracy == 1.0 and oracle.cost_per_1k == pytest.approx(31000.0)
    assert oracle.tier_share == (0.5, 0.25, 0.25) and oracle.kind == "oracle"
    # Against always-l (100 per item, 0.75): oracle saves 1 - 31/100 and retains 1 / 0.75 of the quality.
    savings, retained = versus_reference(oracle, refs["always l"])
    assert savings == pytest.approx(0.69) and retained == pytest.approx(4 / 3)


def test_oracle_with_no_correct_tier_pays_every_tier():
    rows = {"x": [(0.9, 0), (0.9, 0)]}
    mat = to_matrix(table(rows, tiers=("s", "l"), cost={"s": 1.0, "l": 3.0}, lat={"s": 1.0, "l": 1.0}))
    oracle = reference_points(mat)[-1]
    assert oracle.accuracy == 0.0 and oracle.cost_per_1k == 4000.0 and oracle.tier_share == (0.0, 1.0)


def test_shared_and_per_tier_points(mat_a):
    shared = shared_threshold_points(mat_a, [0.5, 1.0])
    assert [p.thresholds for p in shared] == [(0.5, 0.5), (1.0, 1.0)]
    assert [p.kind for p in shared] == ["shared", "shared"]
    grid = per_tier_points(mat_a, [[0.6], [0.85, 1.0]])
    assert [p.thresholds for p in grid] == [(0.6, 0.85), (0.6, 1.0)]
    assert grid[0].cost_per_1k == pytest.approx(33500.0)
    assert per_tier_thresholds(mat_a, np.linspace(0, 1, 11)).shape == (121, 2)
    frame = points_frame(grid)
    assert list(frame["cost_per_1k"]) == [p.cost_per_1k for p in grid]


def test_items_worse_than_large(mat_a):
    # At (0.5, 0.5): b answered wrong at s and d wrong at m, while l gets both right; c is wrong at l too.
    assert list(items_worse_than_large(mat_a, [0.5, 0.5])) == ["b", "d"]


def pt(cost: float, acc: float, label: str, lat: float = 0.0) -> FrontierPoint:
    return FrontierPoint((), acc, cost, lat, (), "per_tier", label)


def test_pareto_with_ties():
    points = [
        pt(10, 0.80, "A"),
        pt(10, 0.85, "B"),  # same cost, more accurate: B beats A
        pt(20, 0.85, "C"),  # dearer and not better than B: dominated
        pt(30, 0.90, "D", lat=5),
        pt(30, 0.90, "E", lat=3),  # equal to D in both: the lower latency wins
        pt(30, 0.90, "F", lat=3),  # equal to E in everything: first in input order (E) wins
        pt(5, 0.70, "G"),
        pt(40, NAN, "H"),  # ignored
    ]
    assert [p.label for p in pareto_front(points)] == ["G", "B", "E"]
    assert pareto_front([]) == []


def random_matrix(n: int, t: int, seed: int, missing: float = 0.1) -> OutcomeMatrix:
    rng = np.random.default_rng(seed)
    conf = np.round(rng.random((n, t)), 2)  # rounded: many confidences tie with grid thresholds
    conf[rng.random((n, t)) < missing] = np.nan
    correct = (rng.random((n, t)) < 0.6).astype(float)
    correct[rng.random((n, t)) < missing / 2] = np.nan
    lat = rng.random((n, t)) * 100
    lat[rng.random((n, t)) < missing / 5] = np.nan
    none = np.full(n, None, dtype=object)
    ids = np.array([f"q{i}" for i in range(n)])
    tiers = tuple(f"t{k}" for k in range(t))
    return OutcomeMatrix(ids, tiers, correct, conf, rng.random((n, t)), lat, none, none)


@pytest.mark.parametrize("t", [1, 2, 3, 4])
def test_vectorised_equals_naive_loop(t):
    mat = random_matrix(200, t, seed=t)
    rng = np.random.default_rng(10 + t)
    thr = np.concatenate([np.round(rng.random((40, t - 1)), 2), rng.random((20, t - 1)), np.full((1, t - 1), 5.0)])
    fast, loop, per_setting = evaluate(mat, thr), evaluate_loop(mat, thr), evaluate_per_setting(mat, thr)
    for key in ("accuracy", "n_graded", "mean_cost", "cost_per_1k", "mean_latency_ms", "tier_share"):
        np.testing.assert_allclose(fast[key], loop[key], rtol=1e-12, equal_nan=True, err_msg=key)
        np.testing.assert_allclose(fast[key], per_setting[key], rtol=1e-12, equal_nan=True, err_msg=key)


def test_many_distinct_thresholds_are_chunked():
    # 3,000 random settings over 3 thresholds: far more rank cells than one chunk allows.
    mat = random_matrix(300, 4, seed=7)
    thr = np.random.default_rng(1).random((3000, 3))
    np.testing.assert_allclose(evaluate(mat, thr)["mean_cost"], evaluate_per_setting(mat, thr)["mean_cost"])


def test_bad_threshold_shapes(mat_a):
    with pytest.raises(ValueError, match="shape"):
        evaluate(mat_a, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        evaluate(mat_a, np.array([[NAN, 0.5]]))


def test_split_masks_column_and_fraction():
    df = table(TABLE_A)
    df["split"] = df["item_id"].map({"a": "train", "b": "Calibration", "c": "test", "d": "holdout"})
    cal, hold = split_masks(df, "split")
    assert cal.tolist() == [True, True, False, False] and hold.tolist() == [False, False, True, True]
    assert split_masks(to_matrix(df), "split")[0].tolist() == cal.tolist()
    df.loc[df.item_id == "d", "split"] = "dev"
    with pytest.raises(ValueError, match="dev"):
        split_masks(df, "split")
    cal, hold = split_masks(to_matrix(table(TABLE_A)), 0.5, seed=1)
    assert cal.sum() == 2 and not (cal & hold).any()
    assert (split_masks(to_matrix(table(TABLE_A)), 0.5, seed=1)[0] == cal).all()  # seeded: repeatable


def synthetic_cascade(n: int, seed: int, confident_gap: bool) -> OutcomeMatrix:
    """3 tiers sharing one latent difficulty per item; confidence is calibrated: P(right | conf) = conf."""
    rng = np.random.default_rng(seed)
    difficulty = rng.random(n)
    skill = np.array([0.55, 0.75, 0.9])
    p_right = np.clip(skill - (difficulty[:, None] - 0.5) * 0.6, 0.02, 0.98)
    if confident_gap:  # clearly separated: wrong answers say 0.2, right ones 0.8+
        right = rng.random((n, 3)) < p_right
        conf = np.where(right, 0.8 + 0.2 * rng.random((n, 3)), 0.2)
    else:
        conf = rng.beta(p_right * 8, (1 - p_right) * 8)  # confidence scattered around p_right
        right = rng.random((n, 3)) < conf  # calibrated by construction
    none = np.full(n, None, dtype=object)
    cost = np.tile([1.0, 4.5, 15.0], (n, 1)) * 1e-4
    return OutcomeMatrix(
        np.array([f"q{i}" for i in range(n)]), ("s", "m", "l"), right.astype(float), conf, cost, cost * 1e4, none, none
    )


def test_recommendation_meets_target_on_holdout():
    mat = synthetic_cascade(20_000, seed=5, confident_gap=True)
    cal, hold = split_masks(mat, 0.5, seed=0)
    rec = recommend(mat, 0.95, calibration_mask=cal, holdout_mask=hold, n_boot=300)
    assert rec.kind in ("per_tier", "shared") and rec.thresholds is not None
    assert rec.quality_retained.estimate >= 0.95 and rec.quality_retained.low >= 0.95
    assert rec.probability_meets_target >= 0.95 and not rec.too_few
    assert rec.savings.estimate > 0.2 and rec.savings.low <= rec.savings.estimate <= rec.savings.high
    assert "safe pick" in rec.confidence_note
    assert rec.n_calibration == rec.n_holdout == 10_000


def test_recommendation_on_calibrated_scatter_is_close_to_target():
    mat = synthetic_cascade(40_000, seed=9, confident_gap=False)
    cal, hold = split_masks(mat, 0.5, seed=2)
    rec = recommend(mat, 0.97, calibration_mask=cal, holdout_mask=hold, n_boot=300)
    assert rec.calibration_accuracy >= 0.97 * rec.calibration_large_accuracy
    assert rec.quality_retained.estimate >= 0.97 - 0.01  # a fresh split: within noise of the target
    assert 0 < rec.cost_per_1k.estimate < rec.large_cost_per_1k
    assert math.isclose(sum(rec.tier_share), 1.0)


def test_recommendation_says_too_few_on_tiny_data():
    mat = synthetic_cascade(60, seed=1, confident_gap=False)
    cal, hold = split_masks(mat, 0.5, seed=0)
    rec = recommend(mat, 0.98, calibration_mask=cal, holdout_mask=hold, n_boot=200)
    assert rec.too_few and "Too few" in rec.confidence_note and "30 held-out" in rec.confidence_note


def test_recommendation_falls_back_to_always_large():
    # The small tier is always wrong: no cascade can keep 99% of quality more cheaply than the large tier alone.
    rows = {f"i{i}": [(0.9, 0), (NAN, 1)] for i in range(10)}
    mat = to_matrix(table(rows, tiers=("s", "l"), cost={"s": 1.0, "l": 4.0}, lat={"s": 1.0, "l": 2.0}))
    mask = np.arange(10) < 5
    rec = recommend(mat, 0.99, calibration_mask=mask, holdout_mask=~mask, n_boot=50)
    assert rec.kind == "always_large" and rec.thresholds is None
    assert rec.savings.estimate == 0.0 and rec.quality_retained.estimate == 1.0
    assert "largest tier directly" in rec.confidence_note
