"""Grading functions on clean, chatty and broken answers."""

from __future__ import annotations

import pytest

from cascade_core.cascade.grading import extract_choice, grade, normalise_text, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("(b)", "B"),
        ("B.", "B"),
        ("**A**", "A"),
        ("Answer: C", "C"),
        ("answer: c", "C"),
        ("The answer is D) because the others are wrong.", "D"),
        ("The correct answer is (b).", "B"),
        ("B. Paris", "B"),
        ("Final answer: **A**", "A"),
        ('{"answer": "B", "confidence": 4}', "B"),
        ("I think (C) is right.", "C"),
        ("The correct option is B", "B"),
        ("The answer is A... no, wait: the answer is C.", "C"),
    ],
)
def test_extract_choice_finds_letter(text: str, expected: str) -> None:
    assert extract_choice(text) == expected


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "Paris", "A or B", "The answer is a bit unclear", "Either (A) or (B)", "None of them"],
)
def test_extract_choice_absent_or_ambiguous(text: str | None) -> None:
    assert extract_choice(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42.0),
        ("3.0", 3.0),
        ("-3", -3.0),
        ("$1,234.50", 1234.5),
        ("42 apples", 42.0),
        ("1/2", 0.5),
        ("#### 18", 18.0),
        ("First 3 + 4 = 7, then 7 * 2 = 14.\n#### 14", 14.0),
        ("She had 5, gave away 2, so 3 remain.", 3.0),
        ("The answer is 18.", 18.0),
        ("Answer: 12 boxes, which is 4 more than before", 12.0),
        ("x = -3", -3.0),
        ("It costs -$5", -5.0),
        ("pages 10-12", 12.0),
        ("50%", 50.0),
        (".5", 0.5),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", [None, "", "no digits here", "1/0"])
def test_parse_number_absent(text: str | None) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris", "paris"),
        ("The Eiffel Tower!", "eiffel tower"),
        ("  Buenos   Aires. ", "buenos aires"),
        ("an apple a day", "apple day"),
        ("Brasília", "brasilia"),
        ("3.5 and 1,000", "3.5 and 1000"),
        ("", ""),
        ("?!", ""),
    ],
)
def test_normalise_text(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


def test_grade_choice() -> None:
    assert grade("B", "B", "choice")
    assert grade("The answer is (b) because...", "B", "choice")
    assert not grade("C", "B", "choice")
    assert not grade("A or B", "B", "choice")


def test_grade_number_and_tolerance() -> None:
    assert grade("42", "42", "number")
    assert grade("The total is $1,234.50", "1234.5", "number")
    assert grade("#### 0.05", "0.05", "number")
    assert grade("1/2", "0.5", "number")
    assert not grade("43", "42", "number")
    assert not grade("forty-two", "42", "number")
    assert not grade("3.3333", "3.33333333", "number")
    assert grade("3.3333", "3.33333333", "number", tolerance=1e-3)
    assert grade("1000000.5", "1000000", "number", tolerance=1e-6)  # relative tolerance
    assert grade("0.0000001", "0", "number")  # absolute tolerance near zero


def test_grade_text() -> None:
    assert grade("paris", "Paris", "text")
    assert grade("The capital is Paris.", "Paris", "text")
    assert grade("Mount Everest", "Everest", "text")
    assert grade("It is carbon dioxide.", "carbon dioxide", "text")
    assert not grade("Parisian", "Paris", "text")
    assert not grade("London", "Paris", "text")
    assert not grade("dioxide carbon", "carbon dioxide", "text")
    long_answer = "Well, many people think of other cities first, but it is actually Paris"
    assert not grade(long_answer, "Paris", "text")  # more than 8 words: only an exact match counts


def test_grade_none_and_empty() -> None:
    for answer_type in ("choice", "number", "text"):
        assert not grade(None, "A", answer_type)
        assert not grade("   ", "A", answer_type)


def test_grade_unknown_type() -> None:
    with pytest.raises(ValueError, match="answer_type"):
        grade("A", "A", "bool")


def test_a_negated_span_is_not_a_match() -> None:
    from cascade_core.cascade.grading import grade as grade_text

    assert grade_text("It is Paris", "Paris", "text")
    assert not grade_text("not Paris", "Paris", "text")
    assert not grade_text("It is not positive", "positive", "text")
    assert not grade_text("never Canberra", "Canberra", "text")
