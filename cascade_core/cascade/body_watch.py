"""Watches each reply's body as it arrives, for both of the SDK's transports (httpx and aiohttp), through the HTTP
client's event hooks.

- A deadline for the whole attempt. The HTTP clients' timeout bounds each wait for bytes, not the reply: a gateway
  that trickles the body (or sends keep-alive whitespace, as some do for non-streamed requests) kept a call with
  `timeout = 5` going for as long as it liked. Past the tier's timeout an unfinished body is a timeout
  (AttemptDeadline, a ReadTimeout, so the SDK reports APITimeoutError).
- A connection that breaks after the status line (reset mid-body, fewer bytes than content-length): the server
  answered, so the model may have generated and billed the reply. BodyCutOff says how far it got, so the attempt
  is named as such and charged at an estimate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2

DEADLINE = "cascade.deadline"  # request extension: time.monotonic() after which the reply is too late


class AttemptDeadline(httpx2.ReadTimeout):
    """The reply's body was still arriving when the attempt's time was up."""

    def __init__(self, status: int, received: int, timeout: float) -> None:
        super().__init__(f"HTTP {status} reply still arriving after {timeout:g} s ({received:,} bytes received)")
        self.status, self.received, self.timeout = status, received, timeout


class BodyCutOff(Exception):
    """The connection failed after the status line, with `received` of `expected` (None: unknown) bytes read."""

    def __init__(self, status: int, received: int, expected: int | None) -> None:
        of = f" of {expected:,}" if expected is not None else ""
        super().__init__(f"connection dropped after HTTP {status} with {received:,}{of} bytes of the body received")
        self.status, self.received, self.expected = status, received, expected

    @property
    def billed(self) -> bool:
        """A 2xx reply was being sent: the model generated it and the call may have been charged."""
        return 200 <= self.status < 300


class _Watch:
    """One reply's bookkeeping: bytes so far against content-length and the deadline."""

    def __init__(self, response: httpx2.Response, timeout: float) -> None:
        self.status = response.status_code
        self.deadline = response.request.extensions.get(DEADLINE, time.monotonic() + timeout)
        self.timeout = timeout
        length = response.headers.get("content-length", "")
        self.expected = int(length) if length.isdigit() else None
        self.received = 0

    def chunk(self, data: bytes) -> bytes:
        self.received += len(data)
        complete = self.expected is not None and self.received >= self.expected
        if not complete and time.monotonic() > self.deadline:
            raise AttemptDeadline(self.status, self.received, self.timeout)
        return data

    def cut(self) -> BodyCutOff:
        return BodyCutOff(self.status, self.received, self.expected)


class _SyncBody(httpx2.SyncByteStream):
    def __init__(self, inner: Any, watch: _Watch) -> None:
        self._inner, self._watch = inner, watch

    def __iter__(self) -> Iterator[bytes]:
        try:
            for data in self._inner:
                yield self._watch.chunk(data)
        except httpx2.TimeoutException:
            raise
        except Exception as err:
            raise self._watch.cut() from err

    def close(self) -> None:
        self._inner.close()


class _AsyncBody(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, watch: _Watch) -> None:
        self._inner, self._watch = inner, watch

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._inner:
                yield self._watch.chunk(data)
        except httpx2.TimeoutException:
            raise
        except Exception as err:
            raise self._watch.cut() from err

    async def aclose(self) -> None:
        await self._inner.aclose()


def sync_hooks(timeout: float) -> dict[str, list[Callable[[Any], None]]]:
    """Event hooks for an httpx2.Client whose attempts may last at most `timeout` seconds."""

    def stamp(request: httpx2.Request) -> None:
        request.extensions[DEADLINE] = time.monotonic() + timeout

    def watch(response: httpx2.Response) -> None:
        response.stream = _SyncBody(response.stream, _Watch(response, timeout))

    return {"request": [stamp], "response": [watch]}


def async_hooks(timeout: float) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """The same for an httpx2.AsyncClient (the SDK's aiohttp client is one)."""

    async def stamp(request: httpx2.Request) -> None:
        request.extensions[DEADLINE] = time.monotonic() + timeout

    async def watch(response: httpx2.Response) -> None:
        response.stream = _AsyncBody(response.stream, _Watch(response, timeout))

    return {"request": [stamp], "response": [watch]}
