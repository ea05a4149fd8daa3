"""The endpoint's lifespan: what starts inside the server's event loop and how it shuts down.

Startup builds the runtime (tier clients, the embedded simulator when a tier needs it, the router), the log
writer, the metrics, DuckLake maintenance, shadow sampling and tracing; shutdown lets cancelled requests log
their runs, then flushes and closes each in turn.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.runtime import Runtime, build_runtime
from cascade_core.serve.counters import Metrics
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.state import ServeSettings, ServeState
from cascade_core.serve.store_metrics import add_store_readers
from cascade_core.store.lake import LakeTarget
from cascade_core.store.location import describe_location, store_location
from cascade_core.store.maintenance import MaintenanceTimer
from cascade_core.store.store import Store
from cascade_core.telemetry.exporter import Tracing


async def _close_clients(runtime: Runtime) -> None:
    if runtime.router is not None:
        await runtime.router.router.embedder.aclose()
    routed = [c for c in runtime.router.route_clients.values() if c not in runtime.clients] if runtime.router else []
    for client in runtime.clients + routed:
        async_client = client._async  # built lazily in this loop; close it here, in the same loop
        if async_client is not None:
            await async_client.close()
            client._async = None


def _start_shadow(state: ServeState, config: CascadeConfig) -> None:
    from cascade_core.datasets.loader import load_bundled
    from cascade_core.routing.shadow import ShadowSampler
    from cascade_core.routing.shadow_sink import ShadowSink

    gold = {item.question.strip(): (item.gold, item.answer_type) for item in load_bundled().items}
    state.shadow = shadow = ShadowSampler(config.shadow.rate, state.runtime.clients[-1], config.signal,
                                          seed=config.shadow.seed, gold=gold)
    location = store_location(config)
    state.shadow_sink = sink = ShadowSink(lambda: Store(location, lock_wait=5.0),
                                          describe_location(location)).start()
    gauges = state.metrics.gauges
    gauges["cascade_shadow_sampled_total"] = lambda: shadow.sampled
    gauges["cascade_shadow_labels_written_total"] = lambda: sink.written
    gauges["cascade_shadow_failed_total"] = lambda: shadow.failed
    gauges["cascade_shadow_spend_usd_total"] = lambda: shadow.spend


def _embedding_cache(config: CascadeConfig, location: Any) -> Any:
    """Route embeddings answered from memory and kept in the store (routing/stored_cache.py)."""
    from cascade_core.routing.stored_cache import StoredEmbeddingCache

    return StoredEmbeddingCache(lambda: Store(location, lock_wait=5.0), config.embedding.model,
                                name=describe_location(location)).start()


def serve_lifespan(config: CascadeConfig, settings: ServeSettings, *,
                   simulator: Any = None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan. The runtime (and the embedded simulator, if a tier needs it) and the log writer start
    inside the server's event loop; shutdown flushes the log after in-flight requests finished."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        location = store_location(config)  # the run log: the DuckDB file, or a DuckLake shared by every server
        vectors = _embedding_cache(config, location) if config.routes else None
        runtime = build_runtime(config, simulator=simulator, embedding_cache=vectors)
        writer = LogWriter(lambda: Store(location, lock_wait=5.0), batch_size=settings.batch_size,
                           interval=settings.flush_interval, name=describe_location(location),
                           max_backlog=settings.max_backlog).start()
        upkeep = None
        if isinstance(location, LakeTarget) and location.maintenance_every > 0:
            upkeep = MaintenanceTimer(lambda: Store(location), location.maintenance_every).start()
        metrics = Metrics([t.name for t in config.tiers])
        metrics.gauges["cascade_log_backlog_runs"] = lambda: writer.backlog
        metrics.gauges["cascade_log_runs_written_total"] = lambda: writer.written_runs
        metrics.gauges["cascade_log_write_errors_total"] = lambda: writer.write_errors
        metrics.gauges["cascade_log_healthy"] = lambda: int(writer.health().ok)
        metrics.gauges["cascade_log_backlog_limit_runs"] = lambda: writer.max_backlog
        metrics.gauges["cascade_log_failing_seconds"] = lambda: round(writer.health().failing_for, 3)
        metrics.gauges["cascade_log_store_recreated_total"] = lambda: writer.recreated
        add_store_readers(metrics, location)
        metrics.start()
        app.state.serve = state = ServeState(settings=settings, runtime=runtime, writer=writer, metrics=metrics,
                                             tracing=Tracing.from_env())
        if runtime.router is not None:  # embed the routes' examples now, not on the first request
            await runtime.router.router.aprepare()
        if config.shadow.rate > 0:
            _start_shadow(state, config)
        for client in runtime.clients:  # build each tier's AsyncOpenAI in this loop now, not on a first request
            _ = client.async_client.chat.completions
        # Long-lived startup objects (modules, pydantic schemas) leave the GC's view: full collections stay short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            # Requests cancelled at the graceful timeout log their runs as they unwind: let them, then flush.
            deadline = time.monotonic() + 5.0
            while writer.reserved > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if state.shadow is not None:  # let shadow calls in flight finish, then write their labels
                await state.shadow.drain()
                state.shadow_sink.close()
            writer.close()
            metrics.close()
            if state.tracing is not None:
                state.tracing.close()  # exports what is queued
            if upkeep is not None:
                upkeep.stop()
            await _close_clients(runtime)
            runtime.close()
            if vectors is not None:
                vectors.close()

    return lifespan
