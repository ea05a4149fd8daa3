"""Example questions to start from on the Query page: bundled items (so they are graded), chosen to show the
cascade's range on the embedded simulator: one the small tier answers, one that escalates once, one that goes
all the way to the last tier, and a hard multi-step one."""

from __future__ import annotations

from dataclasses import dataclass

from cascade_core.datasets.loader import Dataset

PICKS = ("fact-001", "arith-031", "fact-028", "multi-001")


@dataclass(frozen=True)
class Example:
    label: str  # "easy · factual"
    question: str


def example_questions(dataset: Dataset) -> list[Example]:
    """The PICKS items present in `dataset`, labelled by difficulty and category."""
    by_id = {item.id: item for item in dataset.items}
    return [Example(f"{item.difficulty or 'any'} · {item.category}", item.question)
            for item in (by_id.get(pick) for pick in PICKS) if item is not None]
