"""Every error leaves the API as `{"error": {"code", "message"}}` with a 4xx, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

log = logging.getLogger("api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _body(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


# Where FastAPI found the value: the first part of every error's location, not part of the field's name.
_SOURCES = {"body", "query", "path", "header", "cookie"}


def _field_path(loc: Sequence[object], body: object) -> str:
    """The field's path in the request, e.g. `body` or `items.0.title`.

    A location names the request part first (`body`, `query`, …), which is dropped, and may name a
    union member on the way: a tagged union's tag (`reply` in `body.reply.body`, the decision's
    `kind`), or a member's type. Such a part is never the last one, and is the value of the tag in
    the input or no key of it at all (a missing field is no key either, but is the last part).
    """
    parts = list(loc[1:] if loc and loc[0] in _SOURCES else loc)
    value = body if loc and loc[0] == "body" else None
    path: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if not last and isinstance(value, dict) and isinstance(part, str) and part in value.values():
            continue  # the tag of a tagged union: {"kind": "reply", …} fails as body.reply.…
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        elif not last and isinstance(part, str):
            continue  # a union member's label, not a field
        else:
            value = None
        path.append(str(part))
    return ".".join(path)


def _describe(errors: Sequence[Mapping[str, Any]], body: object = None) -> str:
    parts = []
    for e in errors:
        where = _field_path(e.get("loc", ()), body)
        msg = str(e.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        if e.get("type") == "extra_forbidden":
            msg = "unknown field (this request does not take it; check its spelling)"
        elif e.get("type") in ("union_tag_invalid", "union_tag_not_found") and not where:
            where = str((e.get("ctx") or {}).get("discriminator", "")).strip("'")  # the tag field: `kind`
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document declares for the operation paths matching `path`."""
    found: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        regex, _, _ = compile_path(template)
        if regex.match(path):
            found |= {m.upper() for m in operations}
    return sorted(found)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _body(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return _body(400, "malformed_json", "request body is not valid JSON")
        return _body(422, "invalid_request", _describe(errors, exc.body))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:  # Allow: every method the path has (Starlette names one route's only)
            allowed = _methods_of(request.app, request.url.path)
            return _body(405, "method_not_allowed", "Method Not Allowed", {"Allow": ", ".join(allowed)})
        if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8, or nested past Python's limit
            return _body(400, "malformed_json", "request body is not valid JSON (UTF-8 text, not nested too deeply)")
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}
        return _body(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _body(500, "internal_error", "unexpected server error; it has been logged")
