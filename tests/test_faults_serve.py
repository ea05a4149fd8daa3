"""Fault matrix of the endpoint's run log (issue 13): a real `serve` process over real HTTP, its DuckDB file on a
real small filesystem (a tmpfs mounted for the test) that turns read-only or fills up, then recovers; SIGTERM
with slow tiers; kill -9 with counts in both logging modes.

Mounting needs root (CAP_SYS_ADMIN); without it the filesystem cases are skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cascade_core.store import LakeTarget, Store
from tests.factories import fake_key
from tests.polling import wait_for
from tests.test_serve_support import ServerProc, logged_runs

pytestmark = pytest.mark.slow


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    """Remount; read-only is refused (EBUSY) while the log writer holds the DuckDB file open for writing, which it
    does for at most one group-commit interval after a batch: retry until it lets go."""
    def attempt() -> bool:
        done = subprocess.run(["mount", "-o", f"remount,{options}", str(path)], capture_output=True)
        return done.returncode == 0

    wait_for(attempt, timeout=15, interval=0.1, what=f"remount {options} of {path}")


def post(server: ServerProc, question: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", timeout=30,
                      json={"model": "cascade", "messages": [{"role": "user", "content": question}]})


def health(server: ServerProc) -> httpx.Response:
    return httpx.get(f"{server.root}/healthz", timeout=5)


def metric(server: ServerProc, name: str) -> float:
    text = httpx.get(f"{server.root}/metrics", timeout=5).text
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def ask_until_refused(server: ServerProc, prefix: str, limit: int) -> tuple[list[str], httpx.Response]:
    """Requests one after another until one is refused; the run ids answered before it, and the refusal."""
    answered: list[str] = []
    for i in range(limit):
        response = post(server, f"{prefix} {i}: what is {i} plus 2?")
        if response.status_code == 503:
            return answered, response
        assert response.status_code == 200, response.text
        answered.append(response.headers["x-cascade-run-id"])
    raise AssertionError(f"no request refused after {limit}")


def assert_refusal_is_openai_shaped(response: httpx.Response, cause: str) -> None:
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("server_error", "log_unavailable"), error
    assert cause in error["message"] and "Retry later" in error["message"], error["message"]
    assert response.headers["retry-after"] == "5"


def test_read_only_store_under_serve_bounds_the_backlog_and_recovers(simulator, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "64m") as disk:
        server = ServerProc(disk / "runs.duckdb", simulator.base_url, "--max-backlog", "12", workdir=tmp_path)
        try:
            before = [post(server, f"Warm-up {i}: what is {i} times 3?").headers["x-cascade-run-id"] for i in range(3)]
            wait_for(lambda: health(server).json()["log"]["backlog"] == 0, what="the warm-up runs written")
            remount(disk, "ro")
            first = post(server, "What is 40 plus 2?")  # answered and queued: the bound is not reached
            assert first.status_code == 200
            degraded = wait_for(lambda: (r := health(server)).status_code == 503 and r, timeout=15,
                                what="/healthz to report the failing store")
            log = degraded.json()["log"]
            assert degraded.json()["status"] == "degraded" and log["ok"] is False
            assert "Read-only file system" in log["error"], log
            assert metric(server, "cascade_log_healthy") == 0
            assert metric(server, "cascade_log_write_errors_total") >= 1
            answered, refused = ask_until_refused(server, "While read-only", 40)
            assert len(answered) == 11  # 12 runs at most held unwritten: the first one and these 11
            assert_refusal_is_openai_shaped(refused, "Read-only file system")
            calls = simulator.stats()["total"]
            again = post(server, "Still refused?")
            assert again.status_code == 503
            assert simulator.stats()["total"] == calls  # a refused request calls no tier (nothing paid)
            assert metric(server, "cascade_log_backlog_runs") == 12
            remount(disk, "rw")
            wait_for(lambda: health(server).status_code == 200, timeout=10, what="recovery")
            assert post(server, "After recovery: what is 5 plus 5?").status_code == 200
        finally:
            code = server.stop()
        assert code in (0, -15), server.stderr()
        runs = logged_runs(disk / "runs.duckdb")
        expected = {*before, first.headers["x-cascade-run-id"], *answered}
        assert expected <= {r for r, _ in runs} and len(runs) == len(expected) + 1
        assert all(n == 1 for _, n in runs)
        assert "cannot write" in server.stderr() and "writable again" in server.stderr()


def fill(disk: Path) -> Path:
    """Fill the filesystem: a file grown until the disk says no space is left."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_full_disk_under_serve_keeps_every_answered_run_and_writes_it_once(simulator, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "24m") as disk:
        server = ServerProc(disk / "runs.duckdb", simulator.base_url, "--max-backlog", "200", workdir=tmp_path)
        try:
            with ThreadPoolExecutor(8) as pool:
                warm = list(pool.map(lambda i: post(server, f"Warm {i}: what is {i} minus 1?"), range(40)))
            wait_for(lambda: health(server).json()["log"]["backlog"] == 0, what="the warm-up runs written")
            filler = fill(disk)
            with ThreadPoolExecutor(8) as pool:  # answered while the disk is full: queued, not lost
                full = list(pool.map(lambda i: post(server, f"Full {i}: what is {i} plus 7? " + "x" * 2000),
                                     range(120)))
            assert {r.status_code for r in full} == {200}
            degraded = wait_for(lambda: (r := health(server)).status_code == 503 and r, timeout=15,
                                what="/healthz to report the full disk")
            assert "No space left on device" in degraded.json()["log"]["error"], degraded.json()
            answered, refused = ask_until_refused(server, "Full, past the bound", 200)
            assert len(full) + len(answered) == 200  # the bound, exactly
            assert_refusal_is_openai_shaped(refused, "No space left on device")
            filler.unlink()  # space again: the queue is written, each run once
            wait_for(lambda: health(server).status_code == 200 and health(server).json()["log"]["backlog"] == 0,
                     timeout=20, what="the queued runs written after the disk recovered")
        finally:
            code = server.stop()
        assert code in (0, -15), server.stderr()
        ids = {r.headers["x-cascade-run-id"] for r in warm + full} | set(answered)
        runs = logged_runs(disk / "runs.duckdb")
        assert {r for r, _ in runs} == ids and all(n == 1 for _, n in runs)
        with Store(disk / "runs.duckdb") as store:  # steps too: no run's steps written twice by a retried batch
            dupes = store.execute("SELECT count(*) FROM (SELECT run_id, step_index FROM steps "
                                  "GROUP BY ALL HAVING count(*) > 1)")
        assert dupes == [(0,)]


