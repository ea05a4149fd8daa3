"""Validation of /v1/chat/completions bodies: hand-written (cheap on the hot path), OpenAI-style 4xx errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from cascade_core.serve.errors import ApiError

MAX_BODY_BYTES = 1_000_000  # the default ServeSettings.max_body_bytes
ROLES = ("system", "developer", "user", "assistant", "tool", "function")


@dataclass(frozen=True)
class ChatRequest:
    """What the cascade needs from a chat request: the question (last user message) and how to answer."""

    question: str
    model: str | None
    stream: bool
    include_usage: bool
    n_messages: int


def _text_of(content: Any, index: int) -> str:
    """A message's text: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
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
    if content is None:
        return ""
    raise ApiError(400, f"messages[{index}].content: expected a string or a list of content parts, "
                   f"got {type(content).__name__}", param=f"messages[{index}].content")


def _check_types(body: dict[str, Any]) -> None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "model: expected a string", param="model")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, "stream: expected a boolean", param="stream")
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n != 1):
        raise ApiError(400, "n: only n=1 is supported by the cascade endpoint", param="n")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise ApiError(400, "stream_options: expected an object", param="stream_options")


def parse_chat_request(raw: bytes) -> ChatRequest:
    """Parse and validate a request body; raise ApiError (400) on anything malformed.

    The size limit is not checked here: read_body enforces the configured ServeSettings.max_body_bytes (413).
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ApiError(400, f"request body is not valid JSON: {err}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "messages: required", param="messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages: expected a non-empty array of messages", param="messages")
    _check_types(body)
    question: str | None = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}]: expected an object", param=f"messages[{index}]")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise ApiError(400, f"messages[{index}].role: expected one of {', '.join(ROLES)}",
                           param=f"messages[{index}].role")
        text = _text_of(message.get("content"), index)
        if role == "user":
            question = text
    if question is None:
        raise ApiError(400, "messages: at least one message with role 'user' is required", param="messages")
    if not question.strip():
        raise ApiError(400, "messages: the last user message has no text", param="messages")
    options = body.get("stream_options") or {}
    return ChatRequest(
        question=question,
        model=body.get("model"),
        stream=bool(body.get("stream")),
        include_usage=bool(options.get("include_usage")),
        n_messages=len(messages),
    )
