"""Live collection: every (item, tier) answer at most once, concurrently, cached by request hash in the store.

- Bounded concurrency: `concurrency` worker coroutines share one queue of (item, tier) cells, item-major, so an
  interrupted sweep leaves whole items behind it. `concurrency` is the ceiling: each endpoint's in-flight calls
  follow an adaptive (AIMD) limit (sweep/adaptive.py), and the time a call waits for it is its queue_ms.
- One fresh TierClient (and so one AsyncOpenAI) per tier per call of `acollect`: SDK clients bind to the event
  loop they were first used on.
- Cache first: a cell whose answer (and, for the verify signal, verify) response is cached costs nothing. The
  last tier never gets a verify call (it always answers): under verify its confidence is missing (NaN). Each
  response is written as it completes: a writer task commits whatever finished since its last commit, in one
  small transaction off the event loop (at most every WRITE_GAP_S), so a kill loses at most the calls in
  flight and the answers of the last few tens of milliseconds.
- Errors: a call that still fails after the client's retries is written to the cache with its error, never as
  a success; the next sweep retries it. In the outcome table it has no answer and counts as wrong.
- Stop: `stop` (a threading.Event) is checked before every call; in-flight calls finish and are cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.clock import utc_now
from cascade_core.datasets.loader import Dataset, Item
from cascade_core.records import TierCall
from cascade_core.security.pii import redact_pii
from cascade_core.security.redact import redact
from cascade_core.store.connection import StoreError
from cascade_core.store.intents import InFlight, drop_intents, take_in_flight
from cascade_core.store.store import Store
from cascade_core.store.sweeps import cached_calls, write_calls
from cascade_core.sweep.adaptive import Gates
from cascade_core.sweep.call_cache import cache_endpoint, call_to_row, repriced, request_hash, row_to_call
from cascade_core.sweep.collect_outcomes import (
    Cell,
    Request,
    answer_request,
    cell_confidence,
    needs_verify,
    outcome_frame,
    verify_request,
)


@dataclass(frozen=True)
class CollectProgress:
    """Where a collection stands. `done`/`total` count (item, tier) cells; `calls` and `spend` only new calls."""

    done: int
    total: int
    cached: int
    calls: int
    errors: int
    spend: float  # USD spent on calls made by this collection
    elapsed_s: float
    eta_s: float | None  # None until a first new call has finished

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def describe(self) -> str:
        eta = "—" if self.eta_s is None else f"{self.eta_s:,.0f} s"
        return (f"{self.done:,}/{self.total:,} answers ({self.cached:,} cached, {self.calls:,} new calls, "
                f"{self.errors:,} errors) · spent ${self.spend:.4f} · {self.elapsed_s:,.1f} s elapsed · "
                f"time left {eta}")


@dataclass
class CollectResult:
    dataset: str
    tiers: tuple[str, ...]
    signal: str
    simulated: bool
    outcomes: pd.DataFrame  # items with every tier collected (every item when `complete`)
    complete: bool
    stopped: bool
    progress: CollectProgress
    items: tuple[Item, ...]
    calls: dict[str, TierCall] = field(default_factory=dict)  # request hash -> call, for replaying runs
    endpoints: tuple[str, ...] = ()
    error_examples: tuple[str, ...] = ()
    in_flight: InFlight | None = None  # calls a killed earlier run had sent: possibly paid twice


WRITE_GAP_S = 0.02  # pause between cache commits; a kill loses in-flight calls plus at most ~this much
ProgressFn = Callable[[CollectProgress], None]


class _Tracker:
    def __init__(self, total: int, callback: ProgressFn | None) -> None:
        self.total, self.callback = total, callback
        self.done = self.cached = self.calls = self.errors = 0
        self.fresh_cells = 0
        self.spend = 0.0
        self.started = time.perf_counter()

    def snapshot(self) -> CollectProgress:
        elapsed = time.perf_counter() - self.started
        rate = self.fresh_cells / elapsed if self.fresh_cells and elapsed > 0 else None
        eta = (self.total - self.done) / rate if rate else (0.0 if self.done == self.total else None)
        return CollectProgress(self.done, self.total, self.cached, self.calls, self.errors, self.spend, elapsed, eta)

    def record(self, new_calls: Sequence[TierCall], cached: bool, finished: bool = True) -> None:
        self.done += int(finished)
        self.cached += int(cached and finished)
        self.fresh_cells += int(finished and not cached)
        self.calls += len(new_calls)
        self.errors += sum(1 for c in new_calls if not c.ok)
        self.spend += sum(c.cost for c in new_calls)
        if self.callback is not None:
            self.callback(self.snapshot())


class _WriterStopped(Exception):
    """The cache writer stopped (the store failed): a call that cannot be recorded first is not sent."""


_Pending = list[dict[str, Any]] | tuple[dict[str, Any], "asyncio.Future[None]"] | None


class _Collector:
    """State of one collection run inside one event loop."""

    def __init__(self, config: CascadeConfig, clients: list[TierClient], endpoints: list[str], store: Store,
                 dataset: str, stop: threading.Event, concurrency: int) -> None:
        self.config, self.clients, self.endpoints, self.store = config, clients, endpoints, store
        self.dataset, self.stop, self.signal = dataset, stop, get_signal(config.signal)
        self.cache: dict[str, TierCall] = {}  # successes only (cached or new)
        self.used: dict[str, TierCall] = {}  # every call the cells rest on, errors included (for replays)
        self.cells: dict[tuple[str, int], Cell] = {}
        # Cache rows to write, intents (a request about to be sent, with the future its sender awaits), or None.
        self.pending: asyncio.Queue[_Pending] = asyncio.Queue()
        self.owner = f"sweep:{dataset}"
        self.writer_task: asyncio.Task[None] | None = None
        self.errors: list[str] = []
        self.write_error: str | None = None
        self.gates = Gates(concurrency)

    async def lookup(self, requests: list[tuple[str, list[dict[str, str]]]]) -> None:
        """Load cached successes for these (hash, messages) into memory."""
        messages = dict(requests)
        frame = await asyncio.to_thread(cached_calls, self.store, list(messages))
        for row in frame.to_dict("records"):
            self.cache[row["request_hash"]] = row_to_call(row, messages[row["request_hash"]])

    async def _request(self, k: int, item: Item, kind: str, request: Request, new: list[TierCall]) -> TierCall:
        messages, params, options = request
        key = request_hash(self.endpoints[k], params)
        if key not in self.cache and kind == "verify":  # its hash was unknown until the answer came
            await self.lookup([(key, messages)])
        if key in self.cache:  # a price-table cost is recomputed at today's prices; a billed cost is kept
            cached = repriced(self.cache[key], self.config.tiers[k])
            self.used[key] = cached
            return cached
        client = self.clients[k]
        gate = self.gates[f"{client.base_url}|{client.tier.model}"]
        async with gate.slot() as queued_ms:
            await self._intend(key, item, k)  # recorded before it is sent: a kill -9 leaves it behind as in flight
            call = await client.acall(messages, options)
        gate.observe(call)
        # waiting for a slot (the gate's, then the tier's max_in_flight) is not model latency
        call = dataclasses.replace(call, queue_ms=queued_ms + call.queue_ms)
        new.append(call)
        self.used[key] = call
        if call.ok:
            self.cache[key] = call
        elif len(self.errors) < 5:
            self.errors.append(f"{item.id} / {call.tier_name}: {call.error}")
        self.pending.put_nowait([call_to_row(call, request_hash=key, endpoint=self.endpoints[k], kind=kind,
                                             item_id=item.id, dataset=self.dataset,
                                             redact=tuple(self.config.privacy.redact))])
        return call

    async def _intend(self, key: str, item: Item, k: int) -> None:
        """Wait until the request's intent is committed (group commit with the writer's next batch)."""
        tier = self.config.tiers[k]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.put_nowait(({"owner": self.owner, "request_key": key, "item_id": item.id, "tier_name": tier.name,
                                  "model": tier.model, "started_at": utc_now()}, done))
        writer = self.writer_task
        if writer is None:
            await done
        else:  # a writer that stopped (store error) must not leave this call waiting for ever
            await asyncio.wait({done, writer}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                raise _WriterStopped
        done.result()

    async def run_cell(self, item: Item, k: int, tracker: _Tracker) -> None:
        new: list[TierCall] = []
        call = await self._request(k, item, "answer", answer_request(self.clients[k], item.question, self.signal),
                                   new)
        confidence = cell_confidence(self.signal, call, None)
        verify = None
        if needs_verify(self.signal, call, confidence, last=k == len(self.clients) - 1):
            if self.stop.is_set():  # stopped between the answer and its verify call: the cell stays open
                tracker.record(new, cached=False, finished=False)
                return
            request = verify_request(self.clients[k], item.question, str(confidence.answer), self.signal)
            verify = await self._request(k, item, "verify", request, new)
            confidence = cell_confidence(self.signal, call, verify)
        self.cells[(item.id, k)] = Cell(item, k, call, verify, confidence)
        tracker.record(new, cached=not new)

    async def writer(self) -> None:
        """Commit finished responses and the intents of calls about to start in small transactions, off the loop."""
        while True:
            entries = [await self.pending.get()]
            while not self.pending.empty():
                entries.append(self.pending.get_nowait())
            rows: list[dict[str, Any]] = []
            intents: list[dict[str, Any]] = []
            waiting: list[asyncio.Future[None]] = []
            for entry in entries:
                if isinstance(entry, list):
                    rows.extend(entry)
                elif entry is not None:
                    intents.append(entry[0])
                    waiting.append(entry[1])
            try:
                await asyncio.to_thread(write_calls, self.store, rows, intents=intents)
            except (duckdb.Error, OSError) as err:  # a full disk, a store gone read-only: stop, keep what is saved
                self.write_error = f"{self.store.name}: could not save answers ({redact(str(err))}); the sweep stopped"
                self.stop.set()
                for future in waiting:  # these calls are not sent: their workers stop
                    if not future.done():
                        future.set_exception(_WriterStopped())
                return
            for future in waiting:
                if not future.done():
                    future.set_result(None)
            if None in entries:
                return
            await asyncio.sleep(WRITE_GAP_S)  # let answers gather: fewer, larger commits hold the GIL less


async def acollect(dataset: Dataset, config: CascadeConfig, base_urls: Sequence[str], store: Store, *,
                   concurrency: int = 16, limit: int | None = None, progress: ProgressFn | None = None,
                   stop: threading.Event | None = None) -> CollectResult:
    """Collect every (item, tier) of `dataset` (the first `limit` items) on the configured tiers; see module doc."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    stop = stop or threading.Event()
    items = dataset.items[:limit] if limit is not None else dataset.items
    clients = [TierClient(t, u, config.retry, seed=i) for i, (t, u) in enumerate(zip(config.tiers, base_urls,
                                                                                      strict=True))]
    endpoints = [cache_endpoint(config, t, u) for t, u in zip(config.tiers, base_urls, strict=True)]
    col = _Collector(config, clients, endpoints, store, dataset.name, stop, concurrency)
    try:
        in_flight: InFlight | None = await asyncio.to_thread(take_in_flight, store, col.owner)
    except (duckdb.Error, OSError, StoreError):  # a read-only or failing store: the writer reports it below
        in_flight = None
    answers = []
    for item in items:
        for k, client in enumerate(clients):
            messages, params, _ = answer_request(client, item.question, col.signal)
            answers.append((request_hash(endpoints[k], params), messages))
    await col.lookup(answers)
    if col.signal.verify is not None:  # prefetch the verify calls of cached answers
        await col.lookup(_cached_verify_requests(col, items))
    tracker = _Tracker(len(items) * len(clients), progress)
    queue = [(item, k) for item in items for k in range(len(clients))]
    position = iter(range(len(queue)))

    async def worker() -> None:
        for i in position:  # a shared iterator: each cell is taken by exactly one worker
            if stop.is_set():
                return
            try:
                await col.run_cell(*queue[i], tracker)
            except _WriterStopped:  # acollect raises the writer's StoreError once every worker has stopped
                return

    writer = col.writer_task = asyncio.create_task(col.writer())
    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, max(len(queue), 1)))))
    finally:
        col.pending.put_nowait(None)
        await writer
        for client in clients:
            await client.aclose()  # the SDK client is bound to this loop
    if col.write_error is not None:
        raise StoreError(col.write_error + "; answers saved before are kept, rerun to resume")
    # Every call sent is answered in the cache (a stop lets calls in flight finish), so none is in flight any
    # more. A cancelled or crashed collection never gets here: its intents tell the next run what was in flight.
    await asyncio.to_thread(drop_intents, store, col.owner)
    return dataclasses.replace(_result(dataset, config, col, items, tracker, stop), in_flight=in_flight)


