"""The JSON API under ``/api/v1``: one operation per capture service, each a thin call.

Bodies are validated by the models in :mod:`alstrial.web.api_models` (their enumerations appear in
the OpenAPI document); the services then check every rule, role, site and lock. Errors of every
operation share one shape (:class:`ErrorOut`), produced by :mod:`alstrial.web.errors`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from alstrial import services as sv
from alstrial.services import Actor
from alstrial.web.api_models import (
    MAX_ID,
    AdverseEventIn,
    AllocationRowOut,
    AlsfrsIn,
    AlsfrsOut,
    AnswerIn,
    ArmOut,
    AspirationIn,
    AuditLineOut,
    CasebookSignIn,
    CasebookStatusOut,
    CloseIn,
    CorrectionIn,
    CorrectionOut,
    CreatedOut,
    CsfSampleIn,
    DiscontinuationIn,
    DoseIn,
    EmergencyUnblindingOut,
    EnrolIn,
    Entity,
    ErrorOut,
    IntercurrentEventIn,
    LabResultOut,
    LabResultsIn,
    LockIn,
    LockOut,
    LotIn,
    LotOut,
    MeOut,
    ParticipantDetailOut,
    ParticipantOut,
    ParticipantStatus,
    PasswordIn,
    ProtocolVisitOut,
    QueryIn,
    QueryOut,
    QueryStatus,
    RandomizationOut,
    ReasonIn,
    RunInOut,
    SampleOut,
    ScreeningFieldOut,
    ScreeningIn,
    ScreeningOut,
    SignatureKind,
    SignatureOut,
    SignedIn,
    SiteIn,
    SiteOut,
    TokenIn,
    TokenOut,
    UnblindingOut,
    UserIn,
    UserOut,
    VisitIn,
    VisitOut,
    VisitResultOut,
    VitalCapacityIn,
    WeightIn,
    WithdrawalIn,
)
from alstrial.web.deps import DB, ApiActor
from alstrial.web.errors import TooManyAttempts
from alstrial.web.security import Signer, SignInThrottle

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what}
    for code, what in {
        401: "not signed in, or the token expired",
        403: "the role may not do this",
        404: "no such record that you may see",
        409: "out of order, duplicate or stale version",
        422: "invalid input: every problem listed",
        423: "the database is locked",
        503: "the database is busy: retry",
    }.items()
}
router = APIRouter(prefix="/api/v1", responses=_ERRORS)

Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
Limit = Annotated[int | None, Query(ge=1, le=1000, description="rows per page (all when omitted)")]
QueryId = Annotated[int, Path(ge=1, le=MAX_ID, description="the query's id")]
ParticipantFilter = Annotated[str | None, Query(max_length=64, description="one participant's code")]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def fields(body: BaseModel) -> dict[str, Any]:
    """A request body as the service's keyword arguments: the models name their fields as the services do.

    Lists become tuples (the services take tuples); an unset signature meaning is left out, so the
    service applies the default meaning of its step.
    """
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in body
        if not (name == "meaning" and value is None)
    }


# --------------------------------------------------------------------------- sign-in
@router.post("/tokens", response_model=TokenOut, tags=["sign-in"], responses={429: {"model": ErrorOut}})
def create_token(body: TokenIn, request: Request, db: DB) -> TokenOut:
    """Exchange a user name and password for a bearer token (expires; sign in again for a new one)."""
    throttle: SignInThrottle = request.app.state.throttle
    client = _client(request)
    if throttle.blocked(client):
        raise TooManyAttempts("too many failed sign-ins from this address: wait a few minutes and try again")
    try:
        actor = sv.authenticate(db, body.username, body.password)
    except sv.AuthenticationFailed:
        throttle.failed(client)
        raise
    throttle.succeeded(client)
    signer: Signer = request.app.state.signer
    return TokenOut(
        access_token=signer.dump_token(actor),
        expires_in=signer.token_seconds,
        username=actor.username,
        role=actor.role,
        site=actor.site_code,
    )


@router.get("/me", response_model=MeOut, tags=["sign-in"])
def me(actor: ApiActor) -> MeOut:
    """Who the token belongs to."""
    return MeOut(username=actor.username, role=actor.role, site=actor.site_code)


# --------------------------------------------------------------------------- protocol
@router.get("/protocol/visits", response_model=list[ProtocolVisitOut], tags=["protocol"])
def protocol_visits(db: DB, actor: ApiActor) -> list[dict[str, Any]]:
    """The visit schedule: codes, target days and windows (relative to the first dose)."""
    sv.list_sites(db, actor)  # the same sign-in check as every read
    return [v.model_dump(include=set(ProtocolVisitOut.model_fields)) for v in db.protocol().visits]


@router.get("/protocol/screening-fields", response_model=list[ScreeningFieldOut], tags=["protocol"])
def protocol_screening_fields(db: DB, actor: ApiActor) -> list[dict[str, Any]]:
    """The screening fields the eligibility criteria are evaluated on (names for ``values``)."""
    sv.list_sites(db, actor)
    return [f.model_dump(include=set(ScreeningFieldOut.model_fields)) for f in db.protocol().screening_fields]


# --------------------------------------------------------------------------- sites and users
@router.get("/sites", response_model=list[SiteOut], tags=["admin"])
def list_sites(db: DB, actor: ApiActor) -> list[Any]:
    return sv.list_sites(db, actor)


@router.post("/sites", response_model=SiteOut, status_code=201, tags=["admin"])
def add_site(body: SiteIn, db: DB, actor: ApiActor) -> SiteOut:
    code = sv.add_site(db, actor, **fields(body))
    return SiteOut(code=code, name=body.name, country=body.country, active=True)


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def list_users(db: DB, actor: ApiActor) -> list[Any]:
    return sv.list_users(db, actor)


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def add_user(body: UserIn, db: DB, actor: ApiActor) -> Any:
    return sv.add_user(db, actor, **fields(body))


@router.post("/users/{username}/unlock", response_model=UserOut, tags=["admin"])
def unlock_account(username: str, body: ReasonIn, db: DB, actor: ApiActor) -> Any:
    """Lift a sign-in lockout, with a reason."""
    return sv.unlock_account(db, actor, username, reason=body.reason)


@router.post("/users/{username}/deactivate", response_model=UserOut, tags=["admin"])
def deactivate_user(username: str, body: ReasonIn, db: DB, actor: ApiActor) -> Any:
    """Deactivate an account, with a reason: it can no longer sign in or sign; its records and signatures stay."""
    return sv.deactivate_user(db, actor, username, reason=body.reason)


@router.post("/users/{username}/password", response_model=UserOut, tags=["admin"])
def set_password(username: str, body: PasswordIn, db: DB, actor: ApiActor) -> Any:
    """Change your own password (re-enter the current one), or reset anyone's as an admin."""
    return sv.set_password(db, actor, username, **fields(body))


