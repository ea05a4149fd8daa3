"""Text report and file exports of a sweep for the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cascade_core.figures.sweep import figure_html, frontier_figure
from cascade_core.sweep.analysis import SweepResult
from cascade_core.sweep.saved import SweepMeta
from cascade_core.views.sweep import (
    calibration_table,
    describe_thresholds,
    metrics_table,
    points_csv,
    recommendation_table,
    reference_table,
)


def export(result: SweepResult, points_path: str | None, html_path: str | None, *, simulated: bool) -> None:
    """Write the points CSV and/or the frontier plot as standalone HTML (PNG: the plot's camera button)."""
    if points_path:
        Path(points_path).write_text(points_csv(result), encoding="utf-8")
    if html_path:
        fig = frontier_figure(result, simulated=simulated)
        Path(html_path).write_text(figure_html(fig), encoding="utf-8")


def _fmt(frame: pd.DataFrame) -> str:
    return str(frame.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))


def human_report(result: SweepResult, sweep_id: str, meta: SweepMeta) -> str:
    lines = [f"sweep {sweep_id} '{meta.name}' ({meta.source}{', SIMULATED' if meta.simulated else ''}): "
             f"{result.matrix.n_items:,} items, tiers {' -> '.join(result.tiers)}", ""]
    lines += ["Reference points:", _fmt(reference_table(result)), ""]
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.has_confidence:
        lines.append(f"{len(result.per_tier):,} per-tier settings ({len(result.per_tier_front)} on the front), "
                     f"{len(result.shared):,} shared ({len(result.shared_front)} on the front)")
    rec = result.recommendation
    if rec is not None:
        lines += ["", f"Recommendation (target {rec.target:.0%} of always-large, split: {result.split_used}):",
                  f"  {rec.kind}: {describe_thresholds(rec.thresholds, result.tiers)}",
                  _fmt(recommendation_table(rec, result.tiers)), f"  {rec.confidence_note}"]
    if result.metrics:
        lines += ["", "Summary metrics:", _fmt(metrics_table(result.metrics))]
    lines += ["", "Calibration:", _fmt(calibration_table(result.calibration))]
    return "\n".join(lines)
