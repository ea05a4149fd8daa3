"""The request log without a server: segments, the writer thread, and the Store's views over both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cascade_core.serve import ApiError, LogWriter, Metrics, parse_chat_request
from cascade_core.store import Store
from cascade_core.store.segments import segments_dir
from tests.factories import make_trace


def test_store_views_union_tables_and_segments(tmp_path: Path) -> None:
    store_path = tmp_path / "runs.duckdb"
    in_table = make_trace(0)
    with Store(store_path) as store:
        store.log_trace(in_table)
        assert store.count_runs() == 1  # no segments folder yet: the plain tables
    api = [make_trace(i % 3, source="api") for i in range(25)]
    writer = LogWriter(segments_dir(store_path), batch_size=10, interval=60).start()
    for trace in api:
        writer.submit(trace)
    writer.close()  # flushes although the interval has not passed
    assert (writer.written_runs, writer.segments, writer.backlog) == (25, 3, 0)
    files = sorted(p.name for p in (tmp_path / "segments").iterdir())
    assert len(files) == 6 and not [f for f in files if f.startswith("tmp-")]
    with Store(store_path, read_only=True) as store:  # the dashboard's read-only open sees them too
        assert store.count_runs() == 26
        back = store.get_trace(api[4].run_id)
        assert back is not None and back.source == "api"
        assert [s.decision for s in back.steps] == [s.decision for s in api[4].steps]
        assert back.total_cost == pytest.approx(api[4].total_cost)
        assert store.execute("SELECT count(*) FROM all_steps") == [(sum(len(t.steps) for t in api) + 1,)]
        assert store.recent_runs(100).shape[0] == 26


def test_writer_flushes_on_interval_and_survives_a_failing_disk(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    writer = LogWriter(blocker, interval=0.05).start()
    writer.submit(make_trace(1, source="api"))
    time.sleep(0.3)
    assert writer.write_errors >= 1 and writer.backlog == 1  # kept, not dropped
    blocker.unlink()  # the disk recovers: the same batch is written on a later try
    deadline = time.monotonic() + 5
    while writer.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    assert writer.written_runs == 1 and len(list(blocker.glob("runs-*.parquet"))) == 1


def test_parse_chat_request_takes_the_last_user_message() -> None:
    chat = parse_chat_request(b'{"model": "m", "stream": true, "stream_options": {"include_usage": true}, '
                              b'"messages": [{"role": "user", "content": "first"}, {"role": "assistant", '
                              b'"content": null, "tool_calls": []}, {"role": "user", "content": [{"type": "text", '
                              b'"text": "second"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}')
    assert (chat.question, chat.model, chat.stream, chat.include_usage, chat.n_messages) == (
        "second", "m", True, True, 3)
    with pytest.raises(ApiError) as caught:
        parse_chat_request(b'{"messages": [{"role": "user", "content": [{"type": "text"}]}]}')
    assert caught.value.status == 400 and caught.value.param == "messages[0].content"


def test_metrics_histogram_is_cumulative() -> None:
    metrics = Metrics(["small", "large"])
    for trace, seconds in ((make_trace(0), 0.004), (make_trace(1), 0.2), (make_trace(2, error_at=2), 40.0)):
        metrics.observe_run(trace, seconds, stream=False)
    text = metrics.render()
    assert 'cascade_request_duration_seconds_bucket{le="0.005"} 1' in text
    assert 'cascade_request_duration_seconds_bucket{le="0.25"} 2' in text
    assert 'cascade_request_duration_seconds_bucket{le="30.0"} 2' in text
    assert 'cascade_request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert "cascade_request_duration_seconds_count 3" in text
    assert 'cascade_errors_total{kind="tier_server"} 1' in text


def _segment_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_compaction_folds_segments_exactly_once(tmp_path: Path) -> None:
    from cascade_core.store.segments import COMPACTING_PREFIX, _claim, compact_segments

    store_path = tmp_path / "runs.duckdb"
    folder = segments_dir(store_path)
    first = [make_trace(i % 3, source="api") for i in range(30)]
    writer = LogWriter(folder, batch_size=10, interval=60).start()
    for trace in first:
        writer.submit(trace)
    writer.close()
    (folder / "steps-orphan-00000001.parquet").write_bytes(
        next(folder.glob("steps-*.parquet")).read_bytes())  # a writer between its two renames
    with Store(store_path) as store:
        store.log_trace(make_trace(0))
        assert compact_segments(store) == 30
        assert _segment_files(folder) == ["steps-orphan-00000001.parquet"]  # left alone
        (folder / "steps-orphan-00000001.parquet").unlink()
        store.refresh_views()  # the folder is empty now: views over the tables alone
        assert store.count_runs() == 31
        assert store.execute("SELECT count(*) FROM steps") == [(sum(len(t.steps) for t in first) + 1,)]
        assert store.get_trace(first[7].run_id).total_cost == pytest.approx(first[7].total_cost)
        assert compact_segments(store) == 0

    # A compaction that crashed after its commit left claimed files behind: running again adds nothing twice.
    second = [make_trace(1, source="api") for _ in range(5)]
    writer = LogWriter(folder, interval=60).start()
    for trace in second:
        writer.submit(trace)
    writer.close()
    with Store(store_path) as store:
        assert store.count_runs() == 36
        assert compact_segments(store) == 5
    for trace in second:  # the same runs again, as leftovers of a crash between commit and delete
        writer = LogWriter(folder, interval=60)
        writer.submit(trace)
        writer.close()
    _claim(folder)
    assert all(name.startswith(COMPACTING_PREFIX) for name in _segment_files(folder))
    with Store(store_path) as store:
        assert compact_segments(store) == 0
        assert _segment_files(folder) == []
        assert store.execute("SELECT count(*), count(DISTINCT run_id) FROM all_runs") == [(36, 36)]


def test_dashboard_folds_segments_in_once_enough_pile_up(store_path: Path) -> None:
    """An API server's segments are compacted by the dashboard's own store as pages render (over a threshold),
    and the Runs page shows every run exactly once before and after."""
    from cascade_core.store import compact_if_many
    from tests.page_support import open_page

    folder = segments_dir(store_path)
    traces = [make_trace(i % 3, source="api") for i in range(40)]
    writer = LogWriter(folder, batch_size=1, interval=60).start()  # one segment per run: 40 segments
    for trace in traces:
        writer.submit(trace)
    writer.close()
    with Store(store_path) as store:
        assert compact_if_many(store, min_segments=100) == 0  # under the threshold: left alone
        assert store.count_runs() == 40
    assert len(list(folder.glob("runs-*.parquet"))) == 40
    page = open_page("runs")
    assert not page.exception
    assert page.session_state["runs_count"] == 40
    assert list(folder.glob("runs-*.parquet")) == []  # the dashboard compacted them
    with Store(store_path) as store:
        assert store.execute("SELECT count(*), count(DISTINCT run_id) FROM runs") == [(40, 40)]


def _write_segments(folder: Path, n: int) -> list:
    traces = [make_trace(i % 3, source="api") for i in range(n)]
    writer = LogWriter(folder, batch_size=1, interval=60).start()  # one segment per run
    for trace in traces:
        writer.submit(trace)
    writer.close()
    return traces


def test_concurrent_compactions_in_one_process_never_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render threads of one dashboard share a Store: one thread's claimed files are never taken by another for a
    crash's leftovers (it used to read them while the first thread deleted them: duckdb 'No files found')."""
    import threading

    from cascade_core.store import compact_if_many

    store_path = tmp_path / "runs.duckdb"
    folder = segments_dir(store_path)
    _write_segments(folder, 40)
    real_unlink = Path.unlink

    def slow_unlink(self: Path, missing_ok: bool = False) -> None:  # widen the window between commit and delete
        time.sleep(0.01)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", slow_unlink)
    errors: list[BaseException] = []
    added: list[int] = []
    with Store(store_path) as store:
        store.count_runs()
        barrier = threading.Barrier(6)

        def render() -> None:
            barrier.wait()
            try:
                for _ in range(3):
                    added.append(compact_if_many(store, min_segments=32))
                    store.count_runs()
            except BaseException as err:  # collected for the assertion below
                errors.append(err)

        threads = [threading.Thread(target=render) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(added) == 40
        assert store.execute("SELECT count(*), count(DISTINCT run_id) FROM all_runs") == [(40, 40)]
    assert _segment_files(folder) == []


def test_leftovers_of_a_crashed_compaction_are_folded_in_at_once(tmp_path: Path) -> None:
    """Claimed files outside the readers' globs are runs nobody sees: the dashboard compacts them however few."""
    from cascade_core.store import compact_if_many
    from cascade_core.store.segments import COMPACTING_PREFIX, _claim

    store_path = tmp_path / "runs.duckdb"
    folder = segments_dir(store_path)
    traces = _write_segments(folder, 3)
    _claim(folder)  # a compaction that crashed before its commit
    assert all(name.startswith(COMPACTING_PREFIX) for name in _segment_files(folder))
    with Store(store_path) as store:
        assert store.count_runs() == 0  # invisible until folded in
        assert compact_if_many(store, min_segments=32) == 3
        assert store.count_runs() == 3
        assert store.get_trace(traces[1].run_id) is not None
    assert _segment_files(folder) == []


def test_a_raised_body_limit_accepts_bigger_requests(simulator, tmp_path: Path) -> None:
    """ServeSettings.max_body_bytes is the one limit: parse_chat_request does not re-check a hard-coded 1 MB."""
    import json

    from fastapi.testclient import TestClient

    from cascade_core.serve.app import ServeSettings, create_app
    from cascade_core.serve.factory import SPEC_ENV, app_from_env, dump_spec
    from tests.sweep_support import sim_config

    body = json.dumps({"model": "cascade", "messages": [{"role": "user", "content": "7 + 5? " + "x" * 1_500_000}]})
    assert parse_chat_request(body.encode()).question.startswith("7 + 5?")
    config = sim_config(simulator)
    settings = ServeSettings(segments_dir=tmp_path / "segments", max_body_bytes=2_000_000, flush_interval=0.05)
    with TestClient(create_app(config, settings)) as client:
        response = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]
        too_big = client.post("/v1/chat/completions", content=body + " " * 600_000)
        assert too_big.status_code == 413 and "2000000" in too_big.json()["error"]["message"]
    spec = dump_spec(config, settings, "NO_SUCH_TOKEN_ENV")  # what each `--workers` process builds its app from
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SPEC_ENV, spec)
        with TestClient(app_from_env()) as client:
            assert client.app.state.serve.settings.max_body_bytes == 2_000_000
