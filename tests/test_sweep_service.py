"""The sweep service's rules (tiers, current setting, saving a point to the config, naming, questions kept with a
saved sweep, comparison) and the words the Sweep page shows for an operating point, on real analyses."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cascade_core.cascade import default_config, load_config
from cascade_core.cli.sweep_output import human_report
from cascade_core.store import Store
from cascade_core.sweep import (
    FrontierPoint,
    SweepMeta,
    SweepSettings,
    analyse,
    analyse_loaded,
    compare,
    config_for_tiers,
    current_setting,
    default_name,
    import_sweep,
    open_saved,
    point_config,
    save_point,
)
from cascade_core.sweep.service import LoadedSweep, resolve_split
from cascade_core.views import config_snippet, recommendation_lines, versus_current

ROOT = Path(__file__).resolve().parents[1]


def outcomes(n: int = 200, seed: int = 0, tiers: tuple[str, ...] = ("small", "mid", "large"),
             mid_dominates: bool = False) -> pd.DataFrame:
    """A self-rated outcome table. With `mid_dominates`, the large tier is right exactly where mid is and small's
    confidence says nothing, so always-mid beats every cascade setting."""
    rng = np.random.default_rng(seed)
    difficulty = rng.random(n)
    rows = []
    for i in range(n):
        for k, tier in enumerate(tiers):
            right = difficulty[i] < (0.5, 0.85, 0.93)[k] if len(tiers) == 3 else difficulty[i] < (0.6, 0.9)[k]
            if mid_dominates and k == 2:
                right = difficulty[i] < 0.85
            level = rng.integers(1, 6) if mid_dominates and k == 0 else (5 if right and rng.random() < 0.8 else
                                                                          int(rng.integers(1, 5)))
            rows.append({"item_id": f"q{i}", "tier": tier, "tier_index": k, "correct": bool(right),
                         "confidence": (level - 1) / 4, "cost": (0.0002, 0.001, 0.004)[k], "answer": f"a{k}"})
    return pd.DataFrame(rows)


def test_config_for_tiers_keeps_thresholds_and_names_bad_tiers() -> None:
    config = default_config().model_copy(update={"thresholds": [0.5, 0.75]})
    sub = config_for_tiers(config, ["mid", "large"])
    assert [t.name for t in sub.tiers] == ["mid", "large"] and sub.thresholds == [0.75]
    assert config_for_tiers(config, ["small", "mid", "large"]) is config
    with pytest.raises(ValueError, match=r"unknown tier.*huge"):
        config_for_tiers(config, ["small", "huge"])
    with pytest.raises(ValueError, match="at least two"):
        config_for_tiers(config, ["large"])


def test_current_setting_only_for_the_configured_cascade() -> None:
    config = default_config()
    assert current_setting(config, ["small", "mid", "large"], "self_rated") == (0.75, 0.75)
    assert current_setting(config, ["mid", "large"], "self_rated") is None  # another cascade
    assert current_setting(config, ["small", "mid", "large"], "logprob") is None


def _point(thresholds: tuple[float, ...], start: int = 0, skip: tuple[float, ...] = ()) -> FrontierPoint:
    return FrontierPoint(thresholds, 0.9, 1.0, 0.0, (0.5, 0.3, 0.2)[: len(thresholds) + 1], "per_tier", skip=skip,
                         start=start)


def test_point_config_maps_sub_cascades_onto_the_configured_tiers(tmp_path: Path) -> None:
    config = default_config()
    path = tmp_path / "cascade.toml"
    shutil.copy(ROOT / "examples" / "embedded.toml", path)
    # the configured tiers: one to one
    save_point(path, _point((1.0, 0.5)), ["small", "mid", "large"], config)
    saved = load_config(path)
    assert saved.thresholds == [1.0, 0.5] and saved.start_tier is None and not any(saved.skip_below)
    assert len(saved.tiers) == 3 and "# The embedded simulated tiers" in path.read_text()  # the rest is kept
    # mid -> large: the small tier is not called
    save_point(path, _point((0.75,)), ["mid", "large"], config)
    saved = load_config(path)
    assert saved.start_tier == "mid" and saved.thresholds[1] == 0.75
    # small -> large: below its threshold small sends the question straight to large (no band for mid)
    save_point(path, _point((0.5,)), ["small", "large"], config)
    saved = load_config(path)
    assert saved.start_tier is None and saved.thresholds[0] == 0.5 and saved.skip_below[0] == 0.5
    # models of an imported file are not the configured tiers: nothing is written
    before = path.read_text()
    with pytest.raises(ValueError, match="not the configured tiers"):
        save_point(path, _point((0.5,)), ["gpt-4o-mini", "gpt-4o"], config)
    assert path.read_text() == before


def test_snippet_reads_self_rated_levels() -> None:
    config = default_config()
    values = point_config(_point((1.0, 0.5)), ["small", "mid", "large"], config)
    text = config_snippet(values, ["small", "mid", "large"], "self_rated")
    assert text.splitlines()[0] == "# small: accept 5 only · mid: accept 3, 4 or 5"
    assert "thresholds = [1, 0.5]" in text and "start_tier" not in text
    skip = point_config(_point((0.5,)), ["small", "large"], config)
    assert config_snippet(skip, ["small", "mid", "large"], "self_rated").splitlines()[0] == (
        "# small: accept 3, 4 or 5, else large")


def test_change_against_the_current_setting_in_levels() -> None:
    result = analyse(outcomes(), SweepSettings(current=(0.75, 0.75)))
    cur = result.current
    assert cur is not None and cur.label == "current setting"
    cheaper = min(result.per_tier_front, key=lambda p: p.cost_per_1k)
    text = versus_current(cheaper, cur, result.always_large, "self_rated", result.tiers)
    assert text is not None and text.endswith("vs your current setting (small: accept 4 or 5 · mid: accept 4 or 5)")
    expected = (cur.cost_per_1k - cheaper.cost_per_1k) / result.always_large.cost_per_1k
    assert text.startswith(f"{expected * 100:+.1f} points savings, ")  # points, as the accuracy beside it
    assert "%" not in text
    assert versus_current(cur, cur, result.always_large, "self_rated", result.tiers).startswith("the same outcome")


def test_when_mid_beats_every_cascade_setting_the_box_names_it_once() -> None:
    result = analyse(outcomes(400, mid_dominates=True))
    ref = result.view.dominating
    assert ref is not None and ref.label == "always mid"
    lines = recommendation_lines(result, "self_rated")
    text = " ".join(t for _, t in lines)
    assert "mid alone" in text
    assert not ("call large alone" in text and any(tone == "success" for tone, _ in lines))
    # the certification calling the last tier alone: the cheaper choice is offered as such, not as a contradiction
    cert = result.certified
    assert cert is not None
    none = replace(result, certified=replace(cert, point=None, statement="No cascade setting could be certified "
                                             "…: call large alone."))
    tones = recommendation_lines(none, "self_rated")
    assert [t for t, _ in tones] == ["warning", "info"]
    assert "If mid's accuracy is enough for you, call mid alone instead of large" in tones[1][1]


def test_the_cli_report_never_advises_a_reference_below_the_target_it_certified_against() -> None:
    """Found on a real one-slot server: the text report said "Call small alone rather than a cascade" under a
    certified "call large alone" (small was far below the 98% target). The report says what the page says."""
    result = analyse(outcomes(400, mid_dominates=True))
    cert = result.certified
    assert cert is not None
    none = replace(result, certified=replace(cert, point=None, statement="No cascade setting could be certified "
                                             "…: call large alone."))
    for shown in (result, none):
        report = human_report(shown, "s1", SweepMeta("t", "d", "import", signal="self_rated"))
        assert "rather than a cascade" not in report
        for _, line in recommendation_lines(shown, "self_rated")[1:]:
            assert line in report  # the page's wording, once
    assert "If mid's accuracy is enough for you, call mid alone instead of large" in human_report(
        none, "s1", SweepMeta("t", "d", "import", signal="self_rated"))


def test_no_recommendation_names_its_one_reason() -> None:
    """Recorded results without confidence (RouteLLM's wide tables) or without a split: the first line says which."""
    blind = outcomes(200)
    blind["confidence"] = np.nan
    lines = recommendation_lines(analyse(blind), "self_rated")
    assert lines[0][1].startswith("No recommendation: the results hold no confidence values")
    one_split = analyse(outcomes(200).assign(split="test"), SweepSettings(split="split"))
    assert one_split.certified is None
    assert "no calibration / held-out split" in recommendation_lines(one_split, "self_rated")[0][1]


def test_no_dominating_reference_means_one_line() -> None:
    result = analyse(outcomes(400))
    assert result.view.dominating is None
    assert len(recommendation_lines(result, "self_rated")) == 1


def test_loaded_sweep_is_saved_once_with_its_questions_and_reopens(tmp_path: Path) -> None:
    table = outcomes(60)
    questions = {f"q{i}": f"Question number {i}?" for i in range(60)}
    meta = SweepMeta(name=default_name("demo", ["small", "mid", "large"]), dataset="demo", source="live")
    loaded = LoadedSweep(table, meta, questions=questions)
    with Store(tmp_path / "s.duckdb") as store:
        settings = SweepSettings(split=0.5)
        result, saved = analyse_loaded(store, loaded, settings)
        again, saved_again = analyse_loaded(store, loaded, settings)
        assert saved and not saved_again and again is result  # analysed and saved once
        reopened = open_saved(store, str(loaded.sweep_id))
        assert reopened.questions == questions and reopened.meta.name.startswith("demo · small → mid → large · ")
        assert reopened.memo is not None and reopened.memo[0] == settings
        other = LoadedSweep(table[table["item_id"].isin([f"q{i}" for i in range(40)])],
                            replace(meta, name="fewer"))
        analyse_loaded(store, other, settings)
        cmp = compare(store, str(loaded.sweep_id), str(other.sweep_id))
    assert cmp.warning is not None and "different questions (60 and 40, 40 in common)" in cmp.warning
    rows = cmp.differences.set_index("")
    assert rows.loc["questions", "differs"] and not rows.loc["tiers", "differs"]
    assert cmp.names[1].startswith("fewer (")


def test_comparing_a_real_import_with_a_simulated_sweep_marks_only_the_simulated_one(tmp_path: Path) -> None:
    """A real recorded import beside a simulated live sweep: the plot is not titled "SIMULATED data"; the
    simulated sweep's name says it is."""
    with Store(tmp_path / "s.duckdb") as store:
        real = LoadedSweep(outcomes(30), SweepMeta(name="recorded", dataset="d", source="import"))
        sim = LoadedSweep(outcomes(30), SweepMeta(name="sim", dataset="d", source="live", simulated=True))
        for loaded in (real, sim):
            analyse_loaded(store, loaded, SweepSettings(split=0.5))
        cmp = compare(store, str(real.sweep_id), str(sim.sweep_id))
        both = compare(store, str(sim.sweep_id), str(sim.sweep_id))
    assert not cmp.simulated and both.simulated
    assert cmp.names[0] == f"recorded ({real.sweep_id})"
    assert cmp.names[1] == f"sim ({sim.sweep_id}) · SIMULATED"


def test_many_imported_files_get_a_short_default_name(tmp_path: Path) -> None:
    """57 RouteLLM files made a 1,800-character sweep name in the picker and the comparison legend."""
    frame = outcomes(40).rename(columns={"tier": "model"}).drop(columns=["tier_index"])
    paths = []
    number = frame["item_id"].str[1:].astype(int)
    for part in range(5):  # each file holds some of the questions (its name becomes their category)
        path = tmp_path / f"subject_{part}.csv"
        frame[number % 5 == part].to_csv(path, index=False)
        paths.append(str(path))
    loaded, _ = import_sweep(paths, name="")
    assert loaded.meta.name.startswith("subject_0.csv, subject_1.csv and 3 more files · ")
    assert loaded.meta.dataset == ", ".join(f"subject_{i}.csv" for i in range(5))  # the record keeps every file


def test_split_rule_live_has_no_column_import_rereads_it(tmp_path: Path) -> None:
    live = LoadedSweep(outcomes(20), SweepMeta(name="x", dataset="d", source="live"))
    with pytest.raises(ValueError, match="a live sweep has no split column"):
        resolve_split(live, "phase")
    assert resolve_split(live, 0.3) == 0.3
    frame = outcomes(40).rename(columns={"tier": "model"}).drop(columns=["tier_index"])
    frame["phase"] = ["calibration" if int(i[1:]) < 25 else "holdout" for i in frame["item_id"]]
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    loaded, _ = import_sweep([str(path)], name="")
    assert loaded.meta.name.startswith("r.csv · ") and loaded.meta.source == "import"
    assert resolve_split(loaded, "phase") == "split"  # read again with "phase" as the split field
    assert set(loaded.outcomes["split"].dropna()) == {"calibration", "holdout"}


def test_big_clouds_are_thinned_on_the_plot_and_say_so() -> None:
    from cascade_core.figures import frontier_figure

    rng = np.random.default_rng(3)
    table = outcomes(3000)
    table["confidence"] = rng.random(len(table)).round(4)  # continuous: thousands of per-tier settings
    result = analyse(table, SweepSettings(split=0.5))
    assert len(result.per_tier) > 2000
    traces = {t.name: t for t in frontier_figure(result).data}
    cloud = next(t for name, t in traces.items() if name.startswith("per-tier thresholds"))
    assert cloud.name == f"per-tier thresholds (2,000 of {len(result.per_tier):,} shown)" and len(cloud.x) == 2000
    assert len(traces["per-tier front"].x) == len(result.per_tier_front)  # fronts drawn in full


def test_stored_questions_are_redacted_as_runs_are() -> None:
    from cascade_core.datasets.loader import Item
    from cascade_core.sweep.service import stored_questions

    items = [Item(id="a", question="Mail jane.doe@example.com about it?", gold="yes", answer_type="text",
                  category="factual", difficulty=None, line=1)]
    plain = stored_questions(items, default_config())
    assert plain == {"a": "Mail jane.doe@example.com about it?"}
    private = default_config().model_copy(update={"privacy": default_config().privacy.model_copy(
        update={"redact": ["email"]})})
    assert stored_questions(items, private) == {"a": "Mail [EMAIL] about it?"}
