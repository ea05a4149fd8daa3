"""Poll with a deadline instead of sleeping and hoping: tests wait for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.02, what: str = "") -> T:
    """The first truthy value of `condition()`, polled until `timeout` seconds; fails the test after that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


def settled(read: Callable[[], T], quiet: float = 0.2, timeout: float = 10.0) -> T:
    """`read()` once it has stopped changing for `quiet` seconds (e.g. a server's request count after a kill)."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {timeout:.0f} s: {last!r}")
        time.sleep(0.02)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
    return last
