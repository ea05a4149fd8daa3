"""Real endpoints (issue 11) as users meet them: `query`, `sweep` and `serve` processes against faulty tiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.test_bad_files import TWO_TIERS
from tests.test_serve_support import ServerProc, wait_for_run

ROOT = Path(__file__).resolve().parents[1]
SMALL, LARGE = "sim-llama-3.1-8b", "sim-llama-3.1-405b"

CONFIG = """
[retry]
max_retries = 1
backoff_base = 0.001
backoff_max = 0.01

[simulator.faults_by_model."{model}"]
{knob} = 1.0
""" + TWO_TIERS.format(price="3.00")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_CONFIG", None)
    env.pop("CASCADE_STORE", None)
    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def write_config(tmp_path: Path, model: str, knob: str) -> Path:
    path = tmp_path / "cascade.toml"
    store = (tmp_path / "s.duckdb").as_posix()
    path.write_text(f'store_path = "{store}"\n' + CONFIG.format(model=model, knob=knob), encoding="utf-8")
    return path


def test_query_exits_non_zero_on_a_non_answer_and_logs_the_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path, LARGE, "placeholder_rate")
    done = cli("query", "Name the tallest mountain on Mars.", "--threshold", "1.0", "--json", "--config", str(config),
               cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    trace = json.loads(done.stdout)
    assert trace["final_answer"] is None and "placeholder" in trace["error"]
    assert "no answer" in done.stderr and "Traceback" not in done.stderr


def test_query_survives_an_html_page_from_a_tier(tmp_path: Path) -> None:
    config = write_config(tmp_path, SMALL, "html_body_rate")
    done = cli("query", "What is 2 + 2?", "--json", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert trace["steps"][0]["decision"] == "error" and "HTML" in trace["steps"][0]["call"]["error"]
    assert trace["final_tier"] == "large" and trace["final_answer"]


def test_sweep_with_failed_cells_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    config = write_config(tmp_path, SMALL, "cut_body_rate")
    failed = cli("sweep", "bundled", "--limit", "6", "--json", "--config", str(config), cwd=tmp_path)
    assert failed.returncode == 3, failed.stderr
    payload = json.loads(failed.stdout)
    assert payload["failed_cells"] == 6
    assert any("6 of 12 cells failed" in note for note in payload["notes"]), payload["notes"]
    assert "--allow-failures" in failed.stderr
    allowed = cli("sweep", "bundled", "--limit", "6", "--allow-failures", "--config", str(config), cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert "cells failed" in allowed.stdout


@pytest.mark.slow
def test_serve_answers_from_healthy_tiers_and_refuses_non_answers(fresh_simulator, tmp_path: Path) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"html_body_rate": 1.0}, LARGE: {"placeholder_rate": 1.0}})
    server = ServerProc(tmp_path / "runs.duckdb", sim.base_url)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="cascade", messages=[{"role": "user", "content": "Capital of Peru?"}])
        assert caught.value.status_code == 502
        body = caught.value.response.json()
        assert body["error"]["code"] == "cascade_failed" and "placeholder" in body["error"]["message"]
        trace = wait_for_run(server.store_path, caught.value.response.headers["x-cascade-run-id"])
        assert trace.error and "placeholder" in trace.error
        assert trace.steps[0].decision == "error" and "HTML" in (trace.steps[0].error or "")
    finally:
        server.stop()
