"""Helpers shared by the audit tests (no tests here): seeded run logs and an offline judge."""

from __future__ import annotations

import random
from datetime import timedelta

from cascade_core.audit import AuditParams, Judge, JudgeReply, judge_audit, start_audit
from cascade_core.cascade import RetryConfig, TierCall, TierClient, default_config
from cascade_core.store import Store
from tests.factories import hours_ago, make_trace

CATEGORIES = ("factual", "arithmetic", "reasoning", None)


class OfflineJudge(Judge):
    """Grades without HTTP: questions containing 'wrong' are incorrect, 'unsure' unsure, the rest correct."""

    def __init__(self) -> None:
        super().__init__(TierClient(default_config().tiers[-1], "http://127.0.0.1:9/v1", RetryConfig()))

    def grade(self, question: str, answer: str | None, gold: str | None) -> tuple[TierCall, JudgeReply | None]:
        self.calls += 1
        verdict = "incorrect" if "wrong" in question else "unsure" if "unsure" in question else "correct"
        call = TierCall(tier_name="large", model="sim-llama-3.1-405b", messages=[], raw_output="{}", cost=2e-4,
                        tokens_in=120, tokens_out=20)
        return call, JudgeReply(verdict, f"offline judge says {verdict}")


def log_week(store: Store, weeks_back: int, n: int, wrong_share: float, seed: int) -> None:
    """n accepted answers (small or mid tier) spread over the week ending `weeks_back` weeks before the anchor."""
    rng = random.Random(seed)
    traces = []
    for i in range(n):
        label = "wrong" if rng.random() < wrong_share else "fine"
        trace = make_trace(rng.choice([0, 0, 1]), question=f"w{weeks_back} q{i} {label}",
                           when=hours_ago(24 * 7 * weeks_back + rng.uniform(1, 24 * 7 - 1)))
        trace.category = rng.choice(CATEGORIES)
        traces.append(trace)
    store.log_traces(traces)


def seed_audits(store: Store, weeks: int, *, per_week: int = 40, sample: int = 20,
                wrong_share: float = 0.2) -> list[str]:
    """One weekly audit per week, oldest first; returns their ids."""
    judge = OfflineJudge()
    ids = []
    for weeks_back in range(weeks - 1, -1, -1):
        log_week(store, weeks_back, per_week, wrong_share, seed=weeks_back)
        params = AuditParams(until=hours_ago(24 * 7 * weeks_back), since=timedelta(days=7), sample=sample,
                             seed=weeks_back)
        audit_id = start_audit(store, judge, params)
        judge_audit(store, judge, audit_id)
        ids.append(audit_id)
    return ids
