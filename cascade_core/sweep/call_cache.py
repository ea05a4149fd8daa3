"""The response cache of live collection: request hashes and TierCall <-> cache-row conversion.

A request is identified by a sha256 of canonical JSON (sorted keys, no whitespace) of the endpoint and every
request parameter (model, messages, max_tokens, temperature, response_format, logprobs). API keys and
timeouts are never part of it. For embedded tiers the endpoint is not the loopback URL (its port changes on
every start) but `embedded:` plus a hash of the simulator settings that change answers.

Prices are not part of a request: a cached call whose cost came from tokens (the price table, an estimate for a
reply without usage, lost attempts) is repriced at the tier's current prices when it is reused (`repriced`), so
editing a price never leaves old costs in cached cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cascade_core.cascade.config import CascadeConfig, TierConfig
from cascade_core.cascade.pricing import price_table_cost
from cascade_core.clock import utc_now
from cascade_core.records import TierCall, as_cost_source


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(endpoint: str, params: dict[str, Any]) -> str:
    """Stable sha256 of the endpoint and the request parameters."""
    return hashlib.sha256(canonical_json({"endpoint": endpoint, "params": params}).encode()).hexdigest()


def safe_endpoint(url: str) -> str:
    """The URL without userinfo (user:token@), query string or fragment: a key in a URL never reaches the store."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:  # not a parseable URL: keep only what precedes any query, minus any userinfo
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]


def cache_endpoint(config: CascadeConfig, tier: TierConfig, base_url: str) -> str:
    """The endpoint identity used in request hashes (stable across restarts of the embedded simulator).

    Credentials in the URL (user:token@, ?api_key=...) are stripped: the identity is hashed and stored."""
    if not tier.is_embedded:
        return safe_endpoint(base_url)
    settings = config.simulator.answer_settings()  # latency and queueing change timing, not answers
    return "embedded:" + hashlib.sha256(canonical_json(settings).encode()).hexdigest()[:12]


def call_to_row(call: TierCall, *, request_hash: str, endpoint: str, kind: str, item_id: str | None,
                dataset: str | None) -> dict[str, Any]:
    """A call_cache row. Holds no messages and no key: the hash stands for the request."""
    return {
        "request_hash": request_hash,
        "endpoint": safe_endpoint(endpoint),
        "model": call.model,
        "tier_name": call.tier_name,
        "item_id": item_id,
        "dataset": dataset,
        "kind": kind,
        "raw_output": call.raw_output,
        "finish_reason": call.finish_reason,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "cost": call.cost,
        "cost_source": call.cost_source,
        "latency_ms": call.latency_ms,
        "attempts": call.attempts,
        "logprobs": json.dumps(call.logprobs) if call.logprobs is not None else None,
        "simulated": call.simulated,
        "error": call.error,
        "error_kind": call.error_kind,
        "created_at": utc_now(),
        "lost_attempts": call.lost_attempts,
        "lost_tokens_in": call.lost_tokens_in,
        "lost_tokens_out": call.lost_tokens_out,
        "estimated_cost": call.estimated_cost,
    }


def _opt(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def row_to_call(row: dict[str, Any], messages: list[dict[str, str]]) -> TierCall:
    """Rebuild the TierCall of a cached response (messages come from the request that hashed to it)."""
    logprobs = _opt(row.get("logprobs"))
    return TierCall(
        tier_name=str(row["tier_name"]),
        model=str(row["model"]),
        messages=messages,
        raw_output=_opt(row["raw_output"]) or "",
        finish_reason=_opt(row["finish_reason"]),
        tokens_in=int(row["tokens_in"]),
        tokens_out=int(row["tokens_out"]),
        cost=float(row["cost"]),
        cost_source=as_cost_source(row["cost_source"]),
        latency_ms=float(row["latency_ms"]),
        attempts=int(row["attempts"]),
        error=_opt(row.get("error")),
        error_kind=_opt(row.get("error_kind")),
        logprobs=[(str(t), float(lp)) for t, lp in json.loads(logprobs)] if logprobs else None,
        simulated=bool(row["simulated"]),
        lost_attempts=int(_opt(row.get("lost_attempts")) or 0),
        lost_tokens_in=int(_opt(row.get("lost_tokens_in")) or 0),
        lost_tokens_out=int(_opt(row.get("lost_tokens_out")) or 0),
        estimated_cost=float(_opt(row.get("estimated_cost")) or 0.0),
    )


def repriced(call: TierCall, tier: TierConfig) -> TierCall:
    """A cached call priced as it would be today. Whatever was computed from tokens is recomputed at `tier`'s
    current prices: a price-table cost, a cost estimated because the endpoint sent no usage, and the estimate for
    lost attempts (timed out, cut off). A billed `usage.cost` is kept as stored."""
    lost = price_table_cost(tier, call.lost_tokens_in, call.lost_tokens_out)
    if call.cost_source in ("price_table", "estimated"):
        answer = price_table_cost(tier, call.tokens_in, call.tokens_out)
    else:  # a billed usage.cost, or nothing (a failed call): the stored cost minus its lost-attempt estimate
        answer = max(0.0, call.cost - call.estimated_cost)
    estimated = lost + (answer if call.cost_source == "estimated" else 0.0)
    cost = answer + lost
    if cost == call.cost and estimated == call.estimated_cost:
        return call
    return dataclasses.replace(call, cost=cost, estimated_cost=estimated)

