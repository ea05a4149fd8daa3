"""Span attributes for a finished cascade run: OpenTelemetry GenAI semantic conventions (`gen_ai.*`), the
OpenInference names Arize Phoenix reads (`openinference.span.kind`, `llm.*`), and the cascade's own
(`cascade.*`). Pure functions of the Trace, so they are tested without an exporter.

Prompts and answers are left out unless `content` is on; then they pass the same redaction as the store
(the run's [privacy] redact kinds, and the secrets redaction every endpoint error passes).
"""

from __future__ import annotations

import json
from typing import Any

from cascade_core.records import Step, TierCall, Trace
from cascade_core.security.pii import redact_pii
from cascade_core.security.redact import redact

Attributes = dict[str, Any]


def _text(text: str | None, trace: Trace) -> str:
    return redact(redact_pii(text, trace.redact) or "")


def _drop_none(attrs: Attributes) -> Attributes:
    return {k: v for k, v in attrs.items() if v is not None}


def run_attributes(trace: Trace, *, content: bool = False) -> Attributes:
    """The root span: the whole run."""
    attrs: Attributes = {
        "openinference.span.kind": "CHAIN",
        "gen_ai.operation.name": "cascade",
        "cascade.run_id": trace.run_id,
        "cascade.source": trace.source,
        "cascade.signal": trace.signal,
        "cascade.config_fingerprint": trace.config_fingerprint,
        "cascade.final_tier": trace.final_tier,
        "cascade.final_tier_index": trace.final_tier_index,
        "cascade.final_confidence": trace.final_confidence,
        "cascade.escalations": trace.escalations,
        "cascade.steps": len(trace.steps),
        "cascade.cost_usd": trace.total_cost,
        "cascade.always_large_cost_usd": trace.always_large_cost,
        "cascade.always_large_estimated": trace.always_large_estimated,
        "cascade.tokens_in": trace.tokens_in,
        "cascade.tokens_out": trace.tokens_out,
        "cascade.simulated": trace.simulated,
        "cascade.route": trace.route,
        "cascade.fallback": trace.fallback,
        "cascade.overhead_ms": trace.overhead_ms,
        "error.type": "cascade_failed" if trace.error else None,
    }
    if content:
        attrs["input.value"] = _text(trace.question, trace)
        attrs["output.value"] = _text(trace.final_answer, trace)
    return _drop_none(attrs)


def call_attributes(trace: Trace, step: Step, call: TierCall, kind: str, *, content: bool = False) -> Attributes:
    """One chat call of one tier (`kind`: "answer", or "verify" for the verify signal's second call)."""
    provider = "simulator" if call.simulated else "openai"  # every tier speaks the OpenAI wire protocol
    answer = kind == "answer"
    attrs: Attributes = {
        "openinference.span.kind": "LLM",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the attribute's name before semantic conventions 1.37, still read by many
        "gen_ai.request.model": call.model,
        "gen_ai.response.model": call.model,
        "gen_ai.usage.input_tokens": call.tokens_in,
        "gen_ai.usage.output_tokens": call.tokens_out,
        "gen_ai.response.finish_reasons": [call.finish_reason] if call.finish_reason else None,
        "server.address": step.endpoint,
        "llm.model_name": call.model,
        "llm.provider": provider,
        "llm.token_count.prompt": call.tokens_in,
        "llm.token_count.completion": call.tokens_out,
        "llm.token_count.total": call.tokens_in + call.tokens_out,
        "llm.cost.total": call.cost,
        "cascade.run_id": trace.run_id,
        "cascade.call": kind,
        "cascade.tier": step.tier_name,
        "cascade.tier_index": step.tier_index,
        "cascade.cost_usd": call.cost,
        "cascade.cost_source": call.cost_source,
        "cascade.estimated_cost_usd": call.estimated_cost or None,
        "cascade.attempts": call.attempts,
        "cascade.lost_attempts": call.lost_attempts or None,
        "cascade.latency_ms": call.latency_ms,
        "cascade.simulated": call.simulated,
        "error.type": call.error_kind or ("error" if call.error else None),
    }
    if answer:  # the decision belongs to the tier's answer call
        attrs.update({
            "cascade.confidence.raw": step.confidence.raw,
            "cascade.confidence.normalised": step.confidence.normalised,
            "cascade.confidence.parse_error": step.confidence.parse_error,
            "cascade.threshold": step.threshold,
            "cascade.decision": step.decision,
            "cascade.reason": step.reason,
        })
    if content:
        attrs["input.value"] = _text(json.dumps(call.messages, ensure_ascii=False), trace)
        attrs["input.mime_type"] = "application/json"
        attrs["output.value"] = _text(call.raw_output, trace)
    return _drop_none(attrs)


def judge_attributes(call: TierCall, *, run_id: str, audit_id: str, verdict: str | None,
                     content: bool = False) -> Attributes:
    """An audit judge call: GenAI attributes plus the audited run, the audit and the verdict."""
    attrs: Attributes = {
        "openinference.span.kind": "LLM",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "simulator" if call.simulated else "openai",
        "gen_ai.request.model": call.model,
        "gen_ai.usage.input_tokens": call.tokens_in,
        "gen_ai.usage.output_tokens": call.tokens_out,
        "llm.model_name": call.model,
        "llm.token_count.prompt": call.tokens_in,
        "llm.token_count.completion": call.tokens_out,
        "llm.token_count.total": call.tokens_in + call.tokens_out,
        "cascade.call": "judge",
        "cascade.run_id": run_id,
        "cascade.audit_id": audit_id,
        "cascade.judge.verdict": verdict,
        "cascade.cost_usd": call.cost,
        "cascade.cost_source": call.cost_source,
        "cascade.attempts": call.attempts,
        "error.type": call.error_kind or ("error" if call.error else None),
    }
    if content:
        attrs["input.value"] = redact(json.dumps(call.messages, ensure_ascii=False))
        attrs["output.value"] = redact(call.raw_output)
    return _drop_none(attrs)


def span_name(call: TierCall) -> str:
    """GenAI convention: "{operation} {model}"."""
    return f"chat {call.model}"
