"""AppTest: the Runs page filters, pages, opens traces and exports what the filters select."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from cascade_core.store.runs_query import export_runs
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
    assert at.dataframe[0].value.empty


def test_first_page_and_paging(populated: list) -> None:
    at = runs_page()
    assert not at.exception
    assert at.session_state["runs_count"] == 61
    first = at.dataframe[0].value
    assert len(first) == 50 and first["question"].iloc[0] == "question number 0"  # newest first
    at.number_input(key="runs_page").set_value(2).run()
    second = at.dataframe[0].value
    assert len(second) == 11 and not set(first["run_id"]) & set(second["run_id"])


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
    at = runs_page()
    at.multiselect(key="runs_sources").set_value(["query", "api"]).run()
    assert not at.exception
    count = at.session_state["runs_count"]
    assert count == 31
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Export CSV", "Export Parquet"]
    with Store(store_path) as store:
        for fmt in ("csv", "parquet"):
            out = tmp_path / f"export.{fmt}"
            export_runs(store, at.session_state["runs_filter"], at.session_state["runs_sort_value"], fmt, out)
            reader = "read_csv" if fmt == "csv" else "read_parquet"
            assert duckdb.sql(f"SELECT count(*) FROM {reader}('{out}')").fetchone()[0] == count


def test_open_a_run_shows_its_trace(populated: list) -> None:
    at = runs_page()
    target = populated[7]
    at.text_input(key="runs_open_id").input(target.run_id).run()
    assert not at.exception
    assert any(c.value == target.question for c in at.code)
    steps = at.dataframe[1].value
    assert steps["tier"].tolist() == [s.tier_name for s in target.steps]
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
    table = at.dataframe[0].value
    assert table["question"].str.len().max() <= 300  # previews in the table, whole text in the trace
