"""The Overview page's figures: spend and tier mix per time bucket, as bars one bucket wide (an hourly window
shows 24 readable bars, not slivers). Only configuration names (tiers) and numbers go into figures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cascade_core.figures.trace import LAYOUT, TIER_PALETTE

_BUCKET = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1),
           "week": pd.Timedelta(weeks=1)}
_TICKS = {"hour": "%H:%M<br>%b %d", "day": "%b %d", "week": "%b %d<br>%Y"}


def _bucket_ms(unit: str) -> float:
    return float(_BUCKET.get(unit, pd.Timedelta(hours=1)).total_seconds()) * 1000


def _time_axis(fig: go.Figure, buckets: pd.Series, unit: str) -> None:
    """Bars are centred on their bucket's middle; the axis shows at least three buckets, ticks per unit."""
    width = _BUCKET.get(unit, pd.Timedelta(hours=1))
    fig.update_xaxes(tickformat=_TICKS.get(unit, "%b %d"), title=None)
    if len(buckets):
        times = pd.to_datetime(buckets)
        low, high = times.min(), times.max() + width
        if high - low < 3 * width:
            pad = (3 * width - (high - low)) / 2
            low, high = low - pad, high + pad
        fig.update_xaxes(range=[low, high])


def spend_chart(spend: pd.DataFrame, unit: str) -> go.Figure:
    """Cascade spend per time bucket beside what always-large would have cost (grouped bars)."""
    fig = go.Figure()
    half = pd.Timedelta(milliseconds=_bucket_ms(unit) / 2)
    middle = pd.to_datetime(spend["bucket"]) + half if len(spend) else spend["bucket"]
    width = _bucket_ms(unit) * 0.4
    fig.add_bar(x=middle - pd.Timedelta(milliseconds=width / 2) if len(spend) else middle, y=spend["always_large"],
                width=width, name="always-large", marker_color="#bdbdbd",
                hovertemplate="always-large: $%{y:.3r}<extra></extra>")
    fig.add_bar(x=middle + pd.Timedelta(milliseconds=width / 2) if len(spend) else middle, y=spend["spend"],
                width=width, name="cascade spend", marker_color="#4e79a7",
                hovertemplate="cascade: $%{y:.3r}<extra></extra>")
    fig.update_layout(title=f"Spend per {unit} (USD)", height=320, yaxis={"tickformat": "$.2r"},
                      barmode="overlay", **LAYOUT)
    _time_axis(fig, spend["bucket"], unit)
    return fig


def tier_mix_chart(mix: pd.DataFrame, unit: str) -> go.Figure:
    """Share of each bucket's runs answered by each tier (stacked to 100%), one bar per bucket."""
    fig = go.Figure()
    order = mix.sort_values("tier_index", na_position="last")["tier"].drop_duplicates().tolist()
    half = pd.Timedelta(milliseconds=_bucket_ms(unit) / 2)
    for tier in order:
        part = mix[mix["tier"] == tier]
        index = part["tier_index"].iloc[0]
        colour = "#9e9e9e" if pd.isna(index) else TIER_PALETTE[int(index) % len(TIER_PALETTE)]  # as in every chart
        fig.add_bar(x=pd.to_datetime(part["bucket"]) + half, y=part["share"], width=_bucket_ms(unit) * 0.8,
                    name=str(tier), marker_color=colour,
                    customdata=part["runs"],
                    hovertemplate=f"{tier}: %{{y:.0%}} (%{{customdata:,}} runs)<extra></extra>")
    fig.update_layout(barmode="stack", title=f"Tier mix per {unit}", height=320, yaxis={"tickformat": ".0%"},
                      **LAYOUT)
    _time_axis(fig, mix["bucket"].drop_duplicates(), unit)
    return fig
