"""The capture database handle and the one helper every service runs in.

:func:`transaction` checks the role, opens one transaction (a read transaction for reads, so
that on SQLite readers never queue behind writers or each other), refuses data writes while the
database is locked, hands the service a :class:`Tx`, and appends the service's audit entries in
the same transaction just before commit. Any exception rolls everything back, and database or
driver errors leave as domain errors (:class:`Conflict`, :class:`DatabaseBusy`,
:class:`ValidationFailed`). Security refusals collected on the :class:`Tx` (a chain-of-identity
mismatch) are then recorded in a transaction of their own.

:func:`unit_of_work` is the public way to run several service steps (``services.steps``) in one
audited transaction; each step checks its own permission.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, exc, select, true
from sqlalchemy.orm import Session, defer, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from alstrial.errors import AlstrialError, Problem, ValidationFailed
from alstrial.protocol import Protocol, parse_protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.exceptions import (
    AuthenticationFailed,
    Conflict,
    DatabaseBusy,
    DatabaseLocked,
    InvalidState,
    NotFound,
)
from alstrial.store import audit_chain
from alstrial.store.audit_chain import AuditEntry
from alstrial.store.engine import READ_OPTION, make_engine, make_session_factory
from alstrial.store.models import Participant, Site, Trial, User

log = logging.getLogger("alstrial.services")

NO_TRIAL = "no trial is set up in this database yet; an admin must set it up from its protocol file first"


class CaptureDB:
    """A capture database: engine, session factory and the stored protocol (parsed once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        #: sessions for reads: on SQLite a deferred BEGIN, so readers share the database with a writer
        self.read_sessions: sessionmaker[Session] = make_session_factory(
            engine.execution_options(**{READ_OPTION: True})
        )
        self._protocol: tuple[str, Protocol] | None = None

    @classmethod
    def from_url(cls, url: str) -> CaptureDB:
        """The capture database at ``url``; a SQLite path must name an existing database file."""
        return cls(make_engine(url, must_exist=True))

    def protocol(self, session: Session | None = None, *, sha256: str | None = None) -> Protocol:
        """The trial's protocol as stored at set-up, parsed once and cached by its SHA-256.

        With ``sha256`` (the hash on the trial row the caller has already read) a cache hit
        costs no query; the stored text is fetched and parsed only when the hash changes.
        """
        if session is None:
            with database_errors(), self.read_sessions() as s:
                return self.protocol(s)
        if sha256 is not None and self._protocol is not None and self._protocol[0] == sha256:
            return self._protocol[1]
        stmt = select(Trial.protocol_sha256, Trial.protocol_toml)
        row = session.execute(stmt if sha256 is None else stmt.where(Trial.protocol_sha256 == sha256)).first()
        if row is None:
            raise NotFound(NO_TRIAL)
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
    write: bool = True
    #: security refusals to record even though the transaction rolls back (see ``transaction``)
    refusals: list[AuditEntry] = field(default_factory=list)
    _trial: Trial | None = None

    def require(self, permission: policy.Permission) -> None:
        """Check one step's permission (and the lock, for data writes) inside a unit of work."""
        policy.require(self.actor, permission)
        if permission in policy.WRITES and not self.write:
            raise InvalidState(f"{permission.value.replace('_', ' ')} is a write; it cannot run in a read transaction")
        if permission in policy.DATA_WRITES and self.trial_state.locked:
            raise DatabaseLocked(
                f"the database is locked (since {self.trial_state.locked_at:%Y-%m-%d %H:%M} UTC): "
                f"{permission.value.replace('_', ' ')} is refused until an admin unlocks it with a reason"
            )

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
            raise NotFound(NO_TRIAL)
        return self.state

    @property
    def trial(self) -> Trial:
        """The trial row as an ORM object, for the services that change it (lock, unblinding)."""
        if self._trial is None:
            self._trial = self.session.execute(_TRIAL).scalar_one_or_none()
            if self._trial is None:
                raise NotFound(NO_TRIAL)
        return self._trial

    def sees_arm(self) -> bool:
        return policy.sees_arm(self.actor.role, trial_unblinded=self.trial_state.unblinded_at is not None)

    def participant(self, code: str, *, for_update: bool = False) -> Participant:
        """A participant by code; another site's participant looks exactly like a missing one to site roles."""
        stmt = select(Participant).where(Participant.code == code)
        if policy.is_site_bound(self.actor.role):
            stmt = stmt.where(Participant.site_id == self.actor.site_id)
        if for_update:
            stmt = stmt.with_for_update()
        p = self.session.execute(stmt).scalar_one_or_none()
        if p is None:
            raise NotFound(self._no_participant(code))
        return p

    def _no_participant(self, code: object) -> str:
        where = f" at site {self.actor.site_code}" if policy.is_site_bound(self.actor.role) else ""
        return f"no participant {code!r}{where}; check the participant code"

    def check_site(self, participant: Participant) -> None:
        """Refuse a record of another site's participant as if it did not exist (no probing of codes)."""
        if policy.is_site_bound(self.actor.role) and participant.site_id != self.actor.site_id:
            raise NotFound(self._no_participant(participant.code))

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
        raise AuthenticationFailed(
            f"the account {actor.username!r} is no longer active or its role or site has changed; sign in again"
        )
    if row.trial_id is None:
        return None
    return TrialState(bool(row.locked), row.locked_at, row.unblinded_at, row.protocol_sha256)


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn database and driver exceptions into domain errors; nothing of SQLAlchemy leaves a service.

    A unique-key violation means someone else wrote the same record first (:class:`Conflict`);
    a value the database cannot store is bad input (:class:`ValidationFailed`); a busy, locked
    or unreachable database is :class:`DatabaseBusy` (nothing was written: try again). The
    original error is logged for the people running the server.
    """
    try:
        yield
    except AlstrialError:
        raise
    except exc.IntegrityError as e:
        log.info("integrity error mapped to Conflict: %s", e.orig)
        raise Conflict(
            "someone else saved the same record at the same moment; nothing of yours was written — "
            "reload the record and check it before trying again"
        ) from None
    except StaleDataError:
        raise Conflict(
            "the record was changed by someone else while you were saving; nothing of yours was written — reload it"
        ) from None
    except exc.DataError as e:
        log.info("data error mapped to ValidationFailed: %s", e.orig)
        raise ValidationFailed(
            [Problem("value", None, "a value is too long or holds characters the database cannot store (e.g. NUL)")]
        ) from None
    except OverflowError:  # the driver refuses an integer wider than 64 bits (an id of 2**63, say)
        raise ValidationFailed(
            [Problem("value", None, "a number is too large to be an id or a stored value (at most 2**63 - 1)")]
        ) from None
    except (exc.DBAPIError, exc.TimeoutError, exc.DisconnectionError, exc.ResourceClosedError) as e:
        log.warning("database error mapped to DatabaseBusy: %r", e)
        raise DatabaseBusy(
            "the database is busy or cannot be reached right now; nothing was written — try again in a moment, "
            "and tell the trial's data manager if this keeps happening"
        ) from None


@contextmanager
def transaction(
    db: CaptureDB, actor: Actor, permission: policy.Permission | None, *, write: bool | None = None
) -> Iterator[Tx]:
    """Run a service body as one audited transaction (see the module docstring).

    ``permission`` is checked first; ``None`` leaves the checks to the steps (``Tx.require``).
    Reads (``policy.READS``) run in a read transaction unless ``write`` says otherwise.
    """
    if permission is not None:
        policy.require(actor, permission)
    if write is None:
        write = permission is None or permission not in policy.READS
    factory = db.sessions if write else db.read_sessions
    tx: Tx | None = None
    try:
        with database_errors(), factory.begin() as session:
            tx = Tx(db, session, actor, state=_check_actor(session, actor), write=write)
            if permission is not None and permission in policy.DATA_WRITES:
                tx.require(permission)
            yield tx
            if tx.entries:
                if not write:
                    raise InvalidState("a read transaction cannot write audit records")
                audit_chain.append(session, username=actor.username, role=actor.role, entries=tx.entries)
    finally:
        if tx is not None and tx.refusals:
            record_refusals(db, actor, tx.refusals)


@contextmanager
def unit_of_work(db: CaptureDB, actor: Actor, *, write: bool = True) -> Iterator[Tx]:
    """Several service steps (``alstrial.services.steps``) in ONE audited transaction: all or nothing.

    Each step checks the actor's permission for itself; the audit entries of every step are
    appended together at commit. Use a savepoint (``tx.session.begin_nested()``) around a step
    whose failure should not end the unit (CSV imports check every row that way).
    """
    with transaction(db, actor, None, write=write) as tx:
        yield tx


def record_refusals(db: CaptureDB, actor: Actor, entries: Sequence[AuditEntry]) -> None:
    """Persist security refusals even though the refused write was rolled back."""
    with database_errors(), db.sessions.begin() as session:
        audit_chain.append(session, username=actor.username, role=actor.role, entries=list(entries))


def require_text(value: str | None, what: str) -> str:
    """A reason or other free text that must not be blank."""
    if value is None or not str(value).strip():
        raise ValidationFailed([Problem(what, value, "required; give a non-blank text")])
    return str(value).strip()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure(condition: bool, message: str) -> None:
    """Raise :class:`InvalidState` unless ``condition`` holds."""
    if not condition:
        raise InvalidState(message)


def page_problems(offset: object, limit: object) -> list[Problem]:
    """Problems with paging arguments (offset ≥ 0; limit 1–1000 or None for everything)."""
    problems = []
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        problems.append(Problem("offset", offset, "expected a whole number ≥ 0"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000):
        problems.append(Problem("limit", limit, "expected a whole number from 1 to 1000"))
    return problems
