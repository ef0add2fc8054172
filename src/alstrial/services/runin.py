"""The end of the screening run-in: criteria that screening left pending are judged on the visits.

A criterion on the run-in decline (screening field :data:`RUNIN_FIELD`) cannot be known at
screening, so screening records it as ``pending``. At the end of the run-in the decline is
computed from the ALSFRS-R totals of the run-in visits (first minus last), never typed in, and:

* the pending outcomes get their real outcome and value;
* the decline is stored with the screening data;
* a failure makes the participant a screen failure (status ``screen_failed``), committed and
  audited, so CONSORT counts run-in failures among the screen failures with their reason.

Judging is repeatable while the participant is enrolled (an ALSFRS-R corrected after the run-in
is re-judged); only differences are written and audited. Randomization judges again in its own
transaction and refuses a participant who fails.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy import select

from alstrial.domain.eligibility import evaluate_criterion
from alstrial.protocol.models import EligibilityCriterion
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import InvalidState
from alstrial.store.models import AlsfrsAssessment, EligibilityOutcome, Participant, VisitRecord

#: The screening field filled in at the end of the run-in (first minus last run-in ALSFRS-R total).
RUNIN_FIELD = "alsfrs_r_runin_decline"


@dataclass(frozen=True)
class RunInResult:
    """The run-in verdict of one participant; ``decline`` is None when the protocol has no run-in."""

    participant: str
    decline: int | None
    eligible: bool
    failed_criteria: tuple[str, ...]

    def __str__(self) -> str:
        if self.decline is None:
            return f"{self.participant}: no run-in criteria in the protocol: eligible"
        verdict = "eligible" if self.eligible else f"run-in failure ({', '.join(self.failed_criteria)})"
        return f"{self.participant}: ALSFRS-R decline {self.decline} during the run-in: {verdict}"

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


def runin_criteria(tx: Tx) -> list[EligibilityCriterion]:
    """The protocol's criteria that only the end of the run-in can judge."""
    return [c for c in tx.protocol.eligibility if c.field == RUNIN_FIELD]


def _decline(tx: Tx, p: Participant) -> int | None:
    """First minus last run-in ALSFRS-R total (one query); every run-in ALSFRS-R must be recorded."""
    wanted = runin_visits(tx)
    rows = tx.session.execute(
        select(VisitRecord.visit_code, AlsfrsAssessment.total)
        .join(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
        .where(VisitRecord.participant_id == p.id, VisitRecord.visit_code.in_(wanted))
    ).all()
    totals = {visit: total for visit, total in rows}
    for visit in wanted:
        if totals.get(visit) is None:
            raise InvalidState(f"participant {p.code!r} has no ALSFRS-R at run-in visit {visit!r}; record it first")
    if len(wanted) < 2:
        return None
    return int(totals[wanted[0]]) - int(totals[wanted[-1]])


def judge_runin(tx: Tx, p: Participant) -> tuple[RunInResult, dict[str, tuple[object, object]]]:
    """Judge the run-in criteria of an enrolled participant inside ``tx``: the verdict and the changes made.

    Outcome rows, the stored decline and (on failure) the status are updated in the session; the
    caller decides whether to keep them (commit) and audits the returned changes.
    """
    criteria = runin_criteria(tx)
    decline = _decline(tx, p)
    if not criteria:
        return RunInResult(p.code, decline, True, ()), {}
    if decline is None:
        raise InvalidState(
            f"the protocol has run-in criteria ({', '.join(c.id for c in criteria)}) but fewer than two "
            f"pre-treatment visits with an ALSFRS-R ({runin_visits(tx)}); the run-in decline cannot be computed"
        )
    changes: dict[str, tuple[object, object]] = {}
    screening = json.loads(p.screening_json)
    if screening.get(RUNIN_FIELD) != decline:
        changes[RUNIN_FIELD] = (screening.get(RUNIN_FIELD), decline)
        p.screening_json = json.dumps({**screening, RUNIN_FIELD: decline}, sort_keys=True)
    outcomes = {c.id: evaluate_criterion(c, decline) for c in criteria}
    rows = {
        r.criterion_id: r
        for r in tx.session.scalars(
            select(EligibilityOutcome).where(
                EligibilityOutcome.participant_id == p.id, EligibilityOutcome.criterion_id.in_(list(outcomes))
            )
        )
    }
    for cid, o in outcomes.items():
        value = json.dumps(o.value)
        row = rows.get(cid)
        if row is None:  # every criterion is stored at screening; keep the set complete regardless
            tx.session.add(
                EligibilityOutcome(
                    participant_id=p.id,
                    criterion_id=cid,
                    kind=o.kind,
                    text=o.text,
                    value=value,
                    outcome=o.outcome,
                    passed=o.passed,
                )
            )
            changes[f"criterion {cid}"] = (None, o.outcome)
        elif (row.outcome, row.passed, row.value) != (o.outcome, o.passed, value):
            changes[f"criterion {cid}"] = (row.outcome, o.outcome)
            row.outcome, row.passed, row.value = o.outcome, o.passed, value
    failed = tuple(cid for cid, o in outcomes.items() if not o.passed)
    if failed:
        changes["status"] = (p.status, "screen_failed")
        changes["eligible"] = (p.eligible, False)
        changes["failed_criteria"] = (None, list(failed))
        p.status, p.eligible = "screen_failed", False
    return RunInResult(p.code, decline, not failed, failed), changes


def complete_runin(db: CaptureDB, actor: Actor, code: str) -> RunInResult:
    """End the run-in of an enrolled participant: judge the pending criteria; a failure is a screen failure.

    Same permission as randomization (the run-in verdict decides it). Calling it again re-judges
    on the current visit data and audits only what changed.
    """
    with transaction(db, actor, policy.Permission.RANDOMIZE) as tx:
        return complete_runin_step(tx, code)


def complete_runin_step(tx: Tx, code: str) -> RunInResult:
    tx.require(policy.Permission.RANDOMIZE)
    p = tx.participant(code, for_update=True)
    if p.status != "enrolled":
        raise InvalidState(
            f"participant {code!r} is {p.status}; only an enrolled participant (run-in started) ends a run-in"
        )
    result, changes = judge_runin(tx, p)
    if changes:
        tx.audit("participant.complete_runin", "participant", p.id, changes, participant=p)
    return result
