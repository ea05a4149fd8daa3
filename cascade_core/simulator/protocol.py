"""The simulator's side of the OpenAI wire format: its request limits and its chat.completion bodies."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from cascade_core.cascade.labels import SIMULATED_FINGERPRINT
from cascade_core.simulator.model import Piece
from cascade_core.wire.chat import ResponseFormat, parse_chat_body
from cascade_core.wire.errors import ApiError

FINGERPRINT = SIMULATED_FINGERPRINT


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, str]]
    json_mode: bool
    logprobs: bool
    top_logprobs: int
    max_tokens: int | None
    response_format: ResponseFormat = "text"


def parse_chat(body: Any) -> ChatRequest:
    """Check a /v1/chat/completions body (cascade_core.wire.chat) plus the simulator's own limits."""
    chat = parse_chat_body(body)
    if not chat.model:
        raise ApiError(400, "model: expected a model name", param="model")
    if chat.stream:
        raise ApiError(400, "stream: streaming is not supported by the simulator", param="stream")
    if chat.n != 1:
        raise ApiError(400, "n: only n=1 is supported by the simulator", param="n")
    return ChatRequest(model=chat.model, messages=chat.messages, json_mode=chat.json_mode, logprobs=chat.logprobs,
                       top_logprobs=chat.top_logprobs, max_tokens=chat.max_tokens,
                       response_format=chat.response_format)


def _logprobs(pieces: tuple[Piece, ...], top: int) -> dict[str, Any]:
    content = []
    for token, logprob in pieces:
        entry = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
        entry["top_logprobs"] = [dict(entry)] if top else []
        content.append(entry)
    return {"content": content, "refusal": None}


def completion_body(request: ChatRequest, content: str, pieces: tuple[Piece, ...], finish_reason: str,
                    prompt_tokens: int, completion_tokens: int, cost: float | None) -> dict[str, Any]:
    """An OpenAI chat.completion object."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}
    if cost is not None:
        usage["cost"] = cost
    return {
        "id": f"chatcmpl-sim-{secrets.token_hex(8)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": _logprobs(pieces, request.top_logprobs) if request.logprobs else None,
            "finish_reason": finish_reason,
        }],
        "usage": usage,
    }
