"""What an audit samples: the window, the sample size and seed, the alert line and the run sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from cascade_core.records import Source

DEFAULT_SOURCES: tuple[Source, ...] = ("query", "api")  # answers served to people; sweeps are experiments


@dataclass(frozen=True)
class AuditParams:
    """What to audit. The window is [until - since, until); until defaults to now (naive UTC)."""

    since: timedelta = timedelta(days=7)
    until: datetime | None = None
    sample: int = 50
    seed: int = 0
    alert_rate: float = 0.1
    include_audited: bool = False
    sources: tuple[Source, ...] = DEFAULT_SOURCES

    def __post_init__(self) -> None:
        if self.sample <= 0:
            raise ValueError(f"sample must be positive, got {self.sample}")
        if not 0.0 <= self.alert_rate <= 1.0:
            raise ValueError(f"alert rate must be in [0, 1], got {self.alert_rate}")
        if self.since <= timedelta(0):
            raise ValueError(f"the window must be positive, got {self.since}")
        unknown = [s for s in self.sources if s not in get_args(Source)]
        if unknown:
            raise ValueError(f"sources: unknown {', '.join(map(repr, unknown))}; expected some of "
                             f"{', '.join(get_args(Source))}")
