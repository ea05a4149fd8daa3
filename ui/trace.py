"""The tier-by-tier trace of one run; shared by the Query page (fresh runs) and the Runs page (logged runs).

Every piece of user or model text goes through st.code / st.text / dataframes, or md_escape in labels.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from cascade_core.cascade import Trace
from cascade_core.figures.overview import confidence_chart, cost_chart
from cascade_core.views import format_usd, route_line, step_display_rows
from ui.text import md_escape

TABLE_TEXT = 500  # characters of an answer shown in the steps table (the expander has it all)


def trace_badges(trace: Trace) -> None:
    """SIMULATED whenever a simulated tier answered (or was called); graded result; error."""
    cols = st.columns([1, 1, 1, 5])
    if trace.simulated:
        cols[0].badge("simulated", icon=":material/science:", color="orange")
    if trace.correct is True:
        cols[1].badge("correct", icon=":material/check:", color="green")
    elif trace.correct is False:
        cols[1].badge("incorrect", icon=":material/close:", color="red")
    else:
        cols[1].badge("ungraded", color="gray")
    if trace.error or any(s.error for s in trace.steps):
        cols[2].badge("endpoint error", icon=":material/error:", color="red")


def _steps_frame(trace: Trace) -> pd.DataFrame:
    rows = step_display_rows(trace)
    for row, step in zip(rows, trace.steps, strict=True):
        answer = row["answer"]
        row["answer"] = answer if len(answer) <= TABLE_TEXT else answer[: TABLE_TEXT - 1] + "…"
        row["error"] = step.error or ""
    return pd.DataFrame(rows)


def _summary(trace: Trace) -> None:
    cols = st.columns(5)
    cols[0].metric("Cascade cost", format_usd(trace.total_cost))
    large = "Always-large (estimated)" if trace.always_large_estimated else "Always-large"
    cols[1].metric(large, format_usd(trace.always_large_cost))
    pct = f"{trace.savings / trace.always_large_cost:.0%}" if trace.always_large_cost > 0 else None
    cols[2].metric("Saved", format_usd(trace.savings), delta=pct)
    cols[3].metric("Model latency", f"{trace.latency_ms:,.0f} ms")
    cols[4].metric("Tiers called", f"{len(trace.steps)}")


def _step_details(trace: Trace, key: str) -> None:
    for i, step in enumerate(trace.steps):
        label = f"Step {i + 1}: {md_escape(step.tier_name)} · {md_escape(step.model)} · {step.decision}"
        with st.expander(f"{label} — raw model output"):
            st.caption("Reason")
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
    """The whole trace: badges, final answer, summary, steps in order, the two charts, raw outputs."""
    trace_badges(trace)
    if show_question:
        st.caption("Question")
        st.code(trace.question, language=None, wrap_lines=True, height="content" if len(trace.question) < 2000
                else 200)
    if trace.error:
        st.error("No tier could answer. " + md_escape(trace.error, limit=2000), icon=":material/error:")
    else:
        st.caption(f"Final answer from tier {md_escape(trace.final_tier or '?')}"
                   + ("" if trace.gold is None else f" · gold answer: {md_escape(trace.gold, limit=200)}"))
        st.code(trace.final_answer or "(empty)", language=None, wrap_lines=True)
    routed = route_line(trace)
    if routed:
        st.caption(md_escape(routed[0].upper() + routed[1:]))
    _summary(trace)
    st.dataframe(
        _steps_frame(trace), hide_index=True, key=f"{key}_steps",
        column_config={
            "step": st.column_config.NumberColumn("#", width="small"),
            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                          format="%.2f"),
            "threshold": st.column_config.NumberColumn("threshold", format="%.2f"),
            "cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.6f"),
        },
    )
    left, right = st.columns(2)
    left.plotly_chart(confidence_chart(trace), key=f"{key}_conf", config={"displayModeBar": False})
    right.plotly_chart(cost_chart(trace), key=f"{key}_cost", config={"displayModeBar": False})
    _step_details(trace, key)
    st.caption(f"run id {trace.run_id} · {trace.created_at:%Y-%m-%d %H:%M:%S} UTC · source {trace.source} · "
               f"signal {md_escape(trace.signal)}")
