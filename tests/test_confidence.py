"""Each confidence parser on clean, fenced, chatty, broken and out-of-range output."""

from __future__ import annotations

import math

import pytest

from cascade_core.cascade import TierCall, parse_logprob, parse_self_rated, parse_verify


@pytest.mark.parametrize(
    ("text", "answer", "raw", "normalised"),
    [
        ('{"answer": "Paris", "confidence": 5}', "Paris", 5.0, 1.0),
        ('```json\n{"answer": "B", "confidence": 3}\n```', "B", 3.0, 0.5),
        ('Sure! Here you go:\n{"answer": 42, "confidence": "4"}\nHope that helps.', "42", 4.0, 0.75),
        ('{"Answer": "x", "Confidence": "2/5"}', "x", 2.0, 0.25),
        ('{"answer": "low", "confidence": 1}', "low", 1.0, 0.0),
        ('thinking {not json} then {"answer": "C", "confidence": 4.5}', "C", 4.5, 0.875),
    ],
)
def test_self_rated_parses(text: str, answer: str, raw: float, normalised: float) -> None:
    parsed = parse_self_rated(text)
    assert parsed.parse_error is None
    assert parsed.answer == answer
    assert parsed.raw == raw
    assert parsed.normalised == pytest.approx(normalised)


@pytest.mark.parametrize(
    ("text", "answer", "error"),
    [
        ('{"answer": "Paris", "confidence": 7}', "Paris", "out of range 1-5"),
        ('{"answer": "Paris", "confidence": 0}', "Paris", "out of range 1-5"),
        ('{"answer": "Paris", "confidence": "very"}', "Paris", "not a number"),
        ('{"answer": "Paris"}', "Paris", "no 'confidence' field"),
        ('{"answer": "Paris", "confidence": true}', "Paris", "not a number"),
        ("I think it is Paris.", None, "no JSON object"),
        ('{"answer": "Par', None, "no JSON object"),
        ("", None, "empty output"),
        ('{"answer": "", "confidence": 5}', None, "empty"),
        ('{"result": "Paris", "confidence": 5}', None, "no JSON object"),
    ],
)
def test_self_rated_broken_gives_no_confidence(text: str, answer: str | None, error: str) -> None:
    parsed = parse_self_rated(text)
    assert parsed.normalised is None
    assert parsed.answer == answer
    assert error in (parsed.parse_error or "")


def test_chatty_field_fallback() -> None:
    parsed = parse_self_rated('My reply: "answer": "Lima", confidence: 4 (fairly sure)')
    assert parsed.answer == "Lima" and parsed.normalised == pytest.approx(0.75)


def call(text: str, logprobs: list[tuple[str, float]] | None) -> TierCall:
    return TierCall(tier_name="t", model="m", messages=[], raw_output=text, logprobs=logprobs)


def test_logprob_confidence() -> None:
    parsed = parse_logprob(call("Paris", [("Par", math.log(0.8)), ("is", math.log(0.5)), (" ", -3.0)]))
    assert parsed.answer == "Paris"
    assert parsed.raw == pytest.approx(math.log(0.4))
    assert parsed.normalised == pytest.approx(0.4)


def test_logprob_missing() -> None:
    parsed = parse_logprob(call("Paris", None))
    assert parsed.answer == "Paris" and parsed.normalised is None
    assert "no logprobs" in (parsed.parse_error or "")
    assert parse_logprob(call("  ", None)).parse_error == "empty output"


def test_verify_yes_no() -> None:
    assert parse_verify(call("yes", [("yes", math.log(0.9))]), "B").normalised == pytest.approx(0.9)
    assert parse_verify(call("No.", [("No", math.log(0.7))]), "B").normalised == pytest.approx(0.3)
    assert parse_verify(call("Yes", None), "B").normalised == 1.0
    assert parse_verify(call("no", None), "B").normalised == 0.0
    broken = parse_verify(call("maybe", None), "B")
    assert broken.normalised is None and "not yes/no" in (broken.parse_error or "")
    assert broken.answer == "B"


@pytest.mark.parametrize("reply", ["nope", "not sure", "none of these", "maybe"])
def test_verify_hedges_are_not_a_no(reply: str) -> None:
    parsed = parse_verify(call(reply, None), "B")
    assert parsed.normalised is None and "not yes/no" in (parsed.parse_error or "")


def test_verify_yes_no_with_punctuation() -> None:
    assert parse_verify(call("**No**, it is wrong", None), "B").normalised == 0.0
    assert parse_verify(call("Yes, correct.", None), "B").normalised == 1.0
