"""A real Arize Phoenix (from the test-only .venv-phoenix) on free loopback ports, offline, for trace tests.

Its telemetry and external resources are switched off, its database lives in a temp dir, and it is
stopped and deleted at the end. (No tests here.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PHOENIX_PYTHON = ROOT / ".venv-phoenix" / "bin" / "python"
OFFLINE = {  # no phoning home: usage telemetry off, no downloads (web fonts, sandbox binaries)
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "DO_NOT_TRACK": "1",
}


def phoenix_available() -> bool:
    return PHOENIX_PYTHON.exists() and (ROOT / ".venv-phoenix" / ".requirements.sha").exists()


class LocalPhoenix:
    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="cascade-phoenix-")
        self.log_path = Path(self.workdir) / "phoenix.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> LocalPhoenix:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.workdir, **OFFLINE,
               "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(self.port), "PHOENIX_GRPC_PORT": str(free_port()),
               "PHOENIX_WORKING_DIR": self.workdir}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(PHOENIX_PYTHON), str(ROOT / "tests" / "phoenix_launch.py")],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"phoenix not ready after {timeout:.0f} s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def spans(self, project: str = "default") -> list[dict[str, Any]]:
        """Every span Phoenix holds for `project` (its REST API, newest first, paged)."""
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = httpx.get(f"{self.url}/v1/projects/{project}/spans", params=params, timeout=30)
            if response.status_code == 404:
                return out
            response.raise_for_status()
            body = response.json()
            out.extend(body["data"])
            cursor = body.get("next_cursor")
            if not cursor:
                return out

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
