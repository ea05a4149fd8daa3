"""All SQL of deleting prompts: purge runs by age, run id or text match, with every row that points at them.

A question lives in `runs` (question, answer), `steps` (each tier's prompt and output), the call cache (model
outputs of the same items), `audit_items` (question, answer, judge prompt and reply) with their `audit_reviews`,
and saved sweeps' `sweep_outcomes` (answers and question text). A purge removes, in one transaction:
- the runs matched (created before a cutoff, listed by id, or containing a text in the question, an answer, a
  step's prompt or output, an error) and their steps;
- call-cache rows created before the cutoff, of the same dataset item as a purged run, carrying a purged step's
  exact output, or containing the text;
- audit items (and their reviews) of purged runs or containing the text;
- saved sweeps created before the cutoff (with points and outcomes), and outcome rows of a purged run's item or
  containing the text; calls-in-flight records older than the cutoff;
- routing's cached embeddings of a purged run's question (or older, or containing the text) and the shadow
  labels of purged runs (or older, or containing the text).
On a DuckLake the rows are deleted in place (the lake's maintenance expires the old data files). DuckDB keeps
deleted bytes in the file, so by default a purge writes a fresh copy of the store without the purged rows and
swaps it in (`Store.rewrite_file`): afterwards the text is nowhere in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from cascade_core.store import rollup, text_index
from cascade_core.store.store import Store

PURGED_TABLES: tuple[str, ...] = (
    "runs", "steps", "call_cache", "audit_items", "audit_reviews", "sweeps", "sweep_points", "sweep_outcomes",
    "call_intents", "embeddings", "shadow_labels",
)


@dataclass(frozen=True)
class PurgeCriteria:
    """What to purge; several criteria add up (a run matching any of them goes)."""

    older_than: datetime | None = None  # naive UTC cutoff: rows created before it
    run_ids: tuple[str, ...] = ()
    text: str | None = None  # case-insensitive, literal (no wildcards)

    def __post_init__(self) -> None:
        if self.text is not None and not self.text.strip():
            raise ValueError("the text to purge is empty")
        if self.older_than is None and not self.run_ids and self.text is None:
            raise ValueError("say what to purge: an age, run ids or a text")

    def describe(self) -> str:
        parts = []
        if self.older_than is not None:
            parts.append(f"created before {self.older_than:%Y-%m-%d %H:%M:%S} UTC")
        if self.run_ids:
            parts.append(f"{len(self.run_ids)} run id(s)")
        if self.text is not None:
            parts.append("containing the given text")
        return " or ".join(parts)


@dataclass(frozen=True)
class PurgeReport:
    criteria: PurgeCriteria
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows removed (or that would be, dry run)
    dry_run: bool = False
    rewritten: bool = False  # the file was rewritten so no deleted bytes remain

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def describe(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        counts = ", ".join(f"{n:,} {table}" for table, n in self.removed.items() if n) or "nothing"
        tail = "; file rewritten, no deleted bytes left" if self.rewritten else ""
        return f"purge of rows {self.criteria.describe()}: {verb} {counts}{tail}"


class _Rollback(Exception):
    """Ends a dry run's transaction without committing."""


def _contains(column: str) -> str:
    return f"strpos(lower(coalesce({column}, '')), lower($text)) > 0"


