"""Observability beyond /metrics: cascade runs as OpenTelemetry traces (GenAI semantic conventions)."""

from cascade_core.telemetry.attributes import call_attributes, run_attributes
from cascade_core.telemetry.exporter import Tracing, tracing_wanted
from cascade_core.telemetry.spans import record_trace

__all__ = ["Tracing", "call_attributes", "record_trace", "run_attributes", "tracing_wanted"]
