"""The one place that writes SQL: the DuckDB store and its query modules."""

from cascade_core.store.connection import (
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StoreMissingError,
    StoreReadOnlyError,
)
from cascade_core.store.export import export_bytes, export_runs
from cascade_core.store.intents import InFlight
from cascade_core.store.lake import LakeTarget
from cascade_core.store.location import describe_location, store_location
from cascade_core.store.maintenance import MaintenanceReport, data_file_count, maintain
from cascade_core.store.purging import PURGED_TABLES, PurgeCriteria, PurgeReport, purge
from cascade_core.store.retention import RetentionScheduler, purge_expired, retention_cutoff
from cascade_core.store.routing_tables import StoreEmbeddingCache
from cascade_core.store.rows import trace_from_rows, trace_rows
from cascade_core.store.run_filter import NO_ANSWER, SORT_COLUMNS, SOURCES, WINDOWS, RunFilter, RunSort, window_bounds
from cascade_core.store.run_logger import RunLogger
from cascade_core.store.runs_query import (
    FilterCounts,
    count_runs,
    filter_counts,
    final_tier_options,
    runs_page,
    tier_options_and_bounds,
    time_bounds,
)
from cascade_core.store.store import Store
from cascade_core.store.text_search import (
    PAGE_BUDGET_S,
    MatchCount,
    SearchPage,
    count_matches,
    search_page,
    text_candidates,
)

__all__ = [
    "NO_ANSWER",
    "PAGE_BUDGET_S",
    "PURGED_TABLES",
    "SORT_COLUMNS",
    "SOURCES",
    "WINDOWS",
    "FilterCounts",
    "InFlight",
    "LakeTarget",
    "MaintenanceReport",
    "MatchCount",
    "PurgeCriteria",
    "PurgeReport",
    "RetentionScheduler",
    "RunFilter",
    "RunLogger",
    "RunSort",
    "SearchPage",
    "Store",
    "StoreCorruptError",
    "StoreEmbeddingCache",
    "StoreError",
    "StoreLockedError",
    "StoreMissingError",
    "StoreReadOnlyError",
    "count_matches",
    "count_runs",
    "data_file_count",
    "describe_location",
    "export_bytes",
    "export_runs",
    "filter_counts",
    "final_tier_options",
    "maintain",
    "purge",
    "purge_expired",
    "retention_cutoff",
    "runs_page",
    "search_page",
    "store_location",
    "text_candidates",
    "tier_options_and_bounds",
    "time_bounds",
    "trace_from_rows",
    "trace_rows",
    "window_bounds",
]
