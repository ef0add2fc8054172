"""The capture database handle and the one helper every service runs in.

:func:`transaction` checks the role, opens one transaction, refuses data writes while the
database is locked, hands the service a :class:`Tx`, and appends the service's audit entries
in the same transaction just before commit. Any exception rolls everything back; a
:class:`ChainOfIdentityMismatch` is then recorded in a separate transaction of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, select, true
from sqlalchemy.orm import Session, defer, sessionmaker

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

    def protocol(self, session: Session | None = None, *, sha256: str | None = None) -> Protocol:
        """The trial's protocol as stored at set-up, parsed once and cached by its SHA-256.

        With ``sha256`` (the hash on the trial row the caller has already read) a cache hit
        costs no query; the stored text is fetched and parsed only when the hash changes.
        """
        if session is None:
            with self.sessions() as s:
                return self.protocol(s)
        if sha256 is not None and self._protocol is not None and self._protocol[0] == sha256:
            return self._protocol[1]
        stmt = select(Trial.protocol_sha256, Trial.protocol_toml)
        row = session.execute(stmt if sha256 is None else stmt.where(Trial.protocol_sha256 == sha256)).first()
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
    state: TrialState | None = None
    _trial: Trial | None = None

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

    def add_audited(
        self,
        row: Any,
        action: str,
        fields: Sequence[str],
        *,
        participant: Participant,
        reason: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> int:
        """Insert ``row`` and audit its creation: each named field (and ``extra``) as ``None → value``."""
        self.session.add(row)
        self.session.flush()
        changes: dict[str, tuple[object, object]] = {f: (None, getattr(row, f)) for f in fields}
        changes |= {k: (None, v) for k, v in (extra or {}).items()}
        self.audit(action, row.__tablename__, row.id, changes, reason=reason, participant=participant)
        return int(row.id)

    @cached_property
    def protocol(self) -> Protocol:
        return self.db.protocol(self.session, sha256=self.trial_state.protocol_sha256)

    @property
    def trial_state(self) -> TrialState:
        """Lock, unblinding and protocol hash of the trial (read with the actor check, no ORM object)."""
        if self.state is None:
            raise NotFound("no trial is set up in this database; run `alstrial init` first")
        return self.state

    @property
    def trial(self) -> Trial:
        """The trial row as an ORM object, for the services that change it (lock, unblinding)."""
        if self._trial is None:
            self._trial = self.session.execute(_TRIAL).scalar_one_or_none()
            if self._trial is None:
                raise NotFound("no trial is set up in this database; run `alstrial init` first")
        return self._trial

    def sees_arm(self) -> bool:
        return policy.sees_arm(self.actor.role, trial_unblinded=self.trial_state.unblinded_at is not None)

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


#: The trial row without its protocol text (that is read only when the protocol's hash changes).
_TRIAL = select(Trial).options(defer(Trial.protocol_toml))


@dataclass(frozen=True)
class TrialState:
    """What every call needs of the trial row: whether data writes are refused, and the protocol's hash."""

    locked: bool
    locked_at: datetime | None
    unblinded_at: datetime | None
    protocol_sha256: str


#: The caller's user record and the trial's state in one round trip (every service call starts with it).
_ACTOR_AND_TRIAL = (
    select(
        User.active,
        User.username,
        User.role,
        User.site_id,
        Trial.id.label("trial_id"),
        Trial.locked,
        Trial.locked_at,
        Trial.unblinded_at,
        Trial.protocol_sha256,
    )
    .select_from(User)
    .outerjoin(Trial, true())
)


def _check_actor(session: Session, actor: Actor) -> TrialState | None:
    """Refuse an actor who is not an active user with that name, role and site; return the trial's state."""
    row = session.execute(_ACTOR_AND_TRIAL.where(User.id == actor.user_id)).first()
    who = (actor.username, actor.role, actor.site_id)
    if row is None or not row.active or (row.username, row.role, row.site_id) != who:
        raise PermissionDenied(f"{actor} is not an active user with that role")
    if row.trial_id is None:
        return None
    return TrialState(bool(row.locked), row.locked_at, row.unblinded_at, row.protocol_sha256)


@contextmanager
def transaction(db: CaptureDB, actor: Actor, permission: policy.Permission) -> Iterator[Tx]:
    """Run a service body as one audited transaction (see the module docstring)."""
    policy.require(actor, permission)
    try:
        with db.sessions.begin() as session:
            tx = Tx(db, session, actor, state=_check_actor(session, actor))
            if permission in policy.DATA_WRITES and tx.trial_state.locked:
                raise DatabaseLocked(
                    f"the database is locked (since {tx.trial_state.locked_at:%Y-%m-%d %H:%M} UTC): "
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
