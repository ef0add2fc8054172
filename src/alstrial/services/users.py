"""Sites, users and sign-in."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import AuthenticationFailed, InvalidState
from alstrial.services.passwords import hash_password, verify_password
from alstrial.services.setup import check_password
from alstrial.store.models import Site, User
from alstrial.store.types import utcnow


@dataclass(frozen=True)
class UserView:
    username: str
    full_name: str
    role: str
    site: str | None
    active: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def actor_for(session: Session, user: User) -> Actor:
    site_code = session.get(Site, user.site_id).code if user.site_id is not None else None  # type: ignore[union-attr]
    return Actor(user.id, user.username, user.role, user.site_id, site_code)


def authenticate(db: CaptureDB, username: str, password: str) -> Actor:
    """Check a user name and password; the error never says which one was wrong."""
    with db.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active or not verify_password(user.password_hash, password):
            raise AuthenticationFailed(f"sign-in failed for user {username!r}: wrong user name or password")
        return actor_for(session, user)


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
            raise InvalidState(f"site {code!r} already exists")
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
    password: str,
    full_name: str = "",
    site: str | None = None,
) -> UserView:
    """Create a user; site roles need a site, study-wide roles must not have one."""
    with transaction(db, actor, policy.Permission.MANAGE_USERS) as tx:
        return _add_user(tx, username=username, role=role, password=password, full_name=full_name, site=site)


def _add_user(tx: Tx, *, username: str, role: str, password: str, full_name: str, site: str | None) -> UserView:
    problems: list[Problem] = []
    if role not in policy.ROLES:
        problems.append(Problem("role", role, f"expected one of {', '.join(policy.ROLES)}"))
    elif policy.is_site_bound(role) and not site:
        problems.append(Problem("site", site, f"role {role!r} works at one site: give its site code"))
    elif not policy.is_site_bound(role) and site:
        problems.append(Problem("site", site, f"role {role!r} is study-wide: give no site"))
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        problems.append(Problem("username", username, "expected 1-64 letters, digits, '.', '_' or '-'"))
    try:
        check_password(password)
    except ValidationFailed as exc:
        problems += exc.problems
    if problems:
        raise ValidationFailed(problems, context="user")
    site_row = tx.site(site) if site else None
    if tx.session.execute(select(User).where(User.username == username)).scalar_one_or_none() is not None:
        raise InvalidState(f"user {username!r} already exists")
    user = User(
        username=username,
        full_name=full_name or username,
        role=role,
        site_id=site_row.id if site_row else None,
        password_hash=hash_password(password),
        active=True,
        created_at=utcnow(),
    )
    tx.session.add(user)
    tx.session.flush()
    tx.audit("user.create", "user", user.id, {"username": (None, username), "role": (None, role), "site": (None, site)})
    return UserView(username, user.full_name, role, site, True)
