"""The web application: ``create_app(settings)`` builds the FastAPI app (JSON API + pages).

Both halves call the capture services and nothing else. The session middleware loads the signed
session cookie for pages (the API uses bearer tokens only) and renews it on every page response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alstrial import __version__
from alstrial.services import CaptureDB
from alstrial.web import errors
from alstrial.web.openapi import with_visit_codes
from alstrial.web.security import SESSION_COOKIE, Session, Signer, SignInThrottle
from alstrial.web.settings import Settings

STATIC = Path(__file__).parent / "static"

#: headers every page carries unless the page set its own
_PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "cache-control": "no-store",
}


class SessionCookieMiddleware:
    """Loads the signed session cookie of a page request into ``request.state.session`` and writes the
    session back (renewed) on the response, with the pages' security headers. The API (bearer tokens)
    and static files pass straight through. A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware``
    runs every request through an extra task and stream, which costs every API call too."""

    def __init__(self, app: ASGIApp, *, signer: Signer, settings: Settings) -> None:
        self.app, self.signer, self.settings = app, signer, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/static/")):
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope, SESSION_COOKIE)
        state = scope.setdefault("state", {})
        state["session"] = self.signer.load_session(cookie) or Session.new()

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                final: Session = state["session"]  # sign-in and sign-out replace it
                carrier = Response()
                carrier.set_cookie(
                    SESSION_COOKIE,
                    self.signer.dump_session(final),
                    max_age=self.settings.session_seconds,
                    httponly=True,
                    samesite="strict",
                    secure=self.settings.https_only or scope.get("scheme") == "https",
                    path="/",
                )
                for raw_name, raw_value in carrier.raw_headers:
                    if raw_name == b"set-cookie":
                        headers.append("set-cookie", raw_value.decode("latin-1"))
                for name, value in _PAGE_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_session)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(name)
    return None


def app_from_environment() -> FastAPI:
    """The app for ``ALSTRIAL_*`` settings: what each process of ``alstrial serve --processes N`` builds."""
    return create_app()


def create_app(settings: Settings | None = None, *, db: CaptureDB | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment); ``db`` overrides ``settings.db``."""
    from alstrial.web import api, pages, pages_product, pages_signing

    settings = settings or Settings()
    app = FastAPI(
        title="alstrial capture API",
        version=__version__,
        description=(
            "Data capture for the alstrial trial. Sign in with POST /api/v1/tokens, then send "
            "'Authorization: Bearer <token>'. Errors are JSON {error: {kind, type, message, problems?}}; "
            "kind maps to the status: invalid 422, not_found 404, forbidden 403, unauthenticated 401, "
            "conflict 409, locked 423, busy 503."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url="/api/v1/docs/oauth2-redirect",
    )
    app.state.settings = settings
    app.state.db = db if db is not None else CaptureDB.from_url(settings.db)
    app.state.signer = Signer(
        settings.secret_key, session_seconds=settings.session_seconds, token_seconds=settings.token_seconds
    )
    app.state.throttle = SignInThrottle(settings.throttle_failures, settings.throttle_seconds)
    app.openapi = with_visit_codes(app)  # type: ignore[method-assign]
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(pages_signing.router)
    app.include_router(pages_product.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(SessionCookieMiddleware, signer=app.state.signer, settings=settings)

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        # the routes are plain ``def``: each request holds one worker thread while the services run
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield

    app.router.lifespan_context = lifespan
    return app
