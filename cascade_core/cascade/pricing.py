"""The one place that computes what a call cost."""

from __future__ import annotations

from typing import Any

from cascade_core.cascade.tier_config import TierConfig
from cascade_core.records import CostSource


def per_million(tokens_in: int, tokens_out: int, input_price: float, output_price: float) -> float:
    """USD for a call at prices given per million tokens (the one formula; the simulator's usage.cost uses it)."""
    return (tokens_in * input_price + tokens_out * output_price) / 1_000_000


def price_table_cost(tier: TierConfig, tokens_in: int, tokens_out: int) -> float:
    """Tokens times the tier's list price (USD per million tokens)."""
    return per_million(tokens_in, tokens_out, tier.input_price, tier.output_price)


def call_cost(tier: TierConfig, tokens_in: int, tokens_out: int, usage_cost: Any = None,
              proxy_cost: float | None = None) -> tuple[float, CostSource]:
    """Cost of one call and where it came from.

    `usage.cost`, when an endpoint returns it (some NIM proxies do), is the truth; then a proxy's own figure
    (`proxy_cost`: LiteLLM's x-litellm-response-cost, what its spend tracking books, priced for the model that
    actually answered); the price table is the fallback.
    """
    if isinstance(usage_cost, int | float) and not isinstance(usage_cost, bool) and usage_cost >= 0:
        return float(usage_cost), "usage.cost"
    if proxy_cost is not None:
        return proxy_cost, "proxy_header"
    if tokens_in == 0 and tokens_out == 0:
        return 0.0, "none"
    return price_table_cost(tier, tokens_in, tokens_out), "price_table"
