"""Answers the simulated tiers give: the gold answer, a plausible wrong one, or safe arithmetic for new questions."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cascade_core.cascade.grading import grade
from cascade_core.datasets.loader import Dataset, Item
from cascade_core.simulator.latent import unit

SIMULATED_MARK = "[simulated]"
PLACEHOLDER = f"{SIMULATED_MARK} no answer (this question is not in the simulator's dataset)"

_OPTION = re.compile(r"^\s*\(?([A-J])[.)]\s", re.MULTILINE)
_SPACES = re.compile(r"\s+")


def question_key(text: str) -> str:
    """How questions are matched: stripped, inner whitespace collapsed."""
    return _SPACES.sub(" ", text.strip())


@dataclass(frozen=True)
class Catalog:
    """The questions the simulator knows (with gold answers) and a pool of wrong short texts per category."""

    items: dict[str, Item] = field(default_factory=dict)
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_dataset(cls, dataset: Dataset | None) -> Catalog:
        if dataset is None:
            return cls()
        items = {question_key(item.question): item for item in dataset.items}
        texts: dict[str, list[str]] = {}
        for item in dataset.items:
            if item.answer_type == "text":
                texts.setdefault(item.category, []).append(item.gold)
                texts.setdefault("", []).append(item.gold)
        return cls(items=items, texts={k: tuple(dict.fromkeys(v)) for k, v in texts.items()})

    def find(self, question: str) -> Item | None:
        return self.items.get(question_key(question))


# -- wrong answers --------------------------------------------------------------------------------------------

def _wrong_choice(item: Item, draw: float) -> str:
    letters = list(dict.fromkeys(_OPTION.findall(item.question))) or ["A", "B", "C", "D"]
    others = [letter for letter in letters if letter != item.gold.strip().upper()] or ["A", "B", "C", "D"]
    return str(others[int(draw * len(others))])


def _format_like(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(round(value))


def _wrong_number(item: Item, draw: float) -> str:
    text = item.gold.strip().replace(",", "")
    gold = float(text)
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    step = 10.0**-decimals
    big = max(step, 10.0 ** math.floor(math.log10(abs(gold)))) if gold else 1.0
    deltas = [d for d in (step, -step, 2 * step, -2 * step, big, -big, round(gold * 0.1 / step) * step) if d]
    return _first_wrong([_format_like(gold + d, decimals) for d in deltas], draw, item, "1")


def _wrong_text(item: Item, draw: float, catalog: Catalog) -> str:
    pool = catalog.texts.get(item.category) or catalog.texts.get("") or ()
    return _first_wrong(list(pool), draw, item, "I am not sure")


def _first_wrong(candidates: list[str], draw: float, item: Item, fallback: str) -> str:
    """The candidate the draw points at, or the next one along that does not grade as correct."""
    start = int(draw * len(candidates)) if candidates else 0
    for offset in range(len(candidates)):
        candidate = candidates[(start + offset) % len(candidates)]
        if not grade(candidate, item.gold, item.answer_type) and not grade(item.gold, candidate, item.answer_type):
            return candidate
    return fallback


def answer_for(item: Item, correct: bool, seed: int, model: str, catalog: Catalog) -> str:
    """The gold answer when correct, else a plausible wrong answer of the same type."""
    if correct:
        return item.gold
    draw = unit(seed, model, "wrong", item.question)
    if item.answer_type == "choice":
        return _wrong_choice(item, draw)
    if item.answer_type == "number":
        return _wrong_number(item, draw)
    return _wrong_text(item, draw, catalog)


# -- safe arithmetic for questions the dataset does not hold ("What's 2+2?") -----------------------------------

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}
_EXPRESSION = re.compile(r"[-+*/().\d\s]*\d[-+*/().\d\s]*")
_WORDS = (("×", "*"), ("÷", "/"), (" x ", " * "), (" times ", " * "), (" plus ", " + "), (" minus ", " - "),
          (" divided by ", " / "), (" multiplied by ", " * "))
MAX_EXPRESSION = 80
MAX_MAGNITUDE = 1e15


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        result = _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
        if not math.isfinite(result) or abs(result) > MAX_MAGNITUDE:
            raise ValueError("out of range")
        return result
    raise ValueError("not simple arithmetic")


def simple_arithmetic(question: str) -> str | None:
    """The value of the one arithmetic expression in a question (+ - * / and parentheses only), or None."""
    text = f" {question.lower()} "
    for word, symbol in _WORDS:
        text = text.replace(word, symbol)
    candidates = [m.group().strip() for m in _EXPRESSION.finditer(text)]
    expressions = [c for c in candidates if re.search(r"\d\s*[-+*/]\s*[-(\d.]", c)]
    if len(expressions) != 1 or len(expressions[0]) > MAX_EXPRESSION:
        return None
    try:
        value = _evaluate(ast.parse(expressions[0].rstrip("."), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")
