"""Re-certification on live traffic: are the configured thresholds still certified on the last N days' labels?

Labels of answers a non-final tier accepted come from three places, best first (one per run): the gold grade
of a bundled question, an audit verdict (correct / incorrect), and shadow agreement with the last tier (graded
against gold when known). Per tier, the configured threshold is certified when the answers it accepted are
right at rate >= target with probability >= 1 - risk (an exact binomial test); the newer data's own
certified threshold is the lowest one passing a fixed-sequence Learn-then-Test from the strictest down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from cascade_core.cascade.config import CascadeConfig
from cascade_core.routing.fixed_sequence import fixed_sequence_test
from cascade_core.stats.binomial import error_rate_p_value, wilson
from cascade_core.store.routing_tables import accepted_steps, audit_labels, newest_labelled_time, shadow_labels
from cascade_core.store.store import Store

LabelSource = Literal["gold", "audit", "shadow"]
Status = Literal["certified", "not_certified", "too_few_labels"]
LABEL_COLUMNS = ["run_id", "created_at", "tier_index", "confidence", "correct", "label_source"]
_PRIORITY: dict[str, int] = {"gold": 0, "audit": 1, "shadow": 2}


def _frame(rows: pd.DataFrame, source: LabelSource) -> pd.DataFrame:
    out = rows[["run_id", "created_at", "tier_index", "confidence", "correct"]].copy()
    out["label_source"] = source
    return out


def collect_labels(store: Store, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """One label per run whose answer a non-final tier accepted: (tier_index, confidence, correct, source)."""
    parts: list[pd.DataFrame] = []
    runs = accepted_steps(store, start, end)
    gold = runs[(runs["decision"] == "accepted") & runs["correct"].notna() & runs["accepted_confidence"].notna()]
    if not gold.empty:
        parts.append(_frame(gold.rename(columns={"accepted_tier_index": "tier_index",
                                                 "accepted_confidence": "confidence"}), "gold"))
    audits = audit_labels(store, start, end)
    if not audits.empty:
        audits = audits.assign(correct=audits["verdict"] == "correct").rename(columns={"run_created_at": "created_at"})
        parts.append(_frame(audits[audits["confidence"].notna()], "audit"))
    shadow = shadow_labels(store, start, end)
    if not shadow.empty:
        graded = shadow["correct"].astype("boolean").fillna(shadow["agree"].astype("boolean"))
        shadow = shadow.drop(columns="created_at").assign(correct=graded).rename(
            columns={"run_created_at": "created_at"})
        # Answers a route sent to a tier alone (no threshold) say nothing about the cascade's thresholds.
        parts.append(_frame(shadow[shadow["correct"].notna() & shadow["confidence"].notna()
                                   & shadow["threshold"].notna()], "shadow"))
    if not parts:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    labels = pd.concat(parts, ignore_index=True)
    labels["priority"] = labels["label_source"].map(_PRIORITY)
    labels = labels.sort_values(["run_id", "priority"]).drop_duplicates("run_id").drop(columns="priority")
    labels["correct"] = labels["correct"].astype(bool)
    labels["tier_index"] = labels["tier_index"].astype(int)
    labels["confidence"] = labels["confidence"].astype(float)
    return labels.sort_values("created_at").reset_index(drop=True)


@dataclass(frozen=True)
class TierRecert:
    tier_index: int
    tier_name: str
    threshold: float  # as configured
    n_labels: int  # labels of this tier's accepted answers in the window
    by_source: dict[str, int]
    n_at_threshold: int  # of which at or above the configured threshold
    errors: int
    accuracy: float | None
    accuracy_low: float | None  # Wilson 95% interval
    accuracy_high: float | None
    p_value: float | None
    status: Status
    certified_threshold: float | None  # what the newer data certify (lowest passing the fixed sequence)
    certified_n: int | None


@dataclass(frozen=True)
class Recertification:
    start: datetime | None
    end: datetime | None
    days: int
    target: float
    risk: float
    min_labels: int
    tiers: list[TierRecert] = field(default_factory=list)
    simulated_note: str = ""

    @property
    def alert(self) -> bool:
        """A configured threshold that enough labels no longer certify at the target."""
        return any(t.status == "not_certified" for t in self.tiers)

    @property
    def n_labels(self) -> int:
        return sum(t.n_labels for t in self.tiers)


def recertify_labels(labels: pd.DataFrame, config: CascadeConfig, *, target: float, risk: float,
                     min_labels: int, start: datetime | None = None, end: datetime | None = None,
                     days: int = 0) -> Recertification:
    """Pure: the re-certification of `config`'s thresholds on `labels` (as collect_labels returns)."""
    tiers: list[TierRecert] = []
    for index, threshold in enumerate(config.thresholds):
        mine = labels[labels["tier_index"] == index] if not labels.empty else labels
        conf = mine["confidence"].to_numpy(dtype=float) if len(mine) else np.zeros(0)
        correct = mine["correct"].to_numpy(dtype=bool) if len(mine) else np.zeros(0, dtype=bool)
        at = conf >= threshold
        n, errors = int(at.sum()), int((~correct[at]).sum())
        p = error_rate_p_value(errors, n, 1.0 - target) if n else None
        status: Status = ("too_few_labels" if n < min_labels
                          else "certified" if p is not None and p <= risk else "not_certified")
        low, high = wilson(n - errors, n) if n else (None, None)
        tests = fixed_sequence_test(conf, correct, [*np.unique(conf).tolist(), threshold], target=target, risk=risk,
                                    min_labels=min_labels)
        passed = [t for t in tests if t.passed]
        tiers.append(TierRecert(
            tier_index=index, tier_name=config.tiers[index].name, threshold=threshold, n_labels=len(mine),
            by_source={str(k): int(v) for k, v in mine["label_source"].value_counts().items()} if len(mine) else {},
            n_at_threshold=n, errors=errors, accuracy=(n - errors) / n if n else None, accuracy_low=low,
            accuracy_high=high, p_value=p, status=status,
            certified_threshold=passed[-1].threshold if passed else None,
            certified_n=passed[-1].n if passed else None,
        ))
    return Recertification(start=start, end=end, days=days, target=target, risk=risk, min_labels=min_labels,
                           tiers=tiers)


def recertify(store: Store, config: CascadeConfig, *, days: int | None = None, target: float | None = None,
              risk: float | None = None, end: datetime | None = None) -> Recertification:
    """Re-certify on the last `days` days of labelled live traffic (ending at the newest api/query run)."""
    settings = config.recertify
    days = days or settings.days
    end = end or newest_labelled_time(store)
    start = end - timedelta(days=days) if end is not None else None
    labels = collect_labels(store, start, end) if end is not None else pd.DataFrame(columns=LABEL_COLUMNS)
    return recertify_labels(labels, config, target=target or settings.target, risk=risk or settings.risk,
                            min_labels=settings.min_labels, start=start, end=end, days=days)
