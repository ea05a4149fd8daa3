"""The /v1/chat/completions request body, parsed once for `serve` and the simulator.

Hand-written checks (cheap on the hot path) that raise ApiError(400) naming the bad parameter. Each caller then
applies its own policy on top (the simulator needs a model and refuses streaming; `serve` needs a user message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson

from cascade_core.wire.errors import ApiError

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
ResponseFormat = Literal["text", "json_object", "json_schema"]
RESPONSE_FORMATS: tuple[ResponseFormat, ...] = get_args(ResponseFormat)


@dataclass(frozen=True)
class ChatBody:
    """A checked chat request: messages as (role, text) with developer read as system, and the options."""

    model: str | None
    messages: list[dict[str, str]]
    stream: bool
    include_usage: bool
    n: int
    json_mode: bool
    logprobs: bool
    top_logprobs: int
    max_tokens: int | None
    response_format: ResponseFormat = "text"

    @property
    def last_user_text(self) -> str | None:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), None)


def message_text(content: Any, index: int) -> str:
    """A message's text: a string, or the text parts of a content-part list (other parts are skipped)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise ApiError(400, f"messages[{index}].content: each part must be an object with a 'type'",
                               param=f"messages[{index}].content")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise ApiError(400, f"messages[{index}].content: a text part needs a string 'text'",
                                   param=f"messages[{index}].content")
                texts.append(part["text"])
        return "\n".join(texts)
    raise ApiError(400, f"messages[{index}].content: expected a string or a list of content parts, "
                   f"got {type(content).__name__}", param=f"messages[{index}].content")


def _messages(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        raise ApiError(400, "messages: required", param="messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages: expected a non-empty array of messages", param="messages")
    messages: list[dict[str, str]] = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}]: expected an object", param=f"messages[{index}]")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise ApiError(400, f"messages[{index}].role: expected one of {', '.join(ROLES)}",
                           param=f"messages[{index}].role")
        text = message_text(message.get("content"), index)
        messages.append({"role": "system" if role == "developer" else role, "content": text})
    return messages


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, f"{name}: expected a non-negative integer, got {value!r}", param=name)
    return int(value)


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"{name}: expected a boolean", param=name)
    return bool(value)


def _response_format(body: dict[str, Any]) -> ResponseFormat:
    fmt = body.get("response_format")
    if fmt is None:
        return "text"
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    for known in RESPONSE_FORMATS:
        if kind == known:
            return known
    raise ApiError(400, f"response_format: expected {{'type': {' | '.join(map(repr, RESPONSE_FORMATS))}}}",
                   param="response_format")


def parse_chat_body(body: Any) -> ChatBody:
    """Check a decoded request body; raises ApiError(400) naming the bad parameter."""
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    messages = _messages(body.get("messages"))
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "model: expected a string", param="model")
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ApiError(400, "n: expected a positive integer", param="n")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise ApiError(400, "stream_options: expected an object", param="stream_options")
    max_tokens = _optional_int(body, "max_completion_tokens")
    response_format = _response_format(body)
    return ChatBody(
        model=model,
        messages=messages,
        stream=_optional_bool(body, "stream"),
        include_usage=bool((options or {}).get("include_usage")),
        n=n or 1,
        json_mode=response_format != "text",
        logprobs=_optional_bool(body, "logprobs"),
        top_logprobs=_optional_int(body, "top_logprobs") or 0,
        max_tokens=max_tokens if max_tokens is not None else _optional_int(body, "max_tokens"),
        response_format=response_format,
    )


def decode_chat(raw: bytes) -> ChatBody:
    """Decode and check raw request bytes."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ApiError(400, f"request body is not valid JSON: {err}", code="invalid_json") from None
    return parse_chat_body(body)
