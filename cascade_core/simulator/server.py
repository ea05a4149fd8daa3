"""The simulator over the OpenAI wire protocol: a small FastAPI app whose state lives on the app instance.

Routes are plain Starlette endpoints (request.json() in, JSONResponse out) so a call costs well under a millisecond.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cascade_core.cascade.simulator_config import SimulatorConfig
from cascade_core.datasets.loader import Dataset, load_bundled
from cascade_core.simulator import faults
from cascade_core.simulator.answers import Catalog
from cascade_core.simulator.embeddings import embeddings_endpoint
from cascade_core.simulator.ladder import LADDER, MODEL_NAMES, PRICE_SOURCE, TierSpec, cost_usd
from cascade_core.simulator.model import Mode, SimRequest, count_tokens, default_modes, simulate
from cascade_core.simulator.protocol import FINGERPRINT, ChatRequest, completion_body, parse_chat
from cascade_core.wire.errors import ApiError, read_json

CREATED = 1721692800  # 2024-07-23, the Llama 3.1 release, as the models' "created" time


class SimState:
    """Everything one app instance holds: settings, the known questions, the fault RNG and call counters."""

    def __init__(self, settings: SimulatorConfig, catalog: Catalog, modes: dict[str, Mode]) -> None:
        self.settings = settings
        self.catalog = catalog
        self.modes = modes
        self.rng = random.Random(settings.seed)
        self._lock = threading.Lock()  # stats are read from other threads (EmbeddedSimulator)
        self._calls: Counter[str] = Counter()
        self._events: Counter[str] = Counter()
        self._slots: dict[str, asyncio.Lock] = {}
        self._windows: dict[str, tuple[float, int]] = {}  # model -> (window start, requests in it)

    def count_call(self, model: str) -> None:
        with self._lock:
            self._calls[model] += 1

    def count_event(self, event: str) -> None:
        """rejected | rate_limit | server_error | bad_body_{html,empty,cut} | placeholder | malformed | truncated"""
        with self._lock:
            self._events[event] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._calls.values()), "by_model": dict(self._calls), "events": dict(self._events)}

    def slot(self, model: str) -> asyncio.Lock:
        """The one slot of `model` (single_slot servers); created in the server's event loop on first use."""
        lock = self._slots.get(model)
        if lock is None:
            lock = self._slots[model] = asyncio.Lock()
        return lock

    def take_request(self, model: str, budget: int) -> tuple[int, float]:
        """Count one request against `model`'s per-second budget: (requests left after it, -1 if over; seconds
        until the window resets)."""
        now = time.monotonic()
        with self._lock:
            start, used = self._windows.get(model, (now, 0))
            if now - start >= 1.0:
                start, used = now, 0
            used += 1
            self._windows[model] = (start, used)
        return budget - used, max(0.0, 1.0 - (now - start))

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._events.clear()

    def update(self, changes: dict[str, Any]) -> SimulatorConfig:
        """Apply a partial settings change (validated); a new seed also reseeds the fault draws."""
        settings = SimulatorConfig.model_validate({**self.settings.model_dump(), **changes})
        if settings.seed != self.settings.seed:
            self.rng = random.Random(settings.seed)
        self.settings = settings
        return settings


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def _models(request: Request) -> JSONResponse:
    data = [{"id": name, "object": "model", "created": CREATED, "owned_by": "cascade-lab-simulated"}
            for name in MODEL_NAMES]
    return JSONResponse({"object": "list", "data": data})


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "simulated": True, "models": list(MODEL_NAMES)})


async def _stats(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).stats())


async def _reset(request: Request) -> JSONResponse:
    _state(request).reset()
    return JSONResponse(_state(request).stats())


async def _get_settings(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).settings.model_dump())


async def _put_settings(request: Request) -> Response:
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object of settings")
        settings = _state(request).update(changes)
    except ValidationError as err:
        return ApiError(400, f"invalid settings: {err.errors(include_url=False)}").response()
    except ValueError as err:
        return ApiError(400, str(err)).response()
    return JSONResponse(settings.model_dump())


async def _chat(request: Request) -> Response:
    state = _state(request)
    try:
        chat = parse_chat(await read_json(request))
        spec = LADDER.get(chat.model)
        if spec is None:
            raise ApiError(404, f"The model `{chat.model}` does not exist (simulated models: "
                           f"{', '.join(MODEL_NAMES)})", param="model", code="model_not_found")
    except ApiError as err:
        state.count_event("rejected")
        return err.response()
    settings = state.settings
    state.count_call(chat.model)
    if chat.response_format in settings.refuse_formats:  # as servers without that structured-output mode
        state.count_event("format_refused")
        return ApiError(400, f"response_format type '{chat.response_format}' is not supported by this server "
                        "(simulated)", param="response_format").response()
    if settings.single_slot:  # a one-slot server: requests to a model wait for the one before to finish
        async with state.slot(chat.model):
            return await _reply(state, chat, spec)
    return await _reply(state, chat, spec)


