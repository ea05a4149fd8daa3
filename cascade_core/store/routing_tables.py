"""SQL for routing: the embedding cache, shadow labels, labelled traffic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cascade_core.security.pii import redact_pii
from cascade_core.store.connection import registered
from cascade_core.store.store import Store

SHADOW_COLUMNS: tuple[str, ...] = (
    "run_id", "created_at", "run_created_at", "run_source", "route", "tier_index", "tier_name", "confidence",
    "threshold", "answer", "shadow_tier", "shadow_model", "shadow_answer", "agree", "gold", "correct",
    "shadow_correct", "cost", "tokens_in", "tokens_out", "latency_ms", "error", "simulated",
)


class StoreEmbeddingCache:
    """Embeddings kept in the store's `embeddings` table: each (model, text) is embedded once, ever. The key is a
    hash of the original text; the `text` column is stored with `redact`'s kinds of personal data replaced."""

    def __init__(self, store: Store, redact: Sequence[str] = ()) -> None:
        self.store = store
        self.redact = tuple(redact)

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        rows = self.store.execute("SELECT key, vector FROM embeddings WHERE list_contains(?, key)", [list(keys)])
        return {key: np.asarray(vector, dtype=np.float32) for key, vector in rows}

    def put_many(self, rows: Sequence[tuple[str, str, str, np.ndarray]]) -> None:
        if not rows:
            return
        frame = pd.DataFrame({"key": [r[0] for r in rows], "model": [r[1] for r in rows],
                              "text": [redact_pii(r[2], self.redact) or "" for r in rows],
                              "vector": [r[3].astype(float).tolist() for r in rows]})

        def work(con: duckdb.DuckDBPyConnection) -> None:  # retried on a DuckLake commit conflict
            with registered(con, _new_embeddings=frame):
                con.execute("INSERT INTO embeddings SELECT key, model, text, vector::FLOAT[], now()::TIMESTAMP "
                            "FROM _new_embeddings WHERE key NOT IN (SELECT key FROM embeddings)")

        self.store.write(work)

    def count(self) -> int:
        return int(self.store.execute("SELECT count(*) FROM embeddings")[0][0])


def recent_embeddings(store: Store, model: str, limit: int) -> list[tuple[str, str, str, np.ndarray]]:
    """The `limit` most recently stored vectors of `model` as (key, model, text, vector) rows."""
    rows = store.execute("SELECT key, model, text, vector FROM embeddings WHERE model = ? "
                         "ORDER BY created_at DESC LIMIT ?", [model, int(limit)])
    return [(key, name, text, np.asarray(vector, dtype=np.float32)) for key, name, text, vector in rows]


def insert_shadow_labels(store: Store, rows: Sequence[dict[str, Any]]) -> int:
    """Write shadow labels (dicts keyed by SHADOW_COLUMNS) in one transaction; a run shadowed twice keeps its
    first label."""
    if not rows:
        return 0
    frame = pd.DataFrame([{c: r.get(c) for c in SHADOW_COLUMNS} for r in rows], columns=list(SHADOW_COLUMNS))
    names = ", ".join(SHADOW_COLUMNS)
    def work(con: duckdb.DuckDBPyConnection) -> None:
        with registered(con, _new_shadow=frame):
            con.execute(f"INSERT INTO shadow_labels ({names}) SELECT {names} FROM _new_shadow "
                        "WHERE run_id NOT IN (SELECT run_id FROM shadow_labels)")

    store.write(work)
    return len(rows)


def _in_window(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    """` AND column >= ? AND column <= ?` for the bounds given, with their parameters."""
    sql, params = "", []
    for op, bound in ((">=", start), ("<=", end)):
        if bound is not None:
            sql += f" AND {column} {op} ?"
            params.append(bound)
    return sql, params


def shadow_labels(store: Store, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Shadow labels in [start, end] (by the shadowed run's time)."""
    sql = "SELECT * FROM shadow_labels WHERE 1=1"
    window, params = _in_window("run_created_at", start, end)
    sql += window
    return store.query_df(sql + " ORDER BY run_created_at", params)


def accepted_steps(store: Store, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Every run with its accepting (or final) step: time, route (from meta), the tier that answered, that tier's
    confidence and threshold, the small tier's confidence, and the run's gold grade. For re-certification and
    drift."""
    sql = """
        SELECT r.run_id, r.created_at, r.source, r.correct, r.meta, r.final_tier, r.final_tier_index,
               s.tier_index AS accepted_tier_index, s.confidence AS accepted_confidence, s.threshold,
               s.decision, f.confidence AS first_confidence, f.tier_index AS first_tier_index
        FROM all_runs r
        LEFT JOIN all_steps s ON s.run_id = r.run_id AND s.decision IN ('accepted', 'final')
        LEFT JOIN all_steps f ON f.run_id = r.run_id AND f.step_index = 0
        WHERE r.source IN ('api', 'query')
    """
    window, params = _in_window("r.created_at", start, end)
    sql += window
    return store.query_df(sql + " ORDER BY r.created_at", params)


def audit_labels(store: Store, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Judged audit items (verdict correct/incorrect) of accepted non-final answers, by the run's time."""
    sql = ("SELECT run_id, run_created_at, tier_index, tier_name, confidence, threshold, verdict "
           "FROM audit_items WHERE status = 'judged' AND verdict IN ('correct', 'incorrect')")
    window, params = _in_window("run_created_at", start, end)
    sql += window
    return store.query_df(sql, params)


def newest_labelled_time(store: Store) -> datetime | None:
    row = store.execute("SELECT max(created_at) FROM all_runs WHERE source IN ('api', 'query')")[0][0]
    return None if row is None else pd.Timestamp(row).to_pydatetime()
