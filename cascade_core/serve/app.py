"""The OpenAI-compatible cascade endpoint: FastAPI app, lifespan (runtime + log writer) and the handlers.

Hot paths are plain Starlette routes (no dependency injection or pydantic body model): the body is read with
a size cap, parsed with orjson and validated by hand, then `Cascade.arun` walks the tiers on this event loop
(one AsyncOpenAI client per tier, built lazily inside the loop). The finished trace is queued for the log
writer, counted in the metrics, and answered as JSON or as SSE chunks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.runtime import Runtime, build_runtime
from cascade_core.cascade.walk import RunCancelled
from cascade_core.records import Trace
from cascade_core.serve.auth import check_bearer
from cascade_core.serve.counters import CONTENT_TYPE as METRICS_CONTENT_TYPE
from cascade_core.serve.counters import Metrics
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.responses import cascade_extension, cascade_headers, completion_body, stream_events
from cascade_core.serve.store_metrics import add_store_readers
from cascade_core.serve.validate import MAX_BODY_BYTES, parse_chat_request
from cascade_core.store.lake import LakeTarget
from cascade_core.store.location import describe_location, store_location
from cascade_core.store.maintenance import MaintenanceTimer
from cascade_core.store.store import Store
from cascade_core.telemetry.exporter import Tracing
from cascade_core.wire.errors import ApiError, error_response

log = logging.getLogger(__name__)
CHAT_PATH = "/v1/chat/completions"


@dataclass
class ServeSettings:
    model_name: str = "cascade"
    token: bytes | None = None  # bearer token; None = auth off
    max_body_bytes: int = MAX_BODY_BYTES
    flush_interval: float = 0.5
    batch_size: int = 500
    max_backlog: int = 10_000  # runs queued or being answered; past it new requests get 503
    log_before_answer: bool = False  # answer only once the run is committed (group commit)
    log_wait: float = 10.0  # log_before_answer: how long a request waits for its commit before a 503
    graceful_timeout: float | None = None  # as given to uvicorn (for messages)


@dataclass
class ServeState:
    settings: ServeSettings
    runtime: Runtime
    writer: LogWriter
    metrics: Metrics
    shadow: Any = None  # ShadowSampler when config.shadow.rate > 0
    shadow_sink: Any = None
    tracing: Tracing | None = None  # OpenTelemetry spans, when OTEL_EXPORTER_OTLP_* asks for them
    started: int = field(default_factory=lambda: int(time.time()))


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes without reading it all."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "invalid Content-Length header")
        if int(length) > limit:
            raise ApiError(413, f"request body too large: at most {limit} bytes", code="request_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body too large: at most {limit} bytes", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _log_unavailable(state: ServeState) -> Response:
    """503 before any tier is called: the log's backlog is at its bound (the store cannot keep up, or fails)."""
    health = state.writer.health()
    cause = f"writing it fails: {health.error}" if health.error else "it is not keeping up"
    state.metrics.observe_error("log_unavailable")
    state.metrics.observe_request(CHAT_PATH, 503)
    return error_response(503, f"the cascade endpoint is not taking requests: its run log holds {health.backlog} "
                          f"runs not yet written (at most {health.max_backlog}) because {cause}. Retry later.",
                          type_="server_error", code="log_unavailable", headers={"Retry-After": "5"})


