"""Turn a finished cascade run into an OpenTelemetry trace: one root span for the run and one child span per
tier call, each verify call a child of its tier's span.

The spans are recorded after the run from its timings (the run's start, each call's latency, in order), so
tracing adds nothing inside the walk and never holds up a tier call. The BatchSpanProcessor only queues a
finished span; its own thread exports them (and drops spans, never blocks, when its queue is full).
"""

from __future__ import annotations

import time
from typing import Any

from cascade_core.records import TierCall, Trace
from cascade_core.telemetry.attributes import call_attributes, judge_attributes, run_attributes, span_name

MS = 1_000_000  # nanoseconds per millisecond


def record_trace(tracer: Any, trace: Trace, *, content: bool = False) -> None:
    """Emit `trace` through `tracer` (an OpenTelemetry Tracer)."""
    from opentelemetry import trace as otel
    from opentelemetry.trace import Status, StatusCode

    start = int(trace.created_at.timestamp() * 1e9)
    end = start + int((trace.latency_ms + trace.overhead_ms) * MS)
    root = tracer.start_span(f"cascade {trace.source}", start_time=start,
                             attributes=run_attributes(trace, content=content))
    if trace.error:
        root.set_status(Status(StatusCode.ERROR, "no tier could answer"))
    parent = otel.set_span_in_context(root)
    at = start
    for step in trace.steps:
        call_start = at + int(step.call.queue_ms * MS)
        call_end = call_start + int(step.call.latency_ms * MS)
        span = tracer.start_span(span_name(step.call), context=parent, start_time=call_start,
                                 attributes=call_attributes(trace, step, step.call, "answer", content=content))
        if step.call.error:
            span.set_status(Status(StatusCode.ERROR, step.call.error_kind or "error"))
        at = call_end
        if step.verify_call is not None:
            verify_end = at + int(step.verify_call.latency_ms * MS)
            child = tracer.start_span(span_name(step.verify_call), context=otel.set_span_in_context(span),
                                      start_time=at, attributes=call_attributes(
                                          trace, step, step.verify_call, "verify", content=content))
            if step.verify_call.error:
                child.set_status(Status(StatusCode.ERROR, step.verify_call.error_kind or "error"))
            child.end(end_time=verify_end)
            at = verify_end
        span.end(end_time=at)
    root.end(end_time=max(end, at))


def record_judge_call(tracer: Any, call: TierCall, *, run_id: str, audit_id: str, verdict: str | None,
                      content: bool = False) -> None:
    """One audit judge call as its own trace (it grades a logged run after the fact), ending now."""
    from opentelemetry.trace import Status, StatusCode

    end = time.time_ns()
    attrs = judge_attributes(call, run_id=run_id, audit_id=audit_id, verdict=verdict, content=content)
    span = tracer.start_span(span_name(call), start_time=end - int(call.latency_ms * MS), attributes=attrs)
    if call.error:
        span.set_status(Status(StatusCode.ERROR, call.error_kind or "error"))
    span.end(end_time=end)
