"""Many real processes on one DuckLake (real PostgreSQL catalog): four `serve` processes, a sweep, an audit and
the dashboard at once lose and duplicate nothing; kill -9 of a writer never corrupts the lake; the dashboard
sees api traffic within 2 s with no compaction step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
import streamlit as st

from cascade_core.store import LakeTarget, Store
from tests.page_support import open_page
from tests.sweep_support import config_toml
from tests.test_serve_procs import ask
from tests.test_serve_support import ROOT, ServerProc, lake_toml, logged_runs

pytestmark = pytest.mark.slow


def _lake_config(simulator, tmp_path: Path, lake: LakeTarget) -> Path:
    path = config_toml(simulator, tmp_path / "lake.toml", tmp_path / "unused.duckdb")
    path.write_text(path.read_text(encoding="utf-8") + lake_toml(lake), encoding="utf-8")
    return path


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cascade_core", *args], cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _dashboard(monkeypatch: pytest.MonkeyPatch, config: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    monkeypatch.delenv("CASCADE_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    st.cache_resource.clear()


def test_four_servers_a_sweep_an_audit_and_the_dashboard_at_once(
        simulator, lake: LakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _lake_config(simulator, tmp_path, lake)
    with Store(lake) as store:  # some earlier traffic for the audit to sample
        seed = [ServerProc(tmp_path / "x.duckdb", simulator.base_url, lake=lake)]
        client = openai.OpenAI(base_url=seed[0].base_url, api_key="unused", max_retries=0)
        seeded = [ask(client, f"What is {i} plus {i}?") for i in range(20)]
        seed[0].stop()
        assert len(logged_runs(lake)) == 20
        with ThreadPoolExecutor(4) as pool:  # started side by side: each waits for its own readiness
            servers = list(pool.map(lambda _: ServerProc(tmp_path / "x.duckdb", simulator.base_url, lake=lake),
                                    range(4)))
        clients = [openai.OpenAI(base_url=s.base_url, api_key="unused", max_retries=0) for s in servers]
        sweep = _cli("sweep", "bundled", "--config", str(config), "--limit", "12", "--log-runs", "--json")
        audit = _cli("audit", "--config", str(config), "--sample", "10", "--sources", "api")
        seen: list[int] = []
        done = threading.Event()

        def reader() -> None:  # the dashboard's own connection, polling as pages render
            while not done.is_set():
                seen.append(store.count_runs())
                time.sleep(0.05)

        watcher = threading.Thread(target=reader)
        watcher.start()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: ask(clients[i % 4], f"What is {i} squared?"), range(200)))
        sweep_out, sweep_err = sweep.communicate(timeout=300)
        _, audit_err = audit.communicate(timeout=300)
        for server in servers:
            assert server.stop() in (0, -15), server.stderr()
        done.set()
        watcher.join()
        assert sweep.returncode == 0, sweep_err
        assert audit.returncode in (0, 3), audit_err  # 3: the alert line was crossed (a finding, not a failure)
        logged_sweep = json.loads(sweep_out)["runs_logged"]
        assert logged_sweep == 12
        assert None not in ids and len(set(ids)) == 200
        api = logged_runs(lake)
        assert sorted(r for r, _ in api) == sorted([*ids, *seeded]) and all(n == 1 for _, n in api)
        assert store.execute("SELECT count(*), count(DISTINCT run_id) FROM runs WHERE source = 'sweep'") == [(12, 12)]
        assert store.execute("SELECT count(*) FROM runs r WHERE n_steps != "
                             "(SELECT count(*) FROM steps s WHERE s.run_id = r.run_id)") == [(0,)]
        items = store.execute("SELECT count(*), count(DISTINCT (run_id, step_index)), count(*) FILTER "
                              "(WHERE status = 'judged') FROM audit_items")
        assert items[0][0] == items[0][1] == items[0][2] > 0  # every sampled answer judged, once
        assert seen == sorted(seen) and seen[-1] == 232  # the reader never saw a run disappear
    _dashboard(monkeypatch, config, tmp_path)
    at = open_page("runs")
    assert not at.exception and at.session_state["runs_count"] == 232


def _count(lake: LakeTarget) -> int:
    with Store(lake) as store:
        return store.count_runs()


def test_kill_9_of_a_writer_loses_only_uncommitted_runs(simulator, lake: LakeTarget, tmp_path: Path) -> None:
    victim = ServerProc(tmp_path / "x.duckdb", simulator.base_url, "--flush-interval", "0.05", lake=lake)
    survivor = ServerProc(tmp_path / "x.duckdb", simulator.base_url, lake=lake)
    clients = [openai.OpenAI(base_url=s.base_url, api_key="unused", max_retries=0, timeout=10)
               for s in (victim, survivor)]
    answered: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        i = 0
        while not stop.is_set():
            run_id = ask(clients[0], f"What is {i} times 3?")
            if run_id:
                answered.append(run_id)
            i += 1

    workers = [threading.Thread(target=traffic) for _ in range(6)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 30
    while _count(lake) < 40 and time.monotonic() < deadline:  # commits are flowing
        time.sleep(0.05)
    victim.proc.send_signal(signal.SIGKILL)  # mid-traffic: some runs answered but not committed yet
    victim.proc.wait(10)
    stop.set()
    for w in workers:
        w.join()
    survivor_ids = [ask(clients[1], f"After the crash {i}?") for i in range(10)]
    survivor.stop()
    runs = dict(logged_runs(lake))
    assert all(n == 1 for n in runs.values())  # nothing twice
    victims = [r for r in runs if r not in survivor_ids]
    assert set(victims) <= set(answered) and len(victims) >= 40  # only answered runs, all committed ones
    assert set(survivor_ids) <= set(runs)  # the lake kept working for the other writer
    with Store(lake) as store:  # and is whole: every committed run has all its steps
        assert store.execute("SELECT count(*) FROM runs r WHERE n_steps != "
                             "(SELECT count(*) FROM steps s WHERE s.run_id = r.run_id)") == [(0,)]
        store.log_traces([])  # still writable


def test_dashboard_sees_api_traffic_within_2_s(simulator, lake: LakeTarget, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = _lake_config(simulator, tmp_path, lake)
    server = ServerProc(tmp_path / "x.duckdb", simulator.base_url, lake=lake)  # default flush interval
    try:
        _dashboard(monkeypatch, config, tmp_path)
        at = open_page("runs")
        assert at.session_state["runs_count"] == 0
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        run_id = ask(client, "What is the capital of France?")
        answered = time.monotonic()
        while at.session_state["runs_count"] == 0 and time.monotonic() - answered < 2.0:
            at.run()  # a rerender, as the page's refresh does
        took = time.monotonic() - answered
        assert at.session_state["runs_count"] == 1 and took < 2.0, took
        assert run_id in {r for r, _ in logged_runs(lake)}
    finally:
        server.stop()
