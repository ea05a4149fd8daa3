"""Fault matrix, stored prompts (issue 13): purge by text, run id and age across every table and the call cache,
the scheduled purge (in-process and under `serve`), opt-in redaction at log time, and calls in flight at a
kill -9 of a sweep and of an audit. Real parts: HTTP endpoints on loopback, a DuckDB file, CLI processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from cascade_core.audit.runner import AuditParams, Judge, judge_audit, judgement_values, start_audit
from cascade_core.cascade import Cascade
from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig, validate_config
from cascade_core.datasets.loader import Dataset, Item
from cascade_core.routing.embeddings import cache_key
from cascade_core.routing.shadow import make_label
from cascade_core.store import PurgeCriteria, RetentionScheduler, Store, purge
from cascade_core.store.routing_tables import StoreEmbeddingCache, insert_shadow_labels
from cascade_core.sweep import SweepMeta, analyse, save_result
from cascade_core.sweep.collect import collect
from tests.factories import fake_key, make_trace
from tests.hostile_endpoint import HostileServer
from tests.page_support import ROOT, open_page
from tests.polling import settled, wait_for

MARKER = "Zebra-Quokka-7731 alice.w@example.org"
PII = {"email": "alice.w@example.org", "phone": "+1 415 555 0132", "card": "4111 1111 1111 1111",
       "ssn": "123-45-6789", "key": fake_key("sk-proj-", "pii")}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def echo_config(url: str, **privacy: object) -> CascadeConfig:
    tier = {"base_url": url, "input_price": 1.0, "output_price": 1.0, "timeout": 5, "json_mode": False}
    return validate_config({"tiers": [{"name": "small", "model": "echo-s", **tier},
                                      {"name": "large", "model": "echo-l", **tier}],
                            "retry": {"max_retries": 0}, "privacy": privacy})


def clients(config: CascadeConfig) -> list[TierClient]:
    return [TierClient(t, t.base_url, config.retry) for t in config.tiers]


def text_hits(store_path: Path, needle: str) -> dict[str, int]:
    """Rows of every table whose text columns contain `needle` (case-insensitive), read straight from the file."""
    hits: dict[str, int] = {}
    with duckdb.connect(str(store_path), read_only=True) as con:
        cols = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE data_type = 'VARCHAR' AND table_schema = 'main'").fetchall()
        for table, column in cols:
            n = con.execute(f'SELECT count(*) FROM "{table}" WHERE strpos(lower("{column}"), lower(?)) > 0',
                            [needle]).fetchone()[0]
            if n:
                hits[f"{table}.{column}"] = n
    return hits


def populate(store: Store, url: str, question: str) -> Dataset:
    """Runs (one with `question`), a sweep's call cache and saved outcomes, and an audit judged on the echo
    endpoint: the question ends up in runs, steps, call_cache, sweep_outcomes and audit_items."""
    config = echo_config(url)
    cascade = Cascade(config, clients(config))
    asked = cascade.run(question)
    store.log_trace(asked)
    # Routing keeps the question's embedding (its text) and, when shadowed, the run's answers.
    StoreEmbeddingCache(store).put_many([(cache_key("emb", question), "emb", question, np.ones(4))])
    insert_shadow_labels(store, [make_label(asked, asked.steps[0], asked.steps[-1].call, "self_rated",
                                            shadow_tier="large")])
    store.log_trace(cascade.run("What is the capital of France?"))
    items = (Item("q1", question, "x", "text", "general", None, 1), Item("q2", "Name a prime number.", "2", "text",
                                                                        "general", None, 2))
    dataset = Dataset("private", "private.jsonl", items)
    result = collect(dataset, config, [t.base_url for t in config.tiers], store, concurrency=2)
    save_result(store, analyse(result.outcomes), SweepMeta(name="private live", dataset="private", source="live"))
    for i, q in enumerate([question, "Is water wet?"]):  # accepted small-tier answers, so an audit samples them
        store.log_trace(make_trace(0, question=q, when=now() - timedelta(hours=1 + i)))
    judge = Judge(TierClient(config.tiers[-1], url, config.retry))
    audit_id = start_audit(store, judge, AuditParams(sample=10))
    judge_audit(store, judge, audit_id, concurrency=2)
    return dataset


def test_purge_by_text_removes_it_from_every_table_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with HostileServer("echo") as server, Store(path) as store:
        populate(store, server.base_url, f"Please help {MARKER} with my taxes")
        store.close()
    before = text_hits(path, "zebra-quokka-7731")
    for table in ("runs.question", "steps.prompt", "steps.raw_output", "call_cache.raw_output",
                  "audit_items.question", "audit_items.judge_prompt", "embeddings.text", "shadow_labels.shadow_answer"):
        assert before.get(table), f"the marker should be in {table} before the purge: {before}"
    with Store(path) as store:
        total = store.count_runs()
        dry = purge(store, PurgeCriteria(text="ZEBRA-quokka-7731"), dry_run=True)
        assert store.count_runs() == total and dry.removed["runs"] == 2
        report = purge(store, PurgeCriteria(text="ZEBRA-quokka-7731"))
        assert store.count_runs() == total - 2  # the echoed run and the hand-built audited one
    assert report.removed["runs"] == 2 and report.removed["call_cache"] >= 2 and report.removed["audit_items"] == 1
    assert report.removed["embeddings"] == 1 and report.removed["shadow_labels"] == 1
    assert report.rewritten and "removed 2 runs" in report.describe()
    assert text_hits(path, "zebra-quokka-7731") == {}
    assert b"Zebra-Quokka" not in path.read_bytes()  # not even in freed blocks of the file
    assert text_hits(path, "capital of France")  # everything else stays


def test_purge_by_run_id_takes_its_cache_rows_and_audit_items(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with HostileServer("echo") as server, Store(path) as store:
        config = echo_config(server.base_url)
        dataset = populate(store, server.base_url, "What is the boiling point of water?")
        cascade = Cascade(config, clients(config))
        trace = cascade.run(dataset.items[0].question, item=dataset.items[0], dataset="private")
        store.log_trace(trace)
        audited = store.query_df("SELECT run_id FROM audit_items ORDER BY item_index LIMIT 1")["run_id"][0]
        cache_before = store.execute("SELECT count(*) FROM call_cache WHERE item_id = 'q1'")[0][0]
        report = purge(store, PurgeCriteria(run_ids=(trace.run_id, audited)))
        assert report.removed["runs"] == 2 and report.removed["audit_items"] == 1
        assert cache_before >= 2 and report.removed["call_cache"] >= cache_before
        assert store.execute("SELECT count(*) FROM call_cache WHERE item_id = 'q1'")[0][0] == 0
        assert store.execute("SELECT count(*) FROM call_cache WHERE item_id = 'q2'")[0][0] >= 2  # untouched
        assert store.get_trace(trace.run_id) is None


def test_retention_purges_old_runs_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    config = validate_config({"tiers": [{"name": "a", "model": "m", "input_price": 0, "output_price": 0},
                                        {"name": "b", "model": "n", "input_price": 0, "output_price": 0}],
                              "privacy": {"retention_days": 30, "purge_interval_hours": 0.001}})
    with Store(path) as store:
        old = make_trace(1, question="an old secret question", when=now() - timedelta(days=40))
        new = make_trace(1, question="a recent question", when=now() - timedelta(days=2))
        store.log_traces([old, new])
        scheduler = RetentionScheduler.for_store(config, store).start()
        try:
            # The purge commits before the scheduler counts it: wait for both, not the rows alone.
            wait_for(lambda: store.count_runs() == 1 and scheduler.runs >= 1, what="the first scheduled purge")
            assert store.get_trace(old.run_id) is None and store.get_trace(new.run_id) is not None
            assert scheduler.last is not None and scheduler.last.removed["runs"] == 1
            counted = scheduler.runs
            store.log_trace(make_trace(1, when=now() - timedelta(days=31)))  # expires while it runs: next tick
            wait_for(lambda: store.count_runs() == 1 and scheduler.runs > counted, what="the next scheduled purge")
            assert store.get_trace(new.run_id) is not None
        finally:
            scheduler.stop()


def test_the_dashboard_purges_expired_runs_on_its_schedule(store_path: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[privacy]\nretention_days = 7\n[[tiers]]\nname = "s"\nmodel = "sim-llama-3.1-8b"\n'
                   'input_price = 0\noutput_price = 0\n[[tiers]]\nname = "l"\nmodel = "sim-llama-3.1-405b"\n'
                   'input_price = 0\noutput_price = 0\n')
    monkeypatch.setenv("CASCADE_CONFIG", str(cfg))
    with Store(store_path) as store:
        old = make_trace(1, question="old", when=now() - timedelta(days=10))
        store.log_traces([old, make_trace(1, question="new", when=now())])
    at = open_page("runs")
    assert not at.exception

    def remaining() -> int | None:
        try:
            with Store(store_path, read_only=True) as store:
                return store.count_runs()
        except Exception:  # the dashboard holds the file (it lets go after 2 s idle)
            return None

    wait_for(lambda: remaining() == 1, timeout=60, what="the dashboard's scheduled purge")


def test_purge_in_place_deletes_the_same_rows(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces([make_trace(i % 3, question=f"q{i}", when=now() - timedelta(days=i)) for i in range(10)])
        steps_before = store.execute("SELECT count(*) FROM steps")[0][0]
        report = purge(store, PurgeCriteria(older_than=now() - timedelta(days=4, hours=12)), rewrite=False)
        assert not report.rewritten and report.removed["runs"] == 5 and store.count_runs() == 5
        steps_after = store.execute("SELECT count(*) FROM steps")[0][0]
        assert report.removed["steps"] == steps_before - steps_after == sum(i % 3 + 1 for i in range(5, 10))
        assert sorted(store.query_df("SELECT question FROM runs")["question"]) == [f"q{i}" for i in range(5)]


def test_serve_purges_expired_runs_on_its_schedule(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        old = make_trace(1, question="old", when=now() - timedelta(days=10))
        store.log_traces([old, make_trace(1, question="new", when=now())])
    cfg = tmp_path / "c.toml"
    cfg.write_text('[privacy]\nretention_days = 7\n[[tiers]]\nname = "s"\nmodel = "sim-llama-3.1-8b"\n'
                   'input_price = 0\noutput_price = 0\n[[tiers]]\nname = "l"\nmodel = "sim-llama-3.1-405b"\n'
                   'input_price = 0\noutput_price = 0\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASCADE_STORE": str(path)}
    proc = subprocess.Popen([sys.executable, "-m", "cascade_core", "serve", "--config", str(cfg), "--port", "0"],
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    def remaining() -> int | None:
        assert proc.poll() is None, "serve exited"
        try:
            with Store(path, read_only=True) as store:
                return store.count_runs()
        except Exception:  # the server holds the file for its purge: look again
            return None

    try:
        wait_for(lambda: remaining() == 1, timeout=90, what="serve's scheduled purge")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "retention: purge of rows created before" in err and "removed 1 runs" in err


def test_redaction_at_log_time_keeps_the_original_for_the_model(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    question = (f"Mail {PII['email']} or call {PII['phone']}; card {PII['card']}, SSN {PII['ssn']}, "
                f"key {PII['key']}. What is 2+2?")
    with HostileServer("echo") as server, Store(path) as store:
        config = echo_config(server.base_url, redact=True)
        trace = Cascade(config, clients(config)).run(question)
        store.log_trace(trace)
        # routing's copies: the question's cached embedding and a shadow label of its (echoed) answers
        StoreEmbeddingCache(store, config.privacy.redact).put_many(
            [(cache_key("emb", question), "emb", question, np.ones(4))])
        insert_shadow_labels(store, [make_label(trace, trace.steps[0], trace.steps[-1].call, "self_rated",
                                                shadow_tier="large")])
        assert any(PII["email"] in m["content"] for body in server.seen for m in body["messages"])  # model saw it
        assert PII["card"] in trace.steps[0].call.raw_output  # and the caller gets the original back
        dataset = Dataset("pii", "pii.jsonl", (Item("p1", question, "4", "text", "general", None, 1),))
        swept = collect(dataset, config, [t.base_url for t in config.tiers], store, concurrency=1)
        save_result(store, analyse(swept.outcomes), SweepMeta(name="pii live", dataset="pii", source="live"))
        served = make_trace(0, question=question, when=now() - timedelta(hours=1))
        served.redact = tuple(config.privacy.redact)  # as the walk sets it from the config
        store.log_trace(served)
        judge = Judge(TierClient(config.tiers[-1], server.base_url, config.retry), tuple(config.privacy.redact))
        judge_audit(store, judge, start_audit(store, judge, AuditParams(sample=5)))
        stored = store.get_trace(trace.run_id)
        assert stored is not None and "[EMAIL]" in stored.question and "[CARD]" in stored.question
        # a judge call made on text logged before redaction was turned on is redacted when its reply is stored
        call = judge.client.call([{"role": "user", "content": question}])
        values = judgement_values({}, call, None, judge.redact)
        assert PII["email"] in call.raw_output and PII["email"] not in values["judge_prompt"] + values["judge_output"]
    for kind, value in PII.items():
        assert text_hits(path, value) == {} or kind == "never", f"{kind} stored: {text_hits(path, value)}"
    placeholders = text_hits(path, "[EMAIL]")
    assert {"runs.question", "steps.prompt", "steps.raw_output", "call_cache.raw_output",
            "audit_items.judge_prompt", "sweep_outcomes.answer", "embeddings.text"} <= set(placeholders), placeholders
    for placeholder in ("[PHONE]", "[CARD]", "[SSN]", "[API_KEY]"):
        assert text_hits(path, placeholder).get("runs.question"), placeholder


# -- kill -9 with calls in flight ------------------------------------------------------------------------------
def _sim_config(tmp_path: Path, url: str, *, judge: bool = False) -> Path:
    cfg = tmp_path / "sim.toml"
    tiers = "".join(f'[[tiers]]\nname = "{n}"\nmodel = "{m}"\nbase_url = "{url}"\ninput_price = 1\n'
                    f'output_price = 1\n' for n, m in (("small", "sim-llama-3.1-8b"), ("large", "sim-llama-3.1-405b")))
    extra = (f'[judge]\nname = "judge"\nmodel = "sim-llama-3.1-405b"\nbase_url = "{url}"\ninput_price = 1\n'
             'output_price = 1\n') if judge else ""
    cfg.write_text(tiers + extra)
    return cfg


def _kill_when(proc: subprocess.Popen[str], sim, calls: int) -> int:
    """SIGKILL `proc` once the simulator has received `calls` requests; then the settled request count."""
    wait_for(lambda: sim.stats()["total"] >= calls or proc.poll() is not None, timeout=120)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited early"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return settled(lambda: sim.stats()["total"], quiet=0.3)  # requests already on the wire still arrive


def _cli(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "cascade_core", *args], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _in_flight(stderr: str) -> int:
    match = re.search(r"warning: (\d+) call\(s\) were in flight", stderr)
    assert match, stderr
    return int(match.group(1))


def test_sweep_killed_mid_flight_reports_the_calls_it_may_pay_twice(fresh_simulator, tmp_path: Path) -> None:
    sim = fresh_simulator(latency_ms=400)
    cfg, store = _sim_config(tmp_path, sim.base_url), tmp_path / "s.duckdb"
    args = ("sweep", "bundled", "--limit", "30", "--concurrency", "8", "--config", str(cfg), "--store", str(store))
    sent = _kill_when(_cli(tmp_path, *args), sim, 12)
    with Store(store) as s:
        answered = s.execute("SELECT count(*) FROM call_cache")[0][0]
    lost = sent - answered  # received by the endpoint (so possibly billed) but never stored
    assert lost >= 1
    resumed = _cli(tmp_path, *args)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    reported = _in_flight(err)
    assert lost <= reported <= 8, (lost, reported)
    assert "may have been paid for once already" in err
    again = _cli(tmp_path, *args)
    _, err = again.communicate(timeout=300)
    assert "in flight" not in err  # reported once, then cleared


def test_audit_killed_mid_flight_reports_the_judge_calls_it_may_pay_twice(fresh_simulator, tmp_path: Path) -> None:
    sim = fresh_simulator(latency_ms=1500)
    cfg, store = _sim_config(tmp_path, sim.base_url, judge=True), tmp_path / "s.duckdb"
    with Store(store) as s:
        s.log_traces([make_trace(0, question=f"What is {i}+{i}?", when=now() - timedelta(hours=1)) for i in range(12)])
    base = ("--config", str(cfg), "--store", str(store))
    sent = _kill_when(_cli(tmp_path, "audit", "--sample", "12", "--concurrency", "4", *base), sim, 6)
    with Store(store) as s:
        judged = s.execute("SELECT count(*) FROM audit_items WHERE status <> 'pending'")[0][0]
    lost = sent - judged
    assert lost >= 1
    resumed = _cli(tmp_path, "audit", "--resume", *base)
    _, err = resumed.communicate(timeout=300)
    reported = _in_flight(err)
    assert lost <= reported <= 4, (lost, reported)
