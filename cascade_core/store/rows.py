"""Trace <-> table rows: how a run and its steps are flattened for the store, and rebuilt."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from cascade_core.records import Confidence, Step, TierCall, Trace
from cascade_core.security.pii import redact_pii

# Columns holding text a user typed or a model wrote: what opt-in redaction rewrites before anything is stored.
_RUN_TEXT = ("question", "final_answer", "error")
_STEP_TEXT = ("raw_output", "answer", "parse_error", "error", "verify_output", "verify_error")


def trace_rows(trace: Trace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Flatten a Trace into one `runs` row and its `steps` rows. Never includes an API key."""
    run = {
        "run_id": trace.run_id,
        "created_at": trace.created_at,
        "source": trace.source,
        "question": trace.question,
        "item_id": trace.item_id,
        "dataset": trace.dataset,
        "category": trace.category,
        "gold": trace.gold,
        "correct": trace.correct,
        "config_fingerprint": trace.config_fingerprint,
        "signal": trace.signal,
        "final_tier": trace.final_tier,
        "final_tier_index": trace.final_tier_index,
        "final_answer": trace.final_answer,
        "final_confidence": trace.final_confidence,
        "total_cost": trace.total_cost,
        "tokens_in": trace.tokens_in,
        "tokens_out": trace.tokens_out,
        "latency_ms": trace.latency_ms,
        "overhead_ms": trace.overhead_ms,
        "always_large_cost": trace.always_large_cost,
        "always_large_estimated": trace.always_large_estimated,
        "n_steps": len(trace.steps),
        "escalations": trace.escalations,
        "had_error": any(s.error for s in trace.steps),
        "had_parse_error": any(s.confidence.parse_error for s in trace.steps),
        "error": trace.error,
        "simulated": trace.simulated,
        "meta": json.dumps(trace.meta) if trace.meta else None,
    }
    steps = [_step_row(trace, i, step) for i, step in enumerate(trace.steps)]
    if trace.redact:
        _redact_rows(trace, run, steps)
    return run, steps


def _messages_json(messages: list[dict[str, str]], kinds: tuple[str, ...]) -> str:
    if kinds:
        messages = [{**m, "content": redact_pii(m.get("content"), kinds) or ""} for m in messages]
    return json.dumps(messages, ensure_ascii=False)


