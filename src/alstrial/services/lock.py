"""Database lock and unblinding.

Locking stops every data write. Unlocking needs an admin and a reason. Full unblinding is
possible only while locked; emergency unblinding of one participant is open to that
participant's investigator at any time, with a reason, and is listed for review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, ensure, require_text, transaction
from alstrial.services.exceptions import InvalidState
from alstrial.store.models import AllocationSlot, LockEvent, Participant, UnblindingEvent, User
from alstrial.store.types import utcnow


def lock_database(db: CaptureDB, actor: Actor, *, reason: str) -> datetime:
    with transaction(db, actor, policy.Permission.LOCK) as tx:
        reason = require_text(reason, "reason")
        ensure(not tx.trial.locked, "the database is already locked")
        now = utcnow()
        tx.trial.locked, tx.trial.locked_at = True, now
        tx.session.add(LockEvent(action="lock", at=now, user_id=actor.user_id, reason=reason))
        tx.audit("database.lock", "trial", tx.trial.code, {"locked": (False, True)}, reason=reason)
        return now


def unlock_database(db: CaptureDB, actor: Actor, *, reason: str) -> None:
    with transaction(db, actor, policy.Permission.UNLOCK) as tx:
        reason = require_text(reason, "reason")
        ensure(tx.trial.locked, "the database is not locked")
        ensure(tx.trial.unblinded_at is None, "the trial is unblinded; the database cannot be unlocked any more")
        tx.trial.locked, tx.trial.locked_at = False, None
        tx.session.add(LockEvent(action="unlock", at=utcnow(), user_id=actor.user_id, reason=reason))
        tx.audit("database.unlock", "trial", tx.trial.code, {"locked": (True, False)}, reason=reason)


def unblind_trial(db: CaptureDB, actor: Actor, *, reason: str) -> datetime:
    """Full unblinding: only after the database lock; from now on every role may see arms."""
    with transaction(db, actor, policy.Permission.UNBLIND_TRIAL) as tx:
        reason = require_text(reason, "reason")
        ensure(tx.trial.locked, "full unblinding needs a locked database; lock it first")
        ensure(tx.trial.unblinded_at is None, "the trial is already unblinded")
        now = utcnow()
        tx.trial.unblinded_at = now
        tx.session.add(UnblindingEvent(kind="full", participant_id=None, at=now, user_id=actor.user_id, reason=reason))
        tx.audit("trial.unblind", "trial", tx.trial.code, {"unblinded": (False, True)}, reason=reason)
        return now


@dataclass(frozen=True)
class EmergencyUnblinding:
    """The answer to an emergency request: the arm, shown to the requesting investigator only."""

    participant: str
    arm: str
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def emergency_unblind(db: CaptureDB, actor: Actor, code: str, *, reason: str) -> EmergencyUnblinding:
    """Reveal one participant's arm to their investigator, with a reason, audited (the arm is not)."""
    with transaction(db, actor, policy.Permission.UNBLIND_EMERGENCY) as tx:
        reason = require_text(reason, "reason")
        p = tx.participant(code)
        arm = tx.session.execute(select(AllocationSlot.arm).where(AllocationSlot.participant_id == p.id)).scalar()
        if arm is None:
            raise InvalidState(f"participant {code!r} is not randomized; there is nothing to unblind")
        now = utcnow()
        tx.session.add(
            UnblindingEvent(kind="emergency", participant_id=p.id, at=now, user_id=actor.user_id, reason=reason)
        )
        tx.audit(
            "participant.emergency_unblind",
            "participant",
            p.id,
            {"unblinded": (False, True)},
            reason=reason,
            participant=p,
        )
        return EmergencyUnblinding(code, arm, now, reason)


@dataclass(frozen=True)
class UnblindingListing:
    kind: str
    participant: str | None
    at: datetime
    by: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def list_unblindings(db: CaptureDB, actor: Actor) -> list[UnblindingListing]:
    """Every unblinding event (emergency and full), without arms, for review and reporting."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        rows = tx.session.execute(
            select(UnblindingEvent, Participant.code, User.username)
            .outerjoin(Participant, UnblindingEvent.participant_id == Participant.id)
            .join(User, UnblindingEvent.user_id == User.id)
            .order_by(UnblindingEvent.at, UnblindingEvent.id)
        ).all()
        out = []
        for ev, code, username in rows:
            if code is not None and policy.is_site_bound(actor.role):
                p = tx.session.get(Participant, ev.participant_id)
                if p is None or p.site_id != actor.site_id:
                    continue
            out.append(UnblindingListing(ev.kind, code, ev.at, username, ev.reason))
        return out
