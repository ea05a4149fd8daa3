"""From collected calls to the outcome table, and the cascade runs those calls imply (replayed, not re-called)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.confidence import parse_verify
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.grading import grade
from cascade_core.cascade.prompts import answer_messages, verify_messages
from cascade_core.cascade.walk import VERIFY_OPTIONS, Cascade, answer_options, read_confidence
from cascade_core.datasets.loader import Item
from cascade_core.records import Confidence, TierCall, Trace
from cascade_core.sweep.call_cache import request_hash
from cascade_core.sweep.outcomes import validate_outcomes


@dataclass(frozen=True)
class Cell:
    """One (item, tier) of a sweep: its answer call and, under the verify signal, its verify call."""

    item: Item
    tier_index: int
    call: TierCall
    verify: TierCall | None
    confidence: Confidence


def answer_request(client: TierClient, question: str, signal: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Messages and request parameters of a tier's answer call, exactly as the cascade sends them."""
    messages = answer_messages(question, signal)
    return messages, client.request_params(messages, **answer_options(signal))


def verify_request(client: TierClient, question: str, answer: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    messages = verify_messages(question, answer)
    return messages, client.request_params(messages, **VERIFY_OPTIONS)


def needs_verify(signal: str, call: TierCall, confidence: Confidence, *, last: bool) -> bool:
    """Whether this answer gets a verify call: under the verify signal, for every tier but the last.

    The last tier always answers, so its confidence is never used: asking it to verify would be paid for and
    wasted. Its confidence stays missing (NaN) under verify, and always-<last tier> costs the answer call alone.
    """
    return signal == "verify" and not last and call.ok and confidence.answer is not None


def cell_confidence(signal: str, call: TierCall, verify: TierCall | None) -> Confidence:
    confidence = read_confidence(signal, call)
    if verify is not None and confidence.answer is not None:
        return parse_verify(verify, confidence.answer)
    return confidence


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def cell_row(cell: Cell, tier_name: str) -> dict[str, Any]:
    """One outcome-table row. A failed call has no answer and counts as wrong (as in a live run)."""
    call, verify, conf = cell.call, cell.verify, cell.confidence
    answer = (conf.answer or call.raw_output.strip() or None) if call.ok else None
    calls = [c for c in (call, verify) if c is not None]
    return {
        "item_id": cell.item.id,
        "tier": tier_name,
        "tier_index": cell.tier_index,
        "answer": answer,
        "correct": grade(answer, cell.item.gold, cell.item.answer_type) if answer is not None else False,
        "confidence": _num(conf.normalised),
        "confidence_raw": _num(conf.raw),
        "tokens_in": sum(c.tokens_in for c in calls),
        "tokens_out": sum(c.tokens_out for c in calls),
        "cost": sum(c.cost for c in calls),
        "latency_ms": sum(c.latency_ms for c in calls),
        "category": cell.item.category,
        "split": None,
        "error": next((c.error for c in calls if c.error), None),
        "parse_error": conf.parse_error,
        "simulated": call.simulated,
    }


def outcome_frame(cells: Sequence[Cell], tier_names: Sequence[str]) -> pd.DataFrame:
    """The validated outcome table of these cells (item-major, tiers in order)."""
    rows = [cell_row(c, tier_names[c.tier_index]) for c in cells]
    if not rows:
        return pd.DataFrame(columns=["item_id", "tier", "tier_index", "correct", "cost"])
    return validate_outcomes(pd.DataFrame(rows))


class ReplayClient:
    """Stands in for a TierClient inside `Cascade.run`: answers from collected calls, never from the network."""

    def __init__(self, client: TierClient, endpoint: str, calls: Mapping[str, TierCall]) -> None:
        self._client = client
        self._endpoint = endpoint
        self._calls = calls
        self.base_url = client.base_url
        self.tier = client.tier

    def call(self, messages: list[dict[str, str]], *, json_mode: bool = False, logprobs: bool = False) -> TierCall:
        params = self._client.request_params(messages, json_mode=json_mode, logprobs=logprobs)
        return self._calls[request_hash(self._endpoint, params)]


def replay_traces(config: CascadeConfig, clients: Sequence[TierClient], endpoints: Sequence[str],
                  calls: Mapping[str, TierCall], items: Sequence[Item], dataset: str,
                  sweep_key: str) -> list[Trace]:
    """The run each item would have had at the config's thresholds, built from the collected calls.

    Every tier the cascade would have invoked is charged, exactly as `Cascade.run` charges a live run.
    """
    replay = [ReplayClient(c, e, calls) for c, e in zip(clients, endpoints, strict=True)]
    cascade = Cascade(config, replay)  # type: ignore[arg-type]  # duck-typed clients
    traces = []
    for item in items:
        trace = cascade.run(item.question, item=item, source="sweep", dataset=dataset)
        trace.meta = {"sweep_key": sweep_key, "replayed_from_cache": True}
        traces.append(trace)
    return traces
