"""Semantic routes: config, the local embedding model actually loaded, /v1/embeddings over real HTTP, the cache
in the store, `query --json` through a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cascade_core.cascade.config import ConfigError, default_config, validate_config
from cascade_core.cascade.routes_config import EmbeddingConfig, RouteConfig
from cascade_core.cascade.runtime import open_runtime
from cascade_core.routing import Embedder, Router
from cascade_core.routing.stored_cache import StoredEmbeddingCache
from cascade_core.store import Store
from cascade_core.store.routing_tables import StoreEmbeddingCache
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[1]
GREETINGS = ["hello", "hi there", "good morning", "hey, how are you?", "thanks a lot!"]


def _config(**extra: object) -> dict[str, object]:
    data = default_config().model_dump()
    data.update(extra)
    return data


def test_local_model_routes_greetings_and_not_other_questions() -> None:
    routes = [RouteConfig(name="chitchat", tier="small", threshold=0.9, examples=GREETINGS),
              RouteConfig(name="math", tier="large", threshold=0.88,
                          examples=["prove that the square root of 2 is irrational",
                                    "prove that there are infinitely many primes"])]
    router = Router(routes, Embedder(EmbeddingConfig()))
    hello = router.match("hello there")
    assert hello.name == "chitchat" and hello.similarity is not None and hello.similarity > 0.93
    proof = router.match("prove that there are infinitely many prime numbers")
    assert proof.name == "math"
    other = router.match("What is the capital of Australia?")
    assert other.name is None and other.similarity is not None and other.similarity < 0.88
    vectors = router.embedder.embed(["hello", "hello"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embeddings_endpoint_and_a_separate_model_route(simulator) -> None:
    config = validate_config(_config(
        embedding={"provider": "openai", "base_url": "embedded", "model": "sim-embed-hash"},
        routes=[{"name": "greet", "tier": "mid", "threshold": 0.5, "examples": GREETINGS},
                {"name": "code", "threshold": 0.5, "examples": ["write a python function to reverse a list"],
                 "model": {"name": "coder", "model": "sim-llama-3.1-70b", "input_price": 1.0, "output_price": 1.0}}],
    ))
    with open_runtime(config, simulator=simulator) as runtime:
        before = simulator.stats()["by_model"].get("sim-embed-hash", 0)
        greet = runtime.answerer.run("hello there, good morning")
        assert greet.route == "greet" and greet.steps[0].tier_name == "mid"  # started at mid, small skipped
        assert simulator.stats()["by_model"]["sim-embed-hash"] > before  # embedded over HTTP
        code = runtime.answerer.run("write a python function to sort a list")
        assert code.route == "code" and [s.tier_name for s in code.steps] == ["coder"]
        assert code.steps[0].tier_index == 3 and code.steps[0].decision == "final" and code.total_cost > 0
        assert code.meta["route"]["start"] == "model:sim-llama-3.1-70b"


def test_embedding_endpoint_failure_is_named(simulator) -> None:
    config = EmbeddingConfig(provider="openai", base_url=simulator.base_url, model="no-such-model")
    with pytest.raises(Exception, match="no-such-model"):
        Embedder(config).embed(["hello"])


def test_config_errors_name_the_route() -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\] \(name 'x'\)\.tier: expected one of"):
        validate_config(_config(routes=[{"name": "x", "tier": "tiny", "threshold": 0.9, "examples": ["hi"]}]))
    with pytest.raises(ConfigError, match="exactly one of tier"):
        validate_config(_config(routes=[{"name": "x", "threshold": 0.9, "examples": ["hi"]}]))
    with pytest.raises(ConfigError, match="examples"):
        validate_config(_config(routes=[{"name": "x", "tier": "small", "threshold": 0.9, "examples": []}]))
    with pytest.raises(ConfigError, match="needs base_url"):
        validate_config(_config(embedding={"provider": "openai"}, routes=[]))
    # No routes: the fingerprint is the one configs had before routes existed.
    assert validate_config(_config()).fingerprint() == default_config().fingerprint()


def test_store_cache_embeds_each_text_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        cache = StoreEmbeddingCache(store)
        embedder = Embedder(EmbeddingConfig(), cache=cache)
        first = embedder.embed(["hello", "good morning", "hello"])
        assert cache.count() == 2
        again = Embedder(EmbeddingConfig(), cache=cache)  # a new process would find them in the store
        assert np.allclose(again.embed(["good morning"])[0], first[1])
        assert again._local is None  # served from the store: the model was never loaded


def test_endpoint_cache_starts_from_the_store_and_writes_behind(tmp_path: Path) -> None:
    """serve's cache: warmed from the store at start (no model load for known texts), new vectors written to the
    store by its background thread, the file let go between writes."""
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        Embedder(EmbeddingConfig(), cache=StoreEmbeddingCache(store)).embed(["hello", "good morning"])
    config = EmbeddingConfig()
    cache = StoredEmbeddingCache(lambda: Store(path, lock_wait=10.0), config.model, interval=0.05).start()
    try:
        assert cache.loaded == 2
        warm = Embedder(config, cache=cache)
        warm.embed(["good morning"])
        assert warm._local is None  # answered from what the store held
        warm.embed(["a question nobody asked before"])
        wait_for(lambda: cache.written == 1, 30, what="the new vector written to the store")
        with Store(path, lock_wait=10.0) as store:  # the writer let the file go
            assert StoreEmbeddingCache(store).count() == 3
    finally:
        cache.close()


def test_query_json_carries_the_route(tmp_path: Path) -> None:
    store = tmp_path / "q.duckdb"
    env = {**os.environ, "CASCADE_STORE": str(store)}
    env.pop("CASCADE_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "cascade_core", "query", "hello there", "--config",
                           "examples/routes.toml", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert trace["route"] == "chitchat" and trace["route_similarity"] > 0.9
    assert [s["tier_name"] for s in trace["steps"]] == ["small"]
    text = subprocess.run([sys.executable, "-m", "cascade_core", "query", "What is the capital of Australia?",
                           "--config", "examples/routes.toml"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert text.returncode == 0, text.stderr
    assert "route: none matched (closest" in text.stdout
    with Store(store) as opened:
        assert opened.get_trace(trace["run_id"]).route == "chitchat"
        examples = sum(len(r["examples"]) for r in _routes_of(ROOT / "examples" / "routes.toml"))
        assert StoreEmbeddingCache(opened).count() == examples + 2  # examples once, plus the two questions


def _routes_of(path: Path) -> list[dict[str, object]]:
    import tomllib

    return list(tomllib.loads(path.read_text(encoding="utf-8"))["routes"])


def test_unreachable_embeddings_fall_back_to_the_cascade(simulator) -> None:
    config = validate_config(_config(
        embedding={"provider": "openai", "base_url": "embedded", "model": "no-such-embedder"},
        routes=[{"name": "greet", "tier": "mid", "threshold": 0.5, "examples": GREETINGS}],
    ))
    with open_runtime(config, simulator=simulator) as runtime:
        trace = runtime.answerer.run("hello there")
    assert trace.error is None and trace.final_answer is not None
    assert trace.route is None and trace.steps[0].tier_name == "small"  # the cascade from its start
    assert "no-such-embedder" in trace.meta["route"]["error"]
