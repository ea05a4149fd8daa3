"""AppTest: the Overview page, empty and populated (real store file, no browser)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cascade_core.datasets import load_bundled
from cascade_core.store import Store
from cascade_core.views import signed_pct
from tests.factories import hours_ago, make_trace
from tests.test_audit_support import seed_audits

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
    # The same count of bundled questions as the Sweep page's dataset choice (it said 314 there and 3,314 here).
    assert any(f"the bundled {len(load_bundled()):,} questions" in m.value for m in at.markdown)
    assert not at.metric  # no empty charts or zero figures


def test_populated_store_shows_headline_and_window(store_path: Path) -> None:
    traces = [make_trace(i % 3, when=hours_ago(i * 2), correct=i % 2 == 0) for i in range(40)]  # 78 hours
    with Store(store_path) as store:
        store.log_traces(traces)
    at = overview()
    assert not at.exception
    figures = metrics(at)
    assert figures["Runs"] == "40"
    assert figures["Accuracy"] == "50%" and any(c.value == "50% of 40 graded, 95% interval 35%–65%" for c in at.caption)
    assert {"small", "mid", "large"} <= set(figures)
    spend, large = sum(t.total_cost for t in traces), sum(t.always_large_cost for t in traces)
    assert "Latency p95" in figures and figures["Cost vs always-large"] == signed_pct(spend / large - 1)
    assert figures["Quality retained"] == "unknown"  # no sweep has measured it
    charts = [c.key for c in at.get("plotly_chart")]
    assert charts[:2] == ["ov_spend", "ov_mix"]
    # Weekly drift of live traffic; no route chart (one grey "(no route)" bar a week) without routes.
    assert set(charts[2:]) == {"ov_drift_tier", "ov_drift_band"}
    at.segmented_control(key="ov_window").set_value("last 24 hours").run()
    assert not at.exception
    assert metrics(at)["Runs"] == "13"  # hours 0, 2, ..., 24 before the newest run
    assert any("newest logged run" in c.value for c in at.caption)


def test_route_chart_only_with_routes(store_path: Path, monkeypatch) -> None:
    """With semantic routes configured the weekly route chart is shown (beside tier and band)."""
    monkeypatch.setenv("CASCADE_CONFIG", str(ROOT / "examples" / "routes.toml"))
    with Store(store_path) as store:
        store.log_traces([make_trace(i % 3, when=hours_ago(i * 2)) for i in range(10)])
    at = overview()
    assert not at.exception
    assert {"ov_drift_route", "ov_drift_tier", "ov_drift_band"} <= {c.key for c in at.get("plotly_chart")}


def test_hostile_tier_and_text_do_not_break_overview(store_path: Path) -> None:
    trace = make_trace(0, question="<script>alert(1)</script> **bold** :red[x] $x$ مرحبا 🎉")
    trace.final_tier = "<b>tier</b> :red[x]"
    with Store(store_path) as store:
        store.log_trace(trace)
    at = overview()
    assert not at.exception
    assert "\\<b\\>tier\\</b\\> \\:red\\[x\\]" in metrics(at)


def test_after_a_sweep_the_overview_says_where_results_live(store_path: Path) -> None:
    """Getting started, step 2 done but no runs logged: the Overview points to the saved sweep, and with runs
    it shows the quality retained that the sweep measured at the configured thresholds."""
    from tests.test_views_dashboard import save_small_sweep

    with Store(store_path) as store:
        save_small_sweep(store, ["small", "mid", "large"], [0.75, 0.75])
    at = overview()
    assert not at.exception
    assert any("Step 2 done" in s.value for s in at.success)
    assert any("Sweep results" in m.value and "nightly" in m.value for m in at.markdown)
    links = [link for link in at.get("page_link") if "nightly" in link.proto.label]
    assert links and links[0].proto.page.endswith("sweep") and "sweep=s1" in links[0].proto.query_string
    with Store(store_path) as store:
        store.log_traces([make_trace(0, when=hours_ago(1))])
        seed_audits(store, 1, wrong_share=0.0)
    at = overview()
    assert metrics(at)["Quality retained"] == "95%"
    assert any("Latest audit" in m.value and "below the 10% line" in m.value for m in at.markdown)
