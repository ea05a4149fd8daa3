"""Chat completion bodies, stream chunks and X-Cascade-* headers built from a finished Trace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson

from cascade_core.records import Trace


def cascade_extension(trace: Trace) -> dict[str, Any]:
    """The `cascade` field added to every completion: which tier answered, how sure, and what it cost."""
    return {
        "run_id": trace.run_id,
        "tier": trace.final_tier,
        "tier_index": trace.final_tier_index,
        "confidence": trace.final_confidence,
        "cost_usd": trace.total_cost,
        "always_large_cost_usd": trace.always_large_cost,
        "always_large_estimated": trace.always_large_estimated,
        "escalations": trace.escalations,
        "tiers_called": [s.tier_name for s in trace.steps],
        "simulated": trace.simulated,
        "route": trace.route,
        "route_similarity": trace.route_similarity,
        "fallback": trace.fallback,  # set when the best earlier answer was served because the last tier failed
        "abstained": "abstained" in trace.meta,  # the last tier's confidence was below abstain_below
    }


def cascade_headers(trace: Trace) -> dict[str, str]:
    confidence = "" if trace.final_confidence is None else f"{trace.final_confidence:.4f}"
    return {
        "X-Cascade-Run-Id": trace.run_id,
        "X-Cascade-Tier": trace.final_tier or "",
        "X-Cascade-Confidence": confidence,
        "X-Cascade-Cost": f"{trace.total_cost:.10f}",
        "X-Cascade-Escalations": str(trace.escalations),
        "X-Cascade-Simulated": "true" if trace.simulated else "false",
        "X-Cascade-Route": trace.route or "",
        **({"X-Cascade-Fallback": "true"} if trace.fallback else {}),
        **({"X-Cascade-Abstained": "true"} if "abstained" in trace.meta else {}),
    }


def _usage(trace: Trace) -> dict[str, int]:
    return {"prompt_tokens": trace.tokens_in, "completion_tokens": trace.tokens_out,
            "total_tokens": trace.tokens_in + trace.tokens_out}


def _finish_reason(trace: Trace) -> str | None:
    """The answering call's finish_reason as its endpoint sent it: never an invented "stop"."""
    return trace.final_finish_reason


def completion_body(trace: Trace, model: str) -> bytes:
    body = {
        "id": f"chatcmpl-{trace.run_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": trace.final_answer or ""},
            "logprobs": None,
            "finish_reason": _finish_reason(trace),
        }],
        "usage": _usage(trace),
        "system_fingerprint": f"cascade-{trace.config_fingerprint}",
        "cascade": cascade_extension(trace),
    }
    return orjson.dumps(body)


def _pieces(text: str, size: int = 64) -> Iterator[str]:
    """Split the answer into chunks of about `size` characters, at spaces where possible."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + 1, end)
            end = space + 1 if space > start else end
        yield text[start:end]
        start = end


def stream_events(trace: Trace, model: str, include_usage: bool) -> list[bytes]:
    """Every SSE event of a streamed answer, in OpenAI's chunk format, ending with `data: [DONE]`."""
    base = {"id": f"chatcmpl-{trace.run_id}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "system_fingerprint": f"cascade-{trace.config_fingerprint}"}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + orjson.dumps({**base, "choices": choices, **extra}) + b"\n\n"

    events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                      "finish_reason": None}])]
    for piece in _pieces(trace.final_answer or ""):
        events.append(event([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}]))
    events.append(event([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": _finish_reason(trace)}],
                        cascade=cascade_extension(trace)))
    if include_usage:
        events.append(event([], usage=_usage(trace)))
    events.append(b"data: [DONE]\n\n")
    return events
