"""Skip-ahead and abstain in the live walk agree, question by question, with the sweep that recommends them."""

from __future__ import annotations

import numpy as np
import pytest

from cascade_core.cascade import build_runtime
from cascade_core.cascade.config import ConfigError, validate_config
from cascade_core.cascade.walk import ABSTAIN_ANSWER
from cascade_core.datasets import load_bundled
from cascade_core.store import Store
from cascade_core.sweep.collect import collect
from cascade_core.sweep.outcomes import to_matrix
from cascade_core.sweep.policies import route
from tests.sweep_support import sim_config


def test_live_walk_follows_the_swept_policy(simulator, tmp_path) -> None:
    base = sim_config(simulator)
    items = load_bundled()
    with Store(tmp_path / "p.duckdb") as store:
        outcomes = collect(items, base, [t.base_url for t in base.tiers], store, limit=60).outcomes
    matrix = to_matrix(outcomes)
    accept, skip, abstain = (0.75, 1.0), (0.5, 0.0), 0.6
    routed = route(matrix, accept, skip, abstain)
    config = sim_config(simulator, thresholds=list(accept), skip_below=list(skip), abstain_below=abstain)
    rt = build_runtime(config)
    try:
        by_id = items.by_id()
        jumped = abstained = 0
        for i, item_id in enumerate(matrix.item_ids):
            trace = rt.cascade.run(by_id[item_id].question, item=by_id[item_id])
            assert trace.final_tier_index == routed.tier[i], item_id
            assert trace.total_cost == pytest.approx(routed.cost[i], rel=1e-6), item_id
            if routed.abstained[i]:
                abstained += 1
                assert trace.final_answer == ABSTAIN_ANSWER and trace.correct is False
                assert trace.meta["abstained"]["below"] == abstain
            if [s.tier_index for s in trace.steps] == [0, 2]:
                jumped += 1
                assert "skipping to the last tier" in trace.steps[0].reason
        assert jumped > 0 and abstained > 0  # both policies were exercised
        assert jumped == int(((matrix.confidence[:, 0] < 0.5) & np.isfinite(matrix.confidence[:, 0])).sum())
    finally:
        rt.close()
    choice = route(matrix, (1.0, 0.75), start=1)  # tier choice: mid -> large, small never called
    rt = build_runtime(sim_config(simulator, thresholds=[1.0, 0.75], start_tier="mid"))
    try:
        for i, item_id in enumerate(matrix.item_ids[:15]):
            trace = rt.cascade.run(by_id[item_id].question, item=by_id[item_id])
            assert trace.steps[0].tier_name == "mid" and trace.final_tier_index == choice.tier[i]
            assert trace.total_cost == pytest.approx(choice.cost[i], rel=1e-6)
    finally:
        rt.close()


def test_config_checks_skip_and_abstain() -> None:
    tiers = [{"name": n, "model": "m", "base_url": "embedded", "input_price": 1, "output_price": 1} for n in "abc"]
    ok = validate_config({"tiers": tiers, "thresholds": [0.75, 0.5], "skip_below": [0.25, 0], "abstain_below": 0.3})
    assert ok.skip_below == [0.25, 0] and ok.abstain_below == 0.3
    plain = validate_config({"tiers": tiers, "thresholds": [0.75, 0.5]})
    assert plain.fingerprint() != ok.fingerprint()
    with pytest.raises(ConfigError, match="skip_below"):
        validate_config({"tiers": tiers, "thresholds": [0.75, 0.5], "skip_below": [0.9, 0]})
    with pytest.raises(ConfigError, match="start_tier"):
        validate_config({"tiers": tiers, "start_tier": "c"})  # the last tier is not a start
    assert validate_config({"tiers": tiers, "start_tier": "b"}).fingerprint() != plain.fingerprint()
    with pytest.raises(ConfigError, match="abstain_below"):
        validate_config({"tiers": tiers, "abstain_below": 2})


@pytest.mark.slow
def test_the_default_bundled_sweep_certifies_real_savings(simulator, tmp_path) -> None:
    """A newcomer's first sweep: every bundled question on the embedded tiers, the default target and risk."""
    from cascade_core.sweep import SweepSettings, analyse

    config = sim_config(simulator)
    with Store(tmp_path / "first.duckdb") as store:
        outcomes = collect(load_bundled(), config, [t.base_url for t in config.tiers], store, concurrency=32).outcomes
    result = analyse(outcomes, SweepSettings(current=tuple(config.thresholds)))
    cert = result.certified
    assert cert is not None and cert.certified and cert.holdout is not None
    assert cert.holdout.savings >= 0.3 and cert.holdout.quality_retained >= 0.97
    for tier in result.splits["all"].calibration:  # as informative as real models' confidence (FACTS.md)
        assert 0.65 <= tier.auroc <= 0.87, tier
    # and a real-looking failure: the small tier is not worth calling at this target
    assert cert.family == "tier_choice" and cert.point is not None and cert.point.start == 1
