"""Audit bookkeeping and results without HTTP: skipping audited answers, rates, trend, reviews, recommendation."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from cascade_core.audit import (
    AuditParams,
    NothingToAudit,
    audit_items,
    judge_audit,
    list_audits,
    load_report,
    record_review,
    start_audit,
    to_html,
    to_markdown,
)
from cascade_core.audit.threshold_change import propose_threshold_change, sweep_cost_note
from cascade_core.store import Store
from tests.factories import hours_ago, make_trace
from tests.test_audit_support import OfflineJudge, log_week, seed_audits


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "results.duckdb") as s:
        yield s


def week_params(**changes) -> AuditParams:
    return AuditParams(until=hours_ago(0), since=timedelta(days=7), **changes)


def test_audited_answers_are_skipped_unless_asked(store: Store) -> None:
    log_week(store, 0, 30, 0.3, seed=1)
    judge = OfflineJudge()
    first = start_audit(store, judge, week_params(sample=20))
    second = start_audit(store, judge, week_params(sample=20))
    a, b = set(audit_items(store, first)["run_id"]), set(audit_items(store, second)["run_id"])
    accepted = store.query_df("SELECT count(*) AS n FROM all_steps WHERE decision = 'accepted'")["n"].item()
    assert len(a) == 20 and len(b) == accepted - 20 and not a & b
    third = start_audit(store, judge, week_params(sample=20, include_audited=True))
    assert len(audit_items(store, third)) == 20  # re-audit allowed on request
    before = len(list_audits(store))
    with pytest.raises(NothingToAudit, match="were audited before"):  # nothing unaudited left: says so
        start_audit(store, judge, week_params(sample=5))
    assert len(list_audits(store)) == before  # and saves nothing


def test_start_audit_reads_the_accepted_answers_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One candidate query (the rows) plus one aggregate (volume, simulated), not the window's rows twice."""
    from cascade_core.store import audits as audit_sql

    log_week(store, 0, 30, 0.3, seed=1)
    reads: list[bool] = []
    real = audit_sql.accepted_steps

    def counting(*args, **kwargs):
        reads.append(kwargs.get("exclude_audited", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit_sql, "accepted_steps", counting)
    judge = OfflineJudge()
    accepted = store.query_df("SELECT count(*) AS n FROM all_steps WHERE decision = 'accepted'")["n"].item()
    first = start_audit(store, judge, week_params(sample=20))
    again = start_audit(store, judge, week_params(sample=20, include_audited=True))
    assert reads == [True, False]
    audits = list_audits(store).set_index("audit_id")
    assert audits.loc[first, "accepted_volume"] == accepted and audits.loc[first, "candidates"] == accepted
    assert audits.loc[again, "accepted_volume"] == accepted and audits.loc[again, "candidates"] == accepted
    assert bool(audits.loc[first, "simulated"])  # the logged answers are simulated
    with pytest.raises(NothingToAudit, match="no runs were logged"):
        start_audit(store, judge, AuditParams(until=hours_ago(24 * 30), since=timedelta(days=1)))
    assert len(list_audits(store)) == 2


def test_no_eligible_answer_says_why_and_saves_nothing(store: Store) -> None:
    """Runs of other sources only, or runs whose answers all came from the last tier: each named, nothing saved."""
    store.log_traces([make_trace(0, question=f"swept {i}", when=hours_ago(i + 1), source="sweep") for i in range(4)])
    judge = OfflineJudge()
    with pytest.raises(NothingToAudit, match=r"\(4 sweep\) come from other sources"):
        start_audit(store, judge, week_params())
    store.log_traces([make_trace(2, question=f"escalated {i}", when=hours_ago(i + 1)) for i in range(3)])
    with pytest.raises(NothingToAudit, match=r"of 3 query or api runs .* no answer was accepted by a non-final tier"):
        start_audit(store, judge, week_params())
    assert list_audits(store).empty


def test_rates_unsure_and_wrong_served(store: Store) -> None:
    traces = [make_trace(0, question=f"q{i} {'wrong' if i < 6 else 'unsure' if i < 10 else 'fine'}",
                         when=hours_ago(i + 1)) for i in range(30)]
    traces.append(make_trace(2, question="answered by the last tier wrong", when=hours_ago(2)))  # never sampled
    store.log_traces(traces)
    judge = OfflineJudge()
    audit_id = start_audit(store, judge, week_params(sample=50))
    judge_audit(store, judge, audit_id)
    result = load_report(store, audit_id).result
    assert result.sampled == 30 and result.unsure == 4
    assert (result.overconfidence.k, result.overconfidence.n) == (6, 26)  # unsure answers are not audited
    assert result.accepted_volume == 30
    est, low, high = result.wrong_served
    assert est == pytest.approx(30 * 6 / 26) and low < est < high
    assert result.judge_cost == pytest.approx(30 * 2e-4) and result.cascade_cost == pytest.approx(30 * 1e-5)
    assert result.alert_fired  # 6/26 has a lower bound near 11%, above the default 10% line
    assert set(result.flagged["verdict"]) == {"incorrect"}


def test_weekly_trend_over_many_audits(store: Store) -> None:
    ids = seed_audits(store, 6, per_week=30, sample=15)
    report = load_report(store, ids[-1])
    trend = report.trend
    assert len(trend) >= 6 and trend["audited"].sum() == 6 * 15 - sum(
        load_report(store, i).result.unsure for i in ids)
    assert (trend["low"] <= trend["rate"]).all() and (trend["rate"] <= trend["high"]).all()
    assert list(trend["week"]) == sorted(trend["week"])
    assert len(list_audits(store)) == 6


def test_reviews_give_agreement_and_kappa_after_ten(store: Store) -> None:
    [audit_id] = seed_audits(store, 1, per_week=40, sample=20, wrong_share=0.5)
    items = audit_items(store, audit_id)
    judged = items[items["verdict"].isin(["correct", "incorrect"])].head(12)
    for i, row in enumerate(judged.itertuples()):
        record_review(store, audit_id, row.run_id, row.step_index, agrees=i != 0)
        if i == 8:
            early = load_report(store, audit_id).agreement
            assert early.n == 9 and early.kappa is None
    record_review(store, audit_id, judged.iloc[1]["run_id"], int(judged.iloc[1]["step_index"]), agrees=True)  # again
    agreement = load_report(store, audit_id).agreement
    assert agreement.n == 12 and agreement.agree == 11
    assert agreement.kappa is not None and 0.5 < agreement.kappa <= 1.0
    assert "Cohen's kappa" in to_markdown(load_report(store, audit_id))


def test_recommendation_when_above_the_alert_line(store: Store) -> None:
    [audit_id] = seed_audits(store, 1, per_week=60, sample=40, wrong_share=0.5)
    report = load_report(store, audit_id, alert_rate=0.05)
    rec = report.recommendation
    assert rec is not None and rec.escalated >= 1 and rec.proposed > (rec.current or 0)
    assert "No saved sweep" in rec.text
    assert "Recommendation:" in to_markdown(report) and "Recommendation:" in to_html(report)
    assert load_report(store, audit_id, alert_rate=0.99).recommendation is None


def test_recommend_picks_the_change_escalating_most() -> None:
    flagged = pd.DataFrame({"tier_index": [0, 0, 0, 1], "tier_name": ["small"] * 3 + ["mid"],
                            "confidence": [0.75, 0.75, 1.0, 0.8], "threshold": [0.75, 0.75, 0.75, 0.6]})
    accepted = pd.DataFrame({"tier_index": [0] * 10 + [1] * 4, "tier_name": ["small"] * 10 + ["mid"] * 4,
                             "confidence": [0.75] * 4 + [1.0] * 6 + [0.6, 0.8, 0.9, 0.9]})
    rec = propose_threshold_change(flagged, accepted)
    assert (rec.tier_name, rec.proposed, rec.escalated, rec.would_escalate) == ("small", 1.0, 2, 4)
    assert rec.unreachable == 1 and "confidence 1.0" in rec.text
    assert "1 flagged answer carried" in rec.text  # one answer, not "1 flagged answers"


def _without_small(trace):
    """A run logged from the Query page with the 'small' tier deselected: 'mid' is its tier 0."""
    from dataclasses import replace

    trace.steps = [replace(step, tier_index=step.tier_index - 1) for step in trace.steps[1:]]
    trace.final_tier_index -= 1
    return trace


def test_recommendation_keys_on_the_tier_name_not_its_logged_position(store: Store,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cascade_core.store import audits as audit_sql

    deselected = [_without_small(make_trace(1, question=f"m{i} wrong", when=hours_ago(i + 1))) for i in range(6)]
    normal = [make_trace(0, question=f"s{i} fine", when=hours_ago(i + 1)) for i in range(10)]
    store.log_traces(deselected + normal)
    judge = OfflineJudge()
    audit_id = start_audit(store, judge, week_params(sample=50))
    judge_audit(store, judge, audit_id)
    flagged = load_report(store, audit_id).result.flagged
    assert set(zip(flagged["tier_name"], flagged["tier_index"], strict=True)) == {("mid", 0)}
    sweep = {"sweep_id": "s1", "name": "weekly", "dataset": "bundled", "created_at": pd.Timestamp("2026-11-20")}
    points = pd.DataFrame({"thresholds": [json.dumps(t) for t in ([0.75, 0.75], [1.0, 0.75], [0.75, 1.0])],
                           "cost_per_1k": [0.05, 0.07, 0.09], "accuracy": [0.8, 0.82, 0.86]})
    monkeypatch.setattr(audit_sql, "latest_sweep", lambda _store, _tiers=None: (sweep, points))
    rec = load_report(store, audit_id, alert_rate=0.05, thresholds=[0.75, 0.75],
                      tier_names=["small", "mid", "large"]).recommendation
    assert rec is not None and rec.tier_name == "mid" and rec.proposed == 1.0
    assert (rec.escalated, rec.would_escalate, rec.tier_accepted) == (6, 6, 6)  # mid's answers, not small's
    assert "[0.75, 1.00]: $0.0900 per 1k" in rec.cost_note  # mid is the config's second tier
    fallback = load_report(store, audit_id, alert_rate=0.05).recommendation  # no config: logged positions
    assert fallback is not None and fallback.tier_name == "mid" and fallback.would_escalate == 6
    gone = load_report(store, audit_id, alert_rate=0.05, thresholds=[0.75], tier_names=["small", "large"])
    assert "not a non-final tier of the current cascade" in gone.recommendation.cost_note


def test_sweep_cost_note() -> None:
    assert "No saved sweep" in sweep_cost_note(None, [0.75, 0.75], [1.0, 0.75])
    sweep = {"sweep_id": "s1", "name": "weekly", "dataset": "bundled", "created_at": pd.Timestamp("2026-11-20")}
    points = pd.DataFrame({"thresholds": [json.dumps([0.75, 0.75]), json.dumps([1.0, 0.75]), json.dumps([0.5])],
                           "cost_per_1k": [0.05, 0.09, 0.01], "accuracy": [0.8, 0.86, 0.7]})
    note = sweep_cost_note((sweep, points), [0.75, 0.75], [1.0, 0.75])
    assert "$0.0500 per 1k" in note and "$0.0900 per 1k" in note and "86.0%" in note
    assert "no points" in sweep_cost_note((sweep, points.iloc[[2]]), [0.75, 0.75], [1.0, 0.75])


def test_an_unknown_run_source_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"sources: unknown 'bogus'; expected some of query, sweep, audit, api"):
        AuditParams(sources=("query", "bogus"))  # type: ignore[arg-type]
    assert AuditParams(sources=("sweep",)).sources == ("sweep",)
