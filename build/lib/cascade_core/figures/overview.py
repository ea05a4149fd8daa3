"""Plotly figures for the dashboard (no Streamlit here, so they are built and tested without a page).

Only configuration names (tiers, models) and numbers go into figures; user text never does.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cascade_core.records import Trace

DECISION_COLOURS = {"accepted": "#2e7d32", "final": "#1565c0", "escalated": "#ef6c00", "error": "#c62828"}
TIER_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10},
           "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"}}


def _step_label(index: int, tier: str) -> str:
    return f"{index + 1}. {tier}"


def confidence_chart(trace: Trace) -> go.Figure:
    """Each tier's confidence (bar, coloured by decision) against its threshold (black tick)."""
    labels = [_step_label(i, s.tier_name) for i, s in enumerate(trace.steps)]
    values = [s.confidence.normalised or 0.0 for s in trace.steps]
    texts = ["no confidence" if s.confidence.normalised is None else f"{s.confidence.normalised:.2f}"
             for s in trace.steps]
    fig = go.Figure()
    fig.add_bar(y=labels, x=values, orientation="h", text=texts, textposition="auto", name="confidence",
                marker_color=[DECISION_COLOURS.get(s.decision, "#777") for s in trace.steps],
                hovertemplate="%{y}: confidence %{x:.2f}<extra></extra>")
    with_threshold = [(lab, s.threshold) for lab, s in zip(labels, trace.steps, strict=True) if s.threshold is not None]
    if with_threshold:
        fig.add_scatter(y=[lab for lab, _ in with_threshold], x=[t for _, t in with_threshold], mode="markers",
                        name="threshold", marker={"symbol": "line-ns", "size": 28, "line": {"width": 3},
                                                  "color": "black"},
                        hovertemplate="threshold %{x:.2f}<extra></extra>")
    fig.update_layout(title="Confidence vs threshold", xaxis={"range": [0, 1.05]},
                      yaxis={"autorange": "reversed"}, height=120 + 45 * len(labels), **_LAYOUT)
    return fig


def cost_chart(trace: Trace) -> go.Figure:
    """The cascade's cumulative cost, one segment per step, against the always-large cost."""
    cascade, large = "cascade", "always-large" + (" (estimated)" if trace.always_large_estimated else "")
    fig = go.Figure()
    for i, step in enumerate(trace.steps):
        fig.add_bar(y=[cascade], x=[step.cost], orientation="h", name=_step_label(i, step.tier_name),
                    marker_color=TIER_PALETTE[step.tier_index % len(TIER_PALETTE)],
                    hovertemplate=f"{_step_label(i, step.tier_name)}: $%{{x:.6f}}<extra></extra>")
    fig.add_bar(y=[large], x=[trace.always_large_cost], orientation="h", name=large, marker_color="#9e9e9e",
                marker_pattern_shape="/" if trace.always_large_estimated else "",
                hovertemplate="always-large: $%{x:.6f}<extra></extra>")
    fig.update_layout(barmode="stack", title="Cumulative cost vs always-large (USD)", height=230,
                      xaxis={"tickformat": "$.6f"}, **_LAYOUT)
    return fig


def spend_chart(spend: pd.DataFrame, unit: str) -> go.Figure:
    """Cascade spend per time bucket against what always-large would have cost."""
    fig = go.Figure()
    # Markers as well as lines: a window with one bucket must still show its point.
    fig.add_scatter(x=spend["bucket"], y=spend["always_large"], name="always-large", mode="lines+markers",
                    line={"dash": "dash", "color": "#9e9e9e"})
    fig.add_scatter(x=spend["bucket"], y=spend["spend"], name="cascade spend", mode="lines+markers",
                    fill="tozeroy", line={"color": "#4e79a7"})
    fig.update_layout(title=f"Spend per {unit} (USD)", height=320, yaxis={"tickformat": "$.4f"}, **_LAYOUT)
    _pad_single_bucket(fig, spend["bucket"], unit)
    return fig


_BUCKET = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1),
           "week": pd.Timedelta(weeks=1)}


def _pad_single_bucket(fig: go.Figure, buckets: pd.Series, unit: str) -> None:
    """With one bucket plotly zooms the time axis to milliseconds; show a bucket either side instead."""
    if len(buckets) != 1:
        return
    width = _BUCKET.get(unit, pd.Timedelta(hours=1))
    only = pd.to_datetime(buckets.iloc[0])
    fig.update_xaxes(range=[only - width, only + width])


def tier_mix_chart(mix: pd.DataFrame, unit: str) -> go.Figure:
    """Share of each bucket's runs answered by each tier (stacked to 100%)."""
    fig = go.Figure()
    order = mix.sort_values("tier_index", na_position="last")["tier"].drop_duplicates().tolist()
    for n, tier in enumerate(order):
        part = mix[mix["tier"] == tier]
        fig.add_bar(x=part["bucket"], y=part["share"], name=str(tier), marker_color=TIER_PALETTE[n % len(TIER_PALETTE)],
                    hovertemplate=f"{tier}: %{{y:.0%}}<extra></extra>")
    fig.update_layout(barmode="stack", title=f"Tier mix per {unit}", height=320, yaxis={"tickformat": ".0%"},
                      **_LAYOUT)
    _pad_single_bucket(fig, mix["bucket"].drop_duplicates(), unit)
    return fig
