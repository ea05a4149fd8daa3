"""The Overview's "Thresholds on live traffic" section: re-certification, shadow labels and weekly drift of the
configured thresholds on recent live traffic, from the figures ui.live keeps."""

from __future__ import annotations

import streamlit as st

from cascade_core.cascade import CascadeConfig
from cascade_core.figures import drift_chart
from cascade_core.store import Store
from cascade_core.views import LiveHealth, format_usd, recert_table
from ui.live import POLL_S, REFRESH_S, LiveFigures, cached_live_health, peek_live_health
from ui.text import md_escape


def live_section(store: Store, config: CascadeConfig, latest_audit: str | None) -> None:
    st.subheader("Thresholds on live traffic")
    figures = cached_live_health(store, config, latest_audit)
    if figures.value is None:
        _placeholder(store, config)
    else:
        _render(figures, figures.value, config)


@st.fragment(run_every=POLL_S)
def _placeholder(store: Store, config: CascadeConfig) -> None:
    """Until the first figures of a big log are ready: a line saying so, looked at again every POLL_S; when they
    are there the whole page runs again (without this poll) and shows them."""
    figures = peek_live_health(store, config)
    if figures.value is not None:
        st.rerun()
    if figures.error:
        st.warning("The live-traffic figures could not be computed: " + md_escape(figures.error, limit=500),
                   icon=":material/error:")
        return
    st.caption("Computing re-certification and drift over the last weeks of live traffic in the background (a "
               "second or two on a log this size); they appear here when ready.")


def _render(figures: LiveFigures, live: LiveHealth, config: CascadeConfig) -> None:
    recert = live.recert
    if figures.error:
        st.warning("The last refresh of these figures failed (the ones shown are older): "
                   + md_escape(figures.error, limit=500), icon=":material/error:")
    if recert.end is None:
        st.caption("No live traffic (api or query runs) yet: re-certification and drift need some.")
        return
    refreshing = " A newer copy is being computed." if figures.refreshing else ""
    as_of = "" if figures.computed_utc is None else f"Computed at {figures.computed_utc:%H:%M:%S} UTC "
    st.caption(f"Labels from the last {recert.days} days of live traffic ({recert.start:%Y-%m-%d} → "
               f"{recert.end:%Y-%m-%d} UTC): gold grades, audit verdicts and shadow agreement with the last tier. "
               f"Certified means accepted answers are right at least {recert.target:.0%} of the time, with at most a "
               f"{recert.risk:.0%} chance that this is wrong (exact binomial test; the newer data's own threshold "
               f"by fixed-sequence Learn-then-Test). {as_of}(on a big, busy log at most every {REFRESH_S:.0f} s)."
               f"{refreshing}")
    if recert.alert:
        st.error("A configured threshold is no longer certified at the target on recent traffic.",
                 icon=":material/warning:")
    st.dataframe(recert_table(recert), hide_index=True, key="ov_recert")
    shadow = live.shadow
    sim = " (simulated tiers)" if shadow.simulated else ""
    agreement = "–" if shadow.agreement is None else f"{shadow.agreement:.1%}"
    st.caption(f"Shadow labels{sim}: {shadow.labels:,} in the window, agreement with the last tier {agreement}, "
               f"{shadow.graded:,} graded against gold, shadow spend {format_usd(shadow.spend)} "
               "(not in the spend above).")
    d = live.drift
    if d.psi is not None and d.psi_weeks is not None:
        text = (f"Small tier's confidence, week of {d.psi_weeks[1]:%Y-%m-%d} against the week before: PSI {d.psi:.3f}")
        (st.warning if d.alert else st.caption)(text + (" — the distribution shifted." if d.alert else " — stable."))
    if d.weeks:
        route_values = d.shares.loc[d.shares["dimension"] == "route", "value"].astype(str)
        routes = route_values[~route_values.str.startswith("(")]  # "(no route)" is not a route
        # Without routes (configured or taken) the route chart would be one grey bar of "(no route)" per week.
        dimensions = ("route", "tier", "band") if config.routes or len(routes) else ("tier", "band")
        cols = st.columns(len(dimensions))
        tier_names = [t.name for t in config.tiers]
        for col, dimension in zip(cols, dimensions, strict=True):
            col.plotly_chart(drift_chart(d.shares, dimension, tier_names), key=f"ov_drift_{dimension}")
