"""The Sweep page's results: the certified recommendation, then the operating-point chooser (a fragment: moving
it reruns only itself) with its numbers beside the plot, the change against the configured setting and the
cascade.toml lines to apply it; then per-split tables. Rendering only: every figure comes from cascade_core."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cascade_core.cascade import ConfigError, config_in_use, set_operating_point
from cascade_core.figures import figure_html, frontier_figure, reliability_figure
from cascade_core.sweep import SweepMeta, SweepResult
from cascade_core.views.sweep import (
    FRONTS,
    calibration_table,
    certification_table,
    clicked_front_point,
    default_pick,
    estimate_text,
    front_points,
    metrics_table,
    operating_point,
    points_csv,
    reference_table,
    worse_items,
)
from cascade_core.views.sweep_point import (
    certified_sentence,
    config_values,
    describe_point,
    step_label,
    toml_snippet,
    versus_current,
)


def recommendation(result: SweepResult, meta: SweepMeta) -> None:
    """What to set and how sure, first; the estimate and what more labels would buy, plainly apart."""
    st.subheader("Recommendation")
    cert = result.certified
    if cert is None:
        st.info(certified_sentence(None, result.tiers, meta.signal))
    else:
        (st.success if cert.certified else st.warning)(certified_sentence(cert, result.tiers, meta.signal))
        st.dataframe(certification_table(cert), hide_index=True)
    if result.view.better_reference:
        st.info(result.view.better_reference)
    if result.estimate is not None:
        st.caption(estimate_text(result))
    if result.labels is not None:
        st.caption(result.labels.text)


def _fronts(result: SweepResult) -> dict[str, str]:
    return {k: v for k, v in FRONTS.items() if front_points(result, k)}


@st.fragment
def chooser(result: SweepResult, meta: SweepMeta, sweep_id: str, questions: dict[str, str]) -> None:
    """Pick a point on a front; its numbers sit beside the plot and update without rerunning the page."""
    ss = st.session_state
    kinds = _fronts(result)
    if not kinds:
        st.info(result.view.better_reference or "No cascade setting beats a reference point on these questions.")
        st.plotly_chart(frontier_figure(result, simulated=meta.simulated), key="sweep_frontier")
        return
    clicked = clicked_front_point(ss.get("sweep_frontier"))
    if clicked is not None and clicked != ss.get("sweep_last_click") and clicked[0] in kinds:
        ss["sweep_last_click"] = clicked
        front = front_points(result, clicked[0])
        if clicked[1] < len(front):
            ss["sweep_front_kind"] = clicked[0]
            ss[f"sweep_pick_{clicked[0]}_{sweep_id}"] = step_label(front[clicked[1]], result.tiers, meta.signal)
    if ss.get("sweep_front_kind") not in kinds:
        ss["sweep_front_kind"] = next(iter(kinds))
    kind = st.radio("Operating point on", list(kinds), format_func=kinds.get, horizontal=True,
                    key="sweep_front_kind")
    front = front_points(result, kind)
    labels = [step_label(p, result.tiers, meta.signal) for p in front]
    key = f"sweep_pick_{kind}_{sweep_id}"
    if ss.get(key) not in labels:
        ss[key] = labels[default_pick(front, result, result.settings.target)]
    choice = st.select_slider("Setting (each stop changes the outcome; cheapest → most accurate)", labels, key=key)
    pick = front[labels.index(choice)]
    plot, numbers = st.columns([3, 2])
    fig = frontier_figure(result, pick=pick, simulated=meta.simulated, height=480)
    plot.plotly_chart(fig, key="sweep_frontier", on_select="rerun", selection_mode="points")
    _numbers(numbers, result, meta, pick)
    worse = worse_items(result, pick, questions)
    with st.expander(f"{len(worse)} question(s) answered worse than always-large at this setting"):
        st.dataframe(worse, hide_index=True)
    st.download_button("Plot (HTML)", lambda: figure_html(fig), file_name=f"sweep-{sweep_id}.html",
                       mime="text/html", key="sweep_dl_html")


def _numbers(col: Any, result: SweepResult, meta: SweepMeta, pick: Any) -> None:
    op = operating_point(result, pick)
    col.markdown(f"**{describe_point(pick, result.tiers, meta.signal)}**")
    a, b = col.columns(2)
    a.metric("Accuracy", f"{op.accuracy:.1%}")
    b.metric("Cost per 1,000", f"${op.cost_per_1k:,.4f}")
    a.metric("Savings vs always-large", f"{op.savings:.1%}")
    b.metric("Quality retained", f"{op.quality_retained:.1%}")
    col.caption("Tier mix: " + " · ".join(f"{t} {s:.0%}" for t, s in op.tier_share.items())
                + f" · held-out questions ({result.view.n_items:,})")
    change = versus_current(pick, result.current, result.always_large, meta.signal)
    if change:
        col.markdown(f"Change: {change}")
    snippet = toml_snippet(pick, result.tiers)
    col.code(snippet, language="toml")
    path = config_in_use()
    if path is None:
        col.caption("No config file is in use (the embedded default): paste these lines into cascade.toml.")
    elif col.button(f"Save to {path.name}", key="sweep_save_config", type="primary"):
        try:
            set_operating_point(path, config_values(pick, result.tiers))
        except (ConfigError, ValueError, OSError) as err:
            col.error(f"Not saved: {err}")
        else:
            col.success(f"Saved to {path}: restart the dashboard or API server to use it.")


def details(result: SweepResult, meta: SweepMeta, sweep_id: str) -> None:
    """Per-split references, calibration and summary metrics, each labelled with its split; exports."""
    names = [n for n in ("held-out", "calibration", "all") if n in result.splits]
    split = st.radio("Figures below on", names, horizontal=True, key="sweep_detail_split")
    view = result.splits[split]
    st.caption(f"{view.n_items:,} {split} questions")
    st.dataframe(reference_table(result, view), hide_index=True)
    st.subheader(f"Calibration per tier ({split})")
    st.plotly_chart(reliability_figure(view.calibration, simulated=meta.simulated), key="sweep_reliability")
    st.dataframe(calibration_table(view.calibration), hide_index=True)
    if view.metrics:
        st.subheader(f"Summary metrics ({split})")
        st.dataframe(metrics_table(view.metrics), hide_index=True)
        st.caption("APGR: share of the always-small → always-large accuracy gap recovered, averaged over budgets. "
                   "CPT50/80: cost needed to recover 50%/80% of that gap. AIQ: area under the cost-accuracy convex "
                   "hull, cost normalised to [0, 1] (RouterBench).")
    st.download_button("Points (CSV)", points_csv(result), file_name=f"sweep-{sweep_id}-points.csv",
                       mime="text/csv", key="sweep_dl_csv")
