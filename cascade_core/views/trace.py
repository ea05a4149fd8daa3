"""Trace -> display rows and a plain-text table (the CLI prints it; the Query and Runs pages show the rows)."""

from __future__ import annotations

from typing import Any

from cascade_core.cascade.signals.logprob import NO_LOGPROBS
from cascade_core.records import Trace
from cascade_core.views.money import run_money, usd


def format_usd(value: float) -> str:
    """Dollars with a sensible precision (three significant digits below $1)."""
    return usd(value)


def step_display_rows(trace: Trace) -> list[dict[str, Any]]:
    """One dict per step, in order, with every figure a reader of the trace needs."""
    rows = []
    for step in trace.steps:
        conf = step.confidence
        rows.append({
            "step": step.tier_index + 1,
            "tier": step.tier_name,
            "model": step.model,
            "answer": conf.answer if conf.answer is not None else "",
            "confidence_raw": conf.raw,
            "confidence": conf.normalised,
            "threshold": step.threshold,
            "tokens_in": step.tokens_in,
            "tokens_out": step.tokens_out,
            "cost_usd": step.cost,
            "latency_ms": round(step.latency_ms, 1),
            "attempts": step.call.attempts,
            "decision": step.decision,
            "reason": step.reason,
            "simulated": step.call.simulated,
        })
    return rows


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def route_line(trace: Trace) -> str | None:
    """Which semantic route took the question (None when the config has no routes)."""
    info = trace.meta.get("route")
    if not isinstance(info, dict):
        return None
    similarity = info.get("similarity")
    shown = "-" if similarity is None else f"{similarity:.3f}"
    if info.get("name") is None:
        return (f"route: none matched (closest {info.get('closest')!r} at similarity {shown}); "
                f"the cascade started at {info.get('start')}")
    return f"route: {info['name']!r} (similarity {shown}), started at {info.get('start')}"


def format_trace_table(trace: Trace) -> str:
    """The trace as an aligned text table plus a summary, for terminals."""
    headers = ["#", "tier", "model", "answer", "conf", "thr", "tok in/out", "cost", "ms", "decision"]
    body = []
    for row in step_display_rows(trace):
        conf = "-" if row["confidence"] is None else f"{row['confidence']:.2f}"
        thr = "last" if row["threshold"] is None else f"{row['threshold']:.2f}"
        body.append([
            str(row["step"]), row["tier"], _cell(row["model"], 28), _cell(row["answer"], 30), conf, thr,
            f"{row['tokens_in']}/{row['tokens_out']}", format_usd(row["cost_usd"]), f"{row['latency_ms']:.0f}",
            row["decision"],
        ])
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    lines.append("")
    routed = route_line(trace)
    if routed:
        lines.append(f"  {routed}")
    for step in trace.steps:
        lines.append(f"  step {step.tier_index + 1} ({step.tier_name}): {step.reason}")
    lines.append("")
    if trace.error:
        lines.append(f"ERROR: {trace.error}")
    else:
        lines.append(f"answer: {trace.final_answer}  (from {trace.final_tier})")
    if trace.correct is not None:
        lines.append(f"graded against gold {trace.gold!r}: {'correct' if trace.correct else 'incorrect'}")
    money = run_money(trace.total_cost, trace.always_large_cost, estimated=trace.always_large_estimated,
                      failed=trace.error is not None)
    lines.append(f"cost: {money.headline} ({money.detail})")
    lines.append(f"run id: {trace.run_id}" + ("   [SIMULATED tiers]" if trace.simulated else ""))
    return "\n".join(lines)


def trace_notes(trace: Trace, *, with_error: bool = True) -> list[str]:
    """What a user must know about a run beyond its table, each said once: endpoints that sent no logprobs,
    a fallback answer, attempts charged at an estimate, the reason a run has no answer (unless `with_error` is
    false: the trace view shows that in its own box)."""
    notes: list[str] = []
    no_logprobs = [s.tier_name for s in trace.steps if s.confidence.parse_error == NO_LOGPROBS]
    if no_logprobs:
        notes.append(f"tier(s) {', '.join(dict.fromkeys(no_logprobs))} returned no logprobs although the request "
                     "asked for them (logprobs with top_logprobs=1): the logprob signal gives no confidence there, "
                     "so every such tier escalates; use the self_rated or verify signal with this endpoint")
    if trace.fallback:
        notes.append(trace.fallback)
    for index, model in (trace.meta.get("served_by") or {}).items():
        step = trace.steps[int(index)] if int(index) < len(trace.steps) else None
        tier = f"tier '{step.tier_name}'" if step is not None else f"step {int(index) + 1}"
        priced = ("what the proxy booked for it" if step is not None and step.call.cost_source == "proxy_header"
                  else "the tier's prices")
        notes.append(f"{tier} was answered by a proxy's fallback model ({model}), not its own model: that answer "
                     f"and its confidence are another model's, and it is priced at {priced}")
    booked = [s.tier_name for s in trace.steps if s.call.cost_source == "proxy_header"]
    if booked:
        notes.append(f"the cost of tier(s) {', '.join(dict.fromkeys(booked))} is what the proxy booked for each call "
                     "(x-litellm-response-cost), not the config's prices")
    estimated = sum(c.estimated_cost for s in trace.steps for c in (s.call, s.verify_call) if c is not None)
    if estimated:
        notes.append(f"${estimated:.6f} of this run's cost is an estimate (timed-out or cut-off attempts, or "
                     "replies without usage)")
    if trace.error and with_error:
        notes.append(f"no answer: {trace.error}")
    return notes
