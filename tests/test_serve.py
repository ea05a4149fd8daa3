"""The cascade endpoint over real HTTP: the unmodified openai SDK -> `serve` process -> simulator -> store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from cascade_core.store import Store
from tests.factories import fake_key
from tests.test_serve_support import ServerProc, logged_runs, wait_for_run

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def server(simulator, tmp_path_factory) -> Iterator[ServerProc]:
    proc = ServerProc(tmp_path_factory.mktemp("serve") / "runs.duckdb", simulator.base_url)
    yield proc
    proc.stop()


@pytest.fixture
def client(server: ServerProc) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def test_sdk_answer_matches_logged_run(server: ServerProc, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="cascade", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}])
    completion = raw.parse()
    ext = completion.model_extra["cascade"]
    assert completion.model == "cascade"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert raw.headers["x-cascade-run-id"] == ext["run_id"]
    assert raw.headers["x-cascade-tier"] == ext["tier"]
    assert float(raw.headers["x-cascade-cost"]) == pytest.approx(ext["cost_usd"], abs=1e-9)
    trace = wait_for_run(server.store_path, ext["run_id"])
    assert trace.source == "api"
    assert trace.question == QUESTION  # the last user message
    assert trace.final_answer == completion.choices[0].message.content
    assert trace.final_tier == ext["tier"] and trace.final_tier_index == ext["tier_index"]
    assert trace.final_confidence == pytest.approx(ext["confidence"])
    assert trace.total_cost == pytest.approx(ext["cost_usd"])
    assert trace.always_large_cost == pytest.approx(ext["always_large_cost_usd"])
    assert trace.escalations == ext["escalations"]
    assert [s.tier_name for s in trace.steps] == ext["tiers_called"]
    assert trace.simulated and ext["simulated"] is True
    assert completion.usage.prompt_tokens == trace.tokens_in
    assert trace.meta["api"] == {"model": "cascade", "stream": False, "messages": 2}


def test_streaming_with_sdk(server: ServerProc, client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="cascade", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Name a prime number above 10."}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    ext = finals[0].model_extra["cascade"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert all(c.id == f"chatcmpl-{ext['run_id']}" for c in chunks)
    trace = wait_for_run(server.store_path, ext["run_id"])
    assert text == trace.final_answer and text
    assert trace.meta["api"]["stream"] is True


def test_content_parts_and_models_and_health(server: ServerProc, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="anything", messages=[
        {"role": "user", "content": "ignored earlier question"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "What is 12 times 12?"}]},
    ])
    trace = wait_for_run(server.store_path, completion.model_extra["cascade"]["run_id"])
    assert trace.question == "What is 12 times 12?"
    assert [m.id for m in client.models.list()] == ["cascade"]
    assert client.models.retrieve("cascade").id == "cascade"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4")
    health = httpx.get(f"{server.root}/healthz").json()
    assert health["status"] == "ok" and health["embedded_simulator"] is False  # tiers use --simulator-url


def test_metrics_in_prometheus_text_format(server: ServerProc, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="cascade", messages=[{"role": "user", "content": QUESTION}])
    httpx.post(f"{server.base_url}/chat/completions", content=b"{")
    response = httpx.get(f"{server.root}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert values['cascade_http_requests_total{path="/v1/chat/completions",status="200"}'] >= 1
    assert values['cascade_http_requests_total{path="/v1/chat/completions",status="400"}'] >= 1
    assert values['cascade_errors_total{kind="bad_request"}'] >= 1
    assert values["cascade_runs_total"] >= 1
    answers = sum(v for k, v in values.items() if k.startswith("cascade_tier_answers_total"))
    assert answers == values["cascade_runs_total"]
    assert values["cascade_spend_usd_total"] > 0
    assert values['cascade_request_duration_seconds_bucket{le="+Inf"}'] == values["cascade_runs_total"]
    assert "# TYPE cascade_request_duration_seconds histogram" in text
    assert "cascade_escalations_total" in values and "cascade_log_backlog_runs" in values


BAD_BODIES = [
    (b"{not json", 400, None),
    (b"[1, 2]", 400, None),
    (b"{}", 400, "messages"),
    (json.dumps({"model": "cascade", "messages": "hi"}).encode(), 400, "messages"),
    (json.dumps({"model": "cascade", "messages": []}).encode(), 400, "messages"),
    (json.dumps({"model": "cascade", "messages": [{"role": "user", "content": 42}]}).encode(), 400,
     "messages[0].content"),
    (json.dumps({"model": "cascade", "messages": [{"role": "wizard", "content": "x"}]}).encode(), 400,
     "messages[0].role"),
    (json.dumps({"model": "cascade", "messages": ["hi"]}).encode(), 400, "messages[0]"),
    (json.dumps({"model": "cascade", "messages": [{"role": "system", "content": "x"}]}).encode(), 400, "messages"),
    (json.dumps({"model": "cascade", "messages": [{"role": "user", "content": "  "}]}).encode(), 400, "messages"),
    (json.dumps({"model": 7, "messages": [{"role": "user", "content": "x"}]}).encode(), 400, "model"),
    (json.dumps({"model": "cascade", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}).encode(),
     400, "stream"),
    (json.dumps({"model": "cascade", "n": 3, "messages": [{"role": "user", "content": "x"}]}).encode(), 400, "n"),
    (json.dumps({"model": "cascade", "messages": [{"role": "user", "content": "x" * 1_100_000}]}).encode(), 413, None),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD_BODIES)
def test_malformed_requests_get_openai_style_4xx(server: ServerProc, body: bytes, status: int,
                                                 param: str | None) -> None:
    response = httpx.post(f"{server.base_url}/chat/completions", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_sdk_raises_bad_request_and_oversized_chunked_body(server: ServerProc, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="role 'user'"):
        client.chat.completions.create(model="cascade", messages=[{"role": "system", "content": "no question"}])

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(1200):
            yield b"x" * 1000
        yield b'"}]}'

    response = httpx.post(f"{server.base_url}/chat/completions", content=chunks())
    assert response.status_code == 413
    assert httpx.get(f"{server.base_url}/nope").status_code == 404
    assert httpx.get(f"{server.base_url}/chat/completions").json()["error"]["message"].startswith("Method not")


def test_auth_enforced_when_token_set(simulator, tmp_path: Path) -> None:
    token = fake_key("tok-", "serve bearer token")
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--access-log",
                        env={"CASCADE_SERVE_TOKEN": token})
    try:
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0).chat.completions.create(
                model="cascade", messages=[{"role": "user", "content": QUESTION}])
        missing = httpx.post(f"{server.base_url}/chat/completions",
                             json={"model": "cascade", "messages": [{"role": "user", "content": QUESTION}]})
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
        assert httpx.get(f"{server.base_url}/models").status_code == 401
        assert httpx.get(f"{server.root}/metrics").status_code == 401
        assert httpx.get(f"{server.root}/healthz").status_code == 200  # liveness stays open
        good = openai.OpenAI(base_url=server.base_url, api_key=token, max_retries=0)
        completion = good.chat.completions.create(model="cascade", messages=[{"role": "user", "content": QUESTION}])
        assert completion.choices[0].message.content
        assert [m.id for m in good.models.list()] == ["cascade"]
    finally:
        server.stop()
    assert [n for _, n in logged_runs(server.store_path)] == [1]  # only the authorised request ran
    assert token not in server.stderr()
    for path in tmp_path.iterdir():
        assert path.is_dir() or token.encode() not in path.read_bytes()
    with Store(server.store_path) as store:
        dump = store.query_df("SELECT * FROM all_runs").to_csv() + store.query_df("SELECT * FROM all_steps").to_csv()
    assert token not in dump


def test_failed_cascade_is_502_and_still_logged(fresh_simulator, tmp_path: Path) -> None:
    failing = fresh_simulator(error_rate=1.0)
    server = ServerProc(tmp_path / "runs.duckdb", failing.base_url)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="cascade", messages=[{"role": "user", "content": QUESTION}])
        assert caught.value.status_code == 502
        body = caught.value.response.json()
        assert body["error"]["code"] == "cascade_failed" and "no tier could answer" in body["error"]["message"]
        run_id = caught.value.response.headers["x-cascade-run-id"]
        trace = wait_for_run(server.store_path, run_id)
        assert trace.error and trace.final_tier is None and len(trace.steps) == 3
        metrics = httpx.get(f"{server.root}/metrics").text
        assert 'cascade_errors_total{kind="cascade_failed"} 1' in metrics
        assert 'status="502"} 1' in metrics
    finally:
        server.stop()
