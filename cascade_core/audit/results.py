"""Pure summaries of audit items: overconfidence rate with Wilson intervals, breakdowns, weekly trend, agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from cascade_core.audit.stats import Agreement, Proportion, agreement, proportion

MIN_REVIEWS_FOR_KAPPA = 10
GROUP_COLUMNS: dict[str, str] = {"tier": "tier_name", "category": "category", "confidence level": "confidence_level"}
RATE_COLUMNS: list[str] = ["flagged", "audited", "rate", "low", "high"]


@dataclass(frozen=True)
class AuditResult:
    """What one audit found. `audited` counts items the judge could grade (correct or incorrect)."""

    audit: dict[str, Any]
    sampled: int
    judged: int
    pending: int
    errors: int
    unsure: int
    parse_problems: int
    overconfidence: Proportion  # flagged / audited
    alert_rate: float
    accepted_volume: int
    wrong_served: tuple[float, float, float]  # estimate, low, high: rate x accepted volume
    by_group: dict[str, pd.DataFrame]
    judge_cost: float
    cascade_cost: float
    flagged: pd.DataFrame
    key_graded: int = 0  # items graded against their gold answer (the judge's verdict then measures the judge)
    judge_disagreements: int = 0  # of those, items where the judge's correct/incorrect contradicts the key
    judge_errors: tuple[tuple[str, int], ...] = ()  # the failed judge calls' errors, most frequent first (up to 3)

    @property
    def above_alert(self) -> bool:
        """The point estimate is above the alert line (a recommendation is shown)."""
        rate = self.overconfidence.rate
        return rate is not None and rate > self.alert_rate

    @property
    def alert_fired(self) -> bool:
        """The Wilson lower bound is above the alert line: the scheduler should page someone."""
        return self.overconfidence.n > 0 and self.overconfidence.low > self.alert_rate


def _graded(items: pd.DataFrame) -> pd.DataFrame:
    """Items whose rightness is known: graded against the answer key, else by a correct/incorrect verdict."""
    known = items["verdict"].isin(["correct", "incorrect"])
    if "key_correct" in items.columns:
        known = known | items["key_correct"].notna()
    return items[known]


def _counts(items: pd.DataFrame) -> tuple[int, int]:
    graded = _graded(items)
    return int(graded["overconfident"].fillna(False).astype(bool).sum()), len(graded)


def rate_table(items: pd.DataFrame, column: str) -> pd.DataFrame:
    """Flagged / audited per value of `column`, with Wilson intervals, sorted by key."""
    rows = []
    for key, group in items.groupby(column, sort=True, dropna=False):
        flagged, audited = _counts(group)
        share = proportion(flagged, audited)
        rows.append({column: key, "flagged": flagged, "audited": audited, "rate": share.rate,
                     "low": share.low, "high": share.high})
    return pd.DataFrame(rows, columns=[column, *RATE_COLUMNS])


def summarise(audit: dict[str, Any], items: pd.DataFrame) -> AuditResult:
    """The audit's results from its items (as stored)."""
    judged = items[items["status"] == "judged"]
    flagged_n, audited_n = _counts(judged)
    share = proportion(flagged_n, audited_n)
    volume = int(audit["accepted_volume"])
    estimate = (share.rate or 0.0) * volume
    flagged = judged[judged["overconfident"].fillna(False).astype(bool)]
    return AuditResult(
        audit=audit,
        sampled=len(items),
        judged=len(judged),
        pending=int((items["status"] == "pending").sum()),
        errors=int((items["status"] == "error").sum()),
        unsure=int((judged["verdict"] == "unsure").sum()),
        parse_problems=int(judged["parse_error"].notna().sum()),
        overconfidence=share,
        alert_rate=float(audit["alert_rate"]),
        accepted_volume=volume,
        wrong_served=(estimate, share.low * volume, share.high * volume),  # n = 0: the interval is 0 to all
        by_group={label: rate_table(judged, column) for label, column in GROUP_COLUMNS.items()},
        judge_cost=float(items["judge_cost"].fillna(0).sum()),
        cascade_cost=float(items["run_cost"].fillna(0).sum()),
        flagged=flagged.sort_values(["tier_index", "confidence"], ascending=[True, False]),
        key_graded=int(judged["key_correct"].notna().sum()) if "key_correct" in judged.columns else 0,
        judge_disagreements=(int(judged["judge_disagrees"].fillna(False).astype(bool).sum())
                             if "judge_disagrees" in judged.columns else 0),
        judge_errors=_judge_errors(items),
    )


def _judge_errors(items: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Why judge calls failed: each distinct error with how many items it hit, most frequent first."""
    if "judge_error" not in items.columns:
        return ()
    failed = items.loc[items["status"] == "error", "judge_error"].fillna("unknown error")
    return tuple((str(error), int(n)) for error, n in failed.value_counts().head(3).items())


def week_start(when: datetime | pd.Timestamp) -> pd.Timestamp:
    """Monday 00:00 of the ISO week holding `when`."""
    stamp = pd.Timestamp(when).normalize()
    return stamp - pd.Timedelta(days=stamp.weekday())


def weekly_trend(judgements: pd.DataFrame) -> pd.DataFrame:
    """Overconfidence per week of the answered run (latest judgement per answer), with Wilson intervals."""
    if judgements.empty:
        return pd.DataFrame(columns=["week", *RATE_COLUMNS])
    frame = judgements.assign(week=[week_start(t) for t in judgements["run_created_at"]])
    return rate_table(frame, "week")


def judge_agreement(reviews: pd.DataFrame, *, min_reviews: int = MIN_REVIEWS_FOR_KAPPA) -> Agreement:
    """Reviewer vs judge. A reviewer who disagrees with 'correct' means 'incorrect' and vice versa; disagreeing
    with 'unsure' means the reviewer could grade it (label 'graded')."""
    flip = {"correct": "incorrect", "incorrect": "correct", "unsure": "graded"}
    judge_labels = [str(v) for v in reviews["verdict"]]
    human = [v if bool(a) else flip.get(v, "other") for v, a in zip(judge_labels, reviews["agrees"], strict=True)]
    return agreement(judge_labels, human, min_reviews=min_reviews)