def test_lost_store_file_under_serve_is_said_and_later_runs_kept(simulator, tmp_path: Path) -> None:
    store_path = tmp_path / "runs.duckdb"
    server = ServerProc(store_path, simulator.base_url)
    try:
        assert post(server, "Before the loss: what is 1 plus 1?").status_code == 200
        wait_for(lambda: health(server).json()["log"]["backlog"] == 0, what="written")
        store_path.unlink()
        store_path.with_name(store_path.name + ".wal").unlink(missing_ok=True)
        after = post(server, "After the loss: what is 2 plus 2?")
        wait_for(lambda: health(server).json()["log"]["store_recreated"] == 1, what="the loss noticed")
        wait_for(lambda: health(server).json()["log"]["backlog"] == 0, what="written to the new file")
    finally:
        server.stop()
    assert [r for r, _ in logged_runs(store_path)] == [after.headers["x-cascade-run-id"]]
    assert "has disappeared" in server.stderr()


SLOW_CONFIG = """
[retry]
max_retries = 0

[[tiers]]
name = "small"
model = "sim-llama-3.1-8b"
input_price = 0.20
output_price = 0.20
timeout = 20

[[tiers]]
name = "large"
model = "sim-llama-3.1-405b"
input_price = 3.00
output_price = 3.00
timeout = 20
"""


