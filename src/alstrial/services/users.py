"""Sites, users and sign-in.

Sign-in does the same work whatever is wrong: the password is always verified once with Argon2id,
against a dummy hash when the user does not exist, so neither the answer nor the time it takes
tells which user names exist. Hashing and verification run outside any database transaction.
Every failed sign-in is audited; after ``MAX_FAILED_SIGN_INS`` failures in a row the account is
locked for ``LOCKOUT``, or until an admin unlocks it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, database_errors, transaction
from alstrial.services.exceptions import AuthenticationFailed, Conflict, NotFound
from alstrial.services.passwords import hash_password, verify_password
from alstrial.services.setup import check_password
from alstrial.store import audit_chain
from alstrial.store.audit_chain import AuditEntry
from alstrial.store.models import Site, User
from alstrial.store.types import utcnow

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
#: Stored for users who must never sign in (the simulator's virtual staff): no Argon2 hash matches it.
UNUSABLE_PASSWORD = "!unusable"
SIGN_IN_FAILED = "sign-in failed: wrong user name or password, or the account is locked or inactive"


@dataclass(frozen=True)
class UserView:
    username: str
    full_name: str
    role: str
    site: str | None
    active: bool
    locked_until: datetime | None = None
    failed_sign_ins: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SiteView:
    code: str
    name: str
    country: str
    active: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def actor_for(session: Session, user: User) -> Actor:
    site_code = session.get(Site, user.site_id).code if user.site_id is not None else None  # type: ignore[union-attr]
    return Actor(user.id, user.username, user.role, user.site_id, site_code)


@lru_cache(maxsize=4)
def _dummy_hash(hasher_id: int) -> str:
    """A hash of a random password made with the current hasher, so verifying against it costs the same."""
    import secrets

    return hash_password(secrets.token_urlsafe(24))


def _hasher_id() -> int:
    from alstrial.services import passwords

    return id(passwords._hasher)


def authenticate(db: CaptureDB, username: str, password: str) -> Actor:
    """Check a user name and password; the error never says which one was wrong (see the module docstring)."""
    with database_errors(), db.read_sessions() as session:
        user = session.execute(select(User).where(User.username == str(username)[:64])).scalar_one_or_none()
        actor = actor_for(session, user) if user is not None else None
    now = utcnow()
    usable = user is not None and not user.password_hash.startswith("!")
    stored = user.password_hash if usable and user is not None else _dummy_hash(_hasher_id())
    verified = verify_password(stored, str(password))  # always exactly one Argon2 verification
    if user is None or actor is None or not usable or not verified or not user.active:
        _record_failed_sign_in(db, str(username), user)
        raise AuthenticationFailed(SIGN_IN_FAILED)
    if user.locked_until is not None and user.locked_until > now:
        _record_failed_sign_in(db, str(username), user, locked=True)
        raise AuthenticationFailed(SIGN_IN_FAILED)
    with database_errors(), db.sessions.begin() as session:
        session.execute(
            update(User).where(User.id == user.id).values(failed_logins=0, locked_until=None, last_login_at=now)
        )
    return actor


def _count_failure(session: Session, user_id: int, *, locked: bool) -> dict[str, tuple[object, object]]:
    """Add one failure to the account's count, locking it at the limit; the changes for the audit entry."""
    row = session.execute(select(User.failed_logins, User.locked_until).where(User.id == user_id)).first()
    if row is None:
        return {}
    failures = row.failed_logins + 1
    values: dict[str, object] = {"failed_logins": failures}
    changes: dict[str, tuple[object, object]] = {"failed_sign_ins": (failures - 1, failures)}
    if failures >= MAX_FAILED_SIGN_INS and not locked:
        until = utcnow() + LOCKOUT
        values["locked_until"] = until
        changes["locked_until"] = (row.locked_until, until)
    session.execute(update(User).where(User.id == user_id).values(**values))
    return changes


def _record_failed_sign_in(db: CaptureDB, username: str, user: User | None, *, locked: bool = False) -> None:
    """Count the failure against a known account (locking it at the limit) and audit it, in one transaction."""
    shown = "".join(ch for ch in username if ch.isprintable())[:64] or "(blank)"
    with database_errors(), db.sessions.begin() as session:
        changes = _count_failure(session, user.id, locked=locked) if user is not None else {}
        entry = AuditEntry("user.sign_in_failed", "user", shown, changes, "account locked" if locked else None, None)
        audit_chain.append(session, username=shown, role="-", entries=[entry])


