"""Randomization from the concealed allocation list after the ALSFRS-R run-in.

The site gets a kit code; the arm stays in ``allocation_slot`` and is returned only to
unblinded roles (:func:`participant_arm`) or, per participant, by emergency unblinding.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from alstrial.domain.eligibility import EligibilityResult, evaluate_eligibility
from alstrial.domain.randomization.errors import AllocationListExhausted
from alstrial.domain.randomization.strata import stratum_key
from alstrial.domain.strata import stratum_values
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import AllocationConcealed, InvalidState, NotEligible
from alstrial.services.screening import RUNIN_FIELD
from alstrial.store.models import AllocationSlot, AlsfrsAssessment, EligibilityOutcome, Participant, Site, VisitRecord
from alstrial.store.types import utcnow


@dataclass(frozen=True)
class RandomizationResult:
    """What the site learns: the kit code and stratum, never the arm."""

    participant: str
    kit_code: str
    stratum: str
    randomized_at: datetime
    runin_decline: int | None

    def __str__(self) -> str:
        return f"{self.participant} randomized in stratum {self.stratum}: dispense kit {self.kit_code}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def runin_visits(tx: Tx) -> list[str]:
    """Pre-treatment visits with an ALSFRS-R, up to the visit that randomizes (the run-in)."""
    out = []
    for v in tx.protocol.visits:
        if v.phase in ("screening", "run_in") and "alsfrs_r" in v.assessments:
            out.append(v.code)
        if "randomization" in v.assessments:
            break
    return out


def _runin_eligibility(tx: Tx, p: Participant, code: str) -> tuple[EligibilityResult | None, int | None]:
    """Eligibility with the run-in decline (first minus last run-in ALSFRS-R total) filled in."""
    totals = {}
    for visit in runin_visits(tx):
        total = tx.session.execute(
            select(AlsfrsAssessment.total)
            .join(VisitRecord, AlsfrsAssessment.visit_record_id == VisitRecord.id)
            .where(VisitRecord.participant_id == p.id, VisitRecord.visit_code == visit)
        ).scalar_one_or_none()
        if total is None:
            raise InvalidState(f"participant {code!r} has no ALSFRS-R at run-in visit {visit!r}; record it first")
        totals[visit] = total
    if len(totals) < 2 or not any(f.name == RUNIN_FIELD for f in tx.protocol.screening_fields):
        return None, None
    runin = list(totals.values())
    decline = runin[0] - runin[-1]
    screening = json.loads(p.screening_json)
    return evaluate_eligibility(tx.protocol, {**screening, RUNIN_FIELD: decline}), decline


@dataclass(frozen=True)
class RunInResult:
    participant: str
    decline: int | None
    eligible: bool
    failed_criteria: tuple[str, ...]

    def __str__(self) -> str:
        verdict = "eligible" if self.eligible else f"run-in failure ({', '.join(self.failed_criteria)})"
        return f"{self.participant}: ALSFRS-R decline {self.decline} during the run-in: {verdict}"


def complete_runin(db: CaptureDB, actor: Actor, code: str) -> RunInResult:
    """Judge the criteria left pending at screening; a failure is kept as a screen failure.

    The run-in decline is stored with the screening data and the pending criteria get their
    outcome, so that CONSORT counts run-in failures among the screen failures with their reason.
    """
    with transaction(db, actor, policy.Permission.RANDOMIZE) as tx:
        p = tx.participant(code, for_update=True)
        if p.status != "enrolled":
            raise InvalidState(f"participant {code!r} is {p.status}; only an enrolled participant ends a run-in")
        result, decline = _runin_eligibility(tx, p, code)
        if result is None:
            return RunInResult(code, None, True, ())
        by_id = {o.criterion_id: o for o in result.outcomes}
        changes: dict[str, tuple[object, object]] = {RUNIN_FIELD: (None, decline)}
        for row in tx.session.scalars(select(EligibilityOutcome).where(EligibilityOutcome.participant_id == p.id)):
            o = by_id.get(row.criterion_id)
            if row.outcome == "pending" and o is not None:
                changes[f"criterion {row.criterion_id}"] = ("pending", o.outcome)
                row.outcome, row.passed = o.outcome, o.passed
                row.value = None if o.value is None else json.dumps(o.value)
        p.screening_json = json.dumps({**json.loads(p.screening_json), RUNIN_FIELD: decline}, sort_keys=True)
        failed = tuple(o.criterion_id for o in result.failed)
        if failed:
            changes["status"] = (p.status, "screen_failed")
            p.status, p.eligible = "screen_failed", False
        tx.audit("participant.complete_runin", "participant", p.id, changes, participant=p)
        return RunInResult(code, decline, not failed, failed)


def randomize_participant(db: CaptureDB, actor: Actor, code: str) -> RandomizationResult:
    with transaction(db, actor, policy.Permission.RANDOMIZE) as tx:
        return _randomize(tx, code)


def _randomize(tx: Tx, code: str) -> RandomizationResult:
    p = tx.participant(code, for_update=True)
    if p.status == "screen_failed":
        raise NotEligible(f"participant {code!r} is a screen failure; cannot randomize", [])
    if p.status != "enrolled":
        raise InvalidState(f"participant {code!r} is {p.status}; only an enrolled participant can be randomized")
    screening = json.loads(p.screening_json)
    result, decline = _runin_eligibility(tx, p, code)
    if result is not None and not result.eligible:
        raise NotEligible(
            f"participant {code!r} is not eligible after the run-in: {result}",
            [o.criterion_id for o in result.failed],
        )
    site_code = tx.session.get(Site, p.site_id).code  # type: ignore[union-attr]
    levels = stratum_values(tx.protocol, site_code, screening)
    key = stratum_key(levels, [name for name, _ in tx.protocol.strata_levels()])
    slot = tx.session.execute(
        select(AllocationSlot)
        .where(AllocationSlot.stratum_key == key, AllocationSlot.participant_id.is_(None))
        .order_by(AllocationSlot.sequence)
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if slot is None:
        length = tx.session.execute(
            select(func.count()).select_from(AllocationSlot).where(AllocationSlot.stratum_key == key)
        ).scalar_one()
        raise AllocationListExhausted(key, length, length)
    now = utcnow()
    slot.participant_id, slot.allocated_at = p.id, now
    p.status, p.stratum_key, p.kit_code, p.randomized_at = "randomized", key, slot.kit_code, now
    # the audit trail never holds an arm: it is readable by blinded roles
    tx.audit(
        "participant.randomize",
        "participant",
        p.id,
        {
            "status": ("enrolled", "randomized"),
            "stratum": (None, key),
            "kit_code": (None, slot.kit_code),
            "allocation_sequence": (None, slot.sequence),
            "runin_decline": (None, decline),
        },
        participant=p,
    )
    return RandomizationResult(code, slot.kit_code, key, now, decline)


def participant_arm(db: CaptureDB, actor: Actor, code: str) -> str:
    """The arm of one randomized participant, for unblinded roles only."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        if not tx.sees_arm():
            raise AllocationConcealed(f"{actor} is blinded: treatment arms are concealed")
        p = tx.participant(code)
        arm = tx.session.execute(select(AllocationSlot.arm).where(AllocationSlot.participant_id == p.id)).scalar()
        if arm is None:
            raise InvalidState(f"participant {code!r} is not randomized")
        return arm


@dataclass(frozen=True)
class AllocationRow:
    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str
    kit_code: str
    participant: str | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def allocation_list(db: CaptureDB, actor: Actor) -> list[AllocationRow]:
    """The whole concealed list with its use so far (pharmacist, unblinded statistician)."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        if not tx.sees_arm():
            raise AllocationConcealed(f"{actor} is blinded: the allocation list is concealed")
        from alstrial.store.models import Participant

        rows = tx.session.execute(
            select(AllocationSlot, Participant.code)
            .outerjoin(Participant, AllocationSlot.participant_id == Participant.id)
            .order_by(AllocationSlot.stratum_key, AllocationSlot.sequence)
        ).all()
        return [
            AllocationRow(s.stratum_key, s.sequence, s.block, s.block_size, s.arm, s.kit_code, pc) for s, pc in rows
        ]
