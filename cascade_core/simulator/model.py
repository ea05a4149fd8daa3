"""The pure simulator: a chat request in, a deterministic reply out. No I/O, no clock, no shared state.

Modes are picked from the request's system prompt: each confidence signal (cascade_core/cascade/signals/) names
its prompt and the reply style it expects (JSON with a self-rating, or a plain answer), and a signal with a verify
rule adds its verify prompt. `default_modes()`
is the extension point: add an entry (a detector and a handler) to support a new kind of request, e.g. a judge.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cascade_core.cascade.grading import grade
from cascade_core.cascade.signals.registry import SIGNALS
from cascade_core.simulator import judge as judge_mode
from cascade_core.simulator.answers import PLACEHOLDER, SIMULATED_MARK, Catalog, answer_for, simple_arithmetic
from cascade_core.simulator.ladder import TierSpec, tier
from cascade_core.simulator.latent import judge, latent_difficulty, rating_of, unit

Piece = tuple[str, float]  # a piece of output text and its log-probability


@dataclass(frozen=True)
class SimRequest:
    model: str
    messages: list[dict[str, str]]  # role and (text) content
    seed: int = 0
    json_mode: bool = False
    max_tokens: int | None = None


@dataclass(frozen=True)
class ModeContext:
    """What a mode handler sees."""

    spec: TierSpec
    seed: int
    system: str | None
    question: str  # the last user message
    catalog: Catalog
    json_mode: bool


@dataclass(frozen=True)
class SimReply:
    content: str
    pieces: tuple[Piece, ...]  # the content split into tokens with log-probabilities
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int
    mode: str
    known: bool  # the question is in the simulator's dataset


Detector = Callable[[ModeContext], bool]
Handler = Callable[[ModeContext], tuple[tuple[Piece, ...], bool]]  # -> (pieces, question known)


@dataclass(frozen=True)
class Mode:
    detect: Detector
    handle: Handler


class UnknownModel(LookupError):
    """The requested model is not one of the simulated tiers."""


# -- answering --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Answer:
    text: str
    probability: float
    rating: int
    known: bool


def _answer(ctx: ModeContext) -> _Answer:
    item = ctx.catalog.find(ctx.question)
    if item is not None:
        difficulty = latent_difficulty(ctx.seed, item.question, item.difficulty, item.category)
        judgement = judge(ctx.spec, ctx.seed, item.question, difficulty)
        text = answer_for(item, judgement.correct, ctx.seed, ctx.spec.name, ctx.catalog)
        return _Answer(text, judgement.probability, judgement.rating, True)
    value = simple_arithmetic(ctx.question)
    if value is not None:
        probability = 0.8 + 0.19 * unit(ctx.seed, ctx.spec.name, "arith", ctx.question)
        return _Answer(f"{SIMULATED_MARK} {value}", probability, rating_of(probability), False)
    probability = 0.2 + 0.25 * unit(ctx.seed, ctx.spec.name, "placeholder", ctx.question)
    return _Answer(PLACEHOLDER, probability, rating_of(probability), False)


def _self_rated(ctx: ModeContext) -> tuple[tuple[Piece, ...], bool]:
    answer = _answer(ctx)
    pieces = (('{"answer": "', 0.0), (json.dumps(answer.text)[1:-1], math.log(answer.probability)),
              ('", "confidence": ', 0.0), (str(answer.rating), 0.0), ("}", 0.0))
    return pieces, answer.known


def _plain(ctx: ModeContext) -> tuple[tuple[Piece, ...], bool]:
    answer = _answer(ctx)
    return ((answer.text, math.log(answer.probability)),), answer.known


# -- verifying --------------------------------------------------------------------------------------------------

_VERIFY = re.compile(r"<question>\s*(.*?)\s*</question>\s*<proposed_answer>\s*(.*?)\s*</proposed_answer>", re.DOTALL)


def _verify(ctx: ModeContext) -> tuple[tuple[Piece, ...], bool]:
    match = _VERIFY.search(ctx.question)
    question, proposed = (match.group(1), match.group(2)) if match else (ctx.question, "")
    item = ctx.catalog.find(question)
    draw = unit(ctx.seed, ctx.spec.name, "verify", question, proposed)
    sure = unit(ctx.seed, ctx.spec.name, "verify-p", question, proposed)
    if item is not None:
        right = grade(proposed, item.gold, item.answer_type)
    else:
        value = simple_arithmetic(question)
        right = value is not None and grade(proposed, value, "number")
        if value is None:  # nothing to check against: a hesitant yes
            return (("yes", math.log(0.5 + 0.1 * sure)),), False
    p_yes = ctx.spec.verify_yes_if_right if right else ctx.spec.verify_yes_if_wrong
    says_yes = draw < p_yes
    mistaken = says_yes != right
    p_word = (0.55 + 0.3 * sure) if mistaken else (0.7 + 0.29 * sure)
    return (("yes" if says_yes else "no", math.log(p_word)),), item is not None


# -- modes ------------------------------------------------------------------------------------------------------

_STYLES: dict[str, Handler] = {"json": _self_rated, "plain": _plain}
_STYLE_MODES = {"json": "self_rated", "plain": "plain"}


def _prompt_is(text: str) -> Detector:
    return lambda ctx: ctx.system == text


def default_modes() -> dict[str, Mode]:
    """Mode name -> (detector, handler), tried in order: every signal's verify prompt, every signal's answer
    prompt (by its reply style), then the audit judge. Extension point: add an entry for a new kind of request."""
    modes: dict[str, Mode] = {}
    for signal in SIGNALS.values():
        if signal.verify is not None:
            modes.setdefault("verify", Mode(_prompt_is(signal.verify.system_prompt), _verify))
    for signal in SIGNALS.values():
        name = _STYLE_MODES[signal.reply_style]
        if name in modes:
            previous = modes[name].detect
            modes[name] = Mode(_either(previous, _prompt_is(signal.system_prompt)), _STYLES[signal.reply_style])
        else:
            modes[name] = Mode(_prompt_is(signal.system_prompt), _STYLES[signal.reply_style])
    modes["judge"] = Mode(judge_mode.detect, judge_mode.handle)  # audits: cascade_core/simulator/judge.py
    return modes


def _either(first: Detector, second: Detector) -> Detector:
    return lambda ctx: first(ctx) or second(ctx)


def _fallback(ctx: ModeContext) -> str:
    """Any other prompt: JSON when JSON was asked for, else a plain answer."""
    return "self_rated" if ctx.json_mode else "plain"


# -- tokens -----------------------------------------------------------------------------------------------------

def count_tokens(text: str) -> int:
    """About four characters per token."""
    return math.ceil(len(text) / 4)


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(count_tokens(m.get("content") or "") + 4 for m in messages) + 3


def _fit(pieces: tuple[Piece, ...], budget: int) -> tuple[Piece, ...]:
    """The pieces cut to at most `budget` tokens (about 4 * budget characters)."""
    return cut(pieces, budget * 4)


def cut(pieces: tuple[Piece, ...], room: int) -> tuple[Piece, ...]:
    """The pieces cut to at most `room` characters (also used for the truncation fault)."""
    kept: list[Piece] = []
    for text, logprob in pieces:
        if room <= 0:
            break
        kept.append((text[:room], logprob))
        room -= len(text)
    return tuple(kept)


def simulate(request: SimRequest, catalog: Catalog, modes: Mapping[str, Mode] | None = None) -> SimReply:
    """The reply of one simulated tier to one chat request (deterministic in seed, model and messages)."""
    spec = tier(request.model)
    if spec is None:
        raise UnknownModel(request.model)
    system = next((m.get("content") for m in request.messages if m.get("role") == "system"), None)
    question = next((m.get("content") or "" for m in reversed(request.messages) if m.get("role") == "user"), "")
    ctx = ModeContext(spec, request.seed, system, question, catalog, request.json_mode)
    table = default_modes() if modes is None else modes
    name = next((key for key, mode in table.items() if mode.detect(ctx)), None) or _fallback(ctx)
    pieces, known = table[name].handle(ctx)
    visible = count_tokens("".join(text for text, _ in pieces))
    hidden = spec.hidden_tokens + int(4 * unit(request.seed, spec.name, "hidden", question))
    finish = "stop"
    completion = visible + hidden
    if request.max_tokens is not None and completion > request.max_tokens:
        completion = request.max_tokens
        if visible > request.max_tokens:
            pieces, finish = _fit(pieces, request.max_tokens), "length"
    return SimReply(
        content="".join(text for text, _ in pieces),
        pieces=pieces,
        finish_reason=finish,
        prompt_tokens=prompt_tokens(request.messages),
        completion_tokens=completion,
        mode=name,
        known=known,
    )
