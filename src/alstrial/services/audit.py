"""Audit trail services: verify the hash chain, and read the history (never holds an arm)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, inspect, select

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, database_errors, page_problems, transaction
from alstrial.services.exceptions import NotFound
from alstrial.store.audit_chain import ChainVerification, verify_chain
from alstrial.store.audit_replay import ReplayResult, replay
from alstrial.store.models import AuditRecord, Participant, Trial


def verify_audit_trail(engine: Engine) -> ChainVerification:
    """Check the whole chain. Needs no sign-in: the answer reveals no trial data."""
    with database_errors(), engine.connect() as conn:
        _require_schema(conn)
        return verify_chain(conn)


def _require_schema(conn: Connection) -> None:
    if not inspect(conn).has_table(AuditRecord.__tablename__):
        raise NotFound(f"{conn.engine.url.render_as_string()} holds no alstrial trial database (no audit trail)")


@dataclass(frozen=True)
class DatabaseVerification:
    """The chain, the data replayed against it, and the anchor (a head hash kept outside the database)."""

    chain: ChainVerification
    data: ReplayResult
    expect_head: str | None = None
    anchored: bool | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.data.ok and self.anchored is not False and not self.problems

    def __str__(self) -> str:
        lines = [str(self.chain), str(self.data)]
        if self.expect_head is not None:
            lines.append(
                f"anchor {self.expect_head}: "
                + ("found in the chain" if self.anchored else "NOT in the chain (records up to it were rewritten)")
            )
        lines += [f"PROBLEM: {p}" for p in self.problems]
        lines.append("VERIFIED" if self.ok else "NOT VERIFIED")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "chain": self.chain.to_dict(),
            "data": self.data.to_dict(),
            "expect_head": self.expect_head,
            "anchored": self.anchored,
            "problems": list(self.problems),
        }


def anchor_in_chain(engine: Engine, expect_head: str) -> bool:
    """Whether a head hash kept outside the database is still a record of the chain (the records up to it stand)."""
    with database_errors(), engine.connect() as conn:
        _require_schema(conn)
        return _in_chain(conn, expect_head)


def _in_chain(conn: Connection, expect_head: str) -> bool:
    if len(expect_head) != 64 or any(c not in "0123456789abcdef" for c in expect_head):
        raise ValidationFailed([Problem("expect_head", expect_head, "expected a 64-character lowercase hex hash")])
    return conn.execute(select(AuditRecord.seq).where(AuditRecord.hash == expect_head)).first() is not None


def verify_database(engine: Engine, *, expect_head: str | None = None) -> DatabaseVerification:
    """Check the chain, replay it against every clinical table, and check the anchor when one is given.

    An empty trail in a database that holds a trial is an error, not "intact": set-up itself is audited.
    ``expect_head`` is a record hash printed earlier (at lock, in a report): it must still be in
    the chain, so the records up to it cannot have been rewritten, even with the head.
    """
    problems: list[str] = []
    with database_errors(), engine.connect() as conn:
        _require_schema(conn)
        chain = verify_chain(conn)
        data = replay(conn)
        trials = conn.execute(select(func.count()).select_from(Trial)).scalar_one()
        anchored = None if expect_head is None else _in_chain(conn, expect_head)
    if trials and chain.records == 0:
        problems.append("the database holds a trial but its audit trail is empty")
    return DatabaseVerification(chain, data, expect_head, anchored, tuple(problems))


@dataclass(frozen=True)
class AuditLine:
    seq: int
    at: datetime
    username: str
    role: str
    action: str
    entity: str
    entity_id: str
    participant: str | None
    changes: dict[str, object]
    reason: str | None

    def __str__(self) -> str:
        ch = ", ".join(f"{k}: {v['old']!r} → {v['new']!r}" for k, v in self.changes.items())  # type: ignore[index]
        why = f" — reason: {self.reason}" if self.reason else ""
        return (
            f"#{self.seq} {self.at:%Y-%m-%dT%H:%M:%SZ} {self.username} ({self.role}) {self.action} "
            f"{self.entity}/{self.entity_id}{' [' + self.participant + ']' if self.participant else ''}"
            f"{': ' + ch if ch else ''}{why}"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def audit_log(
    db: CaptureDB,
    actor: Actor,
    *,
    participant: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: object = None,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[AuditLine]:
    """The audit trail in order, filtered (participant, action prefix, entity and id, user, time) and paged.

    ``action`` matches a prefix: ``"alsfrs"`` finds every ALSFRS-R record, correction and all.
    """
    if problems := page_problems(offset, limit):
        raise ValidationFailed(problems, context="audit log")
    with transaction(db, actor, policy.Permission.READ_AUDIT) as tx:
        stmt = select(AuditRecord).order_by(AuditRecord.seq)
        if participant is not None:
            tx.participant(participant)
            stmt = stmt.where(AuditRecord.participant_code == participant)
        elif policy.is_site_bound(actor.role):  # site staff: their own site's participants only
            codes = tx.session.scalars(select(Participant.code).where(Participant.site_id == actor.site_id))
            stmt = stmt.where(AuditRecord.participant_code.in_(list(codes)))
        if action is not None:
            stmt = stmt.where(AuditRecord.action.startswith(action, autoescape=True))
        if entity is not None:
            stmt = stmt.where(AuditRecord.entity == entity)
        if entity_id is not None:
            stmt = stmt.where(AuditRecord.entity_id == str(entity_id))
        if username is not None:
            stmt = stmt.where(AuditRecord.username == username)
        if since is not None:
            stmt = stmt.where(AuditRecord.at >= since)
        if until is not None:
            stmt = stmt.where(AuditRecord.at < until)
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            AuditLine(
                r.seq,
                r.at,
                r.username,
                r.role,
                r.action,
                r.entity,
                r.entity_id,
                r.participant_code,
                json.loads(r.changes),
                r.reason,
            )
            for r in tx.session.scalars(stmt)
        ]
