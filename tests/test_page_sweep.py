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
