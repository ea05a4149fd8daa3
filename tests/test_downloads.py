"""The export download route (ui/downloads.py, mounted by asgi.py): streams a prepared file from disk over real
HTTP (Starlette's TestClient), and serves nothing else."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from cascade_core.store import RunFilter, RunSort, Store
from tests.factories import make_trace
from ui.downloads import export_file, export_routes, file_size, new_export_path, prepare_export


def test_a_prepared_export_streams_from_disk(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    with Store(tmp_path / "s.duckdb") as store:
        store.log_traces([make_trace(i % 3, question=f"q{i}") for i in range(25)])
        done = prepare_export(store, RunFilter(), RunSort(), "csv", root)
    assert done.rows == 25 and done.size_bytes == done.path.stat().st_size
    client = TestClient(Starlette(routes=export_routes(root)))
    reply = client.get(done.url)
    assert reply.status_code == 200 and reply.content == done.path.read_bytes()
    assert reply.headers["content-disposition"].startswith("attachment") and "cascade-runs.csv" in \
        reply.headers["content-disposition"]
    assert reply.headers["content-type"].startswith("text/csv")
    token = done.url.split("/")[2]
    for bad in (f"/cascade-export/{token}/s.duckdb", f"/cascade-export/{token}/..%2Fs.duckdb",
                "/cascade-export/" + "0" * 32 + "/cascade-runs.csv", f"/cascade-export/{token[:-1]}/cascade-runs.csv"):
        assert client.get(bad).status_code == 404, bad
    assert export_file(token, "cascade-runs.parquet", root) is None  # only the format written


def test_export_paths_are_fresh_and_named(tmp_path: Path) -> None:
    first, url = new_export_path("parquet", tmp_path)
    second, _ = new_export_path("parquet", tmp_path)
    assert first.parent != second.parent and first.name == "cascade-runs.parquet" and url.endswith(first.name)
    assert file_size(1_350_000_000) == "1.4 GB" and file_size(999) == "999 bytes"