async def _logged(writer: LogWriter, trace: Trace, wait: float) -> bool:
    """Submit `trace` and wait (at most `wait` s) until the batch that holds it is committed."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()

    def settle(logged: bool) -> None:
        if not done.done():
            done.set_result(logged)

    def resolve(logged: bool) -> None:  # from the writer thread
        loop.call_soon_threadsafe(settle, logged)

    writer.submit(trace, resolve, reserved=True)
    try:
        return await asyncio.wait_for(asyncio.shield(done), wait)
    except TimeoutError:
        return False


def _cancelled(state: ServeState, trace: Trace | None, model: str | None, seconds: float) -> Response:
    """The server's shutdown outlasted --graceful-timeout and cancelled this request: log the run with every call
    it made (marked cancelled) and tell the client plainly, instead of a bare 500."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()  # answered here: the request ends normally, only the cascade was cut short
    state.metrics.observe_error("cancelled")
    state.metrics.observe_request(CHAT_PATH, 503)
    grace = f"{state.settings.graceful_timeout:g} s" if state.settings.graceful_timeout is not None else "its"
    headers = {"Retry-After": "1", "Connection": "close"}
    if trace is None:  # cancelled before any tier was called: nothing to log or pay
        state.writer.unreserve()
        detail = "before any tier was called"
    else:
        trace.meta["api"] = {"model": model, "stream": False, "messages": None}
        state.writer.submit(trace, reserved=True)
        if state.tracing is not None:
            state.tracing.record(trace)
        state.metrics.observe_run(trace, seconds, False)
        calls = sum(1 + (s.verify_call is not None) for s in trace.steps)
        detail = (f"after {calls} tier call(s) costing ${trace.total_cost:.6f} (the one in flight charged at an "
                  f"estimate); run {trace.run_id} is logged as cancelled")
        headers["X-Cascade-Run-Id"] = trace.run_id
    return error_response(503, f"the cascade endpoint is shutting down and stopped this request after {grace} "
                          f"graceful timeout, {detail}. Retry the request.", type_="server_error",
                          code="server_shutting_down", headers=headers)


async def chat_completions(request: Request) -> Response:
    state: ServeState = request.app.state.serve
    metrics = state.metrics
    started = time.perf_counter()
    if not state.writer.reserve():
        return _log_unavailable(state)
    metrics.in_flight += 1
    try:
        check_bearer(request, state.settings.token)
        chat = parse_chat_request(await read_body(request, state.settings.max_body_bytes))
        trace = await state.runtime.answerer.arun(chat.question, source="api")
    except ApiError as err:
        state.writer.unreserve()
        metrics.observe_error("auth" if err.status == 401 else "bad_request")
        metrics.observe_request(CHAT_PATH, err.status)
        return err.response()
    except RunCancelled as cancelled:  # shutdown outlasted --graceful-timeout: log what was paid, say so
        return _cancelled(state, cancelled.trace, chat.model, time.perf_counter() - started)
    except asyncio.CancelledError:  # cancelled before a tier was called (reading the body, embedding it)
        return _cancelled(state, None, None, time.perf_counter() - started)
    except Exception:  # a bug, not a bad request: answer OpenAI-style and keep serving
        state.writer.unreserve()
        log.exception("chat completion failed")
        metrics.observe_error("internal")
        metrics.observe_request(CHAT_PATH, 500)
        return error_response(500, "internal error in the cascade endpoint", type_="server_error")
    finally:
        metrics.in_flight -= 1
    trace.meta["api"] = {"model": chat.model, "stream": chat.stream, "messages": chat.n_messages}
    if state.settings.log_before_answer:
        if not await _logged(state.writer, trace, state.settings.log_wait):
            metrics.observe_error("log_unavailable")
            metrics.observe_request(CHAT_PATH, 503)
            return error_response(503, f"the run was answered but could not be logged within "
                                  f"{state.settings.log_wait:g} s ({state.writer.last_error or 'the store is slow'}); "
                                  "it stays queued and is written when the store recovers. Retry later.",
                                  type_="server_error", code="log_unavailable",
                                  headers={"Retry-After": "5", "X-Cascade-Run-Id": trace.run_id})
    else:
        state.writer.submit(trace, reserved=True)  # never blocks; the run is logged even when it failed
    if state.tracing is not None:  # spans from the finished run: queued, exported by their own thread
        state.tracing.record(trace)
    if state.shadow is not None:  # a background task: the response does not wait for it
        state.shadow.submit_async(trace, state.shadow_sink)
    metrics.observe_run(trace, time.perf_counter() - started, chat.stream)
    headers = cascade_headers(trace)
    if trace.error:
        metrics.observe_request(CHAT_PATH, 502)
        body = {"error": {"message": trace.error, "type": "upstream_error", "param": None, "code": "cascade_failed"},
                "cascade": cascade_extension(trace)}
        return _json(body, 502, headers)
    metrics.observe_request(CHAT_PATH, 200)
    model = state.settings.model_name
    if chat.stream:
        events = stream_events(trace, model, chat.include_usage)

        async def sse() -> AsyncIterator[bytes]:
            for event in events:
                yield event

        headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return StreamingResponse(sse(), media_type="text/event-stream", headers=headers)
    return Response(completion_body(trace, model), media_type="application/json", headers=headers)


