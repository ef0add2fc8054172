"""Treatment discontinuation and study withdrawal: distinct events (ICH E9(R1)).

Stopping treatment does not end data collection: the participant keeps visiting unless they
also withdraw from the study. Both record the reason code (CDISC NCOMPLT vocabulary), the date,
who decided, and whether vital-status follow-up continues.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from alstrial.domain.fields import date_problem
from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import InvalidState
from alstrial.services.idempotency import idempotent, remember
from alstrial.store.models import StudyWithdrawal, TreatmentDiscontinuation

REASON_CODES = (
    "ADVERSE EVENT",
    "DEATH",
    "LACK OF EFFICACY",
    "LOST TO FOLLOW-UP",
    "PHYSICIAN DECISION",
    "PROGRESSIVE DISEASE",
    "PROTOCOL DEVIATION",
    "STUDY TERMINATED BY SPONSOR",
    "WITHDRAWAL BY SUBJECT",
    "OTHER",
)
DECIDERS = ("participant", "investigator", "sponsor")


def _check(reason_code: str, decided_by: str, reason_text: str | None, on: object = None) -> None:
    problems = [found] if (found := date_problem(on, "date")) else []
    if reason_code not in REASON_CODES:
        problems.append(Problem("reason_code", reason_code, f"expected one of {', '.join(REASON_CODES)}"))
    if decided_by not in DECIDERS:
        problems.append(Problem("decided_by", decided_by, f"expected one of {', '.join(DECIDERS)}"))
    if reason_code == "OTHER" and not (reason_text or "").strip():
        problems.append(Problem("reason_text", reason_text, "required when the reason code is 'OTHER'"))
    if problems:
        raise ValidationFailed(problems, context="disposition")


@idempotent(int)
def discontinue_treatment(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    on: date,
    reason_code: str,
    decided_by: str,
    assessments_continue: bool = True,
    vital_status_followup: bool = True,
    reason_text: str | None = None,
    request_key: str | None = None,
) -> int:
    with transaction(db, actor, policy.Permission.RECORD_DISPOSITION) as tx:
        step = discontinue_treatment_step(
            tx, code, on, reason_code, decided_by, assessments_continue, vital_status_followup, reason_text
        )
        return remember(tx, step)


def discontinue_treatment_step(
    tx: Tx,
    code: str,
    on: date,
    reason_code: str,
    decided_by: str,
    assessments_continue: bool,
    vital_status_followup: bool,
    reason_text: str | None,
) -> int:
    tx.require(policy.Permission.RECORD_DISPOSITION)
    _check(reason_code, decided_by, reason_text, on)
    p = tx.participant(code, for_update=True)
    if p.status != "randomized":
        raise InvalidState(f"participant {code!r} is {p.status}; only a randomized participant has treatment")
    if tx.session.execute(
        select(TreatmentDiscontinuation.id).where(TreatmentDiscontinuation.participant_id == p.id)
    ).scalar():
        raise InvalidState(f"treatment of {code!r} is already discontinued")
    row = TreatmentDiscontinuation(
        participant_id=p.id,
        discontinued_on=on,
        reason_code=reason_code,
        reason_text=reason_text,
        decided_by=decided_by,
        assessments_continue=assessments_continue,
        vital_status_followup=vital_status_followup,
    )
    fields = ("discontinued_on", "reason_code", "decided_by", "assessments_continue", "vital_status_followup")
    return tx.add_audited(row, "treatment.discontinue", fields, reason=reason_text, participant=p)


@idempotent(int)
def withdraw_participant(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    on: date,
    reason_code: str,
    decided_by: str,
    vital_status_followup: bool = False,
    reason_text: str | None = None,
    request_key: str | None = None,
) -> int:
    with transaction(db, actor, policy.Permission.RECORD_DISPOSITION) as tx:
        return remember(
            tx, withdraw_participant_step(tx, code, on, reason_code, decided_by, vital_status_followup, reason_text)
        )


def withdraw_participant_step(
    tx: Tx, code: str, on: date, reason_code: str, decided_by: str, vital_status_followup: bool, reason_text: str | None
) -> int:
    tx.require(policy.Permission.RECORD_DISPOSITION)
    _check(reason_code, decided_by, reason_text, on)
    p = tx.participant(code, for_update=True)
    if p.status not in ("enrolled", "randomized"):
        raise InvalidState(f"participant {code!r} is {p.status}; only enrolled participants can withdraw")
    if tx.session.execute(select(StudyWithdrawal.id).where(StudyWithdrawal.participant_id == p.id)).scalar():
        raise InvalidState(f"participant {code!r} has already withdrawn")
    row = StudyWithdrawal(
        participant_id=p.id,
        withdrawn_on=on,
        reason_code=reason_code,
        reason_text=reason_text,
        decided_by=decided_by,
        vital_status_followup=vital_status_followup,
    )
    fields = ("withdrawn_on", "reason_code", "decided_by", "vital_status_followup")
    return tx.add_audited(row, "study.withdraw", fields, reason=reason_text, participant=p)
