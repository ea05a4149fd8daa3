"""`store`: move the run log between engines and look after a DuckLake.

    python -m cascade_core store migrate --to ducklake --config examples/ducklake.toml [--from data/cascade.duckdb]
    python -m cascade_core store migrate --to duckdb      # fold old servers' segment files into the file
    python -m cascade_core store maintain --config examples/ducklake.toml
    python -m cascade_core store export --out runs.csv [--filter '{"sources": ["api"]}'] [--sort cost]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cascade_core.cli.common import add_config_options, config_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("store", help="migrate the run log to DuckLake; lake maintenance")
    commands = parser.add_subparsers(dest="store_command", required=True)
    migrate = commands.add_parser("migrate", help="copy a DuckDB run log into the configured DuckLake (exactly "
                                  "once, resumable), or fold old log segments into a DuckDB file")
    add_config_options(migrate)
    migrate.add_argument("--to", choices=["ducklake", "duckdb"], required=True)
    migrate.add_argument("--from", dest="source", help="the DuckDB file to copy (default: the config's "
                         "store_path)")
    migrate.add_argument("--chunk-rows", type=int, default=200_000, help="rows per committed chunk")
    migrate.set_defaults(handler=run_migrate)
    maintain = commands.add_parser("maintain", help="one maintenance pass now (servers also run it on a "
                                   "schedule): fold new runs into the rollup and the text index (a first index of "
                                   "a big log is built here); on DuckLake also flush inlined rows, merge files, "
                                   "expire snapshots")
    add_config_options(maintain)
    maintain.add_argument("--dedupe", action="store_true", help="first remove copies of runs and steps that "
                          "DuckLake 1.4's flush bug (duckdb/ducklake#650) left in lakes written by versions before "
                          "its workaround")
    maintain.set_defaults(handler=run_maintain)
    export = commands.add_parser("export", help="write the runs a filter selects to CSV or Parquet (DuckDB COPY in "
                                 "sorted ranges: bounded memory however many runs); prints the row count as JSON")
    add_config_options(export)
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--filter", default="{}", help='a run filter as JSON, e.g. {"sources": ["api"], '
                        '"text": "capital"} (fields of RunFilter; times in ISO 8601)')
    export.add_argument("--sort", default="time", help="time | cost | latency | confidence | escalations | "
                        "final tier")
    export.add_argument("--ascending", action="store_true")
    export.set_defaults(handler=run_export)


def run_migrate(args: argparse.Namespace) -> int:
    from cascade_core.cascade.config import ConfigError
    from cascade_core.store.lake import LakeTarget
    from cascade_core.store.legacy_segments import fold_segments, segments_dir
    from cascade_core.store.location import store_location
    from cascade_core.store.migrate import migrate_file
    from cascade_core.store.store import Store

    config = config_from_args(args)
    source = Path(args.source or config.store_path)
    if args.to == "duckdb":
        with Store(source, lock_wait=30.0) as store:
            added = fold_segments(store, segments_dir(source))
        sys.stdout.write(f"folded {added} runs from {segments_dir(source)} into {source}\n")
        return 0
    target = store_location(config)
    if not isinstance(target, LakeTarget):
        raise ConfigError("store migrate --to ducklake: the config's [store] must have backend = \"ducklake\" "
                          "(see examples/ducklake.toml)")
    if not source.exists():
        raise ConfigError(f"{source}: no DuckDB store file to migrate (pass --from PATH)")

    def progress(table: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r{table}: {done}/{total} rows")
        if done >= total:
            sys.stderr.write("\n")

    with Store(target) as lake:
        report = migrate_file(source, lake, chunk_rows=args.chunk_rows, progress=progress)
        runs = lake.count_runs()
    copied = sum(report.copied.values())
    earlier = sum(report.skipped.values())
    sys.stdout.write(f"copied {copied} rows from {source} into {target.describe()} ({earlier} copied by an "
                     f"earlier run; {report.segment_runs} runs from old segments); the lake holds {runs} runs\n")
    return 0


def run_maintain(args: argparse.Namespace) -> int:
    from cascade_core.store.location import store_location
    from cascade_core.store.maintenance import maintain, remove_duplicates
    from cascade_core.store.store import Store

    config = config_from_args(args)
    with Store(store_location(config)) as store:
        if args.dedupe:
            removed = remove_duplicates(store)
            sys.stdout.write("copies removed: " + ", ".join(f"{n} {table}" for table, n in removed.items()) + "\n")
        report = maintain(store)
    sys.stdout.write(f"data files {report.files_before} -> {report.files_after}; "
                     f"{report.snapshots_expired} snapshots expired\n")
    if report.unflushed:
        sys.stdout.write(f"DuckLake could not write out the inlined rows of {', '.join(report.unflushed)} (they stay "
                         "readable in the catalog only if DuckLake can read them; see the README, \"No data inlining "
                         "on a SQLite catalog\")\n")
    return 0


def run_export(args: argparse.Namespace) -> int:
    import json
    import resource

    from cascade_core.cascade.config import ConfigError
    from cascade_core.cli.common import CLI_LOCK_WAIT
    from cascade_core.store.export import export_runs
    from cascade_core.store.location import store_location
    from cascade_core.store.run_filter import RunFilter, RunSort
    from cascade_core.store.store import Store

    try:
        run_filter = RunFilter.from_json(args.filter)
        sort = RunSort(args.sort, not args.ascending)
        sort.column  # noqa: B018  (validates the key)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"store export: {err}") from None
    out_dir = Path(args.out).resolve().parent
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK):  # said before the export's work, not after it
        raise ConfigError(f"store export --out {args.out}: {out_dir} is not a folder this user can write to")
    config = config_from_args(args)
    with Store(store_location(config), read_only=True, lock_wait=CLI_LOCK_WAIT) as store:
        rows = export_runs(store, run_filter, sort, args.format, args.out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps({"rows": rows, "path": str(args.out), "peak_rss_mb": round(peak_mb)}) + "\n")
    return 0
