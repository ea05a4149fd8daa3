"""Fault injection: per-call random draws of 500s, 429s, bodies that are not chat completions, garbage, the
prompt's placeholder echoed and truncated output (retries can succeed). Deterministic server quirks (logprobs
only with top_logprobs, no usage, one slot) are plain settings read by the server."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import StreamingResponse

from cascade_core.cascade.simulator_config import SimulatorConfig
from cascade_core.simulator.model import Piece, cut

_GARBAGE = (
    "<|eot_id|>assistant\n\n<|start_header_id|> ]]} {{answer confidence ?? ###",
    "I I I I I I I I I I \ufffd\ufffd\ufffd <|reserved_special_token_12|>",
    "Sure! Here's what I think\u2026 the the the }{ )( [[[ %%%",
    "\ufffd\ufffd\x0b\x0c null null null <|end_of_text|><|end_of_text|>",
)


def knob(settings: SimulatorConfig, model: str, name: str) -> float:
    """A fault knob for one model: its per-model override, else the global value."""
    override = settings.faults_by_model.get(model)
    if override is not None and name in override:
        return float(override[name])
    return float(getattr(settings, name))


BadBody = Literal["html", "empty", "cut", "mistyped", "reset", "error"]
BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "html": (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
             b"</body></html>", "text/html"),
    "empty": (b"{}", "application/json"),
    "error": (b'{"error": {"message": "litellm.ServiceUnavailableError: upstream overloaded (simulated)\\nReceived '
              b'Model Group=sim", "type": null, "param": null, "code": "503"}}', "application/json"),
    "cut": (b'{"id": "chatcmpl-sim-cut", "object": "chat.completion", "choices": [{"index": 0, "message": '
            b'{"role": "assistant", "content": "{\"answer\": \"Par', "application/json"),
}


GATEWAY_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
                b"</center>\r\n<hr><center>nginx/1.18.0 (simulated)</center>\r\n</body>\r\n</html>\r\n")


@dataclass(frozen=True)
class Faults:
    """What goes wrong with one call."""

    status: int | None = None  # 429, 500 or 502 instead of a reply
    body: BadBody | None = None  # HTTP 200 with a body that is not a chat completion
    malformed: bool = False
    truncated: bool = False
    placeholder: bool = False  # the answer is the prompt's own placeholder
    judge_flip: bool = False  # a judge reply's verdict turned around (correct <-> incorrect)
    fell_back: bool = False  # the reply says a LiteLLM proxy answered with another model


NO_FAULTS = Faults()
_BODY_KNOBS: tuple[tuple[BadBody, str], ...] = (
    ("html", "html_body_rate"), ("empty", "empty_body_rate"), ("cut", "cut_body_rate"),
    ("mistyped", "mistyped_body_rate"), ("reset", "reset_body_rate"), ("error", "error_body_rate"))
PLACEHOLDER_ANSWER = "<short final answer>"  # what tiny models echo from the self_rated prompt


def _hit(rng: random.Random, rate: float) -> bool:
    return rate > 0 and rng.random() < rate


def draw(settings: SimulatorConfig, model: str, rng: random.Random) -> Faults:
    """Independent draws for this call: rate limit first, then server error, then the output faults."""
    if _hit(rng, knob(settings, model, "rate_limit_rate")):
        return Faults(status=429)
    if _hit(rng, knob(settings, model, "error_rate")):
        return Faults(status=500)
    if _hit(rng, knob(settings, model, "gateway_error_rate")):
        return Faults(status=502)
    for body, name in _BODY_KNOBS:
        if _hit(rng, knob(settings, model, name)):
            return Faults(body=body)
    malformed = _hit(rng, knob(settings, model, "malformed_rate"))
    truncated = _hit(rng, knob(settings, model, "truncate_rate"))
    placeholder = _hit(rng, knob(settings, model, "placeholder_rate"))
    judge_flip = _hit(rng, knob(settings, model, "judge_flip_rate"))
    fell_back = _hit(rng, knob(settings, model, "proxy_fallback_rate"))
    if not (malformed or truncated or placeholder or judge_flip or fell_back):
        return NO_FAULTS
    return Faults(malformed=malformed, truncated=truncated, placeholder=placeholder, judge_flip=judge_flip,
                  fell_back=fell_back)


def fallback_headers(body: dict[str, Any], models: tuple[str, ...]) -> dict[str, str]:
    """LiteLLM's headers and body after a fallback: another model of the ladder answered (the next one up)."""
    asked = body["model"]
    other = models[(models.index(asked) + 1) % len(models)] if asked in models else models[-1]
    body["model"] = other
    return {"x-litellm-attempted-fallbacks": "1", "x-litellm-attempted-retries": "0", "x-litellm-model-group": other}


