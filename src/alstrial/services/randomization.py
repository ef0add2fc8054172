"""Randomization after the ALSFRS-R run-in: from the concealed permuted-block list, or by Pocock–Simon
minimization when the protocol says so.

The site gets a kit code; the arm stays in ``allocation_slot`` and is returned only to
unblinded roles (:func:`participant_arm`) or, per participant, by emergency unblinding.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from alstrial.domain.randomization.errors import AllocationListExhausted
from alstrial.domain.randomization.kit_codes import DEFAULT_KIT_CODE_LENGTH, KIT_ALPHABET, KIT_PREFIX
from alstrial.domain.randomization.minimization import Minimizer
from alstrial.domain.randomization.strata import stratum_key
from alstrial.domain.strata import stratum_values
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, sha256_text, transaction
from alstrial.services.exceptions import AllocationConcealed, AllocationUnavailable, InvalidState, NotEligible
from alstrial.services.runin import RunInResult, complete_runin, judge_runin
from alstrial.store.audit_chain import canonical_json
from alstrial.store.models import AllocationSlot, MinimizationDecision, Participant, Site, Trial
from alstrial.store.types import utcnow

__all__ = [
    "AllocationRow",
    "RandomizationResult",
    "RunInResult",
    "allocation_list",
    "complete_runin",
    "participant_arm",
    "randomize_participant",
]


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


def randomize_participant(db: CaptureDB, actor: Actor, code: str) -> RandomizationResult:
    with transaction(db, actor, policy.Permission.RANDOMIZE) as tx:
        return randomize_step(tx, code)


def randomize_step(tx: Tx, code: str) -> RandomizationResult:
    tx.require(policy.Permission.RANDOMIZE)
    p = tx.participant(code, for_update=True)
    if p.status == "screen_failed":
        raise NotEligible(f"participant {code!r} is a screen failure; cannot randomize", [])
    if p.status != "enrolled":
        raise InvalidState(f"participant {code!r} is {p.status}; only an enrolled participant can be randomized")
    runin, changes = judge_runin(tx, p)
    if not runin.eligible:
        raise NotEligible(
            f"participant {code!r} fails the run-in criteria {list(runin.failed_criteria)} "
            f"(ALSFRS-R decline {runin.decline}); cannot randomize. Record the end of "
            "the run-in for this participant so that it counts as a screen failure",
            list(runin.failed_criteria),
        )
    if changes:  # the run-in was not completed separately: randomization completes it
        tx.audit("participant.complete_runin", "participant", p.id, changes, participant=p)
    decline = runin.decline
    screening = json.loads(p.screening_json)
    site_code = tx.session.get(Site, p.site_id).code  # type: ignore[union-attr]
    levels = stratum_values(tx.protocol, site_code, screening)
    key = stratum_key(levels, [name for name, _ in tx.protocol.strata_levels()])
    minimized: dict[str, tuple[object, object]] = {}
    if tx.protocol.randomization.method == "minimization":
        slot, minimized = _minimize(tx, p, levels, key)
    else:
        slot = _next_slot(tx, code, key)
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
            "runin_decline": (None, decline),
        }
        | minimized,
        participant=p,
    )
    return RandomizationResult(code, slot.kit_code, key, now, decline)


def _next_slot(tx: Tx, code: str, key: str) -> AllocationSlot:
    """The stratum's next unused entry of the concealed permuted-block list."""
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
        raise AllocationUnavailable(
            f"no allocation is left for {code!r}: the concealed list of stratum {key!r} is used up "
            f"(all {length} entries); nothing was written — ask the unblinded statistician for a longer list"
        ) from AllocationListExhausted(key, length, length)
    return slot


def _minimize(
    tx: Tx, p: Participant, levels: dict[str, str], key: str
) -> tuple[AllocationSlot, dict[str, tuple[object, object]]]:
    """Allocate by Pocock–Simon minimization and keep the decision concealed.

    The minimizer is rebuilt from every earlier decision (factor levels and arm, in order) and
    the trial's stored seed; its draw for assignment *i* depends only on the seed and *i*. The
    arm, the scores and the draw go to ``minimization_decision`` (concealed, like the list);
    the audit trail gets the factor levels, the assignment number and the SHA-256 of the
    decision with a random nonce, so it proves the decision without revealing it.
    """
    seed = int(tx.session.execute(select(Trial.randomization_seed).with_for_update()).scalar_one())  # one at a time
    history = [
        (json.loads(f), arm)
        for f, arm in tx.session.execute(
            select(MinimizationDecision.factors_json, MinimizationDecision.arm).order_by(MinimizationDecision.sequence)
        )
    ]
    minimizer = Minimizer.from_history(
        [(a.code, a.ratio) for a in tx.protocol.arms],
        tx.protocol.strata_levels(),
        history,
        p=tx.protocol.randomization.minimization_probability,
        seed=seed,
    )
    decision = minimizer.decide(levels)
    nonce = secrets.token_hex(16)
    record = {
        "sequence": decision.index,
        "participant": p.code,
        "factors": dict(decision.participant),
        "scores": dict(decision.scores),
        "probabilities": dict(decision.probabilities),
        "draw": decision.draw,
        "arm": decision.arm,
        "nonce": nonce,
    }
    digest = sha256_text(canonical_json(record))
    tx.session.add(
        MinimizationDecision(
            sequence=decision.index,
            participant_id=p.id,
            factors_json=canonical_json(record["factors"]),
            scores_json=canonical_json(record["scores"]),
            probabilities_json=canonical_json(record["probabilities"]),
            draw=decision.draw,
            arm=decision.arm,
            nonce=nonce,
            decision_sha256=digest,
            decided_at=utcnow(),
        )
    )
    slot = AllocationSlot(
        stratum_key=key, sequence=decision.index, block=0, block_size=0, arm=decision.arm, kit_code=_new_kit_code(tx)
    )
    tx.session.add(slot)
    tx.session.flush()
    # the assignment number is the trial-wide order of randomization (public anyway through the
    # randomization times); it is what a replay from the audit trail needs
    return slot, {
        "allocation_sequence": (None, decision.index),
        "minimization_factors": (None, record["factors"]),
        "decision_sha256": (None, digest),
    }


def _new_kit_code(tx: Tx) -> str:
    """A fresh kit code of the usual shape, unused so far (drawn from the OS, never from the arm)."""
    while True:
        code = KIT_PREFIX + "".join(secrets.choice(KIT_ALPHABET) for _ in range(DEFAULT_KIT_CODE_LENGTH))
        if tx.session.execute(select(AllocationSlot.id).where(AllocationSlot.kit_code == code)).first() is None:
            return code


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
        rows = tx.session.execute(
            select(AllocationSlot, Participant.code)
            .outerjoin(Participant, AllocationSlot.participant_id == Participant.id)
            .order_by(AllocationSlot.stratum_key, AllocationSlot.sequence)
        ).all()
        return [
            AllocationRow(s.stratum_key, s.sequence, s.block, s.block_size, s.arm, s.kit_code, pc) for s, pc in rows
        ]
