"""Visits against the schedule (window-checked) and the measurements taken at them.

Study days count from day 0, the first dose. Before the first dose the anchor is the planned
day 0 implied by the screening date (screening visit day ``SCR.day``); once the day-0 visit is
recorded its date is the anchor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import select

from alstrial.domain.fields import check_fields, date_problem
from alstrial.domain.visit_windows import check_window, study_day
from alstrial.errors import Problem, ValidationFailed
from alstrial.instruments import alsfrs_r
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import Conflict, InvalidState, NotFound, VisitOutOfWindow
from alstrial.services.idempotency import idempotent, remember
from alstrial.store.models import (
    AlsfrsAssessment,
    Participant,
    StudyWithdrawal,
    VisitRecord,
    VitalCapacity,
    WeightMeasurement,
)

PRE_TREATMENT_PHASES = ("screening", "run_in")
ALSFRS_ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")


@dataclass(frozen=True)
class VisitResult:
    participant: str
    visit: str
    visit_date: date
    study_day: int
    in_window: bool
    deviation_days: int
    out_of_window_reason: str | None

    def __str__(self) -> str:
        flag = (
            "in window" if self.in_window else f"OUT OF WINDOW by {self.deviation_days} d ({self.out_of_window_reason})"
        )
        return f"{self.participant} {self.visit} on {self.visit_date} (day {self.study_day}): {flag}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def anchor_date(tx: Tx, p: Participant) -> date:
    if p.day0 is not None:
        return p.day0
    first = tx.protocol.visits[0]
    return p.screened_on - timedelta(days=first.day)


@idempotent(VisitResult)
def record_visit(
    db: CaptureDB,
    actor: Actor,
    code: str,
    visit: str,
    visit_date: date,
    *,
    out_of_window_reason: str | None = None,
    request_key: str | None = None,
) -> VisitResult:
    with transaction(db, actor, policy.Permission.RECORD_VISIT) as tx:
        return remember(tx, record_visit_step(tx, code, visit, visit_date, out_of_window_reason))


def record_visit_step(tx: Tx, code: str, visit: str, visit_date: date, reason: str | None) -> VisitResult:
    tx.require(policy.Permission.RECORD_VISIT)
    p = tx.participant(code, for_update=True)
    try:
        spec = tx.protocol.visit(visit)
    except KeyError:
        raise ValidationFailed(
            [Problem("visit", visit, f"unknown visit; expected one of {[v.code for v in tx.protocol.visits]}")]
        ) from None
    if found := date_problem(visit_date, "visit_date"):
        raise ValidationFailed([found])
    if visit_date < p.consent_date:
        raise ValidationFailed(
            [Problem("visit_date", visit_date.isoformat(), f"before informed consent on {p.consent_date}")]
        )
    if p.status == "screen_failed":
        raise InvalidState(f"participant {code!r} is a screen failure; no visits after screening")
    if spec.phase not in PRE_TREATMENT_PHASES and p.status != "randomized":
        raise InvalidState(f"visit {visit!r} needs a randomized participant; {code!r} is {p.status}")
    withdrawn = tx.session.execute(select(StudyWithdrawal).where(StudyWithdrawal.participant_id == p.id)).scalar()
    if withdrawn is not None and visit_date > withdrawn.withdrawn_on:
        raise InvalidState(f"participant {code!r} withdrew on {withdrawn.withdrawn_on}; no visits after that")
    if (
        tx.session.execute(
            select(VisitRecord.id).where(VisitRecord.participant_id == p.id, VisitRecord.visit_code == visit)
        ).scalar()
        is not None
    ):
        raise Conflict(f"visit {visit!r} of {code!r} is already recorded; correct it instead")
    is_day0 = spec.day == 0 and spec.phase not in PRE_TREATMENT_PHASES
    # day 0 is checked against the planned anchor, then becomes the anchor itself
    check = check_window(spec, study_day(anchor_date(tx, p), visit_date))
    day = 0 if is_day0 else check.actual_day
    reason = reason.strip() if reason and reason.strip() else None
    if not check.in_window and reason is None:
        raise VisitOutOfWindow(f"{check}; record it with a reason to accept it as a protocol deviation")
    rec = VisitRecord(
        participant_id=p.id,
        visit_code=visit,
        visit_date=visit_date,
        study_day=day,
        in_window=check.in_window,
        deviation_days=check.deviation_days,
        out_of_window_reason=None if check.in_window else reason,
    )
    tx.session.add(rec)
    if is_day0:
        p.day0 = visit_date
    tx.session.flush()
    tx.audit(
        "visit.record",
        "visit_record",
        rec.id,
        {
            "visit": (None, visit),
            "visit_date": (None, visit_date),
            "study_day": (None, day),
            "in_window": (None, check.in_window),
            "deviation_days": (None, check.deviation_days),
        },
        reason=rec.out_of_window_reason,
        participant=p,
    )
    return VisitResult(code, visit, visit_date, day, check.in_window, check.deviation_days, rec.out_of_window_reason)


def visit_record(tx: Tx, p: Participant, visit: str) -> VisitRecord:
    rec = tx.session.execute(
        select(VisitRecord).where(VisitRecord.participant_id == p.id, VisitRecord.visit_code == visit)
    ).scalar_one_or_none()
    if rec is None:
        raise NotFound(f"visit {visit!r} of participant {p.code!r} is not recorded; record the visit first")
    return rec


def _require_assessment(tx: Tx, visit: str, assessment: str) -> None:
    try:
        spec = tx.protocol.visit(visit)
    except KeyError:
        raise ValidationFailed([Problem("visit", visit, "unknown visit")]) from None
    if assessment not in spec.assessments:
        raise ValidationFailed(
            [Problem("visit", visit, f"the schedule has no {assessment!r} at this visit (it has {spec.assessments})")]
        )


def _no_duplicate(tx: Tx, model: type, rec: VisitRecord, what: str) -> None:
    if tx.session.execute(select(model.id).where(model.visit_record_id == rec.id)).scalar() is not None:  # type: ignore[attr-defined]
        raise Conflict(f"{what} at visit {rec.visit_code!r} is already recorded; correct it instead")


@dataclass(frozen=True)
class AlsfrsResult:
    participant: str
    visit: str
    score: alsfrs_r.AlsfrsScore

    def __str__(self) -> str:
        return f"{self.participant} {self.visit}: {self.score}"

    def to_dict(self) -> dict[str, object]:
        return {"participant": self.participant, "visit": self.visit, **self.score.to_dict()}


@idempotent(AlsfrsResult)
def record_alsfrs(
    db: CaptureDB,
    actor: Actor,
    code: str,
    visit: str,
    responses: Mapping[str, object],
    *,
    assessed_on: date | None = None,
    request_key: str | None = None,
) -> AlsfrsResult:
    """Store item-level ALSFRS-R (validated by the instrument module) with its derived scores."""
    with transaction(db, actor, policy.Permission.RECORD_ASSESSMENT) as tx:
        return remember(tx, record_alsfrs_step(tx, code, visit, responses, assessed_on))


def record_alsfrs_step(
    tx: Tx, code: str, visit: str, responses: Mapping[str, object], assessed_on: date | None
) -> AlsfrsResult:
    tx.require(policy.Permission.RECORD_ASSESSMENT)
    _require_assessment(tx, visit, "alsfrs_r")
    if assessed_on is not None and (problems := check_fields("alsfrs_assessment", {"assessed_on": assessed_on})):
        raise ValidationFailed(problems, context="ALSFRS-R")
    score = alsfrs_r.score(responses)
    p = tx.participant(code)
    rec = visit_record(tx, p, visit)
    _no_duplicate(tx, AlsfrsAssessment, rec, "ALSFRS-R")
    items = {k: (None if responses.get(k) is None else int(responses[k])) for k in ALSFRS_ITEMS}  # type: ignore[call-overload]
    row = AlsfrsAssessment(
        visit_record_id=rec.id, assessed_on=assessed_on or rec.visit_date, **items, **scores_of(score)
    )
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "alsfrs.record",
        "alsfrs_assessment",
        row.id,
        {k: (None, v) for k, v in items.items() if v is not None} | {"total": (None, score.total)},
        participant=p,
    )
    return AlsfrsResult(code, visit, score)


def scores_of(score: alsfrs_r.AlsfrsScore) -> dict[str, object]:
    return {
        "total": score.total,
        "bulbar": score.bulbar,
        "fine_motor": score.fine_motor,
        "gross_motor": score.gross_motor,
        "respiratory": score.respiratory,
        "gastrostomy": score.gastrostomy,
        "kings_stage": score.kings_stage,
        "mitos_stage": score.mitos_stage,
    }


@idempotent(int)
def record_vital_capacity(
    db: CaptureDB,
    actor: Actor,
    code: str,
    visit: str,
    *,
    percent_predicted: float,
    liters: float | None = None,
    test: str = "SVC",
    position: str = "upright",
    request_key: str | None = None,
) -> int:
    with transaction(db, actor, policy.Permission.RECORD_ASSESSMENT) as tx:
        values = {"percent_predicted": percent_predicted, "liters": liters, "test": test, "position": position}
        if problems := check_fields("vital_capacity", values):
            raise ValidationFailed(problems, context="vital capacity")
        _require_assessment(tx, visit, "svc")
        p = tx.participant(code)
        rec = visit_record(tx, p, visit)
        _no_duplicate(tx, VitalCapacity, rec, "vital capacity")
        row = VitalCapacity(
            visit_record_id=rec.id,
            test=test,
            liters=liters,
            percent_predicted=float(percent_predicted),
            position=position,
        )
        tx.session.add(row)
        tx.session.flush()
        tx.audit(
            "vital_capacity.record",
            "vital_capacity",
            row.id,
            {
                "test": (None, test),
                "percent_predicted": (None, float(percent_predicted)),
                "liters": (None, liters),
                "position": (None, position),
            },
            participant=p,
        )
        return remember(tx, row.id)


@idempotent(int)
def record_weight(
    db: CaptureDB, actor: Actor, code: str, visit: str, *, weight_kg: float, request_key: str | None = None
) -> int:
    with transaction(db, actor, policy.Permission.RECORD_ASSESSMENT) as tx:
        if problems := check_fields("weight_measurement", {"weight_kg": weight_kg}):
            raise ValidationFailed(problems, context="weight")
        _require_assessment(tx, visit, "weight")
        p = tx.participant(code)
        rec = visit_record(tx, p, visit)
        _no_duplicate(tx, WeightMeasurement, rec, "weight")
        row = WeightMeasurement(visit_record_id=rec.id, weight_kg=float(weight_kg))
        tx.session.add(row)
        tx.session.flush()
        tx.audit("weight.record", "weight_measurement", row.id, {"weight_kg": (None, float(weight_kg))}, participant=p)
        return remember(tx, row.id)
