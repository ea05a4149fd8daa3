"""Which store a config points at: the embedded DuckDB file (`store_path`) or a DuckLake (`[store]`)."""

from __future__ import annotations

from pathlib import Path

from cascade_core.cascade.config import CascadeConfig, ConfigError
from cascade_core.store.lake import LakeTarget


def store_location(config: CascadeConfig) -> Path | LakeTarget:
    """The DuckDB file, or the lake with its DSN and data path read from the environment now."""
    spec = config.store
    if spec.backend == "duckdb":
        return Path(config.store_path)
    try:
        dsn = spec.resolved_dsn() if spec.catalog == "postgres" else str(spec.catalog_path)
        data_path = spec.resolved_data_path()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return LakeTarget(catalog=spec.catalog, dsn=dsn, data_path=data_path, inline_rows=spec.inline_rows,
                      maintenance_every=spec.maintenance_every, keep_snapshots=spec.keep_snapshots,
                      synchronous_commit=spec.synchronous_commit)


def describe_location(location: Path | LakeTarget) -> str:
    return location.describe() if isinstance(location, LakeTarget) else str(location)
