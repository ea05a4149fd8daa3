"""The sweep command's work (cli/sweep.py holds its parser, so `sweep --help` loads none of this)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.runtime import open_runtime
from cascade_core.cli.common import config_from_args, open_store
from cascade_core.cli.sweep_output import export, human_report
from cascade_core.datasets.loader import Dataset, load_bundled, load_dataset
from cascade_core.sweep.analysis import AUTO_SPLIT, SweepResult, SweepSettings, analyse
from cascade_core.sweep.collect import CollectProgress, collect
from cascade_core.sweep.failures import failed_cells
from cascade_core.sweep.import_columns import ResultsImportError
from cascade_core.sweep.importer import import_results
from cascade_core.sweep.outcomes import OutcomeError
from cascade_core.sweep.replay_runs import log_sweep_runs
from cascade_core.sweep.saved import SweepMeta, save_result
from cascade_core.sweep.service import config_for_tiers, current_setting, import_split, stored_questions
from cascade_core.sweep.sweep_json import result_to_json
from cascade_core.views.sweep import parse_costs, parse_pairs, parse_split

FAILED_CELLS_EXIT = 3


class BadInput(ValueError):
    """A command-line problem: exit code 2."""


def _settings(args: argparse.Namespace) -> SweepSettings:
    if not 0 < args.target <= 1:
        raise BadInput(f"--target is a fraction of always-large accuracy in (0, 1] (e.g. 0.98), got {args.target}")
    if not 0 < args.delta < 1:
        raise BadInput(f"--delta is a risk strictly between 0 and 1 (e.g. 0.1), got {args.delta}")
    if args.grid_steps and args.grid_steps < 2:
        raise BadInput(f"--grid-steps must be at least 2, got {args.grid_steps}")
    try:
        split = parse_split(args.split)
    except ValueError as err:
        raise BadInput(f"--split: {err}") from None
    return SweepSettings(target=args.target, split=split, seed=args.seed, per_tier_steps=args.grid_steps,
                         delta=args.delta, abstain=args.abstain)


def select_tiers(config: CascadeConfig, names: str | None) -> CascadeConfig:
    """The config restricted to the named tiers, in the given order (thresholds kept where they exist)."""
    try:
        return config_for_tiers(config, names.split(",") if names else None)
    except ValueError as err:
        raise BadInput(f"--tiers: {err}") from None


def _dataset(arg: str) -> Dataset:
    return load_bundled() if arg == "bundled" else load_dataset(arg)


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="answer", file=sys.stderr, dynamic_ncols=True, mininterval=0.2)

    def update(p: CollectProgress) -> None:
        eta = "?" if p.eta_s is None else f"{p.eta_s:,.0f}s"
        bar.set_postfix_str(f"calls {p.calls}, cached {p.cached}, errors {p.errors}, spent ${p.spend:.4f}, left {eta}",
                            refresh=False)
        bar.update(p.done - bar.n)  # redraws at most every mininterval

    return bar, update


def _live(args: argparse.Namespace, settings: SweepSettings) -> int:
    if isinstance(settings.split, str) and settings.split != AUTO_SPLIT:
        raise BadInput(f"--split {settings.split}: a live sweep has no split column (its answers come from the "
                       "dataset, not a results file); use --split FRACTION (e.g. 0.5) or leave the default")
    if args.concurrency < 1:
        raise BadInput(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.limit is not None and args.limit < 1:
        raise BadInput(f"--limit must be at least 1, got {args.limit}")
    configured = config_from_args(args)
    config = select_tiers(configured, args.tiers)
    dataset = _dataset(args.dataset)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: object) -> None:  # first Ctrl-C: finish in-flight calls and stop
        stop.set()
        signal.signal(signal.SIGINT, previous)

    n = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    bar = None
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        with open_store(config) as store, open_runtime(config) as runtime:
            bar, update = _progress_bar(n * len(config.tiers))
            urls = [c.base_url for c in runtime.clients]
            result = collect(dataset, config, urls, store, concurrency=args.concurrency, limit=args.limit,
                             progress=update, stop=stop)
            bar.close()
            if result.in_flight is not None and result.in_flight.calls:
                sys.stderr.write(f"warning: {result.in_flight.describe()}\n")
            if not result.complete:
                sys.stderr.write(f"stopped after {result.progress.done:,} of {result.progress.total:,} answers; "
                                 "run the same command again to resume (cached answers cost nothing)\n")
                return 130
            if result.progress.errors:
                sys.stderr.write(f"warning: {result.progress.errors} call(s) failed and count as wrong answers "
                                 f"(e.g. {result.error_examples[0]}); rerun to retry them\n")
            current = current_setting(configured, result.tiers, config.signal)
            sweep = analyse(result.outcomes, replace(settings, current=current))
            meta = SweepMeta(name=args.save or f"{dataset.name} live", dataset=dataset.name, source="live",
                             config_fingerprint=config.fingerprint(), signal=config.signal,
                             simulated=result.simulated)
            sweep_id = save_result(store, sweep, meta, stored_questions(result.items, configured))
            logged = log_sweep_runs(store, config, runtime.clients, result) if args.log_runs else None
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    failed = failed_cells(result.outcomes)
    code = _finish(args, sweep, sweep_id, meta, extra={"collection": asdict(result.progress), "runs_logged": logged,
                                                       "failed_cells": failed})
    if failed and not args.allow_failures:
        sys.stderr.write(f"error: {failed} cell(s) failed after retries (saved as wrong answers); rerun to retry "
                         "them, or pass --allow-failures to accept them\n")
        return FAILED_CELLS_EXIT
    return code


def _imported(args: argparse.Namespace, settings: SweepSettings) -> int:
    if args.dataset:
        raise BadInput("give either DATASET (live collection) or --results FILE ..., not both")
    try:
        costs = parse_costs("\n".join(args.cost), "--cost")
        mapping, split = import_split(settings.split, parse_pairs("\n".join(args.map), "--map"))
    except ValueError as err:
        raise BadInput(str(err)) from None
    settings = replace(settings, split=split)  # a split column is imported as the "split" field
    tiers = [t.strip() for t in args.tiers.split(",")] if args.tiers else None
    imported = import_results(args.results, format=args.format, mapping=mapping, tiers=tiers,
                              default_costs=costs or None)
    for note in imported.notes:
        sys.stderr.write(f"note: {note}\n")
    sweep = analyse(imported.outcomes, settings)
    name = args.save or ", ".join(Path(f).name for f in args.results)
    meta = SweepMeta(name=name, dataset=", ".join(Path(f).name for f in args.results), source="import")
    config = config_from_args(args)
    with open_store(config) as store:
        sweep_id = save_result(store, sweep, meta)
    return _finish(args, sweep, sweep_id, meta, extra={"import_notes": list(imported.notes)})


def _finish(args: argparse.Namespace, sweep: SweepResult, sweep_id: str, meta: SweepMeta, extra: dict[str, Any]) -> int:
    export(sweep, args.export_points, args.export_html, simulated=meta.simulated)
    if args.json:
        payload = {"sweep_id": sweep_id, "name": meta.name, "source": meta.source, "simulated": meta.simulated,
                   **result_to_json(sweep), **extra}
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(human_report(sweep, sweep_id, meta) + "\n")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        if args.results:
            return _imported(args, settings)
        if not args.dataset:
            raise BadInput("give a DATASET ('bundled' or a file) to collect live, or --results FILE ... to import")
        return _live(args, settings)
    except (BadInput, ResultsImportError, OutcomeError, ValueError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
