"""What a tier's HTTP 200 must look like to count as a chat completion (anything else is an error step), and
the fields read from it, checked one by one.

The openai SDK builds its response objects without validating them, so a gateway's or a local server's body
with a field of the wrong type (a message that is a string, content that is a number, usage counts that are
strings or negative, logprobs that are a list) reaches us as it was sent. Everything the cascade reads from a
reply is read here: an unusable answer is a BadResponse, an unreadable usage or logprobs is treated as absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cascade_core.reasoning import REASONING_FIELDS


class BadResponse(Exception):
    """HTTP 200 with a body that is not a chat completion (an HTML page, `{}`, no choices, cut-off JSON)."""

    def __init__(self, what: str, *, billed: bool) -> None:
        super().__init__(what)
        self.what = what
        self.billed = billed  # the model may have generated (and charged) before the body broke


@dataclass(frozen=True)
class Completion:
    """The parts of a chat completion the cascade uses, each of a checked type."""

    text: str  # the message's content ("" when the server sent none)
    finish_reason: str | None  # as sent; None stays None
    tokens: tuple[int, int] | None  # (prompt, completion) from usage; None when usage is missing or unreadable
    usage_cost: float | None  # usage.cost, when sent as a finite number >= 0
    logprobs: list[tuple[str, float]] | None  # None when absent or in a shape other than OpenAI's


def _field(obj: Any, name: str) -> Any:
    """`obj.name` of an SDK object (extra fields included) or `obj[name]` of a plain dict, else None."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _is_object(obj: Any) -> bool:
    return obj is not None and not isinstance(obj, str | bytes | int | float | bool | list | tuple)


def _count(value: Any) -> int:
    """A token count: an integer >= 0 (absent counts as 0); -1 for anything else."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return -1
    return int(value)


def _usage(usage: Any) -> tuple[tuple[int, int] | None, float | None]:
    if not _is_object(usage):
        return None, None
    tokens_in, tokens_out = _count(_field(usage, "prompt_tokens")), _count(_field(usage, "completion_tokens"))
    cost = _field(usage, "cost")  # an extra field of the SDK's usage object (some NIM proxies, OpenRouter)
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        cost = None
    tokens = None if tokens_in < 0 or tokens_out < 0 else (tokens_in, tokens_out)
    return tokens, None if cost is None else float(cost)


def _logprobs(logprobs: Any) -> list[tuple[str, float]] | None:
    content = _field(logprobs, "content") if _is_object(logprobs) else None
    if not isinstance(content, list) or not content:
        return None
    out: list[tuple[str, float]] = []
    for entry in content:
        token, logprob = _field(entry, "token"), _field(entry, "logprob")
        if not isinstance(token, str) or isinstance(logprob, bool) or not isinstance(logprob, int | float) \
                or not math.isfinite(logprob):
            return None
        out.append((token, float(logprob)))
    return out


def _kind(value: Any) -> str:
    for types, name in ((str, "a string"), (bool, "a boolean"), (int | float, "a number"), (dict, "an object"),
                        (list, "a list")):
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


def _text(content: Any) -> str:
    """The message's content: a string, or a list of content parts whose text parts are joined."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(_is_object(part) for part in content):
        texts = [_field(part, "text") for part in content if _field(part, "type") in ("text", "output_text")]
        if all(isinstance(text, str) for text in texts):
            return "".join(texts)
    raise BadResponse(f"a chat completion whose message content is {_kind(content)} "
                      f"({str(content)[:60]!r}), not text", billed=True)


def _with_reasoning(message: Any, text: str) -> str:
    """The reply as the model wrote it: reasoning a server split into its own field goes back in front of the
    content as a <think> block (kept in the raw output; answer_part leaves it out)."""
    for name in REASONING_FIELDS:
        reasoning = _field(message, name)
        if isinstance(reasoning, str) and reasoning.strip():
            return f"<think>{reasoning}</think>{text}"
    return text


def read_completion(response: Any) -> Completion:
    """The checked fields of `response` (as the openai SDK returned it); BadResponse unless it is a chat
    completion with a choice whose message has text (or no content)."""
    if isinstance(response, str | bytes):
        text = response if isinstance(response, str) else response.decode(errors="replace")
        kind = "an HTML page" if "<html" in text[:500].lower() or "<!doctype" in text[:500].lower() else "text"
        raise BadResponse(f"{kind}, not a chat completion ({text[:60].strip()!r}...)", billed=False)
    choices = _field(response, "choices") if _is_object(response) else None
    error = _field(response, "error") if _is_object(response) else None
    if choices is None and error:  # LiteLLM, OpenRouter and other gateways: an upstream error sent with HTTP 200
        said = _field(error, "message") if _is_object(error) else error
        code = _field(error, "code") if _is_object(error) else None
        raise BadResponse(f"an error, not a chat completion: {'' if code is None else f'({code}) '}"
                          f"{' '.join(str(said).split())[:300]}", billed=False)
    if choices is None:
        raise BadResponse("a JSON body that is not a chat completion (no 'choices')", billed=False)
    if not isinstance(choices, list) or not choices:
        raise BadResponse("a chat completion with no choices", billed=True)
    choice = choices[0]
    message = _field(choice, "message") if _is_object(choice) else None
    if message is None:
        raise BadResponse("a chat completion whose choice has no message", billed=True)
    if not _is_object(message):
        raise BadResponse(f"a chat completion whose message is {_kind(message)}, not an object",
                          billed=True)
    finish = _field(choice, "finish_reason")
    tokens, usage_cost = _usage(_field(response, "usage"))
    text = _with_reasoning(message, _text(_field(message, "content")))
    return Completion(text=text, finish_reason=None if finish is None else str(finish), tokens=tokens,
                      usage_cost=usage_cost, logprobs=_logprobs(_field(choice, "logprobs")))
