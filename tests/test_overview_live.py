"""The Overview's "Thresholds on live traffic": its table reads without "None", its weekly charts label weeks by
their first day and keep each tier's colour, and the figures are kept between clicks until the log moves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.cascade import load_config
from cascade_core.figures import drift_chart, tier_mix_chart
from cascade_core.figures.trace import TIER_PALETTE
from cascade_core.store import Store
from cascade_core.views import live_health, recert_table
from tests.factories import hours_ago, make_trace
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_recert_table_says_dash_where_there_is_no_figure(tmp_path: Path) -> None:
    with Store(tmp_path / "live.duckdb") as store:
        store.log_traces([make_trace(0, when=hours_ago(1), correct=True)])  # one label: too few to certify
        table = recert_table(live_health(store, load_config()).recert)
    assert list(table["tier"]) == ["small", "mid"]
    mid = table.set_index("tier").loc["mid"]
    assert mid["accuracy"] == "–" and mid["p-value"] == "–" and mid["newer data certify"] == "–"
    assert table.set_index("tier").loc["small", "accuracy"] == "100.0%"
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()


def test_drift_weeks_are_labelled_and_tiers_keep_their_colours() -> None:
    weeks = [pd.Timestamp("2026-11-09"), pd.Timestamp("2026-11-16")]
    shares = pd.DataFrame([
        {"week": w, "dimension": "tier", "value": tier, "runs": runs, "share": runs / 10}
        for w in weeks for tier, runs in (("large", 2), ("mid", 3), ("small", 5))
    ] + [{"week": weeks[1], "dimension": "route", "value": "(no route)", "runs": 10, "share": 1.0}])
    fig = drift_chart(shares, "tier", ["small", "mid", "large"])
    assert [bar.name for bar in fig.data] == ["small", "mid", "large"]  # the configured order
    assert list(fig.data[0].x) == ["Nov 09", "Nov 16"] and fig.layout.xaxis.type == "category"
    colours = {bar.name: bar.marker.color for bar in fig.data}
    assert colours == {"small": TIER_PALETTE[0], "mid": TIER_PALETTE[1], "large": TIER_PALETTE[2]}
    mix = pd.DataFrame({"bucket": [weeks[0]] * 3, "tier": ["small", "mid", "large"], "tier_index": [0, 1, 2],
                        "runs": [5, 3, 2], "share": [0.5, 0.3, 0.2]})
    assert {bar.name: bar.marker.color for bar in tier_mix_chart(mix, "week").data} == colours  # one colour a tier
    route = drift_chart(shares, "route")
    assert route.layout.showlegend is True and [bar.name for bar in route.data] == ["(no route)"]
    assert len(route.layout.title.text) <= 30  # fits a third of the page


def test_live_figures_are_kept_between_clicks_until_a_run_is_logged(store_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.live

    calls: list[int] = []
    real = ui.live.live_health

    def counting(store, config):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(store, config)

    monkeypatch.setattr(ui.live, "live_health", counting)
    monkeypatch.setattr(ui.live, "COST_FACTOR", 0.0)  # as cheap as on a small log: a moved log is computed again
    with Store(store_path) as store:
        store.log_traces([make_trace(i % 3, when=hours_ago(i), correct=True) for i in range(6)])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception and len(calls) == 1

    def labels(app: AppTest) -> str:
        table = next(df.value for df in app.dataframe if "labels (gold/audit/shadow)" in df.value.columns)
        return str(table.set_index("tier").loc["small", "labels (gold/audit/shadow)"])

    before = labels(at)
    at.segmented_control(key="ov_window").set_value("last 24 hours").run()  # a click: nothing new to compute
    assert not at.exception and len(calls) == 1
    with Store(store_path) as store:
        store.log_traces([make_trace(0, when=hours_ago(0.5), correct=True)])
    at.run()
    assert len(calls) == 2 and labels(at) != before  # a new run: computed again, and it shows
    monkeypatch.setattr(ui.live, "COST_FACTOR", 1e6)  # as if it were costly: kept for REFRESH_S despite new runs
    with Store(store_path) as store:
        store.log_traces([make_trace(0, when=hours_ago(0.2), correct=True)])
    at.run()
    assert not at.exception and len(calls) == 2  # the log moved, but the figures are fresh enough


def test_on_a_big_log_the_page_never_waits_for_the_live_figures(store_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """At SYNC_RUNS runs and more the figures are computed in a background thread: the first visit shows a
    placeholder at once, a later one the figures; when the log moves, the kept copy shows while a newer one is
    computed."""
    import threading

    import ui.live

    release = threading.Event()
    real = ui.live.live_health

    def slow(store, config):  # type: ignore[no-untyped-def]
        assert release.wait(60)  # as a computation over 1M runs: it takes its time
        return real(store, config)

    monkeypatch.setattr(ui.live, "live_health", slow)
    monkeypatch.setattr(ui.live, "SYNC_RUNS", 1)  # this small log counts as a big one
    monkeypatch.setattr(ui.live, "COST_FACTOR", 0.0)
    with Store(store_path) as store:
        store.log_traces([make_trace(i % 3, when=hours_ago(i), correct=True) for i in range(6)])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()  # returns although live_health waits
    assert not at.exception
    assert any("Computing re-certification and drift" in c.value for c in at.caption)
    assert not any("labels (gold/audit/shadow)" in df.value.columns for df in at.dataframe)
    assert at.metric and {m.label for m in at.metric} >= {"Runs", "Accuracy"}  # the rest of the page is there
    release.set()

    def recert_shown() -> bool:
        at.run()  # as the placeholder's poll does, and then the page
        return any("labels (gold/audit/shadow)" in df.value.columns for df in at.dataframe)

    wait_for(recert_shown, timeout=60, interval=0.2, what="the figures computed in the background")
    release.clear()  # the next computation waits again
    with Store(store_path) as store:
        store.log_traces([make_trace(0, when=hours_ago(0.5), correct=True)])
    at.run()
    assert any("labels (gold/audit/shadow)" in df.value.columns for df in at.dataframe)  # the kept copy
    assert any("A newer copy is being computed" in c.value for c in at.caption)
    release.set()

    def refreshed() -> bool:  # the thread is done before the test ends (DuckDB must not be mid-query at exit)
        at.run()
        return not any("A newer copy is being computed" in c.value for c in at.caption)

    wait_for(refreshed, timeout=60, interval=0.2, what="the background refresh")
