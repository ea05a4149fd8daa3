"""What the Overview shows besides the run log: the latest audit's status and what the latest saved sweep says
about the configured thresholds (quality retained against always-large). Plain functions over the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from cascade_core.stats.binomial import wilson
from cascade_core.store.audits import list_audits
from cascade_core.store.store import Store
from cascade_core.store.sweeps import list_sweeps, sweep_points

AuditLevel = Literal["ok", "above", "alert", "unfinished", "empty"]


@dataclass(frozen=True)
class AuditStatus:
    audit_id: str
    created_at: datetime
    level: AuditLevel
    text: str  # "6 of 50 flagged (12%), above the 10% alert line"


@dataclass(frozen=True)
class SweepSummary:
    sweeps: int  # saved sweeps in the store
    sweep_id: str
    name: str
    questions: int
    simulated: bool
    quality_retained: float | None  # the configured thresholds' accuracy / always-large's, on that sweep
    cost_change: float | None  # their cost against always-large's (-0.6 is 60% cheaper)
    note: str  # where the figure comes from, or why there is none


def latest_audit_status(store: Store) -> AuditStatus | None:
    audits = list_audits(store)
    if audits.empty:
        return None
    row = audits.iloc[0]
    judged, flagged = int(row["judged"]), int(row["flagged"])
    alert = float(row["alert_rate"])
    created = pd.Timestamp(row["created_at"]).to_pydatetime()
    if row["status"] != "done":
        return AuditStatus(str(row["audit_id"]), created, "unfinished",
                           f"{row['status']}: {judged} of {int(row['items'])} judged so far")
    if judged == 0:
        return AuditStatus(str(row["audit_id"]), created, "empty", "nothing was judged")
    rate = flagged / judged
    low, high = wilson(flagged, judged)  # the Audit page's interval: the Overview never shows a bare rate
    text = f"{flagged} of {judged} flagged ({rate:.0%}, 95% interval {low:.0%}–{high:.0%})"
    if low > alert:
        return AuditStatus(str(row["audit_id"]), created, "alert", f"{text}: alert, above the {alert:.0%} line")
    if rate > alert:
        return AuditStatus(str(row["audit_id"]), created, "above", f"{text}: above the {alert:.0%} line")
    return AuditStatus(str(row["audit_id"]), created, "ok", f"{text}: below the {alert:.0%} line")


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-9 for x, y in zip(a, b, strict=True))


def latest_sweep_summary(store: Store, tier_names: list[str], thresholds: list[float]) -> SweepSummary | None:
    """The newest saved sweep (where to find sweeps), and the configured thresholds' point on the newest sweep that
    ran these tiers: an import of other models or a sweep of fewer tiers saved since does not hide it."""
    sweeps = list_sweeps(store, limit=200)
    if sweeps.empty:
        return None
    row = sweeps.iloc[0]

    def summary(retained: float | None, change: float | None, note: str) -> SweepSummary:
        return SweepSummary(len(sweeps), str(row["sweep_id"]), str(row["name"]), int(row["n_items"]),
                            bool(row["simulated"]), retained, change, note)

    def tiers_of(candidate: pd.Series) -> list[str]:
        return json.loads(candidate["tiers"]) if isinstance(candidate["tiers"], str) else []

    same = next((r for _, r in sweeps.iterrows() if tiers_of(r) == tier_names), None)
    if same is None:
        return summary(None, None, f"the latest sweep ran tiers {' → '.join(tiers_of(row))}, not the configured "
                                   "ones")
    points = sweep_points(store, str(same["sweep_id"]))
    always = points[points["kind"] == "always"].sort_values("cost_per_1k")
    mine = [p for p in points[points["kind"].isin(["per_tier", "shared"])].itertuples()
            if _close([float(t) for t in json.loads(p.thresholds)], thresholds)]
    if always.empty or not mine or pd.isna(mine[0].accuracy):
        return summary(None, None, f"sweep “{same['name']}” has no point at the configured thresholds")
    large = always.iloc[-1]
    retained = None if not large["accuracy"] else float(mine[0].accuracy) / float(large["accuracy"])
    change = None if not large["cost_per_1k"] else float(mine[0].cost_per_1k) / float(large["cost_per_1k"]) - 1
    return summary(retained, change, f"from sweep “{same['name']}” ({int(same['n_items']):,} questions)")
