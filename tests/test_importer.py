"""Importer of recorded results: real RouteLLM files (wide), long/wide equivalence, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cascade_core.sweep.frontier import per_tier_points, shared_threshold_points
from cascade_core.sweep.import_columns import ResultsImportError
from cascade_core.sweep.importer import import_results
from cascade_core.sweep.outcomes import OUTCOME_COLUMNS, has_confidence, to_matrix
from cascade_core.sweep.pareto import pareto_front, points_frame
from cascade_core.sweep.references import reference_points

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
ROUTELLM = DATASETS / "routellm"
MIXTRAL, GPT4 = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
COSTS = {MIXTRAL: 0.0006, GPT4: 0.01}  # USD per item, passed explicitly: the files have no costs


def routellm(path: str) -> Path:
    full = ROUTELLM / path
    if not full.exists():
        pytest.skip(f"{full} absent (shared datasets not mounted)")
    return full


def test_routellm_gsm8k_wide():
    path = routellm("gsm8k/gsm8k_responses.csv")
    res = import_results(path, default_costs=COSTS)
    raw = pd.read_csv(path)
    assert res.format == "wide" and res.tiers == (MIXTRAL, GPT4)  # ordered by cost
    assert not res.has_confidence and any("only the always-<tier> baselines" in n for n in res.notes)
    out = res.outcomes
    assert tuple(out.columns) == OUTCOME_COLUMNS and len(out) == 2 * len(raw) == 2 * 1319
    mat = to_matrix(out)
    assert not has_confidence(mat)
    np.testing.assert_allclose(np.nanmean(mat.correct, axis=0), [raw[MIXTRAL].mean(), raw[GPT4].mean()])
    assert out.loc[0, "answer"] == raw.loc[0, f"{MIXTRAL}_response"]  # answers come from <model>_response
    assert out["item_id"].str.fullmatch(r"[0-9a-f]{16}(#\d+)?").all()
    refs = {p.label: p for p in reference_points(mat)}
    assert refs[f"always {GPT4}"].cost_per_1k == pytest.approx(10.0)
    assert refs["oracle"].accuracy >= refs[f"always {GPT4}"].accuracy


def test_routellm_mmlu_many_files():
    folder = routellm("mmlu/responses")
    files = sorted(folder.glob("*.csv"))
    res = import_results(files, default_costs=COSTS)
    mat = to_matrix(res.outcomes)
    assert mat.n_items == 14_042 and res.outcomes["category"].nunique() == len(files) == 57
    assert res.outcomes["item_id"].str.contains("#2").any()  # repeated questions keep distinct ids
    acc = np.nanmean(mat.correct, axis=0)
    assert acc[0] == pytest.approx(0.68, abs=0.005) and acc[1] == pytest.approx(0.81, abs=0.005)


def wide_to_long(wide: pd.DataFrame, models: list[str], id_col: str = "prompt") -> pd.DataFrame:
    """The same results, one row per (item, model); model-major order, as a melt would give."""
    parts = []
    for m in models:
        part = pd.DataFrame({id_col: wide[id_col], "model": m, "correct": wide[m]})
        for suffix, field in (("_response", "response"), ("_confidence", "confidence"), ("_cost", "cost")):
            if m + suffix in wide:
                part[field] = wide[m + suffix]
        for extra in ("split",):
            if extra in wide:
                part[extra] = wide[extra]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_routellm_wide_and_long_give_identical_tables(tmp_path):
    path = routellm("gsm8k/gsm8k_responses.csv")
    wide = pd.read_csv(path)
    long_csv = tmp_path / "long.csv"
    wide_to_long(wide, [MIXTRAL, GPT4]).to_csv(long_csv, index=False)
    a = import_results(path, default_costs=COSTS).outcomes
    b = import_results(long_csv, default_costs=COSTS)
    assert b.format == "long"
    pd.testing.assert_frame_equal(a, b.outcomes)


def synthetic_wide(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"prompt": [f"Question {i}?\nA. x\nB. y" for i in range(n)]})
    df.loc[5, "prompt"] = df.loc[4, "prompt"]  # a repeated question
    for name, cost, skill in (("big", 0.02, 0.9), ("small", 0.001, 0.6), ("mid", 0.004, 0.75)):
        conf = np.round(rng.random(n), 2)
        df[name] = rng.random(n) < np.clip(skill + (conf - 0.5) * 0.5, 0, 1)
        df[f"{name}_confidence"] = conf
        df[f"{name}_cost"] = cost * (1 + rng.random(n))
        df[f"{name}_response"] = [f"{name} says {i}" for i in range(n)]
    df["split"] = np.where(np.arange(n) % 3 == 0, "test", "train")
    return df


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_wide_and_long_give_identical_tables_and_fronts(tmp_path, fmt):
    wide = synthetic_wide()
    long = wide_to_long(wide, ["big", "small", "mid"])
    paths = {}
    for name, frame in (("wide", wide), ("long", long)):
        paths[name] = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(paths[name], index=False)
        elif fmt == "jsonl":
            frame.to_json(paths[name], orient="records", lines=True)
        else:
            frame.to_parquet(paths[name])
    a, b = import_results(paths["wide"]), import_results(paths["long"])
    assert a.tiers == b.tiers == ("small", "mid", "big")  # by mean cost, not file order
    assert a.has_confidence and b.has_confidence
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    ma, mb = to_matrix(a.outcomes), to_matrix(b.outcomes)
    grid = np.linspace(0, 1, 21)
    for build in (lambda m: per_tier_points(m, grid), lambda m: shared_threshold_points(m, grid)):
        pd.testing.assert_frame_equal(points_frame(pareto_front(build(ma))), points_frame(pareto_front(build(mb))))
    pd.testing.assert_frame_equal(points_frame(reference_points(ma)), points_frame(reference_points(mb)))
    assert set(a.outcomes["split"]) == {"train", "test"}


def test_tiers_argument_orders_and_selects(tmp_path):
    path = tmp_path / "wide.csv"
    synthetic_wide().to_csv(path, index=False)
    res = import_results(path, tiers=["mid", "big"])
    assert res.tiers == ("mid", "big") and set(res.outcomes["tier"]) == {"mid", "big"}
    with pytest.raises(ResultsImportError, match=r"tiers \['huge'\]"):
        import_results(path, tiers=["small", "huge"])


def test_mapping_overrides(tmp_path):
    path = tmp_path / "odd.csv"
    pd.DataFrame(
        {
            "qno": ["1", "1", "2", "2"],
            "engine": ["a", "b", "a", "b"],
            "ok": ["1", "0", "yes", "no"],
            "usd_x": [1, 2, 1, 2],
        }
    ).to_csv(path, index=False)
    with pytest.raises(ResultsImportError, match="long format needs a 'item_id' column"):
        import_results(path, format="long", mapping={"model": "engine", "correct": "ok"})
    res = import_results(path, mapping={"item_id": "qno", "model": "engine", "correct": "ok", "cost": "usd_x"})
    assert res.tiers == ("a", "b") and res.outcomes["item_id"].tolist() == ["1", "1", "2", "2"]
    assert res.outcomes["correct"].tolist() == [True, False, True, False]
    with pytest.raises(ResultsImportError, match=r"mapping cost='nope': no such column"):
        import_results(path, mapping={"item_id": "qno", "model": "engine", "correct": "ok", "cost": "nope"})


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_correctness_names_file_column_and_line(tmp_path):
    # The first prompt spans two physical lines, so the bad record (2nd data record) starts on line 4.
    path = write(tmp_path, "w.csv", 'prompt,small,big\n"two\nlines",True,False\nq2,maybe,True\n')
    with pytest.raises(ResultsImportError, match=r"w\.csv line 4: column 'small' holds 'maybe'"):
        import_results(path, format="wide", tiers=["small", "big"], default_costs={"small": 1, "big": 2})


def test_bad_confidence_in_jsonl_names_line(tmp_path):
    rows = [
        '{"id": 1, "model": "s", "correct": true, "confidence": 0.5, "cost": 1}',
        "",
        '{"id": 1, "model": "l", "correct": true, "confidence": 7, "cost": 2}',
    ]
    path = write(tmp_path, "r.jsonl", "\n".join(rows) + "\n")
    with pytest.raises(ResultsImportError, match=r"r\.jsonl line 3: column 'confidence' holds 7.0; expected a conf"):
        import_results(path)


def test_missing_columns_and_costs(tmp_path):
    path = write(tmp_path, "l.csv", "id,model,confidence\n1,s,0.5\n")
    with pytest.raises(ResultsImportError, match=r"needs a 'correct' column; columns are \['id', 'model', 'conf"):
        import_results(path)
    path = write(tmp_path, "c.csv", "id,model,correct\n1,s,1\n1,l,0\n")
    with pytest.raises(ResultsImportError, match=r"c\.csv: no cost column .* give a cost per item .*--cost MODEL=USD"):
        import_results(path)
    with pytest.raises(ResultsImportError, match=r"no cost for model\(s\) \['l'\]"):
        import_results(path, default_costs={"s": 0.1})
    with pytest.raises(ResultsImportError, match=r"costs given for \['x'\], which are not models here"):
        import_results(path, default_costs={"x": 0.1})
    res = import_results(path, default_costs={"s": 0.1, "l": 1.0})
    assert res.outcomes["cost"].tolist() == [0.1, 1.0]
    path = write(tmp_path, "p.csv", "id,model,correct,cost\n1,s,1,0.1\n1,l,0,\n")
    with pytest.raises(ResultsImportError, match=r"first at p\.csv line 3"):
        import_results(path)


def test_duplicates_and_incomplete_items(tmp_path):
    path = write(tmp_path, "d.csv", "id,model,correct,cost\n1,s,1,1\n1,l,1,2\n1,s,0,1\n")
    with pytest.raises(ResultsImportError, match=r"d\.csv line 4: item '1' has a second result for model 's'"):
        import_results(path)
    path = write(tmp_path, "i.csv", "id,model,correct,cost\n1,s,1,1\n1,l,1,2\n2,s,0,1\n")
    with pytest.raises(ResultsImportError, match=r"i\.csv line 4: item '2' has no result for model\(s\) \['l'\]"):
        import_results(path)


def test_wide_without_model_columns_and_unknown_files(tmp_path):
    path = write(tmp_path, "n.csv", "prompt,notes\nq1,hello\n")
    with pytest.raises(ResultsImportError, match="one True/False column per model"):
        import_results(path)
    with pytest.raises(ResultsImportError, match="no such file"):
        import_results(tmp_path / "absent.csv")
    with pytest.raises(ResultsImportError, match="unknown file type"):
        import_results(write(tmp_path, "x.txt", "a"))


def test_ungraded_cells_and_extra_columns(tmp_path):
    path = write(tmp_path, "u.csv", "id,s,l,notes\n1,True,,x\n2,False,True,y\n")
    res = import_results(path, default_costs={"s": 1, "l": 2})
    assert res.outcomes["correct"].isna().sum() == 1
    assert any("ignored columns" in n and "notes" in n for n in res.notes)
    assert res.outcomes["item_id"].tolist() == ["1", "1", "2", "2"]  # a short id is used as is


def test_long_files_one_per_model(tmp_path):
    small = write(tmp_path, "small.csv", "item_id,model,correct,confidence,cost\nq1,s,True,0.9,1\nq2,s,False,0.2,1\n")
    large = write(tmp_path, "large.csv", "item_id,model,correct,cost\nq1,l,True,5\nq2,l,True,5\n")
    res = import_results([small, large])
    assert res.tiers == ("s", "l") and res.has_confidence
    assert len(res.outcomes) == 4 and res.outcomes["category"].isna().all()  # an item spans files: no category
    mat = to_matrix(res.outcomes)
    assert mat.n_items == 2 and np.nanmean(mat.correct, axis=0).tolist() == [0.5, 1.0]
    # files that split items (one per subject) still name their items' category
    a = write(tmp_path, "algebra.csv", "item_id,model,correct,cost\nq1,s,True,1\nq1,l,True,5\n")
    b = write(tmp_path, "biology.csv", "item_id,model,correct,cost\nq2,s,False,1\nq2,l,True,5\n")
    assert import_results([a, b]).outcomes["category"].tolist() == ["algebra"] * 2 + ["biology"] * 2
