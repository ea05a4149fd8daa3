"""Sweep: collect answers once (live or imported), then explore thresholds, fronts, recommendation, calibration."""

from __future__ import annotations

import tempfile

import streamlit as st

from cascade_core.datasets import load_bundled, load_dataset
from cascade_core.figures import comparison_figure, figure_html, frontier_figure, reliability_figure
from cascade_core.security import allowed_path, allowed_paths
from cascade_core.sweep import (
    OutcomeError,
    ResultsImportError,
    SweepJob,
    SweepMeta,
    SweepSettings,
    analyse,
    import_results,
    list_saved,
    reopen,
    save_result,
    saved_points,
)
from cascade_core.views.sweep import (
    FRONTS,
    cached_point_label,
    calibration_table,
    certification_table,
    clicked_front_point,
    default_pick,
    estimate_text,
    front_points,
    import_split,
    metrics_table,
    operating_point,
    parse_costs,
    parse_pairs,
    parse_split,
    points_csv,
    reference_table,
    save_upload,
    worse_items,
)
from cascade_core.views.sweep_point import certified_sentence, toml_snippet
from ui.state import get_config, get_runtime, get_store

store = get_store()
config = get_config()
ss = st.session_state
st.title("Threshold sweep")
st.caption("Each (question, tier) answer is collected once and cached; every threshold setting is then computed from "
           "that table without calling a model. Cost is per 1,000 questions and counts every tier a cascade invokes.")


def _fail(title: str, err: Exception) -> None:
    st.error(title)
    st.text(str(err))  # plain text: file names, columns and values are never rendered as markdown


def _set_sweep(outcomes, meta: SweepMeta, sweep_id: str | None = None, questions=None, imported=None,
               grid: dict[str, int] | None = None) -> None:
    """`imported`: the import's arguments and the mapping it used, to re-import when the split names a column.
    `grid`: threshold grid steps (a reopened sweep keeps its own; default: SweepSettings')."""
    ss["sweep_data"] = {"outcomes": outcomes, "meta": meta, "sweep_id": sweep_id, "questions": questions or {},
                        "import": imported, "grid": grid or {}}
    ss.pop("sweep_memo", None)


def _reopened(row: dict, result) -> None:
    """Show a reopened sweep as saved: its target, split, seed and grid fill the settings, and its analysis is
    reused (not recomputed with the widgets' defaults). Runs before those widgets exist in this run."""
    meta = SweepMeta(name=row["name"], dataset=row["dataset"], source=row["source"],
                     config_fingerprint=row["config_fingerprint"], signal=row["signal"],
                     simulated=bool(row["simulated"]))
    s = result.settings
    _set_sweep(result.outcomes, meta, sweep_id=row["sweep_id"], grid=s.grid())
    ss["sweep_target"], ss["sweep_split"], ss["sweep_seed"] = float(s.target), str(s.split), int(s.seed)
    ss["sweep_memo"] = (s, result)


def _column_split(data: dict, split):
    """The split to analyse with: a column of an import is re-imported as the split field (then "split")."""
    if not isinstance(split, str) or split == "auto":
        return split
    if data["meta"].source == "live":
        raise ValueError(f"{split!r}: a live sweep has no split column; use a fraction (e.g. 0.5) or auto")
    imported = data.get("import")
    if imported is None:  # a reopened sweep: its stored table holds the split field as "split"
        return split
    mapping, split = import_split(split, imported["mapping"])
    if mapping != imported["used"]:
        with st.spinner("Importing the split column…"):
            data["outcomes"] = import_results(imported["paths"], **imported["args"], mapping=mapping).outcomes
        imported["used"] = mapping
        ss.pop("sweep_memo", None)
    return split


# -- source ---------------------------------------------------------------------------------------------------
linked = st.query_params.get("sweep")  # /sweep?sweep=<id> (the Overview links here) opens that saved sweep
if linked and ss.get("sweep_linked") != linked:
    ss["sweep_linked"], ss["sweep_source"], ss["sweep_open_linked"] = linked, "Saved sweeps", linked
