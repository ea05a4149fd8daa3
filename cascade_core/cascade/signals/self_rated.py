"""self_rated: the tier answers JSON {"answer": ..., "confidence": 1-5}; confidence is normalised as (c - 1) / 4.

Anything unparseable or out of range gives no confidence (None) and a parse_error; the cascade escalates.
"""

from __future__ import annotations

import re
from typing import Any

from cascade_core.cascade.signals.base import RequestOptions, Signal
from cascade_core.cascade.signals.plain import empty_reason
from cascade_core.cascade.structured import SelfRatedReply, json_candidates
from cascade_core.records import Confidence, TierCall

SYSTEM = (
    "You are a careful assistant. Answer the user's question. "
    'Reply with only a JSON object of the form {"answer": "<short final answer>", "confidence": <1-5>}, '
    "where confidence is an integer from 1 (a guess) to 5 (certain). For multiple-choice questions the answer "
    "is the option letter; for numeric questions it is the number alone."
)
SELF_RATED_MIN, SELF_RATED_MAX = 1, 5
_ANSWER_FIELD = re.compile(r'"?answer"?\s*[:=]\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_CONF_FIELD = re.compile(r'"?confidence"?\s*[:=]\s*"?(-?\d+(?:\.\d+)?)', re.IGNORECASE)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = re.match(r"\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*5)?\s*$", value)
        return float(match.group(1)) if match else None
    return None


def _answer_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def parse_self_rated(text: str) -> Confidence:
    """Parse {"answer": ..., "confidence": 1-5}, tolerating code fences and prose around the JSON."""
    if not text or not text.strip():
        return Confidence(None, None, None, "empty output")
    for lowered in json_candidates(text, "answer", fenced_first=True):
        return _with_rating(_answer_text(lowered["answer"]), lowered.get("confidence"))
    # No parseable object: fall back to field-shaped text ("answer": "x", confidence: 4) in chatty output.
    answer_match = _ANSWER_FIELD.search(text)
    conf_match = _CONF_FIELD.search(text)
    if answer_match:
        return _with_rating(answer_match.group(1).strip() or None, conf_match.group(1) if conf_match else None)
    return Confidence(None, None, None, "no JSON object with an 'answer' field")


def _with_rating(answer: str | None, rating: Any) -> Confidence:
    if answer is None:
        return Confidence(None, None, None, "the 'answer' field is empty")
    if rating is None:
        return Confidence(answer, None, None, "no 'confidence' field")
    value = _number(rating)
    if value is None:
        return Confidence(answer, None, None, f"confidence {rating!r} is not a number")
    if not SELF_RATED_MIN <= value <= SELF_RATED_MAX:
        return Confidence(answer, value, None, f"confidence {value:g} out of range 1-5")
    return Confidence(answer, value, (value - SELF_RATED_MIN) / (SELF_RATED_MAX - SELF_RATED_MIN))


def _parse(call: TierCall) -> Confidence:
    if not call.answer_text.strip():
        return Confidence(None, None, None, empty_reason(call))
    return parse_self_rated(call.answer_text)


SELF_RATED = Signal(
    name="self_rated",
    system_prompt=SYSTEM,
    options=RequestOptions(json_mode=True, schema=SelfRatedReply),
    parse=_parse,
    reply_style="json",
)
