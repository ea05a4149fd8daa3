"""AppTest: the Query page with semantic routes (local embedding model loaded) and the opt-in shadow label."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from cascade_core.store.routing_tables import shadow_labels
from tests.factories import hours_ago, make_trace
from tests.page_support import open_page
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[1]


def ask(at: AppTest, question: str) -> AppTest:
    at.text_area(key="q_text").input(question).run()
    return at.button(key="q_run").click().run()


def test_route_shown_and_shadow_label_stored(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_CONFIG", str(ROOT / "examples" / "routes.toml"))
    at = open_page("query", timeout=120)
    at = ask(at, "hello there")
    assert not at.exception
    trace = at.session_state["q_result"].trace
    assert trace.route == "chitchat" and [s.tier_name for s in trace.steps] == ["small"]
    assert any("Route: 'chitchat' (similarity 0.9" in c.value.replace("\\", "") for c in at.caption)
    assert at.session_state["q_result"].shadow is None  # not opted in: no shadow call
    at.sidebar.checkbox(key="q_shadow").check().run()
    at.sidebar.select_slider(key="q_level_0").set_value(1).run()  # the small tier accepts: an answer to shadow
    at = ask(at, "What is the capital of France?")
    result = at.session_state["q_result"]
    assert result.trace.steps[0].decision == "accepted" and result.shadow is not None
    assert any("Shadow label" in c.value for c in at.caption)
    def stored() -> list[pd.DataFrame]:  # a list: wait_for needs a truth value, a DataFrame has none
        with Store(store_path) as store:
            labels = shadow_labels(store)
        return [labels] if len(labels) else []

    labels = wait_for(stored, 30, 0.1, "the shadow label")[0]
    assert labels["run_id"].tolist() == [result.trace.run_id]
    row = labels.iloc[0]
    assert row["shadow_tier"] == "large" and row["cost"] > 0 and row["gold"] == "Paris"
    assert bool(row["shadow_correct"]) and row["agree"] == row["correct"]


def test_runs_page_lists_the_route(store_path: Path) -> None:
    routed = make_trace(0, question="hello there", when=hours_ago(1))
    routed.meta["route"] = {"name": "chitchat", "closest": "chitchat", "similarity": 0.959, "start": "small (alone)"}
    plain = make_trace(2, question="What is 2+2?", when=hours_ago(2))
    with Store(store_path) as store:
        store.log_traces([routed, plain])
    at = open_page("runs", timeout=60)
    assert not at.exception
    table = at.dataframe[0].value
    routes = dict(zip(table["run"], table["route"], strict=True))  # "run" holds each run's link
    assert routes[f"/runs?run={routed.run_id}"] == "chitchat"
    assert pd.isna(routes[f"/runs?run={plain.run_id}"])  # no route: empty cell