def _model_card(state: ServeState) -> dict[str, Any]:
    return {"id": state.settings.model_name, "object": "model", "created": state.started, "owned_by": "cascade-lab",
            "tiers": [t.name for t in state.runtime.config.tiers]}


async def list_models(request: Request) -> Response:
    state: ServeState = request.app.state.serve
    try:
        check_bearer(request, state.settings.token)
    except ApiError as err:
        state.metrics.observe_request("/v1/models", 401)
        return err.response()
    state.metrics.observe_request("/v1/models", 200)
    return _json({"object": "list", "data": [_model_card(state)]})


async def get_model(request: Request) -> Response:
    state: ServeState = request.app.state.serve
    try:
        check_bearer(request, state.settings.token)
        if request.path_params["model"] != state.settings.model_name:
            raise ApiError(404, f"The model '{request.path_params['model']}' does not exist", code="model_not_found")
    except ApiError as err:
        state.metrics.observe_request("/v1/models/{model}", err.status)
        return err.response()
    state.metrics.observe_request("/v1/models/{model}", 200)
    return _json(_model_card(state))


async def healthz(request: Request) -> Response:
    """200 "ok" while the run log is written; 503 "degraded" from its first failed write (or a full backlog)."""
    state: ServeState = request.app.state.serve
    health = state.writer.health()
    ok = health.ok and not health.full
    return _json({"status": "ok" if ok else "degraded", "model": state.settings.model_name,
                  "log_backlog": health.backlog, "log": health.as_dict(),
                  "embedded_simulator": state.runtime.simulated}, 200 if ok else 503)


async def metrics_text(request: Request) -> Response:
    state: ServeState = request.app.state.serve
    try:
        check_bearer(request, state.settings.token)
    except ApiError as err:
        return err.response()
    return Response(state.metrics.render(), media_type=METRICS_CONTENT_TYPE)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    message = {404: "Unknown path", 405: "Method not allowed"}.get(status, "Request failed")
    return error_response(status, f"{message}: {request.method} {request.url.path}")


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


def create_app(config: CascadeConfig, settings: ServeSettings, *, simulator: Any = None) -> FastAPI:
    """The app. The runtime (and the embedded simulator, if a tier needs it) and the log writer start in the
    lifespan, inside the server's event loop; shutdown flushes the log after in-flight requests finished."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(config, simulator=simulator)
        location = store_location(config)  # the run log: the DuckDB file, or a DuckLake shared by every server
        writer = LogWriter(lambda: Store(location, lock_wait=5.0), batch_size=settings.batch_size,
                           interval=settings.flush_interval, name=describe_location(location),
                           max_backlog=settings.max_backlog).start()
        upkeep = None
        if isinstance(location, LakeTarget) and location.maintenance_every > 0:
            upkeep = MaintenanceTimer(Store(location), location.maintenance_every).start()
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
                upkeep.store.close()
            await _close_clients(runtime)
            runtime.close()

    app = FastAPI(title="Cascade Lab endpoint", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _http_error)
    app.router.add_route(CHAT_PATH, chat_completions, methods=["POST"])
    app.router.add_route("/v1/models", list_models, methods=["GET"])
    app.router.add_route("/v1/models/{model:path}", get_model, methods=["GET"])
    app.router.add_route("/healthz", healthz, methods=["GET"])
    app.router.add_route("/metrics", metrics_text, methods=["GET"])
    return app
