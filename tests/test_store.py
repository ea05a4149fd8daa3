"""The DuckDB run log on real files: schema, round trips, atomicity, crashes and locks."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from cascade_core.store import Store, StoreLockedError
from cascade_core.store.schema import MIGRATIONS
from tests.factories import make_trace

ROOT = Path(__file__).resolve().parents[1]


def test_new_file_is_migrated_to_latest(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        assert store.schema_version == max(MIGRATIONS)
        assert store.migrate() == []  # idempotent
        assert store.count_runs() == 0


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    trace = make_trace(1, question="Hostile <script>alert(1)</script> ✓ مرحبا", correct=True)
    with Store(tmp_path / "s.duckdb") as store:
        store.log_trace(trace)
        back = store.get_trace(trace.run_id)
    assert back is not None
    assert back.question == trace.question
    assert [s.decision for s in back.steps] == ["escalated", "accepted"]
    assert back.total_cost == pytest.approx(trace.total_cost)
    assert back.steps[1].confidence == trace.steps[1].confidence
    assert back.steps[0].call.messages == trace.steps[0].call.messages
    assert back.correct is True and back.always_large_estimated is True


def test_error_step_round_trip(tmp_path: Path) -> None:
    trace = make_trace(2, error_at=0)
    with Store(tmp_path / "s.duckdb") as store:
        store.log_trace(trace)
        back = store.get_trace(trace.run_id)
        flags = store.execute("SELECT had_error, escalations FROM runs")
    assert back is not None and back.steps[0].call.error == "HTTP 500: boom"
    assert back.steps[0].call.attempts == 4
    assert flags == [(True, 2)]


def test_failed_write_leaves_no_half_run(tmp_path: Path) -> None:
    trace = make_trace(2)
    broken = make_trace(2)
    # The run row and two steps insert fine; the third step violates NOT NULL, so the whole run must roll back.
    broken.steps[2] = dataclasses.replace(broken.steps[2], tier_name=None)
    with Store(tmp_path / "s.duckdb") as store:
        store.log_trace(trace)
        with pytest.raises(duckdb.ConstraintException):
            store.log_trace(broken)
        assert store.get_trace(broken.run_id) is None
        assert store.count_runs() == 1
        assert store.execute("SELECT count(*) FROM steps")[0][0] == 3


def test_bulk_write_and_counts(tmp_path: Path) -> None:
    traces = [make_trace(i % 3) for i in range(300)]
    with Store(tmp_path / "s.duckdb") as store:
        assert store.log_traces(traces) == 300
        assert store.count_runs() == 300
        assert store.execute("SELECT count(*) FROM steps")[0][0] == sum(len(t.steps) for t in traces)
        assert store.get_trace(traces[7].run_id).final_tier == traces[7].final_tier


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from cascade_core.store import Store
    from tests.factories import make_trace
    store = Store({path!r})
    print("ready", flush=True)
    n = 0
    while True:
        store.log_trace(make_trace(2))
        n += 1
        if n == 20:
            print("twenty", flush=True)  # the test kills it now: during the next run's write
    """
)