source = st.radio("Source", ["Live on the configured tiers", "Import recorded results", "Saved sweeps"],
                  horizontal=True, key="sweep_source")

if source == "Live on the configured tiers":
    if config.uses_embedded:
        st.markdown(":orange-badge[SIMULATED] the tiers are the embedded simulator: every answer below is simulated")
    st.caption("Tiers: " + " → ".join(f"{t.name} ({t.model})" for t in config.tiers) + f" · signal {config.signal}")
    kind = st.radio("Dataset", [f"Bundled ({len(load_bundled()):,} questions)", "Upload a JSONL/CSV dataset",
                                "Path on this machine"],
                    horizontal=True, key="sweep_dataset_kind")
    upload = path = None
    if kind.startswith("Upload"):
        upload = st.file_uploader("Dataset file", type=["jsonl", "csv"], key="sweep_dataset_upload")
    elif kind.startswith("Path"):
        path = st.text_input("Dataset path", key="sweep_dataset_path")
    c1, c2 = st.columns(2)
    limit = c1.number_input("Only the first N questions (0 = all)", min_value=0, value=0, step=10, key="sweep_limit")
    concurrency = c2.slider("Concurrent calls", 1, 64, 16, key="sweep_concurrency")
    job: SweepJob | None = ss.get("sweep_job")
    b1, b2 = st.columns(2)
    if b1.button("Start", type="primary", disabled=bool(job and job.running), key="sweep_start"):
        try:
            if upload is not None:
                dataset = load_dataset(save_upload(upload.name, upload.getvalue(), tempfile.mkdtemp()))
            elif path:
                dataset = load_dataset(allowed_path(path, config.privacy.data_folders))
            elif kind.startswith("Bundled"):
                dataset = load_bundled()
            else:
                raise ValueError("choose a dataset file first")
            runtime = get_runtime()
            urls = [c.base_url for c in runtime.clients]
            job = SweepJob(dataset, config, urls, store, concurrency=int(concurrency),
                           limit=int(limit) or None).start()
            ss["sweep_job"] = job
        except (ValueError, OSError) as err:
            _fail("Cannot start the sweep", err)
    if b2.button("Stop", disabled=not (job and job.running), key="sweep_stop") and job is not None:
        job.request_stop()

    @st.fragment(run_every=0.5)
    def _progress() -> None:
        current: SweepJob | None = ss.get("sweep_job")
        if current is None:
            return
        p = current.progress
        text = p.describe() if p else "starting…"
        st.progress(p.fraction if p else 0.0, text=text)
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
                r = job.result
                meta = SweepMeta(name=f"{r.dataset} live", dataset=r.dataset, source="live",
                                 config_fingerprint=config.fingerprint(), signal=config.signal, simulated=r.simulated)
                _set_sweep(r.outcomes, meta, questions={i.id: i.question for i in r.items})
            if job.result is not None and job.result.progress.errors:
                st.warning(f"{job.result.progress.errors} call(s) failed and count as wrong answers; start again "
                           "to retry them.")

