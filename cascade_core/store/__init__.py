"""The one place that writes SQL: the DuckDB store and its query modules."""

from cascade_core.store.connection import (
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StoreMissingError,
    StoreReadOnlyError,
)
from cascade_core.store.rows import trace_from_rows, trace_rows
from cascade_core.store.run_filter import NO_ANSWER, SORT_COLUMNS, SOURCES, WINDOWS, RunFilter, RunSort, window_bounds
from cascade_core.store.run_logger import RunLogger
from cascade_core.store.runs_query import (
    count_runs,
    export_bytes,
    export_runs,
    final_tier_options,
    runs_page,
    time_bounds,
)
from cascade_core.store.segments import compact_if_many, segments_dir
from cascade_core.store.store import Store

__all__ = [
    "NO_ANSWER",
    "SORT_COLUMNS",
    "SOURCES",
    "WINDOWS",
    "RunFilter",
    "RunLogger",
    "RunSort",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoreMissingError",
    "StoreReadOnlyError",
    "compact_if_many",
    "count_runs",
    "export_bytes",
    "export_runs",
    "final_tier_options",
    "runs_page",
    "segments_dir",
    "time_bounds",
    "trace_from_rows",
    "trace_rows",
    "window_bounds",
]
