"""OpenAI-style error bodies: {"error": {"message", "type", "param", "code"}} with the matching status, and the
JSON request body that is one when it does not parse."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class ApiError(Exception):
    """A request problem that becomes an OpenAI-style error response (never a 500)."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type_=self.type, param=self.param, code=self.code)

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return error_response(self.status, self.message, type_=self.type, param=self.param, code=self.code,
                              headers=headers)


def error_body(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = error_body(message, type_=type_, param=param, code=code)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def read_json(request: Request) -> Any:
    """The request's JSON body, or ApiError 400 when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
