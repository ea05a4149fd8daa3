"""Configuration: a `cascade.toml` file plus environment variables, validated with clear messages.

The whole file is one CascadeConfig; its sections are defined beside it (tier_config: `[[tiers]]` and
`[retry]`, simulator_config, privacy_config, store_config, routes_config) and re-exported here.
API keys never live here: a tier names the environment variable its key comes from (`api_key_env`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cascade_core.cascade.privacy_config import PrivacyConfig
from cascade_core.cascade.routes_config import EmbeddingConfig, RecertifyConfig, RouteConfig, ShadowConfig
from cascade_core.cascade.signals.registry import SignalName
from cascade_core.cascade.simulator_config import SimulatorConfig
from cascade_core.cascade.store_config import StoreConfig
from cascade_core.cascade.tier_config import EMBEDDED, RetryConfig, TierConfig
from cascade_core.security.redact import redact

__all__ = [
    "DEFAULT_PRICE_SOURCE",
    "DEFAULT_STORE_PATH",
    "EMBEDDED",
    "CascadeConfig",
    "ConfigError",
    "PrivacyConfig",
    "RetryConfig",
    "SimulatorConfig",
    "TierConfig",
    "default_config",
    "load_config",
    "read_config_text",
    "validate_config",
]

DEFAULT_STORE_PATH = "data/cascade.duckdb"
DEFAULT_PRICE_SOURCE = "Fireworks list prices for Llama 3.1 8B/70B/405B (2024-2025), per arXiv 2502.09054"


class ConfigError(ValueError):
    """A configuration problem, with a message naming the file, the key and what was expected."""


class CascadeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    tiers: list[TierConfig] = Field(min_length=2)
    signal: SignalName = "self_rated"
    thresholds: list[float] = Field(default_factory=list, description="one per non-final tier, in [0, 1]")
    # Skip-ahead: one per non-final tier; below it the question goes straight to the last tier (0: never skip).
    skip_below: list[float] = Field(default_factory=list)
    # Abstain ("I don't know") when the last tier's confidence is below this (None: always answer).
    abstain_below: float | None = None
    # Tier choice: the first tier asked (the cheaper ones are configured but not called). None: the first.
    start_tier: str | None = None
    store_path: str = DEFAULT_STORE_PATH
    store: StoreConfig = Field(default_factory=StoreConfig)  # [store]: the engine (default: the file above)
    price_source: str = DEFAULT_PRICE_SOURCE
    retry: RetryConfig = Field(default_factory=RetryConfig)
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    judge: TierConfig | None = None  # the audit judge; None means the last tier
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    routes: list[RouteConfig] = Field(default_factory=list)  # semantic routes, tried before the cascade
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    recertify: RecertifyConfig = Field(default_factory=RecertifyConfig)
    # When the last tier fails or gives no usable answer: serve the most confident earlier answer, marked as a
    # fallback (true), or answer with an error (false, the default).
    fallback_to_earlier: bool = False

    @model_validator(mode="after")
    def _thresholds_match_tiers(self) -> CascadeConfig:
        needed = len(self.tiers) - 1
        if not self.thresholds:
            self.thresholds = [0.75] * needed  # self-rated 4 of 5, as NVIDIA's NIM cascade lab does
        if len(self.thresholds) != needed:
            raise ValueError(
                f"thresholds: expected {needed} values (one per non-final tier), got {len(self.thresholds)}"
            )
        for i, value in enumerate(self.thresholds):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"thresholds[{i}]: expected a number in [0, 1], got {value}")
        if self.skip_below and len(self.skip_below) != needed:
            raise ValueError(f"skip_below: expected {needed} values (one per non-final tier, 0 = never skip), "
                             f"got {len(self.skip_below)}")
        for i, value in enumerate(self.skip_below):
            if not 0.0 <= value <= self.thresholds[i]:
                raise ValueError(f"skip_below[{i}]: expected a number in [0, thresholds[{i}] = "
                                 f"{self.thresholds[i]}], got {value}")
        if self.start_tier is not None and self.start_tier not in [t.name for t in self.tiers[:-1]]:
            raise ValueError(f"start_tier: expected one of the non-final tiers {[t.name for t in self.tiers[:-1]]}, "
                             f"got {self.start_tier!r}")
        if self.abstain_below is not None and not 0.0 <= self.abstain_below <= 1.0:
            raise ValueError(f"abstain_below: expected a number in [0, 1], got {self.abstain_below}")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tiers: names must be unique, got {names}")
        route_names = [r.name for r in self.routes]
        if len(set(route_names)) != len(route_names):
            raise ValueError(f"routes: names must be unique, got {route_names}")
        for i, route in enumerate(self.routes):
            if route.tier is not None and route.tier not in names:
                raise ValueError(f"routes[{i}] (name {route.name!r}).tier: expected one of {names}, "
                                 f"got {route.tier!r}")
        return self

    @property
    def uses_embedded(self) -> bool:
        return (any(t.is_embedded for t in self.tiers)
                or any(r.model is not None and r.model.is_embedded for r in self.routes)
                or (bool(self.routes) and self.embedding.base_url == EMBEDDED))

    def with_overrides(
        self, *, threshold: float | None = None, thresholds: list[float] | None = None, signal: str | None = None
    ) -> CascadeConfig:
        """A copy with command-line or page overrides applied (validated again)."""
        data = self.model_dump()
        if threshold is not None:
            data["thresholds"] = [threshold] * (len(self.tiers) - 1)
        if thresholds is not None:
            data["thresholds"] = list(thresholds)
        if signal is not None:
            data["signal"] = signal
        return validate_config(data, source="overrides")

    def fingerprint(self, thresholds: list[float] | None = None) -> str:
        """A short stable hash of what changes answers and costs: tiers, prices, signal, thresholds (`thresholds`
        overrides the configured ones, as a run with overrides used them). Not the store, the judge (it grades,
        never answers), retries, timeouts or the simulator's added latency (they change speed, not answers)."""
        data = self.model_dump(
            exclude={"store_path", "store", "price_source", "judge", "retry", "privacy", "shadow", "recertify"}
        )
        if not data["routes"]:  # configs without routes keep the fingerprint they had before routes existed
            data.pop("routes")
            data.pop("embedding")
        if not data["fallback_to_earlier"]:
            del data["fallback_to_earlier"]  # the default leaves the fingerprint of existing configs unchanged
        if not any(data["skip_below"]):
            del data["skip_below"]  # likewise for skip-ahead and abstain when unused
        if data["abstain_below"] is None:
            del data["abstain_below"]
        if data["start_tier"] is None:
            del data["start_tier"]
        data["simulator"] = self.simulator.answer_settings()
        route_models = [r["model"] for r in data.get("routes", []) if isinstance(r.get("model"), dict)]
        for tier in [*data["tiers"], *route_models]:
            tier.pop("price_origin")  # prices count, not where they came from (keeps older fingerprints)
            tier.pop("max_in_flight", None)  # speed, not answers
            if tier.get("price_provider") is None:
                tier.pop("price_provider")
        for tier in data["tiers"]:
            tier.pop("timeout")
        if thresholds is not None:
            data["thresholds"] = [float(t) for t in thresholds]
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def default_config() -> CascadeConfig:
    """The embedded default: three simulated Llama-3.1-like tiers, no key, no network."""
    return CascadeConfig(
        tiers=[
            TierConfig(name="small", model="sim-llama-3.1-8b", input_price=0.20, output_price=0.20),
            TierConfig(name="mid", model="sim-llama-3.1-70b", input_price=0.90, output_price=0.90),
            TierConfig(name="large", model="sim-llama-3.1-405b", input_price=3.00, output_price=3.00),
        ]
    )


