"""The trace's figures: each step's confidence against its threshold, and the cumulative cost against
always-large. A step without a confidence (its call failed, its reply could not be read) is drawn, labelled,
never left as an empty row. Only configuration names and numbers go into figures; user text never does."""

from __future__ import annotations

import plotly.graph_objects as go

from cascade_core.records import Trace
from cascade_core.views.money import usd
from cascade_core.views.steps import step_status

DECISION_COLOURS = {"accepted": "#2e7d32", "final": "#1565c0", "escalated": "#ef6c00", "error": "#c62828"}
TIER_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
BASE = -0.08  # where the confidence bars start (left of 0)
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10},
          "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"}}


def step_label(index: int, tier: str) -> str:
    return f"{index + 1}. {tier}"


def confidence_chart(trace: Trace) -> go.Figure:
    """Each tier's confidence (bar, coloured by decision) against its threshold (black tick); a failed tier or
    an unreadable reply is a hatched full-width bar saying so. Self-rated confidence is on its 1-5 scale."""
    labels = [step_label(i, s.tier_name) for i, s in enumerate(trace.steps)]
    statuses = [step_status(s, trace.signal) for s in trace.steps]
    fig = go.Figure()
    have = [(lab, s, st) for lab, s, st in zip(labels, trace.steps, statuses, strict=True)
            if s.confidence.normalised is not None]
    missing = [(lab, s, st) for lab, s, st in zip(labels, trace.steps, statuses, strict=True)
               if s.confidence.normalised is None]
    if have:  # bars start a little left of 0, so the lowest rating (1 of 5 is 0) still shows as a stub
        fig.add_bar(y=[lab for lab, _, _ in have], x=[(s.confidence.normalised or 0.0) - BASE for _, s, _ in have],
                    base=BASE, orientation="h", text=[st.text for _, _, st in have], textposition="auto",
                    cliponaxis=False, name="confidence",
                    marker_color=[DECISION_COLOURS.get(s.decision, "#777") for _, s, _ in have],
                    hovertemplate="%{y}: %{text}<extra></extra>")
    if missing:
        fig.add_bar(y=[lab for lab, _, _ in missing], x=[1.0 - BASE] * len(missing), base=BASE, orientation="h",
                    text=[st.text for _, _, st in missing], textposition="inside", insidetextanchor="start",
                    name="no confidence", textfont={"color": "#222"},
                    marker={"color": ["#ffcdd2" if s.decision == "error" else "#e0e0e0" for _, s, _ in missing],
                            "pattern": {"shape": "/", "fgcolor": "#9e9e9e", "solidity": 0.15}},
                    hovertemplate="%{y}: %{text}<extra></extra>")
    with_threshold = [(lab, s.threshold) for lab, s in zip(labels, trace.steps, strict=True) if s.threshold is not None]
    if with_threshold:
        fig.add_scatter(y=[lab for lab, _ in with_threshold], x=[t for _, t in with_threshold], mode="markers",
                        name="threshold", marker={"symbol": "line-ns", "size": 28, "line": {"width": 3},
                                                  "color": "black"},
                        hovertemplate="threshold %{x:.2f}<extra></extra>")
    xaxis: dict[str, object] = {"range": [BASE, 1.05], "title": "confidence"}
    if trace.signal == "self_rated":
        xaxis.update(tickvals=[0, 0.25, 0.5, 0.75, 1.0], ticktext=["1", "2", "3", "4", "5"],
                     title="self-rated confidence (1-5)")
    # Steps top to bottom in the order they ran, whether or not they have a confidence (the bars of the two kinds
    # are separate traces, which plotly would otherwise stack category by category, trace by trace).
    fig.update_layout(title="Confidence vs threshold", xaxis=xaxis,
                      yaxis={"autorange": "reversed", "categoryorder": "array", "categoryarray": labels},
                      barmode="overlay", height=140 + 45 * len(labels), **LAYOUT)
    return fig


def cost_chart(trace: Trace) -> go.Figure:
    """The cascade's cumulative cost, one segment per step, against the always-large cost."""
    cascade, large = "cascade", "always-large" + (" (estimated)" if trace.always_large_estimated else "")
    fig = go.Figure()
    for i, step in enumerate(trace.steps):
        fig.add_bar(y=[cascade], x=[step.cost], orientation="h", name=step_label(i, step.tier_name),
                    marker_color=TIER_PALETTE[step.tier_index % len(TIER_PALETTE)],
                    hovertemplate=f"{step_label(i, step.tier_name)}: {usd(step.cost)}<extra></extra>")
    fig.add_bar(y=[large], x=[trace.always_large_cost], orientation="h", name=large, marker_color="#9e9e9e",
                marker_pattern_shape="/" if trace.always_large_estimated else "",
                hovertemplate=f"always-large: {usd(trace.always_large_cost)}<extra></extra>")
    fig.update_layout(barmode="stack", title="Cumulative cost vs always-large (USD)", height=230,
                      xaxis={"tickformat": "$.2r"}, **LAYOUT)
    # The legend (one entry per step) goes under the axis, steps left to right in the order they ran: beside the
    # title it wraps onto the title in a half-width column.
    fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.35, "yanchor": "top",
                              "traceorder": "normal"}, margin={"t": 40}, height=260)
    return fig