def _redact_rows(trace: Trace, run: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    """Opt-in redaction at log time: placeholders in every stored text column (the trace keeps the original)."""
    kinds = trace.redact
    for col in _RUN_TEXT:
        run[col] = redact_pii(run[col], kinds)
    run["meta"] = json.dumps({**trace.meta, "redacted": list(kinds)})
    for step, row in zip(trace.steps, steps, strict=True):
        for col in _STEP_TEXT:
            row[col] = redact_pii(row[col], kinds)
        row["prompt"] = _messages_json(step.call.messages, kinds)
        if step.verify_call is not None:
            row["verify_prompt"] = _messages_json(step.verify_call.messages, kinds)


def traces_rows(traces: Iterable[Trace]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Flatten many traces: all their runs rows and all their steps rows."""
    runs: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for trace in traces:
        run, run_steps = trace_rows(trace)
        runs.append(run)
        steps.extend(run_steps)
    return runs, steps


def _step_row(trace: Trace, index: int, step: Step) -> dict[str, Any]:
    verify = step.verify_call
    return {
        "run_id": trace.run_id,
        "step_index": index,
        "tier_index": step.tier_index,
        "tier_name": step.tier_name,
        "model": step.model,
        "endpoint": step.endpoint,
        "prompt": json.dumps(step.call.messages, ensure_ascii=False),
        "raw_output": step.call.raw_output,
        "finish_reason": step.call.finish_reason,
        "answer": step.confidence.answer,
        "confidence_raw": step.confidence.raw,
        "confidence": step.confidence.normalised,
        "parse_error": step.confidence.parse_error,
        "threshold": step.threshold,
        "tokens_in": step.tokens_in,
        "tokens_out": step.tokens_out,
        "cost": step.cost,
        "cost_source": step.call.cost_source,
        "latency_ms": step.latency_ms,
        "attempts": step.call.attempts,
        "decision": step.decision,
        "reason": step.reason,
        "error": step.error,
        "error_kind": step.call.error_kind or (verify.error_kind if verify else None),
        "simulated": step.call.simulated,
        "verify_prompt": json.dumps(verify.messages, ensure_ascii=False) if verify else None,
        "verify_output": verify.raw_output if verify else None,
        "verify_tokens_in": verify.tokens_in if verify else None,
        "verify_tokens_out": verify.tokens_out if verify else None,
        "verify_cost": verify.cost if verify else None,
        "verify_latency_ms": verify.latency_ms if verify else None,
        "verify_error": verify.error if verify else None,
        "created_at": trace.created_at,
    }


def _none_if_nan(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def _call_from_row(row: dict[str, Any], verify: bool) -> TierCall:
    prefix = "verify_" if verify else ""
    messages = json.loads(row[f"{prefix}prompt"])
    v_in = int(row["verify_tokens_in"] or 0)
    v_out = int(row["verify_tokens_out"] or 0)
    v_cost = float(row["verify_cost"] or 0.0)
    v_latency = float(row["verify_latency_ms"] or 0.0)
    if verify:
        tokens_in, tokens_out, cost, latency = v_in, v_out, v_cost, v_latency
        raw, error = row["verify_output"] or "", row["verify_error"]
    else:
        tokens_in, tokens_out = int(row["tokens_in"]) - v_in, int(row["tokens_out"]) - v_out
        cost, latency = float(row["cost"]) - v_cost, float(row["latency_ms"]) - v_latency
        raw, error = row["raw_output"] or "", row["error"] if not row["verify_error"] else None
    return TierCall(
        tier_name=row["tier_name"],
        model=row["model"],
        messages=messages,
        raw_output=raw,
        finish_reason=None if verify else row["finish_reason"],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        cost_source=row["cost_source"],
        latency_ms=latency,
        attempts=int(row["attempts"]),
        error=error,
        error_kind=row["error_kind"] if error else None,
        simulated=bool(row["simulated"]),
    )


def trace_from_rows(run: dict[str, Any], steps: list[dict[str, Any]]) -> Trace:
    """Rebuild a Trace from its stored rows (the inverse of trace_rows, minus logprobs)."""
    run = {k: _none_if_nan(v) for k, v in run.items()}
    trace = Trace(
        run_id=run["run_id"],
        created_at=pd.Timestamp(run["created_at"]).to_pydatetime(),
        question=run["question"],
        source=run["source"],
        signal=run["signal"],
        config_fingerprint=run["config_fingerprint"],
        final_answer=run["final_answer"],
        final_tier=run["final_tier"],
        final_tier_index=run["final_tier_index"],
        final_confidence=run["final_confidence"],
        always_large_cost=float(run["always_large_cost"]),
        always_large_estimated=bool(run["always_large_estimated"]),
        error=run["error"],
        item_id=run["item_id"],
        dataset=run["dataset"],
        category=run["category"],
        gold=run["gold"],
        correct=None if run["correct"] is None else bool(run["correct"]),
        overhead_ms=float(run["overhead_ms"]),
        meta=json.loads(run["meta"]) if run["meta"] else {},
    )
    for raw_row in sorted(steps, key=lambda r: r["step_index"]):
        row = {k: _none_if_nan(v) for k, v in raw_row.items()}
        trace.steps.append(
            Step(
                tier_index=int(row["tier_index"]),
                tier_name=row["tier_name"],
                model=row["model"],
                endpoint=row["endpoint"],
                call=_call_from_row(row, verify=False),
                confidence=Confidence(row["answer"], row["confidence_raw"], row["confidence"], row["parse_error"]),
                threshold=row["threshold"],
                decision=row["decision"],
                reason=row["reason"],
                verify_call=_call_from_row(row, verify=True) if row["verify_prompt"] else None,
            )
        )
    return trace
