"""`purge`: delete runs (and every row that points at them) by age, run id or text, and say what went."""

from __future__ import annotations

import argparse
import json
import sys

from cascade_core.cli.common import add_config_options, config_from_args, open_store, parse_span


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "purge", help="delete stored prompts: runs by age, id or text, with their steps, cached calls, audit rows",
        description="Delete runs and everything that points at them (steps, call cache, audit items and reviews, "
        "saved sweep outcomes). Criteria add up. The store file is rewritten afterwards so the deleted text "
        "leaves no bytes behind. Files you exported or reports you wrote are not touched.")
    add_config_options(parser)
    parser.add_argument("--older-than", type=parse_span, help="runs created more than this long ago (30d, 12h, 2w)")
    parser.add_argument("--retention", action="store_true",
                        help="runs past the config's [privacy] retention_days (what the scheduled purge does)")
    parser.add_argument("--run-id", action="append", default=[], help="a run id (repeatable)")
    parser.add_argument("--text", help="runs, cached calls, audit items and outcomes containing this text "
                        "(case-insensitive, literal)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cascade_core.clock import utc_now
    from cascade_core.store.purging import PurgeCriteria, purge
    from cascade_core.store.retention import retention_cutoff

    config = config_from_args(args)
    cutoff = None
    if args.older_than is not None:
        cutoff = utc_now() - args.older_than
    if args.retention:
        cutoff = retention_cutoff(config)
        if cutoff is None:
            sys.stderr.write("error: --retention: the config sets no [privacy] retention_days\n")
            return 2
    try:
        criteria = PurgeCriteria(older_than=cutoff, run_ids=tuple(args.run_id), text=args.text)
    except ValueError as err:
        sys.stderr.write(f"error: {err} (--older-than, --retention, --run-id or --text)\n")
        return 2
    with open_store(config) as store:
        report = purge(store, criteria, dry_run=args.dry_run)
    if args.json:
        sys.stdout.write(json.dumps({"dry_run": report.dry_run, "removed": report.removed,
                                     "rewritten": report.rewritten}) + "\n")
    else:
        sys.stdout.write(report.describe() + "\n")
    return 0
