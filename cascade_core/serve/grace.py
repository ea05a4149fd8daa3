"""How long one request can take at worst, so `serve` can say whether its graceful timeout covers it.

A request walks every tier at worst; each tier makes one answer call (two under a verify signal, except the last
tier, which never verifies); each call makes up to 1 + max_retries attempts of up to the tier's timeout, with a
wait between attempts of at most max(backoff_max, retry_after_max) (a 429's Retry-After is honoured up to
retry_after_max). Semantic routing's embedding call is not counted (it is bounded by its own short timeout).
"""

from __future__ import annotations

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.signals.registry import get_signal


def worst_case_seconds(config: CascadeConfig) -> float:
    """The longest one request can run before the cascade gives up (every tier failing slowly)."""
    retry = config.retry
    verify = get_signal(config.signal).verify is not None
    wait = max(retry.backoff_max, retry.retry_after_max)
    total = 0.0
    for index, tier in enumerate(config.tiers):
        calls = 2 if verify and index < len(config.tiers) - 1 else 1
        per_call = (retry.max_retries + 1) * tier.timeout + retry.max_retries * wait
        total += calls * per_call
    return total


def grace_note(config: CascadeConfig, grace: float) -> str:
    """One line for the startup banner: whether `grace` covers one request's worst case."""
    worst = worst_case_seconds(config)
    if grace >= worst:
        return f"graceful shutdown: {grace:g} s, covers one request's worst case ({worst:g} s)"
    return (f"graceful shutdown: {grace:g} s does NOT cover one request's worst case here ({worst:g} s: "
            f"{len(config.tiers)} tiers, {config.retry.max_retries + 1} attempts of up to "
            f"{max(t.timeout for t in config.tiers):g} s each, waits up to "
            f"{max(config.retry.backoff_max, config.retry.retry_after_max):g} s); a request still running then is "
            "cancelled, logged as cancelled with every call it paid for, and answered 503 server_shutting_down. "
            f"Pass --graceful-timeout {worst:g} to wait it out.")
