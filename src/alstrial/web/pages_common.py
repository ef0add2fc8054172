"""Template rendering shared by the pages: the Jinja2 environment (autoescaping on) and the error page."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from alstrial.errors import ValidationFailed
from alstrial.protocol.models import Protocol
from alstrial.services import CaptureDB, policy
from alstrial.web.security import CSRF_FIELD, Session

TEMPLATES = Path(__file__).parent / "templates"
#: every ``{{ value }}`` is HTML-escaped, whatever the template's name (user text is never markup)
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
templates = Jinja2Templates(env=_env)


def _session(request: Request) -> Session | None:
    return getattr(request.state, "session", None)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    """Render a page with the signed-in actor, the CSRF token and any messages waiting in the session."""
    session = _session(request)
    flash: list[str] = []
    if session is not None and session.flash:
        flash, session.flash = session.flash, []
    actor = session.actor if session else None
    ctx: dict[str, Any] = {
        "actor": actor,
        "csrf_field": CSRF_FIELD,
        "csrf": session.csrf if session else "",
        "flash": flash,
        "can": (lambda perm: actor is not None and policy.can(actor.role, policy.Permission(perm))),
        "error": None,
        "problems": {},
        "values": {},
        "failed_form": None,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def form_problems(
    request: Request,
    name: str,
    context: dict[str, Any],
    form: Any,
    exc: ValidationFailed,
    *,
    failed_form: str,
    aliases: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page a refused form came from, again (422): what was typed (never a password), each problem
    beside its field, and every problem in the banner so none hides behind a field the form lacks.
    The form keeps its request key: nothing was stored under it, so the fixed resubmission is the first.
    ``aliases`` maps a name the services use to the form field that holds it."""
    values = {k: str(v) for k, v in form.multi_items() if "password" not in k}
    listed = "; ".join(f"{p.where}: {p.reason}" for p in exc.problems)
    problems = problems_by_field(exc.problems)
    for service_name, field_name in (aliases or {}).items():
        if service_name in problems:
            problems.setdefault(field_name, problems[service_name])
    ctx = {
        **context,
        "values": values,
        "problems": problems,
        "failed_form": failed_form,
        "error": f"Nothing was saved — {len(exc.problems)} problem(s): {listed}",
    }
    if values.get("request_key"):
        ctx["key"] = values["request_key"]
    return render(request, name, ctx, 422)


def render_error(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "body": body}, status=status)


def redirect(request: Request, url: str, message: str | None = None) -> RedirectResponse:
    """303 to ``url`` (post/redirect/get), leaving ``message`` for the next page."""
    session = _session(request)
    if message and session is not None:
        session.flash.append(message)
    return RedirectResponse(url, status_code=303)


_PROTOCOLS: WeakKeyDictionary[CaptureDB, Protocol] = WeakKeyDictionary()


def trial_protocol(db: CaptureDB) -> Protocol:
    """The trial's protocol, read once per database and kept: it is stored at set-up and never
    changes, so a page (the timeline is the one read at every visit) costs no query for it."""
    found = _PROTOCOLS.get(db)
    if found is None:
        found = _PROTOCOLS[db] = db.protocol()
    return found


def new_request_key() -> str:
    """A fresh request key for a form: resubmitting the same form creates nothing twice."""
    return secrets.token_urlsafe(16)


def problems_by_field(problems: list[Any]) -> dict[str, str]:
    """``where → reason`` for per-field messages (the first part of a dotted ``where``, and the whole)."""
    out: dict[str, str] = {}
    for p in problems:
        where = str(p.where)
        out.setdefault(where, p.reason)
        out.setdefault(where.split(".")[-1], p.reason)
        out.setdefault(where.split("[")[0], p.reason)
    return out
