"""The web application: ``create_app(settings)`` builds the FastAPI app (JSON API + pages).

Both halves call the capture services and nothing else. The session middleware loads the signed
session cookie for pages (the API uses bearer tokens only) and renews it on every page response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from alstrial import __version__
from alstrial.services import CaptureDB
from alstrial.web import errors
from alstrial.web.openapi import with_visit_codes
from alstrial.web.security import SESSION_COOKIE, Session, Signer, SignInThrottle
from alstrial.web.settings import Settings

STATIC = Path(__file__).parent / "static"


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

    @app.middleware("http")
    async def session_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path.startswith(("/api/", "/static/")):
            return await call_next(request)
        signer: Signer = request.app.state.signer
        session = signer.load_session(request.cookies.get(SESSION_COOKIE)) or Session.new()
        request.state.session = session
        response = await call_next(request)
        final: Session = request.state.session  # sign-in and sign-out replace it
        response.set_cookie(
            SESSION_COOKIE,
            signer.dump_session(final),
            max_age=settings.session_seconds,
            httponly=True,
            samesite="strict",
            secure=settings.https_only or request.url.scheme == "https",
            path="/",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
