"""Text report and file exports of a sweep for the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cascade_core.figures.sweep import figure_html, frontier_figure
from cascade_core.sweep.analysis import SweepResult
from cascade_core.sweep.saved import SweepMeta
from cascade_core.views.sweep import (
    calibration_table,
    certification_table,
    estimate_text,
    metrics_table,
    points_csv,
    reference_table,
)
from cascade_core.views.sweep_point import recommendation_lines, toml_snippet


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
    """The first line says what to set and how sure; then the figures, each naming the split it comes from."""
    # The page's recommendation box, word for word: the certified advice, then any cheaper reference worded so
    # that the two never contradict each other.
    lines = [*(text for _, text in recommendation_lines(result, meta.signal)), "",
             f"sweep {sweep_id} '{meta.name}' ({meta.source}{', SIMULATED' if meta.simulated else ''}): "
             f"{result.matrix.n_items:,} items, tiers {' -> '.join(result.tiers)}, split: {result.split_used}; "
             f"figures below are on the {result.headline} questions ({result.view.n_items:,}) unless named", ""]
    cert = result.certified
    if cert is not None:
        lines += [f"Certified recommendation (target {cert.target:.0%}, risk {cert.delta:.0%}, policy "
                  f"{cert.family}):", _fmt(certification_table(cert)),
                  "cascade.toml:", *("  " + line for line in toml_snippet(cert.point, result.tiers).splitlines()),
                  ""]
    if result.estimate is not None:
        lines += [estimate_text(result, meta.signal), ""]
    if result.labels is not None:
        lines += [result.labels.text, ""]
    lines += [f"Reference points ({result.headline}):", _fmt(reference_table(result)), ""]
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.has_confidence:
        lines.append(f"{len(result.per_tier):,} per-tier settings ({len(result.per_tier_front)} on the front), "
                     f"{len(result.shared):,} shared ({len(result.shared_front)}), {len(result.skip):,} skip-ahead "
                     f"({len(result.skip_front)}), at the observed confidence values")
    if result.metrics:
        lines += ["", f"Summary metrics ({result.headline}):", _fmt(metrics_table(result.metrics))]
    lines += ["", f"Calibration ({result.headline}):", _fmt(calibration_table(result.calibration))]
    return "\n".join(lines)