# --------------------------------------------------------------------------- participants
@router.get("/participants", response_model=list[ParticipantOut], tags=["participants"])
def list_participants(
    db: DB,
    actor: ApiActor,
    site: Annotated[str | None, Query(max_length=16)] = None,
    status: ParticipantStatus | None = None,
    offset: Offset = 0,
    limit: Limit = None,
) -> list[dict[str, object]]:
    return [p.to_dict() for p in sv.list_participants(db, actor, site=site, status=status, offset=offset, limit=limit)]


@router.post("/participants", response_model=ScreeningOut, status_code=201, tags=["participants"])
def screen_participant(body: ScreeningIn, db: DB, actor: ApiActor) -> Any:
    """Screen one person: stores the data and every criterion's outcome, and gives the participant code."""
    return sv.screen_participant(db, actor, **fields(body))


@router.get("/participants/{code}", response_model=ParticipantDetailOut, tags=["participants"])
def participant_detail(code: str, db: DB, actor: ApiActor) -> dict[str, object]:
    return sv.participant_detail(db, actor, code).to_dict()


@router.post("/participants/{code}/enrol", response_model=ParticipantOut, tags=["participants"])
def enrol_participant(code: str, body: EnrolIn, db: DB, actor: ApiActor) -> dict[str, object]:
    sv.enrol_participant(db, actor, code, **fields(body))
    return sv.participant_detail(db, actor, code).participant.to_dict()


