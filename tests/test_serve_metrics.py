"""Prometheus metrics through prometheus_client: readers, the audit gauge, and `serve --workers 2` totals."""

from __future__ import annotations

import math
from pathlib import Path

import httpx

from cascade_core.audit.service import latest_overconfidence_rate, load_report
from cascade_core.serve.counters import Metrics
from cascade_core.serve.store_metrics import add_store_readers
from cascade_core.store import Store
from tests.factories import make_trace
from tests.polling import wait_for
from tests.test_audit_support import seed_audits
from tests.test_serve_support import ServerProc


def scrape(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_readers_feed_counters_by_growth_and_gauges_by_value() -> None:
    metrics = Metrics(["small", "large"])
    written = [0]
    metrics.gauges["cascade_log_runs_written_total"] = lambda: written[0]  # the old registration still works
    metrics.add_reader("cascade_log_backlog_runs", "runs waiting", lambda: 7)
    metrics.add_reader("cascade_unknown_yet", "never read", lambda: None)
    written[0] = 5
    first = scrape(metrics.render())
    written[0] = 12
    second = scrape(metrics.render())
    assert first["cascade_log_runs_written_total"] == 5 and second["cascade_log_runs_written_total"] == 12
    assert second["cascade_log_backlog_runs"] == 7
    assert math.isnan(second["cascade_unknown_yet"])
    assert second['cascade_tier_answers_total{tier="small"}'] == 0  # every tier shows from the start
    metrics.observe_run(make_trace(0), 0.01, stream=True)
    third = scrape(metrics.render())
    assert third["cascade_runs_total"] == 1 and third["cascade_stream_runs_total"] == 1
    assert third['cascade_tier_answers_total{tier="small"}'] == 1
    assert not any(name.endswith("_created") for name in third)


def test_audit_gauge_reads_the_latest_finished_audit(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    metrics = Metrics(["small", "large"])
    with Store(path) as store:
        assert latest_overconfidence_rate(store) is None
    add_store_readers(metrics, path, every=0.0)
    assert math.isnan(scrape(metrics.render())["cascade_audit_overconfidence_rate"])
    with Store(path) as store:
        ids = seed_audits(store, 2, wrong_share=0.3)
        expected = load_report(store, ids[-1]).result.overconfidence.rate
    assert expected is not None and 0 < expected < 1
    assert scrape(metrics.render())["cascade_audit_overconfidence_rate"] == expected


def test_two_workers_one_scrape_gives_the_whole_servers_totals(simulator, tmp_path: Path) -> None:
    """Each scrape lands on one worker; with multiprocess mode every scrape reports all N requests."""
    shared = tmp_path / "prom"
    shared.mkdir()
    server = ServerProc(tmp_path / "runs.duckdb", simulator.base_url, "--workers", "2",
                        env={"PROMETHEUS_MULTIPROC_DIR": str(shared)})
    n = 40
    try:
        for i in range(n):  # a new connection each: the kernel spreads them over both workers
            response = httpx.post(f"{server.base_url}/chat/completions", timeout=30, json={
                "model": "cascade", "messages": [{"role": "user", "content": f"What is {i} plus 2?"}]})
            assert response.status_code == 200
        pids = {p.stem.rsplit("_", 1)[-1] for p in shared.glob("counter_*.db")}
        assert len(pids) == 2, f"requests did not reach both workers: {pids}"
        for _ in range(6):
            values = scrape(httpx.get(f"{server.root}/metrics").text)
            assert values["cascade_runs_total"] == n
            assert values['cascade_http_requests_total{path="/v1/chat/completions",status="200"}'] == n
            assert sum(v for k, v in values.items() if k.startswith("cascade_tier_answers_total")) == n
            assert values['cascade_request_duration_seconds_bucket{le="+Inf"}'] == n
        wait_for(lambda: scrape(httpx.get(f"{server.root}/metrics").text)["cascade_log_runs_written_total"] == n,
                 what="both workers' written-runs counters to add up to N")
        assert values["cascade_log_write_errors_total"] == 0
    finally:
        assert server.stop() in (0, -15), server.stderr()
