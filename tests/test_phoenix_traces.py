"""Traces into a real receiver: `serve` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local Arize Phoenix;
the spans read back from Phoenix's REST API match the runs in the store (tokens, costs, parent/child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import openai
import pytest

from cascade_core.store import Store
from tests.polling import wait_for
from tests.test_serve_support import ServerProc

pytestmark = pytest.mark.slow

QUESTIONS = ["What is the capital of France?", "What is 17 times 23?", "Name a prime number above 10.",
             "Which planet is known as the red planet?", "What is 2+2?", "Who wrote Hamlet?"]
PROJECT = "cascade-phoenix-test"
ROOT = Path(__file__).resolve().parents[1]


def test_serve_spans_in_phoenix_match_the_store(simulator, phoenix, tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url, "OTEL_BSP_SCHEDULE_DELAY": "100",
           "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}"}
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--threshold", "0.9", env=env)
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    try:
        run_ids = [client.chat.completions.create(model="cascade", messages=[{"role": "user", "content": q}])
                   .model_extra["cascade"]["run_id"] for q in QUESTIONS]
    finally:
        assert server.stop() in (0, -15), server.stderr()  # shutdown flushes the span queue
    with Store(server.store_path) as store:
        traces = {run_id: store.get_trace(run_id) for run_id in run_ids}
    assert all(traces.values())
    assert any(len(t.steps) > 1 for t in traces.values()), "no run escalated: the parent/child check is weak"

    def all_spans() -> list[dict]:
        spans = phoenix.spans(PROJECT)
        roots = {s["attributes"].get("cascade.run_id") for s in spans if s["parent_id"] is None}
        return spans if set(run_ids) <= roots else []

    spans = wait_for(all_spans, timeout=30, interval=0.5, what="every run's root span in Phoenix")
    by_trace: dict[str, list[dict]] = defaultdict(list)
    for span in spans:
        by_trace[span["context"]["trace_id"]].append(span)
    for run_id, trace in traces.items():
        (root,) = [s for s in spans if s["parent_id"] is None and s["attributes"]["cascade.run_id"] == run_id]
        children = sorted((s for s in by_trace[root["context"]["trace_id"]] if s["parent_id"] is not None),
                          key=lambda s: s["start_time"])
        assert root["span_kind"] == "CHAIN" and root["name"] == "cascade api"
        assert root["attributes"]["cascade.cost_usd"] == pytest.approx(trace.total_cost, rel=1e-9, abs=1e-15)
        assert root["attributes"]["cascade.tokens_in"] == trace.tokens_in
        assert root["attributes"]["cascade.tokens_out"] == trace.tokens_out
        assert root["attributes"]["cascade.final_tier"] == trace.final_tier
        assert len(children) == len(trace.steps)
        for span, step in zip(children, trace.steps, strict=True):
            attrs = span["attributes"]
            assert span["parent_id"] == root["context"]["span_id"] and span["span_kind"] == "LLM"
            assert attrs["cascade.tier"] == step.tier_name and attrs["gen_ai.request.model"] == step.model
            assert attrs["gen_ai.usage.input_tokens"] == step.call.tokens_in
            assert attrs["gen_ai.usage.output_tokens"] == step.call.tokens_out
            assert attrs["llm.token_count.prompt"] == step.call.tokens_in  # what Phoenix's UI totals
            assert attrs["cascade.cost_usd"] == pytest.approx(step.call.cost, rel=1e-9, abs=1e-15)
            assert attrs["cascade.decision"] == step.decision
            assert attrs["cascade.confidence.normalised"] == pytest.approx(step.confidence.normalised)
        assert trace.question not in str(root)  # prompts stay out unless opted in


def test_cli_query_sends_its_run_to_phoenix(phoenix, tmp_path: Path) -> None:
    project = "cascade-cli-test"
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url, "CASCADE_STORE": str(tmp_path / "q.duckdb"),
           "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}", "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "cascade_core", "query", "What is 2+2?", "--json"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    spans = wait_for(lambda: phoenix.spans(project), timeout=30, interval=0.5, what="the CLI run's spans")
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "cascade query" and root["attributes"]["cascade.run_id"] == run_id
