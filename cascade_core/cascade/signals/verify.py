"""verify: a plain answer, then a second call asks the tier "is this answer correct?"; confidence = P(yes).

The answer call asks for no logprobs (some endpoints reject the option); the verify call does, to read P(yes)
from its first token. The last tier never gets a verify call: it always answers.
"""

from __future__ import annotations

import math
import re

from cascade_core.cascade.signals.base import RequestOptions, Signal, VerifyRule
from cascade_core.cascade.signals.plain import PLAIN_SYSTEM, answer_logprobs, plain_answer
from cascade_core.records import Confidence, TierCall

VERIFY_SYSTEM = (
    "You check answers. You are given a question and a proposed answer between markers. "
    "Reply with exactly one word: yes if the proposed answer is correct, no otherwise."
)

VERIFY_USER_TEMPLATE = (
    "<question>\n{question}\n</question>\n<proposed_answer>\n{answer}\n</proposed_answer>\n"
    "Is the proposed answer correct? Reply yes or no."
)


def parse_verify(call: TierCall, answer: str | None) -> Confidence:
    """P(yes) from the verify call: from the first token's logprob when given, else 1.0 / 0.0 from the text."""
    text = call.answer_text.strip()
    reply = re.match(r"\W*(yes|no)\b", text.lower())  # "nope" / "not sure" are not a "no"
    if reply is None:
        return Confidence(answer, None, None, f"verify reply is not yes/no: {text[:40]!r}")
    said_yes = reply.group(1) == "yes"
    p_yes = 1.0 if said_yes else 0.0
    logprobs = answer_logprobs(call)
    if logprobs:
        first = next(((t, lp) for t, lp in logprobs if t.strip()), None)
        if first is not None:
            p_token = math.exp(min(first[1], 0.0))
            p_yes = p_token if said_yes else 1.0 - p_token
    return Confidence(answer, p_yes, p_yes)


VERIFY = Signal(
    name="verify",
    system_prompt=PLAIN_SYSTEM,
    options=RequestOptions(),
    parse=plain_answer,
    reply_style="plain",
    verify=VerifyRule(VERIFY_SYSTEM, VERIFY_USER_TEMPLATE, RequestOptions(logprobs=True, top_logprobs=1),
                      parse_verify),
)
