"""Grading: pure functions that pull a letter, a number or a normalised text out of a model's answer.

`grade` is the single place that decides whether an answer matches a gold answer.
"""

from __future__ import annotations

import math
import re
import unicodedata

# -- choice ---------------------------------------------------------------------------------------------------

_WRAP = "\"'`*([{"  # characters that may surround an option letter
# The whole answer is one letter, possibly wrapped: "B", "(b)", "B.", "**A**", "[C]:"
_BARE = re.compile(r"^[\s\"'`*(\[{]*([A-Ja-j])[\s\"'`*)\]}.:,;!]*$")
# "Answer: C", "The answer is D) because", "final answer is (b)", '"answer": "B"'
_ANSWER = re.compile(
    r"\banswer\b[\"'*]*(?:\s+is)?\s*[:=\-]?\s*(?:option\s+|choice\s+|letter\s+)?([\"'`*(\[{]*)([A-Ja-j])(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Leads with an option label: "D) because", "B. Paris", "(C) the third one"
_LEADING = re.compile(r"^[\s\"'`*(\[{]*([A-J])(?:[)\]}.:*]|\s+[-\u2013\u2014])(?:\s|$)")
# Explicit markers anywhere: "(B)", "[B]", "**B**", "option B", "choice B"
_MARKERS = (
    re.compile(r"[(\[]([A-Ja-j])[)\]]"),
    re.compile(r"\*\*([A-J])\*\*"),
    re.compile(r"\b(?:[Oo]ption|[Cc]hoice|[Ll]etter)(?:\s+is)?:?\s+([A-J])\b"),
)


def _letter_ok(letter: str, opener: str, after: str) -> bool:
    """A lowercase letter counts only when clearly a label ("(b)", "b)", "b." at the end), not the article 'a'."""
    if letter.isupper():
        return True
    return bool(opener) or after[:1] in (")", "]", "}", "*") or after.strip() in ("", ".")


def extract_choice(text: str | None) -> str | None:
    """The option letter (A-J) an answer picks, or None when there is none or it is ambiguous."""
    if not text or not text.strip():
        return None
    text = text.strip()
    bare = _BARE.match(text)
    if bare:
        return bare.group(1).upper()
    picked: str | None = None
    for match in _ANSWER.finditer(text):
        opener, letter = match.group(1), match.group(2)
        if _letter_ok(letter, opener, text[match.end() :]):
            picked = letter.upper()  # the last stated answer wins ("answer is A ... no, the answer is C")
    if picked:
        return picked
    leading = _LEADING.match(text)
    if leading:
        return leading.group(1)
    found = {m.group(1).upper() for pattern in _MARKERS for m in pattern.finditer(text)}
    return found.pop() if len(found) == 1 else None


# -- number ---------------------------------------------------------------------------------------------------

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_NUMBER = re.compile(
    rf"(?<![\w./])(?P<neg>[-\u2212]\s?)?\$?(?P<num>{_NUM})(?:\s*/\s*(?P<den>{_NUM})(?![\d/]))?(?:[eE](?P<exp>[-+]?\d+))?"
)
_ANSWER_WORD = re.compile(r"\banswer\b", re.IGNORECASE)


def _numbers(text: str) -> list[float]:
    values: list[float] = []
    for match in _NUMBER.finditer(text):
        value = float(match.group("num").replace(",", ""))
        if match.group("den"):
            denominator = float(match.group("den").replace(",", ""))
            if denominator == 0:
                continue
            value /= denominator
        if match.group("exp"):
            value *= 10.0 ** int(match.group("exp"))
        values.append(-value if match.group("neg") else value)
    return values


def parse_number(text: str | None) -> float | None:
    """The number an answer gives, tolerating "$1,234.50", "42 apples", "-3", "1/2" and "3.0".

    Preference: the first number after the last "####" (GSM8K style), else the first number after the last
    word "answer", else the final number in the text.
    """
    if not text:
        return None
    if "####" in text:
        after = _numbers(text.rsplit("####", 1)[1])
        if after:
            return after[0]
    keywords = list(_ANSWER_WORD.finditer(text))
    if keywords:
        after = _numbers(text[keywords[-1].end() :])
        if after:
            return after[0]
    values = _numbers(text)
    return values[-1] if values else None


# -- text -----------------------------------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['\u2019`]")
_PUNCT = re.compile(r"(?!(?<=\d)\.(?=\d))[^\w\s]|_")  # any punctuation except a decimal point
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lowercase, fold accents, drop punctuation and the articles a/an/the, collapse whitespace."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # thousands separators: "1,000" -> "1000"
    text = _APOSTROPHES.sub("", text)
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


NEGATORS = frozenset({"not", "no", "never", "isnt", "isn't", "arent", "aren't", "neither", "nor"})


def _contains_span(words: list[str], span: list[str]) -> bool:
    """`span` appears in `words`, and not right after a negation ("not Paris" does not contain "Paris")."""
    width = len(span)
    return any(words[i : i + width] == span and (i == 0 or words[i - 1] not in NEGATORS)
               for i in range(len(words) - width + 1))


# -- grade ----------------------------------------------------------------------------------------------------

SHORT_ANSWER_WORDS = 8


def grade(answer: str | None, gold: str, answer_type: str, *, tolerance: float = 1e-6) -> bool:
    """Whether `answer` matches `gold` for the item's answer type ("choice", "number" or "text")."""
    if answer is None or not answer.strip():
        return False
    if answer_type == "choice":
        expected = extract_choice(gold) or gold.strip().upper()
        return extract_choice(answer) == expected
    if answer_type == "number":
        got, want = parse_number(answer), parse_number(gold)
        if got is None or want is None:
            return False
        return math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)
    if answer_type == "text":
        got_text, want_text = normalise_text(answer), normalise_text(gold)
        if not got_text or not want_text:
            return got_text == want_text == "" and answer.strip() == gold.strip()
        if got_text == want_text:
            return True
        words = got_text.split()
        return len(words) <= SHORT_ANSWER_WORDS and _contains_span(words, want_text.split())
    raise ValueError(f"answer_type: expected one of choice, number, text, got {answer_type!r}")


def infer_answer_type(gold: str) -> str:
    """The answer type a bare gold answer implies (for runs graded without their dataset item): a single option
    letter is a choice, a number is a number, anything else is text."""
    text = gold.strip()
    if re.fullmatch(r"\(?[A-Ja-j][.)]?", text):
        return "choice"
    if re.fullmatch(r"[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?", text):
        return "number"
    return "text"
