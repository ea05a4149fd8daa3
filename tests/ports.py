"""A free TCP port on loopback, for starting local servers (the simulator, the endpoint, the dashboard)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (another process could still take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
