"""What the Overview shows about live traffic: re-certification of the thresholds, drift, shadow labels."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cascade_core.cascade.config import CascadeConfig
from cascade_core.routing.drift import Drift, drift
from cascade_core.routing.recertify import Recertification, recertify
from cascade_core.routing.report import STATUS_TEXT
from cascade_core.store.routing_tables import shadow_labels
from cascade_core.store.store import Store


@dataclass(frozen=True)
class ShadowSummary:
    labels: int
    agreement: float | None  # share of shadow labels where the accepted answer agrees with the last tier
    graded: int  # of which graded against gold
    spend: float  # USD spent on shadow calls (not in the runs' cost)
    simulated: bool


@dataclass(frozen=True)
class LiveHealth:
    recert: Recertification
    drift: Drift
    shadow: ShadowSummary

    @property
    def alert(self) -> bool:
        return self.recert.alert or self.drift.alert


def _or_dash(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def recert_table(recert: Recertification) -> pd.DataFrame:
    """One row per non-final tier, ready to display: figures as text, "–" where there is none (never "None")."""
    rows = [{
        "tier": t.tier_name, "threshold": f"{t.threshold:.2f}", "status": STATUS_TEXT[t.status],
        "labels at threshold": t.n_at_threshold, "accuracy": _or_dash(t.accuracy, ".1%"),
        "95% interval": ("–" if t.accuracy_low is None else f"{t.accuracy_low:.1%}–{t.accuracy_high or 0:.1%}"),
        "p-value": _or_dash(t.p_value, ".3g"), "newer data certify": _or_dash(t.certified_threshold, ".2f"),
        "labels (gold/audit/shadow)": "/".join(str(t.by_source.get(s, 0)) for s in ("gold", "audit", "shadow")),
    } for t in recert.tiers]
    return pd.DataFrame(rows)


def live_health(store: Store, config: CascadeConfig) -> LiveHealth:
    recert = recertify(store, config)
    labels = shadow_labels(store, recert.start, recert.end)
    agree = labels["agree"].dropna() if not labels.empty else pd.Series(dtype=bool)
    summary = ShadowSummary(
        labels=len(labels), agreement=float(agree.astype(bool).mean()) if len(agree) else None,
        graded=int(labels["correct"].notna().sum()) if not labels.empty else 0,
        spend=float(labels["cost"].sum()) if not labels.empty else 0.0,
        simulated=bool(labels["simulated"].any()) if not labels.empty else False,
    )
    return LiveHealth(recert=recert, drift=drift(store, recert.end), shadow=summary)