@router.post("/participants/{code}/runin", response_model=RunInOut, tags=["participants"])
def complete_runin(code: str, db: DB, actor: ApiActor) -> Any:
    return sv.complete_runin(db, actor, code)


@router.post("/participants/{code}/randomize", response_model=RandomizationOut, tags=["participants"])
def randomize_participant(code: str, db: DB, actor: ApiActor) -> Any:
    """Randomize: answers the kit code to dispense (never the arm)."""
    return sv.randomize_participant(db, actor, code)


@router.get("/participants/{code}/arm", response_model=ArmOut, tags=["unblinded"])
def participant_arm(code: str, db: DB, actor: ApiActor) -> ArmOut:
    """The arm of one participant, for unblinded roles only."""
    return ArmOut(participant=code, arm=sv.participant_arm(db, actor, code))


@router.get("/participants/{code}/visits", response_model=list[VisitOut], tags=["visits"])
def visit_data(code: str, db: DB, actor: ApiActor) -> list[dict[str, object]]:
    return sv.visit_data(db, actor, code)


@router.post("/participants/{code}/visits", response_model=VisitResultOut, status_code=201, tags=["visits"])
def record_visit(code: str, body: VisitIn, db: DB, actor: ApiActor) -> Any:
    return sv.record_visit(db, actor, code, **fields(body))


@router.post("/participants/{code}/visits/{visit}/alsfrs-r", response_model=AlsfrsOut, status_code=201, tags=["visits"])
def record_alsfrs(code: str, visit: str, body: AlsfrsIn, db: DB, actor: ApiActor) -> Any:
    """Item-level ALSFRS-R (exactly one of q5a / q5b); the answer carries the total, subscores and stages."""
    items = body.model_dump(exclude={"assessed_on", "request_key"}, exclude_none=True)
    return sv.record_alsfrs(db, actor, code, visit, items, assessed_on=body.assessed_on, request_key=body.request_key)


@router.post(
    "/participants/{code}/visits/{visit}/vital-capacity", response_model=CreatedOut, status_code=201, tags=["visits"]
)
def record_vital_capacity(code: str, visit: str, body: VitalCapacityIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.record_vital_capacity(db, actor, code, visit, **fields(body)))


@router.post("/participants/{code}/visits/{visit}/weight", response_model=CreatedOut, status_code=201, tags=["visits"])
def record_weight(code: str, visit: str, body: WeightIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.record_weight(db, actor, code, visit, **fields(body)))


# --------------------------------------------------------------------------- labs
@router.post("/participants/{code}/csf-samples", response_model=SampleOut, status_code=201, tags=["labs"])
def record_csf_sample(code: str, body: CsfSampleIn, db: DB, actor: ApiActor) -> SampleOut:
    return SampleOut(sample_id=sv.record_csf_sample(db, actor, code, **fields(body)))


@router.post("/lab-results", response_model=list[LabResultOut], status_code=201, tags=["labs"])
def record_lab_results(body: LabResultsIn, db: DB, actor: ApiActor) -> Any:
    """Several analytes of one sample, all or none (a single result is a list of one); takes a request key."""
    results = [sv.LabResultInput(r.analyte, r.value, r.unit, r.below_lloq) for r in body.results]
    return sv.record_lab_results(
        db, actor, sample_id=body.sample_id, results=results, assay=body.assay, request_key=body.request_key
    )


@router.get("/lab-samples", response_model=list[dict[str, Any]], tags=["labs"])
def list_lab_samples(
    db: DB, actor: ApiActor, participant: ParticipantFilter = None, offset: Offset = 0, limit: Limit = None
) -> Any:
    return sv.list_lab_samples(db, actor, participant=participant, offset=offset, limit=limit)


# --------------------------------------------------------------------------- product
@router.post("/participants/{code}/aspirations", response_model=CreatedOut, status_code=201, tags=["product"])
def record_aspiration(code: str, body: AspirationIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.record_aspiration(db, actor, code, **fields(body)))


@router.post("/lots", response_model=LotOut, status_code=201, tags=["product"])
def manufacture_lot(body: LotIn, db: DB, actor: ApiActor) -> Any:
    return sv.manufacture_lot(db, actor, **fields(body))


@router.post("/lots/{lot_number}/release", response_model=LotOut, tags=["product"])
def release_lot(lot_number: str, db: DB, actor: ApiActor) -> Any:
    return sv.release_lot(db, actor, lot_number)


@router.get("/lots", response_model=list[dict[str, Any]], tags=["product"])
def list_product_lots(
    db: DB, actor: ApiActor, participant: ParticipantFilter = None, offset: Offset = 0, limit: Limit = None
) -> Any:
    return sv.list_product_lots(db, actor, participant=participant, offset=offset, limit=limit)


@router.post("/participants/{code}/doses", response_model=CreatedOut, status_code=201, tags=["product"])
def administer_dose(code: str, body: DoseIn, db: DB, actor: ApiActor) -> CreatedOut:
    """Record a dose after the chain-of-identity check (a mismatch is refused and audited)."""
    return CreatedOut(id=sv.administer_dose(db, actor, code, **fields(body)))


@router.get("/doses", response_model=list[dict[str, Any]], tags=["product"])
def list_doses(
    db: DB, actor: ApiActor, participant: ParticipantFilter = None, offset: Offset = 0, limit: Limit = None
) -> Any:
    return sv.list_doses(db, actor, participant=participant, offset=offset, limit=limit)


# --------------------------------------------------------------------------- safety and disposition
@router.post("/participants/{code}/adverse-events", response_model=CreatedOut, status_code=201, tags=["safety"])
def record_adverse_event(code: str, body: AdverseEventIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.record_adverse_event(db, actor, code, **fields(body)))


@router.get("/adverse-events", response_model=list[dict[str, Any]], tags=["safety"])
def list_adverse_events(
    db: DB,
    actor: ApiActor,
    participant: ParticipantFilter = None,
    serious: bool | None = None,
    offset: Offset = 0,
    limit: Limit = None,
) -> Any:
    return sv.list_adverse_events(db, actor, participant=participant, serious=serious, offset=offset, limit=limit)


@router.post("/participants/{code}/intercurrent-events", response_model=CreatedOut, status_code=201, tags=["safety"])
def record_intercurrent_event(code: str, body: IntercurrentEventIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.record_intercurrent_event(db, actor, code, **fields(body)))


@router.get("/intercurrent-events", response_model=list[dict[str, Any]], tags=["safety"])
def list_intercurrent_events(
    db: DB, actor: ApiActor, participant: ParticipantFilter = None, offset: Offset = 0, limit: Limit = None
) -> Any:
    return sv.list_intercurrent_events(db, actor, participant=participant, offset=offset, limit=limit)


@router.post("/participants/{code}/discontinuation", response_model=CreatedOut, status_code=201, tags=["safety"])
def discontinue_treatment(code: str, body: DiscontinuationIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.discontinue_treatment(db, actor, code, **fields(body)))


@router.post("/participants/{code}/withdrawal", response_model=CreatedOut, status_code=201, tags=["safety"])
def withdraw_participant(code: str, body: WithdrawalIn, db: DB, actor: ApiActor) -> CreatedOut:
    return CreatedOut(id=sv.withdraw_participant(db, actor, code, **fields(body)))


# --------------------------------------------------------------------------- corrections and queries
@router.post("/corrections", response_model=CorrectionOut, tags=["data quality"])
def correct_value(body: CorrectionIn, db: DB, actor: ApiActor) -> Any:
    """Change one value of the record at the version you read; 409 with the current version otherwise."""
    return sv.correct_value(db, actor, **fields(body))


@router.get("/queries", response_model=list[QueryOut], tags=["data quality"])
def list_queries(
    db: DB,
    actor: ApiActor,
    status: QueryStatus | None = None,
    participant: ParticipantFilter = None,
    entity: Entity | None = None,
    offset: Offset = 0,
    limit: Limit = None,
) -> Any:
    return sv.list_queries(db, actor, status=status, participant=participant, entity=entity, offset=offset, limit=limit)


@router.post("/queries", response_model=QueryOut, status_code=201, tags=["data quality"])
def open_query(body: QueryIn, db: DB, actor: ApiActor) -> Any:
    return sv.open_query(db, actor, **fields(body))


