"""Fault injection: per-call random draws of 500s, 429s, garbage and truncated output (retries can succeed)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from cascade_core.cascade.config import SimulatorConfig
from cascade_core.simulator.model import Piece, cut

_GARBAGE = (
    "<|eot_id|>assistant\n\n<|start_header_id|> ]]} {{answer confidence ?? ###",
    "I I I I I I I I I I \ufffd\ufffd\ufffd <|reserved_special_token_12|>",
    "Sure! Here's what I think\u2026 the the the }{ )( [[[ %%%",
    "\ufffd\ufffd\x0b\x0c null null null <|end_of_text|><|end_of_text|>",
)


def knob(settings: SimulatorConfig, model: str, name: str) -> float:
    """A fault knob for one model: its per-model override, else the global value."""
    override = settings.faults_by_model.get(model)
    if override is not None and name in override:
        return float(override[name])
    return float(getattr(settings, name))


@dataclass(frozen=True)
class Faults:
    """What goes wrong with one call."""

    status: int | None = None  # 429 or 500 instead of a reply
    malformed: bool = False
    truncated: bool = False


NO_FAULTS = Faults()


def _hit(rng: random.Random, rate: float) -> bool:
    return rate > 0 and rng.random() < rate


def draw(settings: SimulatorConfig, model: str, rng: random.Random) -> Faults:
    """Independent draws for this call: rate limit first, then server error, then the output faults."""
    if _hit(rng, knob(settings, model, "rate_limit_rate")):
        return Faults(status=429)
    if _hit(rng, knob(settings, model, "error_rate")):
        return Faults(status=500)
    malformed = _hit(rng, knob(settings, model, "malformed_rate"))
    truncated = _hit(rng, knob(settings, model, "truncate_rate"))
    if not (malformed or truncated):
        return NO_FAULTS
    return Faults(malformed=malformed, truncated=truncated)


def garbage(rng: random.Random) -> tuple[Piece, ...]:
    """Output that is neither JSON nor a usable answer."""
    return ((rng.choice(_GARBAGE), -2.5),)


def truncate(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    """The output cut to about half its length (always at least one character shorter)."""
    total = sum(len(text) for text, _ in pieces)
    return cut(pieces, max(0, min(total - 1, total // 2)))
