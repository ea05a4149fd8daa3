"""Runs: browse every logged run (filtered, sorted and paged in DuckDB), open its trace, export the selection.

The URL carries the filters, sort, page and the open run (`/runs?run=<id>` lands on that run's trace)."""

from __future__ import annotations

import streamlit as st

from cascade_core.store import (
    PAGE_BUDGET_S,
    MatchCount,
    count_matches,
    count_runs,
    filter_counts,
    search_page,
    text_candidates,
    tier_options_and_bounds,
)
from cascade_core.views import count_caption, runs_table, search_note, why_empty
from ui.downloads import file_size, prepare_export
from ui.links import runs_state_from_url, runs_state_to_url
from ui.run_filters import filter_choice, filter_widgets, pager, seed_defaults, sort_widgets
from ui.state import get_store
from ui.trace import render_trace

store = get_store()
runs_state_from_url()
seed_defaults()


def _open_selected() -> None:
    """A row picked in the table opens that run (and puts it in the URL)."""
    rows = st.session_state["runs_table"]["selection"]["rows"]
    ids = st.session_state.get("runs_page_ids", [])
    if rows and rows[0] < len(ids):
        st.session_state["runs_open_id"] = ids[rows[0]]


def _close_run() -> None:
    st.session_state["runs_open_id"] = ""


open_id = str(st.session_state.get("runs_open_id") or "").strip()
if open_id:  # a link or a picked row lands on the trace itself, above the list
    trace = store.get_trace(open_id)
    if trace is None:
        st.title("Runs")
        st.warning("No run with that id in this store.", icon=":material/search_off:")
    else:
        st.title("Run trace")
        render_trace(trace, key="runs_trace", show_question=True)
    st.button("Back to all runs", on_click=_close_run, icon=":material/arrow_back:", key="runs_close")
    st.divider()
    st.subheader("All runs")
else:
    st.title("Runs")

run_filter = filter_widgets(*tier_options_and_bounds(store))
choice = filter_choice(run_filter)  # the widgets' values, not a relative window's moving bounds
if st.session_state.get("runs_filter_choice") not in (None, choice):  # a new filter starts again at page 1
    st.session_state["runs_page"] = 1
st.session_state["runs_filter_choice"] = choice
st.session_state["runs_filter"] = run_filter
sort, size = sort_widgets()
st.session_state["runs_sort_value"] = sort

# Exact counts, except a text search over more runs than a sample: estimated, with its interval (store/text_search.py);
# "Count exactly" and "Search all runs" read every run for this filter.
exact_asked = st.session_state.get("runs_exact_for") == choice
narrowed = text_candidates(store, run_filter)  # where the text index says the text may be (looked up once)
counted = (MatchCount(count_runs(store, run_filter), True) if exact_asked
           else count_matches(store, run_filter, narrowed=narrowed, page=(sort, size, 0)))
offset = pager(counted.value, size)
everything = st.session_state.get("runs_search_all_for") == choice
found = search_page(store, run_filter, sort, limit=size if counted.value or not counted.exact else 0, offset=offset,
                    budget_s=float("inf") if everything else PAGE_BUDGET_S, narrowed=narrowed)
page = found.rows
if not counted.exact and found.complete and not len(page) and offset == 0:  # the whole log was searched: none
    counted = MatchCount(0, True)
total = max(counted.value, offset + len(page))
st.session_state["runs_count"] = total
st.caption(count_caption(counted, filtered=not run_filter.is_empty(), offset=offset, shown=len(page)))
if not counted.exact:
    st.button("Count exactly", key="runs_count_exact", help="Search the text in every run (seconds on a big log)",
              on_click=lambda: st.session_state.update(runs_exact_for=choice))
note = search_note(found, PAGE_BUDGET_S)
if note:
    st.caption(note)
    st.button("Search all runs for this page", key="runs_search_all",
              on_click=lambda: st.session_state.update(runs_search_all_for=choice))
if total == 0:
    counts = filter_counts(store, run_filter)  # one more pass, only when empty: what each filter removes
    st.info(why_empty(counts, run_filter, st.session_state.get("runs_window")), icon=":material/filter_alt_off:")
st.session_state["runs_page_ids"] = page["run_id"].tolist()
table = runs_table(page)
table["run"] = [f"/runs?run={run_id}" for run_id in page["run_id"]]
if total:
    st.dataframe(
        table, hide_index=True, key="runs_table", on_select=_open_selected, selection_mode="single-row",
        column_config={  # the first ten columns (777 px) fit a 1,280 px window beside the sidebar, no scrolling
            "time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", width=115),
            "question": st.column_config.TextColumn(width=130, help="Clipped; open the run for the full text"),
            "tier": st.column_config.TextColumn(width=70, help="The tier whose answer was served"),
            "confidence": st.column_config.NumberColumn(format="%.2f", width=72),
            "correct": st.column_config.TextColumn(width=55, help="Graded against a gold answer (blank: ungraded)"),
            "cost": st.column_config.TextColumn(width=80, help="What the cascade spent on this run"),
            "always-large": st.column_config.TextColumn(width=95, help="What the last tier alone would have cost "
                                                  "(≈: estimated from tokens and its price; the run never reached it)"),
            "escalations": st.column_config.NumberColumn(width=75),
            "error": st.column_config.TextColumn(width=45, help="failed: no tier answered (never a saving); "
                                                 "error: a tier failed and a later one answered"),
            "run": st.column_config.LinkColumn("link", display_text="open", width=40,
                                               help="A link that opens this run's trace (share it)"),
            "answer": st.column_config.TextColumn(width=150),
            "source": st.column_config.TextColumn(width=60),
            "route": st.column_config.TextColumn(width=70, help="The semantic route taken (blank: none)"),
            "latency": st.column_config.TextColumn(width=75),
        },
    )
    st.caption("Select a row to open its trace; the *open* link is the run's own address to share.")

export = st.columns([1, 1, 3])  # each wide enough for its label at 1,280 px
for col, fmt in ((export[0], "csv"), (export[1], "parquet")):
    if col.button("Export CSV" if fmt == "csv" else "Export Parquet", key=f"runs_export_{fmt}",
                  icon=":material/download:", disabled=total == 0,
                  help=f"Write all {total:,} filtered runs (every run column) to a file, then download it"):
        with st.spinner(f"Writing {total:,} runs to {fmt.upper()}…"):
            done = prepare_export(store, run_filter, sort, fmt)  # type: ignore[arg-type]
        st.session_state["runs_export"] = {"choice": (choice, sort), "url": done.url, "path": str(done.path),
                                           "name": done.path.name, "rows": done.rows, "size": done.size_bytes}
prepared = st.session_state.get("runs_export")
if prepared and prepared["choice"] == (choice, sort):  # streamed from disk by asgi.py's route, not held in memory
    st.markdown(f'<a href="{prepared["url"]}" download="{prepared["name"]}">Download '
                f'{prepared["name"]}</a> ({prepared["rows"]:,} runs, {file_size(prepared["size"])})',
                unsafe_allow_html=True)

st.text_input("Open a run by id (or select a row above)", key="runs_open_id", max_chars=64)
runs_state_to_url(dict(st.session_state))
