"""The export download route (ui/downloads.py, mounted by asgi.py): streams a prepared file from disk over real
HTTP (Starlette's TestClient), and serves nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cascade_core.store import LakeTarget, RunFilter, RunSort, Store
from tests.factories import hours_ago, make_trace
from ui.downloads import export_file, export_routes, file_size, new_export_path, prepare_export

ROOT = Path(__file__).resolve().parents[1]


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


def test_exports_live_under_the_base_url_path_too(tmp_path: Path) -> None:
    """Behind a proxy forwarding only `server.baseUrlPath` (say /lab), the link and its route carry the prefix;
    the root route stays for direct access."""
    path, url = new_export_path("csv", tmp_path, base="/lab")
    path.write_text("run_id\n")
    assert url.startswith("/lab/cascade-export/") and url.endswith("/cascade-runs.csv")
    client = TestClient(Starlette(routes=export_routes(tmp_path, base="/lab")))
    assert client.get(url).text == "run_id\n"
    assert client.get(url.removeprefix("/lab")).text == "run_id\n"
    assert client.get("/other" + url.removeprefix("/lab")).status_code == 404


def test_a_lake_export_runs_in_a_child_process(lake: LakeTarget, tmp_path: Path, monkeypatch) -> None:
    """From a DuckLake the page's export is written by `store export` in another process (the same config from
    the environment), so the dashboard's memory does not grow with it."""
    config = tmp_path / "lake.toml"
    config.write_text((ROOT / "examples" / "ducklake.toml").read_text())
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    monkeypatch.setenv("CASCADE_PG_DSN", lake.dsn)
    monkeypatch.setenv("CASCADE_LAKE_PATH", lake.data_path)
    with Store(LakeTarget("postgres", lake.dsn, lake.data_path)) as store:
        store.log_traces([make_trace(i % 3, question=f"q{i}", source=("api", "query")[i % 2]) for i in range(40)])
        done = prepare_export(store, RunFilter(sources=("api",)), RunSort("cost", True), "parquet", tmp_path / "x")
    assert done.rows == 20
    rows = duckdb.sql(f"SELECT source, total_cost FROM read_parquet('{done.path}')").fetchall()
    assert {r[0] for r in rows} == {"api"} and [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)


def test_store_export_command_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.log_traces([make_trace(i % 3, question=f"q{i}", when=hours_ago(i)) for i in range(30)])
    f = RunFilter(start=hours_ago(9.5), final_tiers=("small", "large"))
    assert RunFilter.from_json(f.to_json()) == f
    out = tmp_path / "o.csv"
    cli = [sys.executable, "-m", "cascade_core", "store", "export", "--store", str(path), "--out", str(out)]
    done = subprocess.run([*cli, "--filter", f.to_json(), "--sort", "time", "--ascending"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 7 == len(out.read_text().splitlines()) - 1  # hours 0..9, tiers 0, 2
    for bad, said in (('{"colour": "red"}', "not a run filter"), ("[1", "Expecting"), ('{"start": "soon"}', "soon")):
        refused = subprocess.run([*cli, "--filter", bad], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    nowhere = subprocess.run([*cli[:-1], str(tmp_path / "gone" / "o.csv")], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
    assert nowhere.returncode == 2 and f"{tmp_path / 'gone'} is not a folder" in nowhere.stderr, nowhere.stderr
