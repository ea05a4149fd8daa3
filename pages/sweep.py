"""Sweep: collect answers once (live or imported), then choose an operating point and apply it."""

from __future__ import annotations

import tempfile

import streamlit as st

from cascade_core.datasets import load_bundled, load_dataset
from cascade_core.figures import comparison_figure, frontier_figure
from cascade_core.security import allowed_path, allowed_paths
from cascade_core.sweep import (
    LoadedSweep,
    OutcomeError,
    ResultsImportError,
    SweepJob,
    analyse_loaded,
    compare,
    default_name,
    import_sweep,
    list_saved,
    live_sweep,
    open_saved,
    settings_for,
    start_live,
)
from cascade_core.views import parse_costs, parse_pairs, parse_split, save_upload
from ui.state import get_config, get_runtime, get_store
from ui.sweep_results import chooser, details, recommendation
from ui.text import md_escape

store = get_store()
config = get_config()
ss = st.session_state
st.title("Threshold sweep")
st.caption("Each (question, tier) answer is collected once and cached; every threshold setting is then computed from "
           "that table without calling a model. Cost is per 1,000 questions and counts every tier a cascade invokes.")


def _fail(title: str, err: Exception) -> None:
    st.error(title)
    st.text(str(err))  # plain text: file names, columns and values are never rendered as markdown


def _show(loaded: LoadedSweep) -> None:
    """Put a sweep on the page; a reopened one fills the settings with its own target, split and seed."""
    ss["sweep_loaded"] = loaded
    if loaded.memo is not None:
        s = loaded.memo[0]
        ss["sweep_target"], ss["sweep_split"], ss["sweep_seed"] = float(s.target), str(s.split), int(s.seed)


# -- source ---------------------------------------------------------------------------------------------------
linked = st.query_params.get("sweep")  # /sweep?sweep=<id> (the Overview links here) opens that saved sweep
if linked and ss.get("sweep_linked") != linked:
    ss["sweep_linked"], ss["sweep_source"], ss["sweep_open_linked"] = linked, "Saved sweeps", linked
source = st.radio("Source", ["Live on the configured tiers", "Import recorded results", "Saved sweeps"],
                  horizontal=True, key="sweep_source")

