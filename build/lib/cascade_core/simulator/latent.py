"""Deterministic latent draws: one difficulty per question shared by every tier, per-tier noise, confidence.

Every draw is a hash of (seed, salt, question), so the same seed, model and question always give the same result.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist

from cascade_core.simulator.ladder import CATEGORY_SHIFT, DIFFICULTY_SHIFT, TierSpec

_STD_NORMAL = NormalDist()
_SCALE = float(2**64)


def unit(seed: int, *parts: str) -> float:
    """A uniform number in (0, 1) determined by the seed and the parts."""
    digest = hashlib.blake2b("\x1f".join((str(seed), *parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _SCALE


def normal(seed: int, *parts: str) -> float:
    """A standard-normal number determined by the seed and the parts."""
    return _STD_NORMAL.inv_cdf(unit(seed, *parts))


def latent_difficulty(seed: int, question: str, difficulty: str | None, category: str | None) -> float:
    """The question's one difficulty, shared by all tiers, shifted by its labelled difficulty and category."""
    shift = DIFFICULTY_SHIFT.get(difficulty or "", 0.0) + CATEGORY_SHIFT.get(category or "", 0.0)
    return shift + normal(seed, "difficulty", question)


@dataclass(frozen=True)
class Judgement:
    """What a tier 'knows' about one question: right or wrong, and how sure it says it is."""

    correct: bool
    margin: float  # ability + noise - difficulty (> 0 means correct)
    probability: float  # the answer token's probability (logprob mode)
    rating: int  # self-rated 1-5


def rating_of(probability: float) -> int:
    """Self-rated confidence 1-5 from a probability."""
    for rating, floor in ((5, 0.88), (4, 0.7), (3, 0.5), (2, 0.3)):
        if probability >= floor:
            return rating
    return 1


def judge(spec: TierSpec, seed: int, question: str, difficulty: float) -> Judgement:
    """Correctness and confidence of one tier on one question."""
    margin = spec.ability + spec.noise * normal(seed, spec.name, "noise", question) - difficulty
    correct = margin > 0
    sensed = margin + spec.conf_noise * normal(seed, spec.name, "confidence", question)
    probability = 1.0 / (1.0 + math.exp(-(1.4 * sensed + 0.7 + spec.conf_bias)))
    if not correct and unit(seed, spec.name, "overconfident", question) < spec.overconfidence:
        probability = 0.9 + 0.09 * unit(seed, spec.name, "overconfident-p", question)  # confidently wrong
    probability = min(max(probability, 0.02), 0.995)
    return Judgement(correct=correct, margin=margin, probability=probability, rating=rating_of(probability))
