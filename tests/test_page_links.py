"""Deep links into pages other than Runs (AppTest): /sweep?sweep=<id> opens that saved sweep."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cascade_core.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_a_sweep_link_opens_that_saved_sweep(store_path: Path, tmp_path: Path) -> None:
    from cascade_core.sweep.analysis import SweepSettings, analyse
    from cascade_core.sweep.importer import import_results
    from cascade_core.sweep.saved import SweepMeta, save_result
    from tests.test_page_sweep import _long_with_phase

    outcomes = import_results(_long_with_phase(tmp_path)).outcomes
    settings = SweepSettings(target=0.9, split=0.3, seed=5, shared_steps=51, per_tier_steps=11)
    with Store(store_path) as store:
        first = save_result(store, analyse(outcomes, settings), SweepMeta(name="first", dataset="d", source="import"))
        save_result(store, analyse(outcomes, settings), SweepMeta(name="newer", dataset="d", source="import"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.switch_page("pages/sweep.py")
    app.query_params["sweep"] = first  # not the newest: the link picks it
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.radio(key="sweep_source").value == "Saved sweeps"
    assert app.session_state["sweep_loaded"].sweep_id == first
