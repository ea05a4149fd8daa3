"""The OpenAI-compatible cascade endpoint as a FastAPI app: its routes and the small handlers.

The chat completion handler is in chat.py, startup and shutdown in lifespan.py, settings and shared state in
state.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from cascade_core.cascade.config import CascadeConfig
from cascade_core.serve.auth import check_bearer
from cascade_core.serve.chat import chat_completions
from cascade_core.serve.counters import CONTENT_TYPE as METRICS_CONTENT_TYPE
from cascade_core.serve.lifespan import serve_lifespan
from cascade_core.serve.state import CHAT_PATH, ServeSettings, ServeState, json_response
from cascade_core.wire.errors import ApiError, error_response

__all__ = ["ServeSettings", "create_app"]


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
    return json_response({"object": "list", "data": [_model_card(state)]})


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
    return json_response(_model_card(state))


async def healthz(request: Request) -> Response:
    """200 "ok" while the run log is written; 503 "degraded" from its first failed write (or a full backlog)."""
    state: ServeState = request.app.state.serve
    health = state.writer.health()
    ok = health.ok and not health.full
    return json_response({"status": "ok" if ok else "degraded", "model": state.settings.model_name,
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


def create_app(config: CascadeConfig, settings: ServeSettings, *, simulator: Any = None) -> FastAPI:
    """The app; its runtime and log writer start in the lifespan (lifespan.py), inside the server's loop."""
    app = FastAPI(title="Cascade Lab endpoint", lifespan=serve_lifespan(config, settings, simulator=simulator),
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _http_error)
    app.router.add_route(CHAT_PATH, chat_completions, methods=["POST"])
    app.router.add_route("/v1/models", list_models, methods=["GET"])
    app.router.add_route("/v1/models/{model:path}", get_model, methods=["GET"])
    app.router.add_route("/healthz", healthz, methods=["GET"])
    app.router.add_route("/metrics", metrics_text, methods=["GET"])
    return app
