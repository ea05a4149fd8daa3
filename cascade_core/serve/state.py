"""What every handler of the endpoint shares: its settings, its running state and the JSON response helper."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from cascade_core.cascade.runtime import Runtime
from cascade_core.serve.counters import Metrics
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.validate import MAX_BODY_BYTES
from cascade_core.telemetry.exporter import Tracing

CHAT_PATH = "/v1/chat/completions"


@dataclass
class ServeSettings:
    model_name: str = "cascade"
    token: bytes | None = None  # bearer token; None = auth off
    max_body_bytes: int = MAX_BODY_BYTES
    flush_interval: float = 0.5
    batch_size: int = 500
    max_backlog: int = 10_000  # runs queued or being answered; past it new requests get 503
    log_before_answer: bool = False  # answer only once the run is committed (group commit)
    log_wait: float = 10.0  # log_before_answer: how long a request waits for its commit before a 503
    graceful_timeout: float | None = None  # as given to uvicorn (for messages)


@dataclass
class ServeState:
    settings: ServeSettings
    runtime: Runtime
    writer: LogWriter
    metrics: Metrics
    shadow: Any = None  # ShadowSampler when config.shadow.rate > 0
    shadow_sink: Any = None
    tracing: Tracing | None = None  # OpenTelemetry spans, when OTEL_EXPORTER_OTLP_* asks for them
    started: int = field(default_factory=lambda: int(time.time()))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)
