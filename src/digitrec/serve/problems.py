"""Errors as RFC 9457 problem details (`application/problem+json`): every failure a client sees
is a JSON object with a status, a title and a one-line detail — never a stack trace."""

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from digitrec.errors import DataError, DigitrecError, ImageTooLargeError, NotAnImageError

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):  # noqa: N818 - RFC 9457's name for it
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "one line: what went wrong"},
    },
}
# What any route may answer: a Host it does not answer to (guard), a crash (never a trace).
ANY_ROUTE = (400, 500)
# The routes that take an image: besides ANY_ROUTE, a cross-site write (403), a slow or big body
# (408, 413), no image (415), a bad field (422), a client over its rate (429), a full queue or
# connection limit (503), an answer past the timeout (504).
IMAGE_ROUTES = (403, 408, 413, 415, 422, 429, 503, 504)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses (and ANY_ROUTE's): problem documents."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in sorted({*ANY_ROUTE, *statuses})
    }


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = problem_document(status, detail)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def problem_document(status: int, detail: str) -> dict[str, Any]:
    """The RFC 9457 object every error answer carries."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }


def allowed_methods(app: FastAPI, request: Request) -> str | None:
    """The methods documented at this request's path, for `Allow` (a path with a route per
    method, as /v1/session, would otherwise name only its first route's); None when the path
    is not in the API's document. Templated paths (/v1/feedback/{row_id}) match any value of
    their parameters."""
    path = request.url.path
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(method.upper() for method in operations))
    return None


def status_of(error: DigitrecError) -> int:
    """The HTTP status for a digitrec error raised while handling a request."""
    if isinstance(error, ImageTooLargeError):
        return 413
    if isinstance(error, NotAnImageError):
        return 415
    if isinstance(error, DataError):
        return 400
    return 422


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, error: Problem) -> JSONResponse:
        return problem_response(error.status, error.detail, error.headers)

    @app.exception_handler(DigitrecError)
    async def _digitrec(_request: Request, error: DigitrecError) -> JSONResponse:
        return problem_response(status_of(error), str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        headers = dict(getattr(error, "headers", None) or {})
        allowed = allowed_methods(app, request) if error.status_code == 405 else None
        if allowed:  # every method of the path, not only its first route's
            headers["Allow"] = allowed
        return problem_response(error.status_code, detail, headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem_response(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _error: ClientDisconnect) -> JSONResponse:
        return problem_response(400, "the client went away before sending the whole request")

    @app.exception_handler(Exception)
    async def _crash(_request: Request, _error: Exception) -> JSONResponse:
        # The server (uvicorn) logs the traceback once the answer is sent; the client gets none.
        return problem_response(500, "internal error; the server log has the details")
