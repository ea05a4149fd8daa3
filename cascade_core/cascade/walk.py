"""The cascade: walk the tiers in order, stop at the first confident one, charge every call.

`Cascade.run` (sync) and `Cascade.arun` (async) share every decision through the pure helpers in
decisions.py; only the way a call is awaited differs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Generator
from dataclasses import replace
from typing import Any

from cascade_core.cascade.client import CallCancelled, TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.decisions import (
    TRUNCATED,
    decide,
    needs_verify,
    read_confidence,
    skip_ahead,
    verified_confidence,
)
from cascade_core.cascade.grading import grade
from cascade_core.cascade.pricing import price_table_cost
from cascade_core.cascade.signals.base import RequestOptions
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.clock import utc_now
from cascade_core.records import Confidence, Source, Step, TierCall, Trace

# The per-tier decision helpers live in decisions.py; re-exported for callers that import them from here.
__all__ = ["ABSTAIN_ANSWER", "CANCELLED", "TRUNCATED", "Cascade", "RunCancelled", "RunFailed", "decide",
           "needs_verify",
           "read_confidence", "skip_ahead", "verified_confidence"]

CallRequest = tuple[TierClient, list[dict[str, str]], RequestOptions]
CANCELLED = ("cancelled: the server shut down (SIGTERM, past its graceful timeout) before the cascade finished; "
             "every call it made is logged and charged, the one in flight at an estimate")


class RunCancelled(asyncio.CancelledError):
    """`arun`'s task was cancelled mid-walk: `trace` holds every call made and paid for, marked cancelled."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace.error)
        self.trace = trace


