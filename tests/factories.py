"""Hand-built traces for store tests (no model calls needed to exercise storage)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from cascade_core.cascade import Confidence, Step, TierCall, Trace

TIERS = [("small", "sim-llama-3.1-8b"), ("mid", "sim-llama-3.1-70b"), ("large", "sim-llama-3.1-405b")]


def make_trace(answered_by: int = 2, *, question: str = "What is 2+2?", source: str = "query",
               when: datetime | None = None, correct: bool | None = None, error_at: int | None = None) -> Trace:
    """A trace whose tier `answered_by` answered; earlier tiers escalated (or errored at `error_at`)."""
    trace = Trace(
        run_id=uuid.uuid4().hex,
        created_at=when or datetime(2026, 11, 20, 12, 0, 0),
        question=question,
        source=source,  # type: ignore[arg-type]
        signal="self_rated",
        config_fingerprint="abc123",
        correct=correct,
    )
    for index in range(answered_by + 1):
        name, model = TIERS[index]
        failed = index == error_at
        call = TierCall(
            tier_name=name, model=model, messages=[{"role": "user", "content": question}],
            raw_output="" if failed else f'{{"answer": "4", "confidence": {3 + (index == answered_by)}}}',
            finish_reason=None if failed else "stop", tokens_in=0 if failed else 50, tokens_out=0 if failed else 10,
            cost=0.0 if failed else 1e-5 * (index + 1), cost_source="none" if failed else "price_table",
            latency_ms=12.5, attempts=4 if failed else 1, error="HTTP 500: boom" if failed else None,
            error_kind="server" if failed else None, simulated=True,
        )
        confidence = Confidence(None, None, None) if failed else Confidence("4", 3.0 + (index == answered_by),
                                                                            0.5 + 0.25 * (index == answered_by))
        last = index == len(TIERS) - 1
        decision = "error" if failed else ("final" if last else "accepted" if index == answered_by else "escalated")
        trace.steps.append(Step(
            tier_index=index, tier_name=name, model=model, endpoint="http://127.0.0.1:1/v1", call=call,
            confidence=confidence, threshold=None if last else 0.75, decision=decision, reason="test",
        ))
    trace.final_answer, trace.final_tier, trace.final_tier_index = "4", TIERS[answered_by][0], answered_by
    trace.final_confidence = 0.75
    trace.always_large_cost = 3e-5
    trace.always_large_estimated = answered_by != 2
    return trace


def fake_key(prefix: str, seed: str) -> str:
    """A key-shaped test value built at run time, so no key-shaped literal is committed: `prefix` (e.g. "sk-")
    + 24 hex digits derived from `seed` (deterministic: parametrised test ids stay the same on every worker)."""
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:24]


def hours_ago(hours: float) -> datetime:
    return datetime(2026, 11, 20, 12, 0, 0) - timedelta(hours=hours)
