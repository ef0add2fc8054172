"""Sessions, CSRF tokens, API bearer tokens and sign-in throttling.

* **Session cookie** ``alstrial_session``: a JSON payload signed (HMAC-SHA1 via itsdangerous, salt
  ``session``) with the secret key and timestamped; it expires after ``session_seconds`` of
  inactivity. HttpOnly, SameSite=Strict, Secure when the request came over HTTPS (or
  ``https_only``). It holds the signed-in :class:`Actor` (user id, name, role, site) and a CSRF
  token. A browser without a session gets an anonymous one (CSRF token only) so the login form is
  protected too; signing in issues a fresh session (new CSRF token: no session fixation).
* **CSRF**: synchronizer token bound to the session. Every form carries ``csrf_token``; every
  page POST compares it with the session's in constant time, else 403. SameSite=Strict is a second
  layer, not the only one.
* **Bearer tokens** for ``/api/v1``: ``POST /api/v1/tokens`` with name and password returns a token
  signed with salt ``api-token`` that expires after ``token_seconds``. The API accepts only bearer
  tokens (no cookies), so it needs no CSRF token.
* **Throttling**: failed sign-ins per client address are counted in a sliding window; beyond the
  limit sign-in answers 429 before checking the password. The services lock the account itself
  after five failures in a row.

The web layer only identifies the caller; what an Actor may do is decided by the services.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from alstrial.services import Actor

SESSION_COOKIE = "alstrial_session"
CSRF_FIELD = "csrf_token"


@dataclass
class Session:
    """What the session cookie carries: the CSRF token and, once signed in, the actor."""

    csrf: str
    actor: Actor | None = None
    changed: bool = False
    #: one-line messages shown on the next page (after a redirect)
    flash: list[str] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "actor": self.actor.to_dict() if self.actor else None, "flash": self.flash[-5:]}

    @classmethod
    def new(cls, actor: Actor | None = None) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), actor=actor, changed=True)


def _actor(data: object) -> Actor | None:
    if not isinstance(data, dict):
        return None
    try:
        return Actor(
            user_id=int(data["user_id"]),
            username=str(data["username"]),
            role=str(data["role"]),
            site_id=None if data.get("site_id") is None else int(data["site_id"]),
            site_code=None if data.get("site_code") is None else str(data["site_code"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


class Signer:
    """Signs and checks session cookies and API tokens with the one secret key."""

    def __init__(self, secret_key: str, *, session_seconds: int, token_seconds: int) -> None:
        self._sessions = URLSafeTimedSerializer(secret_key, salt="session")
        self._tokens = URLSafeTimedSerializer(secret_key, salt="api-token")
        self.session_seconds = session_seconds
        self.token_seconds = token_seconds

    def dump_session(self, session: Session) -> str:
        return self._sessions.dumps(session.to_payload())

    def load_session(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=self.session_seconds)
        except (BadSignature, SignatureExpired, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        flash = data.get("flash")
        messages = [str(m) for m in flash] if isinstance(flash, list) else []
        return Session(csrf=data["csrf"], actor=_actor(data.get("actor")), flash=messages)

    def dump_token(self, actor: Actor) -> str:
        return self._tokens.dumps(actor.to_dict())

    def load_token(self, token: str) -> Actor | None:
        try:
            return _actor(self._tokens.loads(token, max_age=self.token_seconds))
        except (BadSignature, SignatureExpired, ValueError):
            return None


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens (a missing one never matches)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


class SignInThrottle:
    """Counts failed sign-ins per client address in a sliding window (in memory, per process)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        q = self._failures.setdefault(client, deque())
        while q and q[0] <= now - self.seconds:
            q.popleft()
        return q

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
