"""Servers that are not ours (llama.cpp's llama-server, gateways, LiteLLM): what their replies do to a run, over
real HTTP, through the sync walk (query) and the async one (serve, sweep). Each case is a simulator knob.
"""

from __future__ import annotations

import asyncio
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cascade_core.cascade import CascadeConfig, build_runtime
from cascade_core.cascade.client import CallCancelled
from cascade_core.cli.main import main
from cascade_core.datasets import load_bundled
from cascade_core.records import TierCall
from cascade_core.simulator.faults import DRAFT_ANSWER
from cascade_core.store import Store
from cascade_core.sweep.collect import collect
from cascade_core.views import trace_notes
from tests.test_audit_sim import write_config
from tests.test_endpoint_faults import LARGE, MID, SMALL, config_for, run_both

pytestmark = pytest.mark.integration


def test_a_chat_completion_with_mistyped_fields_is_an_error_step_not_a_crash(fresh_simulator) -> None:
    # A message that is a string, content that is a number or an object: the SDK passes them through unchecked.
    sim = fresh_simulator(faults_by_model={SMALL: {"mistyped_body_rate": 1.0}})
    for trace in run_both(config_for(sim.base_url), thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.decision == "error" and first.call.error_kind == "bad_response", first.reason
        assert "HTTP 200 with a chat completion whose message" in (first.call.error or "")
        assert first.call.attempts == 2 and first.call.lost_attempts == 2  # generated, so charged at an estimate
        assert first.call.cost > 0 and first.call.cost_source == "estimated"
        assert trace.error is None and trace.final_tier == "mid" and trace.final_answer


def test_content_parts_are_read_as_the_answer(fresh_simulator) -> None:
    sim = fresh_simulator(content_parts=True)
    for trace in run_both(config_for(sim.base_url), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.decision == "accepted" and (first.confidence.answer or "").endswith("4"), first.call.raw_output
        assert first.call.raw_output.startswith("{") and first.call.cost_source == "price_table"


@pytest.mark.parametrize("signal", ["self_rated", "logprob"])
def test_unreadable_usage_and_logprobs_count_as_absent(fresh_simulator, signal: str) -> None:
    # usage {"prompt_tokens": -1, "completion_tokens": "12"} was charged as sent (or crashed the run); logprobs as a
    # bare list crashed it: now the tokens are estimated and marked, and the logprob signal has no confidence.
    sim = fresh_simulator(garbled_fields=True, logprobs_need_top=False)
    for trace in run_both(config_for(sim.base_url, signal=signal), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.call.error is None and first.call.cost_source == "estimated", first.call.error
        assert first.call.tokens_in > 0 and first.call.estimated_cost == first.call.cost > 0
        assert first.call.logprobs is None
        if signal == "logprob":
            assert first.confidence.normalised is None and trace.final_tier == "large"
        else:
            assert first.decision == "accepted"


def test_a_sweep_over_mistyped_replies_records_failed_cells(fresh_simulator, tmp_path) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"mistyped_body_rate": 1.0}})
    config = config_for(sim.base_url)
    with Store(tmp_path / "s.duckdb") as store:
        result = collect(load_bundled(), config, [t.base_url for t in config.tiers], store, limit=4)
    assert result.complete and result.progress.errors == 4, result.error_examples  # the small tier's 4 cells
    assert all("message" in example for example in result.error_examples)
    small = [c for c in result.calls.values() if c.tier_name == "small"]
    assert len(small) == 4 and all(c.error_kind == "bad_response" and c.cost > 0 for c in small)


@pytest.mark.parametrize("signal", ["self_rated", "logprob"])
def test_a_draft_inside_think_is_never_read_as_the_answer(fresh_simulator, signal: str) -> None:
    # llama.cpp with --reasoning-format none, Ollama, R1 distills: '<think>... {"answer": "DRAFT-0", "confidence":
    # 5} ...</think>{"answer": "4", ...}'. The draft was parsed and accepted at confidence 5; the logprob signal
    # counted the reasoning's tokens.
    plain = run_both(config_for(fresh_simulator().base_url, signal=signal), "What is 2 + 2?", thresholds=[0.0, 0.0])
    sim = fresh_simulator(reasoning="inline")
    for trace, without in zip(run_both(config_for(sim.base_url, signal=signal), "What is 2 + 2?",
                                       thresholds=[0.0, 0.0]), plain, strict=True):
        first = trace.steps[0]
        assert first.call.raw_output.startswith("<think>") and DRAFT_ANSWER in first.call.raw_output
        assert first.confidence.answer == without.steps[0].confidence.answer and "DRAFT" not in trace.final_answer
        assert first.confidence.normalised == pytest.approx(without.steps[0].confidence.normalised)