def garbage(rng: random.Random) -> tuple[Piece, ...]:
    """Output that is neither JSON nor a usable answer."""
    return ((rng.choice(_GARBAGE), -2.5),)


def placeholder(json_mode: bool) -> tuple[Piece, ...]:
    """The prompt's own placeholder, echoed with full confidence."""
    if json_mode:
        return ((f'{{"answer": "{PLACEHOLDER_ANSWER}", "confidence": 5}}', -0.01),)
    return ((PLACEHOLDER_ANSWER, -0.01),)


def flip_verdict(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    """A judge reply with correct and incorrect swapped (a judge that disagrees with the answer key)."""
    swap = {'"verdict": "correct"': '"verdict": "incorrect"', '"verdict": "incorrect"': '"verdict": "correct"'}
    out: list[Piece] = []
    for text, logprob in pieces:
        for old, new in swap.items():
            if old in text:
                text = text.replace(old, new)
                break
        out.append((text, logprob))
    return tuple(out)


def truncate(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    """The output cut to about half its length (always at least one character shorter)."""
    total = sum(len(text) for text, _ in pieces)
    return cut(pieces, max(0, min(total - 1, total // 2)))


def mistype(body: dict[str, Any], rng: random.Random) -> None:
    """Turn a chat completion's message into a wrong type (the reply's text survives only as a string)."""
    choice = body["choices"][0]
    content = choice["message"]["content"]
    match rng.randrange(3):
        case 0:
            choice["message"] = content
        case 1:
            choice["message"]["content"] = len(content)
        case _:
            choice["message"]["content"] = {"text": content}


def garble_fields(body: dict[str, Any]) -> None:
    """Usage counts that are not counts and logprobs as a bare list; the answer itself stays readable."""
    body["usage"] = {"prompt_tokens": -1, "completion_tokens": str(body["usage"]["completion_tokens"])}
    logprobs = body["choices"][0].get("logprobs")
    if logprobs:
        body["choices"][0]["logprobs"] = logprobs["content"]


def content_parts(body: dict[str, Any]) -> None:
    """The message's content as a list of text parts, as some servers and gateways send it."""
    message = body["choices"][0]["message"]
    text, half = message["content"], len(message["content"]) // 2
    message["content"] = [{"type": "text", "text": text[:half]}, {"type": "text", "text": text[half:]}]


DRAFT_ANSWER = "DRAFT-0"  # the wrong first guess inside a simulated reasoning block


def add_reasoning(body: dict[str, Any], where: str, json_mode: bool) -> None:
    """A reasoning model's thinking, with a confident wrong draft, put where `where` says (see SimulatorConfig)."""
    choice = body["choices"][0]
    message = choice["message"]
    guess = f'{{"answer": "{DRAFT_ANSWER}", "confidence": 5}}' if json_mode else DRAFT_ANSWER
    draft = f"Let me think. A first guess: {guess}. Checking it again, step by step."
    if where == "inline":
        block = f"<think>{draft}</think>\n"
        message["content"] = block + message["content"]
        if choice.get("logprobs"):  # the reasoning's tokens, unsure: a signal that counts them is misled
            choice["logprobs"]["content"].insert(0, {"token": block, "logprob": -5.0, "bytes": [], "top_logprobs": []})
    elif where == "field":
        message["reasoning_content"] = draft
    elif where == "field_only":
        message["reasoning_content"] = f"{draft} {message['content']}"
        message["content"] = ""


CUT_BODY = "Response content shorter than Content-Length"  # what uvicorn raises when a body ends early


class QuietCutBodies(logging.Filter):
    """Keeps uvicorn from logging a traceback for each body the reset knob cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, RuntimeError) and str(error) == CUT_BODY)


def sent_in_pieces(body: dict[str, Any], headers: dict[str, str] | None, pause_ms: float, *, cut: bool
                   ) -> StreamingResponse:
    """The reply with its full content-length announced, its body sent in 8 pieces `pause_ms` apart (a trickling
    gateway), or (`cut`) only the first 4 before the connection is dropped."""
    data = json.dumps(body).encode()
    pieces = [data[i * len(data) // 8:(i + 1) * len(data) // 8] for i in range(8)]

    async def send() -> AsyncIterator[bytes]:
        for index, piece in enumerate(pieces):
            if cut and index == 4:
                return  # fewer bytes than announced: the server closes the connection
            if index and pause_ms:
                await asyncio.sleep(pause_ms / 1000)
            yield piece

    return StreamingResponse(send(), media_type="application/json",
                             headers={**(headers or {}), "content-length": str(len(data))})
