"""`recertify`: are the configured thresholds still certified on the last days of labelled live traffic? Plus
drift. Exit 0 certified (or too few labels to say), 3 a threshold is no longer certified (same code as `audit`).
For a schedule (cron) between weekly audits; the audit report carries the same sections."""

from __future__ import annotations

import argparse
import sys

from cascade_core.cli.common import add_config_options, config_from_args, open_store

EXIT_ALERT = 3


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {text!r}")
    return value


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of days, got {text!r}")
    return int(text)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "recertify", help="re-certify the thresholds on recent labelled live traffic; drift week over week",
        description="Labels: gold grades, audit verdicts and shadow agreement. Exit 0 ok, 2 bad input, 3 a "
                    "configured threshold is no longer certified at the target.")
    parser.add_argument("--days", type=_days, help="window in days, ending at the newest live run (default: config)")
    parser.add_argument("--target", type=_fraction, help="accuracy of accepted answers to guarantee (default: config)")
    parser.add_argument("--risk", type=_fraction, help="chance the guarantee is wrong (default: config)")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cascade_core.routing.drift import drift
    from cascade_core.routing.recertify import recertify
    from cascade_core.routing.report import drift_markdown, recert_markdown

    config = config_from_args(args)
    with open_store(config) as store:
        recert = recertify(store, config, days=args.days, target=args.target, risk=args.risk)
        lines = [*recert_markdown(recert), "", *drift_markdown(drift(store, recert.end))]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_ALERT if recert.alert else 0
