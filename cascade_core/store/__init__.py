"""The one place that writes SQL: the DuckDB store and its query modules."""

from cascade_core.store.store import Store, StoreError, StoreLockedError, trace_from_rows, trace_rows

__all__ = ["Store", "StoreError", "StoreLockedError", "trace_from_rows", "trace_rows"]
