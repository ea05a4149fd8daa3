"""Overview: headline numbers, tier mix and spend over time for a chosen window of the run log, the latest
audit's status, and where sweep results live."""

from __future__ import annotations

import streamlit as st

from cascade_core.datasets import load_bundled
from cascade_core.figures import spend_chart, tier_mix_chart
from cascade_core.store import WINDOWS
from cascade_core.views import (
    LATENCY_NOTE,
    compute_overview,
    graded_text,
    latest_audit_status,
    latest_sweep_summary,
    per_1k,
    run_money,
    signed_pct,
    spend_by_bucket,
    tier_mix_by_bucket,
    usd,
)
from ui.live_view import live_section
from ui.state import get_config, get_store
from ui.text import md_escape

store = get_store()
config = get_config()
st.title("Overview")
sweep = latest_sweep_summary(store, [t.name for t in config.tiers], list(config.thresholds))
audit = latest_audit_status(store)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _approx_ms(value: float | None) -> str:
    return "–" if value is None else f"≈ {value:,.0f} ms"


def _sweep_pointer() -> None:
    """Step 2 of getting started kept: where saved sweeps live, and a link to the newest."""
    if sweep is None:
        return
    simulated = " (simulated)" if sweep.simulated else ""
    st.markdown(f"**Sweep results** live on the Sweep page under *Saved sweeps*: {sweep.sweeps:,} saved, the "
                f"newest “{md_escape(sweep.name)}” over {sweep.questions:,} questions{simulated}. Reopen one there "
                "to see its cost/quality frontier, recommendation and calibration.")
    st.page_link("pages/sweep.py", label=f"Open sweep “{sweep.name}”", icon=":material/query_stats:",
                 query_params={"sweep": sweep.sweep_id})


if store.count_runs() == 0:
    st.info("No runs logged yet. Start here:", icon=":material/waving_hand:")
    st.markdown("1. **Run a query**: type one question and read the tier-by-tier trace.")
    st.page_link("pages/query.py", label="Open the Query page", icon=":material/play_arrow:")
    st.markdown(f"2. **Run a sweep**: send a dataset (the bundled {len(load_bundled()):,} questions, as the Sweep "
                "page counts them, or your own) through every tier and see the cost/quality frontier over thresholds "
                "against always-large.")
    st.page_link("pages/sweep.py", label="Open the Sweep page", icon=":material/tune:")
    if sweep is not None:
        st.success("Step 2 done.", icon=":material/check_circle:")
        _sweep_pointer()
        st.caption("A sweep answers questions to measure tiers; it logs no runs here unless run with --log-runs. "
                   "Runs come from queries, the API endpoint (`serve`) and audits.")
    st.caption("Every run you make is logged in the store and shows up here and on the Runs page.")
    st.stop()

window = st.segmented_control("Time window", list(WINDOWS), default="all time", key="ov_window") or "all time"
data = compute_overview(store, window)
h = data.headline
if data.start is not None:
    st.caption(f"Windows end at the newest logged run ({data.end:%Y-%m-%d %H:%M} UTC), not at the wall clock: "
               f"{data.start:%Y-%m-%d %H:%M} → {data.end:%Y-%m-%d %H:%M} UTC.")
else:
    st.caption("All logged runs. Windows end at the newest logged run, not at the wall clock.")
if h.simulated_runs:
    st.badge(f"{h.simulated_runs:,} of {h.runs:,} runs answered by simulated tiers", icon=":material/science:",
             color="orange")

money = run_money(h.spend, h.always_large, estimated=h.estimated_runs > 0)
row1 = st.columns(5)
row1[0].metric("Runs", f"{h.runs:,}")
row1[1].metric("Cost vs always-large", money.headline.replace(" vs always-large", ""), border=False,
               help=f"{money.detail}. What sending every answered run to the last tier alone would have cost; "
                    f"{h.estimated_runs:,} runs never reached the last tier, for those it is estimated from tokens "
                    "and the last tier's price. Failed runs saved nothing and are left out. Negative is cheaper.")
row1[1].caption(md_escape(money.detail))
row1[2].metric("Spend", usd(h.total_spend),
               help=f"{usd(h.spend)} on answered runs + {usd(h.failed_spend)} on {h.failed_runs:,} failed runs (no "
                    "tier could answer; left out of always-large and the comparison)")
row1[2].caption(per_1k(h.total_spend / h.runs if h.runs else None))
row1[3].metric("Accuracy", "–" if h.accuracy is None else f"{h.accuracy:.0%}",
               help=f"Runs graded against a gold answer: {h.graded:,} of {h.runs:,}. Ungraded runs are not counted.")
row1[3].caption(graded_text(h.accuracy, h.graded, h.runs))
retained = None if sweep is None else sweep.quality_retained
row1[4].metric("Quality retained", "unknown" if retained is None else f"{retained:.0%}",
               help="The configured thresholds' accuracy as a share of always-large's, measured by the newest "
                    "saved sweep on its questions (live runs rarely know what always-large would have answered).")
row1[4].caption(md_escape(sweep.note if sweep is not None else "run a sweep to measure it")
                + ("" if sweep is None or sweep.cost_change is None else
                   f"; cost {signed_pct(sweep.cost_change)} there"))

if audit is None:
    st.caption("No audit yet: the Audit page judges a sample of accepted small-tier answers for overconfidence.")
    st.page_link("pages/audit.py", label="Open the Audit page", icon=":material/gavel:")
else:
    icon = {"ok": ":material/check_circle:", "above": ":material/warning:", "alert": ":material/notifications_active:",
            "unfinished": ":material/pause_circle:", "empty": ":material/info:"}[audit.level]
    colour = {"ok": "green", "above": "orange", "alert": "red", "unfinished": "orange", "empty": "gray"}[audit.level]
    cols = st.columns([3, 1], vertical_alignment="center")
    cols[0].markdown(f":{colour}[{icon} **Latest audit** ({audit.created_at:%Y-%m-%d %H:%M} UTC): "
                     f"{md_escape(audit.text)}]")
    cols[1].page_link("pages/audit.py", label="Open this audit", icon=":material/gavel:",
                      query_params={"audit": audit.audit_id})

row2 = st.columns(5)
row2[0].metric("Escalation rate", _pct(h.escalation_rate), help="runs where the first tier did not answer")
row2[1].metric("Parse error rate", _pct(h.parse_error_rate), help="runs where some tier's reply could not be read")
row2[2].metric("Error rate", _pct(h.error_rate),
               help=f"runs where some tier call failed; {_pct(h.failed_rate)} had no answer at all")
row2[3].metric("Latency p50", _approx_ms(h.p50_ms), help=f"Median latency of the window's runs, {LATENCY_NOTE}")
row2[4].metric("Latency p95", _approx_ms(h.p95_ms), help=f"95th percentile, {LATENCY_NOTE}")

st.subheader("Share answered by each tier")
share_cols = st.columns(max(1, len(data.tiers)))
for col, tier in zip(share_cols, data.tiers.itertuples(), strict=False):
    col.metric(md_escape(str(tier.tier)), f"{tier.share:.1%}", help=f"{tier.runs:,} runs")

left, right = st.columns(2)
left.plotly_chart(spend_chart(spend_by_bucket(data.activity), data.unit), key="ov_spend")
right.plotly_chart(tier_mix_chart(tier_mix_by_bucket(data.activity), data.unit), key="ov_mix")
_sweep_pointer()
st.page_link("pages/runs.py", label="Browse every run", icon=":material/list:")

live_section(store, config, None if audit is None else audit.audit_id)
