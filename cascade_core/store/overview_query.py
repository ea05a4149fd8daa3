"""The Overview's SQL: one time window's headline figures, tier counts and activity, read from the per-hour
rollup (store/rollup.py) plus the runs it does not hold, in one snapshot of the store and two queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from cascade_core.store import rollup
from cascade_core.store.run_filter import NO_ANSWER, bucket_unit, window_bounds
from cascade_core.store.store import Store


@dataclass(frozen=True)
class OverviewRows:
    start: datetime | None
    end: datetime | None
    headline: dict[str, Any]  # the aggregates of rollup.AGGREGATES, p50_ms / p95_ms from the latency histogram
    tiers: pd.DataFrame  # tier, tier_index, runs
    activity: pd.DataFrame  # bucket, tier, tier_index, runs, spend, always_large
    unit: str


def _when(value: Any) -> datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def tiers_and_bounds(store: Store, w: datetime | None) -> pd.DataFrame:
    """Per final tier (None: no answer): its lowest tier index and its first and newest run."""
    sql, params = rollup.parts_sql(None, None, w)
    return store.query_df(f"SELECT final_tier, min(final_tier_index) AS tier_index, min(first_at) AS first_at, "
                          f"max(last_at) AS last_at FROM ({sql}) GROUP BY final_tier ORDER BY tier_index NULLS LAST",
                          params)


def _bucket(hours: pd.Series, unit: str) -> pd.Series:
    """date_trunc(unit, hour) as DuckDB does it (weeks start on Monday)."""
    if unit == "hour":
        return hours
    days = hours.dt.floor("D")
    return days if unit == "day" else days - pd.to_timedelta(days.dt.weekday, unit="D")


def overview_rows(store: Store, window: str) -> OverviewRows:
    """Every figure of the Overview for a named window (relative to the newest run, see run_filter)."""
    def work(w: datetime | None) -> tuple[datetime | None, datetime | None, pd.DataFrame, list[tuple[int, int]]]:
        newest = _when(tiers_and_bounds(store, w)["last_at"].max())
        start, end = window_bounds(window, newest)
        sql, params = rollup.parts_sql(start, None, w)  # the window ends at the newest run: no upper bound
        hist_sql, hist_params = rollup.latency_sql(start, None, w)
        return start, end, store.query_df(sql, params), [(int(b), int(n)) for b, n in store.execute(hist_sql,
                                                                                                   hist_params)]

    start, end, parts, hist = rollup.read(store, work)
    row: dict[str, Any] = {c: parts[c].sum() if len(parts) else 0 for c in rollup.SUMMED}
    row["first_at"], row["last_at"] = _when(parts["first_at"].min()), _when(parts["last_at"].max())
    row["p50_ms"], row["p95_ms"] = rollup.percentile(hist, 0.5), rollup.percentile(hist, 0.95)
    unit = bucket_unit(start or row["first_at"], end or row["last_at"])
    parts = parts.assign(tier=parts["final_tier"].fillna(NO_ANSWER), all_spend=parts["spend"] + parts["failed_spend"],
                         bucket=_bucket(pd.to_datetime(parts["hour"]), unit))
    tiers = (parts.groupby("tier", as_index=False, dropna=False)
             .agg(tier_index=("final_tier_index", "min"), runs=("runs", "sum"))
             .sort_values(["tier_index", "tier"], na_position="last").reset_index(drop=True))
    activity = (parts.groupby(["bucket", "tier"], as_index=False, dropna=False)
                .agg(tier_index=("final_tier_index", "min"), runs=("runs", "sum"), spend=("all_spend", "sum"),
                     always_large=("always_large", "sum"))
                .sort_values(["bucket", "tier_index"], na_position="last").reset_index(drop=True))
    return OverviewRows(start, end, row, tiers, activity, unit)
