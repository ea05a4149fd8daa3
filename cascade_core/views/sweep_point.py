"""An operating point in words a product manager reads: thresholds in the signal's own units, the change against
the configured setting, the certified recommendation in one sentence, and the cascade.toml lines that set it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from cascade_core.sweep.analysis import SweepResult
from cascade_core.sweep.certify import Certification
from cascade_core.sweep.frontier import FrontierPoint

SELF_RATED_LEVELS = 5  # self-rated confidence 1-5, normalised as (c - 1) / 4


def rating_floor(value: float) -> int:
    """The lowest self-rating (1-5) a normalised threshold accepts; 6 when it accepts none."""
    if value > 1:
        return SELF_RATED_LEVELS + 1
    return max(1, math.ceil(value * (SELF_RATED_LEVELS - 1) + 1 - 1e-9))


def accept_words(value: float, signal: str | None) -> str:
    """'accept 4 or 5' for self-rated confidence; 'accept at confidence ≥ 0.83' for continuous signals."""
    if signal == "self_rated":
        low = rating_floor(value)
        if low > SELF_RATED_LEVELS:
            return "never accept"
        if low == SELF_RATED_LEVELS:
            return "accept 5 only"
        if low == 1:
            return "accept any rating"
        levels = [str(r) for r in range(low, SELF_RATED_LEVELS + 1)]
        return "accept " + ", ".join(levels[:-1]) + " or " + levels[-1]
    if value > 1:
        return "never accept"
    return f"accept at confidence ≥ {value:.2f}" if value > 0 else "accept every answer"


def skip_words(value: float, signal: str | None, last: str) -> str:
    if signal == "self_rated":
        below = rating_floor(value)
        return f"below {below} straight to {last}" if below > 1 else ""
    return f"below {value:.2f} straight to {last}" if value > 0 else ""


def describe_point(point: FrontierPoint | None, tiers: Sequence[str], signal: str | None = None) -> str:
    """'small: accept 4 or 5 (below 2 straight to large) · mid: accept 5 only' or 'call large alone'."""
    if point is None or not point.thresholds:
        return f"call {tiers[-1]} alone" if point is None else (point.label or point.kind)
    parts = [f"{tier}: not called" for tier in tiers[: point.start]]
    for k, (tier, value) in enumerate(zip(tiers, point.thresholds, strict=False)):
        if k < point.start:
            continue
        text = f"{tier}: {accept_words(value, signal)}"
        skip = skip_words(point.skip[k], signal, tiers[-1]) if k < len(point.skip) else ""
        parts.append(text + (f" ({skip})" if skip else ""))
    if point.abstain is not None:
        parts.append(f"{tiers[-1]}: abstain below {point.abstain:.2f}")
    return " · ".join(parts)


def versus_current(point: FrontierPoint, current: FrontierPoint | None, large: FrontierPoint,
                   signal: str | None = None, tiers: Sequence[str] = ()) -> str | None:
    """'+12.0 points savings, -0.4 points accuracy vs your current setting (small: accept 4 or 5 · mid: accept 4 or
    5)': both in percentage points of the figures shown beside it (savings as a share of always-large cost), so 77.0%
    -> 74.4% savings reads -2.6 points, not "-3%". None without a current setting."""
    if current is None or large.cost_per_1k <= 0:
        return None
    now = describe_point(current, tiers, signal) if tiers else "/".join(f"{v:.2f}" for v in current.thresholds)
    savings = (current.cost_per_1k - point.cost_per_1k) / large.cost_per_1k
    points = (point.accuracy - current.accuracy) * 100
    if abs(savings) < 5e-4 and abs(points) < 0.05:
        return f"the same outcome as your current setting ({now})"
    return f"{savings * 100:+.1f} points savings, {points:+.1f} points accuracy vs your current setting ({now})"


def toml_snippet(point: FrontierPoint | None, tiers: Sequence[str]) -> str:
    """The cascade.toml lines that set this operating point (top-level keys, before any [table])."""
    if point is None:  # the last tier alone: nothing earlier accepts
        return "# no cascade setting is certified: call the last tier directly, without a cascade"
    lines = ["thresholds = [" + ", ".join(_num(v) for v in point.thresholds) + "]"]
    if point.start:
        lines.append(f'start_tier = "{tiers[point.start]}"')
    if any(v > 0 for v in point.skip):
        lines.append("skip_below = [" + ", ".join(_num(v) for v in point.skip) + "]")
    if point.abstain is not None:
        lines.append(f"abstain_below = {_num(point.abstain)}")
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{min(max(value, 0.0), 1.0):.6g}"


def certified_sentence(cert: Certification | None, tiers: Sequence[str], signal: str | None = None) -> str:
    """What to set and how sure, in one sentence."""
    if cert is None:
        return "No recommendation: there is no cascade curve (no confidence values) or no split to certify on."
    if cert.point is None:
        return cert.statement
    return f"Set {describe_point(cert.point, tiers, signal)}. {cert.statement}"


def no_recommendation(result: SweepResult) -> str:
    """Why a sweep has no certified setting, naming the one reason that applies."""
    if not result.has_confidence:
        return ("No recommendation: the results hold no confidence values for the non-final tiers, so no "
                "threshold can accept an answer; only the always-<tier> references and the oracle are shown.")
    return ("No recommendation: there is no calibration / held-out split to certify on (the notes say why); "
            "the figures are on all questions.")


def step_label(point: FrontierPoint, tiers: Sequence[str], signal: str | None) -> str:
    """A slider stop: the setting in the signal's units, then what it buys."""
    return (f"{describe_point(point, tiers, signal)} → {point.accuracy:.1%} accuracy, "
            f"${point.cost_per_1k:,.4f} per 1,000")


