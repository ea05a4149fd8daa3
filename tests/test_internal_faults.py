"""A fault of the cascade's own code after tiers were called (a reply our parser or decision code chokes on): the
calls were paid, so the run is still logged with every call and charged, the CLI, the Query page and the API say
so, and the server keeps serving. The fault is injected into the reply reader, not into what is under test (the
walk's, the pages' and the endpoint's handling of it); the calls go over real HTTP to the simulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cascade_core.cascade import build_runtime
from cascade_core.cascade import walk as walk_module
from cascade_core.cascade.query import default_overrides, run_query
from cascade_core.cascade.walk import RunFailed
from cascade_core.records import TierCall
from cascade_core.store import Store
from tests.sweep_support import sim_config

pytestmark = pytest.mark.integration

QUESTION = "A question nobody can be sure of?"  # not bundled: every simulated tier rates it low, escalating


@pytest.fixture
def broken_mid_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the mid tier's reply to QUESTION raises, as a parser bug would."""
    real = walk_module.read_confidence

    def read(signal: object, call: TierCall):  # type: ignore[no-untyped-def]
        if call.tier_name == "mid" and QUESTION in str(call.messages):
            raise KeyError("choices")
        return real(signal, call)

    monkeypatch.setattr(walk_module, "read_confidence", read)


def test_the_walk_keeps_every_paid_call(simulator, broken_mid_reader: None) -> None:
    with build_runtime(sim_config(simulator), simulator=simulator) as runtime:
        with pytest.raises(RunFailed) as failed:
            runtime.answerer.run(QUESTION)
    trace = failed.value.trace
    assert [s.tier_name for s in trace.steps] == ["small", "mid"]
    assert trace.steps[0].decision == "escalated" and trace.steps[1].decision == "error"
    assert trace.steps[1].call.ok and trace.steps[1].call.cost > 0  # the mid call answered and is charged
    assert trace.total_cost == pytest.approx(trace.steps[0].call.cost + trace.steps[1].call.cost)
    assert trace.error.startswith("internal error in the cascade (KeyError: 'choices')"), trace.error
    assert trace.final_answer is None and trace.meta["internal_error"] == "KeyError: 'choices'"


def test_the_query_page_logs_and_shows_it(simulator, broken_mid_reader: None, tmp_path: Path) -> None:
    config = sim_config(simulator)
    with build_runtime(config, simulator=simulator) as runtime, Store(tmp_path / "q.duckdb") as store:
        result = run_query(runtime, store, QUESTION, default_overrides(config))
        assert result.log_error is None and result.trace.error.startswith("internal error")
        back = store.get_trace(result.trace.run_id)
    assert back is not None and back.error == result.trace.error and len(back.steps) == 2
    assert back.total_cost == pytest.approx(result.trace.total_cost) and back.total_cost > 0


def test_the_endpoint_answers_500_logs_the_run_and_keeps_serving(simulator, broken_mid_reader: None,
                                                                tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from cascade_core.serve.app import ServeSettings, create_app

    store_path = tmp_path / "runs.duckdb"
    config = sim_config(simulator).model_copy(update={"store_path": str(store_path)})
    body = {"model": "cascade", "messages": [{"role": "user", "content": QUESTION}]}
    with TestClient(create_app(config, ServeSettings(flush_interval=0.05))) as client:
        failed = client.post("/v1/chat/completions", json=body)
        assert failed.status_code == 500, failed.text
        run_id = failed.headers["X-Cascade-Run-Id"]
        message = failed.json()["error"]["message"]
        assert run_id in message and "logged with every call" in message and "2 tier step(s)" in message
        other = {"model": "cascade", "messages": [{"role": "user", "content": "What is 7 + 5?"}]}
        assert client.post("/v1/chat/completions", json=other).status_code == 200  # the server goes on
        metrics = client.get("/metrics").text
        assert 'cascade_errors_total{kind="internal"} 1' in metrics
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and client.app.state.serve.writer.backlog:
            time.sleep(0.05)
    with Store(store_path) as store:
        back = store.get_trace(run_id)
    assert back is not None and back.source == "api" and back.error.startswith("internal error in the cascade")
    assert [s.tier_name for s in back.steps] == ["small", "mid"] and back.total_cost > 0
