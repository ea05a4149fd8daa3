"""Each step of a trace as a reader sees it: a status pill with its reason in the signal's own units
("escalated: 2 of 5 < 4", "error: 429 after 4 attempts"), and a table with readable headers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from cascade_core.records import Decision, SignalName, Step, TierCall, Trace
from cascade_core.views.money import usd

PillColour = Literal["green", "blue", "orange", "red", "gray"]
COLOURS: dict[str, PillColour] = {"accepted": "green", "final": "blue", "escalated": "orange", "error": "red"}
_STATUS = re.compile(r"\b([45]\d\d)\b")


_KIND_WORDS = {"timeout": "timeout", "connection": "connection failed", "refused": "connection refused",
               "dns": "host not found", "tls": "TLS error", "bad_response": "unreadable response"}


@dataclass(frozen=True)
class StepStatus:
    decision: Decision
    text: str  # the pill: "escalated: 2 of 5 < 4"
    colour: PillColour
    problem: str | None  # "parse error", "429 after 4 attempts", "cut off": what went wrong, if anything


def level_needed(threshold: float) -> int:
    """The lowest 1-5 self-rating a normalised threshold accepts ((c - 1) / 4 >= t)."""
    return max(1, min(5, math.ceil(round(threshold * 4, 9)) + 1))


LEVELS = (1, 2, 3, 4, 5)  # the self-rated scale


def level_threshold(level: int) -> float:
    """The normalised threshold that accepts `level` and above: (level - 1) / 4."""
    return (level - 1) / 4


def accepts_text(level: int) -> str:
    """A self-rated threshold as a person reads it: "4 or 5", "5 only", "any (1-5)"."""
    if level <= 1:
        return "any (1-5)"
    if level >= 5:
        return "5 only"
    return f"{level} or more" if level < 4 else "4 or 5"


def confidence_text(step: Step, signal: SignalName) -> str:
    """The confidence in the signal's own units: "4 of 5" for self-rated, "0.82" for probabilities."""
    conf = step.confidence
    if signal == "self_rated" and conf.raw is not None and conf.normalised is not None:
        return f"{conf.raw:g} of 5"
    return "none" if conf.normalised is None else f"{conf.normalised:.2f}"


def needed_text(step: Step, signal: SignalName) -> str:
    """What the step needed to be accepted: "≥ 4 of 5", "≥ 0.75", or "last tier" (it always answers)."""
    if step.threshold is None:
        return "last tier"
    return f"≥ {level_needed(step.threshold)} of 5" if signal == "self_rated" else f"≥ {step.threshold:.2f}"


def call_failure(call: TierCall) -> str:
    """"429 after 4 attempts", "timeout after 3 attempts", "HTTP 503 after 4 attempts"."""
    attempts = f"after {call.attempts} attempt{'s' if call.attempts != 1 else ''}"
    found = _STATUS.search(call.error or "")
    if call.error_kind == "rate_limit":
        what = "429"
    elif call.error_kind in ("server", "bad_request", "auth") and found:
        what = found.group(1)
    elif call.error_kind in _KIND_WORDS:
        what = _KIND_WORDS[call.error_kind]
    else:
        what = found.group(1) if found else "call failed"
    return f"{what} {attempts}"


def _compare(step: Step, signal: SignalName) -> str:
    conf = step.confidence.normalised
    assert conf is not None and step.threshold is not None
    if signal == "self_rated" and step.confidence.raw is not None:
        return f"{step.confidence.raw:g} of 5 {'≥' if conf >= step.threshold else '<'} {level_needed(step.threshold)}"
    return f"{conf:.2f} {'≥' if conf >= step.threshold else '<'} {step.threshold:.2f}"


def step_status(step: Step, signal: SignalName) -> StepStatus:
    """The decision and its reason, short enough for a pill."""
    colour = COLOURS.get(step.decision, "gray")
    failed = step.call if not step.call.ok else step.verify_call if step.verify_call and not step.verify_call.ok \
        else None
    if failed is not None:
        what = ("verify " if failed is step.verify_call else "") + call_failure(failed)
        tail = "; no answer" if step.threshold is None else ""
        return StepStatus("error", f"error: {what}{tail}", "red", what)
    parse_error = step.confidence.parse_error
    cut_off = step.call.finish_reason == "length"
    problem = "reply cut off (max tokens)" if cut_off else ("unreadable reply" if parse_error else None)
    if step.decision == "final":
        shown = f"confidence {confidence_text(step, signal)}" if problem is None else problem
        return StepStatus("final", f"final: last tier answers ({shown})", colour, problem)
    if step.confidence.normalised is None or step.threshold is None:
        return StepStatus(step.decision, f"{step.decision}: {problem or 'no confidence'}", colour,
                          problem or "no confidence")
    return StepStatus(step.decision, f"{step.decision}: {_compare(step, signal)}", colour, problem)


def failure_text(error: str) -> str:
    """A failed run's headline: "Failed: no tier could answer: the last tier 'large' failed (...)", said once."""
    return f"Failed: {error}" if error.startswith("no tier could answer") else f"Failed: no tier could answer. {error}"


def step_table(trace: Trace) -> list[dict[str, Any]]:
    """Every figure per step, under headers people read ("Confidence", not confidence_raw)."""
    rows = []
    for step in trace.steps:
        status = step_status(step, trace.signal)
        rows.append({
            "#": step.tier_index + 1,
            "Tier": step.tier_name,
            "Model": step.model,
            "Decision": status.text,
            "Confidence": confidence_text(step, trace.signal),
            "Needed": needed_text(step, trace.signal),
            "Tokens in / out": f"{step.tokens_in:,} / {step.tokens_out:,}",
            "Cost": usd(step.cost),
            "Latency": f"{step.latency_ms:,.0f} ms",
            "Attempts": step.call.attempts + (step.verify_call.attempts if step.verify_call else 0),
        })
    return rows
