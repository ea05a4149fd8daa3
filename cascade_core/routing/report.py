"""Re-certification and drift as text: lines for the audit report (Markdown) and the CLI."""

from __future__ import annotations

from cascade_core.routing.drift import PSI_ALERT, PSI_MODERATE, Drift
from cascade_core.routing.recertify import Recertification, TierRecert

STATUS_TEXT = {"certified": "still certified", "not_certified": "NOT certified",
               "too_few_labels": "too few labels to say"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def tier_sentence(t: TierRecert, target: float, risk: float) -> str:
    newer = ("no threshold" if t.certified_threshold is None
             else f"{t.certified_threshold:.2f} (on {t.certified_n} labels)")
    interval = ("" if t.accuracy_low is None
                else f", 95% interval {_pct(t.accuracy_low)}–{_pct(t.accuracy_high)}")
    p = "" if t.p_value is None else f", p = {t.p_value:.3g}"
    sources = ", ".join(f"{n} {s}" for s, n in sorted(t.by_source.items())) or "none"
    return (f"**{t.tier_name}** at threshold {t.threshold:.2f}: {STATUS_TEXT[t.status]} at {target:.0%} accuracy, "
            f"risk {risk:.0%} — {t.n_at_threshold} labels at or above the threshold, accuracy "
            f"{_pct(t.accuracy)}{interval}{p}. Labels: {sources}. The newer data certify {newer}.")


def recert_markdown(recert: Recertification) -> list[str]:
    window = ("no labelled live traffic yet" if recert.end is None
              else f"{recert.start:%Y-%m-%d %H:%M} → {recert.end:%Y-%m-%d %H:%M} UTC (last {recert.days} days)")
    lines = ["## Re-certification on live traffic", "",
             f"Window: {window}. Labels: gold grades, audit verdicts and shadow agreement with the last tier "
             f"(one per run, in that order of preference). Exact binomial test per tier; the newer data's own "
             f"threshold by fixed-sequence Learn-then-Test (at least {recert.min_labels} labels per test).", ""]
    lines += [f"- {tier_sentence(t, recert.target, recert.risk)}" for t in recert.tiers]
    if recert.alert:
        lines += ["", "**ALERT: a configured threshold is no longer certified at the target.**"]
    return lines


def drift_markdown(drift: Drift) -> list[str]:
    lines = ["## Drift week over week", ""]
    if drift.psi_weeks is None:
        return [*lines, "Fewer than two weeks of live traffic: nothing to compare yet."]
    old, new = drift.psi_weeks
    counts = drift.psi_counts or (0, 0)
    if drift.psi is None:
        lines.append(f"Small-tier confidence: too few runs to compare the week of {old:%Y-%m-%d} ({counts[0]}) with "
                     f"the week of {new:%Y-%m-%d} ({counts[1]}).")
    else:
        verdict = ("SHIFTED (alert)" if drift.alert else "a moderate shift" if drift.psi >= PSI_MODERATE
                   else "stable")
        lines.append(f"Small-tier confidence, week of {new:%Y-%m-%d} ({counts[1]} runs) against the week of "
                     f"{old:%Y-%m-%d} ({counts[0]} runs): PSI {drift.psi:.3f} — {verdict} (alert at {PSI_ALERT}).")
    last = drift.shares[drift.shares["week"] == drift.shares["week"].max()]
    for dimension in ("route", "tier", "band"):
        part = last[last["dimension"] == dimension]
        shown = ", ".join(f"{v} {s:.0%}" for v, s in zip(part["value"], part["share"], strict=True))
        lines.append(f"- share per {dimension} in the latest week: {shown or '–'}")
    return lines
