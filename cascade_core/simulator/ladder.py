"""The simulated model ladder: three Llama-3.1-like tiers, their abilities, confidence habits and prices."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from cascade_core.cascade.config import DEFAULT_PRICE_SOURCE
from cascade_core.cascade.pricing import per_million

PRICE_SOURCE = DEFAULT_PRICE_SOURCE  # the embedded default config prices its tiers like the ladder


@dataclass(frozen=True)
class TierSpec:
    """One simulated model. Correct when ability + noise > the question's latent difficulty."""

    name: str
    ability: float  # on the latent difficulty scale (standard-normal-ish)
    noise: float  # sd of the tier-specific per-question noise (small: keeps correctness nested)
    conf_noise: float  # sd of the noise between the true margin and the model's own sense of it
    conf_bias: float  # shifts the confidence up (bigger models say "certain" more often)
    overconfidence: float  # share of wrong answers given as if certain
    verify_yes_if_right: float  # P(says "yes") when asked to check a correct answer
    verify_yes_if_wrong: float  # P(says "yes") when asked to check a wrong answer
    hidden_tokens: int  # completion tokens spent beyond the visible answer (grows with size)
    input_price: float  # USD per million tokens
    output_price: float


LADDER: MappingProxyType[str, TierSpec] = MappingProxyType({
    spec.name: spec
    for spec in (
        TierSpec("sim-llama-3.1-8b", ability=0.46, noise=0.3, conf_noise=1.3, conf_bias=0.0,
                 overconfidence=0.05, verify_yes_if_right=0.88, verify_yes_if_wrong=0.40, hidden_tokens=6,
                 input_price=0.20, output_price=0.20),
        TierSpec("sim-llama-3.1-70b", ability=1.11, noise=0.3, conf_noise=1.3, conf_bias=0.1,
                 overconfidence=0.05, verify_yes_if_right=0.92, verify_yes_if_wrong=0.25, hidden_tokens=9,
                 input_price=0.90, output_price=0.90),
        TierSpec("sim-llama-3.1-405b", ability=1.30, noise=0.3, conf_noise=1.3, conf_bias=0.0,
                 overconfidence=0.05, verify_yes_if_right=0.95, verify_yes_if_wrong=0.15, hidden_tokens=12,
                 input_price=3.00, output_price=3.00),
    )
})
MODEL_NAMES: tuple[str, ...] = tuple(LADDER)

# Shifts of the latent difficulty by the item's labelled difficulty and category (hard and multistep are harder).
# "trivial" marks the generated bundled questions a small model all but never misses (lookups, one-digit sums).
DIFFICULTY_SHIFT: MappingProxyType[str, float] = MappingProxyType({"trivial": -2.0, "easy": -0.9, "medium": 0.0,
                                                                   "hard": 0.9})
CATEGORY_SHIFT: MappingProxyType[str, float] = MappingProxyType({
    "factual": -0.15, "classification": -0.1, "arithmetic": -0.2, "reasoning": 0.15, "multistep": 0.3,
})


def tier(model: str) -> TierSpec | None:
    return LADDER.get(model)


def cost_usd(spec: TierSpec, prompt_tokens: int, completion_tokens: int) -> float:
    """What the call would cost at the built-in list price."""
    return per_million(prompt_tokens, completion_tokens, spec.input_price, spec.output_price)
