"""What the Overview and Runs pages ask of the run log: time windows, run filters and sort keys (pure).

Time windows are relative to the NEWEST LOGGED RUN, not to the wall clock: a store of imported or older runs
still shows its last 24 hours, and every figure is reproducible from the file alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Literal

from cascade_core.records import Source

WINDOWS: dict[str, timedelta | None] = {
    "all time": None,
    "last hour": timedelta(hours=1),
    "last 24 hours": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "last 30 days": timedelta(days=30),
}
SOURCES: tuple[Source, ...] = ("query", "sweep", "audit", "api")
NO_ANSWER = "(no answer)"  # the final-tier label of runs where no tier could answer
Graded = Literal["any", "correct", "incorrect", "ungraded"]

# Sort keys a user may pick -> the column they sort on (the only identifiers that reach the SQL).
SORT_COLUMNS: dict[str, str] = {
    "time": "created_at",
    "cost": "total_cost",
    "latency": "latency_ms",
    "confidence": "final_confidence",
    "escalations": "escalations",
    "final tier": "final_tier_index",
}


def window_bounds(window: str, newest: datetime | None) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a named window ending at the newest run; (None, None) means no time limit."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; expected one of {list(WINDOWS)}")
    span = WINDOWS[window]
    if span is None or newest is None:
        return None, None
    return newest - span, newest


def bucket_unit(start: datetime | None, end: datetime | None) -> str:
    """The time bucket for charts over [start, end]: hour up to 2 days, day up to 120 days, else week."""
    if start is None or end is None:
        return "day"
    span = end - start
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=120) else "week"


@dataclass(frozen=True)
class RunFilter:
    """The Runs page's filters. Empty tuples and None mean "no restriction"."""

    start: datetime | None = None
    end: datetime | None = None
    sources: tuple[Source, ...] = ()
    final_tiers: tuple[str, ...] = ()  # tier names, NO_ANSWER for runs without an answer
    confidence: tuple[float, float] | None = None  # inclusive range on final_confidence
    graded: Graded = "any"
    errors_only: bool = False
    text: str = ""  # substring of the question or the final answer, case-insensitive

    def is_empty(self) -> bool:
        return self == RunFilter()

    def to_json(self) -> str:
        """The filter as JSON (times in ISO 8601), e.g. to hand an export to another process."""
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunFilter:
        """The inverse of to_json; unknown keys and badly typed values are refused (ValueError)."""
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
            raise ValueError(f"not a run filter: {text[:200]}")
        for key in ("start", "end"):
            if data.get(key) is not None:
                data[key] = datetime.fromisoformat(data[key])
        for key in ("sources", "final_tiers", "confidence"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class RunSort:
    key: str = "time"
    descending: bool = True

    @property
    def column(self) -> str:
        if self.key not in SORT_COLUMNS:
            raise ValueError(f"unknown sort key {self.key!r}; expected one of {list(SORT_COLUMNS)}")
        return SORT_COLUMNS[self.key]
