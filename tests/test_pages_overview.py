"""AppTest: the Overview page, empty and populated (real store file, no browser)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from tests.factories import hours_ago, make_trace

ROOT = Path(__file__).resolve().parents[1]



def overview() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_store_shows_guided_start(store_path: Path) -> None:
    at = overview()
    assert not at.exception
    assert any("No runs logged yet" in i.value for i in at.info)
    assert any("Run a query" in m.value for m in at.markdown)
    assert any("Run a sweep" in m.value for m in at.markdown)
    assert not at.metric  # no empty charts or zero figures


def test_populated_store_shows_headline_and_window(store_path: Path) -> None:
    traces = [make_trace(i % 3, when=hours_ago(i * 2), correct=i % 2 == 0) for i in range(40)]  # 78 hours
    with Store(store_path) as store:
        store.log_traces(traces)
    at = overview()
    assert not at.exception
    figures = metrics(at)
    assert figures["Runs"] == "40"
    assert figures["Accuracy (graded runs)"] == "50.0%"
    assert {"small", "mid", "large"} <= set(figures)
    assert "Latency p95" in figures and "Savings" in figures
    charts = [c.key for c in at.get("plotly_chart")]
    assert charts[:2] == ["ov_spend", "ov_mix"]
    assert set(charts[2:]) == {"ov_drift_route", "ov_drift_tier", "ov_drift_band"}  # weekly drift of live traffic
    at.segmented_control(key="ov_window").set_value("last 24 hours").run()
    assert not at.exception
    assert metrics(at)["Runs"] == "13"  # hours 0, 2, ..., 24 before the newest run
    assert any("newest logged run" in c.value for c in at.caption)


def test_hostile_tier_and_text_do_not_break_overview(store_path: Path) -> None:
    trace = make_trace(0, question="<script>alert(1)</script> **bold** :red[x] $x$ مرحبا 🎉")
    trace.final_tier = "<b>tier</b> :red[x]"
    with Store(store_path) as store:
        store.log_trace(trace)
    at = overview()
    assert not at.exception
    assert "\\<b\\>tier\\</b\\> \\:red\\[x\\]" in metrics(at)
