"""The plain answer prompt shared by the signals whose answer call is just the short final answer."""

from __future__ import annotations

from cascade_core.records import Confidence, TierCall

PLAIN_SYSTEM = (
    "You are a careful assistant. Answer the user's question with only the short final answer: "
    "the option letter for multiple-choice questions, the number alone for numeric ones. No explanation."
)


def plain_answer(call: TierCall) -> Confidence:
    """The answer of a plain answer call, with no confidence (it comes from logprobs or a verify call)."""
    answer = call.raw_output.strip() or None
    return Confidence(answer, None, None, None if answer else "empty output")
