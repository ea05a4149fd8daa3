"""Datasets: load and validate JSONL or CSV question sets into immutable `Dataset` records.

Every bad row is reported (up to `MAX_REPORTED`), each naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

ANSWER_TYPES = ("choice", "number", "text")
REQUIRED_FIELDS = ("id", "question", "gold", "answer_type", "category")
MAX_REPORTED = 20
# Shipped inside the package (wheel included), so it loads from any working directory.
BUNDLED_DATASET_PATH = str(resources.files("cascade_core.datasets") / "bundled" / "mixed.jsonl")
# 3,000 generated, checkable questions of mixed difficulty (scripts/generate_bundled.py), after the written ones:
# enough for the first sweep to certify a setting.
BUNDLED_GENERATED_PATH = str(resources.files("cascade_core.datasets") / "bundled" / "generated.jsonl")

_CHOICE_GOLD = re.compile(r"^[A-J]$")


class DatasetError(ValueError):
    """One or more problems in a dataset file; `problems` holds one message per problem."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        self.problems = problems
        total = len(problems) if total is None else total
        message = "\n".join(problems)
        if total > len(problems):
            message += f"\n... and {total - len(problems)} more problems"
        super().__init__(message)


@dataclass(frozen=True)
class Item:
    """One question with its gold answer; `line` is the line it came from (1-based)."""

    id: str
    question: str
    gold: str
    answer_type: str
    category: str
    difficulty: str | None
    line: int


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str
    items: tuple[Item, ...]

    def __len__(self) -> int:
        return len(self.items)

    def by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def by_question(self) -> dict[str, Item]:
        """Items keyed by their question text, stripped of surrounding whitespace."""
        return {item.question.strip(): item for item in self.items}

    def categories(self) -> list[str]:
        """Distinct categories in first-seen order."""
        return list(dict.fromkeys(item.category for item in self.items))


class _Problems:
    """Collects problems for one file, keeping the first `MAX_REPORTED` and counting the rest."""

    def __init__(self, file_label: str) -> None:
        self.file_label = file_label
        self.kept: list[str] = []
        self.total = 0

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_REPORTED:
            where = self.file_label if line is None else f"{self.file_label} line {line}"
            what = f"field {field!r}: " if field else ""
            self.kept.append(f"{where}: {what}{message}")

    def raise_if_any(self) -> None:
        if self.total:
            raise DatasetError(self.kept, self.total)


def _as_text(value: Any) -> str | None:
    """A cell as a stripped string; numbers are accepted (gold 42), other types are not."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.replace(",", "")))
    except ValueError:
        return False


def _check_row(row: dict[str, Any], line: int, problems: _Problems) -> Item | None:
    values: dict[str, str] = {}
    ok = True
    for field in REQUIRED_FIELDS:
        raw = row.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems.add(line, field, "missing or empty")
            ok = False
            continue
        text = _as_text(raw)
        if text is None:
            problems.add(line, field, f"expected a string, got {raw!r}")
            ok = False
            continue
        values[field] = text
    answer_type = values.get("answer_type")
    if answer_type is not None and answer_type not in ANSWER_TYPES:
        problems.add(line, "answer_type", f"expected one of {', '.join(ANSWER_TYPES)}, got {answer_type!r}")
        ok = False
    gold = values.get("gold")
    if gold is not None and answer_type == "choice" and not _CHOICE_GOLD.match(gold):
        problems.add(line, "gold", f"expected a single option letter A-J for a choice item, got {gold!r}")
        ok = False
    if gold is not None and answer_type == "number" and not _is_number(gold):
        problems.add(line, "gold", f"expected a number for a number item, got {gold!r}")
        ok = False
    difficulty = _as_text(row.get("difficulty")) or None
    if not ok:
        return None
    return Item(
        id=values["id"],
        question=values["question"],
        gold=values["gold"],
        answer_type=values["answer_type"],
        category=values["category"],
        difficulty=difficulty,
        line=line,
    )


def _jsonl_rows(text: str, problems: _Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            problems.add(number, None, f"invalid JSON: {err.msg} (column {err.colno})")
            continue
        if not isinstance(row, dict):
            problems.add(number, None, f"expected a JSON object, got {type(row).__name__}")
            continue
        yield number, row


def _csv_rows(text: str, problems: _Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = reader.fieldnames
    if not header:
        return
    header = [name.strip() for name in header]
    reader.fieldnames = header
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    for name in missing:
        problems.add(1, name, "missing from the CSV header")
    if missing:
        return
    for row in reader:
        # line_num is the last physical line of the record (quoted cells may span lines)
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        yield reader.line_num, row


def load_dataset(path: str | Path) -> Dataset:
    """Load a `.jsonl` or `.csv` dataset, raising `DatasetError` listing every bad row."""
    file = Path(path)
    problems = _Problems(file.name)
    suffix = file.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise DatasetError([f"{file.name}: expected a .jsonl or .csv file, got {suffix or 'no extension'!r}"])
    if not file.is_file():
        raise DatasetError([f"{file}: dataset file not found"])
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError([f"{file.name}: not valid UTF-8 text ({err.reason} at byte {err.start})"]) from None

    rows = _jsonl_rows(text, problems) if suffix == ".jsonl" else _csv_rows(text, problems)
    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        item = _check_row(row, line, problems)
        if item is None:
            continue
        if item.id in first_line:
            problems.add(line, "id", f"duplicate id {item.id!r} (first on line {first_line[item.id]})")
            continue
        first_line[item.id] = line
        items.append(item)
    problems.raise_if_any()
    if not items:
        raise DatasetError([f"{file.name}: no items (the file is empty)"])
    return Dataset(name=file.stem, path=str(file), items=tuple(items))


@lru_cache(maxsize=1)
def load_bundled() -> Dataset:
    """The bundled mixed-difficulty dataset: the 314 written questions, then the generated ones (cached)."""
    written, generated = load_dataset(BUNDLED_DATASET_PATH), load_dataset(BUNDLED_GENERATED_PATH)
    return Dataset(name=written.name, path=written.path, items=written.items + generated.items)