def test_kill_mid_write_never_leaves_half_a_run(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    assert proc.stdout.readline().strip() == "twenty"  # 20 runs committed, the 21st being written
    proc.kill()  # SIGKILL: no cleanup, no checkpoint
    proc.wait()
    with Store(path) as store:
        runs = store.count_runs()
        orphans = store.execute(
            "SELECT count(*) FROM runs r WHERE n_steps <> (SELECT count(*) FROM steps s WHERE s.run_id = r.run_id)"
        )[0][0]
        stray = store.execute("SELECT count(*) FROM steps s WHERE s.run_id NOT IN (SELECT run_id FROM runs)")[0][0]
    assert runs > 0
    assert orphans == 0 and stray == 0


HOLDER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from cascade_core.store import Store
    store = Store({path!r})
    print("ready", flush=True)
    time.sleep(30)
    """
)


def test_locked_file_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as err:
            Store(path)
        assert str(path) in str(err.value)
        assert "another process" in str(err.value)
    finally:
        proc.kill()
        proc.wait()


def test_run_logger_commits_everything_handed_over(tmp_path: Path) -> None:
    from cascade_core.store import RunLogger

    traces = [make_trace(i % 3) for i in range(2_000)]
    with Store(tmp_path / "s.duckdb") as store:
        with RunLogger(store, max_batch=300) as logger:
            for trace in traces[:1000]:
                logger.log(trace)
            assert logger.flush(timeout=30)
            assert store.count_runs() == 1000  # flush means committed and visible
            for trace in traces[1000:]:
                logger.log(trace)
        assert store.count_runs() == 2000  # close drains the queue
        assert logger.written == 2000 and logger.failed == []
        assert store.execute("SELECT count(*) FROM steps")[0][0] == sum(len(t.steps) for t in traces)


def test_run_logger_records_a_failed_batch_and_keeps_going(tmp_path: Path) -> None:
    from cascade_core.store import RunLogger

    good, clash = make_trace(1), make_trace(1)
    with Store(tmp_path / "s.duckdb") as store:
        store.log_trace(good)
        with RunLogger(store) as logger:
            clash.run_id = good.run_id  # primary-key clash: that batch fails as a whole
            logger.log(clash)
            logger.flush(timeout=30)
            later = make_trace(2)
            logger.log(later)
        assert [run_id for run_id, _ in logger.failed] == [good.run_id]
        assert store.get_trace(later.run_id) is not None
        assert store.count_runs() == 2


SHARER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from cascade_core.store import Store
    from tests.factories import make_trace
    store = Store({path!r}, idle_release=0.3, lock_wait=20)  # as the dashboard opens it
    store.log_trace(make_trace(1, question="from the dashboard"))
    print("ready", flush=True)
    sys.stdin.readline()
    store.log_trace(make_trace(1, question="again from the dashboard"))  # reopens, waiting for the file
    print(store.count_runs(), flush=True)
    """
)


def test_idle_release_lets_another_process_write(tmp_path: Path) -> None:
    """A long-lived process (the dashboard) lets the file go when idle: a cron audit or CLI command can write,
    and the long-lived one picks up again afterwards."""
    path = tmp_path / "shared.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", SHARER.format(root=str(ROOT), path=str(path))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        with Store(path, lock_wait=10) as store:  # waits for the idle release
            store.log_trace(make_trace(2, question="from the CLI"))
            assert store.count_runs() == 2
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "3"
    finally:
        proc.kill()
        proc.wait()


def test_lock_wait_gives_up_with_the_time_waited(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(StoreLockedError, match=r"in use by another process for 1 s"):
            Store(path, lock_wait=1.0)
        assert 0.9 <= time.monotonic() - started < 5
    finally:
        proc.kill()
        proc.wait()


def test_run_logger_refuses_runs_after_close(tmp_path: Path) -> None:
    from cascade_core.store import RunLogger

    with Store(tmp_path / "s.duckdb") as store:
        logger = RunLogger(store)
        logger.close()
        with pytest.raises(RuntimeError, match="closed"):
            logger.log(make_trace(1))
        assert logger.flush(timeout=1)


def test_handles_opening_a_fresh_file_at_once_all_migrate(tmp_path: Path) -> None:
    """serve opens its log writer, shadow sink and metrics on one file at once: one applies each migration, the
    others wait for its row instead of failing on "already exists" (it failed 22 of 30 times before)."""
    import threading

    for trial in range(10):
        path = tmp_path / f"fresh{trial}.duckdb"
        errors: list[str] = []

        def open_one(path: Path = path, errors: list[str] = errors) -> None:
            try:
                with Store(path, lock_wait=5.0) as store:
                    store.count_runs()
            except Exception as err:  # collected, asserted below
                errors.append(repr(err))

        threads = [threading.Thread(target=open_one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with Store(path) as store:
            assert store.schema_version == max(MIGRATIONS)
