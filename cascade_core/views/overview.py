"""The Overview page's figures: headline numbers, tier mix and activity over time for one time window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from cascade_core.stats.binomial import wilson
from cascade_core.store.overview_query import overview_rows
from cascade_core.store.rollup import LATENCY_STEP
from cascade_core.store.store import Store

# Latency percentiles come from a histogram of 2%-wide bins (store/rollup.py), so they are approximate.
LATENCY_NOTE = (f"approximate: read from a latency histogram with bins {LATENCY_STEP - 1:.0%} wide, so within "
                f"{(LATENCY_STEP - 1) / 2:.0%} of the exact percentile")


def _rate(part: Any, whole: int) -> float | None:
    return None if whole == 0 else float(part) / whole


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class Headline:
    """Headline numbers of the runs in one window. Rates are fractions in [0, 1]; None when there are no runs."""

    runs: int
    spend: float  # answered runs only: the side of the savings comparison
    always_large: float  # answered runs only
    estimated_runs: int  # answered runs whose always-large cost is an estimate
    escalation_rate: float | None
    parse_error_rate: float | None
    error_rate: float | None  # runs where some tier call failed
    failed_rate: float | None  # runs where no tier could answer
    graded: int
    accuracy: float | None
    simulated_runs: int
    p50_ms: float | None
    p95_ms: float | None
    first_at: datetime | None
    last_at: datetime | None
    failed_runs: int = 0  # no tier could answer: left out of spend, always-large and savings
    failed_spend: float = 0.0  # what those failed runs cost (paid all the same)

    @property
    def total_spend(self) -> float:
        """Everything paid in the window, failed runs included."""
        return self.spend + self.failed_spend

    @property
    def savings(self) -> float:
        return self.always_large - self.spend

    @property
    def savings_pct(self) -> float | None:
        return None if self.always_large <= 0 else self.savings / self.always_large

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Headline:
        runs = int(row["runs"])
        graded = int(row["graded"])
        return cls(
            runs=runs,
            spend=float(row["spend"]),
            always_large=float(row["always_large"]),
            estimated_runs=int(row["estimated_runs"]),
            escalation_rate=_rate(row["escalated"], runs),
            parse_error_rate=_rate(row["parse_errors"], runs),
            error_rate=_rate(row["errors"], runs),
            failed_rate=_rate(row["failed"], runs),
            graded=graded,
            accuracy=_rate(row["correct"], graded),
            simulated_runs=int(row["simulated"]),
            p50_ms=_float(row["p50_ms"]),
            p95_ms=_float(row["p95_ms"]),
            first_at=None if pd.isna(row["first_at"]) else pd.Timestamp(row["first_at"]).to_pydatetime(),
            last_at=None if pd.isna(row["last_at"]) else pd.Timestamp(row["last_at"]).to_pydatetime(),
            failed_runs=int(row["failed"]),
            failed_spend=float(row.get("failed_spend") or 0.0),
        )


@dataclass(frozen=True)
class Overview:
    window: str
    start: datetime | None
    end: datetime | None
    headline: Headline
    tiers: pd.DataFrame  # tier, tier_index, runs, share
    activity: pd.DataFrame  # bucket, tier, tier_index, runs, spend, always_large
    unit: str  # the activity's time bucket: hour | day | week


def graded_text(accuracy: float | None, graded: int, runs: int) -> str:
    """Accuracy next to how many runs it rests on: "80% of 5 graded (4 runs ungraded)", "no run graded"."""
    if not graded or accuracy is None:
        return "no run graded (none matched a gold answer)" if runs else "no runs"
    ungraded = runs - graded
    low, high = wilson(round(accuracy * graded), graded)
    return (f"{accuracy:.0%} of {graded:,} graded, 95% interval {low:.0%}–{high:.0%}"
            + (f" ({ungraded:,} run{'s' if ungraded != 1 else ''} ungraded)" if ungraded else ""))


def tier_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Adds `share` (fraction of all runs) to tier counts."""
    out = counts.copy()
    total = int(out["runs"].sum()) if not out.empty else 0
    out["share"] = out["runs"] / total if total else 0.0
    return out


def spend_by_bucket(activity: pd.DataFrame) -> pd.DataFrame:
    """Per bucket: cascade spend and what always-large would have cost (for the spend chart)."""
    if activity.empty:
        return pd.DataFrame(columns=["bucket", "spend", "always_large"])
    return activity.groupby("bucket", as_index=False)[["spend", "always_large"]].sum().sort_values("bucket")


def tier_mix_by_bucket(activity: pd.DataFrame) -> pd.DataFrame:
    """Per bucket and tier: the share of that bucket's runs the tier answered (for the tier-mix chart)."""
    if activity.empty:
        return pd.DataFrame(columns=["bucket", "tier", "tier_index", "runs", "share"])
    out = activity[["bucket", "tier", "tier_index", "runs"]].copy()
    out["share"] = out["runs"] / out.groupby("bucket")["runs"].transform("sum")
    return out


def compute_overview(store: Store, window: str) -> Overview:
    """Every figure of the Overview page for a named window (relative to the newest run, see runs_filter)."""
    rows = overview_rows(store, window)
    return Overview(
        window=window, start=rows.start, end=rows.end, headline=Headline.from_row(rows.headline),
        tiers=tier_shares(rows.tiers), activity=rows.activity, unit=rows.unit,
    )
