"""What a tier's HTTP 200 must look like to count as a chat completion (anything else is an error step)."""

from __future__ import annotations

from typing import Any


class BadResponse(Exception):
    """HTTP 200 with a body that is not a chat completion (an HTML page, `{}`, no choices, cut-off JSON)."""

    def __init__(self, what: str, *, billed: bool) -> None:
        super().__init__(what)
        self.what = what
        self.billed = billed  # the model may have generated (and charged) before the body broke


def check_completion(response: Any) -> None:
    """Raise BadResponse unless `response` (as the openai SDK returned it) is a chat completion with a choice."""
    if isinstance(response, str | bytes):
        text = response if isinstance(response, str) else response.decode(errors="replace")
        kind = "an HTML page" if "<html" in text[:500].lower() or "<!doctype" in text[:500].lower() else "text"
        raise BadResponse(f"{kind}, not a chat completion ({text[:60].strip()!r}...)", billed=False)
    choices = getattr(response, "choices", None)
    if choices is None:
        raise BadResponse("a JSON body that is not a chat completion (no 'choices')", billed=False)
    if not isinstance(choices, list) or not choices:
        raise BadResponse("a chat completion with no choices", billed=True)
    message = getattr(choices[0], "message", None)
    if message is None:
        raise BadResponse("a chat completion whose choice has no message", billed=True)
