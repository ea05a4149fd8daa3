"""Query: one question through the cascade, with the tier-by-tier trace."""

from __future__ import annotations

import time

import streamlit as st

from cascade_core.cascade import CallProgress, QueryOverrides, QueryResult, run_query
from cascade_core.views import LEVELS, accepts_text, call_failure, example_questions, level_needed, level_threshold
from ui.state import get_bundled, get_config, get_runtime, get_store
from ui.text import md_escape
from ui.trace import render_trace

config = get_config()
st.title("Query")
st.caption("Send one question through the cascade: each tier answers with a confidence; below its threshold the "
           "question goes to the next tier. The run is logged (source *query*) and shows up on the Runs page. "
           "A question that matches a bundled dataset item exactly is graded against its gold answer.")

with st.sidebar:
    st.subheader("Overrides for this page")
    chosen: list[int] = [i for i, tier in enumerate(config.tiers)
                         if st.checkbox(f"use tier {md_escape(tier.name)}", value=True, key=f"q_tier_{i}")]
    signal = st.selectbox("confidence signal", ["self_rated", "logprob", "verify"],
                          index=["self_rated", "logprob", "verify"].index(config.signal), key="q_signal")
    thresholds: list[float] = []
    for i in chosen[:-1]:
        default = config.thresholds[i] if i < len(config.thresholds) else config.thresholds[-1]
        name = md_escape(config.tiers[i].name)
        if signal == "self_rated":  # in the signal's own units: only the five levels change what is accepted
            level = st.select_slider(f"{name} accepts a self-rating of", LEVELS, value=level_needed(default),
                                     format_func=accepts_text, key=f"q_level_{i}",
                                     help="The tier rates its own answer 1-5; below this level the question goes "
                                          "to the next tier. In the config this is threshold (level - 1) / 4.")
            thresholds.append(level_threshold(level))
        else:
            thresholds.append(st.slider(f"threshold of {name}", 0.0, 1.0, float(default), 0.05, key=f"q_thr_{i}",
                                        help="On the signal's probability, 0-1: below it the question goes to the "
                                             "next tier."))
    shadow = st.checkbox("Shadow label", value=False, key="q_shadow",
                         help="When a cheaper tier's answer is accepted, also ask the last tier in the background "
                              "(charged, recorded apart as a shadow label) and store whether the two agree: a label "
                              "for re-certifying the thresholds.")
    if len(chosen) >= 2:
        st.caption(f"Always-large here means the last chosen tier ({md_escape(config.tiers[chosen[-1]].name)}).")
    show_timing = st.toggle("Developer timing", key="q_dev_timing", help="What this page adds beyond the model calls")


def _use_example() -> None:
    picked = st.session_state.get("q_example")
    if picked:
        st.session_state["q_text"] = picked


examples = {e.question: e.label for e in example_questions(get_bundled())}
st.pills("Try an example (bundled items, graded against their gold answers)", list(examples),
         format_func=lambda q: f"{examples[q]}: {q if len(q) <= 60 else q[:59] + '…'}", key="q_example",
         on_change=_use_example)
question = st.text_area("Question", key="q_text", height=100, placeholder="What is the capital of Australia?")
ready = len(chosen) >= 2 and bool(question.strip())
clicked = st.button("Run", type="primary", disabled=not ready, key="q_run", icon=":material/play_arrow:")
if len(chosen) < 2:
    st.warning("Pick at least two tiers in the side panel: a cascade needs a tier to escalate to.")

if clicked and ready:
    started = time.perf_counter()
    overrides = QueryOverrides(tuple(chosen), tuple(thresholds), signal)
    with st.status("Running the cascade…", expanded=True) as status:

        def progress(event: CallProgress) -> None:
            """Per-tier progress while the query runs: which tier is being asked, how its call went."""
            name = f"{event.tier_index + 1}. {md_escape(event.tier_name)} ({md_escape(event.model, limit=60)})"
            if event.stage == "start":
                status.update(label=f"Asking {name}…")
                return
            call = event.call
            if call is not None and not call.ok:
                st.write(f":red[{name}: {call_failure(call)}]")
            elif call is not None:
                st.write(f"{name}: replied in {call.latency_ms:,.0f} ms")

        try:
            result = run_query(get_runtime(), get_store(), question, overrides, get_bundled(), on_call=progress,
                               shadow=shadow)
        except Exception as err:  # a failure must show on the page, never as a crash
            status.update(label="The run failed", state="error")
            st.error(f"The run failed: {md_escape(f'{type(err).__name__}: {err}', limit=1000)}")
        else:
            trace = result.trace
            done = (f"Failed: no tier could answer ({len(trace.steps)} called)" if trace.error else
                    f"Answered by {md_escape(trace.final_tier or '?')} after {len(trace.steps)} tier"
                    f"{'s' if len(trace.steps) != 1 else ''}")
            status.update(label=done, state="error" if trace.error else "complete", expanded=False)
            st.session_state["q_result"] = result
            st.session_state["q_started"] = started

result: QueryResult | None = st.session_state.get("q_result")
if result is not None:
    if result.log_error:
        st.warning("The run could not be logged: " + md_escape(result.log_error, limit=500))
    else:
        st.page_link("pages/runs.py", label="Open this run on the Runs page", icon=":material/link:",
                     query_params={"run": result.trace.run_id})
    render_trace(result.trace, key="q_trace")
    if result.shadow is not None:
        st.caption("Shadow label: the last tier is being asked in the background; its answer, agreement and cost "
                   "are stored apart from this run (see Overview → Thresholds on live traffic).")
    started = st.session_state.pop("q_started", None)
    if started is not None:  # only right after a click: what this page added beyond the model calls
        total_ms = (time.perf_counter() - started) * 1000
        st.session_state["q_own_ms"] = max(0.0, total_ms - result.model_ms)
        st.session_state["q_timing"] = {"total_ms": total_ms, "model_ms": result.model_ms, "own_ms":
                                        st.session_state["q_own_ms"], "cascade_ms": result.cascade_ms,
                                        "log_ms": result.log_ms, "setup_ms": result.setup_ms}
    timing = st.session_state.get("q_timing")
    if timing and show_timing:
        st.caption(f"This page's own time: {timing['own_ms']:.0f} ms beyond {timing['model_ms']:.0f} ms of model "
                   f"calls (cascade {timing['cascade_ms']:.1f} ms, store write {timing['log_ms']:.1f} ms, "
                   "rendering the rest).")