if source == "Live on the configured tiers":
    if config.uses_embedded:
        st.markdown(":orange-badge[SIMULATED] the tiers are the embedded simulator: every answer below is simulated")
    names = [t.name for t in config.tiers]
    picked = st.pills("Tiers taking part (cheapest first; at least two)", names, selection_mode="multi",
                      default=names, key="sweep_tiers_live",
                      help="Leave a tier out to sweep a shorter cascade, e.g. mid → large or small → large.")
    tiers = [n for n in names if n in (picked or [])]
    models = {t.name: t.model for t in config.tiers}
    st.caption("Cascade: " + " → ".join(f"{md_escape(n)} ({md_escape(models[n])})" for n in tiers)
               + f" · signal {config.signal}")
    kind = st.radio("Dataset", [f"Bundled ({len(load_bundled()):,} questions)", "Upload a JSONL/CSV dataset",
                                "Path on this machine"], horizontal=True, key="sweep_dataset_kind")
    upload = path = None
    if kind.startswith("Upload"):
        upload = st.file_uploader("Dataset file", type=["jsonl", "csv"], key="sweep_dataset_upload")
    elif kind.startswith("Path"):
        path = st.text_input("Dataset path", key="sweep_dataset_path")
    c1, c2, c3 = st.columns([2, 1, 1])
    dataset_name = load_bundled().name if kind.startswith("Bundled") else (upload.name if upload else path) or "dataset"
    name = c1.text_input("Name of this sweep", key="sweep_name", placeholder=default_name(dataset_name, tiers),
                         help="Saved sweeps are listed by name; left empty, the placeholder is used.")
    limit = c2.number_input("Only the first N questions (0 = all)", min_value=0, value=0, step=10, key="sweep_limit")
    concurrency = c3.slider("Concurrent calls", 1, 64, 16, key="sweep_concurrency")
    job: SweepJob | None = ss.get("sweep_job")
    b1, b2 = st.columns(2)
    if b1.button("Start", type="primary", disabled=bool(job and job.running) or len(tiers) < 2, key="sweep_start"):
        try:
            if upload is not None:
                dataset = load_dataset(save_upload(upload.name, upload.getvalue(), tempfile.mkdtemp()))
            elif path:
                dataset = load_dataset(allowed_path(path, config.privacy.data_folders))
            elif kind.startswith("Bundled"):
                dataset = load_bundled()
            else:
                raise ValueError("choose a dataset file first")
            urls = [c.base_url for c in get_runtime().clients]
            ss["sweep_job"] = job = start_live(dataset, config, tiers, urls, store, name=name,
                                               concurrency=int(concurrency), limit=int(limit) or None)
        except (ValueError, OSError) as err:
            _fail("Cannot start the sweep", err)
    if len(tiers) < 2:
        st.warning("Pick at least two tiers: a cascade needs a tier to escalate to.")
    if b2.button("Stop", disabled=not (job and job.running), key="sweep_stop") and job is not None:
        job.request_stop()

    @st.fragment(run_every=0.5 if job is not None and job.running else None)  # polls only while collecting
    def _progress() -> None:
        current: SweepJob | None = ss.get("sweep_job")
        if current is None:
            return
        p = current.progress
        st.progress(p.fraction if p else 0.0, text=p.describe() if p else "starting…")
        if current.done and not ss.get("sweep_job_handled"):
            ss["sweep_job_handled"] = True
            st.rerun()

    if job is not None:
        if job.running:
            ss["sweep_job_handled"] = False
        _progress()
        if job.done:
            if job.error:
                _fail("The collection failed (answers collected so far are cached)", RuntimeError(job.error))
            elif job.result is not None and not job.result.complete:
                st.warning(f"Stopped after {job.result.progress.done:,} of {job.result.progress.total:,} answers. "
                           "Start again to resume: cached answers cost nothing.")
            elif job.result is not None and ss.get("sweep_loaded_job") is not job:
                ss["sweep_loaded_job"] = job
                _show(live_sweep(job, config))
            if job.result is not None and job.result.progress.errors:
                st.warning(f"{job.result.progress.errors} call(s) failed and count as wrong answers; start again "
                           "to retry them.")

elif source == "Import recorded results":
    files = st.file_uploader("Results files (CSV, JSONL or Parquet)", type=["csv", "tsv", "jsonl", "ndjson",
                             "parquet"], accept_multiple_files=True, key="sweep_results_upload")
    server_path = st.text_input("…or a path on this machine (several: comma-separated)", key="sweep_results_path")
    fmt = st.radio("Layout", ["auto", "long", "wide"], horizontal=True, key="sweep_format",
                   help="long: one row per question and model; wide: one row per question, one column per model")
    import_name = st.text_input("Name of this sweep", key="sweep_import_name",
                                placeholder="the files' names and the time")
    with st.expander("Column mapping, tier order and costs"):
        mapping_text = st.text_area("field=column, one per line (fields: item_id, model, correct, confidence, cost, "
                                    "tokens_in, tokens_out, latency_ms, split, category, answer)", key="sweep_map")
        tiers_text = st.text_input("Tier order, cheapest first (comma-separated; default: by mean cost)",
                                   key="sweep_tiers")
        costs_text = st.text_area("Cost per question when the file has none: model=USD, one per line",
                                  key="sweep_costs")
    if st.button("Import", type="primary", key="sweep_import"):
        try:
            folder = tempfile.mkdtemp()
            paths = [save_upload(f.name, f.getvalue(), folder) for f in files or []]
            paths += allowed_paths(server_path, config.privacy.data_folders)
            loaded, notes = import_sweep(
                paths, format=fmt, tiers=[t.strip() for t in tiers_text.split(",") if t.strip()] or None,
                costs=parse_costs(costs_text), mapping=parse_pairs(mapping_text, "mapping"),
                split=parse_split(ss.get("sweep_split", "auto")), name=import_name)
            _show(loaded)
            ss["sweep_import_notes"] = notes
        except (ResultsImportError, OutcomeError, ValueError, OSError) as err:
            _fail("Import failed", err)
    for note in ss.get("sweep_import_notes", []):
        st.info(note)

