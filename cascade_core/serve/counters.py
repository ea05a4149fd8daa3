"""The endpoint's Prometheus metrics, kept by `prometheus_client`.

With `serve --workers N` the CLI sets PROMETHEUS_MULTIPROC_DIR before the workers start: every worker then
writes its values to memory-mapped files there and a scrape of any worker adds them all up (multiprocess mode),
so one scrape gives the whole server's totals. Without it the metrics live in this process's registry.

Figures other objects keep (the log writer's counts, the shadow sampler's) are registered as readers and copied
into the metrics by a background thread every `sync_interval` seconds and on each scrape: a reader named
`*_total` feeds a counter (by the growth since its last read), any other a gauge. Slow readers (the latest
audit's overconfidence rate, read from the store) run less often.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from cascade_core.records import Trace

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir() -> str | None:
    """The directory the workers share their values through, when multiprocess mode is on."""
    return os.environ.get(MULTIPROC_ENV) or None


@dataclass
class _Reader:
    read: Callable[[], float | None]
    metric: Any  # Counter or Gauge
    every: float
    last_value: float = 0.0
    next_at: float = 0.0


@dataclass
class _Readers:
    lock: threading.Lock = field(default_factory=threading.Lock)
    items: dict[str, _Reader] = field(default_factory=dict)


class Metrics:
    """Everything /metrics shows. `observe_run` is called once per cascade run, `observe_request` per request."""

    def __init__(self, tier_names: list[str], *, sync_interval: float = 1.0) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series beside every counter
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = multiprocess_dir() is not None
        self.sync_interval = sync_interval
        reg = self.registry
        self.requests = Counter("cascade_http_requests", "HTTP requests by path and status code",
                                ["path", "status"], registry=reg)
        self.runs = Counter("cascade_runs", "cascade runs (one per chat completion request that ran)", registry=reg)
        self.streams = Counter("cascade_stream_runs", "cascade runs answered as a stream", registry=reg)
        self.tier_answers = Counter("cascade_tier_answers", "runs answered by each tier (the tier mix)", ["tier"],
                                    registry=reg)
        self.tier_calls = Counter("cascade_tier_calls", "steps run on each tier, escalated ones included", ["tier"],
                                  registry=reg)
        for tier in tier_names:  # every tier shows from the start, at 0
            self.tier_answers.labels(tier)
            self.tier_calls.labels(tier)
        self.spend = Counter("cascade_spend_usd", "USD charged for every invoked tier call", registry=reg)
        self.always_large = Counter("cascade_always_large_usd", "USD the same runs would have cost on the last tier",
                                    registry=reg)
        self.escalations = Counter("cascade_escalations", "escalations (a tier not confident, or failed)",
                                   registry=reg)
        self.errors = Counter("cascade_errors", "errors by kind (tier call failures, failed runs, bad requests)",
                              ["kind"], registry=reg)
        self._in_flight = Gauge("cascade_requests_in_flight", "chat completion requests being answered",
                                registry=reg, multiprocess_mode="livesum")
        self.latency = Histogram("cascade_request_duration_seconds", "chat completion time in the server",
                                 buckets=LATENCY_BUCKETS, registry=reg)
        self.added_latency = Histogram("cascade_added_latency_seconds",
                                       "chat completion time in the server minus time spent in tier calls",
                                       buckets=LATENCY_BUCKETS, registry=reg)
        self._readers = _Readers()
        # name -> reader: registered on the next sync like add_reader(name, ...), with the name as its help
        self.gauges: dict[str, Callable[[], float]] = {}
        self._in_flight_n = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- per request ----------------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return self._in_flight_n

    @in_flight.setter
    def in_flight(self, value: int) -> None:
        self._in_flight_n = value
        self._in_flight.set(value)

    def observe_request(self, path: str, status: int) -> None:
        self.requests.labels(path, str(status)).inc()

    def observe_error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def observe_run(self, trace: Trace, seconds: float, stream: bool) -> None:
        self.runs.inc()
        if stream:
            self.streams.inc()
        self.spend.inc(trace.total_cost)
        self.always_large.inc(trace.always_large_cost)
        if trace.escalations:
            self.escalations.inc(trace.escalations)
        for step in trace.steps:
            self.tier_calls.labels(step.tier_name).inc()
            if step.error:
                self.errors.labels(f"tier_{step.call.error_kind or 'other'}").inc()
        if trace.final_tier is not None:
            self.tier_answers.labels(trace.final_tier).inc()
        else:
            self.errors.labels("cascade_failed").inc()
        self.latency.observe(seconds)
        self.added_latency.observe(max(0.0, seconds - trace.latency_ms / 1000))

    # -- figures read from elsewhere -------------------------------------------------------------------------
    def add_reader(self, name: str, help_text: str, read: Callable[[], float | None], *, every: float = 0.0,
                   mode: str = "livesum") -> None:
        """Copy `read()` into the metric `name` on each sync (at most every `every` seconds). A name ending in
        `_total` is a counter fed by the reader's growth; any other is a gauge (`mode`: how workers' values
        combine, e.g. livesum for a backlog, livemax for a figure every worker reads from the same store)."""
        with self._readers.lock:
            if name in self._readers.items:
                raise ValueError(f"metric {name} already has a reader")
            self._add(name, help_text, read, every, mode)

    def _add(self, name: str, help_text: str, read: Callable[[], float | None], every: float, mode: str) -> None:
        """Register one reader (the caller holds the readers' lock)."""
        metric: Any
        if name.endswith("_total"):
            metric = Counter(name.removesuffix("_total"), help_text, registry=self.registry)
        else:
            metric = Gauge(name, help_text, registry=self.registry, multiprocess_mode=mode)  # type: ignore[arg-type]
            metric.set(math.nan)  # unknown until first read, never a made-up 0
        self._readers.items[name] = _Reader(read, metric, every)

    def sync(self) -> None:
        """Copy every due reader's value into its metric. A reader that fails leaves its metric as it was."""
        now = time.monotonic()
        with self._readers.lock:
            for name, read in list(self.gauges.items()):
                if name not in self._readers.items:
                    self._add(name, name.replace("_", " "), read, 0.0, "livesum")
            for name, reader in self._readers.items.items():
                if now < reader.next_at:
                    continue
                reader.next_at = now + reader.every
                try:
                    value = reader.read()
                except Exception as err:  # a figure we cannot read must not break the scrape
                    log.debug("metrics: reading %s failed: %s", name, err)
                    continue
                if isinstance(reader.metric, Counter):
                    grown = float(value or 0.0) - reader.last_value
                    if grown > 0:
                        reader.metric.inc(grown)
                        reader.last_value += grown
                else:
                    reader.metric.set(math.nan if value is None else float(value))

    def start(self) -> Metrics:
        """Sync the readers in the background (so other workers' scrapes see this worker's figures)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cascade-metrics-sync", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.sync_interval):
            self.sync()

    def close(self) -> None:
        """Stop the sync thread after a last sync; in multiprocess mode this worker's live gauges are dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.sync()
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    # -- the scrape --------------------------------------------------------------------------------------------
    def render(self) -> str:
        """The text exposition format: this process's metrics, or every worker's added up."""
        self.sync()
        if not self.multiprocess:
            return generate_latest(self.registry).decode()
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry).decode()
