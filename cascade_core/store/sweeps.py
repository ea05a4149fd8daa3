"""All SQL of threshold sweeps: the call cache (one row per request hash) and saved sweeps with their points
and outcome tables. Pages and the CLI reach these only through cascade_core functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from cascade_core.store.connection import registered
from cascade_core.store.intents import add_intents
from cascade_core.store.store import Store

CACHE_COLUMNS: tuple[str, ...] = (
    "request_hash", "endpoint", "model", "tier_name", "item_id", "dataset", "kind", "raw_output", "finish_reason",
    "tokens_in", "tokens_out", "cost", "cost_source", "latency_ms", "attempts", "logprobs", "simulated", "error",
    "error_kind", "created_at", "lost_attempts", "lost_tokens_in", "lost_tokens_out", "estimated_cost",
)
SWEEP_COLUMNS: tuple[str, ...] = (
    "sweep_id", "created_at", "name", "dataset", "config_fingerprint", "source", "signal", "tiers", "grid", "target",
    "split", "seed", "n_items", "simulated", "recommendation", "metrics", "notes",
)
POINT_COLUMNS: tuple[str, ...] = (
    "sweep_id", "point_index", "kind", "label", "thresholds", "accuracy", "cost_per_1k", "mean_latency_ms",
    "tier_share", "on_front",
)
OUTCOME_STORE_COLUMNS: tuple[str, ...] = (
    "sweep_id", "item_id", "tier", "tier_index", "answer", "correct", "confidence", "confidence_raw", "tokens_in",
    "tokens_out", "cost", "latency_ms", "category", "split", "question",
)


def _insert_frame(store: Store, table: str, columns: Sequence[str], frame: pd.DataFrame, *,
                  replace: bool = False) -> None:
    """Bulk insert through a registered DataFrame, inside the caller's transaction."""
    cols = ", ".join(columns)
    keys = _KEYS[table]
    # DuckLake has no keys to replace by: delete the rows with the same key first (same transaction).
    verb = "INSERT OR REPLACE" if replace and store.enforces_keys else "INSERT"

    def work(con: duckdb.DuckDBPyConnection) -> None:
        with registered(con, _sweep_frame=frame[list(columns)]):
            if replace and not store.enforces_keys:
                match = " AND ".join(f"{table}.{k} = f.{k}" for k in keys)
                con.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM _sweep_frame f WHERE {match})")
            con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _sweep_frame")

    store.write(work)


_KEYS: dict[str, tuple[str, ...]] = {
    "sweeps": ("sweep_id",), "sweep_points": ("sweep_id", "point_index"),
    "sweep_outcomes": ("sweep_id", "item_id", "tier"), "call_cache": ("request_hash",),
}


# -- call cache -------------------------------------------------------------------------------------------------
def cached_calls(store: Store, hashes: Iterable[str]) -> pd.DataFrame:
    """Successful cached responses for these request hashes (errored rows are not returned: they are retried)."""
    wanted = pd.DataFrame({"h": list(dict.fromkeys(hashes))}, dtype=object)
    cols = ", ".join(f"c.{c}" for c in CACHE_COLUMNS)

    def work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        with registered(con, _wanted_hashes=wanted):
            return con.execute(
                f"SELECT {cols} FROM call_cache c JOIN _wanted_hashes w ON c.request_hash = w.h "
                "WHERE c.error IS NULL"
            ).df()

    return store.read(work)