class RunFailed(Exception):
    """A fault of the cascade's own code stopped the walk after it had called (and paid) a tier: `trace` holds
    every call made, the last step marked as the error, so the run can still be logged and charged."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace.error)
        self.trace = trace


def internal_error(trace: Trace, err: Exception) -> tuple[str, str]:
    """Record a fault of our own code on `trace`: (what it was, the run's error)."""
    what = f"{type(err).__name__}: {err}"
    trace.meta["internal_error"] = what
    return what, f"internal error in the cascade ({what}); every call made is logged and charged"


ABSTAIN_ANSWER = "I don't know."


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
            thresholds: list[float] | None = None, start: int = 0) -> Trace:
        started = time.perf_counter()
        trace = self._new_trace(question, item, source, dataset, thresholds)
        steps: list[Step] = []
        limits = self._thresholds(thresholds)
        walk = self._walk(question, limits, start, steps)
        made: list[TierCall] = []
        try:
            client, messages, options = next(walk)
            while True:
                made.append(client.call(messages, options))
                client, messages, options = walk.send(made[-1])
        except StopIteration as done:
            trace.steps = done.value
        except Exception as err:
            if not made:
                raise
            raise RunFailed(self._failed(trace, steps, made, client, limits, started, err)) from err
        return self._finish(trace, item, started)

    async def arun(self, question: str, *, item: Any = None, source: Source = "query", dataset: str | None = None,
                   thresholds: list[float] | None = None, start: int = 0) -> Trace:
        started = time.perf_counter()
        trace = self._new_trace(question, item, source, dataset, thresholds)
        steps: list[Step] = []
        limits = self._thresholds(thresholds)
        walk = self._walk(question, limits, start, steps)
        made: list[TierCall] = []
        try:
            client, messages, options = next(walk)
            while True:
                made.append(await client.acall(messages, options))
                client, messages, options = walk.send(made[-1])
        except StopIteration as done:
            trace.steps = done.value
        except CallCancelled as cancelled:
            raise RunCancelled(self._cancelled(trace, steps, made, client, cancelled.call, limits, started)) from None
        except Exception as err:  # a fault of ours while reading a reply or deciding: the calls made are paid
            if not made:
                raise
            raise RunFailed(self._failed(trace, steps, made, client, limits, started, err)) from err
        return self._finish(trace, item, started)

    def _cancelled(self, trace: Trace, steps: list[Step], made: list[TierCall], client: TierClient,
                   call: TierCall, limits: list[float], started: float) -> Trace:
        """The trace of a walk cancelled while `call` (on `client`'s tier) was in flight: the finished steps,
        then that tier's step with the cancelled call (after its answer call when a verify call was cut)."""
        trace.meta["cancelled"] = True
        return self._stopped(trace, steps, [*made, call], client, limits, started, CANCELLED,
                             f"{call.error}; the run was cancelled")

    def _failed(self, trace: Trace, steps: list[Step], made: list[TierCall], client: TierClient,
                limits: list[float], started: float, err: Exception) -> Trace:
        """The trace of a walk our own code broke off (`err`) after `client`'s tier had answered."""
        what, error = internal_error(trace, err)
        return self._stopped(trace, steps, made, client, limits, started, error,
                             f"the cascade failed while handling this tier's reply ({what})")

    def _stopped(self, trace: Trace, steps: list[Step], made: list[TierCall], client: TierClient,
                 limits: list[float], started: float, error: str, reason: str) -> Trace:
        """The finished steps, then a step for `client`'s tier holding its calls not in a step yet (its answer
        call, and its verify call if one was made), marked as the error that stopped the run."""
        covered = sum(1 + (s.verify_call is not None) for s in steps)
        pending = made[covered:]
        if not pending:  # broken off after its step was made: that step holds every call
            trace.steps = [*steps[:-1], replace(steps[-1], decision="error", reason=f"{steps[-1].reason}; {reason}")]
            return self._close(trace, error, started)
        index = next(i for i, c in enumerate(self.clients) if c is client)
        tier = self.config.tiers[index]
        trace.steps = [*steps, Step(
            tier_index=index, tier_name=tier.name, model=tier.model, endpoint=client.base_url,
            call=pending[0], confidence=Confidence(None, None, None),
            verify_call=pending[1] if len(pending) > 1 else None,
            threshold=None if index == len(self.clients) - 1 else limits[index],
            decision="error", reason=reason)]
        return self._close(trace, error, started)

    def _close(self, trace: Trace, error: str, started: float) -> Trace:
        """A run that stopped with `error`: its always-large cost and its own overhead, like a finished one."""
        trace.error = error
        trace.always_large_cost, trace.always_large_estimated = self._always_large(trace.steps)
        trace.overhead_ms = max(0.0, (time.perf_counter() - started) * 1000 - trace.latency_ms)
        return trace

    def _walk(self, question: str, limits: list[float], start: int = 0,
              steps: list[Step] | None = None) -> Generator[CallRequest, TierCall, list[Step]]:
        """`start`: the first tier asked (a semantic route may skip the cheaper ones; 0 means the configured
        `start_tier`, the first tier by default). `steps`: filled as the walk goes (so a cancelled walk's
        finished steps are known)."""
        if not start and self.config.start_tier is not None:
            start = [t.name for t in self.config.tiers].index(self.config.start_tier)
        signal = get_signal(self.config.signal)
        steps = [] if steps is None else steps
        last = len(self.clients) - 1
        if not 0 <= start <= last:
            raise ValueError(f"start: expected a tier index in [0, {last}], got {start}")
        jump_to = start
        for index, client in enumerate(self.clients):
            if index < jump_to:
                continue
            call = yield client, signal.messages(question), signal.options
            confidence = read_confidence(signal, call)
            verify_call = None
            # The last tier always answers, so asking it to verify would be paid for and never used.
            if needs_verify(signal, call, confidence, last=index == last) and signal.verify is not None:
                answer = str(confidence.answer)
                verify_call = yield client, signal.verify.messages(question, answer), signal.verify.options
                confidence = verified_confidence(signal, call, verify_call, answer)
            steps.append(self._step(index, call, verify_call, confidence, limits))
            if steps[-1].decision in ("accepted", "final"):
                break
            if skip_ahead(steps[-1], self._skip(index), last):
                steps[-1] = replace(steps[-1], reason=steps[-1].reason.replace(
                    "; escalating", f"; below skip {self._skip(index):.2f}: skipping to the last tier"))
                jump_to = last
        return steps

    def _skip(self, index: int) -> float:
        skips = self.config.skip_below
        return skips[index] if index < len(skips) else 0.0

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
            redact=tuple(self.config.privacy.redact),
        )

    def _step(self, index: int, call: TierCall, verify_call: TierCall | None, confidence: Confidence,
              limits: list[float]) -> Step:
        tier = self.config.tiers[index]
        is_last = index == len(self.clients) - 1
        threshold = None if is_last else limits[index]
        decision, reason = decide(call, verify_call, confidence, threshold)
        lost = [c for c in (call, verify_call) if c is not None and c.lost_attempts]
        if lost:
            n, charged = sum(c.lost_attempts for c in lost), sum(c.estimated_cost for c in lost)
            reason += (f"; {n} attempt(s) timed out or cut off, charged at an estimate (${charged:.6f}: prompt "
                       "tokens plus max_tokens at list price)")
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
            why = last.error or last.confidence.parse_error or "no answer"
            trace.error = f"no tier could answer: the last tier '{last.tier_name}' failed ({why})"
            fallback = self._best_earlier(trace.steps) if self.config.fallback_to_earlier else None
            if fallback is not None:
                self._answer_from(trace, fallback)
                trace.fallback = (f"served the best earlier answer (tier '{fallback.tier_name}') because "
                                  f"{trace.error}")
                trace.error = None
        else:
            self._answer_from(trace, last)
            self._maybe_abstain(trace, last)
        trace.always_large_cost, trace.always_large_estimated = self._always_large(trace.steps)
        retried = {str(i): [*s.call.attempt_log,
                   *(s.verify_call.attempt_log if s.verify_call else ())]
                   for i, s in enumerate(trace.steps) if s.call.attempts > 1 or s.call.lost_attempts
                   or (s.verify_call is not None and (s.verify_call.attempts > 1 or s.verify_call.lost_attempts))}
        if retried:  # every attempt of a retried call, by step index
            trace.meta["attempts"] = retried
        served_by = {str(i): s.call.served_by for i, s in enumerate(trace.steps) if s.call.served_by}
        if served_by:  # a proxy answered with another model than the tier's (LiteLLM fallbacks), by step index
            trace.meta["served_by"] = served_by
        if item is not None and "abstained" in trace.meta:
            trace.correct = False  # an abstention is never correct
        elif item is not None and trace.final_answer is not None:
            trace.correct = grade(trace.final_answer, item.gold, item.answer_type)
        elif item is not None:
            trace.correct = False
        # The cascade's own work: wall time of the walk minus time spent waiting on model calls.
        trace.overhead_ms = max(0.0, (time.perf_counter() - started) * 1000 - trace.latency_ms)
        return trace

    def _maybe_abstain(self, trace: Trace, last: Step) -> None:
        """Below `abstain_below` the last tier's answer is withheld: the cascade says it does not know."""
        floor = self.config.abstain_below
        conf = last.confidence.normalised
        if floor is None or last.tier_index != len(self.clients) - 1 or conf is None or conf >= floor:
            return
        trace.meta["abstained"] = {"answer": last.confidence.answer, "confidence": conf, "below": floor}
        trace.final_answer = ABSTAIN_ANSWER

    @staticmethod
    def _answer_from(trace: Trace, step: Step) -> None:
        trace.final_answer = step.confidence.answer
        trace.final_tier = step.tier_name
        trace.final_tier_index = step.tier_index
        trace.final_confidence = step.confidence.normalised
        trace.final_finish_reason = step.call.finish_reason

    @staticmethod
    def _best_earlier(steps: list[Step]) -> Step | None:
        """The earlier step with a whole answer (not cut off) and the highest confidence."""
        answered = [s for s in steps[:-1]
                    if s.call.ok and s.confidence.answer is not None and s.call.finish_reason != "length"]
        if not answered:
            return None
        return max(answered, key=lambda s: s.confidence.normalised or 0.0)

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
