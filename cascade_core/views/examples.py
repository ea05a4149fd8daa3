"""Example questions to start from on the Query page: one per difficulty of the bundled set (graded, since
they are bundled items), so a first run shows an accepted answer and a harder one shows escalation."""

from __future__ import annotations

from dataclasses import dataclass

from cascade_core.datasets.loader import Dataset

PICKS = (("easy", "factual"), ("medium", "arithmetic"), ("hard", "factual"), ("hard", "multistep"))


@dataclass(frozen=True)
class Example:
    label: str  # "easy · factual"
    question: str


def example_questions(dataset: Dataset) -> list[Example]:
    """The first bundled item of each (difficulty, category) in PICKS that has one, single-line questions only."""
    out: list[Example] = []
    for difficulty, category in PICKS:
        for item in dataset.items:
            if item.difficulty == difficulty and item.category == category and "\n" not in item.question:
                out.append(Example(f"{difficulty} · {category}", item.question))
                break
    return out
