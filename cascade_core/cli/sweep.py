"""`sweep`: collect a dataset on the live tiers (or import recorded results), then print or export the frontier."""

from __future__ import annotations

import argparse

from cascade_core.cli.common import add_config_options


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "sweep", help="sweep thresholds over a dataset (live, cached) or over imported recorded results",
        description="Live: each (item, tier) is called at most once and cached in the store; Ctrl-C stops cleanly "
                    "and rerunning the same command resumes. Import: --results FILE ... instead of DATASET.")
    p.add_argument("dataset", nargs="?", help="'bundled' or a JSONL/CSV dataset file (live collection)")
    add_config_options(p)
    p.add_argument("--tiers", help="comma-separated tier (or, with --results, model) names in escalation order")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent calls (default 16)")
    p.add_argument("--limit", type=int, help="only the first N items of the dataset")
    p.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when some calls failed after retries (they count as wrong answers; the "
                        "sweep's notes say how many); without it such a sweep is saved and exits 3")
    p.add_argument("--log-runs", action="store_true",
                   help="also log each item's cascade run at the configured thresholds (source 'sweep'), "
                        "replayed from the cached answers at no cost; once per dataset, config and thresholds")
    p.add_argument("--results", nargs="+", metavar="FILE", help="recorded results (CSV, JSONL or Parquet)")
    p.add_argument("--format", choices=["auto", "long", "wide"], default="auto", help="results layout")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN", help="column for a field")
    p.add_argument("--cost", action="append", default=[], metavar="MODEL=USD",
                   help="cost per item (USD) for a model whose results have no cost column")
    p.add_argument("--target", type=float, default=0.98, help="quality to keep, as a fraction of always-large")
    p.add_argument("--split", default="auto",  # sweep.analysis.AUTO_SPLIT (not imported: --help stays light)
                   help="COLUMN (train/calibration vs test/holdout values) or a calibration FRACTION in (0, 1); "
                        "default: the 'split' column when present, else a seeded random half")
    p.add_argument("--delta", type=float, default=0.1,
                   help="risk of the certification: the recommended setting keeps --target with probability "
                        "1 - delta on new questions like these (default 0.1, i.e. 90%% confidence)")
    p.add_argument("--abstain", action="store_true",
                   help="also sweep a final threshold below which the cascade abstains (never counted correct)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random split and the bootstrap")
    p.add_argument("--grid-steps", type=int, default=0,
                   help="at most this many threshold values per tier (default: every observed confidence value, "
                        "up to ~20,000 settings in all; a quantile subset keeping every value near 1 beyond that)")
    p.add_argument("--json", action="store_true", help="print points, fronts, references, recommendation, "
                                                       "metrics and calibration as JSON")
    p.add_argument("--save", metavar="NAME", help="name of the saved sweep (every sweep is saved)")
    p.add_argument("--export-points", metavar="FILE.csv", help="write every point as CSV")
    p.add_argument("--export-html", metavar="FILE.html", help="write the frontier plot as a standalone HTML page")
    p.set_defaults(handler=run)



def run(args: argparse.Namespace) -> int:
    from cascade_core.cli.sweep_run import run as run_sweep  # the sweep library loads when the command runs

    return run_sweep(args)
