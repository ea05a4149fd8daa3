"""Live collection against the simulator: each (item, tier) is called once, cached, resumable; errors retried."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cascade_core.datasets import load_bundled
from cascade_core.store import Store
from cascade_core.store.sweeps import cache_stats
from cascade_core.sweep.call_cache import request_hash
from cascade_core.sweep.collect import collect
from cascade_core.sweep.frontier import evaluate
from cascade_core.sweep.outcomes import to_matrix
from cascade_core.sweep.replay_runs import log_sweep_runs
from tests.factories import fake_key
from tests.sweep_support import sim_config


@pytest.fixture
def store(tmp_path) -> Store:
    with Store(tmp_path / "collect.duckdb") as s:
        yield s


def urls(config) -> list[str]:
    return [t.base_url for t in config.tiers]


def test_resweep_makes_zero_new_calls(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator()
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, concurrency=8, limit=40)
    assert first.complete and sim.stats()["total"] == 40 * 3
    assert first.progress.calls == 120 and first.progress.spend > 0
    second = collect(load_bundled(), config, urls(config), store, concurrency=8, limit=40)
    assert sim.stats()["total"] == 120  # counted at the simulator: nothing new
    assert second.progress.calls == 0 and second.progress.cached == 120 and second.progress.spend == 0
    cols = ["item_id", "tier", "answer", "correct", "confidence", "cost", "tokens_in", "tokens_out"]
    assert first.outcomes[cols].equals(second.outcomes[cols])
    more = collect(load_bundled(), config, urls(config), store, concurrency=8, limit=50)  # 10 new items only
    assert more.progress.calls == 30 and sim.stats()["total"] == 150


def test_stop_then_resume_calls_each_answer_once(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator(latency_ms=5)
    config = sim_config(sim)
    stop = threading.Event()

    def on_progress(p) -> None:
        if p.done >= 25:
            stop.set()

    partial = collect(load_bundled(), config, urls(config), store, concurrency=4, limit=30, progress=on_progress,
                      stop=stop)
    assert partial.stopped and not partial.complete
    assert 25 <= partial.progress.done < 90
    assert set(partial.outcomes["item_id"]) == {i.id for i in partial.items}  # only whole items
    rest = collect(load_bundled(), config, urls(config), store, concurrency=4, limit=30)
    assert rest.complete
    assert sim.stats()["total"] == 30 * 3  # in-flight calls finished and were cached before stopping


def test_errors_are_recorded_not_cached_as_success_and_retried(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator(faults_by_model={"sim-llama-3.1-70b": {"error_rate": 1.0}})
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, concurrency=8, limit=10)
    assert first.progress.errors == 10 and first.error_examples
    mid = first.outcomes[first.outcomes["tier"] == "mid"]
    assert mid["answer"].isna().all() and not mid["correct"].any() and mid["confidence"].isna().all()
    assert cache_stats(store)["errors"] == 10
    sim.update_settings(faults_by_model={})
    sim.reset()
    second = collect(load_bundled(), config, urls(config), store, concurrency=8, limit=10)
    assert sim.stats()["total"] == 10 and second.progress.calls == 10 and second.progress.errors == 0
    assert cache_stats(store)["errors"] == 0


def test_cache_rows_hold_no_secret_and_hash_is_canonical(fresh_simulator, store: Store, monkeypatch) -> None:
    key = fake_key("sk-", "sweep cache rows")
    monkeypatch.setenv("SWEEP_TEST_KEY", key)
    sim = fresh_simulator()
    config = sim_config(sim)
    data = config.model_dump()
    for tier in data["tiers"]:
        tier["api_key_env"] = "SWEEP_TEST_KEY"
    config = type(config).model_validate(data)
    collect(load_bundled(), config, urls(config), store, limit=5)
    dump = store.query_df("SELECT * FROM call_cache").to_csv()
    assert key not in dump and "SWEEP_TEST_KEY" not in dump
    assert request_hash("e", {"b": 1, "a": [1, 2]}) == request_hash("e", {"a": [1, 2], "b": 1})
    assert request_hash("e", {"a": 1}) != request_hash("f", {"a": 1})


def test_verify_signal_caches_both_calls(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator()
    config = sim_config(sim, signal="verify")
    first = collect(load_bundled(), config, urls(config), store, limit=8)
    made = sim.stats()["total"]
    assert made > 8 * 3 and first.progress.calls == made  # answer + verify calls
    assert first.outcomes["confidence"].notna().any()
    collect(load_bundled(), config, urls(config), store, limit=8)
    assert sim.stats()["total"] == made


def test_verify_signal_never_verifies_the_last_tier(fresh_simulator, store: Store) -> None:
    """The last tier always answers: no verify call for it, NaN confidence, always-large costs its answers only."""
    sim = fresh_simulator()
    config = sim_config(sim, signal="verify")
    n, t = 12, len(config.tiers)
    result = collect(load_bundled(), config, urls(config), store, limit=n)
    assert result.complete
    assert sim.stats()["total"] == n * t + n * (t - 1)  # one answer per cell, one verify per non-final cell
    assert sim.stats()["by_model"][config.tiers[-1].model] == n  # answers only
    kinds = store.query_df("SELECT tier_name, kind, cost FROM call_cache")
    assert set(kinds.loc[kinds["kind"] == "verify", "tier_name"]) == {t.name for t in config.tiers[:-1]}
    out = result.outcomes
    large = out[out["tier"] == config.tiers[-1].name]
    assert large["confidence"].isna().all()
    large_answers = kinds[(kinds["tier_name"] == config.tiers[-1].name) & (kinds["kind"] == "answer")]
    from cascade_core.sweep.references import reference_points

    always_large = reference_points(to_matrix(out))[-2]
    assert always_large.cost_per_1k == pytest.approx(large_answers["cost"].sum() / n * 1000, rel=1e-12)
    small = out[out["tier"] == config.tiers[0].name]  # a non-final cell pays its answer and its verify call
    small_calls = kinds[kinds["tier_name"] == config.tiers[0].name]
    assert small["cost"].sum() == pytest.approx(small_calls["cost"].sum(), rel=1e-12)
    assert small["confidence"].notna().all()


def test_replayed_runs_charge_every_invoked_tier_like_the_frontier(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator()
    config = sim_config(sim, thresholds=[0.75, 0.5])
    result = collect(load_bundled(), config, urls(config), store, limit=60)
    from cascade_core.cascade.client import TierClient

    clients = [TierClient(t, t.base_url, config.retry) for t in config.tiers]
    calls_before = sim.stats()["total"]
    assert log_sweep_runs(store, config, clients, result) == 60
    assert sim.stats()["total"] == calls_before  # replayed from the cache, no model called
    assert log_sweep_runs(store, config, clients, result) == 0  # not logged twice
    runs = store.query_df("SELECT item_id, total_cost, final_tier FROM runs WHERE source = 'sweep'")
    matrix = to_matrix(result.outcomes)
    frontier = evaluate(matrix, np.array([0.75, 0.5]))
    assert runs["total_cost"].sum() == pytest.approx(frontier["mean_cost"][0] * matrix.n_items, rel=1e-9)
    shares = runs["final_tier"].value_counts(normalize=True).reindex(list(matrix.tiers), fill_value=0)
    assert np.allclose(shares.to_numpy(), frontier["tier_share"][0])


def _reprice(config, tier: int, factor: float):
    data = config.model_dump()
    data["tiers"][tier]["input_price"] *= factor
    data["tiers"][tier]["output_price"] *= factor
    return type(config).model_validate(data)


def test_cached_price_table_costs_follow_edited_prices(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator()
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, limit=10)
    made = sim.stats()["total"]
    assert (first.outcomes["cost"] > 0).all()
    dearer = _reprice(config, 2, 10.0)  # the large tier now costs ten times as much
    second = collect(load_bundled(), dearer, urls(dearer), store, limit=10)
    assert sim.stats()["total"] == made and second.progress.calls == 0  # all cached
    a, b = (r.outcomes.set_index(["item_id", "tier"])["cost"] for r in (first, second))
    assert np.allclose(b.xs("large", level="tier"), 10.0 * a.xs("large", level="tier"), rtol=1e-9)
    assert b.xs("small", level="tier").equals(a.xs("small", level="tier"))  # unchanged prices, unchanged costs
    tier = dearer.tiers[2]
    rows = second.outcomes[second.outcomes["tier"] == "large"]
    expected = (rows["tokens_in"] * tier.input_price + rows["tokens_out"] * tier.output_price) / 1e6
    assert np.allclose(rows["cost"], expected, rtol=1e-12)


def test_cached_billed_costs_are_kept(fresh_simulator, store: Store) -> None:
    sim = fresh_simulator(report_cost=True)  # usage.cost in every response: what the endpoint billed
    config = sim_config(sim)
    first = collect(load_bundled(), config, urls(config), store, limit=5)
    second = collect(load_bundled(), _reprice(config, 2, 10.0), urls(config), store, limit=5)
    assert second.progress.calls == 0
    assert second.outcomes["cost"].equals(first.outcomes["cost"])


def test_cache_endpoint_drops_credentials_before_hashing_and_storing(fresh_simulator, store: Store) -> None:
    from cascade_core.sweep.call_cache import cache_endpoint, safe_endpoint

    in_userinfo, in_query = fake_key("sk-", "userinfo"), fake_key("sk-", "query")
    url = f"https://alice:{in_userinfo}@api.example.com:8443/v1?api_key={in_query}#frag"
    assert safe_endpoint(url) == "https://api.example.com:8443/v1"
    sim = fresh_simulator()
    config = sim_config(sim)
    tier = config.tiers[0].model_copy(update={"base_url": url})
    assert cache_endpoint(config, tier, url) == "https://api.example.com:8443/v1"
    # live: the calls fail (the SDK refuses such URLs), but their error rows are stored: without the key
    secret = sim.base_url.replace("://", f"://bob:{in_userinfo}@") + f"?api_key={in_query}"
    collect(load_bundled(), config, [secret] * len(config.tiers), store, limit=3)
    rows = store.query_df("SELECT * FROM call_cache")
    assert len(rows) == 9 and set(rows["endpoint"]) == {sim.base_url}
    dump = rows.to_csv()
    assert in_userinfo not in dump and in_query not in dump and "bob" not in dump
    plain = collect(load_bundled(), config, urls(config), store, limit=3)  # same hashes: the rows are replaced
    assert plain.progress.errors == 0 and cache_stats(store)["errors"] == 0
    assert len(store.query_df("SELECT * FROM call_cache")) == 9
