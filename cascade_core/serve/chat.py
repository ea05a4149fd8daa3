"""POST /v1/chat/completions: the hot path.

A plain Starlette route (no dependency injection or pydantic body model): the body is read with a size cap,
parsed with orjson and validated by hand, then `Cascade.arun` walks the tiers on this event loop (one
AsyncOpenAI client per tier, built lazily inside the loop). The finished trace is queued for the log writer,
counted in the metrics, and answered as JSON or as SSE chunks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cascade_core.cascade.walk import RunCancelled, RunFailed
from cascade_core.records import Trace
from cascade_core.serve.auth import check_bearer
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.responses import cascade_extension, cascade_headers, completion_body, stream_events
from cascade_core.serve.state import CHAT_PATH, ServeState, json_response
from cascade_core.serve.validate import parse_chat_request
from cascade_core.wire.errors import ApiError, error_response

log = logging.getLogger(__name__)


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


def _failed(state: ServeState, failed: RunFailed, model: str | None, stream: bool, seconds: float) -> Response:
    """The cascade's own code failed after calling tiers: the run is logged with every call it made (so what
    was paid is on record), the server keeps serving, and the client gets an OpenAI-style 500 naming the run."""
    trace = failed.trace
    log.error("chat completion failed after tier calls; run %s is logged", trace.run_id, exc_info=failed)
    trace.meta["api"] = {"model": model, "stream": stream, "messages": None}
    state.writer.submit(trace, reserved=True)
    if state.tracing is not None:
        state.tracing.record(trace)
    state.metrics.observe_run(trace, seconds, stream)
    state.metrics.observe_error("internal")
    state.metrics.observe_request(CHAT_PATH, 500)
    return error_response(500, f"internal error in the cascade endpoint after {len(trace.steps)} tier step(s) "
                          f"costing ${trace.total_cost:.6f}; run {trace.run_id} is logged with every call it made",
                          type_="server_error", headers={"X-Cascade-Run-Id": trace.run_id})


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
    except RunFailed as failed:  # a bug of ours after tiers were paid: log the run with every call, then a 500
        return _failed(state, failed, chat.model, chat.stream, time.perf_counter() - started)
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
        return json_response(body, 502, headers)
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
