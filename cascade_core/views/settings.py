"""What the Settings page shows: tiers with prices and thresholds, where keys come from (never the keys), the
store's location and size, and a one-call connection test per tier."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.cascade.store_config import StoreBackend
from cascade_core.security.redact import redact, redact_exception
from cascade_core.store.maintenance import data_file_count
from cascade_core.store.store import Store

PING_MESSAGES = [{"role": "user", "content": "Reply with the single word: ok"}]


def tier_rows(config: CascadeConfig, endpoints: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per tier, in cascade order. `key_set` says whether the key's variable is set, never its value."""
    rows = []
    for index, tier in enumerate(config.tiers):
        is_last = index == len(config.tiers) - 1
        rows.append({
            "order": index + 1,
            "tier": tier.name,
            "model": tier.model,
            "endpoint": endpoints[index] if endpoints else tier.base_url,
            "input_usd_per_mtok": tier.input_price,
            "output_usd_per_mtok": tier.output_price,
            "price_from": tier.price_origin,  # "config", or the catalog entry: package version, provider, model
            "threshold": None if is_last else config.thresholds[index],
            "key_variable": tier.api_key_env or "(none needed)",
            "key_set": None if not tier.api_key_env else bool(os.environ.get(tier.api_key_env)),
            "simulated": tier.is_embedded,
        })
    return rows


@dataclass(frozen=True)
class StoreInfo:
    backend: StoreBackend
    path: str  # the DuckDB file, or the lake's catalog and data path (never a password)
    exists: bool
    size_bytes: int  # the DuckDB file plus its write-ahead log, or the lake's live data files
    data_files: int  # DuckLake data files (0 for a DuckDB file)


def store_info(store_path: str | Path, store: Store | None = None) -> StoreInfo:
    """What the Settings page shows: for a DuckLake `store`, its description, data size and file count."""
    if store is not None and store.lake is not None:
        return StoreInfo("ducklake", store.name, True, store.size_bytes(), data_file_count(store))
    path = Path(store_path).resolve()
    wal = path.with_name(path.name + ".wal")
    size = sum(p.stat().st_size for p in (path, wal) if p.exists())
    return StoreInfo("duckdb", str(path), path.exists(), size, 0)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@dataclass(frozen=True)
class ConnectionCheck:
    """One tiny chat call plus the model list of a tier's endpoint."""

    tier: str
    ok: bool
    call_ms: float
    reply: str
    error: str | None
    models: list[str] = field(default_factory=list)
    models_error: str | None = None
    models_ms: float = 0.0
    model: str = ""
    logprobs: bool | None = None  # whether the endpoint returns logprobs when asked (None: not probed)
    logprobs_note: str = ""

    @property
    def model_listed(self) -> bool | None:
        """Whether the endpoint lists the tier's model (None when the list could not be read)."""
        return None if self.models_error else self.model in self.models


def check_connection(client: TierClient) -> ConnectionCheck:
    """Make one tiny call (retries as configured) and list the endpoint's models; never raises."""
    call = client.call(PING_MESSAGES)
    started = time.perf_counter()
    models: list[str] = []
    models_error = None
    key = client.tier.api_key()
    secrets = [key] if key else None
    try:
        models = [redact(m, secrets) for m in client.list_models()]
    except Exception as err:  # a connection test reports every failure instead of raising
        models_error = redact_exception(err, secrets)  # an endpoint may echo the Authorization header
    models_ms = (time.perf_counter() - started) * 1000
    logprobs, note = probe_logprobs(client) if call.ok else (None, "")
    return ConnectionCheck(
        tier=client.tier.name, model=client.tier.model, ok=call.ok, call_ms=call.latency_ms,
        reply=redact(call.raw_output[:200], secrets), error=redact(call.error, secrets) if call.error else None,
        models=models, models_error=models_error, models_ms=models_ms, logprobs=logprobs, logprobs_note=note,
    )


def probe_logprobs(client: TierClient) -> tuple[bool | None, str]:
    """Ask for logprobs as the logprob signal does (logprobs with top_logprobs=1, what llama.cpp needs)."""
    call = client.call(PING_MESSAGES, get_signal("logprob").options)
    if not call.ok:
        return False, f"the endpoint rejected a request for logprobs: {call.error}"
    if not call.logprobs:
        return False, ("the endpoint returned no logprobs although asked (logprobs with top_logprobs=1): the "
                       "logprob signal cannot rate its answers; use self_rated or verify")
    return True, "the endpoint returns logprobs: the logprob signal works here"
