"""A tier's section of `cascade.toml` (`[[tiers]]`, also the judge and a route's model) and `[retry]`.

A tier names the environment variable its key comes from (`api_key_env`); the key is read at call time.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cascade_core.cascade.env_names import check_env_name
from cascade_core.security.redact import redact

EMBEDDED = "embedded"  # base_url value meaning "the embedded simulator on loopback"


class TierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    base_url: str = EMBEDDED
    api_key_env: str | None = None
    input_price: float = Field(ge=0, description="USD per million input tokens")
    output_price: float = Field(ge=0, description="USD per million output tokens")
    price_provider: str | None = None  # genai-prices provider id, when the base_url does not say (e.g. "together")
    price_origin: str = "config"  # where the prices came from: "config", or the catalog entry (see price_catalog)
    max_tokens: int = Field(default=256, gt=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    timeout: float = Field(default=30.0, gt=0, description="seconds per attempt")
    json_mode: bool = True
    # At most this many calls in flight to the tier from one process (llama.cpp's llama-server: its --parallel
    # slots, 1 by default); the others wait their turn (queue_ms), so the timeout counts the call, not the queue.
    max_in_flight: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _catalog_prices(cls, data: Any) -> Any:
        """No prices given: take them from the maintained catalog, or refuse (a tier is never silently free)."""
        if not isinstance(data, dict) or ("input_price" in data and "output_price" in data):
            return data
        if "input_price" in data or "output_price" in data:
            raise ValueError("give both input_price and output_price, or neither (to use the built-in catalog)")
        from cascade_core.cascade.price_catalog import CATALOG, lookup_price

        model, base_url = data.get("model"), data.get("base_url", EMBEDDED)
        if not isinstance(model, str):
            return data  # the field's own error says what is missing
        url = None if base_url == EMBEDDED else str(base_url)
        found = lookup_price(model, url, data.get("price_provider"))
        if found is None:
            where = data.get("price_provider") or (url and urlsplit(url).netloc) or "the embedded simulator"
            raise ValueError(f"no price given and {CATALOG} has none for model {model!r} at {where}: set "
                             "input_price and output_price (USD per million tokens; 0 for a server you do not "
                             "pay per token), or price_provider")
        return {**data, "input_price": found.input_price, "output_price": found.output_price,
                "price_origin": found.origin}

    @field_validator("base_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        if value == EMBEDDED:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected 'embedded' or an http(s) URL, got {redact(repr(value))}")
        if "@" in parts.netloc or parts.query:
            # The URL is stored with every step and shown on pages: credentials belong in api_key_env.
            raise ValueError("must not carry credentials or a query string; put the key in the variable "
                             "named by api_key_env")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return check_env_name(value)

    @property
    def is_embedded(self) -> bool:
        return self.base_url == EMBEDDED

    def api_key(self) -> str | None:
        """The key from the environment, read at call time (never stored on the object)."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=8.0, ge=0)
    retry_after_max: float = Field(default=30.0, ge=0)
