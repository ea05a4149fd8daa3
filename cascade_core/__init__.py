"""Cascade Lab: LLM model cascades over OpenAI-compatible endpoints. Pages and the CLI import from here."""

from cascade_core.audit import (
    AuditParams,
    AuditReport,
    Judge,
    audit_items,
    cohen_kappa,
    flagged_table,
    group_figure,
    judge_audit,
    latest_unfinished,
    list_audits,
    load_report,
    make_judge,
    record_review,
    run_audit,
    trend_figure,
    wilson_interval,
)
from cascade_core.audit import to_html as audit_html
from cascade_core.audit import to_markdown as audit_markdown
from cascade_core.cascade import Cascade, decide, read_confidence
from cascade_core.client import TierClient
from cascade_core.confidence import parse_logprob, parse_self_rated, parse_verify
from cascade_core.config import (
    EMBEDDED,
    CascadeConfig,
    ConfigError,
    RetryConfig,
    SimulatorConfig,
    TierConfig,
    default_config,
    load_config,
    validate_config,
)
from cascade_core.datasets import BUNDLED_DATASET_PATH, Dataset, DatasetError, Item, load_bundled, load_dataset
from cascade_core.grading import grade
from cascade_core.overview import Headline, Overview, compute_overview, spend_by_bucket, tier_mix_by_bucket
from cascade_core.pricing import call_cost, price_table_cost
from cascade_core.query_run import QueryOverrides, QueryResult, run_query
from cascade_core.records import Confidence, Step, TierCall, Trace
from cascade_core.runs_filter import NO_ANSWER, SORT_COLUMNS, SOURCES, WINDOWS, RunFilter, RunSort, window_bounds
from cascade_core.runtime import Runtime, build_runtime, open_runtime
from cascade_core.settings_view import ConnectionCheck, check_connection, human_bytes, store_info, tier_rows
from cascade_core.store import Store, StoreError, StoreLockedError
from cascade_core.store.runs_query import (
    count_runs,
    export_bytes,
    export_runs,
    final_tier_options,
    runs_page,
    time_bounds,
)
from cascade_core.store.segments import segments_dir
from cascade_core.trace_view import format_trace_table, format_usd, step_display_rows

__all__ = [
    "BUNDLED_DATASET_PATH", "EMBEDDED", "Cascade", "CascadeConfig", "Confidence", "ConfigError", "Dataset",
    "DatasetError", "Item", "RetryConfig", "Runtime", "SimulatorConfig", "Step", "Store", "StoreError",
    "StoreLockedError", "TierCall", "TierClient", "TierConfig", "Trace", "build_runtime", "call_cost", "decide",
    "default_config", "format_trace_table", "format_usd", "grade", "load_bundled", "load_config", "load_dataset",
    "open_runtime", "parse_logprob", "parse_self_rated", "parse_verify", "price_table_cost", "read_confidence",
    "step_display_rows", "validate_config",
]

__all__ += [  # overconfidence audits
    "AuditParams", "AuditReport", "Judge", "audit_html", "audit_items", "audit_markdown", "cohen_kappa",
    "flagged_table", "group_figure", "judge_audit", "latest_unfinished", "list_audits", "load_report", "make_judge",
    "record_review", "run_audit", "trend_figure", "wilson_interval",
]

__all__ += [  # the endpoint's request log (the server itself: cascade_core.serve, imported on demand)
    "segments_dir",
]

__all__ += [  # the dashboard: overview figures, run browsing, one query, settings
    "NO_ANSWER", "SORT_COLUMNS", "SOURCES", "WINDOWS", "ConnectionCheck", "Headline", "Overview", "QueryOverrides",
    "QueryResult", "RunFilter", "RunSort", "check_connection", "compute_overview", "count_runs", "export_bytes",
    "export_runs", "final_tier_options", "human_bytes", "run_query", "runs_page", "spend_by_bucket", "store_info",
    "tier_mix_by_bucket", "tier_rows", "time_bounds", "window_bounds",
]
