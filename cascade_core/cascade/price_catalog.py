"""Built-in prices from a maintained catalog: the `genai-prices` package (pinned), for tiers whose config gives
no prices. The catalog ships inside the wheel: no network. A model it does not know is an error at config
time, never a free tier; the config's own prices always win.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

CATALOG = "genai-prices"


@dataclass(frozen=True)
class CatalogPrice:
    input_price: float  # USD per million tokens
    output_price: float
    provider: str  # the catalog's provider name, e.g. "OpenAI"
    model_id: str  # the catalog's model id
    origin: str  # what Settings shows: "genai-prices 0.2.3: OpenAI gpt-4o-mini"


def catalog_version() -> str:
    return importlib.metadata.version(CATALOG)


def lookup_price(model: str, base_url: str | None, provider: str | None = None) -> CatalogPrice | None:
    """The catalog's list price of `model` at the endpoint `base_url` (matched by the catalog's provider URL
    patterns), or at `provider` (a catalog provider id, e.g. "together") when given; None if it has none.
    Only the base input/output prices (no cache or tier discounts)."""
    from genai_prices import Usage, calc_price

    million = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    try:
        if provider:
            found = calc_price(million, model_ref=model, provider_id=provider)
        elif base_url:
            found = calc_price(million, model_ref=model, provider_api_url=base_url)
        else:
            return None
    except LookupError:
        return None
    origin = f"{CATALOG} {catalog_version()}: {found.provider.name} {found.model.id}"
    return CatalogPrice(float(found.input_price), float(found.output_price), found.provider.name, found.model.id,
                        origin)
