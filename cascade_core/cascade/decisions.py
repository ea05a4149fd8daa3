"""One tier's verdict: read its confidence under the signal, verify when the signal says so, then accept,
escalate, answer (the last tier) or skip ahead. Pure functions, shared by the live walk (walk.py), the sweep's
collection and routing.
"""

from __future__ import annotations

from cascade_core.cascade.signals.base import Signal
from cascade_core.cascade.signals.non_answer import non_answer_reason
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.records import Confidence, Decision, Step, TierCall


def skip_ahead(step: Step, skip: float, last: int) -> bool:
    """Whether an escalated non-final step skips the tiers between it and the last (confidence below `skip`)."""
    conf = step.confidence.normalised
    return (step.decision == "escalated" and step.tier_index < last - 1 and skip > 0 and conf is not None
            and conf < skip)


def needs_verify(signal: Signal, call: TierCall, confidence: Confidence, *, last: bool) -> bool:
    """Whether this answer gets a verify call: under a signal with a verify rule, for every tier but the last.

    The last tier always answers, so its confidence is never used: asking it to verify would be paid for and
    wasted. A cut-off answer is never verified: it cannot be confident, whatever a verifier says."""
    return (signal.verify is not None and not last and call.ok and confidence.answer is not None
            and call.finish_reason != "length")


TRUNCATED = "output truncated (finish_reason=length)"


def read_confidence(signal: Signal | str, call: TierCall) -> Confidence:
    """The answer and confidence of an answer call under `signal` (a verify rule's confidence comes later).

    An answer that is not one (the prompt's placeholder, a chat-template token) has no answer; a cut-off
    answer ('Pa' for Paris) keeps its text but never a confidence, under every signal."""
    if isinstance(signal, str):
        signal = get_signal(signal)
    if not call.ok:
        return Confidence(None, None, None, None)
    parsed = signal.parse(call)
    if parsed.answer is not None:
        problem = non_answer_reason(parsed.answer)
        if problem is not None:
            return Confidence(None, None, None, problem)
    if call.finish_reason == "length":
        return Confidence(parsed.answer, parsed.raw, None, TRUNCATED)
    return parsed


def verified_confidence(signal: Signal, call: TierCall, verify_call: TierCall, answer: str) -> Confidence:
    """The confidence a verify call gives to `answer` (none when the answer or the verify reply was cut off)."""
    if signal.verify is None:
        raise ValueError(f"signal {signal.name!r} has no verify rule")
    if call.finish_reason == "length":
        return Confidence(answer, None, None, TRUNCATED)
    parsed = signal.verify.parse(verify_call, answer)
    if verify_call.finish_reason == "length" and parsed.normalised is not None:
        return Confidence(answer, parsed.raw, None, "verify reply truncated (finish_reason=length)")
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
        if confidence.answer is None:
            return "error", f"the last tier gave no usable answer ({confidence.parse_error or 'no answer'}); no answer"
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
