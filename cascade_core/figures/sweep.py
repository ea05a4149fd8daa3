"""Plotly figures of a sweep: the frontier, reliability diagrams, and two saved sweeps compared. No streamlit here.

Names from data (tiers, labels) are HTML-escaped before they reach hover text: plotly renders a subset of HTML.
PNG export is the modebar's camera button in the browser (kaleido, which would render PNG on the server, is
not installed); HTML export is `figure_html`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cascade_core.sweep.analysis import SplitView, SweepResult
from cascade_core.sweep.calibration import TierCalibration
from cascade_core.sweep.frontier import FrontierPoint

COLORS = {"per_tier": "#1f77b4", "shared": "#ff7f0e", "pick": "#d62728", "diagonal": "#888888", "skip": "#2ca02c",
          "tier_choice": "#8c564b", "current": "#111111"}
REF_SYMBOLS = ("diamond", "square", "triangle-up", "pentagon", "hexagon", "cross")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def hover_text(point: FrontierPoint, tiers: Sequence[str]) -> str:
    """Thresholds, tier mix and numbers of one point (escaped)."""
    lines = []
    if point.label:
        lines.append(f"<b>{_esc(point.label)}</b>")
    if point.thresholds:
        lines.append("thresholds: " + ", ".join(f"{_esc(t)} ≥ {v:.2f}" for t, v in zip(tiers, point.thresholds,
                                                                                        strict=False)))
    lines.append("mix: " + " · ".join(f"{_esc(t)} {s:.0%}" for t, s in zip(tiers, point.tier_share, strict=False)))
    latency = "" if not np.isfinite(point.mean_latency_ms) else f" · {point.mean_latency_ms:,.0f} ms"
    lines.append(f"accuracy {point.accuracy:.1%} · ${point.cost_per_1k:,.4f} per 1k{latency}")
    return "<br>".join(lines)


CLOUD_LIMIT = 2000  # cloud points drawn per family: beyond a few thousand a cloud reads the same and only slows


def _thin(points: Sequence[FrontierPoint], limit: int = CLOUD_LIMIT) -> Sequence[FrontierPoint]:
    """Every k-th point (in cost order) when there are more than `limit`; the fronts are drawn in full apart."""
    if len(points) <= limit:
        return points
    ordered = sorted(points, key=lambda p: (p.cost_per_1k, p.accuracy))
    return [ordered[int(i)] for i in np.linspace(0, len(ordered) - 1, limit).round()]


def _cloud(points: Sequence[FrontierPoint], tiers: Sequence[str], name: str, color: str, kind: str,
           opacity: float = 0.35) -> go.Scattergl:
    if len(points) > CLOUD_LIMIT:
        name = f"{name} ({CLOUD_LIMIT:,} of {len(points):,} shown)"
        points = _thin(points)
    return go.Scattergl(
        x=[p.cost_per_1k for p in points], y=[p.accuracy for p in points], mode="markers", name=name,
        marker={"color": color, "size": 5, "opacity": opacity},
        text=[hover_text(p, tiers) for p in points], hoverinfo="text",
        customdata=[[kind, i] for i in range(len(points))],
    )


def _front(points: Sequence[FrontierPoint], tiers: Sequence[str], name: str, color: str, kind: str,
           dash: str = "solid") -> go.Scatter:
    return go.Scatter(
        x=[p.cost_per_1k for p in points], y=[p.accuracy for p in points], mode="lines+markers", name=name,
        line={"color": color, "width": 2, "dash": dash, "shape": "hv"}, marker={"size": 7, "color": color},
        text=[hover_text(p, tiers) for p in points], hoverinfo="text",
        customdata=[[kind, i] for i in range(len(points))],
    )


def _references(refs: Sequence[FrontierPoint], tiers: Sequence[str], suffix: str = "") -> list[go.Scatter]:
    traces = []
    dearest = max((p.cost_per_1k for p in refs), default=0.0)
    for i, p in enumerate(refs):
        symbol = "star" if p.kind == "oracle" else REF_SYMBOLS[i % len(REF_SYMBOLS)]
        traces.append(go.Scatter(
            x=[p.cost_per_1k], y=[p.accuracy], mode="markers+text", name=_esc(p.label) + suffix,
            text=[_esc(p.label) + suffix],  # the dearest label to the left: on the right it is cut at the edge
            textposition="bottom left" if p.cost_per_1k >= dearest else "bottom right",
            hovertext=[hover_text(p, tiers)], hoverinfo="text",
            marker={"symbol": symbol, "size": 14, "color": "#222222" if p.kind == "oracle" else "#555555",
                    "line": {"width": 1, "color": "white"}},
        ))
    return traces


def _layout(fig: go.Figure, title: str, simulated: bool) -> go.Figure:
    if simulated:
        title += " · SIMULATED data"
    fig.update_layout(
        title=title, xaxis_title="cost per 1,000 questions (USD)", yaxis_title="accuracy",
        yaxis_tickformat=".0%", hovermode="closest", legend={"orientation": "h", "y": -0.2}, height=560,
    )
    return fig


def frontier_figure(result: SweepResult, *, pick: FrontierPoint | None = None, simulated: bool = False,
                    title: str = "Cost / quality frontier (held-out questions)", height: int = 560,
                    view: SplitView | None = None) -> go.Figure:
    """Both point clouds, the Pareto fronts, the reference points, the current setting and the picked point, of
    one split (`view`; default the headline one)."""
    tiers = result.tiers
    view = view or result.view
    fig = go.Figure()
    if view.per_tier:
        fig.add_trace(_cloud(view.per_tier, tiers, "per-tier thresholds", COLORS["per_tier"], "per_tier"))
        fig.add_trace(_front(view.per_tier_front, tiers, "per-tier front", COLORS["per_tier"], "per_tier_front"))
    if view.shared:
        fig.add_trace(_cloud(view.shared, tiers, "one shared threshold", COLORS["shared"], "shared", 0.5))
        fig.add_trace(_front(view.shared_front, tiers, "shared front", COLORS["shared"], "shared_front", "dot"))
    for kind, name, front in (("skip", "skip-ahead front", view.skip_front),
                              ("tier_choice", "fewer-tiers front", view.tier_choice_front)):
        if front:
            fig.add_trace(_front(front, tiers, name, COLORS[kind], f"{kind}_front", "dash"))
    for trace in _references(view.references, tiers):
        fig.add_trace(trace)
    if view.current is not None:
        cur = view.current
        fig.add_trace(go.Scatter(
            x=[cur.cost_per_1k], y=[cur.accuracy], mode="markers+text", name="current setting",
            text=["current"], textposition="top left", hovertext=[hover_text(cur, tiers)], hoverinfo="text",
            marker={"symbol": "x", "size": 14, "color": COLORS["current"]},
        ))
    if pick is not None:
        fig.add_trace(go.Scatter(
            x=[pick.cost_per_1k], y=[pick.accuracy], mode="markers", name="picked point",
            marker={"symbol": "circle-open", "size": 22, "color": COLORS["pick"], "line": {"width": 3}},
            hovertext=[hover_text(pick, tiers)], hoverinfo="text",
        ))
    fig = _layout(fig, title, simulated)
    fig.update_layout(height=height)
    return fig


def reliability_figure(report: Sequence[TierCalibration], *, simulated: bool = False) -> go.Figure:
    """Accuracy against mean confidence per bin, one line per tier; marker size grows with the bin's count."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line={"dash": "dash", "color": COLORS["diagonal"]}, hoverinfo="skip"))
    for cal in report:
        bins = cal.bins[cal.bins["count"] > 0]
        if bins.empty:
            continue
        size = 6 + 18 * np.sqrt(bins["count"] / bins["count"].max())
        ece = "n/a" if not np.isfinite(cal.ece) else f"{cal.ece:.3f}"
        fig.add_trace(go.Scatter(
            x=bins["mean_confidence"], y=bins["accuracy"], mode="lines+markers", name=f"{_esc(cal.tier)} (ECE {ece})",
            marker={"size": size}, hoverinfo="text",
            text=[f"{_esc(cal.tier)}: confidence {c:.2f}, accuracy {a:.1%}, {int(n)} answers"
                  for c, a, n in zip(bins["mean_confidence"], bins["accuracy"], bins["count"], strict=True)],
        ))
    title = "Reliability diagram" + (" · SIMULATED data" if simulated else "")
    fig.update_layout(title=title, xaxis_title="mean confidence in bin", yaxis_title="accuracy in bin",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], height=440, legend={"orientation": "h", "y": -0.2})
    return fig


