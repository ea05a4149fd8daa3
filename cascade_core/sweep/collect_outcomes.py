"""From collected calls to the outcome table, and the cascade runs those calls imply (replayed, not re-called)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.grading import grade
from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions, Signal
from cascade_core.cascade.walk import Cascade, needs_verify, read_confidence, verified_confidence
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


Request = tuple[list[dict[str, str]], dict[str, Any], RequestOptions]


def answer_request(client: TierClient, question: str, signal: Signal) -> Request:
    """Messages, request parameters and options of a tier's answer call, exactly as the cascade sends them."""
    messages = signal.messages(question)
    return messages, client.request_params(messages, signal.options), signal.options


def verify_request(client: TierClient, question: str, answer: str, signal: Signal) -> Request:
    """The verify call of `answer` under `signal` (which must have a verify rule)."""
    if signal.verify is None:
        raise ValueError(f"signal {signal.name!r} has no verify rule")
    messages = signal.verify.messages(question, answer)
    return messages, client.request_params(messages, signal.verify.options), signal.verify.options


def cell_confidence(signal: Signal, call: TierCall, verify: TierCall | None) -> Confidence:
    confidence = read_confidence(signal, call)
    if verify is not None and confidence.answer is not None:
        return verified_confidence(signal, call, verify, confidence.answer)
    return confidence


__all__ = ["Cell", "answer_request", "cell_confidence", "needs_verify", "verify_request"]


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def cell_row(cell: Cell, tier_name: str) -> dict[str, Any]:
    """One outcome-table row. A failed call has no answer and counts as wrong (as in a live run)."""
    call, verify, conf = cell.call, cell.verify, cell.confidence
    answer = (conf.answer or call.answer_text.strip() or None) if call.ok else None
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
        "queue_ms": sum(c.queue_ms for c in calls),  # waiting for a free slot at the endpoint, not the model
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

    def call(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        params = self._client.request_params(messages, options)
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
        trace.meta.update({"sweep_key": sweep_key, "replayed_from_cache": True})
        traces.append(trace)
    return traces
