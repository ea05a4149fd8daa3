"""Runs: browse every logged run (filtered, sorted and paged in DuckDB), open its trace, export the selection."""

from __future__ import annotations

import streamlit as st

from cascade_core.store import count_runs, export_bytes, final_tier_options, runs_page, time_bounds
from ui.run_filters import filter_choice, filter_widgets, pager, sort_widgets
from ui.state import get_store
from ui.trace import render_trace

store = get_store()
st.title("Runs")

run_filter = filter_widgets(final_tier_options(store), time_bounds(store))
choice = filter_choice(run_filter)  # the widgets' values, not a relative window's moving bounds
if st.session_state.get("runs_filter_choice") != choice:  # a new filter starts again at page 1
    st.session_state["runs_page"] = 1
st.session_state["runs_filter_choice"] = choice
st.session_state["runs_filter"] = run_filter
sort, size = sort_widgets()
st.session_state["runs_sort_value"] = sort

total = count_runs(store, run_filter)
st.session_state["runs_count"] = total
offset = pager(total, size)
noun = "run matches" if total == 1 else "runs match"
st.caption(f"{total:,} {noun}" + ("" if run_filter.is_empty() else " the filters")
           + (f" · showing {offset + 1:,}–{min(offset + size, total):,}" if total else ""))

page = runs_page(store, run_filter, sort, limit=size, offset=offset)
event = st.dataframe(
    page, hide_index=True, key="runs_table", on_select="rerun", selection_mode="single-row",
    column_config={
        "created_at": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "confidence": st.column_config.NumberColumn(format="%.2f"),
        "total_cost": st.column_config.NumberColumn("cost", format="$%.6f"),
        "always_large_cost": st.column_config.NumberColumn("always-large", format="$%.6f"),
        "latency_ms": st.column_config.NumberColumn("latency ms", format="%.0f"),
    },
)

export = st.columns([1, 1, 4])
for col, fmt, mime in ((export[0], "csv", "text/csv"), (export[1], "parquet", "application/vnd.apache.parquet")):
    col.download_button(
        "Export CSV" if fmt == "csv" else "Export Parquet",
        data=lambda fmt=fmt: export_bytes(store, run_filter, sort, fmt)[0],  # built only when clicked
        file_name=f"cascade-runs.{fmt}", mime=mime, key=f"runs_export_{fmt}", on_click="ignore",
        icon=":material/download:", disabled=total == 0, help=f"All {total:,} filtered runs, every run column",
    )

selected = event.selection.rows if event is not None else []
typed = st.text_input("Open a run by id (or select a row above)", key="runs_open_id", max_chars=64).strip()
run_id = str(page.iloc[selected[0]]["run_id"]) if selected and selected[0] < len(page) else typed
if run_id:
    trace = store.get_trace(run_id)
    if trace is None:
        st.warning("No run with that id.")
    else:
        st.subheader("Trace")
        render_trace(trace, key="runs_trace", show_question=True)
