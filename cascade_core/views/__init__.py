"""What the pages display, as plain functions and records (tested without a browser). No streamlit here."""

from cascade_core.views.examples import Example, example_questions
from cascade_core.views.links import params_from_state, run_link, state_from_params
from cascade_core.views.money import RunMoney, change_vs_large, per_1k, run_money, signed_pct, usd
from cascade_core.views.overview import (
    LATENCY_NOTE,
    Headline,
    Overview,
    compute_overview,
    spend_by_bucket,
    tier_mix_by_bucket,
)
from cascade_core.views.routing import LiveHealth, ShadowSummary, live_health, recert_table
from cascade_core.views.runs import count_caption, describe_filters, runs_table, search_note, why_empty
from cascade_core.views.settings import ConnectionCheck, check_connection, human_bytes, store_info, tier_rows
from cascade_core.views.status import AuditStatus, SweepSummary, latest_audit_status, latest_sweep_summary
from cascade_core.views.steps import (
    LEVELS,
    StepStatus,
    accepts_text,
    call_failure,
    level_needed,
    level_threshold,
    step_status,
    step_table,
)
from cascade_core.views.trace import format_trace_table, format_usd, route_line, step_display_rows

__all__ = [
    "LATENCY_NOTE",
    "LEVELS",
    "AuditStatus",
    "ConnectionCheck",
    "Example",
    "Headline",
    "LiveHealth",
    "Overview",
    "RunMoney",
    "ShadowSummary",
    "StepStatus",
    "SweepSummary",
    "accepts_text",
    "call_failure",
    "change_vs_large",
    "check_connection",
    "compute_overview",
    "count_caption",
    "describe_filters",
    "example_questions",
    "format_trace_table",
    "format_usd",
    "human_bytes",
    "latest_audit_status",
    "latest_sweep_summary",
    "level_needed",
    "level_threshold",
    "live_health",
    "params_from_state",
    "per_1k",
    "recert_table",
    "route_line",
    "run_link",
    "run_money",
    "runs_table",
    "search_note",
    "signed_pct",
    "spend_by_bucket",
    "state_from_params",
    "step_display_rows",
    "step_status",
    "step_table",
    "store_info",
    "tier_mix_by_bucket",
    "tier_rows",
    "usd",
    "why_empty",
]
