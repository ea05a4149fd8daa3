"""Re-certification on live traffic and drift: the exact binomial test, Learn-then-Test, labels from a real
store (gold, audit, shadow), the Overview section and the audit's alert exit code."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.cascade.config import default_config
from cascade_core.cascade.runtime import open_runtime
from cascade_core.datasets.loader import load_bundled
from cascade_core.routing import binom_cdf, collect_labels, fixed_sequence_test, psi, recertify, weekly_drift
from cascade_core.store import Store
from cascade_core.store.routing_tables import insert_shadow_labels
from tests.factories import hours_ago, make_trace

ROOT = Path(__file__).resolve().parents[1]


def test_binomial_cdf_is_exact() -> None:
    for n, k, p in [(10, 3, 0.3), (50, 0, 0.1), (200, 25, 0.1), (7, 7, 0.5), (30, 2, 0.02)]:
        expected = sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))
        assert binom_cdf(k, n, p) == pytest.approx(expected, rel=1e-9)
    assert binom_cdf(-1, 5, 0.5) == 0.0 and binom_cdf(5, 5, 0.5) == 1.0


def test_fixed_sequence_certifies_the_reliable_region_only() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0, 1, 4000)
    correct = rng.uniform(0, 1, 4000) < np.where(confidence >= 0.6, 0.97, 0.5)  # reliable above 0.6 only
    tests = fixed_sequence_test(confidence, correct, np.linspace(0.0, 1.0, 21), target=0.9, risk=0.1, min_labels=30)
    passed = [t.threshold for t in tests if t.passed]
    assert passed and min(passed) == pytest.approx(0.5, abs=0.051)  # 0.5 still pools to >= 90% accuracy
    assert not tests[-1].passed and tests[-1].threshold < min(passed)  # the sequence stops at its first failure
    assert all(t.n >= 30 for t in tests)


def _labelled_store(path: Path, *, small_threshold: float, items: int = 120) -> None:
    """Real cascade runs on bundled questions (graded against gold), logged as live 'query' traffic."""
    config = default_config().with_overrides(thresholds=[small_threshold, 0.75])
    dataset = load_bundled()
    with Store(path) as store, open_runtime(config) as runtime:
        traces = [runtime.cascade.run(item.question, item=item, source="query", dataset=dataset.name)
                  for item in dataset.items[:items]]
        store.log_traces(traces)


def test_low_threshold_is_not_certified_and_the_audit_alerts(tmp_path: Path) -> None:
    path = tmp_path / "live.duckdb"
    _labelled_store(path, small_threshold=0.0)  # the small tier accepts everything: far below 90% right
    config = default_config().with_overrides(thresholds=[0.0, 0.75])
    with Store(path) as store:
        recert = recertify(store, config)
        small = recert.tiers[0]
        assert small.status == "not_certified" and recert.alert
        assert small.n_at_threshold >= 30 and small.by_source == {"gold": small.n_labels}
        assert small.accuracy is not None and small.accuracy < 0.9
        labels = collect_labels(store, None, None)
        assert (labels["label_source"] == "gold").all()
    toml = tmp_path / "low.toml"
    toml.write_text("thresholds = [0.0, 0.75]\n" + _tiers(), encoding="utf-8")
    env = {**os.environ, "CASCADE_STORE": str(path)}
    done = subprocess.run([sys.executable, "-m", "cascade_core", "audit", "--sample", "3", "--config", str(toml),
                           "--since", "30d"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert "## Re-certification on live traffic" in done.stdout, done.stderr
    assert "**small** at threshold 0.00: NOT certified" in done.stdout
    assert "ALERT: a configured threshold is no longer certified" in done.stdout
    assert done.returncode == 3, done.stderr
    alone = subprocess.run([sys.executable, "-m", "cascade_core", "recertify", "--config", str(toml)], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 3 and "NOT certified" in alone.stdout, alone.stderr
    lenient = subprocess.run([sys.executable, "-m", "cascade_core", "recertify", "--config", str(toml), "--target",
                              "0.3"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert lenient.returncode == 0 and "still certified at 30%" in lenient.stdout, lenient.stderr


def _tiers() -> str:
    return "".join(f'[[tiers]]\nname = "{n}"\nmodel = "{m}"\ninput_price = {p}\noutput_price = {p}\n\n'
                   for n, m, p in [("small", "sim-llama-3.1-8b", 0.2), ("mid", "sim-llama-3.1-70b", 0.9),
                                   ("large", "sim-llama-3.1-405b", 3.0)])


def test_labels_prefer_gold_then_audit_then_shadow(tmp_path: Path) -> None:
    graded = make_trace(0, when=hours_ago(1), correct=True)
    ungraded = make_trace(0, when=hours_ago(2))
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces([graded, ungraded])
        base = {"created_at": hours_ago(0), "run_source": "query", "tier_index": 0, "tier_name": "small",
                "confidence": 0.75, "threshold": 0.75, "shadow_tier": "large", "shadow_model": "m", "cost": 1e-4,
                "tokens_in": 5, "tokens_out": 2, "latency_ms": 3.0, "simulated": True}
        insert_shadow_labels(store, [{**base, "run_id": graded.run_id, "run_created_at": graded.created_at,
                                      "agree": False},
                                     {**base, "run_id": ungraded.run_id, "run_created_at": ungraded.created_at,
                                      "agree": False}])
        labels = collect_labels(store, None, None).set_index("run_id")
    assert labels.loc[graded.run_id, "label_source"] == "gold" and labels.loc[graded.run_id, "correct"]
    assert labels.loc[ungraded.run_id, "label_source"] == "shadow" and not labels.loc[ungraded.run_id, "correct"]


def _week_rows(start: datetime, confidences: np.ndarray, route: str | None) -> pd.DataFrame:
    meta = None if route is None else f'{{"route": {{"name": "{route}"}}}}'
    return pd.DataFrame({
        "created_at": [start + timedelta(hours=i % 100) for i in range(len(confidences))],
        "meta": meta, "final_tier": "small", "first_tier_index": 0, "first_confidence": confidences,
    })


def test_drift_alerts_when_the_small_tiers_confidence_shifts() -> None:
    rng = np.random.default_rng(1)
    week1, week2 = datetime(2026, 11, 2), datetime(2026, 11, 9)  # Mondays
    stable = pd.concat([_week_rows(week1, rng.beta(5, 2, 400), "chitchat"), _week_rows(week2, rng.beta(5, 2, 400),
                                                                                      None)])
    calm = weekly_drift(stable)
    assert calm.psi is not None and calm.psi < 0.1 and not calm.alert
    routes = calm.shares[calm.shares["dimension"] == "route"]
    assert set(routes["value"]) == {"chitchat", "(no route)"} and (routes["share"] == 1.0).all()
    shifted = pd.concat([_week_rows(week1, rng.beta(5, 2, 400), None), _week_rows(week2, rng.beta(2, 5, 400), None)])
    moved = weekly_drift(shifted)
    assert moved.psi is not None and moved.psi > 0.2 and moved.alert
    assert psi(np.full(50, 0.9), np.full(50, 0.9)) == pytest.approx(0.0)


@pytest.mark.pages
def test_overview_shows_recertification(store_path: Path) -> None:
    traces = [make_trace(0, when=hours_ago(i), correct=i % 3 != 0) for i in range(60)]  # 67% right
    with Store(store_path) as store:
        store.log_traces(traces)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("no longer certified" in e.value for e in at.error)
    table = at.dataframe[0].value  # the only table on the Overview
    assert table.loc[0, "tier"] == "small" and table.loc[0, "status"] == "NOT certified"
    assert table.loc[0, "labels at threshold"] == 60
    assert any("Labels from the last 7 days" in c.value for c in at.caption)
