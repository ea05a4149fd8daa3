"""Sweep analysis, saved sweeps, plots and the recommendation on simulated data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cascade_core.figures.sweep import comparison_figure, figure_html, frontier_figure, reliability_figure
from cascade_core.store import Store
from cascade_core.sweep.analysis import SweepSettings, analyse
from cascade_core.sweep.collect import collect
from cascade_core.sweep.saved import SweepMeta, list_saved, reopen, save_result, saved_points
from cascade_core.sweep.sweep_json import result_to_json
from cascade_core.views.sweep import estimate_text, operating_point, points_table, worse_items
from tests.sweep_support import arithmetic_dataset, sim_config

HOSTILE = "<img src=x onerror=alert(1)>**tier**"


def outcomes(n: int = 300, seed: int = 0, small_name: str = "small") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        d = rng.random()
        for k, (tier, cost, skill) in enumerate([(small_name, 1e-5, 0.6), ("mid", 5e-5, 0.8), ("large", 2e-4, 0.9)]):
            right = d < skill
            conf = float(np.clip((0.85 if right else 0.35) + rng.normal(0, 0.15), 0, 1))
            rows.append({"item_id": f"q{i}", "tier": tier, "tier_index": k, "correct": right, "cost": cost,
                         "confidence": conf, "latency_ms": 100.0 * (k + 1), "answer": f"a{i}-{k}"})
    return pd.DataFrame(rows)


def test_analysis_json_is_strict_json_and_consistent() -> None:
    result = analyse(outcomes())
    data = json.loads(json.dumps(result_to_json(result), allow_nan=False))
    observed = [set(result.matrix.confidence[:, k]) for k in range(2)]
    assert len(data["points"]["per_tier"]) > 21 * 21  # the observed values (~141 per tier), not a 0.05 grid
    fronts = [p["thresholds"] for p in data["fronts"]["per_tier"]]
    assert all(t[0] in observed[0] and t[1] in observed[1] for t in fronts)
    assert data["headline_split"] == "held-out" and set(data["splits"]) == {"held-out", "calibration", "all"}
    assert data["splits"]["held-out"]["n_items"] + data["splits"]["calibration"]["n_items"] == 300
    costs = [p["cost_per_1k"] for p in data["fronts"]["per_tier"]]
    accs = [p["accuracy"] for p in data["fronts"]["per_tier"]]
    assert costs == sorted(costs) and accs == sorted(accs)
    assert data["references"][-1]["kind"] == "oracle"


def test_operating_point_numbers_and_worse_items() -> None:
    result = analyse(outcomes())
    point = result.per_tier_front[len(result.per_tier_front) // 2]
    op = operating_point(result, point)
    large = result.always_large
    assert op.savings == pytest.approx(1 - point.cost_per_1k / large.cost_per_1k)
    assert op.quality_retained == pytest.approx(point.accuracy / large.accuracy)
    assert sum(op.tier_share.values()) == pytest.approx(1.0)
    worse = worse_items(result, point)
    assert (worse["answered_by"] != "large").all()
    assert set(worse.columns) >= {"item_id", "answer", "large_answer"}
    from cascade_core.sweep.frontier import items_worse_than_large

    assert len(worse) and list(worse["item_id"]) == list(items_worse_than_large(result.matrix, point.thresholds))
    table = points_table(result)
    assert {"threshold_small", "threshold_mid", "share_large", "savings_vs_large"} <= set(table.columns)
    assert table["on_front"].sum() == sum(len(f) for f in (result.per_tier_front, result.shared_front,
                                                         result.skip_front, result.view.tier_choice_front))


def test_save_reopen_compare_and_export(tmp_path) -> None:
    with Store(tmp_path / "sweeps.duckdb") as store:
        first = analyse(outcomes(seed=1), SweepSettings(target=0.95))
        a = save_result(store, first, SweepMeta(name="first", dataset="synthetic", source="import"))
        b = save_result(store, analyse(outcomes(seed=2)), SweepMeta(name=HOSTILE, dataset="x", source="live",
                                                                    simulated=True))
        listed = list_saved(store)
        assert set(listed["sweep_id"]) == {a, b}
        row, again = reopen(store, a)
        assert row["target"] == 0.95 and row["grid"]["delta"] == 0.1
        assert result_to_json(again)["fronts"] == result_to_json(first)["fronts"]
        pts_a, pts_b = saved_points(store, a), saved_points(store, b)
        assert pts_a["on_front"].sum() == sum(len(f) for f in (first.per_tier_front, first.shared_front,
                                                               first.skip_front, first.view.tier_choice_front))
        fig = comparison_figure(pts_a, "first", pts_b, HOSTILE, simulated=True)
        text = fig.to_json()
        assert "<img" not in text and "&lt;img" in text and "SIMULATED" in text
        html = figure_html(fig)
        assert "<html>" in html[:200] and "plotly" in html.lower()


def test_plots_escape_names_and_label_simulated() -> None:
    result = analyse(outcomes(small_name=HOSTILE))
    fig = frontier_figure(result, pick=result.per_tier_front[0], simulated=True)
    text = fig.to_json()
    assert "<img" not in text and "SIMULATED" in fig.layout.title.text
    assert any(t.name == "picked point" for t in fig.data)
    assert {t.name for t in fig.data} >= {"per-tier front", "shared front", "oracle"}
    rel = reliability_figure(result.calibration, simulated=True)
    assert "<img" not in rel.to_json() and len(rel.data) == 4  # diagonal + 3 tiers


def test_recommendation_meets_its_target_on_held_out_simulated_questions(fresh_simulator, tmp_path) -> None:
    """900 simulated arithmetic questions (latent difficulty shared by the tiers): pick on half, check the rest."""
    data = arithmetic_dataset(900)
    sim = fresh_simulator(dataset=data)
    config = sim_config(sim)
    with Store(tmp_path / "rec.duckdb") as store:
        collected = collect(data, config, [t.base_url for t in config.tiers], store, concurrency=32)
    assert collected.complete
    result = analyse(collected.outcomes, SweepSettings(target=0.9, split=0.5, seed=3))
    cert = result.certified
    assert cert is not None and cert.certified and cert.holdout is not None
    assert cert.holdout.quality_retained >= 0.9 and cert.holdout.savings > 0.2  # the certified point holds
    assert "With 90% confidence" in cert.statement
    rec = result.estimate
    assert rec is not None and rec.kind != "always_large" and not rec.too_few
    assert rec.n_holdout == 450 and rec.savings.estimate > 0.3
    # measured on the held-out half, the pick keeps its target, and most resamples agree
    assert rec.quality_retained.estimate >= 0.9
    assert rec.probability_meets_target >= 0.8


def test_a_click_on_a_front_line_names_its_point() -> None:
    from cascade_core.views.sweep import clicked_front_point

    event = {"selection": {"points": [{"customdata": ["per_tier", 7]}, {"customdata": ["shared_front", 3]}]}}
    assert clicked_front_point(event) == ("shared", 3)
    assert clicked_front_point({"selection": {"points": [{"customdata": ["per_tier", 7]}]}}) is None
    assert clicked_front_point(None) is None and clicked_front_point({"selection": {"points": []}}) is None


def test_ungraded_answers_get_a_note_and_points_carry_n_graded() -> None:
    graded = analyse(outcomes(60))
    assert not any("graded answers only" in n for n in graded.notes)
    assert all(p.n_graded == 60 for p in graded.splits["all"].references)
    assert all(p.n_graded == 30 for p in graded.references)  # the headline: the held-out half
    table = outcomes(60)
    table["correct"] = table["correct"].astype(object)
    table.loc[(table["tier"] == "small") & table["item_id"].isin(["q1", "q2", "q3"]), "correct"] = None
    result = analyse(table)
    assert any("graded answers only" in n and "different sets of items" in n for n in result.notes)
    data = result_to_json(result)
    assert any("graded answers only" in n for n in data["notes"])
    refs = data["splits"]["all"]["references"]
    assert refs[0]["n_graded"] == 57 and refs[-2]["n_graded"] == 60
    assert {p["n_graded"] for p in data["points"]["shared"]} <= set(range(27, 31))
    assert "n_graded" in points_table(result).columns


def test_auto_split_says_why_it_ignored_the_split_column() -> None:
    table = outcomes(60)
    number = table["item_id"].str[1:].astype(int)
    table["split"] = np.where(number % 3 == 0, "validation", "train")
    result = analyse(table)
    assert result.split_used.startswith("random 50%")
    assert any("'split' column was ignored" in n and "validation" in n for n in result.notes)
    table["split"] = np.where(number % 2 == 0, "train", "test")  # both splits marked: used, no note
    result = analyse(table)
    assert result.split_used == "column 'split'" and not any("ignored" in n for n in result.notes)
    table["split"] = "test"
    assert any("only the held-out split" in n for n in analyse(table).notes)


def test_no_estimate_says_which_settings_it_searched() -> None:
    """The estimate searches per-tier and shared thresholds over every tier only; when none of them qualifies it
    must not say "no cascade setting meets the target" above a certified fewer-tiers pick that does."""
    table = outcomes()
    cheap = table["tier"] != "large"  # every cheaper answer wrong: only escalating all of them keeps the target,
    table.loc[cheap, "correct"], table.loc[cheap, "confidence"] = False, 0.5  # and that costs more than large alone
    table.loc[~cheap, "correct"] = True
    result = analyse(table)
    assert result.estimate is not None and result.estimate.thresholds is None
    text = estimate_text(result)
    assert "no cascade setting" not in text
    assert "per-tier or shared thresholds calling every tier in turn (small → mid → large)" in text
    assert "skipping ahead and leaving tiers out" in text


def test_summary_metrics_show_aiq_with_three_decimals() -> None:
    """0.9 beside 0.899 and 0.903 in one column read as a different precision; every AIQ has three decimals."""
    from dataclasses import replace

    from cascade_core.views.sweep import metrics_table

    metrics = analyse(outcomes()).view.metrics
    name = next(iter(metrics))
    table = metrics_table({**metrics, name: replace(metrics[name], aiq=0.9)})
    assert table["AIQ"].iloc[0] == "0.900"
    assert table["AIQ"].str.fullmatch(r"\d\.\d{3}|n/a").all()