def _any_contains(columns: Sequence[str]) -> str:
    return "(" + " OR ".join(_contains(c) for c in columns) + ")"


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _params(sql: str, params: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _select_runs(con: duckdb.DuckDBPyConnection, criteria: PurgeCriteria, params: dict[str, object]) -> None:
    conds = []
    if criteria.older_than is not None:
        conds.append("r.created_at < $cutoff")
    if criteria.run_ids:
        con.execute("CREATE OR REPLACE TEMP TABLE _purge_ids (run_id VARCHAR)")
        con.executemany("INSERT INTO _purge_ids VALUES (?)", [[r] for r in criteria.run_ids])
        conds.append("r.run_id IN (SELECT run_id FROM _purge_ids)")
    if criteria.text is not None:
        step_text = _any_contains(["s.prompt", "s.raw_output", "s.answer", "s.verify_prompt", "s.verify_output",
                                   "s.error", "s.verify_error", "s.parse_error"])
        conds.append(_any_contains(["r.question", "r.final_answer", "r.error", "r.gold"])
                     + f" OR r.run_id IN (SELECT s.run_id FROM steps s WHERE {step_text})")
    where = " OR ".join(f"({c})" for c in conds)
    sql = f"CREATE OR REPLACE TEMP TABLE _purge_runs AS SELECT run_id, dataset, item_id FROM runs r WHERE {where}"
    con.execute(sql, _params(sql, params))


def _materialise(con: duckdb.DuckDBPyConnection, criteria: PurgeCriteria) -> None:
    """Temp tables holding the keys of every row to remove (nothing is deleted yet)."""
    params: dict[str, object] = {"cutoff": criteria.older_than, "text": criteria.text}
    age, text = criteria.older_than is not None, criteria.text is not None
    _select_runs(con, criteria, params)

    # The call cache: by age, by the purged runs' dataset items and exact outputs, by text.
    cache = ["request_hash IN (SELECT c.request_hash FROM call_cache c JOIN _purge_runs p "
             "ON c.dataset = p.dataset AND c.item_id = p.item_id)",
             "request_hash IN (SELECT c.request_hash FROM call_cache c JOIN steps s ON c.model = s.model "
             "AND c.raw_output = s.raw_output AND s.raw_output <> '' "
             "WHERE s.run_id IN (SELECT run_id FROM _purge_runs))"]
    if age:
        cache.append("created_at < $cutoff")
    if text:
        cache.append(_any_contains(["raw_output", "error"]))
    sql = "CREATE OR REPLACE TEMP TABLE _purge_cache AS SELECT request_hash FROM call_cache WHERE " + " OR ".join(cache)
    con.execute(sql, _params(sql, params))

    # Audit items of purged runs or holding the text (their reviews go with them).
    items = ["run_id IN (SELECT run_id FROM _purge_runs)"]
    if text:
        items.append(_any_contains(["question", "answer", "gold", "judge_prompt", "judge_output", "rationale",
                                    "judge_error"]))
    sql = ("CREATE OR REPLACE TEMP TABLE _purge_items AS SELECT audit_id, run_id, step_index FROM audit_items "
           "WHERE " + " OR ".join(items))
    con.execute(sql, _params(sql, params))

    # Saved sweeps: whole sweeps by age; outcome rows of purged items or holding the text.
    sql = "CREATE OR REPLACE TEMP TABLE _purge_sweeps AS SELECT sweep_id FROM sweeps WHERE " + (
        "created_at < $cutoff" if age else "false")
    con.execute(sql, _params(sql, params))
    outcomes = ["(sweep_id, item_id) IN (SELECT (w.sweep_id, p.item_id) FROM sweeps w JOIN _purge_runs p "
                "ON w.dataset = p.dataset)", "sweep_id IN (SELECT sweep_id FROM _purge_sweeps)"]
    if text:
        outcomes.append(_any_contains(["answer", "question"]))
    sql = ("CREATE OR REPLACE TEMP TABLE _purge_outcomes AS SELECT sweep_id, item_id, tier FROM sweep_outcomes "
           "WHERE " + " OR ".join(outcomes))
    con.execute(sql, _params(sql, params))

    # Routing: cached embeddings of a purged run's question (the text column holds it), and shadow labels of
    # purged runs (their answers); by age and text too.
    embeddings = ["text IN (SELECT r.question FROM runs r JOIN _purge_runs p ON r.run_id = p.run_id)"]
    labels = ["run_id IN (SELECT run_id FROM _purge_runs)"]
    if age:
        embeddings.append("created_at < $cutoff")
        labels.append("created_at < $cutoff")
    if text:
        embeddings.append(_contains("text"))
        labels.append(_any_contains(["answer", "shadow_answer", "gold", "error"]))
    for table, key, conds in (("embeddings", "key", embeddings), ("shadow_labels", "run_id", labels)):
        sql = f"CREATE OR REPLACE TEMP TABLE _purge_{table} AS SELECT {key} FROM {table} WHERE " + " OR ".join(conds)
        con.execute(sql, _params(sql, params))


def _removed_where(criteria: PurgeCriteria) -> dict[str, str]:
    """Per table, the condition of its rows that go (over the temp tables `_materialise` built)."""
    cutoff = (f"started_at < TIMESTAMP '{criteria.older_than:%Y-%m-%d %H:%M:%S.%f}'"
              if criteria.older_than is not None else "false")
    items = "(audit_id, run_id, step_index) IN (SELECT (audit_id, run_id, step_index) FROM _purge_items)"
    return {
        "runs": "run_id IN (SELECT run_id FROM _purge_runs)",
        "steps": "run_id IN (SELECT run_id FROM _purge_runs)",
        "call_cache": "request_hash IN (SELECT request_hash FROM _purge_cache)",
        "audit_items": items,
        "audit_reviews": items,
        "sweeps": "sweep_id IN (SELECT sweep_id FROM _purge_sweeps)",
        "sweep_points": "sweep_id IN (SELECT sweep_id FROM _purge_sweeps)",
        "sweep_outcomes": "(sweep_id, item_id, tier) IN (SELECT (sweep_id, item_id, tier) FROM _purge_outcomes)",
        "call_intents": cutoff,
        "embeddings": "key IN (SELECT key FROM _purge_embeddings)",
        "shadow_labels": "run_id IN (SELECT run_id FROM _purge_shadow_labels)",
    }


def _counts(con: duckdb.DuckDBPyConnection, where: dict[str, str]) -> dict[str, int]:
    return {table: _count(con, f"SELECT count(*) FROM {table} WHERE {where[table]}") for table in PURGED_TABLES}


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    for temp in ("_purge_runs", "_purge_ids", "_purge_cache", "_purge_items", "_purge_sweeps", "_purge_outcomes",
                 "_purge_embeddings", "_purge_shadow_labels"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")


def purge(store: Store, criteria: PurgeCriteria, *, dry_run: bool = False, rewrite: bool = True) -> PurgeReport:
    """Remove what `criteria` match across every table (see the module doc); `dry_run` counts only.

    `rewrite` (the default): the store is rewritten into a fresh file without the purged rows, so the deleted
    text leaves no bytes behind (and no slow index deletes: DuckDB deletes from a keyed table row by row);
    otherwise the rows are deleted in place."""
    in_place = not rewrite or store.path is None  # a DuckLake deletes in place (its data files expire)

    def work(con: duckdb.DuckDBPyConnection) -> dict[str, int]:  # retried whole on a DuckLake commit conflict
        _materialise(con, criteria)
        where = _removed_where(criteria)
        removed = _counts(con, where)
        if in_place and not dry_run:
            for table in PURGED_TABLES:  # every key set is materialised: the order does not matter
                con.execute(f"DELETE FROM {table} WHERE {where[table]}")
        if dry_run or in_place or not any(removed.values()):
            _drop_temps(con)  # else the file rewrite below still reads them
        return removed

    # The temp tables live on this connection: no other thread uses it until the end. On a lake, other writers
    # wait too (its write lock, exclusive): a long delete beside steady traffic would otherwise never commit.
    with store.exclusive():
        removed = store.write(work)
        if dry_run or not any(removed.values()):
            return PurgeReport(criteria, removed, dry_run, False)
        where = _removed_where(criteria)
        if not in_place:
            store.rewrite_file(exclude=where)  # every table copied minus the purged rows; the connection reopens
        rollup.reset(store)  # the per-hour aggregates counted the purged runs: folded again on the next read
        text_index.repair(store, thorough=True)  # blocks that lost runs are built again (no bits of them stay)
    return PurgeReport(criteria, removed, False, not in_place)