else:
    saved = list_saved(store)
    if saved.empty:
        st.info("No saved sweeps yet: every sweep you run or import is saved here.")
    else:
        labels = {r.sweep_id: f"{r.name} · {r.source} · {r.n_items} items · {r.created_at:%Y-%m-%d %H:%M}"
                  f"{' · SIMULATED' if r.simulated else ''} · {r.sweep_id}" for r in saved.itertuples()}
        opening = ss.pop("sweep_open_linked", None)
        if opening in labels:
            ss["sweep_reopen"] = opening
        elif opening:
            st.warning("The linked sweep is not in this store.")
        pick = st.selectbox("Reopen", list(labels), format_func=labels.get, key="sweep_reopen")
        if st.button("Open", key="sweep_open") or opening in labels:
            try:
                _show(open_saved(store, pick))
            except (OutcomeError, ValueError, KeyError) as err:
                _fail("Cannot reopen this sweep", err)
        if len(labels) >= 2:
            with st.expander("Compare two saved sweeps"):
                ids = list(labels)
                a = st.selectbox("First", ids, format_func=labels.get, key="sweep_cmp_a")
                b = st.selectbox("Second", ids, index=1, format_func=labels.get, key="sweep_cmp_b")
                cmp = compare(store, a, b)
                if cmp.warning:
                    st.warning(cmp.warning)
                st.dataframe(cmp.differences, hide_index=True)
                st.plotly_chart(comparison_figure(cmp.points[0], cmp.names[0], cmp.points[1], cmp.names[1],
                                                  simulated=cmp.simulated), key="sweep_compare_chart")

# -- results --------------------------------------------------------------------------------------------------
loaded: LoadedSweep | None = ss.get("sweep_loaded")
if loaded is None:
    st.stop()
meta = loaded.meta
st.divider()
c1, c2, c3 = st.columns(3)
for key, default in (("sweep_target", 0.98), ("sweep_split", "auto"), ("sweep_seed", 0)):
    ss.setdefault(key, default)  # defaults via session state: a reopened sweep sets its own before this point
target = c1.number_input("Quality target (fraction of always-large accuracy)", 0.01, 1.0, step=0.01,
                         key="sweep_target")
split_text = c2.text_input("Calibration split: auto, a column, or a fraction", key="sweep_split")
seed = c3.number_input("Seed", 0, 2**53 - 1, step=1, key="sweep_seed")
try:
    with st.spinner("Computing every threshold setting…"):
        settings = settings_for(loaded, target=target, split=parse_split(split_text), seed=int(seed))
        result, saved_now = analyse_loaded(store, loaded, settings)
except (ResultsImportError, OutcomeError, ValueError, OSError) as err:
    _fail("Cannot sweep these outcomes with these settings", err)
    st.stop()
sweep_id = str(loaded.sweep_id)
if saved_now:
    st.toast(f"Sweep saved as {sweep_id}")

st.header("Results")
st.text(meta.name)  # names come from files and datasets: plain text
if meta.simulated:
    st.markdown(":orange-badge[SIMULATED] answers come from the embedded simulator")
st.caption(f"{result.matrix.n_items:,} questions · tiers {' → '.join(md_escape(t) for t in result.tiers)} · "
           f"saved as {sweep_id}" + (f" · question text kept for {len(loaded.questions):,}" if loaded.questions
                                      else ""))
split_sizes = {name: view.n_items for name, view in result.splits.items()}
if "held-out" in split_sizes:
    st.markdown(f"Split: {result.split_used} · {split_sizes['calibration']:,} calibration and "
                f"{split_sizes['held-out']:,} held-out questions · figures are on the **held-out** questions "
                "unless named")
for note in result.notes:
    st.info(note)

recommendation(result, meta)
if result.has_confidence:
    chooser(result, meta, sweep_id, loaded.questions, config)
else:  # the references alone: no threshold can accept an answer (the note above says why)
    st.plotly_chart(frontier_figure(result, simulated=meta.simulated), key="sweep_frontier")
details(result, meta, sweep_id)