def _format_validation_error(err: ValidationError, source: str, data: dict[str, Any]) -> str:
    lines = [f"{source}: invalid configuration"]
    for problem in err.errors():
        parts: list[str] = []
        for loc in problem["loc"]:
            if isinstance(loc, int) and parts and parts[-1] == "tiers":
                tiers = data.get("tiers") or []
                name = tiers[loc].get("name") if loc < len(tiers) and isinstance(tiers[loc], dict) else None
                parts[-1] = f"tiers[{loc}]" + (f" (name {name!r})" if name else "")
            elif isinstance(loc, int):
                parts[-1] = f"{parts[-1]}[{loc}]" if parts else f"[{loc}]"
            else:
                parts.append(str(loc))
        message = problem["msg"].removeprefix("Value error, ")
        got = problem.get("input")
        # No "got ..." for whole sections, for messages that already say it, or for api_key_env (a pasted key).
        quiet = (isinstance(got, dict | list) or problem["type"] == "missing" or "got " in message
                 or "api_key_env" in parts)
        got_text = "" if quiet else f", got {got!r}"
        lines.append(f"  {'.'.join(parts) + ': ' if parts else ''}{message}{got_text}")
    # A key pasted into any field (base_url with user:key@ or ?api_key=, a key shape) is never echoed.
    return redact("\n".join(lines))


def validate_config(data: dict[str, Any], *, source: str = "config") -> CascadeConfig:
    try:
        return CascadeConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source, data)) from None


def read_config_text(file: Path) -> str:
    """The text of a config file, or a one-line ConfigError naming the file and what is wrong with it."""
    try:
        raw = file.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{file}: cannot be read (permission denied)") from None
    except OSError as err:
        raise ConfigError(f"{file}: cannot be read ({err.strerror or err})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{file}: is UTF-16 text; save it as UTF-8 (TOML files are UTF-8)")
    if b"\x00" in raw[:4096]:
        raise ConfigError(f"{file}: is a binary file, not TOML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not UTF-8 (byte 0x{raw[err.start]:02x}; latin-1 or another "
                          "encoding?); save it as UTF-8") from None


def load_config(path: str | Path | None = None) -> CascadeConfig:
    """Load `path`, else $CASCADE_CONFIG, else ./cascade.toml, else the embedded default.

    $CASCADE_STORE overrides the store in every case (a DuckDB file at that path).
    """
    chosen = path or os.environ.get("CASCADE_CONFIG")
    if chosen is None and Path("cascade.toml").exists():
        chosen = "cascade.toml"
    if chosen is None:
        config = default_config()
    else:
        file = Path(chosen)
        if not file.exists():
            raise ConfigError(f"{file}: config file not found")
        try:
            data = tomllib.loads(read_config_text(file))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: not valid TOML: {err}") from None
        config = validate_config(data, source=str(file))
    store = os.environ.get("CASCADE_STORE")
    if store:  # a DuckDB file, whatever [store] says
        config = config.model_copy(update={"store_path": store, "store": StoreConfig()})
    return config
