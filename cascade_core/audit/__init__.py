"""Overconfidence audits: sample accepted non-final-tier answers, judge them, report rates with intervals.

Names are imported on first use (cascade_core/lazy.py): importing one submodule stays light.
"""

from typing import TYPE_CHECKING

from cascade_core.lazy import lazy_exports

if TYPE_CHECKING:
    from cascade_core.audit.judge import JudgeReply, judge_messages, judge_tier, neutralise, parse_judge_reply
    from cascade_core.audit.params import AuditParams
    from cascade_core.audit.report import flagged_table, headline, to_html, to_markdown
    from cascade_core.audit.results import AuditResult, judge_agreement, summarise, weekly_trend
    from cascade_core.audit.runner import Judge, NothingToAudit, judge_audit, make_judge, start_audit
    from cascade_core.audit.sampler import confidence_level, stratified_sample
    from cascade_core.audit.service import (
        AuditReport,
        audit_items,
        latest_unfinished,
        list_audits,
        load_report,
        record_review,
        report_stamp,
        run_audit,
    )
    from cascade_core.audit.stats import Agreement, Proportion, cohen_kappa, proportion, wilson_interval
    from cascade_core.audit.threshold_change import ThresholdChange, propose_threshold_change
    from cascade_core.figures.audit import group_figure, trend_figure
    from cascade_core.views.audit import (
        audit_label,
        flagged_display,
        rate_display,
        review_label,
        review_queue,
    )

__getattr__, __dir__ = lazy_exports(__name__, {
    "cascade_core.audit.judge": ("JudgeReply", "judge_messages", "judge_tier", "neutralise", "parse_judge_reply"),
    "cascade_core.audit.report": ("flagged_table", "headline", "to_html", "to_markdown"),
    "cascade_core.audit.results": ("AuditResult", "judge_agreement", "summarise", "weekly_trend"),
    "cascade_core.audit.params": ("AuditParams",),
    "cascade_core.audit.runner": ("Judge", "NothingToAudit", "judge_audit", "make_judge", "start_audit"),
    "cascade_core.audit.sampler": ("confidence_level", "stratified_sample"),
    "cascade_core.audit.service": (
        "AuditReport", "audit_items", "latest_unfinished", "list_audits", "load_report", "record_review",
        "report_stamp", "run_audit",
    ),
    "cascade_core.audit.stats": ("Agreement", "Proportion", "cohen_kappa", "proportion", "wilson_interval"),
    "cascade_core.audit.threshold_change": ("ThresholdChange", "propose_threshold_change"),
    "cascade_core.figures.audit": ("group_figure", "trend_figure"),
    "cascade_core.views.audit": ("audit_label", "flagged_display", "rate_display", "review_label", "review_queue"),
})

__all__ = [
    "Agreement",
    "AuditParams",
    "AuditReport",
    "AuditResult",
    "Judge",
    "JudgeReply",
    "NothingToAudit",
    "Proportion",
    "ThresholdChange",
    "audit_items",
    "audit_label",
    "cohen_kappa",
    "confidence_level",
    "flagged_display",
    "flagged_table",
    "group_figure",
    "headline",
    "judge_agreement",
    "judge_audit",
    "judge_messages",
    "judge_tier",
    "latest_unfinished",
    "list_audits",
    "load_report",
    "make_judge",
    "neutralise",
    "parse_judge_reply",
    "proportion",
    "propose_threshold_change",
    "rate_display",
    "record_review",
    "report_stamp",
    "review_label",
    "review_queue",
    "run_audit",
    "start_audit",
    "stratified_sample",
    "summarise",
    "to_html",
    "to_markdown",
    "trend_figure",
    "weekly_trend",
    "wilson_interval",
]
