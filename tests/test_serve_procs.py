"""Several real server processes: SIGTERM with requests in flight, two writers taking turns, bounded load."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai

from cascade_core.store import Store
from tests.polling import wait_for
from tests.test_serve_support import ServerProc, logged_runs


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
        # Mid-traffic: once more requests were answered than there are workers, every worker has one in flight.
        wait_for(lambda: len(answered) > 16, timeout=120, what="17 answered requests before SIGTERM")
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


def test_two_servers_take_turns_at_a_duckdb_file(simulator, tmp_path: Path) -> None:
    """The embedded default: two server processes commit to one DuckDB file by taking turns (each lets the file
    go after its commit); every run lands once."""
    store_path = tmp_path / "runs.duckdb"
    servers = [ServerProc(store_path, simulator.base_url) for _ in range(2)]
    clients = [openai.OpenAI(base_url=s.base_url, api_key="unused", max_retries=0) for s in servers]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: ask(clients[i % 2], f"What is {i} squared?"), range(60)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(logged_runs(store_path)) < 60:  # live, before any shutdown
        time.sleep(0.1)
    live = len(logged_runs(store_path))
    for server in servers:
        server.stop()
    assert None not in ids and len(set(ids)) == 60
    assert live == 60
    runs = logged_runs(store_path)
    assert sorted(r for r, _ in runs) == sorted(ids) and all(n == 1 for _, n in runs)
    with Store(store_path) as store:
        assert store.execute("SELECT count(DISTINCT run_id) FROM all_steps") == [(60,)]


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
