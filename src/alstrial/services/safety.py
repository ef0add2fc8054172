"""Adverse events (with seriousness criteria, SDTM AE vocabulary) and intercurrent events."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from alstrial.domain.fields import FIELDS, check_fields
from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import Conflict, InvalidState
from alstrial.services.idempotency import idempotent, remember
from alstrial.store.models import AdverseEvent, IntercurrentEvent

SAE_CRITERIA = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "medically_important",
)
INTERCURRENT_KINDS = (
    "death",
    "tracheostomy",
    "permanent_assisted_ventilation",
    "gastrostomy",
    "niv_start",
    "rescue_medication",
)
#: Permanent assisted ventilation: more than 22 hours a day for more than 7 consecutive days.
PAV_HOURS, PAV_DAYS = 22.0, 7


def _choice(problems: list[Problem], where: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        problems.append(Problem(where, value, f"expected one of {', '.join(repr(a) for a in allowed)}"))


@idempotent(int)
def record_adverse_event(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    term: str,
    onset_date: date,
    severity: str,
    relatedness: str,
    action_taken: str,
    outcome: str,
    serious: bool = False,
    criteria: tuple[str, ...] = (),
    resolution_date: date | None = None,
    request_key: str | None = None,
) -> int:
    with transaction(db, actor, policy.Permission.RECORD_SAFETY) as tx:
        return remember(
            tx,
            record_adverse_event_step(
                tx,
                code,
                term=term,
                onset_date=onset_date,
                severity=severity,
                relatedness=relatedness,
                action_taken=action_taken,
                outcome=outcome,
                serious=serious,
                criteria=criteria,
                resolution_date=resolution_date,
            ),
        )


def record_adverse_event_step(
    tx: Tx,
    code: str,
    *,
    term: str,
    onset_date: date,
    severity: str,
    relatedness: str,
    action_taken: str,
    outcome: str,
    serious: bool,
    criteria: tuple[str, ...],
    resolution_date: date | None,
) -> int:
    tx.require(policy.Permission.RECORD_SAFETY)
    problems = check_fields(
        "adverse_event",
        {
            "term": term,
            "onset_date": onset_date,
            "resolution_date": resolution_date,
            "severity": severity,
            "relatedness": relatedness,
            "action_taken": action_taken,
            "outcome": outcome,
        },
    )
    for c in criteria:
        _choice(problems, "criteria", c, SAE_CRITERIA)
    if serious and not criteria:
        problems.append(Problem("criteria", list(criteria), "a serious AE needs at least one seriousness criterion"))
    if criteria and not serious:
        problems.append(Problem("serious", serious, "seriousness criteria given but the AE is not marked serious"))
    if isinstance(resolution_date, date) and isinstance(onset_date, date) and resolution_date < onset_date:
        problems.append(Problem("resolution_date", resolution_date.isoformat(), "before the onset date"))
    if outcome == "FATAL" and "death" not in criteria:
        problems.append(Problem("outcome", outcome, "a fatal outcome needs the seriousness criterion 'death'"))
    if problems:
        raise ValidationFailed(problems, context="adverse event")
    p = tx.participant(code)
    if p.status == "screen_failed":
        raise InvalidState(f"participant {code!r} is a screen failure; AEs are collected from enrolment")
    if onset_date < p.consent_date:
        raise ValidationFailed(
            [Problem("onset_date", onset_date.isoformat(), f"before informed consent on {p.consent_date}")]
        )
    ae = AdverseEvent(
        participant_id=p.id,
        term=str(FIELDS["adverse_event"]["term"].parse(term)),
        onset_date=onset_date,
        resolution_date=resolution_date,
        serious=serious,
        severity=severity,
        relatedness=relatedness,
        action_taken=action_taken,
        outcome=outcome,
        **{f"sae_{c}": c in criteria for c in SAE_CRITERIA},
    )
    fields = ("term", "onset_date", "resolution_date", "serious", "severity", "relatedness", "action_taken", "outcome")
    return tx.add_audited(ae, "adverse_event.record", fields, participant=p, extra={"criteria": sorted(criteria)})


@idempotent(int)
def record_intercurrent_event(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    kind: str,
    event_date: date,
    hours_per_day: float | None = None,
    consecutive_days: int | None = None,
    details: str | None = None,
    request_key: str | None = None,
) -> int:
    """Record death, tracheostomy, permanent assisted ventilation (> 22 h/day for > 7 days), gastrostomy, NIV
    or the first rescue medication (an ALS drug the protocol excludes, e.g. edaravone: ``details`` names it)."""
    with transaction(db, actor, policy.Permission.RECORD_SAFETY) as tx:
        return remember(
            tx, record_intercurrent_event_step(tx, code, kind, event_date, hours_per_day, consecutive_days, details)
        )


def record_intercurrent_event_step(
    tx: Tx,
    code: str,
    kind: str,
    event_date: date,
    hours_per_day: float | None,
    consecutive_days: int | None,
    details: str | None,
) -> int:
    tx.require(policy.Permission.RECORD_SAFETY)
    problems = check_fields("intercurrent_event", {"event_date": event_date, "details": details})
    _choice(problems, "kind", kind, INTERCURRENT_KINDS)
    if hours_per_day is not None and not (isinstance(hours_per_day, int | float) and 0 <= hours_per_day <= 24):
        problems.append(Problem("hours_per_day", hours_per_day, "expected a number of hours from 0 to 24"))
        hours_per_day = None
    if kind == "rescue_medication" and not (details or "").strip():
        problems.append(Problem("details", details, "required for rescue medication: name the drug started"))
    if kind == "permanent_assisted_ventilation":
        if hours_per_day is None or not hours_per_day > PAV_HOURS:
            problems.append(
                Problem("hours_per_day", hours_per_day, f"permanent assisted ventilation means > {PAV_HOURS:g} h/day")
            )
        if consecutive_days is None or not consecutive_days > PAV_DAYS:
            problems.append(
                Problem(
                    "consecutive_days",
                    consecutive_days,
                    f"permanent assisted ventilation means > {PAV_DAYS} consecutive days",
                )
            )
    if problems:
        raise ValidationFailed(problems, context="intercurrent event")
    p = tx.participant(code)
    if p.status != "randomized":
        raise InvalidState(f"participant {code!r} is {p.status}; intercurrent events are recorded after randomization")
    if tx.session.execute(
        select(IntercurrentEvent.id).where(IntercurrentEvent.participant_id == p.id, IntercurrentEvent.kind == kind)
    ).scalar():
        raise Conflict(f"{kind} of {code!r} is already recorded; correct it instead")
    death = tx.session.execute(
        select(IntercurrentEvent).where(IntercurrentEvent.participant_id == p.id, IntercurrentEvent.kind == "death")
    ).scalar()
    if death is not None and event_date > death.event_date:
        raise InvalidState(f"participant {code!r} died on {death.event_date}; no events after death")
    row = IntercurrentEvent(
        participant_id=p.id,
        kind=kind,
        event_date=event_date,
        hours_per_day=hours_per_day,
        consecutive_days=consecutive_days,
        details=FIELDS["intercurrent_event"]["details"].parse(details),
    )
    fields = ("kind", "event_date", "hours_per_day", "consecutive_days", "details")
    return tx.add_audited(row, "intercurrent_event.record", fields, participant=p)
