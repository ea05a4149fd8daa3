"""What the pages display, as plain functions and records (tested without a browser). No streamlit here."""

from cascade_core.views.overview import Headline, Overview, compute_overview, spend_by_bucket, tier_mix_by_bucket
from cascade_core.views.routing import LiveHealth, ShadowSummary, live_health, recert_table
from cascade_core.views.settings import ConnectionCheck, check_connection, human_bytes, store_info, tier_rows
from cascade_core.views.trace import format_trace_table, format_usd, route_line, step_display_rows

__all__ = [
    "ConnectionCheck",
    "Headline",
    "LiveHealth",
    "Overview",
    "ShadowSummary",
    "check_connection",
    "compute_overview",
    "format_trace_table",
    "format_usd",
    "human_bytes",
    "live_health",
    "recert_table",
    "route_line",
    "spend_by_bucket",
    "step_display_rows",
    "store_info",
    "tier_mix_by_bucket",
    "tier_rows",
]
