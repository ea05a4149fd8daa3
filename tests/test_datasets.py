"""Dataset loading and validation: the bundled set, and bad JSONL/CSV files that must be reported clearly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cascade_core.cascade.grading import grade
from cascade_core.datasets.loader import BUNDLED_DATASET_PATH, Dataset, DatasetError, Item, load_bundled, load_dataset

CATEGORIES = {"factual", "arithmetic", "classification", "reasoning", "multistep"}

GOOD_ROW = {
    "id": "q-001",
    "question": "What is 2 + 2?",
    "gold": "4",
    "answer_type": "number",
    "category": "arithmetic",
    "difficulty": "easy",
}


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(**changes: object) -> dict:
    data = dict(GOOD_ROW)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# -- the bundled dataset --------------------------------------------------------------------------------------


def test_bundled_loads_with_enough_items() -> None:
    dataset = load_bundled()
    assert isinstance(dataset, Dataset)
    assert dataset.name == "mixed"
    assert Path(BUNDLED_DATASET_PATH).is_absolute()
    assert len(dataset.items) >= 240
    assert load_bundled() is dataset  # cached


def test_bundled_categories_and_difficulties() -> None:
    items = load_dataset(BUNDLED_DATASET_PATH).items  # the written questions
    per_category = Counter(item.category for item in items)
    assert set(per_category) == CATEGORIES
    assert all(count >= 40 for count in per_category.values()), per_category
    assert {item.difficulty for item in items} == {"easy", "medium", "hard"}
    assert {item.answer_type for item in items} == {"choice", "number", "text"}


def test_bundled_adds_a_generated_mixed_difficulty_set() -> None:
    items = load_bundled().items
    assert len(items) >= 3_300 and items[0].id == load_dataset(BUNDLED_DATASET_PATH).items[0].id
    generated = [i for i in items if i.id.startswith("gen-")]
    levels = Counter(i.difficulty for i in generated)
    assert len(generated) == 3_000 and set(levels) == {"trivial", "easy", "medium", "hard"}
    assert levels["hard"] >= 300  # a real share needs the big model


def test_bundled_ids_and_questions_unique() -> None:
    items = load_bundled().items
    assert len({item.id for item in items}) == len(items)
    assert len({item.question.strip() for item in items}) == len(items)
    dataset = load_bundled()
    assert len(dataset.by_id()) == len(items)
    assert len(dataset.by_question()) == len(items)


def test_bundled_golds_grade_against_themselves() -> None:
    for item in load_bundled().items:
        assert grade(item.gold, item.gold, item.answer_type), item


def test_bundled_choice_items_list_their_gold_option() -> None:
    for item in load_bundled().items:
        if item.answer_type == "choice":
            assert f"\n{item.gold}. " in item.question, item.id


def test_lookups() -> None:
    dataset = load_bundled()
    first = dataset.items[0]
    assert dataset.by_id()[first.id] is first
    assert dataset.by_question()[first.question.strip()] is first
    assert first.line == 1


# -- good files -----------------------------------------------------------------------------------------------


def test_jsonl_loads_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "small.jsonl", [row(), "", row(id="q-002", gold=7, extra="ignored")])
    dataset = load_dataset(path)
    assert dataset.name == "small"
    assert [item.line for item in dataset.items] == [1, 3]
    assert dataset.items[1] == Item("q-002", "What is 2 + 2?", "7", "number", "arithmetic", "easy", 3)


def test_csv_loads(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text(
        "id,question,gold,answer_type,category,notes\n"
        'c-1,"Pick one:\nA. red\nB. blue",B,choice,classification,ignored\n'
        "c-2,Capital of France?,Paris,text,factual,\n",
        encoding="utf-8",
    )
    dataset = load_dataset(path)
    assert [item.id for item in dataset.items] == ["c-1", "c-2"]
    assert dataset.items[0].question.endswith("B. blue")
    assert dataset.items[1].difficulty is None


# -- bad files ------------------------------------------------------------------------------------------------


def test_bad_answer_type_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [row(), row(id="q-002", answer_type="bool")])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert str(err.value) == (
        "mixed.jsonl line 2: field 'answer_type': expected one of choice, number, text, got 'bool'"
    )


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (row(question=None), "question"),
        (row(question="   "), "question"),
        (row(gold="B2", answer_type="choice"), "gold"),
        (row(gold="b", answer_type="choice"), "gold"),
        (row(gold="four", answer_type="number"), "gold"),
        (row(category=""), "category"),
        (row(id=["x"]), "id"),
    ],
)
def test_each_bad_field_is_reported(tmp_path: Path, bad: dict, field: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row(id="ok-1"), bad])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert f"bad.jsonl line 2: field '{field}'" in str(err.value)


def test_invalid_json_reports_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row(), '{"id": "q-002", "question": '])
    with pytest.raises(DatasetError, match=r"bad\.jsonl line 2: invalid JSON"):
        load_dataset(path)


def test_all_bad_rows_reported_at_once(tmp_path: Path) -> None:
    rows: list[dict | str] = [
        row(id="a"),
        row(id="b", answer_type="bool"),
        row(id="c", gold="", category=""),
        "not json",
        row(id="e", gold="x", answer_type="number"),
    ]
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    message = str(err.value)
    assert len(err.value.problems) == 5
    for expected in (
        "line 2: field 'answer_type'",
        "line 3: field 'gold'",
        "line 3: field 'category'",
        "line 4: invalid JSON",
        "line 5: field 'gold'",
    ):
        assert expected in message


def test_problem_report_is_capped(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lots.jsonl", [row(id=f"q{i}", answer_type="bool") for i in range(30)])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert len(err.value.problems) == 20
    assert "and 10 more problems" in str(err.value)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [row(), row(id="q-002"), row(question="Other?")])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert str(err.value) == "dup.jsonl line 3: field 'id': duplicate id 'q-001' (first on line 1)"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(path)


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    other = tmp_path / "data.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"\.jsonl or \.csv"):
        load_dataset(other)


def test_csv_missing_header_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,question,gold,category\nq1,What?,4,arithmetic\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.csv line 1: field 'answer_type': missing from the CSV header"):
        load_dataset(path)


def test_csv_bad_rows_report_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,question,gold,answer_type,category,difficulty\n"
        "q1,What is 2+2?,4,number,arithmetic,easy\n"
        "q2,Pick one,Z,choice,classification,easy\n"
        "q3,,Paris,text,factual,\n"
        "q1,Again?,5,number,arithmetic,\n",
        encoding="utf-8",
    )
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    message = str(err.value)
    assert "bad.csv line 3: field 'gold': expected a single option letter A-J" in message
    assert "bad.csv line 4: field 'question': missing or empty" in message
    assert "bad.csv line 5: field 'id': duplicate id 'q1' (first on line 2)" in message
