"""Poll with a deadline instead of sleeping and hoping: tests wait for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
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


def _cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks) used so far by process `pid` and all its descendants; 0 once it is gone."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return total


def wait_while_progressing(condition: Callable[[], T], pid: int, *, stall: float = 30.0, limit: float = 600.0,
                           interval: float = 0.05, what: str = "") -> T:
    """The first truthy value of `condition()`, polled for as long as process `pid` (with its children) keeps
    using CPU: a process starting slowly on a loaded machine is waited for, one that has used no CPU for `stall`
    seconds (hung, deadlocked, waiting on something that never comes) fails the test, as does `limit`."""
    started = last_change = time.monotonic()
    ticks = _cpu_ticks(pid)
    while True:
        value = condition()
        if value:
            return value
        now = time.monotonic()
        current = _cpu_ticks(pid)
        if current != ticks:
            ticks, last_change = current, now
        if now - last_change > stall:
            raise AssertionError(f"{what or condition}: no progress (no CPU used) for {stall:.0f} s")
        if now - started > limit:
            raise AssertionError(f"{what or condition}: still not there after {limit:.0f} s")
        time.sleep(interval)
