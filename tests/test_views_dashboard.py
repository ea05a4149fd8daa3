"""What the dashboard displays, without a browser: money, step pills, deep-link state, empty-filter reasons,
the Overview's audit and sweep status, and the trace's confidence chart."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cascade_core.figures import confidence_chart
from cascade_core.records import Confidence, TierCall
from cascade_core.store import RunFilter, RunSort, Store, count_runs, filter_counts, runs_page
from cascade_core.store.sweeps import OUTCOME_STORE_COLUMNS, save_sweep
from cascade_core.views import (
    failure_text,
    graded_text,
    latest_audit_status,
    latest_sweep_summary,
    params_from_state,
    run_money,
    runs_table,
    state_from_params,
    step_status,
    usd,
    why_empty,
)
from cascade_core.views.links import DEFAULTS
from cascade_core.views.steps import LEVELS, accepts_text, level_needed, level_threshold
from tests.factories import hours_ago, make_trace
from tests.test_audit_support import seed_audits


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "views.duckdb") as s:
        yield s


@pytest.mark.parametrize(("value", "shown"), [
    (0, "$0"), (0.000273, "$0.000273"), (-0.000273, "−$0.000273"), (0.0456, "$0.0456"), (0.1, "$0.10"),
    (1.234, "$1.23"), (1234.5, "$1,234.50"), (0.00001, "$0.00001"),
])
def test_usd_keeps_three_significant_digits_and_cents(value: float, shown: str) -> None:
    assert usd(value) == shown


def test_money_is_a_change_against_always_large_never_a_negative_saving() -> None:
    dearer = run_money(0.000373, 0.000273)
    assert dearer.status == "dearer" and dearer.headline == "+37% vs always-large"
    cheaper = run_money(0.0001, 0.000284, estimated=True)
    assert cheaper.headline == "−65% vs always-large" and "(estimated)" in cheaper.detail
    failed = run_money(0.0001, 0.0003, failed=True)
    assert failed.status == "failed" and failed.change is None and "saved" not in failed.detail.lower()


def test_self_rated_thresholds_read_as_levels() -> None:
    assert [level_needed(t) for t in (0.0, 0.5, 0.74, 0.75, 0.76, 1.0)] == [1, 3, 4, 4, 5, 5]
    assert [level_needed(level_threshold(level)) for level in LEVELS] == list(LEVELS)  # the control round-trips
    assert level_threshold(4) == 0.75 and accepts_text(4) == "4 or 5" and accepts_text(5) == "5 only"


def test_step_pills_say_decision_and_reason_in_the_signals_units() -> None:
    trace = make_trace(2)  # small and mid rated 3 of 5 at threshold 0.75: escalated; large final
    pills = [step_status(s, "self_rated").text for s in trace.steps]
    assert pills == ["escalated: 3 of 5 < 4", "escalated: 3 of 5 < 4", "final: last tier answers (confidence 4 of 5)"]
    assert step_status(trace.steps[0], "logprob").text == "escalated: 0.50 < 0.75"
    accepted = make_trace(0).steps[0]
    assert step_status(accepted, "self_rated").text == "accepted: 4 of 5 ≥ 4"


def test_error_and_parse_error_pills() -> None:
    failed = make_trace(2, error_at=0).steps[0]  # "HTTP 500: boom" after 4 attempts
    assert step_status(failed, "self_rated").text == "error: 500 after 4 attempts"
    limited = replace(failed, call=replace(failed.call, error="429 rate limited: slow down", error_kind="rate_limit"))
    assert step_status(limited, "self_rated").text == "error: 429 after 4 attempts"
    step = make_trace(2).steps[0]
    unreadable = replace(step, confidence=Confidence(None, None, None, "no JSON object"), decision="escalated")
    assert step_status(unreadable, "self_rated").text == "escalated: unreadable reply"
    cut = replace(unreadable, call=replace(step.call, finish_reason="length"))
    assert step_status(cut, "self_rated").text == "escalated: reply cut off (max tokens)"


def test_confidence_chart_draws_failed_and_unreadable_tiers() -> None:
    trace = make_trace(2, error_at=0)
    trace.steps[1] = replace(trace.steps[1], confidence=Confidence(None, None, None, "no JSON object"))
    fig = confidence_chart(trace)
    missing = next(bar for bar in fig.data if bar.name == "no confidence")
    assert list(missing.y) == ["1. small", "2. mid"] and missing.base + missing.x[0] == 1.0  # full width, labelled
    assert list(missing.text) == ["error: 500 after 4 attempts", "escalated: unreadable reply"]
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "3", "4", "5"]  # self-rated on its own scale
    # top to bottom in the order the steps ran, though the failed ones are a trace of their own, added last
    assert list(fig.layout.yaxis.categoryarray) == ["1. small", "2. mid", "3. large"]
    assert fig.layout.yaxis.categoryorder == "array" and fig.layout.yaxis.autorange == "reversed"


def test_a_failed_run_says_failed_once() -> None:
    error = "no tier could answer: the last tier 'large' failed (127.0.0.1:9: connection refused)"
    assert failure_text(error) == f"Failed: {error}"
    assert failure_text("cancelled: the server shut down") == ("Failed: no tier could answer. cancelled: the server "
                                                               "shut down")


def test_url_state_round_trips_and_drops_bad_values() -> None:
    state = {**DEFAULTS, "runs_sources": ["api", "sweep"], "runs_tiers": ["large"], "runs_text": "capital",
             "runs_conf": (0.2, 0.8), "runs_graded": "incorrect", "runs_errors": True, "runs_sort": "cost",
             "runs_page": 3, "runs_open_id": "abc123", "runs_window": "custom dates",
             "runs_dates": (date(2026, 11, 1), date(2026, 11, 20))}
    params = params_from_state(state)
    assert params["source"] == ["api", "sweep"] and params["conf"] == "0.20-0.80" and params["run"] == "abc123"
    assert params["dates"] == "2026-11-01..2026-11-20" and "size" not in params  # defaults stay out of the URL
    back = state_from_params({k: v if isinstance(v, list) else [v] for k, v in params.items()})
    assert {k: back[k] for k in state} == state
    hostile = state_from_params({"source": ["nope"], "conf": ["0.9-0.1"], "page": ["-3"], "size": ["7"],
                                 "run": ["x' OR 1=1"], "sort": ["DROP"], "window": ["forever"]})
    assert hostile == {**DEFAULTS}  # every bad value falls back to the default


def test_why_empty_names_the_filter(store: Store) -> None:
    store.log_traces([make_trace(i % 3, question=f"q {i}", source="query" if i % 2 else "api", when=hours_ago(i))
                      for i in range(10)])
    def why(f: RunFilter) -> str:
        return why_empty(filter_counts(store, f), f)

    assert why(RunFilter(text="zzz")) == "No run matches text “zzz”; 10 runs are logged in all."
    both = why(RunFilter(sources=("query",), text="q 4"))  # q 4 is an api run
    assert both == "No run matches. Each of these filters alone empties it: source: query (without it: 1 run); " \
                   "text “q 4” (without it: 5 runs)."
    assert "combination" in why(RunFilter(sources=("audit",), text="zzz"))
    for f in (RunFilter(), RunFilter(sources=("query",)), RunFilter(sources=("api",), graded="any", text="q")):
        counts = filter_counts(store, f)
        assert counts.logged == 10 and counts.matching == count_runs(store, f)  # the same count, one pass


def test_latest_audit_status(store: Store) -> None:
    assert latest_audit_status(store) is None
    [audit_id] = seed_audits(store, 1, wrong_share=0.5)
    status = latest_audit_status(store)
    assert status is not None and status.audit_id == audit_id
    assert status.level in ("alert", "above") and "flagged" in status.text and "10% line" in status.text
    assert re.search(r"\d+ of \d+ flagged \(\d+%, 95% interval \d+%–\d+%\)", status.text), status.text


def save_small_sweep(store: Store, tiers: list[str], thresholds: list[float], *, sweep_id: str = "s1",
                     name: str = "nightly", created: str = "2026-11-20") -> None:
    """A saved sweep with always-small, always-large and one cascade point at `thresholds`."""
    sweep = {"sweep_id": sweep_id, "created_at": pd.Timestamp(created), "name": name, "dataset": "bundled",
             "config_fingerprint": "fp", "source": "live", "signal": "self_rated",
             "tiers": tiers, "grid": {}, "target": 0.95, "split": 0.5, "seed": 0,
             "n_items": 314, "simulated": True, "recommendation": None, "metrics": None, "notes": None}
    points = pd.DataFrame([
        {"point_index": 0, "kind": "always", "label": "always small", "thresholds": "[]", "accuracy": 0.6,
         "cost_per_1k": 0.04, "mean_latency_ms": 10.0, "tier_share": "[1, 0]", "on_front": True},
        {"point_index": 1, "kind": "always", "label": "always large", "thresholds": "[]", "accuracy": 0.8,
         "cost_per_1k": 0.5, "mean_latency_ms": 10.0, "tier_share": "[0, 1]", "on_front": True},
        {"point_index": 2, "kind": "shared", "label": "", "thresholds": json.dumps(thresholds), "accuracy": 0.76,
         "cost_per_1k": 0.2, "mean_latency_ms": 10.0, "tier_share": "[0.6, 0.4]", "on_front": True},
    ])
    save_sweep(store, sweep, points, pd.DataFrame({c: [] for c in OUTCOME_STORE_COLUMNS}))


def test_latest_sweep_gives_quality_retained_at_the_configured_thresholds(store: Store) -> None:
    assert latest_sweep_summary(store, ["small", "large"], [0.75]) is None
    save_small_sweep(store, ["small", "large"], [0.75])
    summary = latest_sweep_summary(store, ["small", "large"], [0.75])
    assert summary is not None and summary.quality_retained == pytest.approx(0.95)
    assert summary.cost_change == pytest.approx(-0.6) and "nightly" in summary.note
    other = latest_sweep_summary(store, ["small", "mid", "large"], [0.75, 0.75])
    assert other is not None and other.quality_retained is None and "not the configured ones" in other.note


def test_quality_comes_from_the_newest_sweep_of_the_configured_tiers(store: Store) -> None:
    """An import of other models saved after the configured tiers' sweep: the Overview still measures quality on
    the latter (it said "unknown: the latest sweep ran tiers ..."), and still points to the newest sweep."""
    save_small_sweep(store, ["small", "large"], [0.75])
    save_small_sweep(store, ["mixtral", "gpt-4"], [0.75], sweep_id="s2", name="routellm", created="2026-11-21")
    summary = latest_sweep_summary(store, ["small", "large"], [0.75])
    assert summary is not None and summary.quality_retained == pytest.approx(0.95)
    assert "nightly" in summary.note and summary.name == "routellm" and summary.sweeps == 2


def test_tier_call_failure_text() -> None:
    from cascade_core.views.steps import call_failure

    call = TierCall("t", "m", [], attempts=1, error="request timed out", error_kind="timeout")
    assert call_failure(call) == "timeout after 1 attempt"


def test_runs_table_tells_a_failed_run_from_a_tier_error(store: Store) -> None:
    """A run no tier answered says "failed" (never a saving); one where a tier failed and a later one answered
    says "error"."""
    answered = make_trace(0, when=hours_ago(3))
    recovered = make_trace(1, error_at=0, when=hours_ago(2))
    failed = make_trace(0, error_at=0, when=hours_ago(1))
    failed.error = "no tier could answer: the last tier 'small' failed (HTTP 500: boom)"
    failed.final_tier = failed.final_tier_index = failed.final_answer = None
    store.log_traces([answered, recovered, failed])
    table = runs_table(runs_page(store, RunFilter(), RunSort()))
    assert list(table["error"]) == ["failed", "error", ""]  # newest first
    assert list(table["tier"]) == ["(no answer)", "mid", "small"]


def test_accuracy_says_how_many_runs_were_graded() -> None:
    """With its Wilson interval: 89% of 44 is not 89% of 4,400."""
    assert graded_text(1.0, 5, 5) == "100% of 5 graded, 95% interval 57%–100%"
    assert graded_text(0.8, 5, 9) == "80% of 5 graded, 95% interval 38%–96% (4 runs ungraded)"
    assert graded_text(0.89, 4400, 4400) == "89% of 4,400 graded, 95% interval 88%–90%"
    assert graded_text(None, 0, 21) == "no run graded (none matched a gold answer)"  # never "– of 0 graded"


def test_runs_table_marks_an_estimated_always_large_cost(store: Store) -> None:
    """A run that never reached the last tier has its always-large cost estimated: the table says so (≈)."""
    store.log_traces([make_trace(2, when=hours_ago(2)), make_trace(0, when=hours_ago(1))])
    table = runs_table(runs_page(store, RunFilter(), RunSort()))
    assert list(table["always-large"]) == ["≈ $0.00003", "$0.00003"]  # newest first: small answered, then large


def test_audit_prices_a_threshold_change_on_the_newest_sweep_of_its_tiers(store: Store) -> None:
    """The audit's advice priced the change on the newest sweep whatever it ran: after a mid -> large sweep it said
    "The latest sweep (...) has no points for 2 thresholds"; now the newest sweep of the configured tiers."""
    from cascade_core.store.audits import latest_sweep

    save_small_sweep(store, ["small", "large"], [0.75])
    save_small_sweep(store, ["mixtral", "gpt-4"], [0.75], sweep_id="s2", name="routellm", created="2026-11-21")
    newest = latest_sweep(store)
    mine = latest_sweep(store, ["small", "large"])
    assert newest is not None and newest[0]["name"] == "routellm"
    assert mine is not None and mine[0]["name"] == "nightly" and len(mine[1]) == 1
    assert latest_sweep(store, ["small", "mid", "large"]) is None
