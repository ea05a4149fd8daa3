"""Opt-in redaction of personal data at log time: what a user typed is replaced by typed placeholders before
anything is stored (runs, steps, the call cache, audit items and judge prompts). The model still sees the
original text; only what is written to disk is redacted.

Kinds (config `[privacy] redact = [...]`, or `redact = true` for all): e-mail addresses -> [EMAIL], phone
numbers -> [PHONE], payment-card numbers (13-19 digits passing the Luhn check) -> [CARD], US social-security-
like numbers (ddd-dd-dddd) -> [SSN], API keys (known key shapes, bearer tokens, credentials in URLs, and the
keys in the environment) -> [API_KEY].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Literal, get_args

from cascade_core.security.redact import MASK, redact

PiiKind = Literal["email", "phone", "card", "ssn", "api_key"]
PII_KINDS: tuple[PiiKind, ...] = get_args(PiiKind)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# +country code optional, then 7-15 digits in groups separated by spaces, dots, dashes or parentheses.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w.])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _cards(text: str) -> str:
    def swap(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        return "[CARD]" if 13 <= len(digits) <= 19 and _luhn(digits) else m.group()
    return _CARD.sub(swap, text)


def _phones(text: str) -> str:
    def swap(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        # 7-15 digits (E.164), and not something that looks like a date or a decimal number.
        if not 7 <= len(digits) <= 15 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.group()):
            return m.group()
        return "[PHONE]"
    return _PHONE.sub(swap, text)


def _api_keys(text: str) -> str:
    return redact(text).replace(MASK, "[API_KEY]")


# Order matters: keys and e-mails first (they contain digits), cards before SSNs before phones.
_STEPS: tuple[tuple[PiiKind, Callable[[str], str]], ...] = (
    ("api_key", _api_keys),
    ("email", lambda t: _EMAIL.sub("[EMAIL]", t)),
    ("card", _cards),
    ("ssn", lambda t: _SSN.sub("[SSN]", t)),
    ("phone", _phones),
)


def redact_pii(text: str | None, kinds: Iterable[str]) -> str | None:
    """`text` with the chosen kinds of personal data replaced by [EMAIL], [PHONE], [CARD], [SSN], [API_KEY]."""
    wanted = set(kinds)
    if text is None or not wanted:
        return text
    for kind, step in _STEPS:
        if kind in wanted:
            text = step(text)
    return text
