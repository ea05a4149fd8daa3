"""logprob: the probability of the answer's tokens (raw = summed log-probability, normalised = exp(raw))."""

from __future__ import annotations

import math

from cascade_core.cascade.signals.base import RequestOptions, Signal
from cascade_core.cascade.signals.plain import PLAIN_SYSTEM, answer_logprobs, empty_reason
from cascade_core.records import Confidence, TierCall

NO_LOGPROBS = "the endpoint returned no logprobs"


def parse_logprob(call: TierCall) -> Confidence:
    """Answer = the plain output; confidence = probability of its (non-whitespace) tokens."""
    answer = call.answer_text.strip() or None
    if answer is None:
        return Confidence(None, None, None, empty_reason(call))
    logprobs = answer_logprobs(call)
    if not logprobs:
        return Confidence(answer, None, None, NO_LOGPROBS)
    total = sum(lp for token, lp in logprobs if token.strip())
    if not math.isfinite(total):
        return Confidence(answer, None, None, "non-finite logprob")
    return Confidence(answer, total, math.exp(min(total, 0.0)))


LOGPROB = Signal(
    name="logprob",
    system_prompt=PLAIN_SYSTEM,
    options=RequestOptions(logprobs=True, top_logprobs=1),  # llama.cpp sends logprobs only with top_logprobs
    parse=parse_logprob,
    reply_style="plain",
)
