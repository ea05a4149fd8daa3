"""Routing figures: weekly traffic shares (drift) and the learned router against the threshold cascade."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from cascade_core.figures.trace import TIER_PALETTE

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10},
           "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"}}
# The drift charts sit three abreast: a legend beside the title would run over it, so it goes under the axis.
_BELOW = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10},
          "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.3, "yanchor": "top"}}


DRIFT_TITLES = {"route": "Route by week", "tier": "Answering tier by week", "band": "Small-tier confidence by week"}
OTHER_COLOUR = "#9e9e9e"  # "(no answer)", "(no route)": not a tier or a route of their own


def drift_chart(shares: pd.DataFrame, dimension: str, tiers: Sequence[str] = ()) -> go.Figure:
    """Share of each week's runs per value of `dimension` (route | tier | band), stacked, one bar per week labelled
    by the week's first day. A tier keeps the colour it has in every other chart (its place in `tiers`, the
    configured order); bands go low to high."""
    part = shares[shares["dimension"] == dimension] if not shares.empty else shares
    fig = go.Figure()
    values = list(dict.fromkeys(part["value"])) if not part.empty else []  # in the order drift sorted them
    if dimension == "tier":
        rank = {name: i for i, name in enumerate(tiers)}
        values.sort(key=lambda v: rank.get(v, len(rank)))
    weeks = sorted(pd.to_datetime(part["week"]).unique()) if not part.empty else []
    labels = [f"{pd.Timestamp(w):%b %d}" for w in weeks]
    for i, value in enumerate(values):
        rows = part[part["value"] == value]
        colour = (OTHER_COLOUR if str(value).startswith("(") else
                  TIER_PALETTE[(tiers.index(value) if dimension == "tier" and value in tiers else i)
                               % len(TIER_PALETTE)])
        fig.add_bar(x=[f"{pd.Timestamp(w):%b %d}" for w in pd.to_datetime(rows["week"])], y=rows["share"],
                    name=str(value), marker_color=colour, customdata=rows["runs"],
                    hovertemplate=f"{value}: %{{y:.1%}} (%{{customdata:,}} runs)<extra></extra>")
    fig.update_layout(title=DRIFT_TITLES.get(dimension, dimension), barmode="stack", showlegend=True,
                      yaxis={"tickformat": ".0%", "range": [0, 1]},
                      xaxis={"title": "week starting", "type": "category", "categoryorder": "array",
                             "categoryarray": labels},
                      height=360, **_BELOW)
    return fig


def router_comparison_figure(curves: Sequence[tuple[str, pd.DataFrame]], *, title: str,
                             references: Sequence[tuple[str, float, float]] = ()) -> go.Figure:
    """Held-out accuracy against cost per 1k questions, one line per policy (frames with cost_per_1k, accuracy),
    plus reference points (name, cost_per_1k, accuracy) such as always-small and always-large."""
    fig = go.Figure()
    for i, (name, frame) in enumerate(curves):
        ordered = frame.sort_values("cost_per_1k")
        fig.add_scatter(x=ordered["cost_per_1k"], y=ordered["accuracy"], mode="lines+markers", name=name,
                        marker={"size": 5}, line={"color": TIER_PALETTE[i % len(TIER_PALETTE)]},
                        hovertemplate=f"{name}: %{{y:.1%}} at $%{{x:.4f}} per 1k<extra></extra>")
    for name, cost, accuracy in references:
        fig.add_scatter(x=[cost], y=[accuracy], mode="markers+text", name=name, text=[name], textposition="top center",
                        marker={"size": 11, "symbol": "diamond", "color": "black"}, showlegend=False)
    fig.update_layout(title=title, xaxis={"title": "cost per 1,000 questions (USD)"},
                      yaxis={"title": "accuracy on held-out questions", "tickformat": ".0%"}, height=440, **_LAYOUT)
    return fig
