"""Adaptive concurrency per endpoint (AIMD): start low, grow while latency holds, halve on 429s and timeouts.

`--concurrency` is the ceiling. A one-slot server (llama.cpp with one slot, a small vLLM) queues what it cannot
serve; past its capacity every extra request only waits, and a request that waits past the timeout is retried
while the server still generates the first one. The gate keeps each endpoint's in-flight calls near what it
serves without queueing: latency within `LATENCY_SLACK` x the best seen lets the limit grow by about one per
round trip (doubling per round trip until the first sign of saturation: slow start). Once per round (as many
replies as the limit), a median latency above the slack shrinks the limit in proportion (at most by half): on a
queueing server latency grows with the calls in flight, so slow start's overshoot would otherwise stay, every
call waiting behind the others (measured: a one-slot server at 200 ms per call kept at ~5 in flight, 1 s each).
A median, not one reply: answers of different lengths take different times. A rate limit or a timeout halves
the limit, and so does `x-ratelimit-remaining-requests: 0` (fewer requests left than the limit caps it there).
The time a call waits for the gate is its queue time, recorded apart from the model's latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from cascade_core.records import TierCall

START = 2.0
LATENCY_SLACK = 2.0
BACK_OFF_KINDS = frozenset({"rate_limit", "timeout"})


@dataclass
class EndpointGate:
    """In-flight calls to one endpoint, bounded by an additive-increase / multiplicative-decrease limit."""

    ceiling: int
    limit: float = START
    in_flight: int = 0
    best_ms: float | None = None
    slow_start: bool = True  # +1 per good reply (doubling per round trip) until the first back-off, as TCP does
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    history: list[float] = field(default_factory=list)  # the limit after each change (for tests and progress)
    round_ms: list[float] = field(default_factory=list)  # per-attempt latencies of this round's good replies

    def __post_init__(self) -> None:
        self.limit = min(float(self.ceiling), self.limit)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Wait for a free slot; yields the queue time in ms."""
        started = time.perf_counter()
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < max(1, int(self.limit)))
            self.in_flight += 1
        try:
            yield (time.perf_counter() - started) * 1000
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def observe(self, call: TierCall) -> None:
        """Adjust the limit after a finished call."""
        backed_off = call.error_kind in BACK_OFF_KINDS or any(
            a.get("kind") in BACK_OFF_KINDS for a in call.attempt_log)
        left = call.ratelimit_remaining
        if backed_off or left == 0:  # a 429, a timeout, or the endpoint's request budget is spent
            self.limit = max(1.0, self.limit / 2)
            self.slow_start = False
        elif left is not None and left < self.limit:  # x-ratelimit-*: never more in flight than requests left
            self.limit = max(1.0, float(left))
        elif call.ok:
            per_attempt = call.attempt_log[-1]["latency_ms"] if call.attempt_log else call.latency_ms
            if self.best_ms is None or per_attempt < self.best_ms:
                self.best_ms = per_attempt
            allowed = LATENCY_SLACK * self.best_ms + 1.0  # +1 ms: sub-millisecond replies are noise
            if per_attempt <= allowed:
                step = 1.0 if self.slow_start else 1.0 / max(self.limit, 1.0)
                self.limit = min(float(self.ceiling), self.limit + step)
            else:
                self.slow_start = False  # latency rose: the endpoint is near capacity, grow gently from here
            self.round_ms.append(per_attempt)
            if len(self.round_ms) >= max(1, int(self.limit)):
                median = sorted(self.round_ms)[len(self.round_ms) // 2]
                self.round_ms.clear()
                if median > allowed:
                    self.limit = max(1.0, self.limit * max(0.5, allowed / median))
        else:
            return
        self.history.append(self.limit)


class Gates:
    """One gate per endpoint (base URL and model): tiers on one server share nothing but their server's slots."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self._gates: dict[str, EndpointGate] = {}

    def __getitem__(self, endpoint: str) -> EndpointGate:
        gate = self._gates.get(endpoint)
        if gate is None:
            gate = self._gates[endpoint] = EndpointGate(self.ceiling)
        return gate

    def limits(self) -> dict[str, float]:
        return {name: gate.limit for name, gate in self._gates.items()}
