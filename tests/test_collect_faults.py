"""Live collection against faulty endpoints (issue 11), over real HTTP to the simulator and a real DuckDB file."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from cascade_core.cascade import CascadeConfig
from cascade_core.datasets import load_bundled
from cascade_core.store import Store
from cascade_core.store.sweeps import cached_calls, write_calls
from cascade_core.sweep.call_cache import call_to_row
from cascade_core.sweep.collect import collect
from tests.sweep_support import sim_config

SMALL = "sim-llama-3.1-8b"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "faults.duckdb") as s:
        yield s


def urls(config: CascadeConfig) -> list[str]:
    return [t.base_url for t in config.tiers]


@pytest.mark.slow
def test_a_single_slot_server_gets_adaptive_concurrency_and_queue_time_apart(fresh_simulator, store: Store) -> None:
    """Three tiers on one model of a one-slot server that takes 100 ms a call: 16 calls at once would wait 1.6 s
    and the tiers give up at 1 s (then retry, generating answers nobody receives). The adaptive limit keeps the
    server's queue short, so no call times out, and the wait for a slot is recorded apart from latency."""
    sim = fresh_simulator(single_slot=True, latency_ms=100)
    data = sim_config(sim).model_dump()
    for index, tier in enumerate(data["tiers"]):
        tier["timeout"] = 1.0
        tier["model"] = SMALL  # one model: one slot for every tier
        tier["max_tokens"] = 256 - index  # distinct requests (the cache would share identical ones)
    config = CascadeConfig.model_validate(data)
    result = collect(load_bundled(), config, urls(config), store, concurrency=16, limit=8)
    assert result.complete and result.progress.errors == 0, result.error_examples
    assert all(c.attempts == 1 for c in result.calls.values())  # nothing timed out, nothing retried
    assert sim.stats()["total"] == 8 * 3  # no answer was generated for nobody
    assert (result.outcomes["queue_ms"] > 0).any()  # the wait for a slot is recorded, apart from latency


@pytest.mark.slow
def test_rising_latency_on_a_one_slot_server_shrinks_the_limit(fresh_simulator, store: Store) -> None:
    """A one-slot server taking 200 ms a call answers the k-th queued call after k x 200 ms: past the first few
    calls the latency rises with every extra call in flight. Slow start overshoots; the gate must then come back
    down, not stay where the queue makes every call wait a second (measured before the fix: median 1 s)."""
    sim = fresh_simulator(single_slot=True, latency_ms=200)
    data = sim_config(sim).model_dump()
    for index, tier in enumerate(data["tiers"][:2]):
        tier["timeout"] = 30.0  # no timeouts here: the limit must shrink on latency alone
        tier["model"] = SMALL
        tier["max_tokens"] = 256 - index
    data["tiers"] = data["tiers"][:2]
    data["thresholds"] = data["thresholds"][:1]
    config = CascadeConfig.model_validate(data)
    result = collect(load_bundled(), config, urls(config), store, concurrency=16, limit=20)
    assert result.complete and result.progress.errors == 0, result.error_examples
    latencies = sorted(c.latency_ms for c in result.calls.values())
    median = latencies[len(latencies) // 2]
    assert median < 700, f"median latency {median:.0f} ms: the gate kept the one-slot server's queue long"


def test_the_call_cache_never_replaces_a_paid_answer_with_a_failure(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator()
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, concurrency=4, limit=2)
    paid = next(c for c in first.calls.values() if c.ok)
    key = next(k for k, c in first.calls.items() if c is paid)
    failed = dataclasses.replace(paid, raw_output="", error="HTTP 500: boom", error_kind="server", cost=0.0)
    row = call_to_row(failed, request_hash=key, endpoint="x", kind="answer", item_id="i", dataset="d")
    write_calls(store, [row])  # a repeated question whose second call failed, written after the success
    write_calls(store, [call_to_row(paid, request_hash=key, endpoint="x", kind="answer", item_id="i", dataset="d"),
                        row])  # both in one batch, the failure last
    kept = cached_calls(store, [key])
    assert len(kept) == 1 and kept["raw_output"].iloc[0] == paid.raw_output and kept["cost"].iloc[0] == paid.cost


def test_costs_estimated_without_usage_are_repriced_when_prices_change(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator(omit_usage=True)
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, concurrency=4, limit=5)
    assert first.complete
    calls = [c for c in first.calls.values() if c.ok]
    assert calls and all(c.cost_source == "estimated" and c.estimated_cost == c.cost > 0 for c in calls)
    data = config.model_dump()
    for tier in data["tiers"]:
        tier["input_price"] *= 3
        tier["output_price"] *= 3
    dearer = CascadeConfig.model_validate(data)
    again = collect(load_bundled(), dearer, urls(dearer), store, concurrency=4, limit=5)
    assert again.progress.calls == 0  # all from the cache
    assert again.outcomes["cost"].sum() == pytest.approx(3 * first.outcomes["cost"].sum())


def test_cut_off_answers_are_never_confident_in_a_sweep(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"truncate_rate": 1.0}})
    for signal in ("self_rated", "logprob", "verify"):
        config = sim_config(sim, signal=signal)
        result = collect(load_bundled(), config, urls(config), store, concurrency=4, limit=6)
        small = result.outcomes[result.outcomes["tier"] == "small"]
        assert small["confidence"].map(math.isnan).all(), (signal, small["confidence"].tolist())
        assert small["parse_error"].str.contains("truncated").all()


def test_x_ratelimit_headers_are_read_and_honoured(fresh_simulator) -> None:
    import asyncio

    from cascade_core.cascade import TierClient, default_config
    from cascade_core.cascade.config import RetryConfig
    from cascade_core.sweep.adaptive import EndpointGate

    sim = fresh_simulator(ratelimit_requests=3)
    tier = default_config().tiers[0].model_copy(update={"base_url": sim.base_url})
    client = TierClient(tier, sim.base_url, RetryConfig(max_retries=0))
    calls = [client.call([{"role": "user", "content": f"What is {i} + 1?"}]) for i in range(4)]
    assert [c.ratelimit_remaining for c in calls[:3]] == [2, 1, 0]  # as the endpoint announced them
    assert calls[3].error_kind == "rate_limit"  # the budget was spent
    gate = EndpointGate(ceiling=16, limit=8.0)

    async def observe() -> None:
        gate.observe(calls[1])  # one request left: at most one in flight
        assert gate.limit == 1.0
        gate.limit = 8.0
        gate.observe(calls[2])  # none left: halve
        assert gate.limit == 4.0

    asyncio.run(observe())