def config_snippet(values: Mapping[str, object], tiers: Sequence[str], signal: str | None = None) -> str:
    """The cascade.toml lines of a config's operating point (`values` as sweep.service.point_config gives them),
    with the thresholds read in the signal's units as a comment ('# small: accept 4 or 5 · mid: accept 5 only')."""
    lines = []
    thresholds = values.get("thresholds")
    start = values.get("start_tier")
    if isinstance(thresholds, Sequence):
        skip = values.get("skip_below")
        skips = list(skip) if isinstance(skip, Sequence) else []
        words = []
        called = False
        for k, (tier, value) in enumerate(zip(tiers, thresholds, strict=False)):
            called = called or start is None or tier == start
            if not called:
                continue
            text = accept_words(float(value), signal)
            if k < len(skips) and 0 < float(value) <= skips[k]:  # every other answer goes straight to the last tier
                words.append(f"{tier}: {text}, else {tiers[-1]}")
                break
            if k < len(skips) and skips[k] > 0:
                text += f" ({skip_words(skips[k], signal, tiers[-1])})"
            words.append(f"{tier}: {text}")
        lines.append("# " + " · ".join(words))
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, Sequence):
            lines.append(f"{key} = [" + ", ".join(_num(float(v)) for v in value) + "]")
        else:
            lines.append(f"{key} = {_num(float(value))}")  # type: ignore[arg-type]
    return "\n".join(lines)


Tone = Literal["success", "warning", "info"]


def recommendation_lines(result: SweepResult, signal: str | None = None) -> list[tuple[Tone, str]]:
    """What the recommendation box says, first line first: the certified advice, then (when a cheaper reference
    beats every cascade setting) that better choice, worded so the two never contradict each other."""
    cert = result.certified
    lines: list[tuple[Tone, str]] = []
    if cert is None:
        lines.append(("info", no_recommendation(result)))
    elif cert.point is None:
        lines.append(("warning", cert.statement))
    else:
        lines.append(("success", certified_sentence(cert, result.tiers, signal)))
    ref = result.view.dominating
    if ref is not None:
        name = ref.label.removeprefix("always ")
        figures = f"{ref.accuracy:.1%} accuracy at ${ref.cost_per_1k:,.4f} per 1,000"
        point = cert.point if cert is not None else None
        if cert is not None and point is not None and _answered_by(point, result.tiers) == name:
            return [("success", f"Call {name} alone (the certified setting sends every question to {name}: "
                                f"{figures}, and no cascade setting does better). {cert.statement}")]
        if cert is not None and point is None:
            lines.append(("info", f"Cheaper, with less quality: {name} alone ({figures}) beats every cascade "
                                  f"setting (none is more accurate, none is as accurate for less). If {name}'s "
                                  f"accuracy is enough for you, call {name} alone instead of {result.tiers[-1]}."))
        else:
            lines.append(("info", f"The better choice than any cascade setting here is {name} alone ({figures}): "
                                  "no setting is more accurate and none is as accurate for less."))
    return lines


def _answered_by(point: FrontierPoint, tiers: Sequence[str]) -> str | None:
    """The one tier answering every question under `point`, if there is one."""
    for tier, share in zip(tiers, point.tier_share, strict=False):
        if share > 1 - 1e-9:
            return tier
    return None