def record_failed_reentry(db: CaptureDB, actor: Actor, entry: AuditEntry, *, locked: bool) -> None:
    """A wrong password re-entered to sign counts like a failed sign-in (the same limit locks the account),
    so a session left open cannot be used to guess its owner's password; audited with the refusal."""
    with database_errors(), db.sessions.begin() as session:
        changes = {**entry.changes, **_count_failure(session, actor.user_id, locked=locked)}
        counted = AuditEntry(entry.action, entry.entity, entry.entity_id, changes, entry.reason, entry.participant_code)
        audit_chain.append(session, username=actor.username, role=actor.role, entries=[counted])


def unlock_account(db: CaptureDB, actor: Actor, username: str, *, reason: str) -> UserView:
    """Lift a sign-in lockout (admin only) and reset the failure count, with a reason."""
    from alstrial.services.context import require_text

    with transaction(db, actor, policy.Permission.MANAGE_USERS) as tx:
        reason = require_text(reason, "reason")
        user = tx.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user {username!r}")
        changes = {"failed_sign_ins": (user.failed_logins, 0), "locked_until": (user.locked_until, None)}
        user.failed_logins, user.locked_until = 0, None
        tx.audit("user.unlock", "user", user.id, changes, reason=reason)
        return _user_view(tx, user)


def _user_view(tx: Tx, user: User) -> UserView:
    site = tx.session.get(Site, user.site_id).code if user.site_id is not None else None  # type: ignore[union-attr]
    return UserView(user.username, user.full_name, user.role, site, user.active, user.locked_until, user.failed_logins)


def list_users(db: CaptureDB, actor: Actor) -> list[UserView]:
    """Every user with role, site, status and lockout (admin)."""
    with transaction(db, actor, policy.Permission.MANAGE_USERS, write=False) as tx:
        rows = tx.session.execute(
            select(User, Site.code).outerjoin(Site, User.site_id == Site.id).order_by(User.username)
        ).all()
        return [
            UserView(u.username, u.full_name, u.role, code, u.active, u.locked_until, u.failed_logins)
            for u, code in rows
        ]


