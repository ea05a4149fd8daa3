"""The embedded simulator over real HTTP through the official openai SDK (plus its pure core)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np
import openai
import pytest

from cascade_core.cascade.grading import grade
from cascade_core.cascade.signals import get_signal, parse_self_rated
from cascade_core.datasets.loader import BUNDLED_DATASET_PATH, Dataset, Item, load_bundled, load_dataset
from cascade_core.simulator import MODEL_NAMES, Catalog, EmbeddedSimulator, SimRequest, simulate
from cascade_core.simulator.ladder import LADDER, cost_usd
from cascade_core.sweep.calibration import auroc


def _answer_messages(question: str, style: str) -> list[dict[str, str]]:
    """The answer call's messages: "self_rated" (JSON) or "plain" (the logprob and verify signals' prompt)."""
    return get_signal("logprob" if style == "plain" else style).messages(question)


def _verify_messages(question: str, answer: str) -> list[dict[str, str]]:
    rule = get_signal("verify").verify
    assert rule is not None
    return rule.messages(question, answer)

SMALL, MID, LARGE = MODEL_NAMES
TARGETS = {SMALL: 0.65, MID: 0.82, LARGE: 0.87}
TOLERANCE = 0.04


def client(sim: EmbeddedSimulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url, api_key="unused", max_retries=0)


def ask(api: openai.OpenAI, model: str, question: str, signal: str = "self_rated", **extra: object):
    kwargs: dict[str, object] = {"model": model, "messages": _answer_messages(question, signal), "max_tokens": 256}
    if signal == "self_rated":
        kwargs["response_format"] = {"type": "json_object"}
    if signal == "logprob":
        kwargs["logprobs"] = True
    kwargs.update(extra)
    return api.chat.completions.create(**kwargs)


def tiny_dataset() -> Dataset:
    items = (
        Item("t1", "What is the capital of Peru?", "Lima", "text", "factual", "easy", 1),
        Item("t2", "What is the capital of Chile?", "Santiago", "text", "factual", "medium", 2),
        Item("t3", "What is 17 * 23?", "391", "number", "arithmetic", "hard", 3),
        Item("t4", "Which is a mammal?\nA. Shark\nB. Whale\nC. Trout", "B", "choice", "classification", "hard", 4),
    )
    return Dataset(name="tiny", path="tiny.jsonl", items=items)


@dataclass(frozen=True)
class Row:
    item: Item
    correct: bool
    rating: float
    probability: float
    cost: float


@pytest.fixture(scope="module")
def outcomes(simulator: EmbeddedSimulator) -> dict[str, list[Row]]:
    """Every bundled item on every tier, self-rated and logprob, over HTTP."""
    api = client(simulator)
    table: dict[str, list[Row]] = {}
    for model in MODEL_NAMES:
        rows = []
        for item in load_dataset(BUNDLED_DATASET_PATH).items:  # the written questions (FACTS.md figures)
            rated = ask(api, model, item.question)
            conf = parse_self_rated(rated.choices[0].message.content or "")
            plain = ask(api, model, item.question, "logprob")
            probability = math.exp(sum(t.logprob for t in plain.choices[0].logprobs.content))
            assert grade(conf.answer, item.gold, item.answer_type) == grade(
                plain.choices[0].message.content, item.gold, item.answer_type)  # one latent truth per item
            usage = rated.usage
            rows.append(Row(item, grade(conf.answer, item.gold, item.answer_type), conf.raw or 0.0, probability,
                            cost_usd(LADDER[model], usage.prompt_tokens, usage.completion_tokens)))
        table[model] = rows
    return table


def test_models_list(simulator: EmbeddedSimulator) -> None:
    assert [m.id for m in client(simulator).models.list()] == list(MODEL_NAMES)


def test_self_rated_reply_parses(simulator: EmbeddedSimulator) -> None:
    response = ask(client(simulator), SMALL, "What is the capital of France?")
    conf = parse_self_rated(response.choices[0].message.content or "")
    assert conf.parse_error is None and conf.answer and 1 <= (conf.raw or 0) <= 5
    assert json.loads(response.choices[0].message.content or "")["answer"] == conf.answer
    assert response.system_fingerprint == "cascade-lab-simulated"
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert (usage.model_extra or {}).get("cost") is None  # report_cost is off by default


def test_deterministic_for_seed_model_question(simulator: EmbeddedSimulator, fresh_simulator: Callable) -> None:
    question = load_bundled().items[100].question
    first = [ask(client(simulator), m, question).choices[0].message.content for m in MODEL_NAMES]
    again = [ask(client(simulator), m, question).choices[0].message.content for m in MODEL_NAMES]
    other = fresh_simulator(seed=0)
    assert first == again == [ask(client(other), m, question).choices[0].message.content for m in MODEL_NAMES]
    items = load_bundled().items[:60]
    reseeded = fresh_simulator(seed=7)
    changed = [ask(client(simulator), SMALL, i.question).choices[0].message.content
               != ask(client(reseeded), SMALL, i.question).choices[0].message.content for i in items]
    assert any(changed)  # another seed is another draw


def test_accuracy_per_tier_near_targets(outcomes: dict[str, list[Row]]) -> None:
    accuracy = {m: np.mean([r.correct for r in rows]) for m, rows in outcomes.items()}
    for model, target in TARGETS.items():
        assert abs(accuracy[model] - target) <= TOLERANCE, (model, accuracy[model])
    assert accuracy[SMALL] < accuracy[MID] < accuracy[LARGE]


def test_correctness_is_nested(outcomes: dict[str, list[Row]]) -> None:
    pairs = list(zip(outcomes[SMALL], outcomes[LARGE], strict=True))
    small_only = sum(1 for s, large in pairs if s.correct and not large.correct) / len(pairs)
    assert small_only < 0.05
    small_right = [s.correct for s in outcomes[SMALL]]
    mid_right = [m.correct for m in outcomes[MID]]
    assert sum(m for s, m in zip(small_right, mid_right, strict=True) if s) / sum(small_right) > 0.95


def test_easy_beats_hard(outcomes: dict[str, list[Row]]) -> None:
    for rows in outcomes.values():
        by = {level: np.mean([r.correct for r in rows if r.item.difficulty == level])
              for level in ("easy", "medium", "hard")}
        assert by["easy"] > by["medium"] > by["hard"]
        multistep = np.mean([r.correct for r in rows if r.item.category == "multistep"])
        classification = np.mean([r.correct for r in rows if r.item.category == "classification"])
        assert classification > multistep


def test_confidence_is_informative_but_imperfect(outcomes: dict[str, list[Row]]) -> None:
    for model, rows in outcomes.items():
        correct = np.array([r.correct for r in rows], dtype=float)
        for score in (np.array([r.rating for r in rows]), np.array([r.probability for r in rows])):
            assert 0.7 <= auroc(score, correct) <= 0.9, model
        wrong = [r for r in rows if not r.correct]
        overconfident = sum(1 for r in wrong if r.rating == 5) / len(wrong)
        assert 0.05 < overconfident < 0.35, (model, overconfident)


def test_cost_ratio_close_to_recorded(outcomes: dict[str, list[Row]]) -> None:
    mean = {m: np.mean([r.cost for r in rows]) for m, rows in outcomes.items()}
    assert 4.0 <= mean[MID] / mean[SMALL] <= 5.5
    assert 13.0 <= mean[LARGE] / mean[SMALL] <= 18.0


def test_logprobs_only_when_asked(simulator: EmbeddedSimulator) -> None:
    api = client(simulator)
    asked = ask(api, MID, "What is the capital of France?", "logprob")
    tokens = asked.choices[0].logprobs.content
    assert tokens and "".join(t.token for t in tokens) == asked.choices[0].message.content
    assert all(t.logprob <= 0 for t in tokens)
    assert ask(api, MID, "What is the capital of France?", "plain").choices[0].logprobs is None


def test_verify_mode_mostly_agrees_with_gold(simulator: EmbeddedSimulator) -> None:
    api = client(simulator)
    items = load_bundled().items[::6]
    agree = 0
    for item in items:
        wrong = "Z" if item.answer_type == "choice" else "-12345"
        for proposed, right in ((item.gold, True), (wrong, False)):
            reply = api.chat.completions.create(model=LARGE, messages=_verify_messages(item.question, proposed),
                                                logprobs=True)
            word = reply.choices[0].message.content
            assert word in ("yes", "no")
            assert reply.choices[0].logprobs.content[0].token == word
            agree += (word == "yes") == right
    assert agree / (2 * len(items)) > 0.8


def test_usage_cost_only_with_report_cost(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(report_cost=True)
    usage = ask(client(sim), LARGE, "What is the capital of France?").usage
    expected = cost_usd(LADDER[LARGE], usage.prompt_tokens, usage.completion_tokens)
    assert usage.model_extra["cost"] == pytest.approx(expected)
    sim.update_settings(report_cost=False)
    assert "cost" not in (ask(client(sim), LARGE, "What is the capital of France?").usage.model_extra or {})


def test_server_error_fault(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(error_rate=1.0)
    with pytest.raises(openai.InternalServerError) as caught:
        ask(client(sim), SMALL, "What is the capital of France?")
    assert caught.value.status_code == 500
    sim.update_settings(error_rate=0.0)
    assert ask(client(sim), SMALL, "What is the capital of France?").choices[0].message.content


def test_rate_limit_fault_has_retry_after(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(rate_limit_rate=1.0, retry_after=0.25)
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client(sim), SMALL, "What is the capital of France?")
    assert caught.value.response.headers["retry-after"] == "0.25"
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_faults_by_model_hit_one_tier_only(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"error_rate": 1.0}})
    with pytest.raises(openai.InternalServerError):
        ask(client(sim), SMALL, "What is the capital of France?")
    assert ask(client(sim), MID, "What is the capital of France?").choices[0].message.content
    with pytest.raises(ValueError, match="unknown knob"):
        sim.update_settings(faults_by_model={SMALL: {"explode_rate": 1.0}})


def test_malformed_fault_is_not_json_but_charged(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(malformed_rate=1.0)
    response = ask(client(sim), SMALL, "What is the capital of France?")
    assert parse_self_rated(response.choices[0].message.content or "").parse_error
    assert response.usage.completion_tokens > 0


def test_truncate_fault_ends_with_length(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(truncate_rate=1.0)
    response = ask(client(sim), SMALL, "What is the capital of France?")
    full = ask(client(fresh_simulator()), SMALL, "What is the capital of France?").choices[0].message.content
    assert response.choices[0].finish_reason == "length"
    content = response.choices[0].message.content or ""
    assert len(content) < len(full or "") and (full or "").startswith(content)
    assert response.usage.completion_tokens > 0


def test_faults_are_random_per_call(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(error_rate=0.5)
    outcomes = []
    for _ in range(40):
        try:
            ask(client(sim), SMALL, "What is the capital of France?")
            outcomes.append(True)
        except openai.InternalServerError:
            outcomes.append(False)
    assert any(outcomes) and not all(outcomes)  # a retry of the same request can succeed


def test_unknown_question_is_marked(simulator: EmbeddedSimulator) -> None:
    api = client(simulator)
    arithmetic = parse_self_rated(ask(api, SMALL, "What's 2+2?").choices[0].message.content or "")
    assert arithmetic.answer == "[simulated] 4"
    other = parse_self_rated(ask(api, LARGE, "Who will win the 2090 World Cup?").choices[0].message.content or "")
    assert other.answer is not None and other.answer.startswith("[simulated]")
    assert other.raw is not None and other.raw <= 3
    assert ask(api, SMALL, "What is __import__('os').getcwd() + 1?", "plain").choices[0].message.content.startswith(
        "[simulated]")


def test_tiny_dataset(fresh_simulator: Callable) -> None:
    sim = fresh_simulator(dataset=tiny_dataset())
    answers = [ask(client(sim), LARGE, item.question).choices[0].message.content for item in tiny_dataset().items]
    assert all(parse_self_rated(a or "").answer for a in answers)
    reply = ask(client(sim), SMALL, "What is the capital of France?").choices[0].message.content or ""
    assert "[simulated]" in reply  # not in this dataset


def test_stats_count_calls(fresh_simulator: Callable) -> None:
    sim = fresh_simulator()
    api = client(sim)
    for model in (SMALL, SMALL, LARGE):
        ask(api, model, "What is the capital of France?")
    stats = sim.stats()
    assert stats["total"] == 3 and stats["by_model"] == {SMALL: 2, LARGE: 1}
    assert httpx.get(f"{sim.root_url}/sim/stats").json()["total"] == 3
    assert httpx.post(f"{sim.root_url}/sim/reset").json()["total"] == 0
    assert sim.stats()["total"] == 0


def test_settings_endpoint(fresh_simulator: Callable) -> None:
    sim = fresh_simulator()
    changed = httpx.put(f"{sim.root_url}/sim/settings", json={"latency_ms": 5, "report_cost": True})
    assert changed.status_code == 200 and changed.json()["latency_ms"] == 5
    assert sim.settings.report_cost is True
    bad = httpx.put(f"{sim.root_url}/sim/settings", json={"error_rate": 2})
    assert bad.status_code == 400 and "error" in bad.json()


def test_unknown_model_is_404(simulator: EmbeddedSimulator) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client(simulator), "gpt-17", "What is the capital of France?")
    assert caught.value.body["code"] == "model_not_found"


@pytest.mark.parametrize("body", [
    {"model": SMALL},
    {"model": SMALL, "messages": []},
    {"model": SMALL, "messages": [{"role": "wizard", "content": "hi"}]},
    {"messages": [{"role": "user", "content": "hi"}]},
    {"model": SMALL, "messages": [{"role": "user", "content": "hi"}], "stream": True},
    {"model": SMALL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": "many"},
    [1, 2, 3],
])
def test_malformed_request_is_400(simulator: EmbeddedSimulator, body: object) -> None:
    response = httpx.post(f"{simulator.base_url}/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert httpx.post(f"{simulator.base_url}/chat/completions", content=b"{not json").status_code == 400


def test_max_tokens_cuts_output(simulator: EmbeddedSimulator) -> None:
    response = ask(client(simulator), SMALL, "What is the capital of France?", max_tokens=2)
    assert response.choices[0].finish_reason == "length" and response.usage.completion_tokens == 2


def test_stop_is_clean_and_idempotent() -> None:
    before = threading.active_count()
    sim = EmbeddedSimulator().start()
    assert httpx.get(f"{sim.root_url}/healthz").json()["status"] == "ok"
    sim.stop()
    sim.stop()
    assert threading.active_count() == before


def test_pure_core_is_deterministic() -> None:
    catalog = Catalog.from_dataset(load_bundled())
    request = SimRequest(MID, get_signal("self_rated").messages("What is 98 + 58?"), seed=3, json_mode=True)
    assert simulate(request, catalog) == simulate(request, catalog)


def test_default_config_prices_the_tiers_like_the_simulator() -> None:
    """The embedded default config and the simulator's ladder must agree on every price (usage.cost vs table)."""
    from cascade_core.cascade import default_config
    from cascade_core.simulator import LADDER

    for tier in default_config().tiers:
        spec = LADDER[tier.model]
        assert (tier.input_price, tier.output_price) == (spec.input_price, spec.output_price)