def test_sigterm_past_the_grace_logs_cancelled_runs_with_every_paid_call(fresh_simulator, tmp_path: Path) -> None:
    """Slow tiers (3 s a call), grace 1 s: every request in flight is cancelled, answered 503 with a clear error
    and its run id, and logged as cancelled with the calls it made, the one on the wire charged at an estimate."""
    slow = fresh_simulator(latency_ms=3000)
    server = ServerProc(tmp_path / "runs.duckdb", slow.base_url, "--graceful-timeout", "1",
                        config_text=SLOW_CONFIG)
    assert "does NOT cover one request's worst case" in server.stderr()
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(post, server, f"Slow {i}: what is {i} plus 9?") for i in range(16)]
        wait_for(lambda: slow.stats()["total"] >= 16, timeout=20, what="every request at its first tier")
        server.terminate()
        responses = [f.result() for f in futures]
    code = server.proc.wait(timeout=30)
    server.stop()
    assert code in (0, -15), server.stderr()
    assert {r.status_code for r in responses} == {503}, [r.text for r in responses]
    errors = [r.json()["error"] for r in responses]
    assert {e["code"] for e in errors} == {"server_shutting_down"}
    assert all("logged as cancelled" in e["message"] and "1 s graceful timeout" in e["message"] for e in errors)
    ids = {r.headers["x-cascade-run-id"] for r in responses}
    with Store(tmp_path / "runs.duckdb") as store:
        rows = store.execute("SELECT run_id, error, total_cost, n_steps FROM runs")
        steps = store.execute("SELECT error_kind, cost_source, cost, attempts FROM steps")
    assert {r[0] for r in rows} == ids and len(rows) == 16
    assert all(r[1].startswith("cancelled:") and r[2] > 0 and r[3] == 1 for r in rows)
    assert {s[:2] for s in steps} == {("cancelled", "estimated")} and all(s[2] > 0 and s[3] == 1 for s in steps)
    assert slow.stats()["total"] == 16  # every call made is the one logged


def test_default_grace_says_whether_it_covers_one_request(simulator, tmp_path: Path) -> None:
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--graceful-timeout", "5")
    server.stop()
    # FAST_CONFIG: 3 tiers, 2 attempts of 30 s each, waits up to 30 s: 3 x (60 + 30) = 270 s
    assert "5 s does NOT cover one request's worst case here (270 s" in server.stderr()
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--graceful-timeout", "300")
    server.stop()
    assert "300 s, covers one request's worst case (270 s)" in server.stderr()


def _kill_under_load(server: ServerProc, answers: int) -> tuple[list[str], int]:
    """Drive 16 clients, kill -9 the server once `answers` requests were answered; the run ids answered (HTTP
    200 received, the last ones included)."""
    answered: list[str] = []

    def client(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while True:
                n += 1
                try:
                    response = http.post(f"{server.base_url}/chat/completions", json={
                        "model": "cascade", "messages": [{"role": "user", "content": f"K{index}-{n}: {n} plus 1?"}]})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    answered.append(response.headers["x-cascade-run-id"])
                if len(answered) >= answers and server.proc.poll() is None:
                    os.kill(server.proc.pid, signal.SIGKILL)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(client, range(16)))
    return answered, server.proc.wait(timeout=10)


@pytest.mark.parametrize("mode", ["batched", "log-before-answer"])
def test_kill_9_loses_answered_runs_only_when_batched(mode: str, simulator, tmp_path: Path) -> None:
    """Batched (a commit every 5 s here): a kill -9 loses what was answered since the last commit. Logged before
    answering: nothing answered is lost."""
    extra = ("--log-before-answer",) if mode == "log-before-answer" else ("--flush-interval", "5")
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, *extra)
    answered, code = _kill_under_load(server, 60)
    server.stop()
    assert code == -9
    logged = {r for r, _ in logged_runs(tmp_path / "runs.duckdb")}
    lost = set(answered) - logged
    assert len(answered) >= 60
    if mode == "batched":
        assert lost, "a kill -9 within a batch should lose its answered runs"
    else:
        assert not lost, f"{len(lost)} of {len(answered)} answered runs not logged"


