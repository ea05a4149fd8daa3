"""The request log without a server: the writer thread committing to the store, request parsing, metrics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cascade_core.serve import ApiError, LogWriter, Metrics, parse_chat_request
from cascade_core.store import Store
from tests.factories import make_trace


def test_writer_commits_batches_the_dashboard_sees(tmp_path: Path) -> None:
    store_path = tmp_path / "runs.duckdb"
    in_table = make_trace(0)
    with Store(store_path) as store:
        store.log_trace(in_table)
    api = [make_trace(i % 3, source="api") for i in range(25)]
    writer = LogWriter(lambda: Store(store_path), batch_size=10, interval=60).start()
    for trace in api:
        writer.submit(trace)
    writer.close()  # flushes although the interval has not passed
    assert (writer.written_runs, writer.commits, writer.backlog) == (25, 3, 0)
    with Store(store_path, read_only=True) as store:  # the file was let go after each commit
        assert store.count_runs() == 26
        back = store.get_trace(api[4].run_id)
        assert back is not None and back.source == "api"
        assert [s.decision for s in back.steps] == [s.decision for s in api[4].steps]
        assert back.total_cost == pytest.approx(api[4].total_cost)
        assert store.execute("SELECT count(*) FROM all_steps") == [(sum(len(t.steps) for t in api) + 1,)]


def test_writer_keeps_its_batch_while_the_store_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    writer = LogWriter(lambda: Store(blocker / "runs.duckdb"), interval=0.05).start()
    writer.submit(make_trace(1, source="api"))
    deadline = time.monotonic() + 5
    while writer.write_errors < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.write_errors >= 1 and writer.backlog == 1  # kept, not dropped
    blocker.unlink()  # the disk recovers: the same batch is written on a later try
    deadline = time.monotonic() + 5
    while writer.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    assert writer.written_runs == 1
    with Store(blocker / "runs.duckdb") as store:
        assert store.count_runs() == 1


def test_writer_that_could_not_open_its_store_tries_again_while_idle(tmp_path: Path) -> None:
    """A store unreachable at startup (a lake's PostgreSQL down, a new lake being created by another server)
    left /healthz degraded until the first request came, however long ago the store had come back."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    writer = LogWriter(lambda: Store(blocker / "runs.duckdb"), interval=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while writer.health().ok and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not writer.health().ok and writer.health().error
        blocker.unlink()  # the store is reachable again; no request arrives
        deadline = time.monotonic() + 5
        while not writer.health().ok and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.health().ok and writer.health().error is None and writer.submitted == 0
    finally:
        writer.close()


def test_parse_chat_request_takes_the_last_user_message() -> None:
    chat = parse_chat_request(b'{"model": "m", "stream": true, "stream_options": {"include_usage": true}, '
                              b'"messages": [{"role": "user", "content": "first"}, {"role": "assistant", '
                              b'"content": null, "tool_calls": []}, {"role": "user", "content": [{"type": "text", '
                              b'"text": "second"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}')
    assert (chat.question, chat.model, chat.stream, chat.include_usage, chat.n_messages) == (
        "second", "m", True, True, 3)
    with pytest.raises(ApiError) as caught:
        parse_chat_request(b'{"messages": [{"role": "user", "content": [{"type": "text"}]}]}')
    assert caught.value.status == 400 and caught.value.param == "messages[0].content"


def test_metrics_histogram_is_cumulative() -> None:
    metrics = Metrics(["small", "large"])
    for trace, seconds in ((make_trace(0), 0.004), (make_trace(1), 0.2), (make_trace(2, error_at=2), 40.0)):
        metrics.observe_run(trace, seconds, stream=False)
    text = metrics.render()
    assert 'cascade_request_duration_seconds_bucket{le="0.005"} 1' in text
    assert 'cascade_request_duration_seconds_bucket{le="0.25"} 2' in text
    assert 'cascade_request_duration_seconds_bucket{le="30.0"} 2' in text
    assert 'cascade_request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert "cascade_request_duration_seconds_count 3" in text
    assert 'cascade_errors_total{kind="tier_server"} 1' in text


def test_a_raised_body_limit_accepts_bigger_requests(simulator, tmp_path: Path) -> None:
    """ServeSettings.max_body_bytes is the one limit: parse_chat_request does not re-check a hard-coded 1 MB."""
    import json

    from fastapi.testclient import TestClient

    from cascade_core.serve.app import ServeSettings, create_app
    from cascade_core.serve.factory import SPEC_ENV, app_from_env, dump_spec
    from tests.sweep_support import sim_config

    body = json.dumps({"model": "cascade", "messages": [{"role": "user", "content": "7 + 5? " + "x" * 1_500_000}]})
    assert parse_chat_request(body.encode()).question.startswith("7 + 5?")
    config = sim_config(simulator)
    config = config.model_copy(update={"store_path": str(tmp_path / "runs.duckdb")})
    settings = ServeSettings(max_body_bytes=2_000_000, flush_interval=0.05)
    with TestClient(create_app(config, settings)) as client:
        response = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]
        too_big = client.post("/v1/chat/completions", content=body + " " * 600_000)
        assert too_big.status_code == 413 and "2000000" in too_big.json()["error"]["message"]
    spec = dump_spec(config, settings, "NO_SUCH_TOKEN_ENV")  # what each `--workers` process builds its app from
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SPEC_ENV, spec)
        with TestClient(app_from_env()) as client:
            assert client.app.state.serve.settings.max_body_bytes == 2_000_000
