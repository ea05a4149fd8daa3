"""The cascade: walk the tiers in order, stop at the first confident one, charge every call.

`Cascade.run` (sync) and `Cascade.arun` (async) share every decision through the pure helpers below; only the
way a call is awaited differs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from typing import Any

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.confidence import parse_logprob, parse_self_rated, parse_verify, plain_answer
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.grading import grade
from cascade_core.cascade.pricing import price_table_cost
from cascade_core.cascade.prompts import answer_messages, verify_messages
from cascade_core.clock import utc_now
from cascade_core.records import Confidence, Decision, Source, Step, TierCall, Trace

CallRequest = tuple[TierClient, list[dict[str, str]], dict[str, bool]]


class Cascade:
    """N >= 2 tiers; every non-final tier has a threshold on normalised confidence."""

    def __init__(self, config: CascadeConfig, clients: list[TierClient]) -> None:
        if len(clients) != len(config.tiers):
            raise ValueError(f"expected {len(config.tiers)} tier clients, got {len(clients)}")
        self.config = config
        self.clients = clients
        self.fingerprint = config.fingerprint()

    # -- the walk -------------------------------------------------------------------------------------------
    # The walk is written once, as a generator that yields each call it needs (client, messages, options) and
    # is sent back the TierCall; run() and arun() only differ in how they make that call.
    def run(self, question: str, *, item: Any = None, source: Source = "query", dataset: str | None = None,
            thresholds: list[float] | None = None) -> Trace:
        started = time.perf_counter()
        trace = self._new_trace(question, item, source, dataset, thresholds)
        walk = self._walk(question, self._thresholds(thresholds))
        try:
            client, messages, options = next(walk)
            while True:
                client, messages, options = walk.send(client.call(messages, **options))
        except StopIteration as done:
            trace.steps = done.value
        return self._finish(trace, item, started)

    async def arun(self, question: str, *, item: Any = None, source: Source = "query", dataset: str | None = None,
                   thresholds: list[float] | None = None) -> Trace:
        started = time.perf_counter()
        trace = self._new_trace(question, item, source, dataset, thresholds)
        walk = self._walk(question, self._thresholds(thresholds))
        try:
            client, messages, options = next(walk)
            while True:
                client, messages, options = walk.send(await client.acall(messages, **options))
        except StopIteration as done:
            trace.steps = done.value
        return self._finish(trace, item, started)

    def _walk(self, question: str, limits: list[float]) -> Generator[CallRequest, TierCall, list[Step]]:
        signal = self.config.signal
        steps: list[Step] = []
        last = len(self.clients) - 1
        for index, client in enumerate(self.clients):
            call = yield client, answer_messages(question, signal), answer_options(signal)
            confidence = read_confidence(signal, call)
            verify_call = None
            # The last tier always answers, so asking it to verify would be paid for and never used.
            if signal == "verify" and index < last and call.ok and confidence.answer is not None:
                verify_call = yield client, verify_messages(question, confidence.answer), VERIFY_OPTIONS
                confidence = parse_verify(verify_call, confidence.answer)
            steps.append(self._step(index, call, verify_call, confidence, limits))
            if steps[-1].decision in ("accepted", "final"):
                break
        return steps

    # -- pieces shared by run and arun --------------------------------------------------------------------
    def _thresholds(self, override: list[float] | None) -> list[float]:
        limits = list(override) if override is not None else list(self.config.thresholds)
        if len(limits) != len(self.clients) - 1:
            raise ValueError(f"expected {len(self.clients) - 1} thresholds, got {len(limits)}")
        return limits

    def _new_trace(self, question: str, item: Any, source: Source, dataset: str | None,
                   thresholds: list[float] | None) -> Trace:
        return Trace(
            run_id=uuid.uuid4().hex,
            created_at=utc_now(),
            question=question,
            source=source,
            signal=self.config.signal,
            # A run with overridden thresholds is fingerprinted with the thresholds it used.
            config_fingerprint=(self.fingerprint if thresholds is None or list(thresholds) == self.config.thresholds
                                else self.config.fingerprint(thresholds)),
            item_id=getattr(item, "id", None),
            dataset=dataset,
            category=getattr(item, "category", None),
            gold=getattr(item, "gold", None),
        )

    def _step(self, index: int, call: TierCall, verify_call: TierCall | None, confidence: Confidence,
              limits: list[float]) -> Step:
        tier = self.config.tiers[index]
        is_last = index == len(self.clients) - 1
        threshold = None if is_last else limits[index]
        decision, reason = decide(call, verify_call, confidence, threshold)
        return Step(
            tier_index=index,
            tier_name=tier.name,
            model=tier.model,
            endpoint=self.clients[index].base_url,
            call=call,
            confidence=confidence,
            threshold=threshold,
            decision=decision,
            reason=reason,
            verify_call=verify_call,
        )

    def _finish(self, trace: Trace, item: Any, started: float) -> Trace:
        last = trace.steps[-1]
        if last.decision == "error":
            trace.error = f"no tier could answer: the last tier '{last.tier_name}' failed ({last.error})"
        else:
            trace.final_answer = last.confidence.answer or last.call.raw_output.strip() or None
            trace.final_tier = last.tier_name
            trace.final_tier_index = last.tier_index
            trace.final_confidence = last.confidence.normalised
        trace.always_large_cost, trace.always_large_estimated = self._always_large(trace.steps)
        if item is not None and trace.final_answer is not None:
            trace.correct = grade(trace.final_answer, item.gold, item.answer_type)
        elif item is not None:
            trace.correct = False
        # The cascade's own work: wall time of the walk minus time spent waiting on model calls.
        trace.overhead_ms = max(0.0, (time.perf_counter() - started) * 1000 - trace.latency_ms)
        return trace

    def _always_large(self, steps: list[Step]) -> tuple[float, bool]:
        """The last tier's cost for this question: measured if it ran, otherwise estimated from tokens x price.

        Estimated from the largest prompt and reply seen at the cheaper tiers, priced at the last tier."""
        last_index = len(self.clients) - 1
        ran = [s for s in steps if s.tier_index == last_index and s.call.ok]
        if ran:
            return ran[0].cost, False
        tier = self.config.tiers[last_index]
        answered = [s for s in steps if s.call.ok]
        if answered:
            tokens_in = max(s.call.tokens_in for s in answered)
            tokens_out = max(s.call.tokens_out for s in answered)
            # Always-large never verifies (the last tier always answers): its answer call alone.
            return price_table_cost(tier, tokens_in, tokens_out), True
        prompt_chars = sum(len(m["content"]) for m in steps[0].call.messages) if steps else 0
        return price_table_cost(tier, prompt_chars // 4, 0), True


def answer_options(signal: str) -> dict[str, bool]:
    """Request options of a tier's answer call. The sweep's cache keys depend on these being the cascade's own.

    Logprobs only for the logprob signal: verify reads them from its second call, and some endpoints reject
    the option."""
    return {"json_mode": signal == "self_rated", "logprobs": signal == "logprob"}


VERIFY_OPTIONS: dict[str, bool] = {"json_mode": False, "logprobs": True}


def read_confidence(signal: str, call: TierCall) -> Confidence:
    """The answer and confidence of an answer call under `signal` (verify's confidence comes later)."""
    if not call.ok:
        return Confidence(None, None, None, None)
    if signal == "self_rated":
        parsed = parse_self_rated(call.raw_output)
    elif signal == "logprob":
        parsed = parse_logprob(call)
    else:
        parsed = plain_answer(call)
    if call.finish_reason == "length" and parsed.normalised is not None:
        # A cut-off answer ('Pa' for Paris) can look very sure; it must escalate, not be served.
        return Confidence(parsed.answer, parsed.raw, None, "output truncated (finish_reason=length)")
    return parsed


def decide(call: TierCall, verify_call: TierCall | None, confidence: Confidence,
           threshold: float | None) -> tuple[Decision, str]:
    """Decision and reason for one tier. `threshold` is None for the last tier, which always answers."""
    truncated = " (output truncated: finish_reason=length)" if call.finish_reason == "length" else ""
    failed = call if not call.ok else verify_call if verify_call is not None and not verify_call.ok else None
    if failed is not None:
        what = "verify call" if failed is verify_call else "call"
        tail = "no answer" if threshold is None else "escalating"
        return "error", f"{what} failed after {failed.attempts} attempt(s): {failed.error}; {tail}"
    if threshold is None:
        if confidence.parse_error:
            return "final", f"last tier always answers; parse error: {confidence.parse_error}{truncated}"
        shown = "none" if confidence.normalised is None else f"{confidence.normalised:.2f}"
        return "final", f"last tier always answers (confidence {shown})"
    if confidence.normalised is None:
        problem = confidence.parse_error or "no confidence"
        return "escalated", f"no usable confidence ({problem}){truncated}; escalating"
    if confidence.normalised >= threshold:
        return "accepted", f"confidence {confidence.normalised:.2f} >= threshold {threshold:.2f}"
    return "escalated", f"confidence {confidence.normalised:.2f} < threshold {threshold:.2f}; escalating"