elif source == "Import recorded results":
    files = st.file_uploader("Results files (CSV, JSONL or Parquet)", type=["csv", "tsv", "jsonl", "ndjson",
                             "parquet"], accept_multiple_files=True, key="sweep_results_upload")
    server_path = st.text_input("…or a path on this machine (several: comma-separated)", key="sweep_results_path")
    fmt = st.radio("Layout", ["auto", "long", "wide"], horizontal=True, key="sweep_format",
                   help="long: one row per question and model; wide: one row per question, one column per model")
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
            if not paths:
                raise ValueError("choose a results file first")
            tiers = [t.strip() for t in tiers_text.split(",") if t.strip()] or None
            args = {"format": fmt, "tiers": tiers, "default_costs": parse_costs(costs_text) or None}
            base = parse_pairs(mapping_text, "mapping")
            mapping, _ = import_split(parse_split(ss.get("sweep_split", "auto")), base)  # a split column
            imported = import_results(paths, **args, mapping=mapping)
            _set_sweep(imported.outcomes, SweepMeta(name=", ".join(imported.sources), dataset=", ".join(
                p.rsplit("/", 1)[-1] for p in imported.sources), source="import"),
                imported={"paths": paths, "args": args, "mapping": base, "used": mapping})
            ss["sweep_import_notes"] = list(imported.notes)
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
                _reopened(*reopen(store, pick))
            except (OutcomeError, ValueError, KeyError) as err:
                _fail("Cannot reopen this sweep", err)
        if len(labels) >= 2:
            st.subheader("Compare two sweeps")
            ids = list(labels)
            a = st.selectbox("First", ids, format_func=labels.get, key="sweep_cmp_a")
            b = st.selectbox("Second", ids, index=1, format_func=labels.get, key="sweep_cmp_b")
            names = dict(zip(saved["sweep_id"], saved["name"], strict=True))
            sim = bool(saved.set_index("sweep_id").loc[[a, b], "simulated"].any())
            fig = comparison_figure(saved_points(store, a), f"{names[a]} ({a})", saved_points(store, b),
                                    f"{names[b]} ({b})", simulated=sim)
            st.plotly_chart(fig, key="sweep_compare_chart")

# -- results --------------------------------------------------------------------------------------------------
data = ss.get("sweep_data")
if data is None:
    st.stop()
meta: SweepMeta = data["meta"]
st.divider()
c1, c2, c3 = st.columns(3)
for key, default in (("sweep_target", 0.98), ("sweep_split", "auto"), ("sweep_seed", 0)):
    ss.setdefault(key, default)  # defaults via session state: a reopened sweep sets its own before this point
target = c1.number_input("Quality target (fraction of always-large accuracy)", 0.01, 1.5, step=0.01,
                         key="sweep_target")
split_text = c2.text_input("Calibration split: auto, a column, or a fraction", key="sweep_split")
seed = c3.number_input("Seed", 0, 2**53 - 1, step=1, key="sweep_seed")
try:
    settings = SweepSettings(target=float(target), split=_column_split(data, parse_split(split_text)), seed=int(seed),
                             **data.get("grid", {}))
except (ResultsImportError, OutcomeError, ValueError, OSError) as err:
    _fail("Bad split", err)
    st.stop()
memo = ss.get("sweep_memo")
if memo is None or memo[0] != settings:
    try:
        with st.spinner("Computing every threshold setting…"):
            memo = (settings, analyse(data["outcomes"], settings))
    except (OutcomeError, ValueError) as err:
        _fail("Cannot sweep these outcomes", err)
        st.stop()
    ss["sweep_memo"] = memo
result = memo[1]
if data["sweep_id"] is None:
    data["sweep_id"] = save_result(store, result, meta)
    st.toast(f"Sweep saved as {data['sweep_id']}")

st.subheader("Results")
st.text(meta.name)  # names come from files and datasets: plain text
if meta.simulated:
    st.markdown(":orange-badge[SIMULATED] answers come from the embedded simulator")
st.caption(f"{result.matrix.n_items:,} questions · tiers {' → '.join(result.tiers)} · saved as {data['sweep_id']}")
split_sizes = {name: view.n_items for name, view in result.splits.items()}
if "held-out" in split_sizes:
    st.markdown(f"Split: {result.split_used} · {split_sizes['calibration']:,} calibration and "
                f"{split_sizes['held-out']:,} held-out questions · figures below are on the **held-out** questions "
                "unless named")
for note in result.notes:
    st.info(note)

