"""The one place that writes SQL: the DuckDB store and its query modules."""

from cascade_core.store.connection import StoreError, StoreLockedError
from cascade_core.store.rows import trace_from_rows, trace_rows
from cascade_core.store.run_logger import RunLogger
from cascade_core.store.store import Store

__all__ = ["RunLogger", "Store", "StoreError", "StoreLockedError", "trace_from_rows", "trace_rows"]
