"""Structured model output: the reply shapes as pydantic models, the `response_format` each server is asked
for, and the one JSON-finding parser that the confidence signals and the audit judge share.

Servers differ: OpenAI, vLLM, llama.cpp and NIM take `{"type": "json_schema", ...}` (constrained decoding: the
reply is valid JSON of that shape, unless cut off by max_tokens); some only take `{"type": "json_object"}`;
some refuse both. A tier client asks for the schema first and steps down a level, remembering it, when the
endpoint refuses the request for its `response_format` (see `refuses_format`).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FormatLevel = Literal["json_schema", "json_object", "none"]
FORMAT_LEVELS: tuple[FormatLevel, ...] = ("json_schema", "json_object", "none")
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_REFUSAL = re.compile(r"response_format|json_schema|json_object|structured output|guided|grammar|schema",
                      re.IGNORECASE)


class SelfRatedReply(BaseModel):
    """The self_rated signal's reply."""

    model_config = ConfigDict(extra="forbid", title="self_rated_answer")
    answer: str = Field(description="the short final answer")
    confidence: int = Field(ge=1, le=5, description="1 (a guess) to 5 (certain)")


class JudgeVerdictReply(BaseModel):
    """The audit judge's reply."""

    model_config = ConfigDict(extra="forbid", title="judge_verdict")
    verdict: Literal["correct", "incorrect", "unsure"]
    rationale: str = Field(description="one or two sentences")


def response_format(level: FormatLevel, schema: type[BaseModel] | None) -> dict[str, Any] | None:
    """The request's `response_format` at `level` (None: ask in the prompt alone)."""
    if level == "json_schema" and schema is not None:
        name = str(schema.model_config.get("title") or schema.__name__)
        return {"type": "json_schema", "json_schema": {"name": name, "schema": _json_schema(schema),
                                                       "strict": True}}
    if level in ("json_schema", "json_object"):
        return {"type": "json_object"}
    return None


@functools.cache
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The reply shape's JSON schema, built once: pydantic rebuilds it on every call (~0.3 ms, 3 per run)."""
    return schema.model_json_schema()


def next_level(level: FormatLevel, schema: type[BaseModel] | None) -> FormatLevel:
    """The level below `level` (json_schema without a schema is already json_object)."""
    if level == "json_schema" and schema is not None:
        return "json_object"
    return "none"


def refuses_format(err: Exception) -> bool:
    """An HTTP 400/422 whose message is about the response format (how servers say they do not support it)."""
    status = getattr(err, "status_code", None)
    return status in (400, 422) and bool(_REFUSAL.search(str(getattr(err, "message", "")) or str(err)))


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level {...} in text that parses as a JSON object, in order."""
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        index = text.find("{", end)
    return found


def json_candidates(text: str, key: str, *, fenced_first: bool) -> list[dict[str, Any]]:
    """The JSON objects in a model's reply that have `key` (keys lower-cased), whether the reply is the bare
    object (what a schema-constrained server sends), fenced in ``` blocks, or inside prose, in text order.
    `fenced_first`: objects inside ``` fences are listed first (then every object again in text order)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:  # the common case under json_schema / json_object: the whole reply is the object
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict):
            lowered = {str(k).strip().lower(): v for k, v in whole.items()}
            if key in lowered:
                return [lowered]
    fenced = [obj for block in _FENCE.findall(text) for obj in json_objects(block)] if fenced_first else []
    ordered = fenced + json_objects(text)
    lowered_all = ({str(k).strip().lower(): v for k, v in obj.items()} for obj in ordered)
    return [obj for obj in lowered_all if key in obj]
