"""The capture database handle and the one helper every service runs in.

:func:`transaction` checks the role, opens one transaction, refuses data writes while the
database is locked, hands the service a :class:`Tx`, and appends the service's audit entries
in the same transaction just before commit. Any exception rolls everything back; a
:class:`ChainOfIdentityMismatch` is then recorded in a separate transaction of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alstrial.protocol import Protocol, parse_protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.exceptions import (
    ChainOfIdentityMismatch,
    DatabaseLocked,
    InvalidState,
    NotFound,
    PermissionDenied,
)
from alstrial.store import audit_chain
from alstrial.store.audit_chain import AuditEntry
from alstrial.store.engine import make_engine, make_session_factory
from alstrial.store.models import Participant, Site, Trial, User


class CaptureDB:
    """A capture database: engine, session factory and the stored protocol (parsed once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self._protocol: tuple[str, Protocol] | None = None

    @classmethod
    def from_url(cls, url: str) -> CaptureDB:
        return cls(make_engine(url))

    def protocol(self, session: Session | None = None) -> Protocol:
        """The trial's protocol as stored at set-up (cached by its hash)."""
        if session is None:
            with self.sessions() as s:
                return self.protocol(s)
        row = session.execute(select(Trial.protocol_sha256, Trial.protocol_toml)).first()
        if row is None:
            raise NotFound("no trial is set up in this database; run `alstrial init` first")
        if self._protocol is None or self._protocol[0] != row[0]:
            self._protocol = (row[0], parse_protocol(row[1], source="stored protocol"))
        return self._protocol[1]

    def dispose(self) -> None:
        self.engine.dispose()


@dataclass
class Tx:
    """What a service body works with: the session, the actor and the audit entries to append."""

    db: CaptureDB
    session: Session
    actor: Actor
    entries: list[AuditEntry] = field(default_factory=list)

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: object,
        changes: Mapping[str, tuple[object, object]] | None = None,
        *,
        reason: str | None = None,
        participant: Participant | str | None = None,
    ) -> None:
        code = participant.code if isinstance(participant, Participant) else participant
        self.entries.append(AuditEntry(action, entity, entity_id, dict(changes or {}), reason, code))

    @cached_property
    def protocol(self) -> Protocol:
        return self.db.protocol(self.session)

    @cached_property
    def trial(self) -> Trial:
        trial = self.session.execute(select(Trial)).scalar_one_or_none()
        if trial is None:
            raise NotFound("no trial is set up in this database; run `alstrial init` first")
        return trial

    def sees_arm(self) -> bool:
        return policy.sees_arm(self.actor.role, trial_unblinded=self.trial.unblinded_at is not None)

    def participant(self, code: str, *, for_update: bool = False) -> Participant:
        """A participant by code, refused when a site role reaches for another site's record."""
        stmt = select(Participant).where(Participant.code == code)
        if for_update:
            stmt = stmt.with_for_update()
        p = self.session.execute(stmt).scalar_one_or_none()
        if p is None:
            raise NotFound(f"no participant {code!r}")
        self.check_site(p)
        return p

    def check_site(self, participant: Participant) -> None:
        if policy.is_site_bound(self.actor.role) and participant.site_id != self.actor.site_id:
            raise PermissionDenied(f"{self.actor} may not access participant {participant.code!r} of another site")

    def site(self, code: str) -> Site:
        site = self.session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
        if site is None:
            raise NotFound(f"no site {code!r}")
        return site


def _check_actor(session: Session, actor: Actor) -> None:
    user = session.get(User, actor.user_id)
    if user is None or not user.active or user.username != actor.username or user.role != actor.role:
        raise PermissionDenied(f"{actor} is not an active user with that role")


@contextmanager
def transaction(db: CaptureDB, actor: Actor, permission: policy.Permission) -> Iterator[Tx]:
    """Run a service body as one audited transaction (see the module docstring)."""
    policy.require(actor, permission)
    try:
        with db.sessions.begin() as session:
            tx = Tx(db, session, actor)
            _check_actor(session, actor)
            if permission in policy.DATA_WRITES and tx.trial.locked:
                raise DatabaseLocked(
                    f"the database is locked (since {tx.trial.locked_at:%Y-%m-%d %H:%M} UTC): "
                    f"{permission.value.replace('_', ' ')} is refused; an admin must unlock it with a reason"
                )
            yield tx
            audit_chain.append(session, username=actor.username, role=actor.role, entries=tx.entries)
    except ChainOfIdentityMismatch as exc:
        _audit_refusal(db, actor, exc)
        raise


def _audit_refusal(db: CaptureDB, actor: Actor, exc: ChainOfIdentityMismatch) -> None:
    """Persist a security refusal even though the refused write was rolled back."""
    entry = AuditEntry(
        "dose.refused_chain_of_identity",
        "administration",
        exc.participant_code,
        {k: (None, v) for k, v in exc.details.items()},
        str(exc),
        exc.participant_code,
    )
    with db.sessions.begin() as session:
        audit_chain.append(session, username=actor.username, role=actor.role, entries=[entry])


def require_text(value: str | None, what: str) -> str:
    """A reason or other free text that must not be blank."""
    from alstrial.errors import Problem, ValidationFailed

    if value is None or not str(value).strip():
        raise ValidationFailed([Problem(what, value, "required; give a non-blank text")])
    return str(value).strip()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure(condition: bool, message: str) -> None:
    """Raise :class:`InvalidState` unless ``condition`` holds."""
    if not condition:
        raise InvalidState(message)