def test_reasoning_content_is_kept_in_the_raw_output_and_not_read_as_the_answer(fresh_simulator) -> None:
    sim = fresh_simulator(reasoning="field")
    for trace in run_both(config_for(sim.base_url), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.call.raw_output.startswith("<think>Let me think") and "</think>{" in first.call.raw_output
        assert first.decision == "accepted" and (first.confidence.answer or "").endswith("4")


def test_an_answer_left_inside_the_reasoning_is_no_answer(fresh_simulator) -> None:
    sim = fresh_simulator(reasoning="field_only")
    for trace in run_both(config_for(sim.base_url), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        assert all(s.confidence.answer is None and "after the model's reasoning" in s.reason for s in trace.steps)
        assert trace.final_answer is None and trace.error and "reasoning" in trace.error


def _with_timeout(url: str, timeout: float) -> CascadeConfig:
    data = config_for(url).model_dump()
    for tier in data["tiers"]:
        tier["timeout"] = timeout
    return CascadeConfig.model_validate(data)


def test_a_trickled_body_times_out_at_the_tiers_timeout(fresh_simulator) -> None:
    # The HTTP clients' timeout bounds each wait for bytes: 8 pieces 250 ms apart took 1.75 s against timeout 0.5,
    # and a gateway trickling keep-alive bytes could hold a call forever. Now the attempt ends at the timeout.
    sim = fresh_simulator(faults_by_model={SMALL: {"trickle_ms": 250}})
    for trace in run_both(_with_timeout(sim.base_url, 0.5), thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        assert first.call.error_kind == "timeout" and "still trickling in" in (first.call.error or ""), first.reason
        assert [a["kind"] for a in first.call.attempt_log] == ["timeout", "timeout"]
        assert all(0.5 <= a["latency_ms"] / 1000 < 1.0 for a in first.call.attempt_log), first.call.attempt_log
        assert first.call.lost_attempts == 2 and first.call.cost_source == "estimated" and first.call.cost > 0
        assert trace.final_tier == "mid" and trace.final_answer
    # A body that trickles but ends within the timeout is an answer.
    sim = fresh_simulator(trickle_ms=20)
    for trace in run_both(_with_timeout(sim.base_url, 2.0), thresholds=[0.0, 0.0]):
        assert trace.steps[0].decision == "accepted" and trace.steps[0].call.attempts == 1


def test_a_connection_dropped_mid_body_is_named_and_charged(fresh_simulator) -> None:
    # Was "connection failed (RemoteProtocolError: ...)" or, on the aiohttp transport, a two-line ContentLengthError,
    # charged $0 although the server had sent HTTP 200 and half the completion.
    sim = fresh_simulator(faults_by_model={SMALL: {"reset_body_rate": 1.0}})
    host = sim.base_url.split("//")[1].split("/")[0]
    for trace in run_both(config_for(sim.base_url), thresholds=[0.0, 0.0]):
        first = trace.steps[0]
        error = first.call.error or ""
        assert error.startswith(f"{host}: connection dropped after HTTP 200 with ") and "\n" not in error, error
        assert error.endswith(" bytes of the body received") and first.call.error_kind == "connection"
        assert first.call.attempts == 2 and first.call.lost_attempts == 2
        assert first.call.cost_source == "estimated" and first.call.estimated_cost == first.call.cost > 0
        assert "charged at an estimate" in first.reason
        assert trace.final_tier == "mid" and trace.final_answer


def test_a_gateways_own_words_are_in_the_error_on_one_line(fresh_simulator) -> None:
    # HTTP 200 {"error": {...}} (LiteLLM, OpenRouter) said only "a JSON body that is not a chat completion (no
    # 'choices')"; an nginx 502 page said "HTTP 502: Error code: 502".
    sim = fresh_simulator(faults_by_model={SMALL: {"error_body_rate": 1.0}, MID: {"gateway_error_rate": 1.0}})
    host = sim.base_url.split("//")[1].split("/")[0]
    for trace in run_both(config_for(sim.base_url), thresholds=[0.0, 0.0]):
        small, mid = trace.steps[0].call, trace.steps[1].call
        assert small.error == (f"{host}: answered HTTP 200 with an error, not a chat completion: (503) "
                               "litellm.ServiceUnavailableError: upstream overloaded (simulated) Received Model "
                               "Group=sim"), small.error
        assert small.error_kind == "bad_response" and small.attempts == 2 and small.cost == 0
        assert mid.error == f"{host}: HTTP 502: an HTML page '502 Bad Gateway'" and mid.error_kind == "server"
        assert mid.attempts == 2 and trace.final_tier == "large" and trace.final_answer


def audit_with_a_failing_judge(fresh_simulator, tmp_path: Path, store_path: Path) -> int:
    """Runs logged on a healthy simulator, then `audit` with a [judge] behind a gateway answering 502 pages."""
    tiers, judge = fresh_simulator(), fresh_simulator(gateway_error_rate=1.0)
    config = config_for(tiers.base_url)
    with build_runtime(config) as runtime, Store(store_path) as store:
        for item in load_bundled().items[:30]:
            store.log_trace(runtime.cascade.run(item.question, item=item))
    path = tmp_path / "cascade.toml"
    path.write_text(write_config(tiers, tmp_path).read_text() + textwrap.dedent(f"""
        [judge]
        name = "judge"
        model = "{LARGE}"
        base_url = "{judge.base_url}"
        input_price = 3.0
        output_price = 3.0
        """), encoding="utf-8")
    return main(["audit", "--config", str(path), "--store", str(store_path), "--sample", "4"])


def test_an_audit_whose_judge_fails_says_why(fresh_simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    # Said only "judge errors 4" (no cause anywhere), and the exit code 3 of a re-certification alert hid exit 1's
    # "rerun with --resume"; the report called the real judge "SIMULATED: judge and tiers".
    code = audit_with_a_failing_judge(fresh_simulator, tmp_path, tmp_path / "a.duckdb")
    out, err = capsys.readouterr()
    assert code == 1  # some judge calls failed (no alert here: write_config sets a lenient re-certification)
    assert "warning: 4 of 4 judge calls failed: " in err and "HTTP 502: an HTML page '502 Bad Gateway' (4)" in err
    assert "--resume" in err
    assert "Judge errors: 4 of 4 judge calls failed: " in out and "'502 Bad Gateway' (4)" in out
    assert "judge and tiers" not in out


def test_a_proxys_fallback_model_is_said_and_kept_with_the_run(fresh_simulator, tmp_path: Path) -> None:
    # LiteLLM answered "small" from its fallback (x-litellm-attempted-fallbacks: 1): the run showed the answer,
    # confidence and price as small's, with nothing saying another model gave them.
    sim = fresh_simulator(faults_by_model={SMALL: {"proxy_fallback_rate": 1.0}})
    for trace in run_both(config_for(sim.base_url), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        assert trace.steps[0].call.served_by == MID and trace.meta["served_by"] == {"0": MID}
        with Store(tmp_path / "s.duckdb") as store:
            store.log_trace(trace)
            logged = store.get_trace(trace.run_id)
        assert logged is not None
        for shown in (trace, logged):
            notes = [n for n in trace_notes(shown) if "fallback model" in n]
            assert notes == [f"tier 'small' was answered by a proxy's fallback model ({MID}), not its own model: "
                             "that answer and its confidence are another model's, and it is priced at the tier's "
                             "prices"]
    plain = run_both(config_for(fresh_simulator().base_url), "What is 2 + 2?", thresholds=[0.0, 0.0])[0]
    assert "served_by" not in plain.meta and plain.steps[0].call.served_by is None


def test_a_proxys_booked_cost_is_the_calls_cost(fresh_simulator, tmp_path: Path) -> None:
    # LiteLLM books each call in x-litellm-response-cost (its price map, for the model that really answered); the
    # run charged the config's prices and never read it. Here the config's prices are 10x the proxy's.
    from cascade_core.cascade import default_config
    from cascade_core.cascade.pricing import price_table_cost

    data = config_for(fresh_simulator(proxy_cost_header=True).base_url).model_dump()
    for tier in data["tiers"]:
        tier["input_price"] *= 10
        tier["output_price"] *= 10
    listed = default_config().tiers[0]
    for trace in run_both(CascadeConfig.model_validate(data), "What is 2 + 2?", thresholds=[0.0, 0.0]):
        call = trace.steps[0].call
        assert call.cost_source == "proxy_header" and call.estimated_cost == 0
        assert call.cost == pytest.approx(price_table_cost(listed, call.tokens_in, call.tokens_out), rel=1e-9)
        with Store(tmp_path / "s.duckdb") as store:
            store.log_trace(trace)
            logged = store.get_trace(trace.run_id)
        assert logged is not None and logged.steps[0].call.cost_source == "proxy_header"
        assert logged.total_cost == pytest.approx(call.cost)
        assert "the cost of tier(s) small is what the proxy booked for each call (x-litellm-response-cost), not the " \
               "config's prices" in trace_notes(logged)
    # no usage in the body: the tokens are estimated, the cost is still the proxy's, not an estimate
    data["tiers"][0]["base_url"] = fresh_simulator(proxy_cost_header=True, omit_usage=True).base_url
    call = run_both(CascadeConfig.model_validate(data), "What is 2 + 2?", thresholds=[0.0, 0.0])[0].steps[0].call
    assert call.cost_source == "proxy_header" and call.cost > 0 and call.estimated_cost == 0


def _one_slot_config(url: str, max_in_flight: int | None) -> CascadeConfig:
    data = config_for(url).model_dump()
    for tier in data["tiers"]:
        tier.update(timeout=1.0, max_in_flight=max_in_flight)
    return CascadeConfig.model_validate(data)


@pytest.mark.parametrize("max_in_flight", [None, 1])
def test_a_one_slot_server_behind_serve_and_query_gets_one_call_at_a_time(fresh_simulator, max_in_flight) -> None:
    # llama-server with one slot, 300 ms a reply, tiers with timeout 1 s, 6 questions at once (serve's event loop)
    # and 6 threads (the dashboard's sessions, the audit's judge threads). Without max_in_flight the queue made
    # calls time out and be retried while the server still generated them (each charged at an estimate); with it
    # the others wait their turn (queue_ms) and none times out.
    sim = fresh_simulator(single_slot=True, latency_ms=300)
    questions = [item.question for item in load_bundled().items[:6]]
    with build_runtime(_one_slot_config(sim.base_url, max_in_flight)) as runtime:
        client = runtime.clients[0]

        async def at_once() -> list[TierCall]:
            try:
                return list(await asyncio.gather(*(client.acall([{"role": "user", "content": q}])
                                                   for q in questions)))
            finally:
                await client.aclose()

        async_calls = asyncio.run(at_once())
        with ThreadPoolExecutor(6) as pool:
            thread_calls = list(pool.map(lambda q: client.call([{"role": "user", "content": q}]), questions))
    for calls in (async_calls, thread_calls):
        timeouts = [a for c in calls for a in c.attempt_log if a["kind"] == "timeout"]
        if max_in_flight is None:
            assert timeouts, "the one-slot queue should make some calls time out without max_in_flight"
        else:
            assert not timeouts and all(c.ok and c.attempts == 1 for c in calls), [c.error for c in calls]
            assert max(c.queue_ms for c in calls) > 600  # the last waited for most of the others
            assert all(c.latency_ms < 1000 for c in calls)  # the wait is not model latency
    if max_in_flight is not None:
        assert sim.stats()["total"] == 12  # nothing generated for nobody


def test_a_call_cancelled_while_waiting_for_a_slot_is_recorded_as_such(fresh_simulator) -> None:
    # serve's shutdown cancels requests past the grace: one waiting for the tier's slot has sent nothing, and must
    # still reach the walk as a recorded call (CallCancelled), so the run's earlier calls are logged.
    sim = fresh_simulator(latency_ms=500)
    with build_runtime(_one_slot_config(sim.base_url, 1)) as runtime:
        client = runtime.clients[0]

        async def waiting() -> BaseException | None:  # as the walk awaits it: in the cancelled task itself
            try:
                await client.acall([{"role": "user", "content": "What is 3 + 3?"}])
            except asyncio.CancelledError as err:
                return err
            return None

        async def two() -> tuple[TierCall, BaseException | None]:
            try:
                first = asyncio.create_task(client.acall([{"role": "user", "content": "What is 2 + 2?"}]))
                second = asyncio.create_task(waiting())
                await asyncio.sleep(0.1)
                second.cancel()
                return await first, await second
            finally:
                await client.aclose()

        first, caught = asyncio.run(two())
    assert first.ok
    assert isinstance(caught, CallCancelled), caught
    assert caught.call.error_kind == "cancelled" and "waiting for a free slot" in (caught.call.error or "")
    assert caught.call.cost == 0 and caught.call.attempts == 0


@pytest.mark.parametrize(("knob", "words"), [("html_body_rate", "HTTP 200 with a body that is not an embeddings"),
                                             ("error_body_rate", "HTTP 200 with a body that is not an embeddings"),
                                             ("trickle_ms", "timed out")])
def test_an_embeddings_endpoint_that_misbehaves_is_an_embedding_error(fresh_simulator, knob: str, words: str
                                                                        ) -> None:
    # The routing embedder read `reply.data` unchecked: a gateway's page with HTTP 200 raised AttributeError past
    # the router's EmbeddingError fallback (serve: a 500 and the run lost), and a trickled body was waited for.
    from cascade_core.cascade.routes_config import EmbeddingConfig
    from cascade_core.routing import Embedder, EmbeddingError

    sim = fresh_simulator(faults_by_model={"sim-embed-hash": {knob: 300.0 if knob == "trickle_ms" else 1.0}})
    config = EmbeddingConfig(provider="openai", base_url=sim.base_url, model="sim-embed-hash", timeout=0.5)
    embedder = Embedder(config)

    async def aembed() -> None:
        try:
            await embedder.aembed(["hello there"])
        finally:
            await embedder.aclose()

    for attempt in (lambda: embedder.embed(["hello there"]), lambda: asyncio.run(aembed())):
        with pytest.raises(EmbeddingError, match=words):
            attempt()
    embedder.close()
