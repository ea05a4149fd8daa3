"""Every write goes through `Store.write`, which retries a DuckLake commit conflict: a write that opened its own
transaction (or ran UPDATE/INSERT/DELETE through `Store.execute`) failed the whole command the first time
another process wrote the same table (a sweep and an audit clearing call intents at once exited 1 in CI)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cascade_core.store.catalog_lock import AdvisoryWriteLock, FileWriteLock
from cascade_core.store.connection import StoreError
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "cascade_core").rglob("*.py"))  # the product (benchmarks write their own fixtures)
_OWN_TRANSACTION = re.compile(r"\._transaction\(|BEGIN TRANSACTION")
_WRITE_THROUGH_EXECUTE = re.compile(r"store\.execute\(\s*f?[\"'](UPDATE|INSERT|DELETE)", re.IGNORECASE)


@pytest.mark.unit
def test_writes_outside_the_store_class_go_through_write() -> None:
    offenders = []
    for path in SOURCES:
        if path.relative_to(ROOT).as_posix() == "cascade_core/store/store.py":
            continue  # where write and the migrations (their own transactions, retried) live
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if _OWN_TRANSACTION.search(line) or _WRITE_THROUGH_EXECUTE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert len(SOURCES) > 100
    assert not offenders, "\n".join(offenders)


@pytest.mark.unit
def test_the_check_catches_both_forms() -> None:
    assert _OWN_TRANSACTION.search("    with store._transaction() as con:")
    assert _WRITE_THROUGH_EXECUTE.search('store.execute("UPDATE audits SET status = ?", [s])')
    assert _WRITE_THROUGH_EXECUTE.search("store.execute(f'DELETE FROM {table}')")
    assert not _WRITE_THROUGH_EXECUTE.search('store.execute("SELECT count(*) FROM runs")')


@pytest.mark.unit
def test_the_sqlite_catalog_write_lock_queues_writers_and_names_itself_when_held_too_long(tmp_path: Path) -> None:
    catalog = str(tmp_path / "catalog.sqlite")
    first, second = FileWriteLock(catalog), FileWriteLock(catalog, wait=0.2)
    try:
        with first.held(), first.held():  # re-entrant in one thread
            with pytest.raises(StoreError, match=r"catalog\.sqlite\.write-lock: another process has held"):
                with second.held():
                    pass
        with second.held():  # free again once the first let go
            pass
    finally:
        first.close()
        second.close()


@pytest.mark.unit
def test_an_unreachable_lock_server_lets_writes_go_on_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    lock = AdvisoryWriteLock(f"host=127.0.0.1 port={free_port()} dbname=x user=u password=secret connect_timeout=2")
    with caplog.at_level("WARNING", logger="cascade_core.store.catalog_lock"):
        for _ in range(2):
            with lock.held():
                pass
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "writing without it" in warnings[0]
    assert "secret" not in warnings[0]
    lock.close()