async def _reply(state: SimState, chat: ChatRequest, spec: TierSpec) -> Response:
    settings = state.settings
    latency = faults.knob(settings, chat.model, "latency_ms")
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    limit_headers: dict[str, str] = {}
    if settings.ratelimit_requests:  # a request budget per second, announced as OpenAI does
        left, reset = state.take_request(chat.model, settings.ratelimit_requests)
        limit_headers = {"x-ratelimit-limit-requests": str(settings.ratelimit_requests),
                         "x-ratelimit-remaining-requests": str(max(left, 0)),
                         "x-ratelimit-reset-requests": f"{reset:.3f}s"}
        if left < 0:
            state.count_event("rate_limit")
            return ApiError(429, "Rate limit reached: request budget spent (simulated)", type_="rate_limit_exceeded",
                            code="rate_limit_exceeded").response({**limit_headers, "retry-after": f"{reset:.3f}"})
    fault = faults.draw(settings, chat.model, state.rng)
    if fault.status == 429:
        state.count_event("rate_limit")
        wait = settings.retry_after
        headers = {"retry-after": f"{wait:g}", "retry-after-ms": str(round(wait * 1000))}
        return ApiError(429, "Rate limit reached (simulated)", type_="rate_limit_exceeded",
                        code="rate_limit_exceeded").response(headers)
    if fault.status == 500:
        state.count_event("server_error")
        return ApiError(500, "The server had an error processing your request (simulated)",
                        type_="server_error", code="simulated_fault").response()
    if fault.status == 502:
        state.count_event("gateway_error")
        return Response(faults.GATEWAY_PAGE, status_code=502, media_type="text/html")
    if fault.body is not None and fault.body not in ("mistyped", "reset"):
        state.count_event(f"bad_body_{fault.body}")
        content, media_type = faults.BAD_BODIES[fault.body]
        return Response(content, media_type=media_type)
    reply = simulate(SimRequest(chat.model, chat.messages, settings.seed, chat.json_mode, chat.max_tokens),
                     state.catalog, state.modes)
    pieces, finish, completion = reply.pieces, reply.finish_reason, reply.completion_tokens
    if fault.judge_flip and reply.mode == "judge":
        state.count_event("judge_flip")
        pieces = faults.flip_verdict(pieces)
    if fault.placeholder:
        state.count_event("placeholder")
        pieces = faults.placeholder(chat.json_mode)
        completion = count_tokens(pieces[0][0]) + spec.hidden_tokens
    if fault.malformed and chat.response_format == "json_schema" and settings.constrained_decoding:
        state.count_event("malformed_prevented")  # constrained decoding: the reply keeps the schema's shape
    elif fault.malformed:
        state.count_event("malformed")
        pieces = faults.garbage(state.rng)
        completion = count_tokens(pieces[0][0]) + spec.hidden_tokens
    if fault.truncated:
        state.count_event("truncated")
        pieces, finish = faults.truncate(pieces), "length"
        completion = count_tokens("".join(text for text, _ in pieces)) + spec.hidden_tokens
    cost = cost_usd(spec, reply.prompt_tokens, completion) if settings.report_cost else None
    content_text = "".join(text for text, _ in pieces)
    body = completion_body(chat, content_text, pieces, finish, reply.prompt_tokens, completion, cost)
    if not settings.logprobs_supported or (settings.logprobs_need_top and chat.top_logprobs < 1):
        # llama.cpp's server sends logprobs only with top_logprobs; some servers never send them
        body["choices"][0]["logprobs"] = None
    if settings.omit_usage:
        del body["usage"]
    if settings.omit_finish_reason:
        body["choices"][0]["finish_reason"] = None
    if settings.reasoning != "none":
        faults.add_reasoning(body, settings.reasoning, chat.json_mode)
    if settings.content_parts:
        faults.content_parts(body)
    if settings.garbled_fields:
        faults.garble_fields(body)
    if fault.body == "mistyped":
        state.count_event("bad_body_mistyped")
        faults.mistype(body, state.rng)
    if settings.proxy_cost_header:
        header_cost = cost_usd(spec, reply.prompt_tokens, completion)
        limit_headers = {**limit_headers, "x-litellm-response-cost": repr(header_cost)}
    if fault.fell_back:
        state.count_event("proxy_fallback")
        limit_headers = {**limit_headers, **faults.fallback_headers(body, MODEL_NAMES)}
    trickle = faults.knob(settings, chat.model, "trickle_ms")
    if fault.body == "reset" or trickle > 0:
        if fault.body == "reset":
            state.count_event("bad_body_reset")
        return faults.sent_in_pieces(body, limit_headers, trickle, cut=fault.body == "reset")
    return JSONResponse(body, headers=limit_headers or None)


def create_app(settings: SimulatorConfig | None = None, dataset: Dataset | None = None) -> FastAPI:
    """The simulator app. `dataset` is what it knows gold answers for (default: the bundled dataset)."""
    app = FastAPI(title="Cascade Lab simulator", docs_url=None, redoc_url=None, openapi_url=None)
    if not any(isinstance(f, faults.QuietCutBodies) for f in logging.getLogger("uvicorn.error").filters):
        logging.getLogger("uvicorn.error").addFilter(faults.QuietCutBodies())
    app.state.sim = SimState(settings or SimulatorConfig(), Catalog.from_dataset(dataset or load_bundled()),
                             default_modes())
    app.state.started = time.time()
    app.state.fingerprint = FINGERPRINT
    app.state.price_source = PRICE_SOURCE
    routes: list[tuple[str, Any, str]] = [
        ("/v1/models", _models, "GET"),
        ("/v1/chat/completions", _chat, "POST"),
        ("/v1/embeddings", embeddings_endpoint, "POST"),
        ("/healthz", _healthz, "GET"),
        ("/sim/stats", _stats, "GET"),
        ("/sim/reset", _reset, "POST"),
        ("/sim/settings", _get_settings, "GET"),
        ("/sim/settings", _put_settings, "PUT"),
    ]
    for path, endpoint, method in routes:
        app.router.add_route(path, endpoint, methods=[method], include_in_schema=False)
    return app
