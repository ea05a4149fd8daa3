"""Where spans go: OTLP over HTTP when the standard OpenTelemetry variables ask for it, nowhere otherwise.

On when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and neither
OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none); the exporter reads the rest of the standard variables
itself (headers, timeout, compression). Each `Tracing` owns its TracerProvider: nothing global is set, so a
library user's own OpenTelemetry set-up is left alone. Prompts and answers go into spans only with
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true (the GenAI instrumentations' opt-in).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from cascade_core.records import TierCall, Trace

log = logging.getLogger(__name__)
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
CONTENT_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
SERVICE_NAME = "cascade-lab"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def tracing_wanted(env: Mapping[str, str]) -> bool:
    if _true(env.get("OTEL_SDK_DISABLED")) or (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower() == "none":
        return False
    return any(env.get(name) for name in ENDPOINT_VARS)


class Tracing:
    """Records cascade runs as spans. `record` is cheap and never raises; `close` flushes what is queued."""

    def __init__(self, provider: Any, *, content: bool = False) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("cascade_core")
        self.content = content
        self.failures = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, exporter: Any = None) -> Tracing | None:
        """A Tracing exporting over OTLP/HTTP when the variables ask for it (or to `exporter`), else None."""
        env = os.environ if env is None else env
        if exporter is None and not tracing_wanted(env):
            return None
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            if exporter is None:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as err:
            from cascade_core.cascade.config import ConfigError

            raise ConfigError("traces were asked for (OTEL_EXPORTER_OTLP_* is set) but OpenTelemetry is not "
                              "installed: pip install 'cascade-lab[otel]' (or -r requirements.txt), or unset the "
                              f"variable ({err})") from None
        if exporter is None:
            protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            if protocol and protocol != "http/protobuf":
                log.warning("traces: OTLP protocol %r is not installed; sending http/protobuf", protocol)
            endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or None
            if endpoint is None and env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
                endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
            exporter = OTLPSpanExporter(endpoint=endpoint)  # headers, timeout etc.: from the variables
        resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider, content=_true(env.get(CONTENT_VAR)))

    def record(self, trace: Trace) -> None:
        from cascade_core.telemetry.spans import record_trace

        try:
            record_trace(self.tracer, trace, content=self.content)
        except Exception:  # tracing must never fail a request
            self.failures += 1
            log.exception("traces: recording run %s failed", trace.run_id)

    def record_judge(self, call: TierCall, *, run_id: str, audit_id: str, verdict: str | None) -> None:
        """One audit judge call as a span (never raises)."""
        from cascade_core.telemetry.spans import record_judge_call

        try:
            record_judge_call(self.tracer, call, run_id=run_id, audit_id=audit_id, verdict=verdict,
                              content=self.content)
        except Exception:
            self.failures += 1
            log.exception("traces: recording a judge call of audit %s failed", audit_id)

    def close(self) -> None:
        self.provider.shutdown()
