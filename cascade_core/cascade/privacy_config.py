"""The `[privacy]` section of `cascade.toml`: retention, log-time redaction and readable data folders."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cascade_core.security.pii import PII_KINDS, PiiKind


class PrivacyConfig(BaseModel):
    """What is kept, for how long, and which local files the dashboard may read (README: Data and security)."""

    model_config = ConfigDict(extra="forbid")

    retention_days: float | None = Field(default=None, gt=0, description="purge runs older than this")
    purge_interval_hours: float = Field(default=24.0, gt=0, description="how often dashboard and serve purge")
    redact: list[PiiKind] = Field(default_factory=list, description="personal data replaced before storing")
    data_folders: list[str] = Field(default_factory=lambda: ["data"],
                                    description="folders the dashboard may read local files from")

    @field_validator("redact", mode="before")
    @classmethod
    def _all_kinds(cls, value: object) -> object:
        if value is True:
            return list(PII_KINDS)
        if value is False:
            return []
        return value
