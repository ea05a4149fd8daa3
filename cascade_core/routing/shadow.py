"""Shadow sampling: a share of answers accepted by a non-final tier is also asked of the last tier, off the
request path. The shadow call is charged (its cost is recorded with the label, apart from the run's) and the
label says whether the two answers agree, and whether each is right when the question has a gold answer.
These labels are what re-certification (routing/recertify.py) learns from.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
from datetime import UTC, datetime
from typing import Any

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.decisions import read_confidence
from cascade_core.cascade.grading import grade
from cascade_core.cascade.signals.base import RequestOptions
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.records import SignalName, Step, TierCall, Trace
from cascade_core.security.pii import redact_pii

log = logging.getLogger(__name__)


def accepted_step(trace: Trace, last_tier: str | None = None) -> Step | None:
    """The step of a non-final tier that accepted this run's answer (None: escalated to the end, or failed); or
    the answer of a tier or model a route sent the question to alone (unless that is `last_tier` itself)."""
    for step in trace.steps:
        if step.decision == "accepted" and step.threshold is not None:
            return step
    route = trace.meta.get("route") or {}
    if route.get("alone") and len(trace.steps) == 1:
        step = trace.steps[0]
        if step.decision == "final" and step.call.ok and step.confidence.answer is not None \
                and step.tier_name != last_tier:
            return step
    return None


def guess_answer_type(answer: str) -> str:
    """choice (a lone letter A-E), number, or text: how to compare two answers when no gold says."""
    text = answer.strip()
    if re.fullmatch(r"\(?[A-Ea-e]\)?[.:]?", text):
        return "choice"
    if re.fullmatch(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?", text.replace(" ", "")):
        return "number"
    return "text"


def make_label(trace: Trace, step: Step, call: TierCall, signal: SignalName, *, shadow_tier: str,
               gold: str | None = None, answer_type: str | None = None) -> dict[str, Any]:
    """One shadow label (a row of the store's shadow_labels table)."""
    shadow_answer = read_confidence(signal, call).answer if call.ok else None
    if shadow_answer is None and call.ok:
        shadow_answer = call.answer_text.strip() or None
    answer = step.confidence.answer
    kind = answer_type or (guess_answer_type(shadow_answer) if shadow_answer else "text")
    agree = None if shadow_answer is None else bool(answer is not None and grade(answer, shadow_answer, kind))
    return {
        "run_id": trace.run_id,
        "created_at": datetime.now(UTC).replace(tzinfo=None),
        "run_created_at": trace.created_at,
        "run_source": trace.source,
        "route": trace.route,
        "tier_index": step.tier_index,
        "tier_name": step.tier_name,
        "confidence": step.confidence.normalised,
        "threshold": step.threshold,
        "answer": redact_pii(answer, trace.redact),  # stored redacted like the run ([privacy] redact)
        "shadow_tier": shadow_tier,
        "shadow_model": call.model,
        "shadow_answer": redact_pii(shadow_answer, trace.redact),
        "agree": agree,
        "gold": gold,
        "correct": grade(answer, gold, answer_type) if gold is not None and answer_type else None,
        "shadow_correct": grade(shadow_answer, gold, answer_type) if gold is not None and answer_type else None,
        "cost": call.cost,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "latency_ms": call.latency_ms,
        "error": redact_pii(call.error, trace.redact),
        "simulated": call.simulated,
    }


class ShadowSampler:
    """Decides which answers get shadowed (a fixed rate, seeded) and runs the shadow call in the background."""

    def __init__(self, rate: float, last: TierClient, signal: SignalName, *, seed: int | None = None,
                 gold: dict[str, tuple[str, str]] | None = None) -> None:
        self.rate = rate
        self.last = last
        self.signal = signal
        self.gold = gold or {}  # question -> (gold answer, answer type), e.g. the bundled dataset's
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sampled = 0
        self.finished = 0
        self.failed = 0
        self.spend = 0.0

    def pick(self, trace: Trace) -> Step | None:
        step = accepted_step(trace, self.last.tier.name)
        if step is None or self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        return step

    def _label(self, trace: Trace, step: Step, call: TierCall) -> dict[str, Any]:
        gold, kind = self.gold.get(trace.question.strip(), (None, None))
        label = make_label(trace, step, call, self.signal, shadow_tier=self.last.tier.name, gold=gold,
                           answer_type=kind)
        self.finished += 1
        self.failed += call.error is not None
        self.spend += call.cost
        return label

    def _request(self, trace: Trace) -> tuple[list[dict[str, str]], RequestOptions]:
        signal = get_signal(self.signal)
        return signal.messages(trace.question), signal.options

    def submit_async(self, trace: Trace, sink: Any) -> bool:
        """From inside the event loop: schedule the shadow call as a task (never awaited by the request)."""
        step = self.pick(trace)
        if step is None:
            return False
        self.sampled += 1

        async def shadow() -> None:
            messages, options = self._request(trace)
            try:
                call = await self.last.acall(messages, options)
                sink.submit(self._label(trace, step, call))
            except Exception:  # a shadow must never hurt serving; it is counted and logged
                self.failed += 1
                log.exception("shadow call for run %s failed", trace.run_id)

        task = asyncio.get_running_loop().create_task(shadow())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (bounded) for the shadow calls in flight, e.g. at shutdown before the sink is closed."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def submit_thread(self, trace: Trace, write: Any, *, force: bool = False) -> threading.Thread | None:
        """Outside an event loop (the Query page): the shadow call in a daemon thread; `write(label)` stores it.
        `force` shadows an accepted answer whatever the rate (the page's opt-in)."""
        step = accepted_step(trace, self.last.tier.name) if force else self.pick(trace)
        if step is None:
            return None
        self.sampled += 1

        def shadow() -> None:
            messages, options = self._request(trace)
            try:
                write(self._label(trace, step, self.last.call(messages, options)))
            except Exception:
                self.failed += 1
                log.exception("shadow call for run %s failed", trace.run_id)

        thread = threading.Thread(target=shadow, name=f"shadow-{trace.run_id[:8]}", daemon=True)
        thread.start()
        return thread
