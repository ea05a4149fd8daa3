"""The tier-by-tier trace of one run; shared by the Query page (fresh runs) and the Runs page (logged runs).

Every piece of user or model text goes through st.code / st.text / dataframes, or md_escape in labels.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from cascade_core.cascade import Trace
from cascade_core.figures import confidence_chart, cost_chart
from cascade_core.views import failure_text, route_line, run_money, step_status, step_table, trace_notes, usd
from ui.links import run_url
from ui.text import md_escape, preview

ANSWER_PREVIEW = 160  # characters of an answer on a step's line (the expander has it all)


def trace_badges(trace: Trace) -> None:
    """SIMULATED whenever a simulated tier answered (or was called); graded result; failed; error."""
    row = st.container(horizontal=True, gap="small")  # each badge as wide as its text: never clipped
    if trace.simulated:
        row.badge("simulated", icon=":material/science:", color="orange")
    if trace.correct is True:
        row.badge("correct", icon=":material/check:", color="green")
    elif trace.correct is False:
        row.badge("incorrect", icon=":material/close:", color="red")
    else:
        row.badge("ungraded", color="gray")
    if trace.error:
        row.badge("failed: no answer", icon=":material/error:", color="red")
    elif any(s.error for s in trace.steps):
        row.badge("endpoint error", icon=":material/error:", color="red")


def _summary(trace: Trace) -> None:
    money = run_money(trace.total_cost, trace.always_large_cost, estimated=trace.always_large_estimated,
                      failed=trace.error is not None)
    cols = st.columns(4)
    if money.status == "failed":
        cols[0].metric("Outcome", "Failed", help="No tier could answer; the run is logged as failed, never as a "
                       "saving.")
    else:
        cols[0].metric("Cost vs always-large", money.headline.replace(" vs always-large", ""),
                       help="The cascade's cost as a change against sending the question to the last tier alone"
                       + (" (estimated from tokens: the last tier did not run)" if trace.always_large_estimated
                          else "") + ". Negative is cheaper.")
    cols[0].caption(md_escape(money.detail))
    cols[1].metric("Cascade cost", usd(trace.total_cost), help=f"{usd(trace.total_cost * 1000)} per 1,000 "
                   "questions like this one")
    large = "Always-large (estimated)" if trace.always_large_estimated else "Always-large"
    cols[2].metric(large, usd(trace.always_large_cost))
    cols[3].metric("Tiers called", f"{len(trace.steps)}", help=f"model latency {trace.latency_ms:,.0f} ms in all")


def _step_lines(trace: Trace) -> None:
    """One line per step: tier, the decision as a pill with its reason, the answer, the cost and latency."""
    for step in trace.steps:
        status = step_status(step, trace.signal)
        with st.container(border=True):
            # The pill sits above the answer in the wide middle column, so the longest reason ("error: verify
            # unreadable response after 4 attempts; no answer") is shown whole, neither clipped nor scrolled.
            cols = st.columns([1.1, 5, 1.2], vertical_alignment="center")
            cols[0].markdown(f"**{step.tier_index + 1}. {md_escape(step.tier_name)}**")
            cols[0].caption(md_escape(step.model, limit=60))
            cols[1].badge(status.text, color=status.colour)
            answer = step.confidence.answer
            cols[1].text(preview(answer, ANSWER_PREVIEW) if answer else ("(no answer)" if step.error else "(empty)"))
            cols[2].caption(f"{usd(step.cost)} · {step.latency_ms:,.0f} ms")


def _step_details(trace: Trace) -> None:
    for i, step in enumerate(trace.steps):
        label = f"Step {i + 1}: {md_escape(step.tier_name)} · {md_escape(step.model)} · {step.decision}"
        with st.expander(f"{label} — raw model output"):
            # The logged reason reads confidence on the 0-1 scale ("0.00 < threshold 0.75") where the pill above says
            # "1 of 5 < 4": said so, the two do not look like different decisions.
            st.caption("Reason as logged (confidence normalised to 0–1)")
            st.text(step.reason)
            if step.error:
                st.caption("Endpoint error")
                st.code(step.error, language=None, wrap_lines=True)
            st.caption("Raw output")
            st.code(step.call.raw_output or "(empty)", language=None, wrap_lines=True, height=200)
            if step.verify_call is not None:
                st.caption("Verify call output")
                st.code(step.verify_call.raw_output or "(empty)", language=None, wrap_lines=True)
            st.caption("Prompt")
            st.code(json.dumps(step.call.messages, indent=2, ensure_ascii=False), language="json",
                    wrap_lines=True, height=200)


def render_trace(trace: Trace, *, key: str, show_question: bool = False) -> None:
    """The whole trace: badges, final answer, money, steps in order with their decisions, the two charts, raw
    outputs, and a link that opens this run directly."""
    trace_badges(trace)
    if show_question:
        st.caption("Question")
        st.code(trace.question, language=None, wrap_lines=True, height="content" if len(trace.question) < 2000
                else 200)
    if trace.error:
        st.error(md_escape(failure_text(trace.error), limit=2000), icon=":material/error:")
    else:
        st.caption(f"Final answer from tier {md_escape(trace.final_tier or '?')}"
                   + ("" if trace.gold is None else f" · gold answer: {md_escape(trace.gold, limit=200)}"))
        st.code(trace.final_answer or "(empty)", language=None, wrap_lines=True)
    routed = route_line(trace)
    if routed:
        st.caption(md_escape(routed[0].upper() + routed[1:]))
    _summary(trace)
    for note in trace_notes(trace, with_error=False):  # as `query` prints them: estimates, fallbacks, logprobs
        st.caption(":material/info: " + md_escape(note[0].upper() + note[1:], limit=2000))
    st.markdown("**Steps**")
    _step_lines(trace)
    left, right = st.columns(2)
    left.plotly_chart(confidence_chart(trace), key=f"{key}_conf", config={"displayModeBar": False})
    right.plotly_chart(cost_chart(trace), key=f"{key}_cost", config={"displayModeBar": False})
    with st.expander("Every figure per step"):
        st.dataframe(pd.DataFrame(step_table(trace)), hide_index=True, key=f"{key}_steps")
    _step_details(trace)
    st.caption(f"run id {trace.run_id} · {trace.created_at:%Y-%m-%d %H:%M:%S} UTC · source {trace.source} · "
               f"signal {md_escape(trace.signal)}")
    st.markdown("Link to this run (opens its trace): " + run_url(trace.run_id))
