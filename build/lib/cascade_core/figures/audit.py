"""Plotly figures for audits, shared by the Audit page and the HTML report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # plotly is imported when a figure is drawn, keeping `import cascade_core` light for the CLI
    import plotly.graph_objects as go


def _errors(table: pd.DataFrame) -> dict[str, object]:
    rate = table["rate"].astype(float)
    return {"type": "data", "symmetric": False, "array": (table["high"] - rate).tolist(),
            "arrayminus": (rate - table["low"]).tolist()}


def trend_figure(trend: pd.DataFrame, alert_rate: float) -> go.Figure:
    """Weekly overconfidence rate with Wilson 95% intervals and the alert line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if not trend.empty:
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(trend["week"]), y=trend["rate"], mode="lines+markers", name="overconfidence rate",
            error_y=_errors(trend), customdata=trend[["flagged", "audited"]].to_numpy(),
            hovertemplate="week of %{x|%Y-%m-%d}<br>rate %{y:.1%}<br>%{customdata[0]} of %{customdata[1]}"
                          "<extra></extra>",
        ))
    fig.add_hline(y=alert_rate, line_dash="dash", line_color="red", annotation_text=f"alert {alert_rate:.0%}",
                  annotation_position="top left")
    fig.update_layout(title="Overconfidence by week (Wilson 95% intervals)", xaxis_title="week of the run",
                      yaxis_title="flagged / audited", yaxis_tickformat=".0%", yaxis_range=[0, 1],
                      height=360, margin={"l": 10, "r": 10, "t": 50, "b": 10}, showlegend=False)
    if not trend.empty:
        # Whole weeks on the axis, and some room either side so a single week does not zoom to milliseconds.
        weeks = pd.to_datetime(trend["week"])
        fig.update_xaxes(tickformat="%Y-%m-%d", dtick=7 * 24 * 3600 * 1000,
                         range=[weeks.min() - pd.Timedelta(days=4), weeks.max() + pd.Timedelta(days=4)])
    return fig


def group_figure(table: pd.DataFrame, column: str, alert_rate: float) -> go.Figure:
    """Overconfidence per tier / category / confidence level, with Wilson 95% intervals."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(
        x=table[column].astype(str), y=table["rate"], error_y=_errors(table),
        customdata=table[["flagged", "audited"]].to_numpy(),
        hovertemplate="%{x}<br>rate %{y:.1%}<br>%{customdata[0]} of %{customdata[1]}<extra></extra>",
    ))
    fig.add_hline(y=alert_rate, line_dash="dash", line_color="red")
    fig.update_layout(title=f"Overconfidence by {column.replace('_', ' ')}", yaxis_tickformat=".0%",
                      yaxis_range=[0, 1], height=300, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig
