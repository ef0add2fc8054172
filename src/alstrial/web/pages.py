"""Server-rendered pages for site staff, monitors and data managers (Jinja2, a little plain JavaScript).

Every page calls the capture services with the signed-in :class:`Actor`; every form posts with the
session's CSRF token and redirects after success (post/redirect/get), carrying a request key so
that a resubmitted form (double click, back button) creates nothing twice. Forms that fail
validation are shown again with each problem next to its field.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alstrial import services as sv
from alstrial.domain.fields import ACTIONS, FIELDS, OUTCOMES, RELATEDNESS, SEVERITIES
from alstrial.errors import Problem, ValidationFailed
from alstrial.instruments import alsfrs_r
from alstrial.services import Actor, policy
from alstrial.services.corrections import correctable_fields
from alstrial.services.disposition import DECIDERS, REASON_CODES
from alstrial.services.safety import INTERCURRENT_KINDS, SAE_CRITERIA
from alstrial.web.deps import DB, Form, PageActor, session_of
from alstrial.web.errors import TooManyAttempts
from alstrial.web.forms import MAX_INT, FormReader
from alstrial.web.pages_common import (
    form_problems,
    new_request_key,
    problems_by_field,
    redirect,
    render,
    trial_protocol,
)
from alstrial.web.schedule import schedule
from alstrial.web.security import Session, SignInThrottle

router = APIRouter(include_in_schema=False)
QueryId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _today() -> date:
    return datetime.now(UTC).date()


def _safe_next(target: object) -> str:
    """Only a local path may follow sign-in (no open redirect)."""
    text = str(target or "/")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/"


# --------------------------------------------------------------------------- sign-in
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, db: DB, form: Form) -> Response:
    username = str(form.get("username") or "")
    target = _safe_next(form.get("next"))
    throttle: SignInThrottle = request.app.state.throttle
    client = request.client.host if request.client else "unknown"
    if throttle.blocked(client):
        raise TooManyAttempts("too many failed sign-ins from this address: wait a few minutes and try again")
    try:
        actor = sv.authenticate(db, username, str(form.get("password") or ""))
    except sv.AuthenticationFailed as exc:
        throttle.failed(client)
        return render(request, "login.html", {"next": target, "username": username, "error": str(exc)}, 401)
    throttle.succeeded(client)
    request.state.session = Session.new(actor)  # a fresh session: new CSRF token, no fixation
    return redirect(request, target, f"Signed in as {actor}.")


@router.post("/logout")
def logout(request: Request, form: Form) -> Response:
    request.state.session = Session.new()
    return redirect(request, "/login", "Signed out.")


# --------------------------------------------------------------------------- dashboard
@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DB, actor: PageActor) -> Response:
    """Enrolment per site (never per arm), screen failures by criterion, visits due / overdue / out of window."""
    people = sv.list_participants(db, actor)
    protocol = trial_protocol(db)
    statuses = ("eligible", "screen_failed", "enrolled", "randomized")
    by_site: dict[str, Counter[str]] = {}
    for p in people:
        by_site.setdefault(p.site, Counter())[p.status] += 1
    failures: Counter[str] = Counter()
    texts: dict[str, str] = {c.id: c.text for c in protocol.eligibility}
    visits_due: list[dict[str, Any]] = []
    today = _today()
    for p in people:
        if p.status == "screen_failed":
            detail = sv.participant_detail(db, actor, p.code)
            failures.update(str(e["criterion"]) for e in detail.eligibility if e["passed"] is False)
        elif p.status in ("enrolled", "randomized") and not p.withdrawn:
            rows = sv.visit_data(db, actor, p.code)
            for s in schedule(
                protocol,
                screened_on=p.screened_on,
                day0=p.day0,
                status=p.status,
                withdrawn=p.withdrawn,
                visits=rows,
                today=today,
            ):
                if s.state in ("due", "overdue", "done_out_of_window"):
                    visits_due.append({"participant": p.code, "site": p.site, "visit": s})
    open_queries = sv.list_queries(db, actor, status="open")
    return render(
        request,
        "dashboard.html",
        {
            "trial_id": protocol.id,
            "by_site": sorted(by_site.items()),
            "statuses": statuses,
            "failures": failures.most_common(),
            "texts": texts,
            "visits_due": visits_due[:200],
            "due_counts": Counter(v["visit"].state for v in visits_due),
            "open_queries": open_queries,
            "today": today,
        },
    )


# --------------------------------------------------------------------------- participants
@router.get("/participants", response_class=HTMLResponse)
def participants(
    request: Request,
    db: DB,
    actor: PageActor,
    status: str | None = None,
    page: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> Response:
    size = 50
    people = sv.list_participants(db, actor, status=status or None, offset=max(page, 0) * size, limit=size + 1)
    return render(
        request,
        "participants.html",
        {"people": people[:size], "status": status or "", "page": max(page, 0), "more": len(people) > size},
    )


@router.get("/participants/{code}", response_class=HTMLResponse)
def timeline(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    """The participant's schedule with windows: what is done, due and overdue, and the next steps."""
    detail = sv.participant_detail(db, actor, code)
    p = detail.participant
    protocol = trial_protocol(db)
    rows = schedule(
        protocol,
        screened_on=p.screened_on,
        day0=p.day0,
        status=p.status,
        withdrawn=p.withdrawn,
        visits=detail.visits,
        today=_today(),
    )
    return render(
        request,
        "timeline.html",
        {
            "p": p,
            "eligibility": detail.eligibility,
            "schedule": rows,
            "visit_codes": [v.code for v in protocol.visits],
            "today": _today(),
            "key": new_request_key(),
        },
    )


