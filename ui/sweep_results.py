"""The Sweep page's results: the certified recommendation, then the operating-point chooser (a fragment: moving
it reruns only itself) with its numbers beside the plot, the change against the configured setting and the
cascade.toml lines to apply it; then per-split tables. Rendering only: every figure comes from cascade_core."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cascade_core.cascade import CascadeConfig, ConfigError, config_in_use, read_config_text, restore_config
from cascade_core.figures import figure_html, frontier_figure, reliability_figure
from cascade_core.sweep import SweepMeta, SweepResult, point_config, save_point
from cascade_core.views import (
    FRONTS,
    calibration_table,
    certification_table,
    clicked_front_point,
    config_snippet,
    default_pick,
    describe_point,
    estimate_text,
    front_points,
    metrics_table,
    operating_point,
    points_csv,
    recommendation_lines,
    reference_table,
    step_label,
    toml_snippet,
    versus_current,
    worse_items,
)

TONES = {"success": st.success, "warning": st.warning, "info": st.info}


def recommendation(result: SweepResult, meta: SweepMeta) -> None:
    """What to set and how sure, first; a better reference and the estimate plainly apart."""
    st.subheader("Recommendation")
    for tone, text in recommendation_lines(result, meta.signal):
        TONES[tone](text)
    cert = result.certified
    if cert is not None and cert.point is not None:  # (the last tier alone: nothing to add)
        st.dataframe(certification_table(cert), hide_index=True)
        st.caption(f"Policy family: {FRONTS.get(cert.family, cert.family)} · tested {len(cert.tested):,} settings "
                   f"in a fixed sequence on {cert.n_test:,} calibration questions at risk {cert.delta:.0%}")
    if result.estimate is not None:
        st.caption(estimate_text(result, meta.signal))
    if result.labels is not None:
        st.caption(result.labels.text)


def _fronts(result: SweepResult) -> dict[str, str]:
    return {k: v for k, v in FRONTS.items() if front_points(result, k)}


@st.fragment
def chooser(result: SweepResult, meta: SweepMeta, sweep_id: str, questions: dict[str, str],
            config: CascadeConfig) -> None:
    """Pick a point on a front; its numbers sit beside the plot and update without rerunning the page."""
    ss = st.session_state
    st.subheader("Choose an operating point")
    kinds = _fronts(result)
    if not kinds:
        st.info(result.view.better_reference or "No cascade setting beats a reference point on these questions.")
        st.plotly_chart(frontier_figure(result, simulated=meta.simulated), key="sweep_frontier")
        return
    clicked = clicked_front_point(ss.get("sweep_frontier"))
    if clicked is not None and clicked != ss.get("sweep_last_click") and clicked[0] in kinds:
        ss["sweep_last_click"] = clicked  # a click on a front line moves the slider there
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
    choice = st.select_slider("Setting (each stop changes the outcome; cheapest → most accurate), or click a "
                              "point on a front line", labels, key=key)
    pick = front[labels.index(choice)]
    plot, numbers = st.columns([3, 2])
    fig = frontier_figure(result, pick=pick, simulated=meta.simulated, height=480,
                          title=f"Cost / quality frontier ({result.view.name} questions)")
    plot.plotly_chart(fig, key="sweep_frontier", on_select="rerun", selection_mode="points")
    with numbers:
        _numbers(result, meta, pick, config)
    worse = worse_items(result, pick, questions)
    with st.expander(f"{len(worse)} question(s) answered worse than always-{result.tiers[-1]} at this setting"):
        st.dataframe(worse, hide_index=True)
    st.download_button("Plot (HTML)", lambda: figure_html(fig), file_name=f"sweep-{sweep_id}.html",
                       mime="text/html", key="sweep_dl_html")


def _numbers(result: SweepResult, meta: SweepMeta, pick: Any, config: CascadeConfig) -> None:
    op = operating_point(result, pick)
    large = result.tiers[-1]
    st.markdown(f"**{describe_point(pick, result.tiers, meta.signal)}**")
    a, b = st.columns(2)
    a.metric("Accuracy", f"{op.accuracy:.1%}")
    b.metric("Cost per 1,000", f"${op.cost_per_1k:,.4f}")
    a.metric(f"Savings vs always-{large}", f"{op.savings:.1%}")
    b.metric("Quality retained", f"{op.quality_retained:.1%}")
    st.caption("Tier mix: " + " · ".join(f"{t} {s:.0%}" for t, s in op.tier_share.items())
               + f" · on the {result.view.name} questions ({result.view.n_items:,}), one draw: see the "
               "recommendation for how sure")
    change = versus_current(pick, result.current, result.always_large, meta.signal, result.tiers)
    if change:
        st.markdown(f"**Change:** {change}")
    try:
        values = point_config(pick, result.tiers, config)
    except ValueError as err:  # not the configured tiers (imported models): the lines to paste elsewhere
        st.code(toml_snippet(pick, result.tiers), language="toml", wrap_lines=True)
        st.caption(str(err))
        return
    st.code(config_snippet(values, [t.name for t in config.tiers], meta.signal), language="toml", wrap_lines=True)
    path = config_in_use()
    if path is None:
        st.caption("No config file is in use (the embedded default): put these lines in cascade.toml.")
        return
    ss = st.session_state
    if st.button(f"Save to {path.name}", key="sweep_save_config", type="primary",
                 help=f"Writes these keys into {path}; every other line is kept."):
        try:
            before = read_config_text(path)
            after = save_point(path, pick, result.tiers, config)
        except (ConfigError, ValueError, OSError) as err:
            st.error(f"Not saved: {err}")
        else:
            ss["sweep_config_undo"] = (str(path), before, after)
            st.success(f"Saved to {path}. The API server and the command line use it from their next start; "
                       "restart the dashboard to make it the current setting here.")
    undone = ss.pop("sweep_config_undone", None)  # (ok, message) from the undo button's callback
    if undone:
        (st.success if undone[0] else st.error)(undone[1])
    undo = ss.get("sweep_config_undo")
    if undo and undo[0] == str(path):
        st.button("Undo the save", key="sweep_undo_config", icon=":material/undo:", on_click=_undo_save,
                  help=f"Puts {path} back as it was before the save (refused if it changed since)")


def _undo_save() -> None:
    """Put the config back as it was before the last save (once; refused if the file changed since)."""
    ss = st.session_state
    path, before, after = ss.pop("sweep_config_undo")
    try:
        restore_config(path, before, after)
    except (ConfigError, OSError) as err:
        ss["sweep_config_undone"] = (False, f"Not undone: {err}")
    else:
        ss["sweep_config_undone"] = (True, f"{path} is back as it was before the save.")


def details(result: SweepResult, meta: SweepMeta, sweep_id: str) -> None:
    """Per-split references, calibration and summary metrics, each labelled with its split; exports."""
    names = [n for n in ("held-out", "calibration", "all") if n in result.splits]
    split = st.radio("Figures below on", names, horizontal=True, key="sweep_detail_split")
    view = result.splits[split]
    st.caption(f"{view.n_items:,} {split} questions")
    if split != result.view.name and result.has_confidence:  # the headline split's fronts are in the chooser
        st.plotly_chart(frontier_figure(result, view=view, simulated=meta.simulated, height=440,
                                        title=f"Cost / quality frontier ({split} questions)"),
                        key=f"sweep_frontier_{split}")
    st.dataframe(reference_table(result, view), hide_index=True)
    st.subheader(f"Calibration per tier ({split})")
    if any(c.n for c in view.calibration):
        st.plotly_chart(reliability_figure(view.calibration, simulated=meta.simulated), key="sweep_reliability")
        st.dataframe(calibration_table(view.calibration), hide_index=True)
    else:  # an empty diagram and a table of "n/a" would look like a failure to draw
        st.caption("No answer in these results carries a confidence value: there is nothing to calibrate.")
    if view.metrics:
        st.subheader(f"Summary metrics ({split})")
        st.dataframe(metrics_table(view.metrics), hide_index=True)
        st.caption("APGR: share of the always-small → always-large accuracy gap recovered, averaged over budgets. "
                   "CPT50/80: cost needed to recover 50%/80% of that gap. AIQ: area under the cost-accuracy convex "
                   "hull, cost normalised to [0, 1] (RouterBench).")
    st.download_button("Points (CSV)", points_csv(result), file_name=f"sweep-{sweep_id}-points.csv",
                       mime="text/csv", key="sweep_dl_csv")
