"""When the overconfidence rate is above the alert line: which single threshold change would have escalated
the most flagged answers, and what it would touch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ThresholdChange:
    tier_index: int  # the tier's logged position (most common); see tier_position for the configured one
    tier_name: str  # what the recommendation is keyed on: positions differ between runs (a deselected tier)
    current: float | None  # the threshold the flagged answers were accepted at (most common)
    proposed: float
    escalated: int  # flagged answers the change would have escalated
    flagged: int  # all flagged answers in the audit
    would_escalate: int  # accepted answers of this tier in the window that would have escalated
    tier_accepted: int  # accepted answers of this tier in the window
    unreachable: int  # flagged answers at confidence 1.0: no threshold in [0, 1] escalates them
    cost_note: str = ""

    @property
    def text(self) -> str:
        current = f"{self.current:.2f}" if self.current is not None else "?"
        share = self.would_escalate / self.tier_accepted if self.tier_accepted else 0.0
        parts = [
            f"Raise the '{self.tier_name}' threshold from {current} to {self.proposed:.2f}: it would have "
            f"escalated {self.escalated} of {self.flagged} flagged answers, and {self.would_escalate} of "
            f"{self.tier_accepted} accepted '{self.tier_name}' answers in the window ({share:.0%}).",
        ]
        if self.unreachable:
            noun = "flagged answer" if self.unreachable == 1 else "flagged answers"
            parts.append(f"{self.unreachable} {noun} carried confidence 1.0, which no threshold escalates "
                         "(a better confidence signal would: try 'verify' or 'logprob').")
        if self.cost_note:
            parts.append(self.cost_note)
        return " ".join(parts)


def _proposals(confidences: pd.Series, observed: pd.Series) -> list[float]:
    """Thresholds just above each flagged confidence: the next higher accepted confidence seen, else 1.0."""
    levels = sorted(set(observed.dropna().astype(float)))
    out = set()
    for c in set(confidences.dropna().astype(float)):
        if c >= 1.0:
            continue
        higher = [v for v in levels if v > c]
        out.add(higher[0] if higher else 1.0)
    return sorted(out)


def propose_threshold_change(flagged: pd.DataFrame, accepted: pd.DataFrame) -> ThresholdChange | None:
    """The single-tier threshold change escalating the most flagged answers (ties: the smaller disruption).

    `flagged`: flagged audit items (tier_index, tier_name, confidence, threshold); `accepted`: the window's
    accepted steps (tier_name, confidence). None when nothing is flagged or nothing can be escalated.

    Tiers are matched by name: a run logged from the Query page with a tier deselected numbers its tiers by
    position in that run, so the same tier_index can name different tiers in different runs.
    """
    best: tuple[tuple[int, int], ThresholdChange] | None = None
    tiers = sorted((int(group["tier_index"].mode().iloc[0]), str(name), group)
                   for name, group in flagged.groupby("tier_name", sort=False))
    for tier_index, tier_name, group in tiers:
        tier_accepted = accepted[accepted["tier_name"] == tier_name]["confidence"].astype(float)
        conf = group["confidence"].astype(float)
        thresholds = group["threshold"].dropna()
        current = float(thresholds.mode().iloc[0]) if not thresholds.empty else None
        for proposed in _proposals(conf, tier_accepted):
            rec = ThresholdChange(
                tier_index=tier_index, tier_name=tier_name, current=current, proposed=proposed,
                escalated=int((conf < proposed).sum()), flagged=len(flagged),
                would_escalate=int((tier_accepted < proposed).sum()), tier_accepted=len(tier_accepted),
                unreachable=int((flagged["confidence"].astype(float) >= 1.0).sum()),
            )
            key = (rec.escalated, -rec.would_escalate)
            if best is None or key > best[0]:
                best = (key, rec)
    return best[1] if best else None


def _nearest(points: pd.DataFrame, target: list[float]) -> dict[str, Any] | None:
    best, best_distance = None, float("inf")
    for row in points.to_dict("records"):
        values = json.loads(row["thresholds"]) if isinstance(row["thresholds"], str) else list(row["thresholds"])
        if len(values) != len(target):
            continue
        distance = sum((float(a) - b) ** 2 for a, b in zip(values, target, strict=True))
        if distance < best_distance:
            best, best_distance = {**row, "_values": values}, distance
    return best


def sweep_cost_note(latest: tuple[dict[str, Any], pd.DataFrame] | None, current: list[float],
                    proposed: list[float]) -> str:
    """The change's cost and accuracy on the latest saved sweep's nearest threshold points, or why not."""
    if latest is None:
        return "No saved sweep of this cascade's tiers, so the change's cost is unknown: run a sweep to price it."
    sweep, points = latest
    now, then = _nearest(points, current), _nearest(points, proposed)
    if now is None or then is None:
        return (f"The latest sweep ({sweep.get('name') or sweep['sweep_id']}) has no points for "
                f"{len(current)} thresholds, so the change's cost is unknown.")

    def fmt(point: dict[str, Any]) -> str:
        acc = point.get("accuracy")
        acc_text = f", accuracy {acc:.1%}" if acc is not None and acc == acc else ""
        return f"[{', '.join(f'{v:.2f}' for v in point['_values'])}]: ${point['cost_per_1k']:.4f} per 1k{acc_text}"

    return (f"On the latest sweep ({sweep.get('name') or sweep['sweep_id']}, dataset {sweep.get('dataset')}, "
            f"{sweep['created_at']:%Y-%m-%d}): thresholds {fmt(now)} -> {fmt(then)} (nearest swept points).")


def current_thresholds(*frames: pd.DataFrame) -> list[float]:
    """Without a config: the thresholds each non-final tier accepted at, by logged position (most common per
    tier index; missing tiers: 0.75)."""
    rows = pd.concat([f[["tier_index", "threshold"]] for f in frames if not f.empty], ignore_index=True)
    rows = rows.dropna()
    count = int(rows["tier_index"].max()) + 1 if not rows.empty else 0
    out = []
    for index in range(count):
        values = rows.loc[rows["tier_index"] == index, "threshold"]
        out.append(float(values.mode().iloc[0]) if not values.empty else 0.75)
    return out


def tier_position(tier_name: str, tier_names: Sequence[str], n_thresholds: int) -> int | None:
    """The position of a tier in the configured cascade, by name; None when no threshold there has that name."""
    names = list(tier_names)[:n_thresholds]
    return names.index(tier_name) if tier_name in names else None
