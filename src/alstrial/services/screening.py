"""Screening (every eligibility criterion evaluated and kept, screen failures too) and enrolment."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date

from sqlalchemy import func, select

from alstrial.domain.eligibility import coerce_screening_values, evaluate_criterion
from alstrial.domain.fields import date_problem
from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import InvalidState, NotEligible, PermissionDenied
from alstrial.services.idempotency import idempotent, remember
from alstrial.services.runin import RUNIN_FIELD
from alstrial.store.models import EligibilityOutcome, Participant, Site

#: Chain-of-identity ids use an unambiguous alphabet (no 0/O, 1/I).
_COI_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class ScreeningResult:
    participant: str
    site: str
    eligible: bool
    failed_criteria: tuple[str, ...]
    coi_id: str
    pending_criteria: tuple[str, ...] = ()  # judged at the end of the run-in

    def __str__(self) -> str:
        verdict = "eligible" if self.eligible else f"screen failure ({', '.join(self.failed_criteria)})"
        if self.eligible and self.pending_criteria:
            verdict += f" (pending at the end of the run-in: {', '.join(self.pending_criteria)})"
        return f"{self.participant} at {self.site}: {verdict}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@idempotent(ScreeningResult)
def screen_participant(
    db: CaptureDB,
    actor: Actor,
    *,
    screened_on: date,
    consent_date: date,
    values: Mapping[str, object],
    site: str | None = None,
    request_key: str | None = None,
) -> ScreeningResult:
    """Screen one person at the actor's site: store the data and every criterion's outcome."""
    with transaction(db, actor, policy.Permission.SCREEN) as tx:
        return remember(
            tx, screen_step(tx, screened_on=screened_on, consent_date=consent_date, values=values, site=site)
        )


def screen_step(
    tx: Tx, *, screened_on: date, consent_date: date, values: Mapping[str, object], site: str | None
) -> ScreeningResult:
    tx.require(policy.Permission.SCREEN)
    problems: list[Problem] = []
    problems += [p for p in (date_problem(screened_on, "screened_on"), date_problem(consent_date, "consent_date")) if p]
    if not problems and consent_date > screened_on:
        problems.append(
            Problem(
                "consent_date",
                consent_date.isoformat(),
                f"informed consent must come before screening ({screened_on.isoformat()})",
            )
        )
    coerced: dict[str, object] = {}
    try:
        coerced = coerce_screening_values(tx.protocol, values)
    except ValidationFailed as exc:
        problems += exc.problems
    if coerced.get(RUNIN_FIELD) is not None:
        problems.append(
            Problem(
                RUNIN_FIELD,
                values.get(RUNIN_FIELD),
                "not known at screening: it is computed at the end of the run-in from the ALSFRS-R totals "
                "of the run-in visits when the run-in ends; leave it blank",
            )
        )
    if problems:
        raise ValidationFailed(problems, context="screening")
    site_code = site or tx.actor.site_code
    if site_code is None:
        raise ValidationFailed([Problem("site", None, "give the site of the screening")])
    if tx.actor.site_code is not None and site_code != tx.actor.site_code:
        raise PermissionDenied(f"{tx.actor} may not screen at site {site_code!r}")
    site_row = tx.session.execute(select(Site).where(Site.code == site_code).with_for_update()).scalar_one_or_none()
    if site_row is None:
        from alstrial.services.exceptions import NotFound

        raise NotFound(f"no site {site_code!r}")
    n = tx.session.execute(select(func.count()).select_from(Participant).where(Participant.site_id == site_row.id))
    code = f"{site_code}-{n.scalar_one() + 1:04d}"
    # Criteria on the run-in decline cannot be judged at screening: they are recorded with
    # ``passed`` NULL (neither passed nor failed, so never counted as a screen-failure reason) and
    # outcome "pending" until `complete_runin` judges them, or "not_assessed" for a screen failure.
    pending = {c.id for c in tx.protocol.eligibility if c.field == RUNIN_FIELD}
    judged = [evaluate_criterion(c, coerced.get(c.field)) for c in tx.protocol.eligibility if c.id not in pending]
    eligible = all(o.passed for o in judged)
    later = "pending" if eligible else "not_assessed"
    outcomes = [
        replace(evaluate_criterion(c, None), outcome=later, passed=None)  # type: ignore[arg-type]
        if c.id in pending
        else evaluate_criterion(c, coerced.get(c.field))
        for c in tx.protocol.eligibility
    ]
    coi = "COI-" + "".join(secrets.choice(_COI_ALPHABET) for _ in range(10))
    p = Participant(
        code=code,
        site_id=site_row.id,
        coi_id=coi,
        status="eligible" if eligible else "screen_failed",
        consent_date=consent_date,
        screened_on=screened_on,
        eligible=eligible,
        screening_json=json.dumps(coerced, sort_keys=True),
    )
    tx.session.add(p)
    tx.session.flush()
    tx.session.add_all(
        EligibilityOutcome(
            participant_id=p.id,
            criterion_id=o.criterion_id,
            kind=o.kind,
            text=o.text,
            value=None if o.value is None else json.dumps(o.value),
            outcome=o.outcome,
            passed=o.passed,
        )
        for o in outcomes
    )
    failed = tuple(o.criterion_id for o in judged if not o.passed)
    changes: dict[str, tuple[object, object]] = {k: (None, v) for k, v in sorted(coerced.items())}
    changes |= {
        "code": (None, code),
        "coi_id": (None, coi),
        "status": (None, p.status),
        "consent_date": (None, consent_date),
        "screened_on": (None, screened_on),
        "eligible": (None, eligible),
        "failed_criteria": (None, list(failed)),
    }
    if pending and eligible:
        changes["pending_criteria"] = (None, sorted(pending))
    tx.audit("participant.screen", "participant", p.id, changes, participant=p)
    return ScreeningResult(code, site_code, eligible, failed, coi, tuple(sorted(pending)) if eligible else ())


def enrol_participant(db: CaptureDB, actor: Actor, code: str, *, enrolled_on: date) -> str:
    """Enrol an eligible participant (the run-in starts); screen failures raise :class:`NotEligible`."""
    with transaction(db, actor, policy.Permission.ENROL) as tx:
        return enrol_step(tx, code, enrolled_on)


def enrol_step(tx: Tx, code: str, enrolled_on: date) -> str:
    tx.require(policy.Permission.ENROL)
    if found := date_problem(enrolled_on, "enrolled_on"):
        raise ValidationFailed([found])
    p = tx.participant(code, for_update=True)
    if enrolled_on < p.screened_on:
        raise ValidationFailed(
            [Problem("enrolled_on", enrolled_on.isoformat(), f"before the screening on {p.screened_on}")]
        )
    if p.status == "screen_failed":
        failed = [
            o.criterion_id
            for o in tx.session.scalars(
                select(EligibilityOutcome).where(
                    EligibilityOutcome.participant_id == p.id, EligibilityOutcome.passed.is_(False)
                )
            )
        ]
        raise NotEligible(f"participant {code!r} failed screening criteria {failed}; cannot enrol", failed)
    if p.status != "eligible":
        raise InvalidState(f"participant {code!r} is already {p.status}; cannot enrol again")
    if enrolled_on < p.screened_on:
        raise ValidationFailed(
            [Problem("enrolled_on", enrolled_on.isoformat(), f"before screening ({p.screened_on.isoformat()})")]
        )
    p.status, p.enrolled_on = "enrolled", enrolled_on
    tx.audit(
        "participant.enrol",
        "participant",
        p.id,
        {"status": ("eligible", "enrolled"), "enrolled_on": (None, enrolled_on)},
        participant=p,
    )
    return code
