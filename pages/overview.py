"""Overview: headline numbers, tier mix and spend over time for a chosen window of the run log."""

from __future__ import annotations

import streamlit as st

from cascade_core.figures.overview import spend_chart, tier_mix_chart
from cascade_core.store import WINDOWS
from cascade_core.views import compute_overview, format_usd, spend_by_bucket, tier_mix_by_bucket
from ui.state import get_store
from ui.text import md_escape

store = get_store()
st.title("Overview")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


if store.count_runs() == 0:
    st.info("No runs logged yet. Start here:", icon=":material/waving_hand:")
    st.markdown("1. **Run a query**: type one question and read the tier-by-tier trace.")
    st.page_link("pages/query.py", label="Open the Query page", icon=":material/play_arrow:")
    st.markdown("2. **Run a sweep**: send a dataset (the bundled 314 questions, or your own) through every tier "
                "and see the cost/quality frontier over thresholds against always-large.")
    st.page_link("pages/sweep.py", label="Open the Sweep page", icon=":material/tune:")
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

row1 = st.columns(5)
row1[0].metric("Runs", f"{h.runs:,}")
row1[1].metric("Total spend", format_usd(h.total_spend),
               help=f"{format_usd(h.spend)} on answered runs + {format_usd(h.failed_spend)} on {h.failed_runs:,} "
                    "failed runs (no tier could answer; left out of always-large and savings)")
large_label = "Always-large" + (" (est.)" if h.estimated_runs else "")
row1[2].metric(large_label, format_usd(h.always_large),
               help=f"What sending every run to the last tier alone would have cost. {h.estimated_runs:,} runs never "
                    "reached the last tier; for those it is estimated from tokens and the last tier's price.")
row1[3].metric("Savings", format_usd(h.savings), delta=_pct(h.savings_pct) if h.savings_pct is not None else None,
               help="always-large minus spend, over answered runs only: a failed run saved nothing")
row1[4].metric("Accuracy (graded runs)", _pct(h.accuracy), help=f"{h.graded:,} graded runs")

row2 = st.columns(5)
row2[0].metric("Escalation rate", _pct(h.escalation_rate), help="runs where the first tier did not answer")
row2[1].metric("Parse error rate", _pct(h.parse_error_rate), help="runs where some tier's reply could not be read")
row2[2].metric("Error rate", _pct(h.error_rate),
               help=f"runs where some tier call failed; {_pct(h.failed_rate)} had no answer at all")
row2[3].metric("Latency p50", _ms(h.p50_ms))
row2[4].metric("Latency p95", _ms(h.p95_ms))

st.subheader("Share answered by each tier")
share_cols = st.columns(max(1, len(data.tiers)))
for col, tier in zip(share_cols, data.tiers.itertuples(), strict=False):
    col.metric(md_escape(str(tier.tier)), f"{tier.share:.1%}", help=f"{tier.runs:,} runs")

left, right = st.columns(2)
left.plotly_chart(spend_chart(spend_by_bucket(data.activity), data.unit), key="ov_spend")
right.plotly_chart(tier_mix_chart(tier_mix_by_bucket(data.activity), data.unit), key="ov_mix")
