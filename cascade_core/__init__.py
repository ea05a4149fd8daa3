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
from cascade_core.calibration import TierCalibration, calibration_report
from cascade_core.cascade import Cascade, decide, read_confidence
from cascade_core.client import TierClient
from cascade_core.collect import CollectProgress, CollectResult
from cascade_core.collect import acollect as acollect_dataset  # not `collect`: that name is the module
from cascade_core.collect import collect as collect_dataset
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
from cascade_core.frontier import (
    FrontierPoint,
    answer_tiers,
    evaluate,
    items_worse_than_large,
    per_tier_points,
    shared_threshold_points,
    threshold_grid,
)
from cascade_core.grading import grade
from cascade_core.import_columns import ResultsImportError
from cascade_core.importer import ImportResult, import_results
from cascade_core.metrics import SummaryMetrics, summary_metrics
from cascade_core.outcomes import OutcomeError, OutcomeMatrix, has_confidence, to_matrix, validate_outcomes
from cascade_core.overview import Headline, Overview, compute_overview, spend_by_bucket, tier_mix_by_bucket
from cascade_core.pareto import pareto_front, points_frame
from cascade_core.plots import comparison_figure, figure_html, frontier_figure, reliability_figure
from cascade_core.pricing import call_cost, price_table_cost
from cascade_core.query_run import QueryOverrides, QueryResult, run_query
from cascade_core.recommend import Interval, Recommendation, recommend, split_masks
from cascade_core.records import Confidence, Step, TierCall, Trace
from cascade_core.references import reference_points, versus_reference
from cascade_core.runs_filter import NO_ANSWER, SORT_COLUMNS, SOURCES, WINDOWS, RunFilter, RunSort, window_bounds
from cascade_core.runtime import Runtime, build_runtime, open_runtime
from cascade_core.settings_view import ConnectionCheck, check_connection, human_bytes, store_info, tier_rows
from cascade_core.store import RunLogger, Store, StoreError, StoreLockedError
from cascade_core.store.runs_query import (
    count_runs,
    export_bytes,
    export_runs,
    final_tier_options,
    runs_page,
    time_bounds,
)
from cascade_core.store.segments import compact_if_many, segments_dir
from cascade_core.sweep import SweepResult, SweepSettings, analyse, result_to_json
from cascade_core.sweep_job import SweepJob
from cascade_core.sweep_runs import log_sweep_runs
from cascade_core.sweep_store import SweepMeta, list_saved, reopen, save_result, saved_points
from cascade_core.trace_view import format_trace_table, format_usd, step_display_rows

__all__ = [
    "BUNDLED_DATASET_PATH",
    "EMBEDDED",
    "Cascade",
    "CascadeConfig",
    "Confidence",
    "ConfigError",
    "Dataset",
    "DatasetError",
    "Item",
    "RetryConfig",
    "RunLogger",
    "Runtime",
    "SimulatorConfig",
    "Step",
    "Store",
    "StoreError",
    "StoreLockedError",
    "TierCall",
    "TierClient",
    "TierConfig",
    "Trace",
    "build_runtime",
    "call_cost",
    "decide",
    "default_config",
    "format_trace_table",
    "format_usd",
    "grade",
    "load_bundled",
    "load_config",
    "load_dataset",
    "open_runtime",
    "parse_logprob",
    "parse_self_rated",
    "parse_verify",
    "price_table_cost",
    "read_confidence",
    "step_display_rows",
    "validate_config",
]

__all__ += [  # overconfidence audits
    "AuditParams", "AuditReport", "Judge", "audit_html", "audit_items", "audit_markdown", "cohen_kappa",
    "flagged_table", "group_figure", "judge_audit", "latest_unfinished", "list_audits", "load_report", "make_judge",
    "record_review", "run_audit", "trend_figure", "wilson_interval",
]

__all__ += [  # the endpoint's request log (the server itself: cascade_core.serve, imported on demand)
    "compact_if_many",
    "segments_dir",
]

__all__ += [  # the dashboard: overview figures, run browsing, one query, settings
    "NO_ANSWER", "SORT_COLUMNS", "SOURCES", "WINDOWS", "ConnectionCheck", "Headline", "Overview", "QueryOverrides",
    "QueryResult", "RunFilter", "RunSort", "check_connection", "compute_overview", "count_runs", "export_bytes",
    "export_runs", "final_tier_options", "human_bytes", "run_query", "runs_page", "spend_by_bucket", "store_info",
    "tier_mix_by_bucket", "tier_rows", "time_bounds", "window_bounds",
]

__all__ += [  # threshold sweeps: collection, outcome table, frontier, recommendation, plots, saved sweeps
    "CollectProgress", "CollectResult", "FrontierPoint", "ImportResult", "Interval", "OutcomeError", "OutcomeMatrix",
    "Recommendation", "ResultsImportError", "SummaryMetrics", "SweepJob", "SweepMeta", "SweepResult", "SweepSettings",
    "TierCalibration", "acollect_dataset", "analyse", "answer_tiers", "calibration_report", "collect_dataset",
    "comparison_figure",
    "evaluate", "figure_html", "frontier_figure", "has_confidence", "import_results", "items_worse_than_large",
    "list_saved", "log_sweep_runs", "pareto_front", "per_tier_points", "points_frame", "recommend", "reference_points",
    "reliability_figure", "reopen", "result_to_json", "save_result", "saved_points", "shared_threshold_points",
    "split_masks", "summary_metrics", "threshold_grid", "to_matrix", "validate_outcomes", "versus_reference",
]