def _cached_verify_requests(col: _Collector, items: Sequence[Item]) -> list[tuple[str, list[dict[str, str]]]]:
    out = []
    for item in items:
        for k, client in enumerate(col.clients):
            _, params, _ = answer_request(client, item.question, col.signal)
            call = col.cache.get(request_hash(col.endpoints[k], params))
            if call is None:
                continue
            conf = cell_confidence(col.signal, call, None)
            if needs_verify(col.signal, call, conf, last=k == len(col.clients) - 1):
                v_messages, v_params, _ = verify_request(client, item.question, str(conf.answer), col.signal)
                out.append((request_hash(col.endpoints[k], v_params), v_messages))
    return out


def _result(dataset: Dataset, config: CascadeConfig, col: _Collector, items: Sequence[Item], tracker: _Tracker,
            stop: threading.Event) -> CollectResult:
    t = len(config.tiers)
    whole = [item for item in items if all((item.id, k) in col.cells for k in range(t))]
    cells = [col.cells[(item.id, k)] for item in whole for k in range(t)]
    outcomes = outcome_frame(cells, [tier.name for tier in config.tiers])
    kinds = tuple(config.privacy.redact)
    if kinds and "answer" in outcomes:  # graded on the original; what is saved and shown is redacted
        outcomes["answer"] = outcomes["answer"].map(lambda a: redact_pii(a, kinds) if isinstance(a, str) else a)
    simulated = any(c.call.simulated for c in cells) or config.uses_embedded
    return CollectResult(
        dataset=dataset.name, tiers=tuple(tier.name for tier in config.tiers), signal=config.signal,
        simulated=simulated, outcomes=outcomes, complete=len(whole) == len(items), stopped=stop.is_set(),
        progress=tracker.snapshot(), items=tuple(whole), calls=dict(col.used), endpoints=tuple(col.endpoints),
        error_examples=tuple(col.errors),
    )


def collect(
    dataset: Dataset, config: CascadeConfig, base_urls: Sequence[str], store: Store, **kwargs: Any
) -> CollectResult:
    """Synchronous wrapper: runs `acollect` in a fresh event loop (call it from a worker thread in a web app)."""
    return asyncio.run(acollect(dataset, config, base_urls, store, **kwargs))
