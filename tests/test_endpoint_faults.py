"""Real endpoints (issue 11): every fault over real HTTP, reproduced with a simulator knob or a real socket.

Bodies that are not chat completions, named network causes, lost attempts charged at an estimate, truncated
answers and non-answers never confident or served, logprobs on llama.cpp-like servers.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from cascade_core.cascade import CascadeConfig, RequestOptions, TierClient, build_runtime, default_config
from cascade_core.cascade.config import RetryConfig
from cascade_core.datasets import load_bundled
from cascade_core.records import Trace
from cascade_core.views.trace import trace_notes
from tests.ports import free_port

SMALL, MID, LARGE = "sim-llama-3.1-8b", "sim-llama-3.1-70b", "sim-llama-3.1-405b"
ONE_RETRY = RetryConfig(max_retries=1, backoff_base=0.001, backoff_max=0.005, retry_after_max=0.01)
QUESTION = load_bundled().items[0].question


def config_for(url: str, **changes: Any) -> CascadeConfig:
    data = default_config().model_dump()
    for tier in data["tiers"]:
        tier["base_url"] = url
    data["retry"] = ONE_RETRY.model_dump()
    data.update(changes)
    return CascadeConfig.model_validate(data)


def run_both(config: CascadeConfig, question: str = QUESTION, **kwargs: Any) -> list[Trace]:
    """The same question through the sync walk (httpx transport) and the async one (aiohttp transport)."""
    runtime = build_runtime(config)
    try:
        sync = runtime.cascade.run(question, **kwargs)

        async def go() -> Trace:
            try:
                return await runtime.cascade.arun(question, **kwargs)
            finally:
                for client in runtime.clients:
                    await client.aclose()

        return [sync, asyncio.run(go())]
    finally:
        runtime.close()


@pytest.mark.parametrize("kind", ["html", "empty", "cut"])
def test_a_200_that_is_not_a_chat_completion_is_an_error_step(fresh_simulator, kind: str) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {f"{kind}_body_rate": 1.0}})
    host = sim.base_url.split("//")[1].split("/")[0]
    for trace in run_both(config_for(sim.base_url), thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.decision == "error" and first.call.error_kind == "bad_response", first.reason
        assert host in (first.call.error or "") and "HTTP 200" in (first.call.error or "")
        assert first.call.attempts == 2  # retried once, then escalated past
        assert trace.error is None and trace.final_tier == "mid"  # the healthy tier answered
        if kind == "cut":  # the model generated before the body broke: charged at an estimate, shown
            assert first.call.lost_attempts == 2 and first.call.cost > 0
            assert first.call.cost_source == "estimated" and first.call.estimated_cost == first.call.cost
            assert "charged at an estimate" in first.reason
        else:  # a gateway's page or {}: nothing was generated
            assert first.call.cost == 0


def _refused_url() -> str:
    port = free_port()  # nothing listens there
    return f"http://127.0.0.1:{port}/v1"


def _tls_url(sim_url: str) -> str:
    return sim_url.replace("http://", "https://")  # TLS to a plain-HTTP port: the handshake fails


def _causes(url: str, timeout: float = 5.0) -> list[tuple[str | None, str | None]]:
    tier = default_config().tiers[0].model_copy(update={"base_url": url, "timeout": timeout})
    client = TierClient(tier, url, RetryConfig(max_retries=0))
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    sync = client.call(messages)

    async def go() -> Any:
        try:
            return await client.acall(messages)
        finally:
            await client.aclose()

    asynced = asyncio.run(go())
    client.close()
    return [(sync.error_kind, sync.error), (asynced.error_kind, asynced.error)]


def test_each_network_failure_is_named_with_its_host(fresh_simulator) -> None:
    sim = fresh_simulator(latency_ms=400, faults_by_model={MID: {"error_rate": 1.0, "latency_ms": 0}})
    sim_host = sim.base_url.split("//")[1].split("/")[0]
    refused = _refused_url()
    cases = {
        "refused": (refused, refused.split("//")[1].split("/")[0], "connection refused"),
        "dns": ("http://no-such-host.invalid/v1", "no-such-host.invalid", "DNS lookup failed"),
        "tls": (_tls_url(sim.base_url), sim_host, "TLS handshake failed"),
    }
    for kind, (url, host, words) in cases.items():
        for got_kind, message in _causes(url):
            assert got_kind == kind, message
            assert host in (message or "") and words in (message or ""), message
    # A real timeout: the simulator answers after 400 ms, the tier waits 0.1 s.
    for got_kind, message in _causes(sim.base_url, timeout=0.1):
        assert got_kind == "timeout" and sim_host in (message or "") and "0.1 s" in (message or ""), message
    # An HTTP status: the mid model answers 500.
    tier = default_config().tiers[1].model_copy(update={"base_url": sim.base_url})
    failed = TierClient(tier, sim.base_url, RetryConfig(max_retries=0)).call([{"role": "user", "content": "hi"}])
    assert failed.error_kind == "server" and f"{sim_host}: HTTP 500" in (failed.error or "")


def test_timed_out_attempts_are_charged_at_an_estimate_and_recorded(fresh_simulator) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"latency_ms": 500}})
    config = config_for(sim.base_url)
    data = config.model_dump()
    data["tiers"][0]["timeout"] = 0.1
    data["tiers"][0]["max_tokens"] = 100
    trace = run_both(CascadeConfig.model_validate(data), thresholds=[0.0, 0.0])[0]
    first = trace.steps[0]
    assert first.decision == "error" and first.call.error_kind == "timeout"
    # Each of the 2 attempts: the prompt's tokens plus max_tokens (the upper bound), at the small tier's price.
    prompt_tokens = sum(len(m["content"]) for m in first.call.messages) // 4
    expected = 2 * (prompt_tokens * 0.20 + 100 * 0.20) / 1e6
    assert first.call.cost == pytest.approx(expected) and first.call.cost_source == "estimated"
    assert [a["kind"] for a in first.call.attempt_log] == ["timeout", "timeout"]
    assert trace.meta["attempts"]["0"][0]["billed_estimate"] is True
    assert trace.total_cost >= expected
    assert any("estimate" in note for note in trace_notes(trace))


@pytest.mark.parametrize("signal", ["self_rated", "logprob", "verify"])
def test_a_cut_off_answer_is_never_confident(fresh_simulator, signal: str) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"truncate_rate": 1.0}})
    for trace in run_both(config_for(sim.base_url, signal=signal), thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.call.finish_reason == "length"
        assert first.decision == "escalated" and first.confidence.normalised is None, first.reason
        assert first.verify_call is None  # a cut-off answer is not sent to be verified
        assert trace.final_tier == "mid"


def reaching_large(config: CascadeConfig) -> str:
    """A bundled question the small and mid tiers are not fully sure of (so a walk at thresholds 1.0 reaches large)."""
    runtime = build_runtime(config)
    try:
        for item in load_bundled().items:
            steps = runtime.cascade.run(item.question, thresholds=[1.0, 1.0]).steps
            if len(steps) == 3 and all(s.confidence.answer for s in steps[:2]):
                return item.question
    finally:
        runtime.close()
    raise AssertionError("no bundled question reaches the large tier")


def test_a_non_answer_is_never_served_as_success(fresh_simulator) -> None:
    sim = fresh_simulator(faults_by_model={LARGE: {"placeholder_rate": 1.0}})
    question = reaching_large(config_for(sim.base_url))
    for trace in run_both(config_for(sim.base_url), question, thresholds=[1.0, 1.0]):
        last = trace.steps[-1]
        assert last.decision == "error" and "placeholder" in last.reason
        assert trace.final_answer is None and trace.error and "placeholder" in trace.error
    # Allowed by config: the best earlier answer, marked as such.
    for trace in run_both(config_for(sim.base_url, fallback_to_earlier=True), question, thresholds=[1.0, 1.0]):
        assert trace.error is None and trace.final_tier in ("small", "mid") and trace.final_answer
        assert trace.fallback and "best earlier answer" in trace.fallback


def test_chat_template_tokens_at_the_last_tier_are_not_an_answer(fresh_simulator) -> None:
    sim = fresh_simulator(seed=1, faults_by_model={LARGE: {"malformed_rate": 1.0}})
    for signal in ("self_rated", "logprob"):
        question = reaching_large(config_for(sim.base_url, signal=signal))
        traces = run_both(config_for(sim.base_url, signal=signal), question, thresholds=[1.0, 1.0])
        for trace in traces:
            assert trace.final_answer is None and trace.error, (signal, trace.steps[-1].call.raw_output)


def test_logprobs_on_a_server_that_needs_top_logprobs(fresh_simulator) -> None:
    sim = fresh_simulator(logprobs_need_top=True)
    body = {"model": SMALL, "messages": [{"role": "user", "content": "What is 2 + 2?"}], "logprobs": True}
    bare = httpx.post(f"{sim.base_url}/chat/completions", json=body).json()
    assert bare["choices"][0]["logprobs"] is None  # the knob reproduces llama.cpp
    for trace in run_both(config_for(sim.base_url, signal="logprob"), thresholds=[1.0, 1.0]):
        assert all(s.confidence.normalised is not None for s in trace.steps[:2]), [s.reason for s in trace.steps]
    tier = default_config().tiers[0].model_copy(update={"base_url": sim.base_url})
    params = TierClient(tier, sim.base_url, ONE_RETRY).request_params([], RequestOptions(logprobs=True,
                                                                                         top_logprobs=1))
    assert params["top_logprobs"] == 1


def test_an_endpoint_without_logprobs_is_said_once(fresh_simulator) -> None:
    sim = fresh_simulator(logprobs_supported=False)
    trace = run_both(config_for(sim.base_url, signal="logprob"), thresholds=[0.5, 0.5])[0]
    notes = [n for n in trace_notes(trace) if "no logprobs" in n]
    assert len(notes) == 1 and "small, mid" in notes[0]


def test_refused_port_is_really_closed() -> None:
    """Guard for the refused case above: free_port hands out a port nothing listens on."""
    url = _refused_url()
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_settings_connection_test_probes_logprobs(fresh_simulator) -> None:
    from cascade_core.views.settings import check_connection

    for supported in (True, False):
        sim = fresh_simulator(logprobs_supported=supported, logprobs_need_top=True)
        tier = default_config().tiers[0].model_copy(update={"base_url": sim.base_url})
        check = check_connection(TierClient(tier, sim.base_url, ONE_RETRY))
        assert check.ok and check.logprobs is supported, check.logprobs_note
        assert ("returns logprobs" if supported else "returned no logprobs") in check.logprobs_note


def test_finish_reason_is_passed_through_never_invented(fresh_simulator) -> None:
    import json

    from cascade_core.serve.responses import completion_body, stream_events

    sim = fresh_simulator(omit_finish_reason=True)
    for trace in run_both(config_for(sim.base_url), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        assert trace.final_answer and trace.steps[-1].call.finish_reason is None
        body = json.loads(completion_body(trace, "cascade"))
        assert body["choices"][0]["finish_reason"] is None  # not an invented "stop"
        last = json.loads(stream_events(trace, "cascade", False)[-2].removeprefix(b"data: "))
        assert last["choices"][0]["finish_reason"] is None
