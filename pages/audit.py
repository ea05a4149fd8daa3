"""Audit: an LLM judge grades a sample of answers that non-final tiers accepted; overconfidence rate and trend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from cascade_core.audit import (
    AuditParams,
    AuditReport,
    NothingToAudit,
    audit_label,
    flagged_display,
    group_figure,
    judge_audit,
    judge_tier,
    list_audits,
    load_report,
    make_judge,
    rate_display,
    record_review,
    report_stamp,
    review_label,
    review_queue,
    run_audit,
    to_markdown,
    trend_figure,
)
from ui.state import get_config, get_runtime, get_store
from ui.text import md_escape

store = get_store()
config = get_config()
st.title("Overconfidence audits")
st.caption("A judge model grades a sample of answers that a non-final tier accepted at or above its threshold. "
           "An answer is **flagged** when it was accepted that confidently and the judge finds it incorrect. "
           "Rates carry Wilson 95% intervals; judge spend is counted apart from cascade spend.")
judge_config = judge_tier(config)


def _progress_runner(label: str, slot: Any = None) -> Callable[[int, int], None]:
    """A progress bar in `slot` (an st.empty, cleared when nothing gets judged) or here."""
    bar = (slot or st).progress(0.0, text=label)
    return lambda done, total: bar.progress(done / max(total, 1), text=f"{label}: {done} of {total} judged")


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _num(value: Any) -> str:
    return "?" if value is None or pd.isna(value) else f"{float(value):.2f}"


@st.cache_data(show_spinner=False, max_entries=32)
def _load_report(_store: Any, store_path: str, audit_id: str, alert_rate: float, thresholds: tuple[float, ...],
                 tier_names: tuple[str, ...], stamp: Any) -> AuditReport:
    """The report, computed once per (audit, alert line, config, reviews / audits / latest sweep as stamped):
    reruns (a click, a selection) reuse it instead of re-reading the audit and its window."""
    return load_report(_store, audit_id, alert_rate=alert_rate, thresholds=list(thresholds),
                       tier_names=list(tier_names))


audits = list_audits(store)
with st.expander("Run a new audit", expanded=audits.empty, icon=":material/gavel:"):
    with st.form("audit_form"):
        cols = st.columns(5)
        days = cols[0].number_input("Window (days back)", min_value=1, max_value=365, value=7)
        sample = cols[1].number_input("Sample size", min_value=1, max_value=2000, value=50)
        seed = cols[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0)
        alert = cols[3].number_input("Alert rate", min_value=0.0, max_value=1.0, value=0.10, step=0.01)
        include = cols[4].checkbox("Re-audit answers audited before")
        submitted = st.form_submit_button("Run audit", type="primary", icon=":material/play_arrow:")
    simulated = " (simulated)" if judge_config.is_embedded else ""
    model = "".join(ch for ch in judge_config.model if ch not in "`\r\n")  # a code span shows it literally
    st.caption(f"Judge: `{model}` (tier '{md_escape(judge_config.name)}'){simulated}. Samples answers of the "
               "query and api sources, stratified by tier, confidence level and category.")
    if submitted:
        params = AuditParams(since=timedelta(days=int(days)), sample=int(sample), seed=int(seed),
                             alert_rate=float(alert), include_audited=include)
        slot = st.empty()
        try:
            audit_id = run_audit(store, make_judge(get_runtime()), params, on_item=_progress_runner("Judging", slot))
        except NothingToAudit as err:  # nothing eligible: say why (no empty progress bar left); nothing was saved
            slot.empty()
            st.warning(md_escape(str(err)), icon=":material/search_off:")
        else:
            st.session_state["audit_selected"] = audit_id
            st.query_params["audit"] = audit_id
            st.rerun()

if audits.empty:
    st.info("No audits yet. Run one above, or from cron: `python -m cascade_core audit --since 7d --sample 50 "
            "--report audit.md`.", icon=":material/info:")
    st.stop()

labels = {audit_label(row): row["audit_id"] for row in audits.to_dict("records")}
ids = list(labels.values())
linked = st.query_params.get("audit")  # /audit?audit=<id> opens that audit
if linked in ids and st.session_state.get("audit_linked") != linked:
    st.session_state["audit_selected"] = linked
    st.session_state["audit_linked"] = linked
selected = st.session_state.get("audit_selected")
chosen = st.selectbox("Audit", list(labels), index=ids.index(selected) if selected in ids else 0)
audit_id = labels[chosen]
st.session_state["audit_selected"] = audit_id
if st.query_params.get("audit") != audit_id:
    st.query_params["audit"] = audit_id  # the address opens this audit (share it)
st.session_state["audit_linked"] = audit_id
if linked is not None and linked not in ids:
    st.warning("The linked audit is not in this store; showing the newest.", icon=":material/search_off:")
row = audits[audits["audit_id"] == audit_id].iloc[0]

if row["status"] != "done":
    st.warning(f"This audit is {row['status']}: some sampled answers are not judged yet. Finished items are kept; "
               "resuming judges only the rest.", icon=":material/pause_circle:")
    if st.button("Resume audit", icon=":material/resume:"):
        judge_audit(store, make_judge(get_runtime()), audit_id, on_item=_progress_runner("Resuming"))
        st.rerun()

alert_rate = st.number_input("Alert line (overconfidence rate)", min_value=0.0, max_value=1.0, step=0.01,
                             value=float(row["alert_rate"]), key=f"alert_{audit_id}")
report = _load_report(store, str(store.path.resolve()), audit_id, float(alert_rate), tuple(config.thresholds),
                      tuple(t.name for t in config.tiers), report_stamp(store, audits))
result, share = report.result, report.result.overconfidence
if result.judge_errors:  # endpoint text: shown as code, never as markup
    st.caption(f"{result.errors} of {result.sampled} judge calls failed (most frequent errors first):")
    st.code("\n".join(f"{error} ({n})" for error, n in result.judge_errors), language=None)
if row["simulated"]:
    st.badge("Simulated: the judged answers come from the embedded simulator",
             icon=":material/science:", color="orange")

cols = st.columns(5)
cols[0].metric("Overconfidence rate", "n/a" if share.rate is None else f"{share.rate:.1%}",
               help="flagged / audited (answers the judge graded correct or incorrect)")
cols[1].metric("95% interval (Wilson)", f"{share.low:.0%}–{share.high:.0%}",
               help=f"{share.low:.2%} to {share.high:.2%}: the Wilson score interval for {share.k} of {share.n}")
cols[2].metric("Flagged / audited", f"{share.k} / {share.n}",
               help=f"{result.sampled} sampled, {result.unsure} unsure, {result.errors} judge errors, "
                    f"{result.pending} pending, {result.parse_problems} replies with parse problems")
est, low, high = result.wrong_served
cols[3].metric("Wrong served (est.)", f"{est:,.0f}" if share.n else "n/a",  # a label that fits at 1,280 px
               help=f"Wrong answers served in the window, estimated: the rate x {result.accepted_volume:,} "
                    "answers the non-final tiers accepted")
if share.n:
    cols[3].caption(f"95% interval {low:,.0f}–{high:,.0f} of {result.accepted_volume:,} accepted")
cols[4].metric("Judge cost", f"${result.judge_cost:.4f}",
               help=f"The audit's own spend. Cascade cost of the sampled runs: ${result.cascade_cost:.4f}")

if result.alert_fired:
    st.error(f"Alert: even the interval's lower bound ({share.low:.1%}) is above the alert line "
             f"({alert_rate:.0%}).", icon=":material/notifications_active:")
elif result.above_alert:
    st.warning(f"The rate is above the alert line ({alert_rate:.0%}), but its interval still reaches below it.",
               icon=":material/warning:")
elif share.n:
    st.success(f"Below the alert line ({alert_rate:.0%}).", icon=":material/check_circle:")
if report.recommendation is not None:  # holds tier, sweep and dataset names: text, not markup
    st.info(md_escape(report.recommendation.text), icon=":material/tune:")

st.subheader("Trend by week")
st.plotly_chart(trend_figure(report.trend, alert_rate), key="audit_trend")

st.subheader("Breakdown")
groups = [("tier", "tier_name"), ("category", "category"), ("confidence level", "confidence_level")]
for tab, (label, column) in zip(st.tabs([f"By {g[0]}" for g in groups]), groups, strict=True):
    with tab:
        table = result.by_group[label]
        if table.empty:
            st.caption("Nothing judged yet.")
            continue
        st.plotly_chart(group_figure(table, column, alert_rate), key=f"audit_group_{column}")
        st.dataframe(rate_display(table, column), hide_index=True)

st.subheader(f"Flagged answers ({len(result.flagged)})")
flagged_pick: str | None = None
if result.flagged.empty:
    st.caption("No answer in this audit was flagged.")
else:
    st.caption("Select a row to review it below and open its run's trace.")
    flagged_view = flagged_display(result.flagged)
    event = st.dataframe(flagged_view, hide_index=True, key=f"flagged_{audit_id}", on_select="rerun",
                         selection_mode="single-row",
                         column_config={"confidence": st.column_config.NumberColumn(format="%.2f")})
    rows = event.selection.rows if event is not None else []
    flagged_pick = str(flagged_view.iloc[rows[0]]["run_id"]) if rows and rows[0] < len(flagged_view) else None

st.subheader("Review the judge")
agreement = report.agreement
review_cols = st.columns(3)
review_cols[0].metric("Reviews", f"{agreement.n}")
review_cols[1].metric("Agreement with the judge", "n/a" if agreement.rate.rate is None else
                      f"{agreement.rate.rate:.0%}",
                      help=f"95%: {agreement.rate.low:.0%} – {agreement.rate.high:.0%}" if agreement.n else None)
review_cols[2].metric("Cohen's kappa", "n/a" if agreement.kappa is None else f"{agreement.kappa:.2f}",
                      help=agreement.note or "judge vs reviewer labels, over every audit")
queue = review_queue(report.items)
if queue.empty:
    st.caption("Nothing judged yet to review.")
else:
    options = {review_label(r): r for r in queue.to_dict("records")}
    run_ids = [r["run_id"] for r in options.values()]
    start = run_ids.index(flagged_pick) if flagged_pick in run_ids else 0
    picked = options[st.selectbox("Verdict to review", list(options), index=start)]
    with st.container(border=True):
        st.caption("Question")
        st.text(_text(picked["question"]))
        st.caption(f"Accepted answer (tier {md_escape(_text(picked['tier_name']))}, "
                   f"confidence {_num(picked['confidence'])}, "
                   f"threshold {_num(picked['threshold'])})")
        st.text(_text(picked["answer"]))
        if _text(picked["gold"]):
            st.caption("Gold answer")
            st.text(_text(picked["gold"]))
        st.caption(f"Judge verdict: {md_escape(_text(picked['verdict']))}")
        st.text(_text(picked["rationale"]))
        agree_col, disagree_col, trace_col = st.columns(3)
        key = f"{audit_id}_{picked['run_id']}_{picked['step_index']}"
        if trace_col.button("Open the run's trace", key=f"trace_{key}", icon=":material/open_in_new:"):
            st.switch_page("pages/runs.py", query_params={"run": str(picked["run_id"])})  # lands on the trace
        if agree_col.button("Agree with the judge", key=f"agree_{key}", icon=":material/thumb_up:"):
            record_review(store, audit_id, picked["run_id"], int(picked["step_index"]), True)
            st.rerun()
        if disagree_col.button("Disagree", key=f"disagree_{key}", icon=":material/thumb_down:"):
            record_review(store, audit_id, picked["run_id"], int(picked["step_index"]), False)
            st.rerun()

st.download_button("Download the report (Markdown)", to_markdown(report), file_name=f"audit-{audit_id}.md",
                   mime="text/markdown", icon=":material/download:")
