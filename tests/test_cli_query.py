"""`python -m cascade_core query` as a user runs it: a real process, the embedded simulator, a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cascade_core.store import Store

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, store: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CASCADE_STORE": str(store), **(env or {})}
    full_env.pop("CASCADE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_query_prints_trace_and_logs_the_run(tmp_path: Path) -> None:
    store = tmp_path / "cli.duckdb"
    done = cli("query", "What's 2+2?", "--threshold", "0.5", store=store)
    assert done.returncode == 0, done.stderr
    assert "decision" in done.stdout and "small" in done.stdout
    assert "[SIMULATED tiers]" in done.stdout
    assert "always-large" in done.stdout
    json_run = cli("query", "What's 2+2?", "--json", store=store)
    assert json_run.returncode == 0, json_run.stderr
    trace = json.loads(json_run.stdout)
    assert trace["steps"] and trace["final_answer"] is not None
    assert trace["total_cost"] == sum(s["call"]["cost"] for s in trace["steps"])
    with Store(store) as opened:
        assert opened.count_runs() == 2
        assert opened.get_trace(trace["run_id"]) is not None


def test_bundled_question_is_graded(tmp_path: Path) -> None:
    from cascade_core.datasets import load_bundled

    item = load_bundled().items[0]
    done = cli("query", item.question, "--json", store=tmp_path / "s.duckdb")
    trace = json.loads(done.stdout)
    assert trace["item_id"] == item.id and trace["correct"] in (True, False)


def test_bad_input_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tiers]]\nname = "a"\nmodel = "m"\ninput_price = -1\noutput_price = 0\n')
    done = cli("query", "hi", "--config", str(bad), store=tmp_path / "s.duckdb")
    assert done.returncode == 2
    assert "bad.toml" in done.stderr and "input_price" in done.stderr
    out_of_range = cli("query", "hi", "--threshold", "3", store=tmp_path / "s.duckdb")
    assert out_of_range.returncode == 2 and "thresholds[0]" in out_of_range.stderr
    assert not (tmp_path / "s.duckdb").exists() or Store(tmp_path / "s.duckdb").count_runs() == 0
