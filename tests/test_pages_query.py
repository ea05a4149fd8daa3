"""AppTest: the Query page runs a question on the embedded simulator, shows the trace and logs the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from tests.page_support import open_page

ROOT = Path(__file__).resolve().parents[1]



def query_page() -> AppTest:
    return open_page("query", timeout=90)


def step_pills(at: AppTest) -> list[str]:
    """The steps' status pills (st.badge renders as ":colour-badge[text]"; the trace's other badges have icons)."""
    return [m.value for m in at.main.markdown if "-badge[" in m.value and ":material/" not in m.value
            and "ungraded" not in m.value]


def ask(at: AppTest, question: str) -> AppTest:
    at.text_area(key="q_text").input(question).run()
    return at.button(key="q_run").click().run()


def test_query_page_renders_with_empty_store(store_path: Path) -> None:
    at = query_page()
    assert not at.exception
    assert at.button(key="q_run").disabled  # nothing to run yet
    assert [c.label for c in at.sidebar.checkbox] == ["use tier small", "use tier mid", "use tier large",
                                                      "Shadow label"]
    assert at.sidebar.checkbox(key="q_shadow").value is False  # shadow labels are opt-in


def test_query_run_shows_trace_and_new_row_on_runs(store_path: Path) -> None:
    at = ask(query_page(), "What is the capital of France?")
    assert not at.exception
    result = at.session_state["q_result"]
    trace = result.trace
    assert trace.steps and trace.source == "query"
    assert trace.correct is not None and trace.item_id == "fact-001"  # a bundled item: graded
    assert trace.simulated
    assert any(m.value.startswith(":orange-badge[") and "simulated" in m.value for m in at.markdown)  # st.badge
    assert len(at.get("plotly_chart")) == 2  # confidence vs threshold, cumulative cost
    steps_table = at.dataframe[0].value  # every figure per step, under readable headers
    assert list(steps_table["Tier"]) == [s.tier_name for s in trace.steps]
    assert list(steps_table.columns) == ["#", "Tier", "Model", "Decision", "Confidence", "Needed", "Tokens in / out",
                                         "Cost", "Latency", "Attempts"]
    pills = step_pills(at)
    assert len(pills) == len(trace.steps) and pills[0].startswith(":green-badge[accepted: ")  # a status pill each
    assert len(at.expander) >= len(trace.steps)  # raw output per step
    progress = [m.value for m in at.get("status")[0].markdown] if at.get("status") else []
    assert len([p for p in progress if "replied in" in p]) == len(trace.steps)  # per-tier progress while it ran
    assert at.session_state["q_own_ms"] >= 0
    assert not any("own time" in c.value for c in at.caption)  # developer timing is behind its toggle
    at.sidebar.toggle(key="q_dev_timing").set_value(True).run()
    assert any("This page's own time" in c.value for c in at.caption)
    assert any(m.value.endswith(f"/runs?run={trace.run_id})") for m in at.markdown)  # a link to this run
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert at.session_state["runs_count"] == 1
    assert at.session_state["runs_page_ids"] == [trace.run_id]


def test_escalation_reads_in_the_signals_units_and_money_says_vs_always_large(store_path: Path) -> None:
    """A question every tier is unsure of escalates to the end: each pill says "escalated: 2 of 5 < 4"; the
    cost of a run dearer than always-large is "+N% vs always-large", never a negative saving."""
    at = query_page()
    at.select_slider(key="q_level_0").set_value(5).run()  # "5 only": a rating of 4 escalates too
    at.select_slider(key="q_level_1").set_value(5).run()
    at = ask(at, "A question nobody can be sure of?")
    trace = at.session_state["q_result"].trace
    assert [s.decision for s in trace.steps] == ["escalated", "escalated", "final"]
    pills = step_pills(at)
    for pill, step in zip(pills, trace.steps[:2], strict=False):
        assert pill == f":orange-badge[escalated: {step.confidence.raw:g} of 5 < 5]"
    assert trace.total_cost > trace.always_large_cost  # three tiers paid: dearer than the last alone
    change = round((trace.total_cost - trace.always_large_cost) / trace.always_large_cost * 100)
    assert at.metric[0].label == "Cost vs always-large" and at.metric[0].value == f"+{change}%"
    assert not any("Saved" in m.label or "−$" in m.value for m in at.metric)


def test_example_question_fills_the_box(store_path: Path) -> None:
    """Example questions to start from: picking one puts it in the box, ready to run (and graded: it is bundled)."""
    at = query_page()
    examples = at.get("button_group")[0]
    assert len(examples.options) >= 3 and examples.options[0].startswith("easy · ")
    examples.set_value("What is the capital of France?").run()
    assert not at.exception
    assert at.text_area(key="q_text").value == "What is the capital of France?"
    assert not at.button(key="q_run").disabled


def test_overrides_reach_the_cascade(store_path: Path) -> None:
    at = query_page()
    at.sidebar.checkbox(key="q_tier_1").uncheck().run()  # small -> large only
    at.select_slider(key="q_level_0").set_value(5).run()  # nothing below certainty is accepted
    at = ask(at, "A question nobody can be sure of?")
    trace = at.session_state["q_result"].trace
    assert not at.exception
    assert [s.tier_name for s in trace.steps] in (["small", "large"], ["small"])
    assert trace.steps[0].threshold == 1.0
    at.sidebar.checkbox(key="q_tier_2").uncheck().run()
    assert at.button(key="q_run").disabled and at.warning  # one tier is not a cascade


def test_self_rated_thresholds_are_levels_and_probabilities_are_sliders(store_path: Path) -> None:
    """Self-rated confidence is 1-5, so the control steps through the five levels ("4 or 5"), never 0.75 vs 0.76;
    the probability signals keep a 0-1 slider."""
    at = query_page()
    level = at.select_slider(key="q_level_0")
    assert level.value == 4 and level.options == ["any (1-5)", "2 or more", "3 or more", "4 or 5", "5 only"]
    assert not at.slider  # no 0-1 slider for a 1-5 scale
    at.selectbox(key="q_signal").set_value("logprob").run()
    assert at.slider(key="q_thr_0").value == 0.75 and not at.select_slider


def test_endpoint_error_is_shown_in_the_trace(store_path: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(
        "thresholds = [1.0]\n[retry]\nmax_retries = 0\n"
        '[[tiers]]\nname = "dead"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\ninput_price = 1\n'
        "output_price = 1\ntimeout = 2\n"
        '[[tiers]]\nname = "large"\nmodel = "sim-llama-3.1-405b"\ninput_price = 3\noutput_price = 3\n'
    )
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    at = ask(query_page(), "What is 2+2?")
    assert not at.exception
    trace = at.session_state["q_result"].trace
    assert trace.steps[0].decision == "error" and trace.steps[0].error
    assert trace.final_tier == "large"
    assert "dead" in at.dataframe[0].value["Tier"].tolist()
    assert any(trace.steps[0].error in c.value for c in at.code)
    assert ":red-badge[error: connection refused after 1 attempt]" in [m.value for m in at.markdown]
    with Store(store_path) as store:  # the failed call is logged with the run
        assert store.execute("SELECT count(*) FROM steps WHERE decision = 'error'") == [(1,)]


def test_hostile_question_renders_as_text(store_path: Path) -> None:
    hostile = "<script>alert('x')</script> **bold** [link](http://x) :red[red] $e^x$ مرحبا بالعالم 🎉🔥 " * 1300
    assert len(hostile.encode()) > 100_000
    at = ask(query_page(), hostile)
    assert not at.exception
    assert any(c.value == hostile for c in at.code) or at.text_area(key="q_text").value == hostile
    for md in at.markdown:
        assert "<script>" not in md.value  # user text never reaches Markdown unescaped


def test_a_failed_run_is_marked_failed_never_a_saving(store_path: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "dead.toml"
    dead = ('[[tiers]]\nname = "{}"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\ninput_price = 1\n'
            "output_price = 1\ntimeout = 2\n")
    config.write_text("thresholds = [0.75]\n[retry]\nmax_retries = 0\n" + dead.format("a") + dead.format("b"))
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    at = ask(query_page(), "What is 2+2?")
    assert not at.exception
    trace = at.session_state["q_result"].trace
    assert trace.error
    assert {m.label: m.value for m in at.metric}["Outcome"] == "Failed"
    assert not any("vs always-large" in m.label or "Saved" in m.label for m in at.metric)
    assert ":red-badge[:material/error: failed: no answer]" in [m.value for m in at.markdown]
    assert at.get("status")[0].proto.label.startswith("Failed: no tier could answer")


def test_the_trace_says_what_query_notes_say(store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    # The small tier's connection drops mid-body: its attempts are charged at an estimate. `query` printed a note
    # saying so; the page showed only the total.
    config = tmp_path / "cut.toml"
    config.write_text("thresholds = [0.0]\n[retry]\nmax_retries = 1\nbackoff_base = 0.001\n"
                      '[simulator.faults_by_model."sim-llama-3.1-8b"]\nreset_body_rate = 1.0\n'
                      '[[tiers]]\nname = "small"\nmodel = "sim-llama-3.1-8b"\ninput_price = 1\noutput_price = 1\n'
                      '[[tiers]]\nname = "large"\nmodel = "sim-llama-3.1-405b"\ninput_price = 3\noutput_price = 3\n')
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    at = ask(query_page(), "What is 2+2?")
    assert not at.exception
    trace = at.session_state["q_result"].trace
    assert trace.steps[0].call.lost_attempts == 2 and trace.final_tier == "large"
    captions = [c.value.replace("\\", "") for c in at.caption]  # Markdown-escaped
    notes = [c for c in captions if "of this run's cost is an estimate" in c]
    assert len(notes) == 1 and f"{trace.steps[0].call.estimated_cost:.6f}" in notes[0]
