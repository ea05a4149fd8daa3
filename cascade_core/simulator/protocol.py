"""The OpenAI wire format: checks a chat-completions request body and shapes replies and error bodies."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from cascade_core.cascade.labels import SIMULATED_FINGERPRINT
from cascade_core.simulator.model import Piece

FINGERPRINT = SIMULATED_FINGERPRINT
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_FORMATS = {"text", "json_object", "json_schema"}


class ApiError(Exception):
    """A request problem that becomes an OpenAI-style error response."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code


def error_response(err: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}}
    return JSONResponse(body, status_code=err.status, headers=headers)


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, str]]
    json_mode: bool
    logprobs: bool
    top_logprobs: int
    max_tokens: int | None


def _text(content: Any, index: int) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):  # content parts: keep the text ones
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)  # type: ignore[arg-type]
    raise ApiError(400, f"messages[{index}].content: expected a string or text parts", param=f"messages[{index}]")


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages: expected a non-empty array of messages", param="messages")
    messages: list[dict[str, str]] = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise ApiError(400, f"messages[{index}]: expected an object with a valid role", param=f"messages[{index}]")
        role = "system" if message["role"] == "developer" else message["role"]
        messages.append({"role": role, "content": _text(message.get("content"), index)})
    return messages


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, f"{name}: expected a non-negative integer, got {value!r}", param=name)
    return int(value)


def parse_chat(body: Any) -> ChatRequest:
    """Check a /v1/chat/completions body; raises ApiError(400) naming the bad parameter."""
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object as the request body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model: expected a model name", param="model")
    messages = _messages(body.get("messages"))
    if body.get("stream"):
        raise ApiError(400, "stream: streaming is not supported by the simulator", param="stream")
    if body.get("n") not in (None, 1):
        raise ApiError(400, "n: only n=1 is supported by the simulator", param="n")
    fmt = body.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") not in _FORMATS):
        raise ApiError(400, "response_format: expected {'type': 'text' | 'json_object' | 'json_schema'}",
                       param="response_format")
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise ApiError(400, "logprobs: expected a boolean", param="logprobs")
    max_tokens = _optional_int(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _optional_int(body, "max_tokens")
    return ChatRequest(
        model=model,
        messages=messages,
        json_mode=fmt is not None and fmt.get("type") != "text",
        logprobs=bool(logprobs),
        top_logprobs=_optional_int(body, "top_logprobs") or 0,
        max_tokens=max_tokens,
    )


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
