"""Read services. Arms appear only for roles that may see them (``policy.sees_arm``); site roles
see only their own site's participants."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, page_problems, transaction
from alstrial.store.models import (
    AllocationSlot,
    AlsfrsAssessment,
    EligibilityOutcome,
    Participant,
    Site,
    StudyWithdrawal,
    TreatmentDiscontinuation,
    VisitRecord,
    VitalCapacity,
    WeightMeasurement,
)


@dataclass(frozen=True)
class ParticipantView:
    """One participant as the caller may see them; ``arm`` is None unless the caller may see it."""

    code: str
    site: str
    status: str
    eligible: bool
    screened_on: date
    enrolled_on: date | None
    stratum: str | None
    kit_code: str | None
    randomized_at: datetime | None
    day0: date | None
    treatment_discontinued: bool
    withdrawn: bool
    arm: str | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        if self.arm is None:
            d.pop("arm")
        return d


@dataclass(frozen=True)
class ParticipantDetail:
    participant: ParticipantView
    eligibility: tuple[dict[str, object], ...]
    visits: tuple[dict[str, object], ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "participant": self.participant.to_dict(),
            "eligibility": list(self.eligibility),
            "visits": list(self.visits),
        }


def _views(tx: Tx, where: list[object], *, offset: int = 0, limit: int | None = None) -> list[ParticipantView]:
    stmt = select(Participant, Site.code).join(Site, Participant.site_id == Site.id).order_by(Participant.code)
    if policy.is_site_bound(tx.actor.role):
        stmt = stmt.where(Participant.site_id == tx.actor.site_id)
    for w in where:
        stmt = stmt.where(w)  # type: ignore[arg-type]
    stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = tx.session.execute(stmt).all()
    ids = [p.id for p, _ in rows]
    disc = set(
        tx.session.scalars(
            select(TreatmentDiscontinuation.participant_id).where(TreatmentDiscontinuation.participant_id.in_(ids))
        )
    )
    wd = set(tx.session.scalars(select(StudyWithdrawal.participant_id).where(StudyWithdrawal.participant_id.in_(ids))))
    arms: dict[int | None, str] = {}
    if tx.sees_arm():
        arms = {
            pid: arm
            for pid, arm in tx.session.execute(
                select(AllocationSlot.participant_id, AllocationSlot.arm).where(AllocationSlot.participant_id.in_(ids))
            )
        }
    return [
        ParticipantView(
            p.code,
            site,
            p.status,
            p.eligible,
            p.screened_on,
            p.enrolled_on,
            p.stratum_key,
            p.kit_code,
            p.randomized_at,
            p.day0,
            p.id in disc,
            p.id in wd,
            arms.get(p.id),
        )
        for p, site in rows
    ]


PARTICIPANT_STATUSES = ("eligible", "screen_failed", "enrolled", "randomized")


def list_participants(
    db: CaptureDB,
    actor: Actor,
    *,
    site: str | None = None,
    status: str | None = None,
    code: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[ParticipantView]:
    """Participants the caller may see, by code, filtered by site, status and code, one page at a time
    (the filters apply before the page is cut, so a filtered page is never missing a match)."""
    problems = page_problems(offset, limit)
    if status is not None and status not in PARTICIPANT_STATUSES:
        problems.append(Problem("status", status, f"expected one of {', '.join(PARTICIPANT_STATUSES)}"))
    if problems:
        raise ValidationFailed(problems, context="participant list")
    with transaction(db, actor, policy.Permission.READ) as tx:
        where: list[object] = []
        if site is not None:
            where.append(Site.code == site)
        if status is not None:
            where.append(Participant.status == status)
        if code is not None:
            where.append(Participant.code == code)
        return _views(tx, where, offset=offset, limit=limit)


def participant_detail(db: CaptureDB, actor: Actor, code: str) -> ParticipantDetail:
    with transaction(db, actor, policy.Permission.READ) as tx:
        p = tx.participant(code)
        view = _views(tx, [Participant.id == p.id])[0]
        elig: tuple[dict[str, object], ...] = tuple(
            {
                "criterion": o.criterion_id,
                "kind": o.kind,
                "text": o.text,
                "value": o.value,
                "outcome": o.outcome,
                "passed": o.passed,
            }
            for o in tx.session.scalars(
                select(EligibilityOutcome)
                .where(EligibilityOutcome.participant_id == p.id)
                .order_by(EligibilityOutcome.id)
            )
        )
        return ParticipantDetail(view, elig, tuple(_visit_rows(tx, p)))


def visit_data(db: CaptureDB, actor: Actor, code: str) -> list[dict[str, object]]:
    """Every recorded visit of a participant with its ALSFRS-R, vital capacity and weight."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        return _visit_rows(tx, tx.participant(code))


_ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")


def _visit_rows(tx: Tx, p: Participant) -> list[dict[str, object]]:
    """Every visit with its measurements, ids and versions, in one query (outer joins)."""
    stmt = (
        select(VisitRecord, AlsfrsAssessment, VitalCapacity, WeightMeasurement)
        .outerjoin(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
        .outerjoin(VitalCapacity, VitalCapacity.visit_record_id == VisitRecord.id)
        .outerjoin(WeightMeasurement, WeightMeasurement.visit_record_id == VisitRecord.id)
        .where(VisitRecord.participant_id == p.id)
        .order_by(VisitRecord.visit_date, VisitRecord.id)
    )
    out = []
    for v, a, vc, w in tx.session.execute(stmt):
        out.append(
            {
                "visit": v.visit_code,
                "visit_record_id": v.id,
                "visit_record_version": v.version,
                "visit_date": v.visit_date,
                "study_day": v.study_day,
                "in_window": v.in_window,
                "deviation_days": v.deviation_days,
                "out_of_window_reason": v.out_of_window_reason,
                "alsfrs_r_id": a.id if a else None,
                "alsfrs_r_version": a.version if a else None,
                "alsfrs_r_total": a.total if a else None,
                "alsfrs_r_items": {k: getattr(a, k) for k in _ITEMS} if a else None,
                "vital_capacity_id": vc.id if vc else None,
                "vital_capacity_version": vc.version if vc else None,
                "vital_capacity_pct": vc.percent_predicted if vc else None,
                "weight_id": w.id if w else None,
                "weight_version": w.version if w else None,
                "weight_kg": w.weight_kg if w else None,
            }
        )
    return out