@router.post("/participants/{code}/enrol")
def enrol(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "enrolment")
    on = r.date("enrolled_on")
    r.done()
    assert on is not None
    sv.enrol_participant(db, actor, code, enrolled_on=on)
    return redirect(request, f"/participants/{quote(code)}", f"{code} enrolled on {on}: the run-in starts.")


@router.post("/participants/{code}/randomize")
def randomize(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    result = sv.randomize_participant(db, actor, code)
    return redirect(
        request,
        f"/participants/{quote(code)}",
        f"{code} randomized (stratum {result.stratum}): dispense kit {result.kit_code}.",
    )


@router.post("/participants/{code}/visits")
def record_visit(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "visit")
    visit = r.text("visit", max_length=16)
    when = r.date("visit_date")
    reason = r.text("out_of_window_reason", required=False)
    key = r.text("request_key", required=False, max_length=128)
    r.done()
    assert visit is not None and when is not None
    res = sv.record_visit(db, actor, code, visit, when, out_of_window_reason=reason, request_key=key)
    note = "" if res.in_window else f" (out of window by {res.deviation_days} days: deviation recorded)"
    return redirect(request, f"/participants/{quote(code)}", f"Visit {visit} recorded on {when}{note}.")


# --------------------------------------------------------------------------- screening
def _screening_context(db: DB, actor: Actor) -> dict[str, Any]:
    protocol = trial_protocol(db)
    return {
        "fields": protocol.screening_fields,
        "level_options": {f.name: [(v, v.replace("_", " ")) for v in f.levels] for f in protocol.screening_fields},
        "site_options": [(s.code, f"{s.code} — {s.name}") for s in sv.list_sites(db, actor)],
        "criteria": protocol.eligibility,
        "key": new_request_key(),
        "today": _today(),
    }


@router.get("/screening", response_class=HTMLResponse)
def screening_form(request: Request, db: DB, actor: PageActor) -> Response:
    return render(request, "screening.html", _screening_context(db, actor))


@router.post("/screening", response_class=HTMLResponse)
def screen(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    protocol = trial_protocol(db)
    r = FormReader(form, "screening")
    screened_on, consent = r.date("screened_on"), r.date("consent_date")
    site = None if policy.is_site_bound(actor.role) else r.text("site", max_length=16)
    key = r.text("request_key", required=False, max_length=128)
    values: dict[str, object] = {}
    for f in protocol.screening_fields:
        name = f"value_{f.name}"
        if f.type == "boolean":
            raw = form.get(name)
            if raw in ("yes", "no"):
                values[f.name] = raw == "yes"
        elif f.type == "integer":
            values[f.name] = r.integer(name, required=False)
        elif f.type == "number":
            values[f.name] = r.number(name, required=False)
        else:
            values[f.name] = r.text(name, required=False, max_length=64)
    values = {k: v for k, v in values.items() if v is not None}
    try:
        r.done()
        assert screened_on is not None and consent is not None
        result = sv.screen_participant(
            db, actor, screened_on=screened_on, consent_date=consent, values=values, site=site, request_key=key
        )
    except ValidationFailed as exc:
        # the services name a screening value by its protocol name; the form calls it value_<name>
        aliases = {f.name: f"value_{f.name}" for f in protocol.screening_fields}
        ctx = _screening_context(db, actor)
        return form_problems(request, "screening.html", ctx, form, exc, failed_form="screening", aliases=aliases)
    verdict = "eligible" if result.eligible else f"screen failure ({', '.join(result.failed_criteria)})"
    return redirect(request, f"/participants/{quote(result.participant)}", f"{result.participant} screened: {verdict}.")


# --------------------------------------------------------------------------- ALSFRS-R
def _items(visit_row: dict[str, object]) -> dict[str, object]:
    items = visit_row.get("alsfrs_r_items")
    return dict(items) if isinstance(items, dict) else {}


def _alsfrs_context(db: DB, actor: Actor, code: str, visit: str) -> dict[str, Any]:
    rows = sv.visit_data(db, actor, code)
    current = next((v for v in rows if v["visit"] == visit), None)
    earlier = [v for v in rows if v["alsfrs_r_items"] and v["visit"] != visit]
    if current is not None:
        earlier = [v for v in earlier if v["visit_date"] <= current["visit_date"]]  # type: ignore[operator]
    previous = earlier[-1] if earlier else None
    return {
        "code": code,
        "visit": visit,
        "record": current,
        "previous": previous,
        "items": alsfrs_r.ITEMS,
        "domains": {k: list(v) for k, v in alsfrs_r.DOMAINS.items()},
        "values": {},
        "gastrostomy": bool(previous and _items(previous).get("q5b") is not None),
        "key": new_request_key(),
        "score": None,
    }


@router.get("/participants/{code}/visits/{visit}/alsfrs-r", response_class=HTMLResponse)
def alsfrs_form(request: Request, code: str, visit: str, db: DB, actor: PageActor) -> Response:
    ctx = _alsfrs_context(db, actor, code, visit)
    if ctx["record"] is not None and ctx["record"]["alsfrs_r_items"]:
        ctx["score"] = _score_of(ctx["record"]["alsfrs_r_items"])
    return render(request, "alsfrs.html", ctx)


def _score_of(items: dict[str, Any]) -> alsfrs_r.AlsfrsScore | None:
    try:
        return alsfrs_r.score({k: v for k, v in items.items() if v is not None})
    except ValidationFailed:
        return None


@router.post("/participants/{code}/visits/{visit}/alsfrs-r", response_class=HTMLResponse)
def alsfrs_submit(request: Request, code: str, visit: str, db: DB, actor: PageActor, form: Form) -> Response:
    gastrostomy = form.get("gastrostomy") == "on"
    responses: dict[str, object] = {}
    problems: list[Problem] = []
    for item in alsfrs_r.ITEMS:
        if item.code == ("q5a" if gastrostomy else "q5b"):
            continue  # the other form of item 5 is not asked
        raw = form.get(item.code)
        text = raw.strip() if isinstance(raw, str) else ""
        if text == "":
            responses[item.code] = None
            continue
        try:
            responses[item.code] = int(text)
        except ValueError:
            problems.append(Problem(item.code, text, alsfrs_r.item_reason(item.code, "type")))
    key = form.get("request_key")
    try:
        if problems:
            raise ValidationFailed(problems, context="ALSFRS-R responses")
        result = sv.record_alsfrs(
            db, actor, code, visit, responses, request_key=key if isinstance(key, str) and key else None
        )
    except ValidationFailed as exc:
        ctx = _alsfrs_context(db, actor, code, visit)
        ctx.update(
            values={k: str(v) for k, v in form.items()},
            problems=problems_by_field(exc.problems),
            gastrostomy=gastrostomy,
            error=f"{len(exc.problems)} problem(s): nothing was saved — fix the marked items",
            key=key or new_request_key(),
        )
        return render(request, "alsfrs.html", ctx, 422)
    s = result.score
    return redirect(
        request,
        f"/participants/{quote(code)}/visits/{quote(visit)}/alsfrs-r",
        f"ALSFRS-R saved for {code} at {visit}: total {s.total}/48.",
    )


# --------------------------------------------------------------------------- corrections and history
def _current_value(
    db: DB, actor: Actor, entity: str, entity_id: int, field: str, participant: str | None = None
) -> tuple[object, int | None]:
    """The value and version of a record's field, read through the services (None when not found).

    There is no read-one-record service yet, so this scans the participant's visits (or every
    participant's when no code is given) and the adverse-event list.
    """
    if entity == "alsfrs_assessment":
        codes = [participant] if participant else [p.code for p in sv.list_participants(db, actor)]
        for code in codes:
            for v in sv.visit_data(db, actor, code):
                if v["alsfrs_r_id"] == entity_id:
                    version = v["alsfrs_r_version"]
                    return _items(v).get(field), version if isinstance(version, int) else None
    if entity == "adverse_event":
        for row in sv.list_adverse_events(db, actor, participant=participant or None):
            if row.get("id") == entity_id:
                return row.get(field), row.get("version")  # type: ignore[return-value]
    return None, None


@router.get("/corrections", response_class=HTMLResponse)
def correction_form(
    request: Request,
    db: DB,
    actor: PageActor,
    entity: str,
    entity_id: Annotated[int, Query(ge=1, le=MAX_INT)],
    field: str,
    back: str = "/",
    participant: str | None = None,
) -> Response:
    if entity not in FIELDS or field not in correctable_fields(entity):
        raise ValidationFailed([Problem("field", f"{entity}.{field}", "not a correctable field")])
    value, version = _current_value(db, actor, entity, entity_id, field, participant)
    return render(
        request,
        "correction.html",
        {
            "entity": entity,
            "entity_id": entity_id,
            "field": field,
            "spec": FIELDS[entity][field],
            "value": value,
            "version": version,
            "back": _safe_next(back),
            "new_value": "",
            "reason": "",
            "stale": None,
            "participant": participant or "",
        },
    )


@router.post("/corrections", response_class=HTMLResponse)
def correct(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "correction")
    entity = r.text("entity", max_length=64) or ""
    entity_id = r.integer("entity_id")
    field = r.text("field", max_length=64) or ""
    version = r.integer("version")
    new_value = r.text("new_value", required=False)
    reason = r.text("reason")
    back = _safe_next(form.get("back"))
    participant = r.text("participant", required=False, max_length=64)
    r.done()
    assert entity_id is not None and version is not None and reason is not None
    ctx: dict[str, Any] = {
        "entity": entity,
        "entity_id": entity_id,
        "field": field,
        "spec": FIELDS.get(entity, {}).get(field),
        "back": back,
        "new_value": new_value or "",
        "reason": reason,
        "participant": participant or "",
    }
    try:
        done = sv.correct_value(
            db,
            actor,
            entity=entity,
            entity_id=entity_id,
            field=field,
            new_value=new_value,
            reason=reason,
            version=version,
        )
    except sv.StaleVersion as exc:
        value, current = _current_value(db, actor, entity, entity_id, field, participant)
        ctx.update(value=value, version=current, stale=exc, yours=version)
        return render(request, "correction.html", ctx, 409)
    except ValidationFailed as exc:
        value, current = _current_value(db, actor, entity, entity_id, field, participant)
        ctx.update(value=value, version=version, stale=None, problems=problems_by_field(exc.problems))
        ctx["error"] = "; ".join(f"{p.where}: {p.reason}" for p in exc.problems)
        return render(request, "correction.html", ctx, 422)
    return redirect(request, back, f"Corrected {field}: {done.old!r} → {done.new!r} (now version {done.version}).")


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request,
    db: DB,
    actor: PageActor,
    participant: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    page: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> Response:
    """The audit trail of a participant or one record (who, when, old → new, reason)."""
    size = 100
    lines = sv.audit_log(
        db,
        actor,
        participant=participant or None,
        entity=entity or None,
        entity_id=entity_id or None,
        offset=max(page, 0) * size,
        limit=size + 1,
    )
    return render(
        request,
        "history.html",
        {
            "lines": lines[:size],
            "participant": participant or "",
            "entity": entity or "",
            "entity_id": entity_id or "",
            "page": max(page, 0),
            "more": len(lines) > size,
        },
    )


# --------------------------------------------------------------------------- queries
@router.get("/queries", response_class=HTMLResponse)
def queries(
    request: Request,
    db: DB,
    actor: PageActor,
    status: str | None = "open",
    entity: Annotated[str, Query(max_length=64)] = "",
    entity_id: Annotated[str, Query(max_length=20)] = "",
    field: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The queries, and the form to open one (filled in by a record's "query" link next to a field)."""
    return render(request, "queries.html", _queries_context(db, actor, status, entity, entity_id, field))


def _queries_context(
    db: DB, actor: Actor, status: str | None, entity: str = "", entity_id: str = "", field: str = ""
) -> dict[str, Any]:
    return {
        "rows": sv.list_queries(db, actor, status=status or None, limit=500),
        "status": status or "",
        "key": new_request_key(),
        "entities": sorted(FIELDS),
        "new": {"entity": entity, "entity_id": entity_id, "field": field},
    }


@router.post("/queries")
def open_query(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "query")
    entity, field, text = r.text("entity", max_length=64), r.text("field", max_length=64), r.text("text")
    entity_id = r.integer("entity_id")
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert entity and field and text and entity_id is not None
        q = sv.open_query(db, actor, entity=entity, entity_id=entity_id, field=field, text=text, request_key=key)
    except ValidationFailed as exc:
        context = _queries_context(db, actor, "open")
        return form_problems(request, "queries.html", context, form, exc, failed_form="query")
    return redirect(request, "/queries", f"Query {q.id} opened on {entity} {entity_id}, {field}.")


@router.post("/queries/{query_id}/answer")
def answer_query(request: Request, query_id: QueryId, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "answer")
    answer = r.text("answer")
    r.done()
    assert answer is not None
    sv.answer_query(db, actor, query_id, answer=answer)
    return redirect(request, "/queries", f"Query {query_id} answered.")


@router.post("/queries/{query_id}/close")
def close_query(request: Request, query_id: QueryId, db: DB, actor: PageActor, form: Form) -> Response:
    note = str(form.get("note") or "")
    sv.close_query(db, actor, query_id, note=note)
    return redirect(request, "/queries?status=answered", f"Query {query_id} closed.")


# --------------------------------------------------------------------------- safety, dosing, disposition
@router.get("/participants/{code}/adverse-events/new", response_class=HTMLResponse)
def adverse_event_form(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    events = sv.list_adverse_events(db, actor, participant=code)
    return render(request, "adverse_event.html", _ae_context(code, events))


def _ae_context(code: str, events: list[Any]) -> dict[str, Any]:
    return {
        "code": code,
        "events": events,
        "severities": SEVERITIES,
        "relatedness": RELATEDNESS,
        "actions": ACTIONS,
        "outcomes": OUTCOMES,
        "criteria": SAE_CRITERIA,
        "chosen_criteria": [],
        "key": new_request_key(),
    }


@router.post("/participants/{code}/adverse-events", response_class=HTMLResponse)
def record_adverse_event(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "adverse event")
    term = r.text("term", max_length=200)
    onset, resolved = r.date("onset_date"), r.date("resolution_date", required=False)
    choices = {n: r.text(n, max_length=64) for n in ("severity", "relatedness", "action_taken", "outcome")}
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert term is not None and onset is not None
        sv.record_adverse_event(
            db,
            actor,
            code,
            term=term,
            onset_date=onset,
            severity=choices["severity"] or "",
            relatedness=choices["relatedness"] or "",
            action_taken=choices["action_taken"] or "",
            outcome=choices["outcome"] or "",
            serious=r.flag("serious"),
            criteria=tuple(str(c) for c in form.getlist("criteria")),
            resolution_date=resolved,
            request_key=key,
        )
    except ValidationFailed as exc:
        ctx = _ae_context(code, sv.list_adverse_events(db, actor, participant=code))
        ctx["chosen_criteria"] = [str(c) for c in form.getlist("criteria")]
        return form_problems(request, "adverse_event.html", ctx, form, exc, failed_form="ae")
    return redirect(request, f"/participants/{quote(code)}/adverse-events/new", f"Adverse event recorded: {term}.")


@router.get("/participants/{code}/doses/new", response_class=HTMLResponse)
def dose_form(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    return render(request, "dose.html", _dose_context(db, actor, code))


def _dose_context(db: DB, actor: Actor, code: str) -> dict[str, Any]:
    return {"code": code, "doses": sv.list_doses(db, actor, participant=code), "key": new_request_key()}


@router.post("/participants/{code}/doses", response_class=HTMLResponse)
def administer_dose(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    """Dosing with the chain-of-identity check: the label's COI id is typed or scanned."""
    r = FormReader(form, "dose")
    lot, label = r.text("lot_number", max_length=64), r.text("label_coi_id", max_length=64)
    at, number = r.datetime("administered_at"), r.integer("dose_number")
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert lot and label and at and number is not None
        sv.administer_dose(
            db, actor, code, lot_number=lot, label_coi_id=label, administered_at=at, dose_number=number, request_key=key
        )
    except sv.ChainOfIdentityMismatch as exc:
        ctx = {**_dose_context(db, actor, code), "values": dict(form.items()), "failed_form": "dose"}
        ctx["error"] = f"DOSE REFUSED — {exc}"
        return render(request, "dose.html", ctx, 422)
    except ValidationFailed as exc:
        return form_problems(request, "dose.html", _dose_context(db, actor, code), form, exc, failed_form="dose")
    return redirect(request, f"/participants/{quote(code)}", f"Dose {number} recorded (lot {lot}).")


@router.get("/participants/{code}/disposition", response_class=HTMLResponse)
def disposition_form(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    sv.participant_detail(db, actor, code)  # the participant must be visible to the caller
    return render(request, "disposition.html", _disposition_context(code))


def _disposition_context(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "reasons": REASON_CODES,
        "deciders": DECIDERS,
        "kinds": [(k, k.replace("_", " ")) for k in INTERCURRENT_KINDS],
        "key": new_request_key(),
    }


@router.post("/participants/{code}/disposition")
def record_disposition(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "discontinuation or withdrawal")
    what = r.text("what", max_length=16)
    on = r.date("on")
    reason_code, decided_by = r.text("reason_code", max_length=64), r.text("decided_by", max_length=32)
    reason_text = r.text("reason_text", required=False)
    key = r.text("request_key", required=False, max_length=128)
    if what not in ("discontinue", "withdraw"):
        r.problems.append(Problem("what", what, "expected 'discontinue' (treatment) or 'withdraw' (study)"))
    try:
        r.done()
        assert on and reason_code and decided_by
        call = sv.discontinue_treatment if what == "discontinue" else sv.withdraw_participant
        call(
            db,
            actor,
            code,
            on=on,
            reason_code=reason_code,
            decided_by=decided_by,
            reason_text=reason_text,
            request_key=key,
        )
    except ValidationFailed as exc:
        context = _disposition_context(code)
        return form_problems(request, "disposition.html", context, form, exc, failed_form="disposition")
    if what == "discontinue":
        message = f"Treatment of {code} discontinued on {on}."
    else:
        message = f"{code} withdrawn from the study on {on}."
    return redirect(request, f"/participants/{quote(code)}", message)


@router.post("/participants/{code}/intercurrent-events")
def record_intercurrent_event(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "intercurrent event")
    kind, when = r.text("kind", max_length=64), r.date("event_date")
    hours, days = r.number("hours_per_day", required=False), r.integer("consecutive_days", required=False)
    details = r.text("details", required=False)
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert kind and when
        sv.record_intercurrent_event(
            db,
            actor,
            code,
            kind=kind,
            event_date=when,
            hours_per_day=hours,
            consecutive_days=days,
            details=details,
            request_key=key,
        )
    except ValidationFailed as exc:
        return form_problems(request, "disposition.html", _disposition_context(code), form, exc, failed_form="ice")
    return redirect(request, f"/participants/{quote(code)}", f"{kind.replace('_', ' ')} recorded on {when}.")


# --------------------------------------------------------------------------- emergency unblinding
@router.get("/participants/{code}/emergency-unblinding", response_class=HTMLResponse)
def emergency_unblinding_form(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    sv.participant_detail(db, actor, code)  # the participant must be visible to the caller
    return render(request, "emergency_unblinding.html", {"code": code, "result": None})


@router.post("/participants/{code}/emergency-unblinding", response_class=HTMLResponse)
def emergency_unblind(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    """Reveal one participant's arm to their investigator (audited); the answer is shown once, not redirected."""
    r = FormReader(form, "emergency unblinding")
    reason, password = r.text("reason"), r.text("password", max_length=1000)
    try:
        r.done()
        assert reason and password
        result = sv.emergency_unblind(db, actor, code, reason=reason, password=password)
    except ValidationFailed as exc:
        context = {"code": code, "result": None}
        return form_problems(request, "emergency_unblinding.html", context, form, exc, failed_form="unblind")
    return render(request, "emergency_unblinding.html", {"code": code, "result": result})


# --------------------------------------------------------------------------- CSF
@router.get("/participants/{code}/csf", response_class=HTMLResponse)
def csf_form(request: Request, code: str, db: DB, actor: PageActor) -> Response:
    return render(request, "csf.html", _csf_context(db, actor, code))


def _csf_context(db: DB, actor: Actor, code: str) -> dict[str, Any]:
    samples = sv.list_lab_samples(db, actor, participant=code)
    visit_codes = [v.code for v in trial_protocol(db).visits]
    return {"code": code, "samples": samples, "visit_codes": visit_codes, "key": new_request_key()}


@router.post("/participants/{code}/csf")
def record_csf(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "CSF sample")
    visit, sample_id, at = (
        r.text("visit", max_length=16),
        r.text("sample_id", max_length=64),
        r.datetime("collected_at"),
    )
    key = r.text("request_key", required=False, max_length=128)
    try:
        r.done()
        assert visit and sample_id and at
        sv.record_csf_sample(db, actor, code, visit=visit, sample_id=sample_id, collected_at=at, request_key=key)
    except ValidationFailed as exc:
        return form_problems(request, "csf.html", _csf_context(db, actor, code), form, exc, failed_form="sample")
    return redirect(request, f"/participants/{quote(code)}/csf", f"CSF sample {sample_id} recorded.")


@router.post("/participants/{code}/csf/results")
def record_csf_result(request: Request, code: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "lab result")
    sample_id, analyte = r.text("sample_id", max_length=64), r.text("analyte", max_length=32)
    value, unit, assay = (
        r.number("value", required=False),
        r.text("unit", max_length=32),
        r.text("assay", max_length=100),
    )
    below = True if r.flag("below_lloq") else None
    try:
        r.done()
        assert sample_id and analyte and unit and assay
        sv.record_lab_result(
            db, actor, sample_id=sample_id, analyte=analyte, value=value, unit=unit, assay=assay, below_lloq=below
        )
    except ValidationFailed as exc:
        return form_problems(request, "csf.html", _csf_context(db, actor, code), form, exc, failed_form="result")
    return redirect(request, f"/participants/{quote(code)}/csf", f"{analyte} result recorded for {sample_id}.")


# --------------------------------------------------------------------------- lock and admin
@router.get("/admin/lock", response_class=HTMLResponse)
def lock_page(request: Request, db: DB, actor: PageActor) -> Response:
    return render(request, "lock.html", _lock_context(db, actor))


def _lock_context(db: DB, actor: Actor) -> dict[str, Any]:
    events = sv.audit_log(db, actor, action="database.") if policy.can(actor.role, policy.Permission.READ_AUDIT) else []
    return {"events": events, "locked": bool(events) and events[-1].action == "database.lock"}


@router.post("/admin/lock")
def lock(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "lock")
    reason, what = r.text("reason"), r.text("what", max_length=8)
    password = r.text("password", max_length=1000)
    override = r.text("override_reason", required=False)
    try:
        r.done()
        assert reason and password
        if what == "unlock":
            sv.unlock_database(db, actor, reason=reason, password=password)
        else:
            sv.lock_database(db, actor, reason=reason, password=password, override_reason=override)
    except ValidationFailed as exc:
        return form_problems(request, "lock.html", _lock_context(db, actor), form, exc, failed_form="lock")
    if what == "unlock":
        return redirect(request, "/admin/lock", "The database is unlocked: data entry is open again.")
    return redirect(request, "/admin/lock", "The database is locked: every data write is refused.")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, db: DB, actor: PageActor) -> Response:
    return render(request, "users.html", _users_context(db, actor))


def _users_context(db: DB, actor: Actor) -> dict[str, Any]:
    roles = [(r, r.replace("_", " ")) for r in policy.ROLES]
    sites = sv.list_sites(db, actor)
    return {"users": sv.list_users(db, actor), "sites": sites, "site_codes": [s.code for s in sites], "roles": roles}


@router.post("/admin/users")
def add_user(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "user")
    username, role = r.text("username", max_length=64), r.text("role", max_length=32)
    password, full_name = r.text("password", max_length=1000), r.text("full_name", required=False, max_length=200)
    site = r.text("site", required=False, max_length=16)
    try:
        r.done()
        assert username and role and password
        sv.add_user(db, actor, username=username, role=role, password=password, full_name=full_name or "", site=site)
    except ValidationFailed as exc:
        return form_problems(request, "users.html", _users_context(db, actor), form, exc, failed_form="user")
    return redirect(request, "/admin/users", f"User {username} ({role}) created.")


@router.post("/admin/users/{username}/unlock")
def unlock_user(request: Request, username: str, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "unlock")
    reason = r.text("reason")
    r.done()
    assert reason
    sv.unlock_account(db, actor, username, reason=reason)
    return redirect(request, "/admin/users", f"Sign-in lockout of {username} lifted.")


@router.post("/admin/sites")
def add_site(request: Request, db: DB, actor: PageActor, form: Form) -> Response:
    r = FormReader(form, "site")
    code, name, country = r.text("code", max_length=16), r.text("name", max_length=200), r.text("country", max_length=3)
    try:
        r.done()
        assert code and name and country
        sv.add_site(db, actor, code, name, country)
    except ValidationFailed as exc:
        return form_problems(request, "users.html", _users_context(db, actor), form, exc, failed_form="site")
    return redirect(request, "/admin/users", f"Site {code} added.")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


__all__ = ["RedirectResponse", "router", "session_of"]
