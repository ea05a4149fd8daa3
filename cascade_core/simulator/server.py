"""The simulator over the OpenAI wire protocol: a small FastAPI app whose state lives on the app instance.

Routes are plain Starlette endpoints (request.json() in, JSONResponse out) so a call costs well under a millisecond.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from cascade_core.cascade.config import SimulatorConfig
from cascade_core.datasets.loader import Dataset, load_bundled
from cascade_core.simulator import faults
from cascade_core.simulator.answers import Catalog
from cascade_core.simulator.ladder import LADDER, MODEL_NAMES, PRICE_SOURCE, cost_usd
from cascade_core.simulator.model import Mode, SimRequest, count_tokens, default_modes, simulate
from cascade_core.simulator.protocol import FINGERPRINT, ApiError, completion_body, error_response, parse_chat

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

    def count_call(self, model: str) -> None:
        with self._lock:
            self._calls[model] += 1

    def count_event(self, event: str) -> None:
        """rejected | rate_limit | server_error | malformed | truncated"""
        with self._lock:
            self._events[event] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._calls.values()), "by_model": dict(self._calls), "events": dict(self._events)}

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


async def _put_settings(request: Request) -> JSONResponse:
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object of settings")
        settings = _state(request).update(changes)
    except ValidationError as err:
        return error_response(ApiError(400, f"invalid settings: {err.errors(include_url=False)}"))
    except ValueError as err:
        return error_response(ApiError(400, str(err)))
    return JSONResponse(settings.model_dump())


async def _chat(request: Request) -> JSONResponse:
    state = _state(request)
    try:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        chat = parse_chat(body)
        spec = LADDER.get(chat.model)
        if spec is None:
            raise ApiError(404, f"The model `{chat.model}` does not exist (simulated models: "
                           f"{', '.join(MODEL_NAMES)})", param="model", code="model_not_found")
    except ApiError as err:
        state.count_event("rejected")
        return error_response(err)
    settings = state.settings
    state.count_call(chat.model)
    latency = faults.knob(settings, chat.model, "latency_ms")
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    fault = faults.draw(settings, chat.model, state.rng)
    if fault.status == 429:
        state.count_event("rate_limit")
        wait = settings.retry_after
        headers = {"retry-after": f"{wait:g}", "retry-after-ms": str(round(wait * 1000))}
        return error_response(ApiError(429, "Rate limit reached (simulated)", type_="rate_limit_exceeded",
                                       code="rate_limit_exceeded"), headers)
    if fault.status == 500:
        state.count_event("server_error")
        return error_response(ApiError(500, "The server had an error processing your request (simulated)",
                                       type_="server_error", code="simulated_fault"))
    reply = simulate(SimRequest(chat.model, chat.messages, settings.seed, chat.json_mode, chat.max_tokens),
                     state.catalog, state.modes)
    pieces, finish, completion = reply.pieces, reply.finish_reason, reply.completion_tokens
    if fault.malformed:
        state.count_event("malformed")
        pieces = faults.garbage(state.rng)
        completion = count_tokens(pieces[0][0]) + spec.hidden_tokens
    if fault.truncated:
        state.count_event("truncated")
        pieces, finish = faults.truncate(pieces), "length"
        completion = count_tokens("".join(text for text, _ in pieces)) + spec.hidden_tokens
    cost = cost_usd(spec, reply.prompt_tokens, completion) if settings.report_cost else None
    content = "".join(text for text, _ in pieces)
    return JSONResponse(completion_body(chat, content, pieces, finish, reply.prompt_tokens, completion, cost))


def create_app(settings: SimulatorConfig | None = None, dataset: Dataset | None = None) -> FastAPI:
    """The simulator app. `dataset` is what it knows gold answers for (default: the bundled dataset)."""
    app = FastAPI(title="Cascade Lab simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = SimState(settings or SimulatorConfig(), Catalog.from_dataset(dataset or load_bundled()),
                             default_modes())
    app.state.started = time.time()
    app.state.fingerprint = FINGERPRINT
    app.state.price_source = PRICE_SOURCE
    routes: list[tuple[str, Any, str]] = [
        ("/v1/models", _models, "GET"),
        ("/v1/chat/completions", _chat, "POST"),
        ("/healthz", _healthz, "GET"),
        ("/sim/stats", _stats, "GET"),
        ("/sim/reset", _reset, "POST"),
        ("/sim/settings", _get_settings, "GET"),
        ("/sim/settings", _put_settings, "PUT"),
    ]
    for path, endpoint, method in routes:
        app.router.add_route(path, endpoint, methods=[method], include_in_schema=False)
    return app
