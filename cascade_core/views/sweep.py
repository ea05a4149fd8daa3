"""The Sweep page's tables and numbers as plain functions (tested without a browser)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cascade_core.sweep.analysis import SplitView, SweepResult, on_front
from cascade_core.sweep.calibration import TierCalibration
from cascade_core.sweep.certify import Certification
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.policies import route
from cascade_core.sweep.recommend import Recommendation
from cascade_core.sweep.references import versus_reference
from cascade_core.sweep.summary_metrics import SummaryMetrics
from cascade_core.views.sweep_point import accept_words

FRONTS = {"per_tier": "per-tier thresholds", "shared": "one shared threshold", "skip": "skip-ahead",
          "tier_choice": "fewer tiers"}


@dataclass(frozen=True)
class OperatingPoint:
    point: FrontierPoint
    accuracy: float
    cost_per_1k: float
    savings: float  # vs always-large
    quality_retained: float  # vs always-large
    mean_latency_ms: float
    tier_share: dict[str, float]


def front_points(result: SweepResult, kind: str) -> list[FrontierPoint]:
    """The Pareto front of `kind` ("per_tier" or "shared"), cheapest first: what the slider walks along."""
    fronts = {"per_tier": result.per_tier_front, "shared": result.shared_front, "skip": result.skip_front,
              "tier_choice": result.view.tier_choice_front}
    return list(fronts.get(kind, result.shared_front))


def default_pick(front: Sequence[FrontierPoint], result: SweepResult, target: float | None = None) -> int:
    """Index of the cheapest front point keeping `target` (default: the sweep's) of always-large accuracy."""
    if not front:
        return 0
    goal = (target if target is not None else result.settings.target) * result.always_large.accuracy
    for i, p in enumerate(front):
        if p.accuracy >= goal - 1e-12:
            return i
    return len(front) - 1


def operating_point(result: SweepResult, point: FrontierPoint) -> OperatingPoint:
    savings, retained = versus_reference(point, result.always_large)
    return OperatingPoint(
        point=point, accuracy=point.accuracy, cost_per_1k=point.cost_per_1k, savings=savings,
        quality_retained=retained, mean_latency_ms=point.mean_latency_ms,
        tier_share=dict(zip(result.tiers, point.tier_share, strict=True)),
    )


def worse_items(result: SweepResult, point: FrontierPoint, questions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Items answered wrongly at this point whose always-large answer is right, with both answers."""
    m = result.matrix
    if not point.thresholds:
        return pd.DataFrame(columns=["item_id", "category", "answered_by", "answer", "large_answer", "question"])
    routed = route(m, point.thresholds, point.skip, point.abstain, point.start)
    tiers = routed.tier
    got = routed.correct(m)
    worse = np.flatnonzero((got == 0) & (m.correct[:, -1] == 1))
    answers = result.outcomes.set_index(["item_id", "tier"])["answer"]
    out = []
    for i in worse:
        item = str(m.item_ids[i])
        tier = m.tiers[int(tiers[i])]
        out.append({
            "item_id": item, "category": m.categories[i], "answered_by": tier,
            "answer": answers.get((item, tier)), "large_answer": answers.get((item, m.tiers[-1])),
            "question": (questions or {}).get(item),
        })
    return pd.DataFrame(out, columns=["item_id", "category", "answered_by", "answer", "large_answer", "question"])


def points_table(result: SweepResult) -> pd.DataFrame:
    """Every point (clouds and references) for display and CSV export: one column per threshold and share."""
    points = (*result.per_tier, *result.shared, *result.skip, *result.view.tier_choice, *result.references)
    rows = []
    for p, front in zip(points, on_front(result, points), strict=True):
        row: dict[str, object] = {"kind": p.kind, "label": p.label, "on_front": front}
        for t, v in zip(result.tiers[:-1], p.thresholds or (None,) * (len(result.tiers) - 1), strict=True):
            row[f"threshold_{t}"] = v
        for t, v in zip(result.tiers[:-2], p.skip or (None,) * (len(result.tiers) - 2), strict=False):
            row[f"skip_below_{t}"] = v
        row.update({"accuracy": p.accuracy, "n_graded": p.n_graded, "cost_per_1k": p.cost_per_1k,
                    "mean_latency_ms": p.mean_latency_ms})
        for t, s in zip(result.tiers, p.tier_share, strict=True):
            row[f"share_{t}"] = s
        savings, retained = versus_reference(p, result.always_large)
        row.update({"savings_vs_large": savings, "quality_retained": retained})
        rows.append(row)
    return pd.DataFrame(rows)


def points_csv(result: SweepResult) -> str:
    return str(points_table(result).to_csv(index=False))


def reference_table(result: SweepResult, view: SplitView | None = None) -> pd.DataFrame:
    """The reference points of a split (default: the headline one), accuracy as a percentage."""
    refs = (view or result.view).references
    return pd.DataFrame([
        {"reference": p.label, "accuracy": f"{p.accuracy:.1%}", "cost per 1,000": f"${p.cost_per_1k:,.4f}",
         "mean latency (ms)": "not recorded" if not np.isfinite(p.mean_latency_ms) else f"{p.mean_latency_ms:,.0f}"}
        for p in refs
    ])


def certification_table(cert: Certification) -> pd.DataFrame:
    """The certified point on calibration and held-out questions, as percentages and dollars."""
    rows = []
    for name, m in (("calibration", cert.calibration), ("held-out", cert.holdout)):
        if m is None:
            continue
        rows.append({"questions": name, "n": m.n, "accuracy": f"{m.accuracy:.1%}",
                     "always-large accuracy": f"{m.large_accuracy:.1%}", "cost per 1,000": f"${m.cost_per_1k:,.4f}",
                     "savings vs always-large": f"{m.savings:.1%}", "quality retained": f"{m.quality_retained:.1%}"})
    return pd.DataFrame(rows)


def estimate_text(result: SweepResult, signal: str | None = None) -> str:
    """The uncertified cheapest setting meeting the target on calibration, said as an estimate."""
    est = result.estimate
    if est is None or est.thresholds is None:  # it searches fewer settings than the certified pick above it
        return ("Estimate, not certified: no per-tier or shared thresholds calling every tier in turn ("
                + " → ".join(result.tiers) + ") meet the target on the calibration questions for less than "
                "always-large costs; the certified search also tries skipping ahead and leaving tiers out.")
    setting = "; ".join(f"{t} {accept_words(v, signal)}" for t, v in zip(result.tiers, est.thresholds, strict=False))
    return (f"Estimate, not certified: {setting} would save "
            f"{est.savings.estimate:.0%} (held-out 95% interval {est.savings.low:.0%} to {est.savings.high:.0%}) "
            f"and keeps the target in {est.probability_meets_target:.0%} of bootstrap resamples of the held-out "
            "questions; it is the cheapest setting that meets the target on calibration, which new questions "
            "often miss.")


def recommendation_table(rec: Recommendation, tiers: Sequence[str]) -> pd.DataFrame:
    """Held-out figures of the recommendation with their 95% bootstrap intervals."""
    rows = [
        ("accuracy", rec.accuracy), ("always-large accuracy", rec.large_accuracy),
        ("cost per 1,000 (USD)", rec.cost_per_1k), ("savings vs always-large", rec.savings),
        ("quality retained", rec.quality_retained),
    ]
    return pd.DataFrame([{"measure": name, "estimate": iv.estimate, "low (2.5%)": iv.low, "high (97.5%)": iv.high}
                         for name, iv in rows])


def _pct(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.1%}"


def calibration_table(report: Sequence[TierCalibration]) -> pd.DataFrame:
    """Per tier, fractions as percentages; AUROC stays a 0-1 score (0.5 = chance)."""
    return pd.DataFrame([
        {"tier": c.tier, "answers with confidence": c.n, "accuracy": _pct(c.accuracy),
         "mean confidence": _pct(c.mean_confidence), "ECE": _pct(c.ece),
         "AUROC": "n/a" if not np.isfinite(c.auroc) else f"{c.auroc:.3f}",
         "wrong at top confidence": _pct(c.overconfidence), "share of wrong given top confidence":
         _pct(c.top_share_of_wrong)}
        for c in report
    ])


def metrics_table(metrics: Mapping[str, SummaryMetrics]) -> pd.DataFrame:
    """APGR and CPT as percentages, CPT also in dollars; AIQ stays an area in [0, 1]."""
    return pd.DataFrame([
        {"thresholds": FRONTS.get(name, name), "APGR": _pct(m.apgr),
         "CPT50 (of large cost)": _pct(m.cpt50.pct_of_large / 100), "CPT80 (of large cost)":
         _pct(m.cpt80.pct_of_large / 100), "CPT50 ($/1k)": _usd(m.cpt50.cost_per_1k),
         "CPT80 ($/1k)": _usd(m.cpt80.cost_per_1k), "AIQ": "n/a" if not np.isfinite(m.aiq) else f"{m.aiq:.3f}"}
        for name, m in metrics.items()
    ])


def _usd(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"${value:,.4f}"


def cached_point_label(point: FrontierPoint, tiers: Sequence[str]) -> str:
    """Short slider label of a front point."""
    thr = " / ".join(f"{v:.2f}" for v in point.thresholds)
    return f"{thr} → {point.accuracy:.1%} at ${point.cost_per_1k:,.3f}/1k"


def parse_pairs(text: str, what: str) -> dict[str, str]:
    """'name=value' pairs, one per line or comma-separated; raises ValueError naming the bad entry."""
    out: dict[str, str] = {}
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{what}: expected NAME=VALUE, got {entry!r}")
        out[key.strip()] = value.strip()
    return out


def parse_costs(text: str, what: str = "costs") -> dict[str, float]:
    """'model=USD per item' pairs (as `parse_pairs`); raises ValueError naming a value that is not a number."""
    costs = {}
    for model, value in parse_pairs(text, what).items():
        try:
            costs[model] = float(value)
        except ValueError:
            raise ValueError(f"{what}: {model}={value!r} is not a number (USD per item)") from None
    return costs


def parse_split(text: str) -> str | float:
    """'auto', a column name, or a calibration fraction in (0, 1)."""
    text = text.strip() or "auto"
    try:
        value = float(text)
    except ValueError:
        return text
    if not 0 < value < 1:
        raise ValueError(f"a split fraction must lie strictly between 0 and 1, got {value}")
    return value


def save_upload(name: str, data: bytes, folder: str) -> str:
    """Write an uploaded file under `folder` keeping only its base name and suffix; returns the path."""
    from pathlib import Path

    safe = Path(name).name or "upload"
    path = Path(folder) / safe
    path.write_bytes(data)
    return str(path)


def clicked_front_point(selection: object) -> tuple[str, int] | None:
    """(front kind, index on that front) of a point clicked on a front line, from st.plotly_chart's selection.

    Front traces carry customdata ["per_tier_front" | "shared_front", index]; clicks elsewhere give None.
    """
    try:
        points = selection["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(custom, list | tuple) and len(custom) == 2 and str(custom[0]).endswith("_front"):
            return str(custom[0])[: -len("_front")], int(custom[1])
    return None
