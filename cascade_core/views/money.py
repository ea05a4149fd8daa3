"""Money as the dashboard shows it: one unit for rates (dollars per 1,000 questions), dollars with a sensible
precision for totals, and a run's cost as a change against always-large ("+36% vs always-large")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

PER = 1000  # rates are shown per this many questions


def usd(value: float | None) -> str:
    """Dollars with three significant digits below $100 ($0.000273, $0.0456, $1.23), cents above ($1,234.50)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == 0:
        return "$0"
    sign = "−" if value < 0 else ""
    amount = abs(value)
    decimals = 2 if amount >= 1 else min(10, 2 - math.floor(math.log10(amount)))
    text = f"{amount:,.{decimals}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")  # 0.0450 -> 0.045, 0.100 -> 0.10: cents stay, other zeros go
    text = f"{whole}.{frac}"
    return f"{sign}${text}"


def per_1k(cost_per_question: float | None) -> str:
    """A cost rate: dollars per 1,000 questions."""
    if cost_per_question is None:
        return "–"
    return f"{usd(cost_per_question * PER)} per 1,000 questions"


def change_vs_large(cost: float, always_large: float) -> float | None:
    """The cascade's cost as a relative change against always-large (-0.64 is 64% cheaper); None without a base."""
    if always_large <= 0:
        return None
    return (cost - always_large) / always_large


def signed_pct(change: float) -> str:
    """+36% / −64% / ±0% (a real minus sign; a change below half a percent rounds to ±0%)."""
    pct = round(change * 100)
    if pct == 0:
        return "±0%"
    return f"+{pct}%" if pct > 0 else f"−{abs(pct)}%"


MoneyStatus = Literal["cheaper", "dearer", "even", "failed", "unknown"]


@dataclass(frozen=True)
class RunMoney:
    """A run's (or a window's) money as one statement: what it cost against what always-large would have."""

    status: MoneyStatus
    headline: str  # "−64% vs always-large" | "+36% vs always-large" | "failed: no answer"
    detail: str  # "$0.000102 against $0.000284 for always-large (estimated)"
    change: float | None


def run_money(cost: float, always_large: float, *, estimated: bool = False, failed: bool = False) -> RunMoney:
    """Never "saved" a negative amount, and a failed run is a failure, never a saving."""
    large = usd(always_large) + " for always-large" + (" (estimated)" if estimated else "")
    if failed:
        return RunMoney("failed", "failed: no answer", f"spent {usd(cost)} and no tier answered; {large}", None)
    change = change_vs_large(cost, always_large)
    if change is None:
        return RunMoney("unknown", "no always-large cost to compare", f"spent {usd(cost)}", None)
    status: MoneyStatus = "even" if signed_pct(change) == "±0%" else "cheaper" if change < 0 else "dearer"
    return RunMoney(status, f"{signed_pct(change)} vs always-large", f"{usd(cost)} against {large}", change)
