"""Saving, reopening and comparing sweeps (the SQL lives in store/sweeps.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cascade_core.clock import utc_now
from cascade_core.store import sweeps as sql
from cascade_core.store.store import Store
from cascade_core.sweep.analysis import SweepResult, SweepSettings, analyse, on_front
from cascade_core.sweep.outcomes import OUTCOME_COLUMNS
from cascade_core.sweep.pareto import points_frame
from cascade_core.sweep.sweep_json import certification_dict, metrics_dict, recommendation_dict


@dataclass(frozen=True)
class SweepMeta:
    """Where a sweep's outcome table came from."""

    name: str
    dataset: str
    source: str  # live | import
    config_fingerprint: str | None = None
    signal: str | None = None
    simulated: bool = False


def stored_points(result: SweepResult) -> pd.DataFrame:
    """All points of a sweep as stored (JSON thresholds and shares) with an on_front flag."""
    points = [*result.shared, *result.per_tier, *result.skip, *result.view.tier_choice, *result.references]
    frame = points_frame(points)
    frame["on_front"] = on_front(result, points)
    frame["thresholds"] = frame["thresholds"].map(lambda t: json.dumps(list(t)))
    frame["label"] = [p.label or (f"skip below {', '.join(f'{v:g}' for v in p.skip)}" if p.kind == "skip" else
                                  f"from {result.tiers[p.start]}" if p.start else "") for p in points]
    frame["tier_share"] = frame["tier_share"].map(lambda t: json.dumps(list(t)))
    frame.insert(0, "point_index", range(len(frame)))
    return frame


def save_result(store: Store, result: SweepResult, meta: SweepMeta,
                questions: Mapping[str, str] | None = None) -> str:
    """Save a sweep (settings, points, recommendation, metrics, its outcome table and, when known, the questions'
    text, so a reopened sweep shows them); returns its id."""
    sweep_id = uuid.uuid4().hex[:12]
    s = result.settings
    row: dict[str, Any] = {
        "sweep_id": sweep_id, "created_at": utc_now(), "name": meta.name, "dataset": meta.dataset,
        "config_fingerprint": meta.config_fingerprint, "source": meta.source, "signal": meta.signal,
        "tiers": list(result.tiers), "grid": s.grid(), "target": s.target, "split": s.split, "seed": s.seed,
        "n_items": result.matrix.n_items, "simulated": meta.simulated,
        "recommendation": {"certified": certification_dict(result.certified),
                           "estimate": recommendation_dict(result.estimate)}, "metrics": metrics_dict(result.metrics),
        "notes": list(result.notes),
    }
    outcomes = result.outcomes[[c for c in OUTCOME_COLUMNS]]
    text = dict(questions or {})
    outcomes = outcomes.assign(question=[text.get(str(i)) for i in outcomes["item_id"]])
    sql.save_sweep(store, row, stored_points(result), outcomes)
    return sweep_id


def list_saved(store: Store) -> pd.DataFrame:
    frame = sql.list_sweeps(store)
    frame["tiers"] = frame["tiers"].map(lambda t: " → ".join(json.loads(t)))
    return frame


def reopen(store: Store, sweep_id: str, settings: SweepSettings | None = None) -> tuple[dict[str, Any], SweepResult]:
    """A saved sweep recomputed from its stored outcome table (with its saved settings unless given)."""
    row = sql.get_sweep(store, sweep_id)
    if row is None:
        raise KeyError(f"no saved sweep {sweep_id!r}")
    if settings is None:
        grid = row["grid"] or {}
        settings = SweepSettings(target=float(row["target"]), split=row["split"], seed=int(row["seed"]),
                                 shared_steps=int(grid.get("shared_steps", 0)),
                                 per_tier_steps=int(grid.get("per_tier_steps", 0)),
                                 delta=float(grid.get("delta", 0.1)), abstain=bool(grid.get("abstain", False)),
                                 current=tuple(grid["current"]) if grid.get("current") else None)
    return row, analyse(sql.sweep_outcomes(store, sweep_id), settings)


def saved_questions(store: Store, sweep_id: str) -> dict[str, str]:
    """item_id -> question text of a saved sweep (empty for imported results, which carry none)."""
    return sql.sweep_questions(store, sweep_id)


def saved_points(store: Store, sweep_id: str) -> pd.DataFrame:
    """Stored points with thresholds and tier shares decoded to tuples."""
    frame = sql.sweep_points(store, sweep_id)
    for col in ("thresholds", "tier_share"):
        frame[col] = frame[col].map(lambda t: tuple(json.loads(t)))
    return frame


def compare_saved(store: Store, a: str, b: str) -> tuple[pd.DataFrame, str | None]:
    """A table of what differs between two saved sweeps, and a warning when they cover different questions."""
    rows: dict[str, dict[str, Any]] = {}
    for sid in (a, b):
        row = sql.get_sweep(store, sid)
        if row is None:
            raise KeyError(f"no saved sweep {sid!r}")
        rows[sid] = row
    items = {sid: set(sql.sweep_outcomes(store, sid)["item_id"]) for sid in (a, b)}
    points = {sid: saved_points(store, sid) for sid in (a, b)}

    def large(sid: str) -> pd.Series:
        refs = points[sid][points[sid]["kind"] == "always"].sort_values("cost_per_1k")
        return refs.iloc[-1]

    table = []
    for label, get in (("name", lambda s: rows[s]["name"]), ("questions", lambda s: len(items[s])),
                       ("tiers", lambda s: " → ".join(rows[s]["tiers"] or [])), ("signal", lambda s: rows[s]["signal"]),
                       ("target", lambda s: f"{float(rows[s]['target']):.0%}"),
                       ("always-large accuracy", lambda s: f"{large(s)['accuracy']:.1%}"),
                       ("always-large cost per 1,000", lambda s: f"${large(s)['cost_per_1k']:,.4f}")):
        va, vb = get(a), get(b)
        table.append({"": label, "first": str(va), "second": str(vb), "differs": va != vb})
    warning = None
    if items[a] != items[b]:
        both = len(items[a] & items[b])
        warning = (f"The two sweeps cover different questions ({len(items[a]):,} and {len(items[b]):,}, {both:,} in "
                   "common): their figures are not directly comparable.")
    return pd.DataFrame(table), warning
