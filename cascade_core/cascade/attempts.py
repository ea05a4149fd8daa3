"""One tier call's attempts: what each cost and how it went, the backoff between them, and the TierCall record
built from them.

An attempt that may have been billed upstream without giving anything usable (a timeout, a cut-off body) is
charged at an estimate: the prompt's tokens, plus max_tokens as the upper bound of the reply, at the tier's
prices; that part of the cost is `estimated_cost`.
"""

from __future__ import annotations

import math
import random
from typing import Any

from cascade_core.cascade.endpoint_errors import Failure, redact
from cascade_core.cascade.labels import SIMULATED_FINGERPRINT
from cascade_core.cascade.pricing import call_cost, price_table_cost
from cascade_core.cascade.tier_config import RetryConfig, TierConfig
from cascade_core.records import TierCall
from cascade_core.wire.completion import Completion


def requests_left(headers: Any) -> int | None:
    """x-ratelimit-remaining-requests, where an endpoint sends it (OpenAI, Together, many gateways)."""
    try:
        value = headers.get("x-ratelimit-remaining-requests")
        return None if value is None else max(0, int(float(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def proxy_fallback(headers: Any, response: Any) -> str | None:
    """The model a proxy answered with after falling back from the one asked for, or None. LiteLLM says so in
    x-litellm-attempted-fallbacks (its fallback's model group in x-litellm-model-group, the model in the body)."""
    try:
        fallbacks = int(headers.get("x-litellm-attempted-fallbacks") or 0)
    except (TypeError, ValueError, AttributeError):
        return None
    if fallbacks < 1:
        return None
    model = getattr(response, "model", None)
    group = headers.get("x-litellm-model-group")
    named = [str(n) for n in dict.fromkeys((group, model)) if isinstance(n, str) and n]
    return " / ".join(named) or "another model"


def proxy_cost(headers: Any) -> float | None:
    """The cost a LiteLLM proxy booked for the call (x-litellm-response-cost), when it is a positive number.
    0 is left out: LiteLLM sends it for models missing from its price map, which would make the call free."""
    try:
        value = float(headers.get("x-litellm-response-cost"))
    except (TypeError, ValueError, AttributeError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def prompt_tokens_estimate(messages: list[dict[str, str]]) -> int:
    """About four characters a token, for endpoints that send no usage and for lost attempts."""
    return sum(len(m.get("content") or "") for m in messages) // 4


class Attempts:
    """What the attempts of one call so far cost and how they went."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.lost = self.lost_in = self.lost_out = 0

    def failed(self, failure: Failure, latency_ms: float, tokens_in: int, max_tokens: int) -> None:
        entry: dict[str, Any] = {"n": len(self.log) + 1, "outcome": "error", "kind": failure.kind,
                                 "latency_ms": round(latency_ms, 3), "billed_estimate": failure.billed}
        self.log.append(entry)
        if failure.billed:
            self.lost += 1
            self.lost_in += tokens_in
            self.lost_out += max_tokens

    def succeeded(self, latency_ms: float) -> None:
        self.log.append({"n": len(self.log) + 1, "outcome": "ok", "kind": None, "latency_ms": round(latency_ms, 3),
                         "billed_estimate": False})


def backoff_delay(attempt: int, retry: RetryConfig, retry_after: float | None, rng: random.Random) -> float:
    """Full-jitter exponential backoff, never shorter than the server's Retry-After (capped)."""
    delay = rng.uniform(0, min(retry.backoff_max, retry.backoff_base * 2**attempt))
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry.retry_after_max))
    return delay


def completed_call(tier: TierConfig, messages: list[dict[str, str]], response: Any, completion: Completion,
                   latency_ms: float, attempts: Attempts, headers: Any = None) -> TierCall:
    """The record of a call that got a chat completion, charged for it and for any lost attempts before it."""
    tokens_in, tokens_out = completion.tokens or (0, 0)
    booked = proxy_cost(headers) if headers is not None else None
    cost, source = call_cost(tier, tokens_in, tokens_out, completion.usage_cost, booked)
    estimated = 0.0
    if completion.tokens is None or (tokens_in == 0 and tokens_out == 0 and completion.usage_cost is None):
        # No usage from the endpoint (or none readable): the call still cost something; ~4 characters a token
        # (the tokens shown; the cost too, unless a proxy booked one).
        tokens_in = prompt_tokens_estimate(messages)
        tokens_out = len(completion.text) // 4
        if booked is None:
            cost, source = price_table_cost(tier, tokens_in, tokens_out), "estimated"
            estimated = cost
    lost = price_table_cost(tier, attempts.lost_in, attempts.lost_out)
    return TierCall(
        tier_name=tier.name,
        model=tier.model,
        messages=messages,
        raw_output=completion.text,
        finish_reason=completion.finish_reason,  # as sent: None stays None, never an invented "stop"
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost + lost,
        cost_source=source,
        latency_ms=latency_ms,
        attempts=len(attempts.log),
        logprobs=completion.logprobs,
        simulated=getattr(response, "system_fingerprint", None) == SIMULATED_FINGERPRINT,
        lost_attempts=attempts.lost,
        lost_tokens_in=attempts.lost_in,
        lost_tokens_out=attempts.lost_out,
        estimated_cost=estimated + lost,
        attempt_log=tuple(attempts.log),
        ratelimit_remaining=requests_left(headers) if headers is not None else None,
        served_by=proxy_fallback(headers, response) if headers is not None else None,
    )

def failed_call(tier: TierConfig, messages: list[dict[str, str]], failure: Failure, latency_ms: float,
                attempts: Attempts) -> TierCall:
    """The record of a call that failed for good: the error named and redacted, lost attempts charged."""
    key = tier.api_key()
    message = redact(failure.message, [key])  # some gateways echo the request's key in their error body
    if failure.kind == "auth" and tier.api_key_env and not key:
        message += f" (the key variable ${tier.api_key_env} is not set)"
    lost = price_table_cost(tier, attempts.lost_in, attempts.lost_out)
    return TierCall(
        tier_name=tier.name,
        model=tier.model,
        messages=messages,
        latency_ms=latency_ms,
        attempts=len(attempts.log),
        error=message,
        error_kind=failure.kind,
        simulated=tier.is_embedded,
        cost=lost,
        cost_source="estimated" if lost > 0 else "none",
        lost_attempts=attempts.lost,
        lost_tokens_in=attempts.lost_in,
        lost_tokens_out=attempts.lost_out,
        estimated_cost=lost,
        attempt_log=tuple(attempts.log),
    )
