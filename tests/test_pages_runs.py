"""AppTest: the Runs page filters, pages, opens traces and exports what the filters select."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from tests.factories import hours_ago, make_trace
from tests.page_support import open_page

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ("<script>alert('x')</script> <img src=x onerror=alert(1)> **bold** # head [l](http://x) :red[r] $e^x$ "
           "מה שלום مرحبا 🎉👩‍👩‍👧 ") + "x" * 100_000



@pytest.fixture
def populated(store_path: Path) -> list:
    traces = [make_trace(i % 3, question=f"question number {i}", source=("query", "sweep", "audit", "api")[i % 4],
                         when=hours_ago(i), correct=(True, False, None)[i % 3], error_at=0 if i == 5 else None)
              for i in range(60)]
    hostile = make_trace(1, question=HOSTILE, when=hours_ago(0.5))
    hostile.final_answer = "<b>answer</b> **not bold** 🎉 مرحبا"
    traces.append(hostile)
    with Store(store_path) as store:
        store.log_traces(traces)
    return traces


def runs_page() -> AppTest:
    return open_page("runs", timeout=60)


def test_empty_store(store_path: Path) -> None:
    at = runs_page()
    assert not at.exception
    assert at.session_state["runs_count"] == 0
    assert not at.dataframe and [i.value for i in at.info] == ["No runs are logged yet."]


def test_first_page_and_paging(populated: list) -> None:
    at = runs_page()
    assert not at.exception
    assert at.session_state["runs_count"] == 61
    first = at.dataframe[0].value
    assert len(first) == 50 and first["question"].iloc[0] == "question number 0"  # newest first
    # cost, always-large, escalations and error come right after the question and the answering tier
    assert list(first.columns)[:10] == ["time (UTC)", "question", "tier", "confidence", "correct", "cost",
                                        "always-large", "escalations", "error", "run"]
    assert first["cost"].iloc[0].startswith("$") and first["run"].iloc[0].startswith("/runs?run=")
    at.number_input(key="runs_page").set_value(2).run()
    second = at.dataframe[0].value
    assert len(second) == 11 and not set(first["run"]) & set(second["run"])
    assert at.query_params["page"] == "2"  # the page is in the URL


def test_page_stays_when_new_runs_arrive_in_a_relative_window(populated: list, store_path: Path) -> None:
    """'last 7 days' ends at the newest run, so its bounds move with each new run; that is not a new filter, and
    the reader on page 2 stays there under live traffic."""
    from cascade_core.serve import LogWriter
    from cascade_core.store import Store

    at = runs_page()
    at.selectbox(key="runs_window").set_value("last 7 days").run()
    at.number_input(key="runs_page").set_value(2).run()
    assert at.session_state["runs_page"] == 2 and len(at.dataframe[0].value) == 11
    writer = LogWriter(lambda: Store(store_path), interval=60).start()  # an API server logs a newer run
    writer.submit(make_trace(0, question="live traffic", source="api", when=hours_ago(-0.5)))
    writer.close()
    at.run()
    assert not at.exception
    assert at.session_state["runs_count"] == 62
    assert at.session_state["runs_page"] == 2 and len(at.dataframe[0].value) == 12
    at.selectbox(key="runs_window").set_value("last 24 hours").run()  # a real change still starts at page 1
    assert at.session_state["runs_page"] == 1


def test_filters_change_the_count(populated: list) -> None:
    at = runs_page()
    at.multiselect(key="runs_sources").select("sweep").run()
    assert at.session_state["runs_count"] == 15
    at.selectbox(key="runs_graded").select("correct").run()
    assert at.session_state["runs_count"] == 5  # i % 4 == 1 and i % 3 == 0: 9, 21, 33, 45, 57
    at.selectbox(key="runs_graded").select("any").run()
    at.multiselect(key="runs_sources").unselect("sweep").run()
    at.multiselect(key="runs_tiers").select("small").run()
    assert at.session_state["runs_count"] == 20
    at.multiselect(key="runs_tiers").unselect("small").run()
    at.checkbox(key="runs_errors").check().run()
    assert at.session_state["runs_count"] == 1
    at.checkbox(key="runs_errors").uncheck().run()
    at.text_input(key="runs_text").input("NUMBER 1").run()
    assert at.session_state["runs_count"] == 11  # 1 and 10..19
    at.text_input(key="runs_text").input("'; DROP TABLE runs; --").run()
    assert at.session_state["runs_count"] == 0
    at.text_input(key="runs_text").input("").run()
    at.selectbox(key="runs_window").select("last hour").run()
    assert at.session_state["runs_count"] == 3  # hours 0, 0.5 and 1 before the newest
    at.selectbox(key="runs_window").select("custom dates").run()
    at.date_input(key="runs_dates").set_value((hours_ago(0).date(), hours_ago(0).date())).run()
    assert at.session_state["runs_count"] == 14  # 2026-11-20 00:00 .. 12:00: hours 0..12 and the 0.5 one
    assert not at.exception


def test_export_matches_the_filter(populated: list, store_path: Path, tmp_path: Path) -> None:
    """Each button writes the filtered runs to a file on disk and offers its download link (served by asgi.py's
    route, tests/test_downloads.py); a new filter withdraws a link to the old selection."""
    at = runs_page()
    at.multiselect(key="runs_sources").set_value(["query", "api"]).run()
    assert not at.exception
    count = at.session_state["runs_count"]
    assert count == 31
    assert [b.label for b in at.button if b.key and b.key.startswith("runs_export_")] == ["Export CSV",
                                                                                         "Export Parquet"]
    for fmt in ("csv", "parquet"):
        at.button(key=f"runs_export_{fmt}").click().run()
        assert not at.exception
        done = at.session_state["runs_export"]
        assert done["rows"] == count and done["url"].endswith(f"/cascade-runs.{fmt}")
        reader = "read_csv" if fmt == "csv" else "read_parquet"
        assert duckdb.sql(f"SELECT count(*) FROM {reader}('{done['path']}')").fetchone()[0] == count
        assert any(done["url"] in m.value for m in at.markdown)
    at.multiselect(key="runs_sources").set_value(["api"]).run()
    assert not any("cascade-export" in m.value for m in at.markdown)


def test_open_a_run_shows_its_trace(populated: list) -> None:
    at = runs_page()
    target = populated[7]
    at.text_input(key="runs_open_id").input(target.run_id).run()
    assert not at.exception
    assert any(c.value == target.question for c in at.code)
    assert at.title[0].value == "Run trace"  # the trace comes first, above the list
    steps = at.dataframe[0].value
    assert steps["Tier"].tolist() == [s.tier_name for s in target.steps]
    assert any(c.value == "Reason as logged (confidence normalised to 0–1)" for c in at.caption)  # not the pill's units
    assert at.query_params["run"] == target.run_id  # the address opens this run
    at.text_input(key="runs_open_id").input("no-such-run' OR '1'='1").run()
    assert at.warning and not at.exception


def test_hostile_text_renders_as_text(populated: list) -> None:
    at = runs_page()
    hostile = populated[-1]
    at.text_input(key="runs_open_id").input(hostile.run_id).run()
    assert not at.exception
    assert any(c.value == HOSTILE for c in at.code)  # the whole 100 KB question, verbatim, as text
    assert any(c.value == hostile.final_answer for c in at.code)
    for element in (*at.markdown, *at.caption, *at.error):
        assert "<script>" not in element.value and "<b>" not in element.value
    table = at.dataframe[-1].value
    assert table["question"].str.len().max() <= 60  # clipped in the table, whole text in the trace


def test_a_run_link_lands_on_its_trace(populated: list) -> None:
    """/runs?run=<id>, as shared: the page opens on that run's trace, with the steps' decisions as pills."""
    target = populated[4]  # answered by the mid tier: small escalated
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["run"] = target.run_id
    at.run()
    at.switch_page("pages/runs.py")
    at.query_params["run"] = target.run_id
    at.run()
    assert not at.exception
    assert at.title[0].value == "Run trace"
    assert any(c.value == target.question for c in at.code)
    assert ":orange-badge[escalated: 3 of 5 < 4]" in [m.value for m in at.markdown]
    at.button(key="runs_close").click().run()  # back to the list; the link no longer names a run
    assert at.title[0].value == "Runs" and "run" not in at.query_params


def test_filters_live_in_the_url_both_ways(populated: list) -> None:
    at = runs_page()
    at.multiselect(key="runs_sources").set_value(["sweep"]).run()
    at.selectbox(key="runs_graded").select("correct").run()
    assert at.query_params["source"] == "sweep" and at.query_params["graded"] == "correct"
    shared = dict(at.query_params)
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    other.switch_page("pages/runs.py")
    for key, value in shared.items():
        other.query_params[key] = value
    other.run()
    assert not other.exception
    assert other.session_state["runs_count"] == 5 and other.multiselect(key="runs_sources").value == ["sweep"]


def test_selecting_a_row_opens_its_trace(populated: list) -> None:
    at = runs_page()
    ids = at.session_state["runs_page_ids"]
    at.session_state["runs_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.session_state["runs_open_id"] = ids[2]  # what the table's on_select callback does with row 2
    at.run()
    assert not at.exception and at.title[0].value == "Run trace"
    assert at.query_params["run"] == ids[2]


def test_an_empty_result_names_the_filter_that_emptied_it(populated: list) -> None:
    at = runs_page()
    at.multiselect(key="runs_sources").set_value(["sweep"]).run()
    at.checkbox(key="runs_errors").check().run()  # the one errored run (i = 5) has source 'sweep' (5 % 4 == 1)
    assert at.session_state["runs_count"] == 1
    at.text_input(key="runs_text").input("no such words").run()
    assert at.session_state["runs_count"] == 0
    message = at.info[0].value
    assert message.startswith("No run matches. The filter that empties it: text “no such words”")
    assert "source: sweep" not in message  # removing the source filter alone still finds nothing
