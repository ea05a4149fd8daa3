"""An operating point in words a product manager reads: thresholds in the signal's own units, the change against
the configured setting, the certified recommendation in one sentence, and the cascade.toml lines that set it."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def short_setting(thresholds: Sequence[float], signal: str | None) -> str:
    """'4/4' for self-rated (lowest accepted rating per tier), '0.75/0.75' otherwise."""
    if signal == "self_rated":
        return "/".join(str(min(rating_floor(v), 5)) if v <= 1 else "never" for v in thresholds)
    return "/".join(f"{v:.2f}" for v in thresholds)


def versus_current(point: FrontierPoint, current: FrontierPoint | None, large: FrontierPoint,
                   signal: str | None = None) -> str | None:
    """'+12% savings, -0.4 points accuracy vs your current 4/4' (None without a current setting)."""
    if current is None or large.cost_per_1k <= 0:
        return None
    savings = (current.cost_per_1k - point.cost_per_1k) / large.cost_per_1k
    points = (point.accuracy - current.accuracy) * 100
    if abs(savings) < 5e-4 and abs(points) < 0.05:
        return f"same as your current {short_setting(current.thresholds, signal)}"
    return (f"{savings:+.0%} savings, {points:+.1f} points accuracy vs your current "
            f"{short_setting(current.thresholds, signal)}")


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


def config_values(point: FrontierPoint, tiers: Sequence[str]) -> dict[str, object]:
    """The config keys `set_operating_point` writes for this point (None removes a key)."""
    return {"thresholds": [min(max(v, 0.0), 1.0) for v in point.thresholds],
            "skip_below": [min(max(v, 0.0), 1.0) for v in point.skip] if any(v > 0 for v in point.skip) else None,
            "abstain_below": point.abstain, "start_tier": tiers[point.start] if point.start else None}


def step_label(point: FrontierPoint, tiers: Sequence[str], signal: str | None) -> str:
    """A slider stop: the setting in the signal's units, then what it buys."""
    return (f"{describe_point(point, tiers, signal)} → {point.accuracy:.1%} accuracy, "
            f"${point.cost_per_1k:,.4f} per 1,000")
