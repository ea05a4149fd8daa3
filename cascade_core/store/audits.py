"""All audit SQL: candidates for sampling, audits and their items, judgements, reviews, trends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from cascade_core.store import sweeps
from cascade_core.store.connection import registered
from cascade_core.store.store import Store

AUDIT_COLUMNS: tuple[str, ...] = (
    "audit_id", "created_at", "finished_at", "status", "window_start", "window_end", "sample_size", "seed",
    "include_audited", "sources", "alert_rate", "judge_tier", "judge_model", "judge_endpoint", "accepted_volume",
    "candidates", "simulated",
)
ITEM_COLUMNS: tuple[str, ...] = (
    "audit_id", "item_index", "run_id", "step_index", "run_created_at", "tier_index", "tier_name", "category",
    "confidence", "confidence_level", "threshold", "question", "answer", "gold", "run_cost", "status",
)
JUDGEMENT_COLUMNS: tuple[str, ...] = (
    "status", "verdict", "rationale", "parse_error", "overconfident", "judge_prompt", "judge_output",
    "judge_tokens_in", "judge_tokens_out", "judge_cost", "judge_cost_source", "judge_latency_ms", "judge_error",
    "judged_at", "key_correct", "judge_disagrees",
)


def _in_list(values: Sequence[str]) -> str:
    return ", ".join("?" * len(values))


def accepted_steps(store: Store, start: datetime, end: datetime, sources: Sequence[str],
                   *, exclude_audited: bool = False) -> pd.DataFrame:
    """Accepted answers of non-final tiers in [start, end) from runs of the given sources."""
    excluded = (
        "AND NOT EXISTS (SELECT 1 FROM audit_items a WHERE a.run_id = s.run_id AND a.step_index = s.step_index)"
        if exclude_audited else ""
    )
    sql = f"""
        SELECT s.run_id, s.step_index, r.created_at AS run_created_at, s.tier_index, s.tier_name, r.category,
               s.confidence, s.threshold, r.question, s.answer, r.gold, r.total_cost AS run_cost, s.simulated
        FROM all_steps s JOIN all_runs r USING (run_id)
        WHERE s.decision = 'accepted' AND r.created_at >= ? AND r.created_at < ?
          AND r.source IN ({_in_list(sources)}) {excluded}
        ORDER BY s.run_id, s.step_index
    """
    return store.query_df(sql, [start, end, *sources])


def accepted_volume(store: Store, start: datetime, end: datetime, sources: Sequence[str]) -> tuple[int, bool]:
    """(how many answers non-final tiers accepted in [start, end), whether any was simulated): one aggregate."""
    rows = store.execute(f"""
        SELECT count(*), coalesce(bool_or(s.simulated), false)
        FROM all_steps s JOIN all_runs r USING (run_id)
        WHERE s.decision = 'accepted' AND r.created_at >= ? AND r.created_at < ? AND r.source IN ({_in_list(sources)})
    """, [start, end, *sources])
    return int(rows[0][0]), bool(rows[0][1])


def runs_by_source(store: Store, start: datetime, end: datetime) -> dict[str, int]:
    """Runs logged in [start, end) per source (why an audit window holds nothing eligible)."""
    rows = store.execute("SELECT source, count(*) FROM all_runs WHERE created_at >= ? AND created_at < ? "
                         "GROUP BY source ORDER BY source", [start, end])
    return {str(src): int(n) for src, n in rows}


def accepted_confidences(store: Store, start: datetime, end: datetime, sources: Sequence[str]) -> pd.DataFrame:
    """The slim form of accepted_steps for recommendations: tier_index, tier_name, confidence, threshold."""
    return store.query_df(f"""
        SELECT s.tier_index, s.tier_name, s.confidence, s.threshold
        FROM all_steps s JOIN all_runs r USING (run_id)
        WHERE s.decision = 'accepted' AND r.created_at >= ? AND r.created_at < ? AND r.source IN ({_in_list(sources)})
    """, [start, end, *sources])


def create_audit(store: Store, audit: dict[str, Any], items: pd.DataFrame) -> None:
    """Write the audit row and its pending items in one transaction."""
    frame = items.copy()
    frame["audit_id"] = audit["audit_id"]
    frame["item_index"] = range(len(frame))
    frame["status"] = "pending"
    frame = frame[list(ITEM_COLUMNS)]
    def work(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"INSERT INTO audits ({', '.join(AUDIT_COLUMNS)}) VALUES ({_in_list(AUDIT_COLUMNS)})",
                    [audit[c] for c in AUDIT_COLUMNS])
        with registered(con, _new_audit_items=frame):
            con.execute(f"INSERT INTO audit_items ({', '.join(ITEM_COLUMNS)}) "
                        f"SELECT {', '.join(ITEM_COLUMNS)} FROM _new_audit_items")

    store.write(work)


def save_judgement(store: Store, audit_id: str, run_id: str, step_index: int, values: dict[str, Any]) -> None:
    """Record one item's judgement (one statement, so an item is either judged or still pending)."""
    assignments = ", ".join(f"{c} = ?" for c in JUDGEMENT_COLUMNS)
    params = [*(values.get(c) for c in JUDGEMENT_COLUMNS), audit_id, run_id, step_index]
    store.write(lambda con: con.execute(
        f"UPDATE audit_items SET {assignments} WHERE audit_id = ? AND run_id = ? AND step_index = ?", params))


