"""Cascade runs as OpenTelemetry spans, through the real SDK into its in-memory exporter (no receiver)."""

from __future__ import annotations

import dataclasses

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cascade_core.records import TierCall
from cascade_core.telemetry import Tracing, tracing_wanted
from tests.factories import fake_key, make_trace


def _record(trace, *, content: bool = False):
    exporter = InMemorySpanExporter()
    tracing = Tracing.from_env({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true" if content else ""},
                               exporter=exporter)
    assert tracing is not None
    tracing.record(trace)
    tracing.close()
    spans = exporter.get_finished_spans()
    named = {span.name + (f":{span.attributes['cascade.tier']}:{span.attributes['cascade.call']}"
                          if span.parent else ""): span for span in spans}
    assert len(named) == len(spans)
    return named


def test_off_unless_the_standard_variables_ask() -> None:
    assert Tracing.from_env({}) is None
    assert not tracing_wanted({"OTEL_SERVICE_NAME": "x"})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert not tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h", "OTEL_SDK_DISABLED": "true"})
    assert not tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h", "OTEL_TRACES_EXPORTER": "none"})


def test_one_root_and_one_child_per_tier_call_with_genai_and_cascade_attributes() -> None:
    trace = make_trace(1)  # small escalated, mid accepted
    spans = _record(trace)
    root = spans["cascade query"]
    small, mid = spans["chat sim-llama-3.1-8b:small:answer"], spans["chat sim-llama-3.1-70b:mid:answer"]
    assert len(spans) == 3
    assert small.parent.span_id == root.context.span_id and mid.parent.span_id == root.context.span_id
    assert small.context.trace_id == root.context.trace_id == mid.context.trace_id
    assert root.start_time <= small.start_time < small.end_time <= mid.start_time < mid.end_time <= root.end_time
    assert root.attributes["cascade.run_id"] == trace.run_id
    assert root.attributes["cascade.cost_usd"] == trace.total_cost
    assert root.attributes["cascade.escalations"] == 1 and root.attributes["cascade.final_tier"] == "mid"
    step = trace.steps[1]
    assert mid.attributes["gen_ai.operation.name"] == "chat"
    assert mid.attributes["gen_ai.request.model"] == "sim-llama-3.1-70b"
    assert mid.attributes["gen_ai.usage.input_tokens"] == step.call.tokens_in
    assert mid.attributes["gen_ai.usage.output_tokens"] == step.call.tokens_out
    assert mid.attributes["cascade.cost_usd"] == step.call.cost
    assert mid.attributes["cascade.cost_source"] == "price_table"
    assert mid.attributes["cascade.confidence.raw"] == step.confidence.raw
    assert mid.attributes["cascade.confidence.normalised"] == step.confidence.normalised
    assert mid.attributes["cascade.threshold"] == 0.75
    assert (mid.attributes["cascade.decision"], small.attributes["cascade.decision"]) == ("accepted", "escalated")
    for span in spans.values():  # no prompt or answer unless asked for
        assert "input.value" not in span.attributes and "output.value" not in span.attributes
        assert trace.question not in str(dict(span.attributes))


def test_failed_call_is_an_error_span_and_verify_nests_under_its_tier() -> None:
    trace = make_trace(2, error_at=0)
    mid = trace.steps[1]
    verify = TierCall(tier_name="mid", model="sim-llama-3.1-70b", messages=[], raw_output="yes", tokens_in=30,
                      tokens_out=1, cost=4e-6, cost_source="price_table", latency_ms=5.0, simulated=True)
    trace.steps[1] = dataclasses.replace(mid, verify_call=verify)
    spans = _record(trace)
    small = spans["chat sim-llama-3.1-8b:small:answer"]
    assert not small.status.is_ok and small.attributes["error.type"] == "server"
    verify_spans = [s for s in spans.values() if s.attributes.get("cascade.call") == "verify"]
    assert len(verify_spans) == 1 and verify_spans[0].attributes["cascade.cost_usd"] == 4e-6
    assert verify_spans[0].parent.span_id == spans["chat sim-llama-3.1-70b:mid:answer"].context.span_id
    assert "cascade.decision" not in verify_spans[0].attributes


def test_content_only_on_opt_in_and_redacted_like_the_store() -> None:
    key = fake_key("sk-", "trace content")
    trace = make_trace(0, question=f"Mail ana@example.com the answer, key {key}")
    trace.redact = ("email",)
    spans = _record(trace, content=True)
    root = spans["cascade query"]
    assert root.attributes["input.value"].startswith("Mail [EMAIL] the answer")
    assert key not in root.attributes["input.value"]  # secrets never leave, opt-in or not
    assert root.attributes["output.value"] == "4"
    child = spans["chat sim-llama-3.1-8b:small:answer"]
    assert "[EMAIL]" in child.attributes["input.value"] and "ana@example.com" not in child.attributes["input.value"]


def test_audit_judge_calls_become_spans_naming_the_audited_run(tmp_path) -> None:
    from datetime import timedelta

    from cascade_core.audit import AuditParams, judge_audit, start_audit
    from cascade_core.store import Store
    from tests.factories import hours_ago
    from tests.test_audit_support import OfflineJudge, log_week

    exporter = InMemorySpanExporter()
    judge = OfflineJudge()
    judge.tracing = Tracing.from_env({}, exporter=exporter)
    with Store(tmp_path / "runs.duckdb") as store:
        log_week(store, 0, 30, 0.3, seed=1)
        audit_id = start_audit(store, judge, AuditParams(until=hours_ago(0), since=timedelta(days=7), sample=10,
                                                         seed=1))
        judge_audit(store, judge, audit_id)
        items = store.query_df("SELECT run_id, verdict FROM audit_items WHERE audit_id = ?", [audit_id])
    judge.tracing.close()
    spans = exporter.get_finished_spans()
    assert len(spans) == len(items) == 10
    by_run = {s.attributes["cascade.run_id"]: s for s in spans}
    for run_id, verdict in items.itertuples(index=False):
        span = by_run[run_id]
        assert span.attributes["cascade.call"] == "judge" and span.attributes["cascade.audit_id"] == audit_id
        assert span.attributes["cascade.judge.verdict"] == verdict
        assert span.attributes["gen_ai.usage.input_tokens"] == 120 and span.attributes["cascade.cost_usd"] == 2e-4
