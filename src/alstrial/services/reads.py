"""Read services. Arms appear only for roles that may see them (``policy.sees_arm``); site roles
see only their own site's participants."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
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


def _views(tx: Tx, where: list[object]) -> list[ParticipantView]:
    stmt = select(Participant, Site.code).join(Site, Participant.site_id == Site.id).order_by(Participant.code)
    if policy.is_site_bound(tx.actor.role):
        stmt = stmt.where(Participant.site_id == tx.actor.site_id)
    for w in where:
        stmt = stmt.where(w)  # type: ignore[arg-type]
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


def list_participants(db: CaptureDB, actor: Actor) -> list[ParticipantView]:
    with transaction(db, actor, policy.Permission.READ) as tx:
        return _views(tx, [])


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


def _visit_rows(tx: Tx, p: Participant) -> list[dict[str, object]]:
    out = []
    for v in tx.session.scalars(
        select(VisitRecord).where(VisitRecord.participant_id == p.id).order_by(VisitRecord.visit_date, VisitRecord.id)
    ):
        a = tx.session.execute(select(AlsfrsAssessment).where(AlsfrsAssessment.visit_record_id == v.id)).scalar()
        vc = tx.session.execute(select(VitalCapacity).where(VitalCapacity.visit_record_id == v.id)).scalar()
        w = tx.session.execute(select(WeightMeasurement).where(WeightMeasurement.visit_record_id == v.id)).scalar()
        out.append(
            {
                "visit": v.visit_code,
                "visit_date": v.visit_date,
                "study_day": v.study_day,
                "in_window": v.in_window,
                "deviation_days": v.deviation_days,
                "out_of_window_reason": v.out_of_window_reason,
                "alsfrs_r_total": a.total if a else None,
                "alsfrs_r_items": (
                    {
                        k: getattr(a, k)
                        for k in ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
                    }
                    if a
                    else None
                ),
                "vital_capacity_pct": vc.percent_predicted if vc else None,
                "weight_kg": w.weight_kg if w else None,
            }
        )
    return out