def test_lost_postgres_catalog_under_serve_bounds_the_backlog_and_writes_each_run_once(
        simulator, tmp_path: Path) -> None:
    """The lake's PostgreSQL stops while a server answers (its own server: the session's is shared), then
    comes back: answers go on from the queue up to the bound, /healthz says degraded with the cause and no
    password, and every queued run is written exactly once."""
    from tests.pg import LocalPostgres, pg_bindir

    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    password = fake_key("pw-", "lost catalog")  # trust auth ignores it; it must still never be shown
    pg = LocalPostgres().start()
    try:
        lake = LakeTarget(catalog="postgres", dsn=pg.new_database(), data_path=str(tmp_path / "lake"),
                          maintenance_every=0)
        server = ServerProc(tmp_path / "unused.duckdb", simulator.base_url, "--max-backlog", "12", lake=lake,
                            dsn_env="CASCADE_TEST_PG_DSN",
                            env={"CASCADE_TEST_PG_DSN": f"{lake.dsn} password={password}"})
        bodies: list[str] = []
        try:
            before = [post(server, f"Warm-up {i}: what is {i} times 3?").headers["x-cascade-run-id"] for i in range(3)]
            wait_for(lambda: health(server).json()["log"]["backlog"] == 0, what="the warm-up runs written")
            pg.pause()
            first = post(server, "What is 40 plus 2?")  # answered and queued: the bound is not reached
            assert first.status_code == 200
            degraded = wait_for(lambda: (r := health(server)).status_code == 503 and r, timeout=15,
                                what="/healthz to report the lost catalog")
            bodies.append(degraded.text)
            log = degraded.json()["log"]
            assert degraded.json()["status"] == "degraded" and log["ok"] is False
            # the first failed commit says the catalog's connection dropped (not a failed ROLLBACK); the reopens
            # after it that PostgreSQL refused, naming the lake without its password
            assert "server closed the connection" in log["error"] or "Connection refused" in log["error"], log
            refused_log = wait_for(lambda: "Connection refused" in (e := health(server).json()["log"]["error"]) and e,
                                   timeout=15, what="the reopen refused")
            assert "password=***" in refused_log and f"{lake.dsn} password=***" in refused_log, refused_log
            answered, refused = ask_until_refused(server, "While PostgreSQL is down", 40)
            assert len(answered) == 11  # 12 runs at most held unwritten: the first one and these 11
            assert_refusal_is_openai_shaped(refused, "Connection refused")
            bodies.append(refused.text)
            bodies.append(httpx.get(f"{server.root}/metrics", timeout=5).text)
            pg.resume()
            wait_for(lambda: health(server).status_code == 200 and health(server).json()["log"]["backlog"] == 0,
                     timeout=30, what="the queued runs written once PostgreSQL is back")
            assert post(server, "After recovery: what is 5 plus 5?").status_code == 200
        finally:
            code = server.stop()
        assert code in (0, -15), server.stderr()
        runs = logged_runs(lake)
        expected = {*before, first.headers["x-cascade-run-id"], *answered}
        assert expected <= {r for r, _ in runs} and len(runs) == len(expected) + 1
        assert all(n == 1 for _, n in runs)
        with Store(lake) as store:
            dupes = store.execute("SELECT count(*) FROM (SELECT run_id, step_index FROM steps "
                                  "GROUP BY ALL HAVING count(*) > 1)")
            stored = store.execute("SELECT count(*) FROM runs WHERE contains(CAST(runs AS VARCHAR), ?)", [password])
        assert dupes == [(0,)] and stored == [(0,)]
        stderr = server.stderr()
        assert "cannot write" in stderr and "writable again" in stderr and "writing the 0 queued" not in stderr
        assert all(password not in text for text in [stderr, *bodies])
    finally:
        pg.stop()


def test_postgres_down_when_serve_starts_it_serves_and_writes_once_it_is_back(simulator, tmp_path: Path) -> None:
    """Before: the lake's maintenance opened the lake at startup, so a server started while its PostgreSQL
    was down exited with a traceback ('Application startup failed'). Now it starts degraded, answers from the
    queue, and writes each run once PostgreSQL is up (maintenance, every second here, opens it then)."""
    from tests.pg import LocalPostgres, pg_bindir

    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    pg = LocalPostgres().start()
    try:
        lake = LakeTarget(catalog="postgres", dsn=pg.new_database(), data_path=str(tmp_path / "lake"),
                          maintenance_every=1)
        pg.pause()
        server = ServerProc(tmp_path / "unused.duckdb", simulator.base_url, lake=lake, degraded_ok=True)
        try:
            answered = [post(server, f"Down {i}: what is {i} plus 4?") for i in range(3)]
            assert {r.status_code for r in answered} == {200}
            degraded = health(server)
            assert degraded.status_code == 503 and "Connection refused" in degraded.json()["log"]["error"]
            pg.resume()
            wait_for(lambda: health(server).status_code == 200 and health(server).json()["log"]["backlog"] == 0,
                     timeout=30, what="the queued runs written once PostgreSQL is up")
        finally:
            code = server.stop()
        assert code in (0, -15), server.stderr()
        runs = logged_runs(lake)
        assert sorted(r for r, _ in runs) == sorted(r.headers["x-cascade-run-id"] for r in answered)
        assert all(n == 1 for _, n in runs)
        assert "Traceback" not in server.stderr() and "request log: cannot open DuckLake" in server.stderr()
    finally:
        pg.stop()
