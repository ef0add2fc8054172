"""Database lock and unblinding.

Locking stops every data write; it needs clean data (no unresolved query, every randomized
participant's casebook signed and unchanged since) unless an admin overrides with a reason.
Unlocking needs an admin and a reason. Full unblinding is possible only while locked; emergency
unblinding of one participant is open to that participant's investigator at any time, with a
reason, and is listed for review. Each of the four is electronically signed (re-entered password
and meaning, see :mod:`alstrial.services.signatures`) in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, ensure, require_text, transaction
from alstrial.services.exceptions import InvalidState, PermissionDenied
from alstrial.services.signatures import (
    LockBlockers,
    SignatureView,
    lock_blockers,
    lock_content,
    sign,
    unblinding_content,
    verify_signer,
)
from alstrial.store.models import AllocationSlot, LockEvent, Participant, UnblindingEvent, User
from alstrial.store.types import utcnow


@dataclass(frozen=True)
class LifecycleResult:
    """A signed lock, unlock or full unblinding: when it happened and the signature that attests it."""

    action: str
    at: datetime
    signature: SignatureView
    overridden: LockBlockers | None = None

    def __str__(self) -> str:
        what = {"lock": "database locked", "unlock": "database unlocked", "unblind": "trial unblinded"}[self.action]
        line = f"{what} at {self.at:%Y-%m-%d %H:%M:%S} UTC\n{self.signature}"
        if self.overridden:
            line += f"\noverride by admin: locked despite {self.overridden}"
        return line

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "at": self.at,
            "signature": self.signature.to_dict(),
            "overridden": self.overridden.to_dict() if self.overridden else None,
        }


def lock_database(
    db: CaptureDB,
    actor: Actor,
    *,
    reason: str,
    password: str,
    meaning: str = "approval",
    override_reason: str | None = None,
) -> LifecycleResult:
    """Lock the database, signed by the re-entered password.

    Refused while queries are unresolved or randomized participants' casebooks are unsigned or
    changed since their signature, unless an admin gives ``override_reason`` (recorded in the
    lock event, the audit trail and the signed content).
    """
    policy.require(actor, policy.Permission.LOCK)
    reason = require_text(reason, "reason")
    if override_reason is not None:
        override_reason = require_text(override_reason, "override_reason")
        if actor.role != "admin":
            raise PermissionDenied(f"{actor} may not override the lock checks; only an admin may, with a reason")
    check = verify_signer(db, actor, policy.Permission.LOCK, password=password, meaning=meaning, target="database_lock")
    with transaction(db, actor, policy.Permission.LOCK) as tx:
        ensure(not tx.trial.locked, "the database is already locked")
        blockers = lock_blockers(tx.session)
        if blockers and override_reason is None:
            raise InvalidState(
                f"the database cannot be locked yet: {blockers}. Resolve the queries and have the investigators "
                "sign the casebooks, or an admin may lock anyway with an override reason"
            )
        now = utcnow()
        tx.trial.locked, tx.trial.locked_at = True, now
        event = LockEvent(action="lock", at=now, user_id=actor.user_id, reason=reason, override_reason=override_reason)
        tx.session.add(event)
        tx.session.flush()
        changes: dict[str, tuple[object, object]] = {"locked": (False, True)}
        if override_reason is not None:
            changes["override_reason"] = (None, override_reason)
            changes["overridden"] = (None, blockers.to_dict())
        tx.audit("database.lock", "trial", tx.trial.code, changes, reason=reason)
        signature = sign(
            tx, check, kind="database_lock", target=f"lock_event/{event.id}", content=lock_content(tx.session, event)
        )
        return LifecycleResult("lock", now, signature, blockers if override_reason is not None else None)


def unlock_database(
    db: CaptureDB, actor: Actor, *, reason: str, password: str, meaning: str = "approval"
) -> LifecycleResult:
    """Unlock (admin, with a reason), signed by the re-entered password; impossible once unblinded."""
    policy.require(actor, policy.Permission.UNLOCK)
    reason = require_text(reason, "reason")
    check = verify_signer(
        db, actor, policy.Permission.UNLOCK, password=password, meaning=meaning, target="database_unlock"
    )
    with transaction(db, actor, policy.Permission.UNLOCK) as tx:
        ensure(tx.trial.locked, "the database is not locked")
        ensure(tx.trial.unblinded_at is None, "the trial is unblinded; the database cannot be unlocked any more")
        now = utcnow()
        tx.trial.locked, tx.trial.locked_at = False, None
        event = LockEvent(action="unlock", at=now, user_id=actor.user_id, reason=reason)
        tx.session.add(event)
        tx.session.flush()
        tx.audit("database.unlock", "trial", tx.trial.code, {"locked": (True, False)}, reason=reason)
        signature = sign(
            tx, check, kind="database_unlock", target=f"lock_event/{event.id}", content=lock_content(tx.session, event)
        )
        return LifecycleResult("unlock", now, signature)


def unblind_trial(
    db: CaptureDB, actor: Actor, *, reason: str, password: str, meaning: str = "responsibility"
) -> LifecycleResult:
    """Full unblinding, signed: only after the database lock; from now on every role may see arms."""
    policy.require(actor, policy.Permission.UNBLIND_TRIAL)
    reason = require_text(reason, "reason")
    check = verify_signer(
        db, actor, policy.Permission.UNBLIND_TRIAL, password=password, meaning=meaning, target="unblind_trial"
    )
    with transaction(db, actor, policy.Permission.UNBLIND_TRIAL) as tx:
        ensure(tx.trial.locked, "full unblinding needs a locked database; lock it first")
        ensure(tx.trial.unblinded_at is None, "the trial is already unblinded")
        now = utcnow()
        tx.trial.unblinded_at = now
        event = UnblindingEvent(kind="full", participant_id=None, at=now, user_id=actor.user_id, reason=reason)
        tx.session.add(event)
        tx.session.flush()
        tx.audit("trial.unblind", "trial", tx.trial.code, {"unblinded": (False, True)}, reason=reason)
        signature = sign(
            tx,
            check,
            kind="unblind_trial",
            target=f"unblinding_event/{event.id}",
            content=unblinding_content(tx.session, event),
        )
        return LifecycleResult("unblind", now, signature)


@dataclass(frozen=True)
class EmergencyUnblinding:
    """The answer to an emergency request: the arm, shown to the requesting investigator only."""

    participant: str
    arm: str
    at: datetime
    reason: str
    signature: SignatureView

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def emergency_unblind(
    db: CaptureDB, actor: Actor, code: str, *, reason: str, password: str, meaning: str = "responsibility"
) -> EmergencyUnblinding:
    """Reveal one participant's arm to their investigator, with a reason and a signature, audited (the arm is not)."""
    policy.require(actor, policy.Permission.UNBLIND_EMERGENCY)
    reason = require_text(reason, "reason")
    check = verify_signer(
        db,
        actor,
        policy.Permission.UNBLIND_EMERGENCY,
        password=password,
        meaning=meaning,
        target=f"emergency_unblind/{code}",
    )
    with transaction(db, actor, policy.Permission.UNBLIND_EMERGENCY) as tx:
        p = tx.participant(code)
        arm = tx.session.execute(select(AllocationSlot.arm).where(AllocationSlot.participant_id == p.id)).scalar()
        if arm is None:
            raise InvalidState(f"participant {code!r} is not randomized; there is nothing to unblind")
        now = utcnow()
        event = UnblindingEvent(kind="emergency", participant_id=p.id, at=now, user_id=actor.user_id, reason=reason)
        tx.session.add(event)
        tx.session.flush()
        tx.audit(
            "participant.emergency_unblind",
            "participant",
            p.id,
            {"unblinded": (False, True)},
            reason=reason,
            participant=p,
        )
        signature = sign(
            tx,
            check,
            kind="emergency_unblind",
            target=f"unblinding_event/{event.id}",
            content=unblinding_content(tx.session, event),
            participant=p,
        )
        return EmergencyUnblinding(code, arm, now, reason, signature)


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
