"""The Sweep page (Streamlit AppTest): renders, runs a small live sweep, picks points, imports a results file."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "sweep.py")



def ok(app: AppTest) -> AppTest:
    assert not app.exception, [e.message for e in app.exception]
    return app


def render() -> AppTest:
    return ok(AppTest.from_file(PAGE, default_timeout=60).run())

def import_file(path: Path, costs: str | None = None) -> AppTest:
    """The page with the results file at `path` imported (and per-model costs typed in, when given)."""
    app = render()
    app.radio(key="sweep_source").set_value("Import recorded results")
    ok(app.run())
    # The page reads local files only from the data folders (default ./data; the store fixture chdirs to tmp).
    inside = Path.cwd() / "data" / path.name
    if path.resolve() != inside.resolve():
        inside.parent.mkdir(exist_ok=True)
        inside.write_bytes(path.read_bytes())
    app.text_input(key="sweep_results_path").set_value(str(inside))
    if costs is not None:
        app.text_area(key="sweep_costs").set_value(costs)
    app.button(key="sweep_import").click()
    ok(app.run())
    return app



def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_page_renders_with_nothing_yet(store_path: Path) -> None:
    app = render()
    assert app.radio[0].value == "Live on the configured tiers"
    assert any("SIMULATED" in m.value for m in app.markdown)
    assert [b.label for b in app.button][:2] == ["Start", "Stop"]


def test_small_live_sweep_completes_and_picking_a_point_updates_numbers(store_path: Path) -> None:
    app = render()
    app.number_input(key="sweep_limit").set_value(30)
    app.button(key="sweep_start").click()
    ok(app.run())
    deadline = time.time() + 60
    while not app.metric and time.time() < deadline:  # the job runs in a thread; each run polls it
        time.sleep(0.3)
        ok(app.run())
    assert app.metric, "the live sweep did not finish"
    assert any("SIMULATED" in m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) >= 2  # frontier and reliability diagram
    before = (metric(app, "Accuracy"), metric(app, "Cost per 1,000"))
    slider = app.select_slider[0]
    options = slider.options
    slider.set_value(options[0] if slider.value != options[0] else options[-1])
    ok(app.run())
    after = (metric(app, "Accuracy"), metric(app, "Cost per 1,000"))
    assert after != before
    assert any("Recommendation" in e.value for e in app.subheader)
    # no config file in reach (the embedded default): the lines to paste, no button that could write nowhere
    assert any(c.value.startswith("No config file is in use") for c in app.caption)
    assert not [b for b in app.button if b.key == "sweep_save_config"]
    # a second start is all cache: the page says nothing was spent
    app.button(key="sweep_start").click()
    ok(app.run())
    deadline = time.time() + 30
    job = app.session_state["sweep_job"]
    while job.running and time.time() < deadline:
        time.sleep(0.2)
    assert job.result is not None and job.result.progress.calls == 0 and job.result.progress.cached == 90


def test_import_without_confidence_says_why_there_is_no_curve(store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({"id": ["q1", "q2", "q3", "q4"], "small": [True, False, True, False],
                  "large": [True, True, True, False]}).to_csv(path, index=False)
    app = import_file(path, costs="small=0.0001\nlarge=0.001")
    assert any("no cascade curve" in i.value for i in app.info)
    assert not app.metric  # no operating point without a curve
    refs = app.dataframe[0].value
    assert list(refs["reference"]) == ["always small", "always large", "oracle"]
    # No empty reliability diagram or table of n/a: the calibration section says why it is empty.
    assert "sweep_reliability" not in [c.key for c in app.get("plotly_chart")]
    assert len(app.dataframe) == 1
    assert any("nothing to calibrate" in c.value for c in app.caption)


def test_import_errors_and_hostile_text_render_as_text(store_path: Path, tmp_path: Path) -> None:
    hostile = "**bold** <script>alert(1)</script> [x](javascript:alert(1))"
    path = tmp_path / "long.csv"
    pd.DataFrame({"item_id": ["a", "a"], "model": [hostile, "large"], "correct": ["maybe", "true"],
                  "cost": [0.1, 0.2]}).to_csv(path, index=False)
    app = import_file(path)
    assert [e.value for e in app.error] == ["Import failed"]
    assert "maybe" in app.text[0].value  # the message names the bad value, shown as plain text


def _long_with_phase(tmp_path: Path) -> Path:
    rows = []
    for i in range(40):
        for k, (model, cost) in enumerate({"small": 0.0001, "large": 0.002}.items()):
            rows.append({"item_id": f"q{i}", "model": model, "correct": (i * (k + 3)) % 7 != 0, "cost": cost,
                         "confidence": round(((i * 13 + k * 5) % 10) / 10, 2),
                         "phase": "calibration" if i < 25 else "holdout"})
    path = tmp_path / "phase.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_import_split_on_a_named_column(store_path: Path, tmp_path: Path) -> None:
    app = import_file(_long_with_phase(tmp_path))
    app.text_input(key="sweep_split").set_value("phase")  # a column not named split/fold: re-imported as the split
    ok(app.run())
    assert not app.error, [e.value for e in app.error]
    assert any("column 'split' · 25 calibration and 15 held-out" in m.value for m in app.markdown)
    app.radio(key="sweep_detail_split").set_value("calibration")  # the details, and their fronts, per split
    ok(app.run())
    assert "(calibration questions)" in chart(app, "sweep_frontier_calibration")["layout"]["title"]["text"]
    assert any(c.value == "25 calibration questions" for c in app.caption)


def test_reopened_sweep_keeps_its_saved_settings_and_analysis(store_path: Path, tmp_path: Path) -> None:
    from cascade_core.store import Store
    from cascade_core.sweep.analysis import SweepSettings, analyse
    from cascade_core.sweep.importer import import_results
    from cascade_core.sweep.saved import SweepMeta, save_result

    outcomes = import_results(_long_with_phase(tmp_path)).outcomes
    settings = SweepSettings(target=0.9, split=0.3, seed=5, shared_steps=51, per_tier_steps=11)
    with Store(store_path) as store:
        sweep_id = save_result(store, analyse(outcomes, settings), SweepMeta(name="saved", dataset="d",
                                                                             source="import"))
    app = render()
    app.radio(key="sweep_source").set_value("Saved sweeps")
    ok(app.run())
    app.button(key="sweep_open").click()
    ok(app.run())
    assert app.number_input(key="sweep_target").value == 0.9
    assert app.text_input(key="sweep_split").value == "0.3"
    assert app.number_input(key="sweep_seed").value == 5
    loaded = app.session_state["sweep_loaded"]
    memo_settings, result = loaded.memo
    assert memo_settings == settings and len(result.per_tier) <= 11 and len(result.shared) <= 51
    assert loaded.sweep_id == sweep_id  # not saved again
    assert any("random 30% calibration (seed 5)" in m.value for m in app.markdown)


def test_html_export_is_built_only_when_downloaded(store_path: Path, tmp_path: Path, monkeypatch) -> None:
    import cascade_core.figures

    built: list[int] = []
    real = cascade_core.figures.figure_html
    monkeypatch.setattr(cascade_core.figures, "figure_html", lambda fig: built.append(1) or real(fig))
    app = import_file(_long_with_phase(tmp_path))
    ok(app.run())
    assert app.get("download_button") and not built  # rendered, never built on a rerun


def live(app: AppTest, limit: int, tiers: list[str] | None = None, name: str | None = None) -> AppTest:
    """Start a live sweep of the first `limit` bundled questions and wait (polling) until its results show."""
    app.number_input(key="sweep_limit").set_value(limit)
    if tiers is not None:
        app.pills(key="sweep_tiers_live").set_value(tiers)
    if name is not None:
        app.text_input(key="sweep_name").set_value(name)
    app.button(key="sweep_start").click()
    ok(app.run())
    deadline = time.time() + 90
    while not any(s.value == "Recommendation" for s in app.subheader) and time.time() < deadline:
        time.sleep(0.3)
        ok(app.run())
    assert any(s.value == "Recommendation" for s in app.subheader), "the live sweep did not finish"
    return app


def chart(app: AppTest, key: str) -> dict:
    import json

    return json.loads(next(c for c in app.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)


def test_pick_a_point_and_save_it_to_the_config_in_use(store_path: Path, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from cascade_core.cascade import load_config

    config_file = tmp_path / "team.toml"
    shutil.copy(Path(PAGE).parents[1] / "examples" / "embedded.toml", config_file)
    monkeypatch.setenv("CASCADE_CONFIG", str(config_file))
    app = live(render(), 60)
    slider = app.select_slider[0]  # the chooser's only slider
    labels = slider.options
    assert len(set(labels)) == len(labels) >= 2  # one stop per distinct outcome
    assert all("accept" in label for label in labels)  # self-rated: levels of 1-5, not 0.75 vs 0.76
    assert not any("0.7" in label.split("→")[0] for label in labels)
    traces = {t.get("name") for t in chart(app, "sweep_frontier")["data"]}
    assert {"current setting", "picked point"} <= traces  # the configured setting is marked on the frontier
    before = metric(app, "Accuracy"), metric(app, "Cost per 1,000")
    slider.set_value(labels[0] if slider.value != labels[0] else labels[-1])
    ok(app.run())
    assert (metric(app, "Accuracy"), metric(app, "Cost per 1,000")) != before
    change = next(m.value for m in app.markdown if m.value.startswith("**Change:**"))
    assert "vs your current setting (small: accept 4 or 5 · mid: accept 4 or 5)" in change
    snippet = app.code[0].value
    assert snippet.startswith("# small: accept") and "thresholds = [" in snippet
    pick = app.session_state["sweep_loaded"].memo[1]
    app.button(key="sweep_save_config").click()
    ok(app.run())
    assert any(str(config_file) in s.value for s in app.success), [s.value for s in app.success]
    saved = load_config(config_file)  # the file in use reloads with the chosen thresholds
    written = next(line for line in snippet.splitlines() if line.startswith("thresholds"))
    assert f"thresholds = [{', '.join(f'{v:g}' for v in saved.thresholds)}]" == written
    assert saved.thresholds != [0.75, 0.75] or "same outcome" in change
    assert len(saved.tiers) == 3 and pick.tiers == ("small", "mid", "large")


def test_a_save_to_the_config_can_be_undone(store_path: Path, tmp_path: Path, monkeypatch) -> None:
    """Saving an operating point overwrites the config's thresholds; the page offers to put the file back as it
    was, and refuses when the file changed since (someone edited it)."""
    import shutil

    config_file = tmp_path / "team.toml"
    shutil.copy(Path(PAGE).parents[1] / "examples" / "embedded.toml", config_file)
    original = config_file.read_text()
    monkeypatch.setenv("CASCADE_CONFIG", str(config_file))
    app = live(render(), 60)
    slider = app.select_slider[0]
    slider.set_value(slider.options[0])  # the cheapest stop: not the configured setting
    ok(app.run())
    app.button(key="sweep_save_config").click()
    ok(app.run())
    assert config_file.read_text() != original
    app.button(key="sweep_undo_config").click()
    ok(app.run())
    assert config_file.read_text() == original
    assert any("back as it was" in s.value for s in app.success)
    assert not [b for b in app.button if b.key == "sweep_undo_config"]  # one undo per save
    app.button(key="sweep_save_config").click()
    ok(app.run())
    config_file.write_text(config_file.read_text() + "# edited by hand\n")
    app.button(key="sweep_undo_config").click()
    ok(app.run())
    assert config_file.read_text().endswith("# edited by hand\n")  # not overwritten
    assert any("changed since the save" in e.value for e in app.error)


def test_live_sweep_of_chosen_tiers_with_a_name(store_path: Path) -> None:
    from cascade_core.store import Store
    from cascade_core.sweep import list_saved

    app = live(render(), 20, tiers=["mid", "large"], name="mid only, week 49")
    loaded = app.session_state["sweep_loaded"]
    assert loaded.memo[1].tiers == ("mid", "large") and loaded.meta.name == "mid only, week 49"
    assert any("tiers mid → large" in c.value for c in app.caption)
    with Store(store_path) as store:
        saved = list_saved(store)
    assert list(saved["name"]) == ["mid only, week 49"] and list(saved["tiers"]) == ["mid → large"]


def test_one_tier_cannot_start(store_path: Path) -> None:
    app = render()
    app.pills(key="sweep_tiers_live").set_value(["large"])
    ok(app.run())
    assert app.button(key="sweep_start").disabled
    assert any("at least two tiers" in w.value for w in app.warning)


def _save_import(store_path: Path, tmp_path: Path, name: str, n: int, questions: bool) -> str:
    from cascade_core.store import Store
    from cascade_core.sweep.analysis import SweepSettings, analyse
    from cascade_core.sweep.saved import SweepMeta, save_result
    from tests.test_sweep_service import outcomes as table

    outcomes = table(40)
    outcomes = outcomes[outcomes["item_id"].isin([f"q{i}" for i in range(n)])]
    text = {f"q{i}": f"What is question {i} about?" for i in range(n)} if questions else None
    with Store(store_path) as store:
        return save_result(store, analyse(outcomes, SweepSettings(split=0.5)),
                           SweepMeta(name=name, dataset="d", source="live"), text)


def test_reopened_sweep_shows_question_text_and_comparison_warns(store_path: Path, tmp_path: Path) -> None:
    first = _save_import(store_path, tmp_path, "all forty", 40, questions=True)
    _save_import(store_path, tmp_path, "first thirty", 30, questions=False)
    app = render()
    app.radio(key="sweep_source").set_value("Saved sweeps")
    ok(app.run())
    assert any("different questions (30 and 40, 30 in common)" in w.value for w in app.warning)
    differences = next(d.value for d in app.dataframe if "differs" in d.value.columns).set_index("")
    assert differences.loc["questions", "differs"] and differences.loc["name", "second"] == "all forty"
    spec = chart(app, "sweep_compare_chart")
    colours = {t["name"].split(" (")[0]: t.get("line", t.get("marker", {})).get("color") for t in spec["data"]}
    assert colours["first thirty"] != colours["all forty"]  # coloured by sweep
    app.selectbox(key="sweep_reopen").set_value(first)
    app.button(key="sweep_open").click()
    ok(app.run())
    worse = next(d.value for d in app.dataframe if "large_answer" in d.value.columns)
    assert any(c.value.endswith("question text kept for 40") for c in app.caption)
    assert app.session_state["sweep_loaded"].questions["q7"] == "What is question 7 about?"
    assert worse.empty or worse["question"].str.startswith("What is question").all()


def test_a_reference_beating_every_cascade_setting_is_named(store_path: Path, tmp_path: Path) -> None:
    from tests.test_sweep_service import outcomes

    frame = outcomes(300, mid_dominates=True).rename(columns={"tier": "model"}).drop(columns=["tier_index"])
    path = tmp_path / "mid_wins.csv"
    frame.to_csv(path, index=False)
    app = import_file(path)
    app.text_input(key="sweep_tiers").set_value("small,mid,large")
    app.button(key="sweep_import").click()
    ok(app.run())
    box = [e.value for e in (*app.success, *app.warning, *app.info)]
    assert any("mid alone" in text for text in box), box
    calibration = next(d.value for d in app.dataframe if "ECE" in d.value.columns)
    assert calibration["accuracy"].str.endswith("%").all() and calibration["ECE"].str.endswith("%").all()
