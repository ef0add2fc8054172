"""One place that turns errors into responses: domain errors by their ``kind``, the rest as a 500.

API requests (``/api/...``) get JSON ``{"error": {...}}``; pages get the error page. The message
shown is the service's own (written to be acted on, and free of arms for blinded callers); a
:class:`ValidationFailed` lists every problem, a :class:`StaleVersion` the current version and who
changed it. Anything unexpected is logged with its traceback and answered with a generic message:
no database or driver text ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from alstrial.errors import AlstrialError, ErrorKind, ValidationFailed
from alstrial.services import NotEligible, StaleVersion

log = logging.getLogger("alstrial.web")

STATUS: dict[ErrorKind, int] = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "conflict": 409,
    "locked": 423,
    "busy": 503,
}
GENERIC_500 = "the server could not complete the request; it has been logged. Try again, or tell the administrator"


class LoginRequired(AlstrialError):
    """A page needs a signed-in user: pages redirect to the login form, the API answers 401."""

    kind = "unauthenticated"


class CsrfRejected(AlstrialError):
    """A form came without the session's CSRF token (a forged or stale form)."""

    kind = "forbidden"


class TooManyAttempts(AlstrialError):
    """Too many failed sign-ins from one address: wait before trying again (HTTP 429)."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_body(exc: AlstrialError) -> dict[str, Any]:
    """The JSON description of a domain error (also used by the pages)."""
    body: dict[str, Any] = {"kind": exc.kind, "type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ValidationFailed):
        body["message"] = exc.context or "invalid input"
        body["problems"] = [{"where": p.where, "value": _plain(p.value), "reason": p.reason} for p in exc.problems]
    if isinstance(exc, StaleVersion):
        body["current_version"] = exc.current_version
        body["changed_by"] = exc.changed_by
        body["changed_at"] = exc.changed_at.isoformat() if exc.changed_at else None
    if isinstance(exc, NotEligible):
        body["failed_criteria"] = exc.failed
    return body


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def status_of(exc: AlstrialError) -> int:
    return 429 if isinstance(exc, TooManyAttempts) else STATUS.get(exc.kind, 422)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AlstrialError)
        if isinstance(exc, LoginRequired) and not is_api(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 and is_api(request) else None
        if is_api(request):
            return JSONResponse({"error": error_body(exc)}, status_code=status, headers=headers)
        from alstrial.web.pages_common import render_error

        return render_error(request, status, error_body(exc))

    def request_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {
                "where": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request",
                "value": _plain(e.get("input")) if not isinstance(e.get("input"), dict | list) else None,
                "reason": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        body = {"kind": "invalid", "type": "ValidationFailed", "message": "invalid request", "problems": problems}
        if is_api(request):
            return JSONResponse({"error": body}, status_code=422)
        from alstrial.web.pages_common import render_error

        return render_error(request, 422, body)

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        body = {"kind": "http", "type": "HTTPError", "message": str(exc.detail)}
        if is_api(request) or exc.status_code == 405:
            return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)
        from alstrial.web.pages_common import render_error

        return render_error(request, exc.status_code, body)

    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        body = {"kind": "internal", "type": "InternalError", "message": GENERIC_500}
        return JSONResponse({"error": body}, status_code=500)

    app.add_exception_handler(AlstrialError, domain_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
