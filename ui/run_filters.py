"""The Runs page's filter, sort and pager widgets. They only build RunFilter / RunSort values.

Each widget's value lives in session state under its key (seeded from the URL by ui.links, else the defaults),
so no widget is given a default of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

import streamlit as st

from cascade_core.store import SORT_COLUMNS, SOURCES, WINDOWS, RunFilter, RunSort, window_bounds
from cascade_core.views.links import CUSTOM, DEFAULTS, GRADED_CHOICES, ORDERS, PAGE_SIZES


def seed_defaults() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def _time_range(bounds: tuple[datetime | None, datetime | None]) -> tuple[datetime | None, datetime | None]:
    low, high = bounds
    window = st.selectbox("Time", [*WINDOWS, CUSTOM], key="runs_window",
                          help="Windows end at the newest logged run, not at the wall clock.")
    if window != CUSTOM:
        return window_bounds(window, high)
    if "runs_dates" not in st.session_state:
        st.session_state["runs_dates"] = ((low or datetime.now()).date(), (high or datetime.now()).date())
    picked = st.date_input("From / to (UTC)", key="runs_dates")
    if isinstance(picked, tuple) and len(picked) == 2:
        return datetime.combine(picked[0], time.min), datetime.combine(picked[1], time.max)
    if isinstance(picked, tuple) and len(picked) == 1:  # the user picked the first day only, so far
        return datetime.combine(picked[0], time.min), None
    return None, None


def filter_widgets(tier_options: list[str], bounds: tuple[datetime | None, datetime | None]) -> RunFilter:
    """Every filter of the Runs page, laid out in two rows."""
    chosen_tiers = st.session_state.get("runs_tiers") or []
    options = tier_options + [t for t in chosen_tiers if t not in tier_options]  # a linked tier stays visible
    top = st.columns([1.2, 1.4, 1.4, 2])
    with top[0]:
        start, end = _time_range(bounds)
    sources = top[1].multiselect("Source", list(SOURCES), key="runs_sources", placeholder="any source")
    tiers = top[2].multiselect("Final tier", options, key="runs_tiers", placeholder="any tier")
    text = top[3].text_input("Search question or answer", key="runs_text", placeholder="text to find",
                             max_chars=500)
    bottom = st.columns([1.2, 1.4, 1.4, 2])
    low, high = bottom[0].slider("Final confidence", 0.0, 1.0, step=0.05, key="runs_conf",
                                 help="The full range also keeps runs without a confidence.")
    graded = bottom[1].selectbox("Graded", list(GRADED_CHOICES), key="runs_graded")
    with bottom[2]:
        st.write("")  # aligns the checkbox with the inputs beside it
        errors_only = st.checkbox("Errors only", key="runs_errors")
    return RunFilter(
        start=start, end=end, sources=tuple(sources), final_tiers=tuple(tiers),
        confidence=None if (low, high) == (0.0, 1.0) else (low, high), graded=graded,  # type: ignore[arg-type]
        errors_only=errors_only, text=text.strip(),
    )


def filter_choice(run_filter: RunFilter) -> tuple[object, ...]:
    """What the user chose in the filter widgets, for "did the filter change?": the window's name, not the bounds
    it computes (a relative window ends at the newest run, so its bounds move with every new run, and paging
    must not snap back to page 1 under live traffic). Custom dates are the user's own, so they count as is."""
    window = st.session_state.get("runs_window")
    dates = (run_filter.start, run_filter.end) if window == CUSTOM else None
    return window, dates, replace(run_filter, start=None, end=None)


def sort_widgets() -> tuple[RunSort, int]:
    cols = st.columns([1.2, 1, 1, 3])
    key = cols[0].selectbox("Sort by", list(SORT_COLUMNS), key="runs_sort")
    order = cols[1].selectbox("Order", list(ORDERS), key="runs_order")
    size = cols[2].selectbox("Rows per page", list(PAGE_SIZES), key="runs_size")
    return RunSort(key, order == "descending"), int(size)


def pager(total: int, size: int) -> int:
    """The 0-based offset of the page the user picked."""
    pages = max(1, -(-total // size))
    if st.session_state.get("runs_page", 1) > pages:
        st.session_state["runs_page"] = 1
    cols = st.columns([1, 4])
    page = cols[0].number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key="runs_page")
    return (int(page) - 1) * size