_CACHE_ARROW = pa.schema([
    ("request_hash", pa.string()), ("endpoint", pa.string()), ("model", pa.string()), ("tier_name", pa.string()),
    ("item_id", pa.string()), ("dataset", pa.string()), ("kind", pa.string()), ("raw_output", pa.string()),
    ("finish_reason", pa.string()), ("tokens_in", pa.int64()), ("tokens_out", pa.int64()), ("cost", pa.float64()),
    ("cost_source", pa.string()), ("latency_ms", pa.float64()), ("attempts", pa.int64()), ("logprobs", pa.string()),
    ("simulated", pa.bool_()), ("error", pa.string()), ("error_kind", pa.string()),
    ("created_at", pa.timestamp("us")), ("lost_attempts", pa.int64()), ("lost_tokens_in", pa.int64()),
    ("lost_tokens_out", pa.int64()), ("estimated_cost", pa.float64()),
])
_SMALL_BATCH = 16  # below this, bound parameters are cheaper than building an Arrow table


def _insert_cache_rows(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    cols = ", ".join(CACHE_COLUMNS)
    if len(rows) < _SMALL_BATCH:
        one = "(" + ", ".join("?" * len(CACHE_COLUMNS)) + ")"
        con.execute(f"INSERT INTO call_cache ({cols}) VALUES " + ", ".join([one] * len(rows)),
                    [row.get(c) for row in rows for c in CACHE_COLUMNS])
        return
    table = pa.Table.from_pylist([{c: row.get(c) for c in CACHE_COLUMNS} for row in rows], schema=_CACHE_ARROW)
    with registered(con, _cache_rows=table):
        con.execute(f"INSERT INTO call_cache ({cols}) SELECT {cols} FROM _cache_rows")


def write_calls(store: Store, rows: Sequence[dict[str, Any]], *, intents: Sequence[dict[str, Any]] = ()) -> None:
    """Insert cache rows in one transaction. Per hash a success wins over a failure, whichever came last: a
    later error (a repeated question whose second call failed) never replaces a paid answer; a later success
    replaces an earlier error row (that error being retried).

    The same transaction records `intents` (requests about to be sent, see store/intents.py); a row written
    here answers the intent of its request hash.
    A plain INSERT is several times cheaper than INSERT OR REPLACE, and collection writes new hashes almost
    always; only when a hash is already there are the stored rows looked at.
    """
    if not rows and not intents:
        return
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = latest.get(row["request_hash"])
        if kept is None or kept.get("error") is not None or row.get("error") is None:
            latest[row["request_hash"]] = row

    def replace(con: duckdb.DuckDBPyConnection) -> None:
        add_intents(con, intents)
        if not latest:
            return
        hashes = list(latest)
        marks = ", ".join("?" * len(hashes))
        paid = {h for (h,) in con.execute(
            f"SELECT request_hash FROM call_cache WHERE error IS NULL AND request_hash IN ({marks})", hashes
        ).fetchall()}
        fresh = [row for h, row in latest.items() if h not in paid or row.get("error") is None]
        if not fresh:
            return
        gone = [row["request_hash"] for row in fresh]
        con.execute(f"DELETE FROM call_cache WHERE request_hash IN ({', '.join('?' * len(gone))})", gone)
        _insert_cache_rows(con, fresh)

    if not store.enforces_keys:  # DuckLake: no key to collide on, so always look at the stored rows first
        store.write(replace)
        return
    def append(con: duckdb.DuckDBPyConnection) -> None:
        add_intents(con, intents)
        if latest:
            _insert_cache_rows(con, list(latest.values()))

    try:
        store.write(append)
    except duckdb.ConstraintException:  # a hash already stored: the transaction rolled back, intents included
        store.write(replace)


def cache_stats(store: Store) -> dict[str, float]:
    """Rows, successful rows and their total cost (USD) in the call cache."""
    rows = store.execute(
        "SELECT count(*), count(*) FILTER (WHERE error IS NULL), coalesce(sum(cost), 0) FROM call_cache"
    )
    total, ok, cost = rows[0]
    return {"rows": int(total), "ok": int(ok), "errors": int(total - ok), "cost": float(cost)}


def sweep_run_count(store: Store, sweep_key: str) -> int:
    """How many logged runs (source sweep) carry this sweep key in their meta."""
    rows = store.execute(
        "SELECT count(*) FROM runs WHERE source = 'sweep' AND json_extract_string(meta, '$.sweep_key') = ?",
        [sweep_key],
    )
    return int(rows[0][0])


# -- saved sweeps -----------------------------------------------------------------------------------------------
def save_sweep(store: Store, sweep: dict[str, Any], points: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    """Write one sweep row, its points (POINT_COLUMNS minus sweep_id) and outcome table, all or nothing."""
    row = {c: sweep.get(c) for c in SWEEP_COLUMNS}
    for col in ("tiers", "grid", "split", "recommendation", "metrics", "notes"):
        if row[col] is not None:  # Python values in, JSON text stored (a split column name is a JSON string)
            row[col] = json.dumps(row[col], default=str)
    pts = points.assign(sweep_id=sweep["sweep_id"])
    outs = outcomes.assign(sweep_id=sweep["sweep_id"])
    outs = outs.assign(correct=outs["correct"].astype("boolean"))
    if "question" not in outs.columns:
        outs = outs.assign(question=None)
    sql = f"INSERT INTO sweeps ({', '.join(SWEEP_COLUMNS)}) VALUES ({', '.join('?' * len(SWEEP_COLUMNS))})"

    def work(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(sql, [row[c] for c in SWEEP_COLUMNS])
        for name, cols, frame in (("sweep_points", POINT_COLUMNS, pts),
                                  ("sweep_outcomes", OUTCOME_STORE_COLUMNS, outs)):
            with registered(con, _sweep_frame=frame[list(cols)]):
                con.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _sweep_frame")

    store.write(work)


def list_sweeps(store: Store, limit: int = 200) -> pd.DataFrame:
    """Saved sweeps, newest first (JSON columns left as text)."""
    return store.query_df(
        "SELECT sweep_id, created_at, name, dataset, source, signal, tiers, target, n_items, simulated, "
        "config_fingerprint FROM sweeps ORDER BY created_at DESC LIMIT ?",
        [limit],
    )


def get_sweep(store: Store, sweep_id: str) -> dict[str, Any] | None:
    """One sweep row with its JSON columns decoded, or None."""
    frame = store.query_df(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM sweeps WHERE sweep_id = ?", [sweep_id])
    if frame.empty:
        return None
    row: dict[str, Any] = frame.iloc[0].to_dict()
    for col in ("tiers", "grid", "split", "recommendation", "metrics", "notes"):
        row[col] = json.loads(row[col]) if isinstance(row[col], str) else None
    return row


def sweep_points(store: Store, sweep_id: str) -> pd.DataFrame:
    return store.query_df(
        "SELECT * EXCLUDE (sweep_id) FROM sweep_points WHERE sweep_id = ? ORDER BY point_index", [sweep_id]
    )


def sweep_outcomes(store: Store, sweep_id: str) -> pd.DataFrame:
    """The stored outcome table of a sweep, in stored order (items by first appearance, then tier)."""
    cols = ", ".join(c for c in OUTCOME_STORE_COLUMNS if c not in ("sweep_id", "question"))
    return store.query_df(
        f"SELECT {cols} FROM sweep_outcomes WHERE sweep_id = ? ORDER BY rowid", [sweep_id]
    )


def sweep_questions(store: Store, sweep_id: str) -> dict[str, str]:
    """item_id -> question text of a saved sweep (live sweeps keep it; imported results have none)."""
    rows = store.execute(
        "SELECT item_id, any_value(question) FROM sweep_outcomes WHERE sweep_id = ? AND question IS NOT NULL "
        "GROUP BY item_id", [sweep_id])
    return {str(item): str(text) for item, text in rows}


def delete_sweep(store: Store, sweep_id: str) -> None:
    def work(con: duckdb.DuckDBPyConnection) -> None:
        for table in ("sweep_points", "sweep_outcomes", "sweeps"):
            con.execute(f"DELETE FROM {table} WHERE sweep_id = ?", [sweep_id])

    store.write(work)

