"""Optional bearer-token auth. The token comes from the environment and is never logged or stored."""

from __future__ import annotations

import hmac
import os

from starlette.requests import Request

from cascade_core.security.binding import is_loopback
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


def binding_refusal(host: str, token: bytes | None, token_env: str, allow_unauthenticated: bool) -> str | None:
    """Why `serve` must not start on `host` (None when it may): beyond loopback it needs a token or an explicit
    --allow-unauthenticated, since anyone who reaches the port could spend the tiers' keys and read answers."""
    if token is not None or allow_unauthenticated or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host} without a token: anyone who can reach this port could run paid model calls "
        f"on your keys and fill the run log. Set ${token_env} to a bearer token (clients send it as their api_key), "
        "bind to 127.0.0.1, or pass --allow-unauthenticated if something in front of it (a reverse proxy, a "
        "firewall) already does the authentication."
    )
