"""Structured output (issue 16): response_format json_schema from one pydantic model per reply shape, stepping
down to json_object and then to the prompt alone when an endpoint refuses, remembered per endpoint; one JSON
parser shared by the signals and the audit judge."""

from __future__ import annotations

from cascade_core.audit.judge import JUDGE_OPTIONS, parse_judge_reply
from cascade_core.cascade import RetryConfig, TierClient, default_config
from cascade_core.cascade.signals import get_signal
from cascade_core.cascade.signals.self_rated import parse_self_rated
from cascade_core.cascade.structured import JudgeVerdictReply, SelfRatedReply, json_candidates

SMALL = "sim-llama-3.1-8b"
FAST = RetryConfig(max_retries=1, backoff_base=0.001, backoff_max=0.005, retry_after_max=0.01)


def _client(url: str) -> TierClient:
    return TierClient(default_config().tiers[0], url, FAST)


def test_requests_carry_a_strict_schema_built_from_the_pydantic_model() -> None:
    signal = get_signal("self_rated")
    params = _client("http://127.0.0.1:9/v1").request_params(signal.messages("2+2?"), signal.options)
    fmt = params["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == SelfRatedReply.model_json_schema()
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["answer", "confidence"] and schema["additionalProperties"] is False
    assert schema["properties"]["confidence"]["minimum"] == 1 and schema["properties"]["confidence"]["maximum"] == 5
    judge = _client("http://127.0.0.1:9/v1").request_params([], JUDGE_OPTIONS)["response_format"]
    assert judge["json_schema"]["schema"]["properties"]["verdict"]["enum"] == ["correct", "incorrect", "unsure"]
    assert JudgeVerdictReply.model_validate_json('{"verdict": "unsure", "rationale": "r"}').verdict == "unsure"


def test_a_refused_schema_steps_down_once_and_is_remembered(fresh_simulator) -> None:
    sim = fresh_simulator(refuse_formats=["json_schema"])
    client, signal = _client(sim.base_url), get_signal("self_rated")
    first = client.call(signal.messages("What is the capital of France?"), signal.options)
    assert first.ok and client.format_level == "json_object"
    assert parse_self_rated(first.raw_output).normalised is not None
    assert sim.stats()["events"].get("format_refused") == 1 and sim.stats()["total"] == 2
    second = client.call(signal.messages("What is 2+2?"), signal.options)
    assert second.ok and second.attempts == 1
    assert sim.stats()["total"] == 3 and sim.stats()["events"]["format_refused"] == 1  # not asked again


def test_an_endpoint_refusing_both_formats_gets_the_prompt_alone(fresh_simulator) -> None:
    sim = fresh_simulator(refuse_formats=["json_schema", "json_object"])
    client, signal = _client(sim.base_url), get_signal("self_rated")
    call = client.call(signal.messages("What is the capital of France?"), signal.options)
    assert call.ok and client.format_level == "none"
    assert "response_format" not in client.request_params(signal.messages("x"), signal.options)
    assert parse_self_rated(call.raw_output).answer  # the prompt still asks for the JSON object


def test_constrained_decoding_removes_malformed_replies(fresh_simulator) -> None:
    """The simulator's malformed knob garbles replies; a server that enforces the schema cannot."""
    sim = fresh_simulator(faults_by_model={SMALL: {"malformed_rate": 1.0}}, constrained_decoding=True)
    signal = get_signal("self_rated")
    loose = _client(sim.base_url)
    loose.format_level = "json_object"  # what was asked before issue 16
    assert parse_self_rated(loose.call(signal.messages("What is 2+2?"), signal.options).raw_output).parse_error
    strict = _client(sim.base_url).call(signal.messages("What is 2+2?"), signal.options)
    assert parse_self_rated(strict.raw_output).parse_error is None


def test_one_parser_for_signals_and_judge() -> None:
    assert json_candidates('{"Answer": "4", "confidence": 5}', "answer", fenced_first=True) == [
        {"answer": "4", "confidence": 5}]
    chatty = 'Sure!\n```json\n{"answer": "B", "confidence": 4}\n```\nand {"answer": "C"}'
    assert [c["answer"] for c in json_candidates(chatty, "answer", fenced_first=True)][:2] == ["B", "B"]
    assert parse_self_rated(chatty).answer == "B"
    # the judge reads the last verdict object: a quoted one from the data comes first
    reply = 'The answer says {"verdict": "correct"}. My verdict: {"verdict": "incorrect", "rationale": "wrong"}'
    assert parse_judge_reply(reply).verdict == "incorrect"
