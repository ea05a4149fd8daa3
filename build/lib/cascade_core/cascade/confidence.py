"""The one place that turns a tier's output into (answer, confidence).

Signals:
- self_rated: the tier answers JSON {"answer": ..., "confidence": 1-5}; normalised as (c - 1) / 4.
- logprob: the probability of the answer's tokens (raw = summed log-probability, normalised = exp(raw)).
- verify: a second call asks the tier "is this answer correct?"; confidence = P(yes).
Anything unparseable or out of range gives no confidence (None) and a parse_error; the cascade escalates.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from cascade_core.records import Confidence, TierCall

SELF_RATED_MIN, SELF_RATED_MAX = 1, 5
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_ANSWER_FIELD = re.compile(r'"?answer"?\s*[:=]\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_CONF_FIELD = re.compile(r'"?confidence"?\s*[:=]\s*"?(-?\d+(?:\.\d+)?)', re.IGNORECASE)


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level {...} in text that parses as a JSON object, in order."""
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        index = text.find("{", end)
    return found


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
    fenced = _FENCE.findall(text)
    candidates = [obj for block in fenced for obj in json_objects(block)] + json_objects(text)
    for obj in candidates:
        lowered = {str(k).lower(): v for k, v in obj.items()}
        if "answer" not in lowered:
            continue
        answer = _answer_text(lowered["answer"])
        return _with_rating(answer, lowered.get("confidence"))
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


def parse_logprob(call: TierCall) -> Confidence:
    """Answer = the plain output; confidence = probability of its (non-whitespace) tokens."""
    answer = call.raw_output.strip() or None
    if answer is None:
        return Confidence(None, None, None, "empty output")
    if not call.logprobs:
        return Confidence(answer, None, None, "the endpoint returned no logprobs")
    total = sum(lp for token, lp in call.logprobs if token.strip())
    if not math.isfinite(total):
        return Confidence(answer, None, None, "non-finite logprob")
    return Confidence(answer, total, math.exp(min(total, 0.0)))


def plain_answer(call: TierCall) -> Confidence:
    """The answer call of the verify signal: plain text, confidence comes later from the verify call."""
    answer = call.raw_output.strip() or None
    return Confidence(answer, None, None, None if answer else "empty output")


def parse_verify(call: TierCall, answer: str | None) -> Confidence:
    """P(yes) from the verify call: from the first token's logprob when given, else 1.0 / 0.0 from the text."""
    reply = re.match(r"\W*(yes|no)\b", call.raw_output.strip().lower())  # "nope" / "not sure" are not a "no"
    if reply is None:
        return Confidence(answer, None, None, f"verify reply is not yes/no: {call.raw_output[:40]!r}")
    said_yes = reply.group(1) == "yes"
    p_yes = 1.0 if said_yes else 0.0
    if call.logprobs:
        first = next(((t, lp) for t, lp in call.logprobs if t.strip()), None)
        if first is not None:
            p_token = math.exp(min(first[1], 0.0))
            p_yes = p_token if said_yes else 1.0 - p_token
    return Confidence(answer, p_yes, p_yes)