def list_sites(db: CaptureDB, actor: Actor) -> list[SiteView]:
    """The trial's sites (any signed-in user: site codes are not confidential)."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        return [
            SiteView(s.code, s.name, s.country, s.active) for s in tx.session.scalars(select(Site).order_by(Site.code))
        ]


def add_site(db: CaptureDB, actor: Actor, code: str, name: str, country: str = "US") -> str:
    with transaction(db, actor, policy.Permission.MANAGE_SITES) as tx:
        problems = []
        if not code or not code.replace("-", "").replace("_", "").isalnum():
            problems.append(Problem("code", code, "expected letters, digits, '-' or '_'"))
        if not 2 <= len(country) <= 3:
            problems.append(Problem("country", country, "expected a 2- or 3-letter country code"))
        if problems:
            raise ValidationFailed(problems, context="site")
        if tx.session.execute(select(Site).where(Site.code == code)).scalar_one_or_none() is not None:
            raise Conflict(f"site {code!r} already exists")
        site = Site(code=code, name=name, country=country, active=True)
        tx.session.add(site)
        tx.session.flush()
        tx.audit(
            "site.create", "site", site.id, {"code": (None, code), "name": (None, name), "country": (None, country)}
        )
        return code


def add_user(
    db: CaptureDB,
    actor: Actor,
    *,
    username: str,
    role: str,
    password: str | None,
    full_name: str = "",
    site: str | None = None,
) -> UserView:
    """Create a user; site roles need a site, study-wide roles must not have one.

    ``password=None`` creates an account that can never sign in (the simulator's virtual staff).
    The password is hashed before the transaction opens, so the database is never held during Argon2.
    """
    policy.require(actor, policy.Permission.MANAGE_USERS)
    problems = _user_problems(username=username, role=role, site=site)
    if password is not None:
        try:
            check_password(password, username=username)
        except ValidationFailed as exc:
            problems += exc.problems
    if problems:
        raise ValidationFailed(problems, context="user")
    password_hash = UNUSABLE_PASSWORD if password is None else hash_password(password)
    with transaction(db, actor, policy.Permission.MANAGE_USERS) as tx:
        site_row = tx.site(site) if site else None
        taken = tx.session.execute(select(func.count()).select_from(User).where(User.username == username))
        if taken.scalar_one():
            raise Conflict(f"user {username!r} already exists; choose another user name")
        user = User(
            username=username,
            full_name=full_name or username,
            role=role,
            site_id=site_row.id if site_row else None,
            password_hash=password_hash,
            active=True,
            created_at=utcnow(),
            failed_logins=0,
        )
        tx.session.add(user)
        tx.session.flush()
        tx.audit(
            "user.create", "user", user.id, {"username": (None, username), "role": (None, role), "site": (None, site)}
        )
        return UserView(username, user.full_name, role, site, True)


def _user_problems(*, username: str, role: str, site: str | None) -> list[Problem]:
    problems: list[Problem] = []
    if role not in policy.ROLES:
        problems.append(Problem("role", role, f"expected one of {', '.join(policy.ROLES)}"))
    elif policy.is_site_bound(role) and not site:
        problems.append(Problem("site", site, f"role {role!r} works at one site: give its site code"))
    elif not policy.is_site_bound(role) and site:
        problems.append(Problem("site", site, f"role {role!r} is study-wide: give no site"))
    if (
        not isinstance(username, str)
        or not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").replace("-", "").isalnum()
        or not username.isascii()
    ):
        problems.append(Problem("username", username, "expected 1-64 letters, digits, '.', '_' or '-'"))
    return problems


# ---------------------------------------------------------------- account lifecycle (deactivate, password)
def deactivate_user(db: CaptureDB, actor: Actor, username: str, *, reason: str) -> UserView:
    """Deactivate an account (admin): it can no longer sign in or sign; its records and signatures stay."""
    from alstrial.services.context import require_text
    from alstrial.services.exceptions import InvalidState

    policy.require(actor, policy.Permission.MANAGE_USERS)
    reason = require_text(reason, "reason")
    with transaction(db, actor, policy.Permission.MANAGE_USERS) as tx:
        user = tx.session.execute(select(User).where(User.username == username).with_for_update()).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user {username!r}")
        if user.id == actor.user_id:
            raise InvalidState("you cannot deactivate your own account; ask another admin")
        if not user.active:
            raise InvalidState(f"user {username!r} is already inactive")
        user.active = False
        tx.audit("user.deactivate", "user", user.id, {"active": (True, False)}, reason=reason)
        return _user_view(tx, user)


def set_password(
    db: CaptureDB,
    actor: Actor,
    username: str,
    *,
    new_password: str,
    current_password: str | None = None,
) -> UserView:
    """Change a password: your own with ``current_password`` re-entered, anyone's as an admin (a reset).

    Both hashing and verifying run outside the write transaction; the write re-checks that the
    stored hash did not change meanwhile.
    """
    own = username == actor.username
    permission = policy.Permission.READ if own else policy.Permission.MANAGE_USERS
    policy.require(actor, permission)
    check_password(new_password, username=username)
    with database_errors(), db.read_sessions() as session:
        stored = session.execute(select(User.password_hash).where(User.username == username)).scalar_one_or_none()
    if own:
        if not current_password:
            raise ValidationFailed(
                [Problem("current_password", "(hidden)", "required: re-enter your current password")], context="user"
            )
        if stored is None or not verify_password(stored, current_password):
            raise AuthenticationFailed(f"password not changed: the current password of {username!r} is wrong")
    new_hash = hash_password(new_password)
    with transaction(db, actor, permission, write=True) as tx:
        user = tx.session.execute(select(User).where(User.username == username).with_for_update()).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user {username!r}")
        if user.password_hash != stored:
            raise Conflict(f"the password of {username!r} was changed by someone else meanwhile; nothing was written")
        user.password_hash = new_hash
        tx.audit(
            "user.password_change" if own else "user.password_reset",
            "user",
            user.id,
            {"password": ("(hidden)", "(changed)")},
        )
        return _user_view(tx, user)