def set_status(store: Store, audit_id: str, status: str, finished_at: datetime | None = None) -> None:
    store.write(lambda con: con.execute("UPDATE audits SET status = ?, finished_at = ? WHERE audit_id = ?",
                                        [status, finished_at, audit_id]))


def get_audit(store: Store, audit_id: str) -> dict[str, Any] | None:
    frame = store.query_df("SELECT * FROM audits WHERE audit_id = ?", [audit_id])
    return None if frame.empty else frame.iloc[0].to_dict()


def unfinished_items(store: Store, audit_id: str) -> pd.DataFrame:
    """Items still to judge: pending, or whose judge call failed."""
    return store.query_df("SELECT * FROM audit_items WHERE audit_id = ? AND status <> 'judged' ORDER BY item_index",
                          [audit_id])


def latest_unfinished_audit(store: Store) -> str | None:
    rows = store.execute("SELECT audit_id FROM audits WHERE status <> 'done' ORDER BY created_at DESC LIMIT 1")
    return rows[0][0] if rows else None


def latest_finished_audit(store: Store) -> str | None:
    """The most recent audit that finished (None before the first, or in a store without audit tables)."""
    if not table_exists(store, "audits"):
        return None
    rows = store.execute("SELECT audit_id FROM audits WHERE status = 'done' ORDER BY created_at DESC LIMIT 1")
    return rows[0][0] if rows else None


def list_audits(store: Store) -> pd.DataFrame:
    """Every audit, newest first, with item counts and judge cost."""
    return store.query_df("""
        SELECT a.*, count(i.run_id) AS items,
               count(*) FILTER (WHERE i.status = 'judged') AS judged,
               count(*) FILTER (WHERE i.overconfident) AS flagged,
               coalesce(sum(i.judge_cost), 0) AS judge_cost
        FROM audits a LEFT JOIN audit_items i USING (audit_id)
        GROUP BY ALL ORDER BY a.created_at DESC
    """)


def audit_items(store: Store, audit_id: str) -> pd.DataFrame:
    """One audit's items with the reviewer's agree/disagree when given."""
    return store.query_df("""
        SELECT i.*, v.agrees AS review_agrees, v.reviewer, v.note AS review_note, v.reviewed_at
        FROM audit_items i LEFT JOIN audit_reviews v USING (audit_id, run_id, step_index)
        WHERE i.audit_id = ? ORDER BY i.item_index
    """, [audit_id])


def latest_judgements(store: Store) -> pd.DataFrame:
    """Every judged item, keeping only the latest judgement when an answer was audited more than once."""
    return store.query_df("""
        SELECT * EXCLUDE (rn) FROM (
            SELECT i.*, row_number() OVER (PARTITION BY run_id, step_index ORDER BY judged_at DESC) AS rn
            FROM audit_items i WHERE i.status = 'judged'
        ) WHERE rn = 1
    """)


def save_review(store: Store, audit_id: str, run_id: str, step_index: int, agrees: bool, *,
                reviewer: str | None = None, note: str | None = None, when: datetime) -> None:
    """Record (or replace) a reviewer's agree/disagree on one judge verdict."""
    values = [audit_id, run_id, step_index, agrees, reviewer, note, when]

    def work(con: duckdb.DuckDBPyConnection) -> None:  # DuckLake has no key to replace by: delete first
        con.execute("DELETE FROM audit_reviews WHERE audit_id = ? AND run_id = ? AND step_index = ?",
                    [audit_id, run_id, step_index])
        con.execute("INSERT INTO audit_reviews VALUES (?, ?, ?, ?, ?, ?, ?)", values)

    store.write(work)


def reviewed_verdicts(store: Store) -> pd.DataFrame:
    """Every review with the verdict it reviews."""
    return store.query_df("""
        SELECT i.audit_id, i.run_id, i.step_index, i.verdict, v.agrees
        FROM audit_reviews v JOIN audit_items i USING (audit_id, run_id, step_index)
        WHERE i.status = 'judged'
    """)


def report_inputs_stamp(store: Store) -> tuple[Any, ...]:
    """Cheap: what changes a loaded report besides the audits' own rows (the reviews, the latest sweep)."""
    reviews = tuple(store.execute("SELECT count(*), max(reviewed_at) FROM audit_reviews")[0])
    sweep = tuple(store.execute("SELECT count(*), max(created_at) FROM sweeps")[0]) if table_exists(store, "sweeps") \
        else None
    return reviews, sweep


def table_exists(store: Store, name: str) -> bool:
    rows = store.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
    return bool(rows[0][0])


def latest_sweep(store: Store, tiers: Sequence[str] | None = None) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The latest saved sweep (of these tiers, when named: an import of other models saved since cannot price a
    change to this cascade) and its threshold points (through the sweep's own SQL), or None."""
    if not (table_exists(store, "sweeps") and table_exists(store, "sweep_points")):
        return None
    latest = sweeps.list_sweeps(store, limit=1 if tiers is None else 200)
    if tiers is not None:
        latest = latest[[json.loads(t) == list(tiers) if isinstance(t, str) else False for t in latest["tiers"]]]
    if latest.empty:
        return None
    sweep = latest.iloc[0].to_dict()
    points = sweeps.sweep_points(store, sweep["sweep_id"])
    return sweep, points[points["kind"].isin(["shared", "per_tier"])]