@router.post("/queries/{query_id}/answer", response_model=QueryOut, tags=["data quality"])
def answer_query(query_id: QueryId, body: AnswerIn, db: DB, actor: ApiActor) -> Any:
    return sv.answer_query(db, actor, query_id, answer=body.answer)


@router.post("/queries/{query_id}/close", response_model=QueryOut, tags=["data quality"])
def close_query(query_id: QueryId, body: CloseIn, db: DB, actor: ApiActor) -> Any:
    return sv.close_query(db, actor, query_id, note=body.note)


@router.get("/audit", response_model=list[AuditLineOut], tags=["data quality"])
def audit_log(
    db: DB,
    actor: ApiActor,
    participant: ParticipantFilter = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Limit = None,
) -> Any:
    """The audit trail (field history: filter by entity and entity_id)."""
    return sv.audit_log(
        db,
        actor,
        participant=participant,
        action=action,
        entity=entity,
        entity_id=entity_id,
        username=username,
        offset=offset,
        limit=limit,
    )


# --------------------------------------------------------------------------- signatures
@router.post("/participants/{code}/signatures", response_model=SignatureOut, status_code=201, tags=["signatures"])
def sign_casebook(code: str, body: CasebookSignIn, db: DB, actor: ApiActor) -> dict[str, object]:
    """The investigator signs the casebook (or one visit of it), re-entering the password, with a meaning."""
    return sv.sign_casebook(db, actor, code, **fields(body)).to_dict()


@router.get("/participants/{code}/signature-status", response_model=CasebookStatusOut, tags=["signatures"])
def signature_status(
    code: str, db: DB, actor: ApiActor, visit: Annotated[str | None, Query(max_length=16)] = None
) -> dict[str, object]:
    """Whether the casebook (or one visit) is signed, and whether the latest signature still holds."""
    return sv.signature_status(db, actor, code, visit=visit).to_dict()


@router.get("/signatures", response_model=list[SignatureOut], tags=["signatures"])
def list_signatures(
    db: DB, actor: ApiActor, participant: ParticipantFilter = None, kind: SignatureKind | None = None
) -> list[dict[str, object]]:
    """Every signature you may see, each checked: valid, or broken with what changed since signing."""
    return [s.to_dict() for s in sv.list_signatures(db, actor, participant=participant, kind=kind)]


# --------------------------------------------------------------------------- lock and unblinding
@router.post("/lock", response_model=LockOut, tags=["lock"])
def lock_database(body: LockIn, db: DB, actor: ApiActor) -> LockOut:
    """Lock the database, signed with the re-entered password."""
    return LockOut(at=sv.lock_database(db, actor, **fields(body)).at)


@router.post("/unlock", response_model=LockOut, tags=["lock"])
def unlock_database(body: SignedIn, db: DB, actor: ApiActor) -> LockOut:
    return LockOut(at=sv.unlock_database(db, actor, **fields(body)).at)


@router.post("/unblinding", response_model=LockOut, tags=["unblinded"])
def unblind_trial(body: SignedIn, db: DB, actor: ApiActor) -> LockOut:
    """Full unblinding, after the lock, signed with the re-entered password."""
    return LockOut(at=sv.unblind_trial(db, actor, **fields(body)).at)


@router.post("/participants/{code}/emergency-unblinding", response_model=EmergencyUnblindingOut, tags=["unblinded"])
def emergency_unblind(code: str, body: SignedIn, db: DB, actor: ApiActor) -> Any:
    """Reveal one participant's arm to their investigator, with a reason and a signature (audited)."""
    return sv.emergency_unblind(db, actor, code, **fields(body))


@router.get("/unblindings", response_model=list[UnblindingOut], tags=["unblinded"])
def list_unblindings(db: DB, actor: ApiActor) -> Any:
    return sv.list_unblindings(db, actor)


@router.get("/allocation-list", response_model=list[AllocationRowOut], tags=["unblinded"])
def allocation_list(db: DB, actor: ApiActor) -> Any:
    return sv.allocation_list(db, actor)


__all__ = ["Actor", "router"]
