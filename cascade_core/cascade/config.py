"""Configuration: a `cascade.toml` file plus environment variables, validated with clear messages.

API keys never live here: a tier names the environment variable its key comes from (`api_key_env`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cascade_core.cascade.env_names import check_env_name
from cascade_core.cascade.routes_config import EmbeddingConfig, RecertifyConfig, RouteConfig, ShadowConfig
from cascade_core.cascade.signals.registry import SignalName
from cascade_core.cascade.store_config import StoreConfig
from cascade_core.security.pii import PII_KINDS, PiiKind
from cascade_core.security.redact import redact

EMBEDDED = "embedded"  # base_url value meaning "the embedded simulator on loopback"
DEFAULT_STORE_PATH = "data/cascade.duckdb"
DEFAULT_PRICE_SOURCE = "Fireworks list prices for Llama 3.1 8B/70B/405B (2024-2025), per arXiv 2502.09054"
SIMULATOR_FAULT_KNOBS = ("error_rate", "rate_limit_rate", "malformed_rate", "truncate_rate", "latency_ms",
                         "html_body_rate", "empty_body_rate", "cut_body_rate", "placeholder_rate", "judge_flip_rate")
# Simulator settings added after fingerprints and cache identities were first stored: left out of both while
# they hold their default, so existing runs and cached answers keep their identity.
LATER_SIMULATOR_DEFAULTS: dict[str, Any] = {
    "html_body_rate": 0.0, "empty_body_rate": 0.0, "cut_body_rate": 0.0, "placeholder_rate": 0.0,
    "judge_flip_rate": 0.0,
    "logprobs_need_top": False, "logprobs_supported": True, "omit_usage": False, "single_slot": False,
    "omit_finish_reason": False, "refuse_formats": [], "constrained_decoding": False,
}


class ConfigError(ValueError):
    """A configuration problem, with a message naming the file, the key and what was expected."""


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


RouteConfig.model_rebuild(_types_namespace={"TierConfig": TierConfig})  # a route's separate model is a tier


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=8.0, ge=0)
    retry_after_max: float = Field(default=30.0, ge=0)


class SimulatorConfig(BaseModel):
    """Knobs of the embedded simulator (used only by tiers whose base_url is 'embedded')."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    seed: int = 0
    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after: float = Field(default=0.05, ge=0)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    truncate_rate: float = Field(default=0.0, ge=0, le=1)
    # HTTP 200 bodies that are not chat completions, as gateways and broken proxies send them.
    html_body_rate: float = Field(default=0.0, ge=0, le=1)  # a text/html page
    empty_body_rate: float = Field(default=0.0, ge=0, le=1)  # {}
    cut_body_rate: float = Field(default=0.0, ge=0, le=1)  # the JSON cut off mid-way
    placeholder_rate: float = Field(default=0.0, ge=0, le=1)  # the answer echoes the prompt's placeholder
    judge_flip_rate: float = Field(default=0.0, ge=0, le=1)  # the audit judge says correct for incorrect and back
    logprobs_need_top: bool = False  # as llama.cpp's server: logprobs only when top_logprobs >= 1 is sent
    logprobs_supported: bool = True  # false: never any logprobs, whatever the request asks
    omit_usage: bool = False  # no `usage` in replies (the client then estimates tokens)
    omit_finish_reason: bool = False  # finish_reason null in replies (some servers and proxies)
    single_slot: bool = False  # one request at a time per model, the others queue (a one-slot server)
    ratelimit_requests: int = Field(default=0, ge=0)  # >0: requests per model per second, sent as x-ratelimit-*
    report_cost: bool = False  # put usage.cost (USD at the built-in list price) in every response
    # response_format types answered with HTTP 400 (older llama.cpp/Ollama builds, some gateways): e.g. ["json_schema"]
    refuse_formats: list[Literal["json_schema", "json_object"]] = Field(default_factory=list)
    # As vLLM, llama.cpp, NIM and OpenAI do with a json_schema response_format: the malformed knob then cannot
    # garble a reply (off by default: the knob stands for servers that ignore the schema).
    constrained_decoding: bool = False
    # Per-model overrides of the knobs above, e.g. {"sim-llama-3.1-8b": {"error_rate": 1.0}}.
    faults_by_model: dict[str, dict[str, float]] = Field(default_factory=dict)

    def answer_settings(self) -> dict[str, Any]:
        """The settings that change answers (not latency or queueing), without later knobs at their default."""
        data = self.model_dump(exclude={"latency_ms", "single_slot", "ratelimit_requests"})
        for name, default in LATER_SIMULATOR_DEFAULTS.items():
            if name in data and data[name] == default:
                del data[name]
        return data

    @field_validator("faults_by_model")
    @classmethod
    def _known_faults(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, knobs in value.items():
            for key, number in knobs.items():
                if key not in SIMULATOR_FAULT_KNOBS:
                    known = ", ".join(SIMULATOR_FAULT_KNOBS)
                    raise ValueError(f"{model}: unknown knob {key!r}, expected one of {known}")
                if number < 0 or (key.endswith("_rate") and number > 1):
                    raise ValueError(f"{model}.{key}: expected a rate in [0, 1] or a latency >= 0, got {number}")
        return value


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
