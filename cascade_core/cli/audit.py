"""`audit`: sample accepted answers, have a judge grade them, write the report; exit 3 on an alert.

Exit codes: 0 ok (below the alert rule), 1 some judge calls failed (resume with --resume), 2 bad input,
3 the overconfidence rate's Wilson lower bound is above the alert line, or a configured threshold is no longer
certified on the last days of labelled live traffic (re-certification, see cascade_core/routing/recertify.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cascade_core.audit.params import DEFAULT_SOURCES
from cascade_core.cli.common import add_config_options, config_from_args, open_store, parse_span

if TYPE_CHECKING:
    from cascade_core.cascade.config import CascadeConfig
    from cascade_core.store.store import Store

EXIT_ALERT = 3
EXIT_JUDGE_ERRORS = 1
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
                    "the alert line, or a configured threshold is no longer certified on recent live traffic.")
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


@dataclass(frozen=True)
class _Live:
    lines: list[str]
    html: str
    alert: bool


def _live_traffic_sections(store: Store, config: CascadeConfig) -> _Live:
    """Re-certification of the configured thresholds on recent labelled traffic, and drift (issue 14)."""
    import html

    from cascade_core.routing.drift import drift
    from cascade_core.routing.recertify import recertify
    from cascade_core.routing.report import drift_markdown, recert_markdown

    recert = recertify(store, config)
    lines = [*recert_markdown(recert), "", *drift_markdown(drift(store, recert.end))]
    return _Live(lines, "<pre>" + html.escape("\n".join(lines)) + "</pre>", recert.alert)


def run(args: argparse.Namespace) -> int:
    # The library is imported when the command runs: `audit --help` stays light.
    from cascade_core.audit.params import AuditParams
    from cascade_core.audit.report import headline, to_html, to_markdown
    from cascade_core.audit.runner import NothingToAudit, judge_audit, make_judge
    from cascade_core.audit.service import latest_unfinished, load_report, run_audit
    from cascade_core.cascade.runtime import open_runtime

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
            if judge.in_flight is not None and judge.in_flight.calls:
                sys.stderr.write(f"warning: {judge.in_flight.describe()}\n")
        else:
            try:
                audit_id = run_audit(store, judge, params, concurrency=args.concurrency)
            except NothingToAudit as err:  # not a failure: the window had nothing eligible, and nothing is saved
                sys.stdout.write(f"{err}\n")
                return 0
        report = load_report(store, audit_id, alert_rate=args.alert_rate, thresholds=config.thresholds,
                             tier_names=[t.name for t in config.tiers])
        live = _live_traffic_sections(store, config)
    markdown = to_markdown(report) + "\n" + "\n".join(live.lines) + "\n"
    if args.report:
        args.report.write_text(markdown, encoding="utf-8")
        sys.stdout.write("\n".join(headline(report)) + f"\nreport: {args.report}\n")
    else:
        sys.stdout.write(markdown)
    if args.html:
        args.html.write_text(to_html(report).replace("</body>", live.html + "</body>"), encoding="utf-8")
    if report.result.errors:  # said on stderr too: an alert's exit code (3) would hide exit 1's "rerun" meaning
        said = "; ".join(f"{error} ({n})" for error, n in report.result.judge_errors)
        sys.stderr.write(f"warning: {report.result.errors} of {report.result.sampled} judge calls failed: {said}; "
                         f"rerun with --resume to judge them again\n")
    if report.result.alert_fired or live.alert:  # a threshold no longer certified on live traffic alerts too
        return EXIT_ALERT
    return EXIT_JUDGE_ERRORS if report.result.errors else 0
