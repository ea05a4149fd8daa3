"""The plain answer prompt shared by the signals whose answer call is just the short final answer."""

from __future__ import annotations

from cascade_core.records import Confidence, TierCall

PLAIN_SYSTEM = (
    "You are a careful assistant. Answer the user's question with only the short final answer: "
    "the option letter for multiple-choice questions, the number alone for numeric ones. No explanation."
)


def empty_reason(call: TierCall) -> str:
    """Why a reply holds no answer text: it is empty, or it is all reasoning (a <think> block and nothing after)."""
    if call.raw_output.strip():
        return f"no answer after the model's reasoning ({len(call.raw_output):,} characters, all <think>)"
    return "empty output"


def answer_logprobs(call: TierCall) -> list[tuple[str, float]] | None:
    """The logprobs of the answer's tokens: the last tokens that cover the text after the reasoning (all of them
    when the reply has no reasoning)."""
    if not call.logprobs:
        return call.logprobs
    answer = call.answer_text
    if answer == call.raw_output:
        return call.logprobs
    wanted = len(answer.lstrip())  # whitespace after </think> may end the reasoning's last token
    covered, start = 0, len(call.logprobs)
    while start > 0 and covered < wanted:
        start -= 1
        covered += len(call.logprobs[start][0])
    return call.logprobs[start:]


def plain_answer(call: TierCall) -> Confidence:
    """The answer of a plain answer call, with no confidence (it comes from logprobs or a verify call)."""
    answer = call.answer_text.strip() or None
    return Confidence(answer, None, None, None if answer else empty_reason(call))
