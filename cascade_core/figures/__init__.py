"""Every plotly figure the dashboard and the exports show. No streamlit here."""

from cascade_core.figures.overview import spend_chart, tier_mix_chart
from cascade_core.figures.routing import drift_chart, router_comparison_figure
from cascade_core.figures.sweep import comparison_figure, figure_html, frontier_figure, reliability_figure
from cascade_core.figures.trace import confidence_chart, cost_chart

__all__ = [
    "comparison_figure",
    "confidence_chart",
    "cost_chart",
    "drift_chart",
    "figure_html",
    "frontier_figure",
    "reliability_figure",
    "router_comparison_figure",
    "spend_chart",
    "tier_mix_chart",
]
