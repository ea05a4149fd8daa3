"""Exports the browser downloads straight from disk, so the dashboard never holds a whole file in memory.

The Runs page writes the export with DuckDB COPY (store/export.py, bounded memory) into a folder named by an
unguessable token under EXPORT_ROOT; `asgi.py` serves that folder's file through EXPORT_ROUTE, a Starlette route
mounted beside Streamlit's own (st.App), which streams it in chunks (FileResponse). Streamlit's download_button
would keep the file's bytes in its in-memory media store instead (and its static serving stops at 200 MB).
Exports older than KEEP_HOURS are deleted when the next one is written.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cascade_core.store import RunFilter, RunSort, Store, StoreError, export_runs
from cascade_core.store.export import ExportFormat

EXPORT_ROOT = Path(tempfile.gettempdir()) / "cascade-lab-exports"
EXPORT_ROUTE = "/cascade-export/{token}/{name}"
KEEP_HOURS = 6.0
NAMES = {"cascade-runs.csv": "text/csv", "cascade-runs.parquet": "application/vnd.apache.parquet"}
_TOKEN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class PreparedExport:
    path: Path
    url: str  # relative to the app's base URL
    rows: int
    size_bytes: int


def new_export_path(fmt: str, root: Path = EXPORT_ROOT, base: str | None = None) -> tuple[Path, str]:
    """A fresh file path for an export (its own token folder) and the URL it will be served at."""
    name = f"cascade-runs.{fmt}"
    if name not in NAMES:
        raise ValueError(f"unknown export format {fmt!r}")
    _forget_old(root)
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(parents=True, mode=0o700)
    prefix = base_path() if base is None else base
    return folder / name, prefix + EXPORT_ROUTE.format(token=token, name=name)


def base_path() -> str:
    """Streamlit's `server.baseUrlPath` as a URL prefix ("" or "/lab"): behind a proxy that forwards only that
    path, a download link and its route must live under it too."""
    import streamlit as st

    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _forget_old(root: Path) -> None:
    if not root.is_dir():
        return
    cutoff = time.time() - KEEP_HOURS * 3600
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # another process removed it first


def prepare_export(store: Store, f: RunFilter, sort: RunSort, fmt: ExportFormat, root: Path = EXPORT_ROOT
                   ) -> PreparedExport:
    """Write the filtered runs to a fresh export file (bounded memory, store/export.py); where to download it.

    From a DuckLake the file is written by a child process (`store export`, the same code), so the dashboard's
    own memory does not grow with an export of millions of runs and is handed back when it ends. A DuckDB file
    is exported here: another process could not open the file while this one holds it."""
    path, url = new_export_path(fmt, root)
    if store.lake is None:
        rows = export_runs(store, f, sort, fmt, path)
    else:
        rows = _export_in_child(f, sort, fmt, path)
    return PreparedExport(path, url, rows, path.stat().st_size)


def _export_in_child(f: RunFilter, sort: RunSort, fmt: ExportFormat, path: Path) -> int:
    """`python -m cascade_core store export` with this process's environment (so the same config and lake)."""
    command = [sys.executable, "-m", "cascade_core", "store", "export", "--out", str(path), "--format", fmt,
               "--filter", f.to_json(), "--sort", sort.key, *([] if sort.descending else ["--ascending"])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise StoreError(f"the export failed: {done.stderr.strip()[-2000:]}")
    return int(json.loads(done.stdout.strip().splitlines()[-1])["rows"])


def file_size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


def export_file(token: str, name: str, root: Path = EXPORT_ROOT) -> Path | None:
    """The file a download URL names, or None (unknown token, a name that is not an export, gone)."""
    if not _TOKEN.fullmatch(token) or name not in NAMES:
        return None
    path = root / token / name
    return path if path.is_file() else None


def export_routes(root: Path = EXPORT_ROOT, base: str | None = None) -> list[Any]:
    """The Starlette routes that stream prepared exports (mounted by asgi.py): at the root and, with a
    `server.baseUrlPath`, under it (where the page's links point)."""
    from starlette.requests import Request
    from starlette.responses import FileResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def download(request: Request) -> Response:
        name = str(request.path_params["name"])
        path = export_file(str(request.path_params["token"]), name, root)
        if path is None:
            return PlainTextResponse("No such export (exports are kept for 6 hours; export again).", status_code=404)
        return FileResponse(path, media_type=NAMES[name], filename=name)

    prefixes = {"", base_path() if base is None else base}
    return [Route(prefix + EXPORT_ROUTE, download, methods=["GET", "HEAD"]) for prefix in sorted(prefixes)]
