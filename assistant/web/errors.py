"""Errors as JSON for people: `{"error": {"code": ..., "message": ...}}`, never a traceback.

`OpsaError`s are mapped by type (the core's message is shown as is); anything else is
logged with its traceback on the server and answered with a short 500 naming a request id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    BackendError,
    BackendTimeout,
    ConfigError,
    IngestError,
    IRError,
    LLMError,
    OpsaError,
    RefusalError,
    RetrievalError,
    TimeRangeError,
    UnknownEntityError,
    without_paths,
)

log = logging.getLogger("opsa.web")

# Most specific first: the first matching class decides the status.
_STATUS: list[tuple[type[OpsaError], int, str]] = [
    (UnknownEntityError, 404, "unknown_entity"),
    (IRError, 400, "invalid_query"),
    (TimeRangeError, 400, "invalid_time_range"),
    (IngestError, 400, "invalid_input"),
    (RefusalError, 400, "refused"),
    (BackendTimeout, 504, "backend_timeout"),
    (BackendError, 502, "backend_error"),
    (RetrievalError, 502, "retrieval_error"),
    (LLMError, 502, "model_error"),
    (ConfigError, 503, "not_configured"),
]

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "invalid_request", 429: "rate_limited",
}  # fmt: skip


class ApiError(Exception):
    """An error the web layer raises itself, with its HTTP status."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _HTTP_CODES.get(status, "error")
        self.headers = headers or {}


def classify(exc: OpsaError) -> tuple[int, str]:
    """HTTP status and error code for an `OpsaError`."""
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "error"


def public(message: str) -> str:
    """`message` as a client may see it (`assistant.errors.without_paths`)."""
    return without_paths(message)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": public(message), **extra}}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(OpsaError)
    async def _opsa(_: Request, exc: OpsaError) -> JSONResponse:
        status, code = classify(exc)
        return error_response(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        for e in errors:
            if e.get("type") == "json_invalid":
                where = e.get("ctx", {}).get("error", "")
                return error_response(400, "invalid_json",
                                      f"the request body is not valid JSON ({where}); send a "
                                      "JSON object with Content-Type: application/json")
        if len(errors) == 1 and tuple(errors[0]["loc"]) == ("body",):
            kind = "missing" if errors[0].get("type") == "missing" else "not a JSON object"
            return error_response(400, "invalid_json",
                                  f"the request body is {kind}; send a JSON object with "
                                  "Content-Type: application/json")
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
             "message": e["msg"]}
            for e in errors
        ]
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_response(422, "invalid_request", f"invalid request: {text}",
                              problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        message = str(exc.detail) if exc.detail else "request failed"
        if status == 404 and message == "Not Found":
            message = "no such endpoint; see /openapi.json for the API"
        return error_response(status, _HTTP_CODES.get(status, "error"), message,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The last resort: the person gets a short message and an id, the log the traceback.
        ref = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s", ref, request.method, request.url.path,
                  exc_info=exc)
        return error_response(500, "internal_error",
                              f"internal error (reference {ref}); the server log has details")


__all__ = ["ApiError", "classify", "error_body", "error_response", "install"]
