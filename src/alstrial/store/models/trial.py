"""The trial itself: protocol text, sites, users, the visit schedule, strata, lock and unblinding events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base
from alstrial.store.types import UTCDateTime


class Trial(Base):
    """The one trial this database holds; the protocol is stored verbatim with its SHA-256."""

    __tablename__ = "trial"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(Text)
    protocol_toml: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    #: the secret behind the concealed list (128 bits by default, as decimal text); no service reads it out
    randomization_seed: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unblinded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    """A person who acts on the trial; ``site_id`` is set for site-bound roles."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: consecutive failed sign-ins since the last successful one (reset by an admin unlock)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: sign-in refused until then after too many failures; NULL when not locked out
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RequestKey(Base):
    """A client's idempotency key: a retried create returns the first result instead of a duplicate."""

    __tablename__ = "request_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    key: Mapped[str] = mapped_column(String(128))
    service: Mapped[str] = mapped_column(String(64))
    #: the service's result as canonical JSON, replayed on a retry
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduledVisit(Base):
    """The protocol's visit schedule, copied at set-up so reports need not re-parse TOML."""

    __tablename__ = "scheduled_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    window_before: Mapped[int] = mapped_column(Integer)
    window_after: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16))


class Stratum(Base):
    """A randomization stratum; ``key`` as built by ``domain.randomization.stratum_key``."""

    __tablename__ = "stratum"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    levels_json: Mapped[str] = mapped_column(Text)


class LockEvent(Base):
    """A database lock or unlock (unlocking needs an admin and a reason)."""

    __tablename__ = "lock_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: an admin's reason for locking while queries were open or casebooks unsigned (signed with the lock)
    override_reason: Mapped[str | None] = mapped_column(Text)


class UnblindingEvent(Base):
    """Full unblinding (after lock) or emergency unblinding of one participant."""

    __tablename__ = "unblinding_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
