"""`audit`: sample accepted answers, have a judge grade them, write the report; exit 3 on an alert.

Exit codes: 0 ok (below the alert rule), 1 some judge calls failed (resume with --resume), 2 bad input,
3 the overconfidence rate's Wilson lower bound is above the alert line.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

from cascade_core.audit.report import headline, to_html, to_markdown
from cascade_core.audit.runner import DEFAULT_SOURCES, AuditParams, judge_audit, make_judge
from cascade_core.audit.service import latest_unfinished, load_report, run_audit
from cascade_core.cascade.runtime import open_runtime
from cascade_core.cli.common import add_config_options, config_from_args, open_store

EXIT_ALERT = 3
EXIT_JUDGE_ERRORS = 1
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta:
    """'7d', '36h', '2w' -> a timedelta (argparse type)."""
    match = _SPAN.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive span like 7d, 36h or 2w, got {text!r}")
    return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})


def parse_when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or time (UTC), got {text!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1], got {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit", help="audit accepted non-final-tier answers for overconfidence with an LLM judge",
        description="Sample accepted answers of non-final tiers, grade them with the judge model, write a report. "
                    "Exit 0 ok, 1 some judge calls failed, 2 bad input, 3 the rate's Wilson lower bound is above "
                    "the alert line.")
    parser.add_argument("--since", type=parse_span, default=timedelta(days=7), help="window length (default 7d)")
    parser.add_argument("--until", type=parse_when, help="window end, ISO UTC (default now)")
    parser.add_argument("--sample", type=positive_int, default=50, help="answers to audit (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--alert-rate", type=rate, help="alert line on the rate (default 0.1, or the resumed audit's)")
    parser.add_argument("--report", type=Path, help="write the Markdown report here (default: stdout)")
    parser.add_argument("--html", type=Path, help="also write an HTML report with the plots here")
    parser.add_argument("--include-audited", action="store_true", help="allow answers audited before")
    parser.add_argument("--sources", default=",".join(DEFAULT_SOURCES),
                        help=f"run sources to sample, comma-separated (default {','.join(DEFAULT_SOURCES)})")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="AUDIT_ID",
                        help="finish an interrupted audit (default: the latest unfinished one) instead of a new one")
    parser.add_argument("--concurrency", type=positive_int, default=4, help="judge calls in flight (default 4)")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    if not sources:
        sys.stderr.write("error: --sources names no source\n")
        return 2
    try:
        params = AuditParams(since=args.since, until=args.until, sample=args.sample, seed=args.seed,
                             alert_rate=0.1 if args.alert_rate is None else args.alert_rate,
                             include_audited=args.include_audited, sources=sources)
    except ValueError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    with open_store(config) as store, open_runtime(config) as runtime:
        try:
            judge = make_judge(runtime)
        except ValueError as err:
            sys.stderr.write(f"error: {err}\n")
            return 2
        if args.resume:
            audit_id = latest_unfinished(store) if args.resume == "latest" else args.resume
            if audit_id is None:
                sys.stderr.write("error: no unfinished audit to resume\n")
                return 2
            try:
                judge_audit(store, judge, audit_id, concurrency=args.concurrency)
            except ValueError as err:
                sys.stderr.write(f"error: {err}\n")
                return 2
        else:
            audit_id = run_audit(store, judge, params, concurrency=args.concurrency)
        report = load_report(store, audit_id, alert_rate=args.alert_rate, thresholds=config.thresholds,
                             tier_names=[t.name for t in config.tiers])
    markdown = to_markdown(report)
    if args.report:
        args.report.write_text(markdown, encoding="utf-8")
        sys.stdout.write("\n".join(headline(report)) + f"\nreport: {args.report}\n")
    else:
        sys.stdout.write(markdown)
    if args.html:
        args.html.write_text(to_html(report), encoding="utf-8")
    if report.result.alert_fired:
        return EXIT_ALERT
    return EXIT_JUDGE_ERRORS if report.result.errors else 0
