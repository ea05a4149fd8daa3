"""Glue between the store and the pure audit functions: what the Audit page and the CLI call."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from cascade_core.audit.params import AuditParams
from cascade_core.audit.results import AuditResult, judge_agreement, summarise, weekly_trend
from cascade_core.audit.runner import Judge, judge_audit, start_audit
from cascade_core.audit.stats import Agreement
from cascade_core.audit.threshold_change import (
    ThresholdChange,
    current_thresholds,
    propose_threshold_change,
    sweep_cost_note,
    tier_position,
)
from cascade_core.clock import utc_now
from cascade_core.store import audits as sql
from cascade_core.store.store import Store


@dataclass(frozen=True)
class AuditReport:
    """Everything the page and the report show for one audit."""

    result: AuditResult
    trend: pd.DataFrame
    agreement: Agreement
    recommendation: ThresholdChange | None
    items: pd.DataFrame  # the audit's items with their reviews (the page's review queue reads these)

    @property
    def audit_id(self) -> str:
        return str(self.result.audit["audit_id"])


def run_audit(store: Store, judge: Judge, params: AuditParams, *, concurrency: int = 4,
              on_item: Callable[[int, int], None] | None = None) -> str:
    """Sample and judge a new audit; returns its id (finished, or left resumable if interrupted)."""
    audit_id = start_audit(store, judge, params)
    judge_audit(store, judge, audit_id, concurrency=concurrency, on_item=on_item)
    return audit_id


def list_audits(store: Store) -> pd.DataFrame:
    return sql.list_audits(store)


def latest_unfinished(store: Store) -> str | None:
    return sql.latest_unfinished_audit(store)


def load_report(store: Store, audit_id: str, *, alert_rate: float | None = None,
                thresholds: list[float] | None = None, tier_names: list[str] | None = None) -> AuditReport:
    """Read one audit and compute its results, the weekly trend over every audit, and judge agreement.

    `alert_rate` overrides the rate stored with the audit (the page lets people move the line); `thresholds`
    and `tier_names` are the cascade's current ones (the config's), else those the audited answers were
    accepted at. The recommended tier is found among them by name, not by its logged position.
    """
    audit = sql.get_audit(store, audit_id)
    if audit is None:
        raise ValueError(f"no audit with id {audit_id!r}")
    if alert_rate is not None:
        audit = {**audit, "alert_rate": alert_rate}
    items = sql.audit_items(store, audit_id)
    result = summarise(audit, items)
    recommendation = None
    if result.above_alert and not result.flagged.empty:
        sources = json.loads(audit["sources"])
        start = pd.Timestamp(audit["window_start"]).to_pydatetime()
        end = pd.Timestamp(audit["window_end"]).to_pydatetime()
        accepted = sql.accepted_confidences(store, start, end, sources)  # four columns, not the answers
        recommendation = propose_threshold_change(result.flagged, accepted)
        if recommendation is not None:
            if thresholds and tier_names:  # the configured cascade: find the tier there by name
                current = list(thresholds)
                position = tier_position(recommendation.tier_name, tier_names, len(current))
            else:  # no config: the positions the runs were logged at
                current = current_thresholds(accepted, result.flagged)
                position = recommendation.tier_index
            if position is None:
                note = (f"The tier '{recommendation.tier_name}' is not a non-final tier of the current cascade, "
                        "so the change's cost is unknown.")
            else:
                proposed = list(current)
                proposed[position] = recommendation.proposed
                note = sweep_cost_note(sql.latest_sweep(store, tier_names or None), current, proposed)
            recommendation = replace(recommendation, cost_note=note)
    return AuditReport(
        result=result,
        trend=weekly_trend(sql.latest_judgements(store)),
        agreement=judge_agreement(sql.reviewed_verdicts(store)),
        recommendation=recommendation,
        items=items,
    )


def report_stamp(store: Store, audits: pd.DataFrame) -> tuple[object, ...]:
    """What a loaded report depends on besides its arguments, cheaply: every audit's status and judged count
    (the trend spans all audits), the reviews and the latest sweep. Equal stamps: the same report."""
    rows = tuple(audits[["audit_id", "status", "judged", "flagged"]].itertuples(index=False, name=None)) \
        if not audits.empty else ()
    return rows, sql.report_inputs_stamp(store)


def record_review(store: Store, audit_id: str, run_id: str, step_index: int, agrees: bool, *,
                  reviewer: str | None = None, note: str | None = None, when: datetime | None = None) -> None:
    """A reviewer's agree / disagree with the judge's verdict on one item (replaces an earlier review)."""
    sql.save_review(store, audit_id, run_id, step_index, agrees, reviewer=reviewer, note=note,
                    when=when or utc_now())


def audit_items(store: Store, audit_id: str) -> pd.DataFrame:
    return sql.audit_items(store, audit_id)


def latest_overconfidence_rate(store: Store) -> float | None:
    """Flagged / audited in the most recent finished audit (None: no finished audit, or nothing gradable)."""
    audit_id = sql.latest_finished_audit(store)
    audit = None if audit_id is None else sql.get_audit(store, audit_id)
    if audit_id is None or audit is None:
        return None
    return summarise(audit, sql.audit_items(store, audit_id)).overconfidence.rate
