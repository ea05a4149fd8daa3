"""Helpers for the endpoint tests: start `python -m cascade_core serve` as a real process and read its log.

(No tests here; the test_serve* modules import these helpers.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cascade_core.store import LakeTarget, Store
from tests.polling import wait_while_progressing
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]

FAST_CONFIG = """
[retry]
max_retries = 1
backoff_base = 0.001
backoff_max = 0.01

[[tiers]]
name = "small"
model = "sim-llama-3.1-8b"
input_price = 0.20
output_price = 0.20

[[tiers]]
name = "mid"
model = "sim-llama-3.1-70b"
input_price = 0.90
output_price = 0.90

[[tiers]]
name = "large"
model = "sim-llama-3.1-405b"
input_price = 3.00
output_price = 3.00
"""



def lake_toml(lake: LakeTarget, dsn_env: str | None = None) -> str:
    """A [store] table for `lake` (tests only: the DSN inline, no password in it; or the name of the variable
    that holds it, as deployments do)."""
    dsn = f'dsn_env = "{dsn_env}"' if dsn_env else f'dsn = "{lake.dsn}"'
    if lake.catalog == "sqlite":
        dsn = f'catalog_path = "{lake.dsn}"'
    return (f'\n[store]\nbackend = "ducklake"\ncatalog = "{lake.catalog}"\n{dsn}\n'
            f'data_path = "{lake.data_path}"\nmaintenance_every = {lake.maintenance_every}\n')


class ServerProc:
    """One `serve` process on a free port, logging to the DuckDB file `store_path`, or to `lake`."""

    def __init__(self, store_path: Path, simulator_url: str, *args: str, env: dict[str, str] | None = None,
                 lake: LakeTarget | None = None, config_text: str = FAST_CONFIG, ready_timeout: float = 30.0,
                 workdir: Path | None = None, dsn_env: str | None = None, degraded_ok: bool = False) -> None:
        """`workdir`: where its config and stderr go (default: beside the store); `dsn_env`: the variable that
        holds the lake's DSN (set it in `env`); `degraded_ok`: ready once /healthz answers at all (a server
        started while its store is unreachable says 503 degraded)."""
        self.ready_codes = (200, 503) if degraded_ok else (200,)
        self.port = free_port()
        self.store_path = store_path
        workdir = workdir or store_path.parent
        config = workdir / f"serve-{self.port}.toml"
        config.write_text(config_text + (lake_toml(lake, dsn_env) if lake else ""), encoding="utf-8")
        store_args = [] if lake else ["--store", str(store_path)]
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        if env is None or "CASCADE_SERVE_TOKEN" not in env:
            full_env.pop("CASCADE_SERVE_TOKEN", None)
        self.stderr_path = workdir / f"serve-{self.port}.err"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cascade_core", "serve", "--port", str(self.port), *store_args,
             "--config", str(config), "--simulator-url", simulator_url, "--flush-interval", "0.2", *args],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=self._stderr,
        )
        self.wait_ready(ready_timeout)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def wait_ready(self, stall: float = 30.0) -> None:
        """Until /healthz answers. On a loaded shared machine startup can take long, so there is no fixed
        deadline: it fails when serve exits, or uses no CPU for `stall` seconds (hung, not slow)."""
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}")
            try:
                return httpx.get(f"{self.root}/healthz", timeout=2.0).status_code in self.ready_codes
            except httpx.HTTPError:
                return False

        try:
            wait_while_progressing(ready, self.proc.pid, stall=stall, what="serve's /healthz")
        except AssertionError as err:
            raise AssertionError(f"{err}: {self.stderr()}") from None

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60.0) -> int:
        self.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._stderr.close()
        return code


def logged_runs(store_path: Path | LakeTarget, where: str = "source = 'api'") -> list[tuple[str, int]]:
    """(run_id, n) per logged run, read through a Store, as the dashboard does."""
    with Store(store_path, lock_wait=10.0) as store:
        return [(r[0], int(r[1])) for r in store.execute(f"SELECT run_id, count(*) FROM all_runs WHERE {where} "
                                                          "GROUP BY run_id")]


def wait_for_run(store_path: Path, run_id: str, timeout: float = 10.0):
    """The logged trace of `run_id`, once committed (the file is let go between polls: the server's turn)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Store(store_path, lock_wait=10.0) as store:
            trace = store.get_trace(run_id)
        if trace is not None:
            return trace
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} not logged within {timeout}s")