def comparison_figure(a: pd.DataFrame, a_name: str, b: pd.DataFrame, b_name: str, *,
                      simulated: bool = False) -> go.Figure:
    """Two saved sweeps on one plot: each one's Pareto fronts and reference points (frames from saved_points)."""
    fig = go.Figure()
    for frame, name, color, symbol in ((a, a_name, "#1f77b4", "diamond"), (b, b_name, "#d62728", "square")):
        for kind, label, dash in (("per_tier", "per-tier front", "solid"), ("shared", "shared front", "dot"),
                                  ("skip", "skip-ahead front", "dash")):
            front = frame[(frame["kind"] == kind) & frame["on_front"]].sort_values("cost_per_1k")
            if front.empty:
                continue
            fig.add_trace(go.Scatter(
                x=front["cost_per_1k"], y=front["accuracy"], mode="lines+markers", name=f"{_esc(name)}: {label}",
                line={"color": color, "dash": dash, "shape": "hv"},
                hovertext=[f"{_esc(name)} · thresholds {', '.join(f'{t:.2f}' for t in th)}<br>accuracy {acc:.1%}"
                           f" · ${c:,.4f} per 1k" for th, acc, c in zip(front["thresholds"], front["accuracy"],
                                                                       front["cost_per_1k"], strict=True)],
                hoverinfo="text",
            ))
        refs = frame[frame["kind"].isin(["always", "oracle"])]
        fig.add_trace(go.Scatter(
            x=refs["cost_per_1k"], y=refs["accuracy"], mode="markers+text", name=f"{_esc(name)}: references",
            text=[_esc(t) for t in refs["label"]], textposition="bottom right",
            marker={"symbol": symbol, "size": 11, "color": color},
        ))
    return _layout(fig, "Two sweeps compared", simulated)


def figure_html(fig: go.Figure) -> str:
    """A self-contained HTML page of the figure (plotly.js embedded, so it opens offline)."""
    return str(fig.to_html(full_html=True, include_plotlyjs=True))
