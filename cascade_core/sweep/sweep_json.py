"""A sweep as JSON (`sweep --json`, saved sweeps): per-split fronts, the certified point, the estimate."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np

from cascade_core.sweep.analysis import SplitView, SweepResult
from cascade_core.sweep.calibration import TierCalibration
from cascade_core.sweep.certify import Certification, LabelsNeeded
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.recommend import Recommendation
from cascade_core.sweep.summary_metrics import SummaryMetrics


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, tuples lists, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def point_dict(point: FrontierPoint) -> dict[str, Any]:
    out: dict[str, Any] = clean(asdict(point))
    return out


def recommendation_dict(rec: Recommendation | None) -> dict[str, Any] | None:
    return None if rec is None else clean(asdict(rec))


def certification_dict(cert: Certification | None) -> dict[str, Any] | None:
    """The certified point: setting, policy family, guarantee, figures on calibration and held-out, the tests."""
    if cert is None:
        return None
    out: dict[str, Any] = clean({
        "target": cert.target, "delta": cert.delta, "policy_family": cert.family, "certified": cert.certified,
        "thresholds": None if cert.point is None else list(cert.point.thresholds),
        "skip": None if cert.point is None else list(cert.point.skip),
        "start_tier": None if cert.point is None else cert.point.start,
        "abstain": None if cert.point is None else cert.point.abstain,
        "statement": cert.statement, "n_calibration": cert.n_calibration, "n_learn": cert.n_learn,
        "n_test": cert.n_test,
        "calibration": asdict(cert.calibration) | {"savings": cert.calibration.savings,
                                                   "quality_retained": cert.calibration.quality_retained},
        "holdout": None if cert.holdout is None else asdict(cert.holdout) | {
            "savings": cert.holdout.savings, "quality_retained": cert.holdout.quality_retained},
        "tested": [{"thresholds": list(t.point.thresholds), "skip": list(t.point.skip), "kind": t.point.kind,
                    "n": t.n, "errors": t.errors, "p_value": t.p_value, "passed": t.passed} for t in cert.tested],
    })
    out["n_holdout"] = None if cert.holdout is None else cert.holdout.n
    return out


def labels_dict(labels: LabelsNeeded | None) -> dict[str, Any] | None:
    return None if labels is None else clean(asdict(labels))


def metrics_dict(metrics: dict[str, SummaryMetrics]) -> dict[str, Any]:
    out: dict[str, Any] = clean({name: asdict(m) for name, m in metrics.items()})
    return out


def calibration_dicts(report: list[TierCalibration]) -> list[dict[str, Any]]:
    return [clean({k: v for k, v in asdict(c).items() if k != "bins"} | {"bins": c.bins.to_dict("records")})
            for c in report]


def view_dict(view: SplitView, *, points: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "split": view.name, "n_items": view.n_items,
        "fronts": {"shared": [point_dict(p) for p in view.shared_front],
                   "per_tier": [point_dict(p) for p in view.per_tier_front],
                   "skip": [point_dict(p) for p in view.skip_front],
                   "tier_choice": [point_dict(p) for p in view.tier_choice_front]},
        "references": [point_dict(p) for p in view.references],
        "current": None if view.current is None else point_dict(view.current),
        "better_reference": view.better_reference,
        "metrics": metrics_dict(view.metrics),
        "calibration": calibration_dicts(view.calibration),
    }
    if view.abstain:
        out["abstain"] = [point_dict(p) for p in view.abstain]
    if points:
        out["points"] = {"shared": [point_dict(p) for p in view.shared],
                         "per_tier": [point_dict(p) for p in view.per_tier],
                         "skip": [point_dict(p) for p in view.skip],
                         "tier_choice": [point_dict(p) for p in view.tier_choice]}
    return out


def result_to_json(result: SweepResult) -> dict[str, Any]:
    """What `sweep --json` prints. Top-level points/fronts/references/metrics/calibration are the headline split's
    (held-out when there is a split); `splits` has every split; `recommendation` is the certified point and
    `estimate` the uncertified cheapest setting meeting the target on calibration."""
    head = view_dict(result.view, points=True)
    return {
        "tiers": list(result.tiers),
        "n_items": result.matrix.n_items,
        "has_confidence": result.has_confidence,
        "settings": clean(asdict(result.settings)),
        "split": result.split_used,
        "headline_split": result.headline,
        **{k: head[k] for k in ("points", "fronts", "references", "current", "better_reference", "metrics",
                                "calibration")},
        "recommendation": certification_dict(result.certified),
        "policy_family": None if result.certified is None else result.certified.family,
        "estimate": recommendation_dict(result.estimate),
        "labels_needed": labels_dict(result.labels),
        "splits": {name: view_dict(view) for name, view in result.splits.items()},
        "notes": list(result.notes),
    }
