"""Pages for the pharmacy (the product's chain of identity), full unblinding, and a visit's vital
capacity and weight.

The pharmacy page joins what the services give each role: lots (never an arm: lots of both arms
look the same), doses given, kit codes, and — only for unblinded roles, through the allocation
list service — the arm of each participant. A blinded role sees the same page without the arm
column; the services refuse the list to it anyway.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alstrial import services as sv
from alstrial.errors import ValidationFailed
from alstrial.services import Actor, policy
from alstrial.web.deps import DB, Form, PageActor
from alstrial.web.forms import FormReader
from alstrial.web.pages_common import form_problems, new_request_key, redirect, render

router = APIRouter(include_in_schema=False)


# --------------------------------------------------------------------------- pharmacy
@router.get("/pharmacy", response_class=HTMLResponse)
def pharmacy(request: Request, db: DB, actor: PageActor, participant: str | None = None) -> Response:
    """Chain of identity: participant → kit → (arm, unblinded only) → aspiration COI id → lot → dose given."""
    return render(request, "pharmacy.html", _pharmacy_context(db, actor, participant))


def _pharmacy_context(db: DB, actor: Actor, participant: str | None) -> dict[str, Any]:
    lots = sv.list_product_lots(db, actor, participant=participant or None, limit=1000)
    given = {d["lot_number"]: d for d in sv.list_doses(db, actor, participant=participant or None)}
    kits = {p.code: p.kit_code for p in sv.list_participants(db, actor, status="randomized")}
    arms: dict[str, str] | None = None
    if policy.sees_arm(actor.role, trial_unblinded=False):
        arms = {str(r.participant): r.arm for r in sv.allocation_list(db, actor) if r.participant}
    rows: list[dict[str, Any]] = [
        {
            **lot,
            "kit_code": kits.get(str(lot["participant"])),
            "arm": arms.get(str(lot["participant"])) if arms is not None else None,
            "dose": given.get(lot["lot_number"]),
        }
        for lot in lots
    ]
    return {"rows": rows, "show_arm": arms is not None, "participant": participant or "", "key": new_request_key()}


@router.post("/pharmacy/lots")
def manufacture_lot(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "lot")
    aspiration, dose = r.integer("aspiration_id"), r.integer("dose_number")
    made, expires = r.date("manufactured_on"), r.date("expires_on")
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert aspiration is not None and dose is not None and made and expires
        lot = sv.manufacture_lot(
            db,
            actor,
            aspiration_id=aspiration,
            dose_number=dose,
            manufactured_on=made,
            expires_on=expires,
            request_key=key,
        )
    except ValidationFailed as exc:
        return form_problems(request, "pharmacy.html", _pharmacy_context(db, actor, None), form, exc, failed_form="lot")
    return redirect(request, "/pharmacy", f"Lot {lot.lot_number} made for dose {dose}: label it with {lot.coi_id}.")


@router.post("/pharmacy/lots/{lot_number}/release")
def release_lot(request: Request, lot_number: str, db: DB, actor: PageActor, form: Form) -> Response:
    sv.release_lot(db, actor, lot_number)
    return redirect(request, "/pharmacy", f"Lot {lot_number} released for dosing.")


# --------------------------------------------------------------------------- full unblinding
@router.get("/admin/unblinding", response_class=HTMLResponse)
def unblinding_page(request: Request, db: DB, actor: PageActor) -> Response:
    """Every unblinding so far (never the arm) and, for those allowed, the signed full unblinding."""
    return render(request, "unblinding.html", {"events": sv.list_unblindings(db, actor)})


@router.post("/admin/unblinding")
def unblind_trial(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "full unblinding")
    reason, password = r.text("reason"), r.text("password", max_length=1000)
    try:
        r.done()
        assert reason and password
        sv.unblind_trial(db, actor, reason=reason, password=password)
    except ValidationFailed as exc:
        context = {"events": sv.list_unblindings(db, actor)}
        return form_problems(request, "unblinding.html", context, form, exc, failed_form="unblind")
    return redirect(request, "/admin/unblinding", "The trial is unblinded: every role may now see the arms.")


# --------------------------------------------------------------------------- vital capacity and weight
@router.get("/participants/{code}/visits/{visit}/measures", response_class=HTMLResponse)
def measures(request: Request, code: str, visit: str, db: DB, actor: PageActor) -> Response:
    return render(request, "measures.html", _measures_context(db, actor, code, visit))


def _measures_context(db: DB, actor: Actor, code: str, visit: str) -> dict[str, Any]:
    rows = sv.visit_data(db, actor, code)
    record = next((v for v in rows if v["visit"] == visit), None)
    return {"code": code, "visit": visit, "record": record, "key": new_request_key()}


def _back(code: str, visit: str) -> str:
    return f"/participants/{quote(code)}/visits/{quote(visit)}/measures"


@router.post("/participants/{code}/visits/{visit}/vital-capacity")
def record_vital_capacity(request: Request, code: str, visit: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "vital capacity")
    pct, liters = r.number("percent_predicted"), r.number("liters", required=False)
    test = r.text("test", required=False, max_length=8) or "SVC"
    position = r.text("position", required=False, max_length=16) or "upright"
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert pct is not None
        sv.record_vital_capacity(
            db, actor, code, visit, percent_predicted=pct, liters=liters, test=test, position=position, request_key=key
        )
    except ValidationFailed as exc:
        context = _measures_context(db, actor, code, visit)
        return form_problems(request, "measures.html", context, form, exc, failed_form="vital_capacity")
    return redirect(request, _back(code, visit), f"{test} {pct:g} % predicted recorded for {code} at {visit}.")


@router.post("/participants/{code}/visits/{visit}/weight")
def record_weight(request: Request, code: str, visit: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "weight")
    kg = r.number("weight_kg")
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert kg is not None
        sv.record_weight(db, actor, code, visit, weight_kg=kg, request_key=key)
    except ValidationFailed as exc:
        context = _measures_context(db, actor, code, visit)
        return form_problems(request, "measures.html", context, form, exc, failed_form="weight")
    return redirect(request, _back(code, visit), f"Weight {kg:g} kg recorded for {code} at {visit}.")


__all__ = ["router"]
