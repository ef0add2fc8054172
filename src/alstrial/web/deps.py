"""Request dependencies: the database, the caller (session or bearer token) and CSRF-checked forms.

Routes take them as plain parameters (``db: DB, actor: ApiActor``). The caller is only identified
here; every permission and site rule is checked by the service the route calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData

from alstrial.services import Actor, CaptureDB
from alstrial.web.errors import CsrfRejected, LoginRequired
from alstrial.web.security import CSRF_FIELD, Session, Signer, same_token

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/tokens")


def get_db(request: Request) -> CaptureDB:
    db: CaptureDB = request.app.state.db
    return db


def get_signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def api_actor(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    """The caller of an API operation, from its bearer token (401 when missing, forged or expired)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise LoginRequired("sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/tokens gives one)")
    actor = get_signer(request).load_token(credentials.credentials)
    if actor is None:
        raise LoginRequired("the bearer token is invalid or has expired: ask POST /api/v1/tokens for a new one")
    return actor


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


def page_actor(request: Request) -> Actor:
    """The signed-in user of a page; without one the page redirects to the login form."""
    actor = session_of(request).actor
    if actor is None:
        raise LoginRequired("sign in to see this page")
    return actor


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token against the session's (403 otherwise)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not same_token(sent if isinstance(sent, str) else None, session_of(request).csrf):
        raise CsrfRejected("the form's security token is missing or out of date: reload the page and submit it again")
    return form


DB = Annotated[CaptureDB, Depends(get_db)]
ApiActor = Annotated[Actor, Depends(api_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
Form = Annotated[FormData, Depends(checked_form)]
