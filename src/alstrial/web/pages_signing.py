"""Pages for electronic signatures and accounts: casebook sign-off, the signature list, one's own
password, and the admin's deactivation and password reset.

Every signing form shows *what* is signed (the casebook, or one visit, with the SHA-256 of its
content as it is now) and the meaning chosen, and takes the signer's password re-entered. The
digest shown is posted back: if the casebook changed between reading and signing, nothing is
signed and the page asks to review it again (the signature would otherwise cover content the
signer never saw).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alstrial import services as sv
from alstrial.services import Actor, policy
from alstrial.services.signatures import KINDS, MEANINGS
from alstrial.web.deps import DB, Form, PageActor
from alstrial.web.forms import FormReader
from alstrial.web.pages_common import new_request_key, redirect, render

router = APIRouter(include_in_schema=False)

#: what each meaning (21 CFR 11.50(a)(3)) says, shown next to the choice and in the statement signed
MEANING_TEXT: dict[str, str] = {
    "authorship": "I am the author of these data.",
    "review": "I have reviewed these data.",
    "approval": "I have reviewed these data and approve them as complete and accurate.",
    "responsibility": "I take responsibility for these data.",
}
assert set(MEANING_TEXT) == set(MEANINGS)


def _sign_off_context(db: DB, actor: Actor, code: str) -> dict[str, Any]:
    whole = sv.signature_status(db, actor, code)
    visits = [str(v["visit"]) for v in sv.visit_data(db, actor, code)]
    return {
        "code": code,
        "whole": whole,
        "visits": [sv.signature_status(db, actor, code, visit=v) for v in visits],
        "meanings": MEANING_TEXT,
        "meaning": "approval",
        "scope": "",
        "key": new_request_key(),
    }


@router.get("/participants/{code}/sign-off", response_class=HTMLResponse)
def sign_off_page(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    """The casebook's signature state (whole and per visit) and, for the investigator, the signing form."""
    return render(request, "sign_off.html", _sign_off_context(db, actor, code))


@router.post("/participants/{code}/sign-off", response_class=HTMLResponse)
def sign_off(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    policy.require(actor, policy.Permission.SIGN_CASEBOOK)  # before comparing digests: a 403 says why
    r = FormReader(form, "casebook signature")
    scope = r.text("scope", required=False, max_length=16)
    meaning = r.text("meaning", max_length=32)
    seen = r.text("content_sha256", max_length=64)
    password = r.text("password", max_length=1000)
    key = r.text("request_key", required=False, max_length=128)
    r.done()
    assert meaning and seen and password
    now = sv.signature_status(db, actor, code, visit=scope)
    if now.content_sha256 != seen:
        ctx = _sign_off_context(db, actor, code)
        ctx.update(
            meaning=meaning,
            scope=scope or "",
            error="The casebook changed after you opened this page: nothing was signed. Review it again and sign.",
        )
        return render(request, "sign_off.html", ctx, 409)
    signed = sv.sign_casebook(db, actor, code, password=password, meaning=meaning, visit=scope, request_key=key)
    what = f"visit {scope} of {code}" if scope else f"the casebook of {code}"
    return redirect(
        request,
        f"/participants/{quote(code)}/sign-off",
        f"Signed {what} ({meaning}) at {signed.signed_at:%Y-%m-%d %H:%M} UTC; content SHA-256 "
        f"{signed.content_sha256[:12]}….",
    )


@router.get("/signatures", response_class=HTMLResponse)
def signatures_page(
    request: Request, db: DB, actor: PageActor, participant: str | None = None, kind: str | None = None
) -> Response:
    """Every signature the caller may see, each checked: valid, or broken with what changed."""
    rows = sv.list_signatures(db, actor, participant=participant or None, kind=kind or None)
    return render(
        request,
        "signatures.html",
        {"rows": rows, "participant": participant or "", "kind": kind or "", "kinds": KINDS},
    )


# --------------------------------------------------------------------------- accounts
@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, actor: PageActor) -> Response:
    return render(request, "account.html", {})


@router.post("/account/password")
def change_own_password(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "password change")
    current, new = r.text("current_password", max_length=1000), r.text("new_password", max_length=1000)
    r.done()
    assert current and new
    sv.set_password(db, actor, actor.username, new_password=new, current_password=current)
    return redirect(request, "/account", "Your password was changed.")


@router.post("/admin/users/{username}/deactivate")
def deactivate_user(request: Request, username: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "deactivation")
    reason = r.text("reason")
    r.done()
    assert reason
    sv.deactivate_user(db, actor, username, reason=reason)
    return redirect(request, "/admin/users", f"User {username} deactivated: they can no longer sign in or sign.")


@router.post("/admin/users/{username}/password")
def reset_password(request: Request, username: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "password reset")
    new = r.text("new_password", max_length=1000)
    r.done()
    assert new
    sv.set_password(db, actor, username, new_password=new)
    return redirect(request, "/admin/users", f"Password of {username} reset: give it to them by a separate channel.")


__all__ = ["MEANING_TEXT", "router"]
