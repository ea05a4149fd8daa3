"""`python -m cascade_core sweep`: JSON shape, kill-and-resume without duplicate calls, imports, exports, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cascade_core.cli.main import main
from cascade_core.store import Store
from cascade_core.store.sweeps import cache_stats
from tests.polling import settled, wait_for
from tests.sweep_support import config_toml

ROOT = Path(__file__).resolve().parents[1]


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cfg(fresh_simulator, tmp_path: Path):
    sim = fresh_simulator()
    return sim, config_toml(sim, tmp_path / "cascade.toml", tmp_path / "sweep.duckdb"), tmp_path / "sweep.duckdb"


def test_live_json_shape_and_resweep_is_free(cfg, capsys, tmp_path: Path) -> None:
    sim, config, _store = cfg
    csv, html = tmp_path / "points.csv", tmp_path / "plot.html"
    code, out, _ = cli(["sweep", "bundled", "--config", str(config), "--limit", "20", "--json", "--save", "first",
                        "--export-points", str(csv), "--export-html", str(html)], capsys)
    assert code == 0
    data = json.loads(out)
    for key in ("sweep_id", "points", "fronts", "references", "recommendation", "metrics", "calibration", "tiers"):
        assert key in data
    assert set(data["points"]) == set(data["fronts"]) == {"shared", "per_tier", "skip", "tier_choice"}
    levels = {0.0, 0.25, 0.5, 0.75, 1.0}  # self-rated 1-5: the only values a threshold can matter at
    assert all(set(p["thresholds"]) <= levels for p in data["points"]["per_tier"])
    assert len(data["points"]["per_tier"]) <= 26 and len(data["points"]["shared"]) <= 5
    assert data["current"]["thresholds"] == [0.75, 0.75] and data["current"]["label"] == "current setting"
    assert set(data["splits"]) == {"calibration", "held-out", "all"} and data["headline_split"] == "held-out"
    assert [r["label"] for r in data["references"]] == ["always small", "always mid", "always large", "oracle"]
    assert {"thresholds", "accuracy", "cost_per_1k", "tier_share", "kind"} <= set(data["fronts"]["per_tier"][0])
    assert {"kind", "thresholds", "accuracy", "savings", "quality_retained", "confidence_note"} <= set(
        data["estimate"])
    assert {"policy_family", "thresholds", "statement", "calibration", "holdout", "tested", "delta"} <= set(
        data["recommendation"]) and data["recommendation"]["delta"] == 0.1
    assert data["policy_family"] == data["recommendation"]["policy_family"]
    assert {"shared", "per_tier"} <= set(data["metrics"]) and "apgr" in data["metrics"]["shared"]
    assert data["simulated"] is True and data["name"] == "first"
    assert sim.stats()["total"] == 60
    assert len(pd.read_csv(csv)) == sum(map(len, data["points"].values())) + 4
    assert "plotly" in html.read_text()[:5000].lower()
    from cascade_core.datasets import load_bundled
    from cascade_core.sweep import saved_questions

    with Store(_store) as store:  # kept with the sweep, so a reopened one shows the questions
        questions = saved_questions(store, data["sweep_id"])
    first_items = load_bundled().items[:20]
    assert questions == {i.id: i.question for i in first_items}
    code, out, _ = cli(["sweep", "bundled", "--config", str(config), "--limit", "20", "--json"], capsys)
    assert code == 0 and json.loads(out)["collection"]["calls"] == 0 and sim.stats()["total"] == 60


def test_text_report_says_what_to_set_and_how_sure(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "import.duckdb"))
    long_path, _ = _same_data(tmp_path)
    code, out, err = cli(["sweep", "--results", str(long_path), "--target", "0.9", "--delta", "0.2"], capsys)
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith(("Set ", "No cascade setting could be certified"))
    assert "80% confidence" in first and "90%" in first
    assert "Estimate, not certified" in out or "Estimate: no cascade setting" in out
    code, _, err = cli(["sweep", "--results", str(long_path), "--delta", "1.5"], capsys)
    assert code == 2 and "--delta" in err


def test_kill_mid_collection_then_resume_makes_no_duplicate_calls(fresh_simulator, tmp_path: Path) -> None:
    sim = fresh_simulator(latency_ms=40)
    store = tmp_path / "kill.duckdb"
    config = config_toml(sim, tmp_path / "cascade.toml", store)
    n_items, tiers, concurrency = 60, 3, 4
    args = [sys.executable, "-m", "cascade_core", "sweep", "bundled", "--config", str(config), "--limit",
            str(n_items), "--concurrency", str(concurrency), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: sim.stats()["total"] >= 60 or proc.poll() is not None, timeout=60, interval=0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    at_kill = settled(lambda: sim.stats()["total"])  # requests already on the wire still arrive
    assert 0 < at_kill < n_items * tiers, "the kill should land mid-collection"
    with Store(store) as s:
        cached = cache_stats(s)["ok"]
    assert cached > 0
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    resumed = sim.stats()["total"] - at_kill
    assert resumed == n_items * tiers - cached  # exactly the answers not yet cached: nothing cached is paid twice
    # Lost to the kill: calls in flight (<= concurrency) plus answers that finished during the last commit
    # (~13 ms each here). The server did that work, so no client can avoid paying for them again.
    lost_in_flight = at_kill - cached
    assert 0 <= lost_in_flight <= 3 * concurrency
    assert json.loads(done.stdout)["collection"]["cached"] == cached


def _same_data(tmp_path: Path) -> tuple[Path, Path]:
    rows = []
    models = {"small": 0.0001, "mid": 0.0005, "large": 0.002}
    for i in range(50):
        for k, (model, cost) in enumerate(models.items()):
            right = (i * (k + 3)) % 7 != 0
            rows.append({"item_id": f"q{i}", "model": model, "correct": right, "cost": cost,
                         "confidence": None if model == "large" else round(((i * 13 + k * 5) % 10) / 10, 2)})
    long = pd.DataFrame(rows)
    long_path = tmp_path / "long.csv"
    long.to_csv(long_path, index=False)
    wide = long.pivot(index="item_id", columns="model", values=["correct", "confidence", "cost"])
    wide = wide.reindex(pd.unique(long["item_id"]))  # same item order: sums add up in the same order
    out = pd.DataFrame({"item_id": wide.index})
    for model in models:
        out[model] = wide[("correct", model)].to_numpy()
        out[f"{model}_confidence"] = wide[("confidence", model)].to_numpy()
        out[f"{model}_cost"] = wide[("cost", model)].to_numpy()
    wide_path = tmp_path / "wide.jsonl"
    out.to_json(wide_path, orient="records", lines=True)
    return long_path, wide_path


def test_wide_and_long_imports_give_identical_fronts(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "import.duckdb"))
    long_path, wide_path = _same_data(tmp_path)
    code, out_long, _ = cli(["sweep", "--results", str(long_path), "--format", "long", "--json"], capsys)
    assert code == 0
    code, out_wide, _ = cli(["sweep", "--results", str(wide_path), "--format", "wide", "--tiers", "small,mid,large",
                             "--json"], capsys)
    assert code == 0
    a, b = json.loads(out_long), json.loads(out_wide)
    assert a["tiers"] == b["tiers"] == ["small", "mid", "large"]
    for key in ("fronts", "references", "recommendation", "metrics"):
        assert a[key] == b[key], key


def test_import_without_confidence_gives_baselines_and_oracle(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "import.duckdb"))
    path = tmp_path / "wide.csv"
    pd.DataFrame({"prompt": [f"question {i}" for i in range(10)], "weak": [i % 2 == 0 for i in range(10)],
                  "strong": [i % 5 != 0 for i in range(10)]}).to_csv(path, index=False)
    code, out, _err = cli(["sweep", "--results", str(path), "--cost", "weak=0.0001", "--cost", "strong=0.001",
                          "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["has_confidence"] is False and data["recommendation"] is None
    assert data["points"] == {"shared": [], "per_tier": [], "skip": [], "tier_choice": []}
    assert [r["label"] for r in data["references"]] == ["always weak", "always strong", "oracle"]
    assert any("no cascade curve" in n for n in data["notes"])


def test_split_on_a_named_column_of_imported_results(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "import.duckdb"))
    long_path, _ = _same_data(tmp_path)
    table = pd.read_csv(long_path)
    number = table["item_id"].str[1:].astype(int)
    table["phase"] = ["calibration" if i < 30 else "holdout" for i in number]  # not named split/fold
    table.to_csv(long_path, index=False)
    code, out, err = cli(["sweep", "--results", str(long_path), "--split", "phase", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["recommendation"]["n_calibration"] == 30 and data["recommendation"]["n_holdout"] == 20
    code, _, err = cli(["sweep", "--results", str(long_path), "--split", "phase", "--map", "split=other"], capsys)
    assert code == 2 and "conflicts" in err
    code, _, err = cli(["sweep", "--results", str(long_path), "--split", "nosuch"], capsys)
    assert code == 2 and "nosuch" in err


def test_live_sweep_rejects_a_split_column(cfg, capsys) -> None:
    sim, config, _store = cfg
    code, _, err = cli(["sweep", "bundled", "--config", str(config), "--limit", "5", "--split", "phase"], capsys)
    assert code == 2 and "live sweep has no split column" in err and "--split FRACTION" in err
    assert sim.stats()["total"] == 0  # rejected before any call


@pytest.mark.parametrize("args, message", [
    (["sweep"], "give a DATASET"),
    (["sweep", "bundled", "--split", "1.5"], "--split"),
    (["sweep", "bundled", "--target", "0"], "--target"),
    (["sweep", "bundled", "--tiers", "small,huge"], "unknown tier"),
    (["sweep", "--results", "/nonexistent/results.csv"], "no such file"),
    (["sweep", "--results", "x.csv", "--map", "oops"], "NAME=VALUE"),
    (["sweep", "--results", "x.csv", "--cost", "m=cheap"], "is not a number"),
    (["sweep", "no-such-dataset.jsonl"], "no-such-dataset"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message, capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "bad.duckdb"))
    code, _, err = cli(args, capsys)
    assert code == 2 and message in err
