"""The simulator on loopback in a background thread: `with EmbeddedSimulator() as sim: ... sim.base_url`."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from typing import Any, Literal, TypedDict

import httpx
import uvicorn

from cascade_core.cascade.simulator_config import SimulatorConfig
from cascade_core.datasets.loader import Dataset
from cascade_core.simulator.server import SimState, create_app

HOST = "127.0.0.1"


class ServerOptions(TypedDict):
    loop: Literal["asyncio", "uvloop"]
    http: Literal["h11", "httptools"]


def fast_server_options() -> ServerOptions:
    """uvloop and httptools when installed (several times faster), else uvicorn's pure-Python defaults."""
    options: ServerOptions = {"loop": "asyncio", "http": "h11"}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options


class EmbeddedSimulator:
    """Serves the simulated tiers on 127.0.0.1 (a free port unless one is given) until `stop()`."""

    def __init__(self, settings: SimulatorConfig | None = None, *, dataset: Dataset | None = None,
                 port: int = 0, startup_timeout: float = 10.0) -> None:
        self.app = create_app(settings or SimulatorConfig(), dataset)
        self._port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. http://127.0.0.1:PORT/v1."""
        return f"{self.root_url}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> EmbeddedSimulator:
        """Start serving and wait until /healthz answers. Starting twice is a no-op."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, self._port))
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                **fast_server_options())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"cascade-simulator-{self.port}", daemon=True)
        self._thread.start()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    break
                try:
                    if client.get(f"{self.root_url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"the embedded simulator did not start within {self._startup_timeout:g} s")

    def stop(self) -> None:
        """Shut the server down and join its thread. Safe to call more than once."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if sock is not None:
            sock.close()

    def stats(self) -> dict[str, Any]:
        """Call counts: {"total": n, "by_model": {model: n}, "events": {"rate_limit": n, ...}}."""
        return self.state.stats()

    def reset(self) -> None:
        """Zero the call counters."""
        self.state.reset()

    def update_settings(self, **knobs: Any) -> SimulatorConfig:
        """Change knobs at run time, e.g. update_settings(error_rate=0.5, faults_by_model={...})."""
        return self.state.update(knobs)

    @property
    def settings(self) -> SimulatorConfig:
        return self.state.settings

    def __enter__(self) -> EmbeddedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
