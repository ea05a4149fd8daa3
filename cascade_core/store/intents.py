"""All SQL of calls in flight: a paid call's request is recorded before it is sent. A sweep's intent is answered
by a call-cache row of the same request hash written after it (the intents of a finished collection are dropped
at its end); an audit deletes an item's intent when it saves the verdict. Intents left unanswered after a crash
(kill -9, power loss) are the calls that were in flight: a resumed sweep or audit reports them as possibly paid
twice, then clears them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from cascade_core.store.store import Store

INTENT_COLUMNS: tuple[str, ...] = ("owner", "request_key", "item_id", "tier_name", "model", "started_at")


@dataclass(frozen=True)
class InFlight:
    """Calls a crashed run had sent and never saw answered: they may have been paid and will be sent again."""

    owner: str
    calls: int
    items: tuple[str, ...]
    since: datetime | None

    def describe(self) -> str:
        if not self.calls:
            return ""
        shown = ", ".join(self.items[:5]) + (" …" if len(self.items) > 5 else "")
        return (f"{self.calls} call(s) were in flight when the previous run of {self.owner} stopped "
                f"(started {self.since:%Y-%m-%d %H:%M:%S} UTC or later; items {shown}): they may have been paid "
                "for once already and are sent again now.")


def add_intents(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Inside the caller's transaction: record requests about to be sent (a plain append: cheap)."""
    if not rows:
        return
    one = "(" + ", ".join("?" * len(INTENT_COLUMNS)) + ")"
    con.execute(f"INSERT INTO call_intents ({', '.join(INTENT_COLUMNS)}) VALUES "
                + ", ".join([one] * len(rows)), [row.get(c) for row in rows for c in INTENT_COLUMNS])


def clear_intents(con: duckdb.DuckDBPyConnection, owner: str, keys: Sequence[str]) -> None:
    """Inside the caller's transaction: these requests were answered and stored."""
    if keys:
        con.execute(f"DELETE FROM call_intents WHERE owner = ? AND request_key IN ({', '.join('?' * len(keys))})",
                    [owner, *keys])


def record_intents(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    store.write(lambda con: add_intents(con, rows))


def drop_intents(store: Store, owner: str) -> None:
    """A run of `owner` ended without a crash: none of its calls is in flight any more."""
    store.write(lambda con: con.execute("DELETE FROM call_intents WHERE owner = ?", [owner]))


def take_in_flight(store: Store, owner: str) -> InFlight:
    """What a previous run of `owner` left in flight (intents with no call-cache row written after them), and
    forget it (this run sends those calls again)."""
    def work(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        rows = con.execute(
            "SELECT i.item_id, i.started_at FROM call_intents i WHERE i.owner = ? AND NOT EXISTS ("
            "SELECT 1 FROM call_cache c WHERE c.request_hash = i.request_key AND c.created_at >= i.started_at) "
            "ORDER BY i.started_at", [owner]).fetchall()
        con.execute("DELETE FROM call_intents WHERE owner = ?", [owner])
        return rows

    rows = store.write(work)
    items = tuple(dict.fromkeys(str(r[0]) for r in rows if r[0] is not None))
    return InFlight(owner, len(rows), items, rows[0][1] if rows else None)