pick = None
if result.has_confidence:
    clicked = clicked_front_point(ss.get("sweep_frontier"))
    if clicked is not None and clicked != ss.get("sweep_last_click"):  # a click on a front line moves the slider
        ss["sweep_last_click"] = clicked
        kind_clicked, index = clicked
        front = front_points(result, kind_clicked)
        if index < len(front):
            ss["sweep_front_kind"] = kind_clicked
            ss[f"sweep_pick_{kind_clicked}_{data['sweep_id']}"] = cached_point_label(front[index], result.tiers)
    front_kind = st.radio("Operating point on", list(FRONTS), format_func=FRONTS.get, horizontal=True,
                          key="sweep_front_kind")
    front = front_points(result, front_kind)
    labels = [cached_point_label(p, result.tiers) for p in front]
    slider_key = f"sweep_pick_{front_kind}_{data['sweep_id']}"
    if not front:
        st.info(result.view.better_reference or "Every setting of this kind is beaten by a reference point.")
    else:
        if ss.get(slider_key) not in labels:
            ss[slider_key] = labels[default_pick(front, result, settings.target)]
        choice = st.select_slider("Pick a point on the front (cheapest → most accurate), or click one on the plot",
                                  labels, key=slider_key)
        pick = front[labels.index(choice)]
fig = frontier_figure(result, pick=pick, simulated=meta.simulated)
st.plotly_chart(fig, key="sweep_frontier", on_select="rerun", selection_mode="points")
st.caption("PNG: use the camera button of the plot (server-side PNG export needs kaleido, which is not installed).")
st.dataframe(reference_table(result), hide_index=True)

if pick is not None:
    op = operating_point(result, pick)
    m = st.columns(5)
    m[0].metric("Accuracy", f"{op.accuracy:.1%}")
    m[1].metric("Cost per 1,000", f"${op.cost_per_1k:,.4f}")
    m[2].metric("Savings vs always-large", f"{op.savings:.1%}")
    m[3].metric("Quality retained", f"{op.quality_retained:.1%}")
    m[4].metric("Mean latency", f"{op.mean_latency_ms:,.0f} ms")
    st.dataframe({"tier": list(op.tier_share), "share answered": [f"{v:.1%}" for v in op.tier_share.values()]},
                 hide_index=True)
    worse = worse_items(result, pick, data["questions"])
    with st.expander(f"{len(worse)} question(s) answered worse than always-large at this point"):
        st.dataframe(worse, hide_index=True)

cert = result.certified
if cert is not None:
    st.subheader("Recommendation")
    (st.success if cert.certified else st.warning)(certified_sentence(cert, result.tiers, meta.signal))
    st.dataframe(certification_table(cert), hide_index=True)
    st.code(toml_snippet(cert.point, result.tiers), language="toml")
if result.estimate is not None:
    st.caption(estimate_text(result))
if result.labels is not None:
    st.caption(result.labels.text)

st.subheader("Calibration per tier")
st.plotly_chart(reliability_figure(result.calibration, simulated=meta.simulated), key="sweep_reliability")
st.dataframe(calibration_table(result.calibration), hide_index=True)
if result.metrics:
    st.subheader("Summary metrics")
    st.dataframe(metrics_table(result.metrics), hide_index=True)
    st.caption("APGR: share of the always-small → always-large accuracy gap recovered, averaged over budgets (1 = "
               "large quality at every budget). CPT50/80: cost needed to recover 50%/80% of that gap. AIQ: area "
               "under the cost-accuracy convex hull, cost normalised to [0, 1] (RouterBench).")
d1, d2 = st.columns(2)
d1.download_button("Points (CSV)", points_csv(result), file_name=f"sweep-{data['sweep_id']}-points.csv",
                   mime="text/csv", key="sweep_dl_csv")


def _plot_html(figure=fig):
    return figure_html(figure)  # ~5 MB with plotly.js: built when the button is clicked, not on every rerun


d2.download_button("Plot (HTML)", _plot_html, file_name=f"sweep-{data['sweep_id']}.html", mime="text/html",
                   key="sweep_dl_html")
