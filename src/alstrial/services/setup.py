"""Trial set-up from a protocol: stores the TOML and its hash, sites, schedule, strata, the concealed
allocation list (permuted blocks; minimization allocates at randomization from the stored seed),
and the first admin user. Runs once per database."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from sqlalchemy import func, insert, select

from alstrial.domain.randomization.blocks import generate_block_list
from alstrial.domain.randomization.strata import all_strata, parse_stratum_key
from alstrial.errors import Problem, ValidationFailed
from alstrial.protocol import Protocol, parse_protocol
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, sha256_text
from alstrial.services.exceptions import InvalidState
from alstrial.services.passwords import hash_password, password_problems
from alstrial.store import audit_chain
from alstrial.store.audit_chain import AuditEntry
from alstrial.store.models import AllocationSlot, ScheduledVisit, Site, Stratum, Trial, User
from alstrial.store.types import utcnow


@dataclass(frozen=True)
class TrialSetup:
    trial_code: str
    protocol_sha256: str
    sites: int
    visits: int
    strata: int
    allocation_entries: int
    admin: str
    method: str = "permuted_block"

    def __str__(self) -> str:
        allocation = (
            f"{self.allocation_entries} concealed allocations"
            if self.method == "permuted_block"
            else "allocation by Pocock–Simon minimization (seeded, concealed)"
        )
        return (
            f"trial {self.trial_code} set up: {self.sites} sites, {self.visits} visits, {self.strata} strata, "
            f"{allocation}; protocol sha256 {self.protocol_sha256[:12]}…; admin user {self.admin!r}"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


#: Bits of the default allocation secret: beyond any search, whatever a blinded user can see.
ALLOCATION_SECRET_BITS = 128


def check_password(password: str, *, username: str | None = None) -> str:
    """The password itself, or :class:`ValidationFailed` saying why the policy refuses it (never showing it)."""
    if problems := password_problems(password, username=username):
        raise ValidationFailed([Problem("password", "(hidden)", p) for p in problems])
    return password


def setup_trial(
    db: CaptureDB,
    protocol_text: str,
    *,
    seed: int | None = None,
    admin_username: str,
    admin_password: str,
    admin_full_name: str = "Administrator",
) -> TrialSetup:
    """Create the trial from protocol text. Bootstraps the first admin, so it takes no actor.

    ``seed`` is the secret the concealed list derives from. By default it is 128 random bits that
    no service ever reads out, so nobody can regenerate the list from what blinded users see (kit
    codes, strata, order). Give a seed only for reproducible test or demonstration databases.
    """
    if seed is None:
        seed = secrets.randbits(ALLOCATION_SECRET_BITS)
    protocol = parse_protocol(protocol_text, source="protocol")
    check_password(admin_password, username=admin_username)
    minimization = protocol.randomization.method == "minimization"
    if minimization:
        _check_minimization(protocol, seed)
    digest = sha256_text(protocol_text)
    with db.sessions.begin() as session:
        if session.execute(select(func.count()).select_from(Trial)).scalar_one():
            raise InvalidState("this database already holds a trial; set-up runs once")
        now = utcnow()
        session.add(
            Trial(
                code=protocol.id,
                title=protocol.title,
                protocol_toml=protocol_text,
                protocol_sha256=digest,
                randomization_seed=str(seed),
                created_at=now,
                locked=False,
            )
        )
        for s in protocol.sites:
            session.add(Site(code=s.code, name=s.name, country=s.country, active=True))
        for i, v in enumerate(protocol.visits):
            session.add(
                ScheduledVisit(
                    code=v.code,
                    name=v.name,
                    position=i,
                    day=v.day,
                    window_before=v.window_before,
                    window_after=v.window_after,
                    phase=v.phase,
                )
            )
        admin = User(
            username=admin_username,
            full_name=admin_full_name,
            role="admin",
            site_id=None,
            password_hash=hash_password(admin_password),
            active=True,
            created_at=now,
        )
        session.add(admin)
        if minimization:
            strata, n_entries = _store_strata(session, protocol), 0
        else:
            strata, n_entries, list_digest = _store_allocation_list(session, protocol, seed)
        session.flush()
        entries = [
            AuditEntry(
                "trial.setup",
                "trial",
                protocol.id,
                {"protocol_sha256": (None, digest), "title": (None, protocol.title), "seed_recorded": (None, True)},
            ),
            AuditEntry("user.create", "user", admin.id, {"username": (None, admin_username), "role": (None, "admin")}),
        ]
        if minimization:
            entries.append(
                AuditEntry(
                    "randomization.minimization",
                    "trial",
                    protocol.id,
                    {
                        "factors": (None, protocol.strata_levels()),
                        "arms": (None, [(a.code, a.ratio) for a in protocol.arms]),
                        "p": (None, protocol.randomization.minimization_probability),
                        "measure": (None, "range"),
                        "seed_recorded": (None, True),
                    },
                )
            )
        else:
            entries.append(
                AuditEntry(
                    "allocation_list.generate",
                    "allocation_slot",
                    "all",
                    {"strata": (None, strata), "entries": (None, n_entries), "list_sha256": (None, list_digest)},
                )
            )
        audit_chain.append(session, username=admin_username, role="admin", entries=entries)
    return TrialSetup(
        protocol.id,
        digest,
        len(protocol.sites),
        len(protocol.visits),
        strata,
        n_entries,
        admin_username,
        protocol.randomization.method,
    )


def _check_minimization(protocol: Protocol, seed: int) -> None:
    """Refuse a minimization design the minimizer would reject, before anything is written."""
    from alstrial.domain.randomization.errors import InvalidRandomizationSpec
    from alstrial.domain.randomization.minimization import Minimizer

    try:
        Minimizer(
            [(a.code, a.ratio) for a in protocol.arms],
            protocol.strata_levels(),
            p=protocol.randomization.minimization_probability,
            seed=seed,
        )
    except InvalidRandomizationSpec as exc:
        raise ValidationFailed([Problem("randomization", "minimization", str(exc))], context="protocol") from None


def _store_strata(session: object, protocol: Protocol) -> int:
    """The strata (factor level combinations) for reference; minimization draws no list in advance."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    factors = protocol.strata_levels()
    keys = all_strata(factors)
    session.execute(
        insert(Stratum),
        [{"key": k, "levels_json": json.dumps(parse_stratum_key(k, factors), sort_keys=True)} for k in keys],
    )
    return len(keys)


def _store_allocation_list(session: object, protocol: Protocol, seed: int) -> tuple[int, int, str]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    factors = protocol.strata_levels()
    keys = all_strata(factors)
    alloc = generate_block_list(
        [(a.code, a.ratio) for a in protocol.arms],
        keys,
        per_stratum=protocol.randomization.per_stratum,
        seed=seed,
        block_multiples=protocol.randomization.block_multiples,
    )
    session.execute(
        insert(Stratum),
        [{"key": k, "levels_json": json.dumps(parse_stratum_key(k, factors), sort_keys=True)} for k in keys],
    )
    rows = [
        {
            "stratum_key": e.stratum,
            "sequence": e.sequence,
            "block": e.block,
            "block_size": e.block_size,
            "arm": e.arm,
            "kit_code": e.kit_code,
        }
        for e in alloc.entries
    ]
    session.execute(insert(AllocationSlot), rows)
    digest = sha256_text(audit_chain.canonical_json(rows))
    return len(keys), len(rows), digest


def bootstrap_actor(db: CaptureDB, username: str) -> Actor:
    """The Actor of an existing user without a password (tests and trusted local tools only)."""
    from alstrial.services.users import actor_for

    with db.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return actor_for(session, user)
