"""One question from the Query page: overrides applied, the cascade run, graded when it is a bundled item, logged.

Returns the trace with the page's own timings, so the page can show (and tests can check) what it adds on top
of the model calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig, validate_config
from cascade_core.cascade.runtime import Runtime
from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions
from cascade_core.cascade.walk import Cascade, RunFailed
from cascade_core.datasets.loader import Dataset
from cascade_core.records import SignalName, TierCall, Trace
from cascade_core.store.connection import StoreError
from cascade_core.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryOverrides:
    """Which tiers take part (indexes into the configured tiers, in order), their thresholds, the signal."""

    tiers: tuple[int, ...]
    thresholds: tuple[float, ...]  # one per selected tier but the last
    signal: SignalName


@dataclass
class QueryResult:
    trace: Trace
    model_ms: float  # time spent waiting on model calls
    cascade_ms: float  # the cascade's own work (parsing, decisions, accounting)
    setup_ms: float  # overrides and item lookup
    log_ms: float  # writing the run to the store
    log_error: str | None = None
    shadow: threading.Thread | None = None  # the background shadow call, when one was started

    @property
    def own_ms(self) -> float:
        """What this run added beyond the model calls (the page adds its rendering on top)."""
        return self.setup_ms + self.cascade_ms + self.log_ms


@dataclass(frozen=True)
class CallProgress:
    """One tier call starting or finished, for a page that shows progress while a slow query runs."""

    stage: Literal["start", "done"]
    tier_index: int  # position among the tiers taking part
    tier_name: str
    model: str
    call: TierCall | None = None  # set when done


ProgressHook = Callable[[CallProgress], None]


class _ReportingClient(TierClient):
    """A tier client that reports each call before and after making it, with the wrapped client's settings."""

    def __init__(self, inner: TierClient, index: int, report: ProgressHook) -> None:
        self.__dict__.update(inner.__dict__)
        self._inner, self._index, self._report = inner, index, report

    def call(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        tier = self._inner.tier
        self._report(CallProgress("start", self._index, tier.name, tier.model))
        done = self._inner.call(messages, options)
        self._report(CallProgress("done", self._index, tier.name, tier.model, done))
        return done


def with_progress(cascade: Cascade, report: ProgressHook) -> Cascade:
    """The same cascade whose tier calls report their progress (the clients and their connections are shared)."""
    clients: list[TierClient] = [_ReportingClient(c, i, report) for i, c in enumerate(cascade.clients)]
    return Cascade(cascade.config, clients)


def default_overrides(config: CascadeConfig) -> QueryOverrides:
    return QueryOverrides(tuple(range(len(config.tiers))), tuple(config.thresholds), config.signal)


def cascade_for(runtime: Runtime, overrides: QueryOverrides) -> Any:
    """A cascade over the selected tiers (sharing the runtime's clients) with the signal overridden; behind the
    router when routes are configured and every tier takes part."""
    config = runtime.config
    if list(overrides.tiers) == list(range(len(config.tiers))):
        if overrides.signal == config.signal:
            return runtime.answerer
        return Cascade(config.with_overrides(signal=overrides.signal), runtime.clients)
    if len(overrides.tiers) < 2:
        raise ValueError("pick at least two tiers: a cascade needs a tier to escalate to")
    data = config.model_dump()
    data["tiers"] = [data["tiers"][i] for i in overrides.tiers]
    data["thresholds"] = list(overrides.thresholds)
    data["signal"] = overrides.signal
    return Cascade(validate_config(data, source="query overrides"), [runtime.clients[i] for i in overrides.tiers])


def run_query(runtime: Runtime, store: Store | None, question: str, overrides: QueryOverrides,
              dataset: Dataset | None = None, *, on_call: ProgressHook | None = None,
              shadow: bool = False) -> QueryResult:
    """Run one question through the (overridden) cascade and log it with source "query". `on_call` hears of
    each tier call as it starts and ends. `shadow` (opt-in): when a non-final tier accepted, also ask the last
    tier in a background thread and store the shadow label."""
    started = time.perf_counter()
    cascade = cascade_for(runtime, overrides)
    if on_call is not None and isinstance(cascade, Cascade):  # a routed cascade reports no per-tier progress
        cascade = with_progress(cascade, on_call)
    item = dataset.by_question().get(question.strip()) if dataset is not None else None
    setup_ms = (time.perf_counter() - started) * 1000
    try:
        trace = cascade.run(question, item=item, source="query", dataset=dataset.name if item and dataset else None,
                            thresholds=list(overrides.thresholds))
    except RunFailed as failed:  # a bug of ours after tiers were paid: the page shows and logs what they returned
        log.warning("the cascade failed after tier calls", exc_info=failed)
        trace = failed.trace
    log_ms, log_error = 0.0, None
    if store is not None:
        logged = time.perf_counter()
        try:
            store.log_trace(trace)
        except (StoreError, duckdb.Error) as err:  # the trace is still shown; the page says it was not logged
            log_error = str(err)
        log_ms = (time.perf_counter() - logged) * 1000
    thread = _shadow(runtime, store, trace, item) if shadow and store is not None and log_error is None else None
    return QueryResult(trace=trace, model_ms=trace.latency_ms, cascade_ms=trace.overhead_ms, setup_ms=setup_ms,
                       log_ms=log_ms, log_error=log_error, shadow=thread)


def _shadow(runtime: Runtime, store: Store, trace: Trace, item: Any) -> threading.Thread | None:
    from cascade_core.routing.shadow import ShadowSampler
    from cascade_core.store.routing_tables import insert_shadow_labels

    gold = {trace.question.strip(): (item.gold, item.answer_type)} if item is not None else {}
    sampler = ShadowSampler(1.0, runtime.clients[-1], trace.signal, gold=gold)
    return sampler.submit_thread(trace, lambda label: insert_shadow_labels(store, [label]), force=True)
