"""Optional bearer-token auth. The token comes from the environment and is never logged or stored."""

from __future__ import annotations

import hmac
import os

from starlette.requests import Request

from cascade_core.wire.errors import ApiError

TOKEN_ENV = "CASCADE_SERVE_TOKEN"


def token_from_env(name: str = TOKEN_ENV) -> bytes | None:
    value = os.environ.get(name)
    return value.encode() if value else None


def check_bearer(request: Request, token: bytes | None) -> None:
    """Raise a 401 ApiError unless auth is off or the request carries `Authorization: Bearer <token>`."""
    if token is None:
        return
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "Missing bearer token: send 'Authorization: Bearer <token>'.", type_="authentication_error",
                       code="missing_api_key")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
        raise ApiError(401, "Incorrect API key provided.", type_="authentication_error", code="invalid_api_key")
