"""Several real server processes: SIGTERM with requests in flight, two writers plus a reader, bounded load."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai

from cascade_core.store import Store
from tests.test_serve_support import ROOT, ServerProc, logged_runs


def ask(client: openai.OpenAI, question: str) -> str | None:
    """The run id of an answered request (200 or the cascade's 502), None when no answer came back."""
    try:
        raw = client.chat.completions.with_raw_response.create(
            model="cascade", messages=[{"role": "user", "content": question}])
        return raw.headers["x-cascade-run-id"]
    except openai.APIStatusError as err:
        return err.response.headers.get("x-cascade-run-id")
    except openai.APIConnectionError:
        return None


def test_sigterm_with_requests_in_flight_loses_no_run(fresh_simulator, tmp_path: Path) -> None:
    slow = fresh_simulator(latency_ms=150)  # every tier call takes 150 ms, so requests are mid-flight
    server = ServerProc(tmp_path / "runs.duckdb", slow.base_url, "--flush-interval", "5")
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=30)
    answered: list[str] = []
    after_term: list[str] = []
    term_sent = threading.Event()
    stop = threading.Event()

    def worker(index: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            run_id = ask(client, f"Question {index}-{n}: what is {index} plus {n}?")
            if run_id is None:
                return  # the server stopped accepting
            answered.append(run_id)
            if term_sent.is_set():
                after_term.append(run_id)

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(worker, i) for i in range(16)]
        time.sleep(1.5)
        server.terminate()  # the flush interval is 5 s: everything still queued must be flushed on shutdown
        term_sent.set()
        code = server.proc.wait(timeout=60)
        stop.set()
        for future in futures:
            future.result()
    server.stop()
    assert code in (0, -15), server.stderr()
    assert after_term, "no request was in flight when SIGTERM arrived"
    runs = logged_runs(server.store_path)
    assert len(answered) == len(set(answered)) > 16
    assert sorted(run_id for run_id, _ in runs) == sorted(answered)  # every answered request logged, once
    assert all(n == 1 for _, n in runs)


def test_two_servers_and_a_reader_see_every_run_once(simulator, tmp_path: Path) -> None:
    store_path = tmp_path / "runs.duckdb"
    with Store(store_path) as store:  # the dashboard's store: holds the file open the whole time
        servers = [ServerProc(store_path, simulator.base_url) for _ in range(2)]
        clients = [openai.OpenAI(base_url=s.base_url, api_key="unused", max_retries=0) for s in servers]
        seen_counts: list[int] = []
        done = threading.Event()

        def reader() -> None:
            while not done.is_set():
                store.refresh_views()
                seen_counts.append(store.count_runs())
                time.sleep(0.05)

        watcher = threading.Thread(target=reader)
        watcher.start()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: ask(clients[i % 2], f"What is {i} squared?"), range(120)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # live: visible within seconds, before any shutdown
            store.refresh_views()
            if store.count_runs() == 120:
                break
            time.sleep(0.1)
        live = store.count_runs()
        done.set()
        watcher.join()
        for server in servers:
            server.stop()
        store.refresh_views()
        rows = store.execute("SELECT count(*), count(DISTINCT run_id) FROM all_runs")
        steps = store.execute("SELECT count(DISTINCT run_id) FROM all_steps")
    assert None not in ids and len(set(ids)) == 120
    assert live == 120
    assert rows == [(120, 120)] and steps == [(120,)]
    assert seen_counts == sorted(seen_counts)  # the reader never saw a run disappear
    writers = {p.name.split("-")[2] for p in (tmp_path / "segments").glob("runs-*.parquet")}
    assert len(writers) == 2  # one writer per process (host-pid-token-seq)
    compact = subprocess.run([sys.executable, "-m", "cascade_core", "compact", "--store", str(store_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert compact.returncode == 0 and "compacted 120 runs" in compact.stdout, compact.stderr
    assert list((tmp_path / "segments").iterdir()) == []
    assert logged_runs(store_path) == [(run_id, 1) for run_id, _ in logged_runs(store_path)]
    assert len(logged_runs(store_path)) == 120


def test_bounded_loopback_load_all_logged(simulator, tmp_path: Path) -> None:
    """1,000 requests at 32 concurrency against two worker processes: no errors, exactly 1,000 runs logged."""
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--workers", "2")
    statuses: list[int] = []
    ids: list[str] = []

    async def drive() -> None:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as http:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(1000):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    response = await http.post("/chat/completions", json={
                        "model": "cascade", "messages": [{"role": "user", "content": f"What is {i} minus 3?"}]})
                    statuses.append(response.status_code)
                    ids.append(response.headers.get("x-cascade-run-id", ""))

            await asyncio.gather(*(worker() for _ in range(32)))

    try:
        asyncio.run(drive())
    finally:
        code = server.stop()
    assert code in (0, -15), server.stderr()
    assert statuses == [200] * 1000
    runs = logged_runs(server.store_path)
    assert len(runs) == 1000 and {r for r, _ in runs} == set(ids)
