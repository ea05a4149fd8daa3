"""Run `phoenix serve` with its OTLP/gRPC receiver on loopback too (run by .venv-phoenix's python).

Phoenix binds its HTTP server to PHOENIX_HOST but its gRPC receiver to [::] whatever the settings say; the
tests only send OTLP over HTTP, so gRPC is moved onto 127.0.0.1 (its port: PHOENIX_GRPC_PORT).
"""

from __future__ import annotations

import runpy
import sys

import grpc.aio._server as grpc_server

_insecure = grpc_server.Server.add_insecure_port


def _loopback(self: grpc_server.Server, address: str) -> int:
    return _insecure(self, address.replace("[::]", "127.0.0.1"))


grpc_server.Server.add_insecure_port = _loopback  # type: ignore[method-assign]
sys.argv = ["phoenix", "serve"]
runpy.run_module("phoenix.server.main", run_name="__main__")
