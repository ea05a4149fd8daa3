"""The audit report as Markdown (for cron mail and the repo) and as HTML with the plots."""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

from cascade_core.audit.results import GROUP_COLUMNS
from cascade_core.audit.service import AuditReport
from cascade_core.figures.audit import group_figure, trend_figure

NO_DATA = "no data"


def pct(value: float | None) -> str:
    """A rate as a percentage; "no data" for an empty group (None or NaN), never "nan%"."""
    return NO_DATA if value is None or value != value else f"{value:.1%}"


def interval(low: float | None, high: float | None, audited: int, sep: str = " - ") -> str:
    """A 95% interval; "no data" when nothing in the group was audited."""
    if not audited or low is None or high is None or low != low or high != high:
        return NO_DATA
    return f"{low:.1%}{sep}{high:.1%}"


# Characters that would make text in a Markdown report act as markup: table cells (|), raw HTML (< >), links
# and images ([ ] !), code spans (`), and the backslash that escapes them.
_MD_SPECIAL = re.compile(r"([\\|<>\[\]!`])")


def md_text(text: str) -> str:
    """Untrusted text (questions, answers, rationales, names) as literal text in the Markdown report."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _cell(value: Any, limit: int = 160) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = " ".join(str(value).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return md_text(text)


def _table(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return ["_(none)_"]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def _rates(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    out = frame[[key, "flagged", "audited"]].copy()
    out["rate"] = [pct(v) for v in frame["rate"]]
    out["95% interval"] = [interval(lo, hi, n) for lo, hi, n in zip(frame["low"], frame["high"], frame["audited"],
                                                                      strict=True)]
    return out


def flagged_table(report: AuditReport) -> pd.DataFrame:
    """The flagged items as shown in reports: question, accepted answer, confidence, verdict, rationale, run."""
    flagged = report.result.flagged
    return pd.DataFrame({
        "run_id": flagged["run_id"], "tier": flagged["tier_name"], "category": flagged["category"],
        "question": flagged["question"], "accepted answer": flagged["answer"],
        "confidence": [f"{c:.2f}" for c in flagged["confidence"]], "gold": flagged["gold"],
        "verdict": flagged["verdict"], "rationale": flagged["rationale"],
    })


def headline(report: AuditReport) -> list[str]:
    """The summary lines shared by Markdown and HTML."""
    r, a = report.result, report.result.audit
    share = r.overconfidence
    est, lo, hi = r.wrong_served
    sim = " (SIMULATED: the audited answers come from the embedded simulator)" if a["simulated"] else ""
    status = "ALERT: the lower bound is above the alert line" if r.alert_fired else (
        "above the alert line (the interval still reaches below it)" if r.above_alert else
        "below the alert line" if share.n else "nothing audited, so no alert")
    lines = [
        f"Window: {a['window_start']:%Y-%m-%d %H:%M} to {a['window_end']:%Y-%m-%d %H:%M} UTC; "
        f"judge: {a['judge_model']} (tier '{a['judge_tier']}'){sim}.",
        f"Sampled {r.sampled} of {int(a['candidates'])} unaudited accepted answers (seed {int(a['seed'])}); "
        f"judged {r.judged}, unsure {r.unsure}, judge errors {r.errors}, still pending {r.pending}, "
        f"replies with parse problems {r.parse_problems}.",
        f"Overconfidence rate: {share.k} of {share.n} = {pct(share.rate)} (Wilson 95%: "
        f"{interval(share.low, share.high, share.n)}); alert line {r.alert_rate:.0%}: {status}.",
        (f"Estimated wrong answers served in the window: {est:.0f} (95%: {lo:.0f} - {hi:.0f}) of "
         f"{r.accepted_volume} accepted non-final-tier answers." if share.n else
         f"Wrong answers served in the window: unknown (nothing audited) of {r.accepted_volume} accepted "
         "non-final-tier answers."),
        f"Judge cost: ${r.judge_cost:.6f} (the audit's own spend); cascade cost of the sampled runs: "
        f"${r.cascade_cost:.6f}.",
    ]
    if r.errors:
        said = "; ".join(f"{error} ({n})" for error, n in r.judge_errors)
        lines.append(f"Judge errors: {r.errors} of {r.sampled} judge calls failed: {said}. Rerun with --resume (the "
                     "Audit page: Resume audit) to judge them again.")
    if r.key_graded:
        lines.append(f"Graded against the answer key: {r.key_graded} item(s) with a gold answer (the key, not the "
                     f"judge, decides whether they were wrong); the judge disagreed with the key on "
                     f"{r.judge_disagreements} of them (judge disagreement, a measure of the judge).")
    if report.recommendation is not None:
        lines.append("Recommendation: " + report.recommendation.text)
    ag = report.agreement
    if ag.n:
        kappa = f"{ag.kappa:.2f}" if ag.kappa is not None else f"n/a ({ag.note})"
        lines.append(f"Reviewer agreement with the judge: {ag.agree} of {ag.n} = {pct(ag.rate.rate)}; "
                     f"Cohen's kappa {kappa}.")
    return lines


def to_markdown(report: AuditReport) -> str:
    r = report.result
    out = [f"# Overconfidence audit {md_text(report.audit_id)}", ""]
    out += [f"- {md_text(' '.join(line.split()))}" for line in headline(report)]  # names, sweep text
    for label, column in GROUP_COLUMNS.items():
        out += ["", f"## By {label}", "", *_table(_rates(r.by_group[label], column))]
    trend = report.trend.assign(week=[f"{w:%Y-%m-%d}" for w in report.trend["week"]]) if not report.trend.empty \
        else report.trend
    out += ["", "## Weekly trend (all audits)", "", *_table(_rates(trend, "week") if not trend.empty else trend)]
    out += ["", "## Flagged answers", "", "To read a run's trace, open its run_id on the dashboard's Runs page "
            "('Open a run by id'), or select the answer on the Audit page.",
            "", *_table(flagged_table(report))]
    return "\n".join(out) + "\n"


def _html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0, classes="t") if not frame.empty else "<p>(none)</p>"


def to_html(report: AuditReport) -> str:
    """A standalone page: the summary, the plots (plotly.js embedded once, so it works offline) and tables."""
    r = report.result
    parts = [f"<h1>Overconfidence audit {html.escape(report.audit_id)}</h1><ul>"]
    parts += [f"<li>{html.escape(line)}</li>" for line in headline(report)]
    parts.append("</ul>")
    figures = [trend_figure(report.trend, r.alert_rate)]
    figures += [group_figure(r.by_group[label], column, r.alert_rate) for label, column in GROUP_COLUMNS.items()
                if not r.by_group[label].empty]
    for index, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=index == 0))
    for label, column in GROUP_COLUMNS.items():
        parts += [f"<h2>By {html.escape(label)}</h2>", _html_table(_rates(r.by_group[label], column))]
    parts += ["<h2>Flagged answers</h2>", _html_table(flagged_table(report))]
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table.t{border-collapse:collapse}"
             "table.t td,table.t th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Audit {html.escape(report.audit_id)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
