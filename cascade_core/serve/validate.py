"""What the cascade endpoint needs from a /v1/chat/completions body (parsed by cascade_core.wire.chat)."""

from __future__ import annotations

from dataclasses import dataclass

from cascade_core.wire.chat import decode_chat
from cascade_core.wire.errors import ApiError

MAX_BODY_BYTES = 1_000_000  # the default ServeSettings.max_body_bytes


@dataclass(frozen=True)
class CascadeRequest:
    """What the cascade needs from a chat request: the question (last user message) and how to answer."""

    question: str
    model: str | None
    stream: bool
    include_usage: bool
    n_messages: int


def parse_chat_request(raw: bytes) -> CascadeRequest:
    """Parse and validate a request body; raise ApiError (400) on anything malformed.

    The size limit is not checked here: read_body enforces the configured ServeSettings.max_body_bytes (413).
    """
    chat = decode_chat(raw)
    if chat.n != 1:
        raise ApiError(400, "n: only n=1 is supported by the cascade endpoint", param="n")
    question = chat.last_user_text
    if question is None:
        raise ApiError(400, "messages: at least one message with role 'user' is required", param="messages")
    if not question.strip():
        raise ApiError(400, "messages: the last user message has no text", param="messages")
    return CascadeRequest(question=question, model=chat.model, stream=chat.stream, include_usage=chat.include_usage,
                       n_messages=len(chat.messages))
