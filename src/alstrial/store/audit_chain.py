"""Append to and verify the hash-chained audit trail.

Each record's hash is SHA-256 over the canonical JSON of its content plus the previous
record's hash, so editing, deleting or reordering any record breaks the chain at that point.
Appends are serialised: the single ``audit_head`` row is read ``FOR UPDATE`` on PostgreSQL,
and on SQLite every write transaction already holds the database lock (``BEGIN IMMEDIATE``).

**Keyed chain.** Anyone with write access can recompute a SHA-256 chain after an edit. With a
key held outside the database (``ALSTRIAL_AUDIT_KEY``, or a file named by
``ALSTRIAL_AUDIT_KEY_FILE``; at least 32 characters), every hash is an HMAC-SHA256 under that key
and the first record links to a key-derived genesis instead of zeros, so rewriting the chain
needs the key. A chain's mode is fixed by its first record: writing to a keyed chain without its
key (or with another key), or to an unkeyed chain with a key, is refused; verifying a keyed chain
needs the key, and with a key set an unkeyed chain fails verification (it may be a rewrite).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.orm import Session

from alstrial.errors import AlstrialError
from alstrial.store.models.audit import AuditHead, AuditRecord
from alstrial.store.types import utcnow

GENESIS_HASH = "0" * 64
_HEAD_ID = 1
KEY_ENV = "ALSTRIAL_AUDIT_KEY"
KEY_FILE_ENV = "ALSTRIAL_AUDIT_KEY_FILE"
MIN_KEY_LENGTH = 32


class AuditKeyError(AlstrialError):
    """The audit key is unusable, or does not fit the chain in the database (a configuration error)."""


def audit_key() -> bytes | None:
    """The audit-chain key from the environment, or ``None`` for an unkeyed (plain SHA-256) chain."""
    text, source = os.environ.get(KEY_ENV), KEY_ENV
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        if text:
            raise AuditKeyError(f"set {KEY_ENV} or {KEY_FILE_ENV}, not both")
        try:
            text, source = Path(path).read_text(encoding="utf-8").strip(), f"{KEY_FILE_ENV} ({path})"
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"cannot read the audit key file {path!r}: {exc}") from None
    if not text:
        return None
    if len(text) < MIN_KEY_LENGTH:
        raise AuditKeyError(f"the audit key in {source} has {len(text)} characters; use at least {MIN_KEY_LENGTH}")
    return text.encode("utf-8")


def keyed_genesis(key: bytes) -> str:
    """What the first record of a keyed chain links to (instead of zeros): names the key, reveals nothing."""
    return hmac.new(key, b"alstrial audit chain genesis", hashlib.sha256).hexdigest()


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"value {value!r} of type {type(value).__name__} cannot be written to the audit trail")


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: the same bytes on every run and backend."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


@dataclass(frozen=True)
class AuditEntry:
    """What a service wants recorded; who/when/sequence are added when it is appended."""

    action: str
    entity: str
    entity_id: object
    changes: Mapping[str, tuple[object, object]] = field(default_factory=dict)
    reason: str | None = None
    participant_code: str | None = None


def record_hash(
    *,
    seq: int,
    at: datetime,
    username: str,
    role: str,
    action: str,
    entity: str,
    entity_id: str,
    participant_code: str | None,
    changes: str,
    reason: str | None,
    prev_hash: str,
    key: bytes | None = None,
) -> str:
    """The SHA-256 (HMAC-SHA256 under ``key``) of one record's content and the previous hash (hex)."""
    payload = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(),
            "username": username,
            "role": role,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "participant_code": participant_code,
            "changes": changes,
            "reason": reason,
            "prev_hash": prev_hash,
        }
    )
    if key is not None:
        return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def changes_json(changes: Mapping[str, tuple[object, object]]) -> str:
    """Field-level changes as canonical JSON ``{field: {"old": ..., "new": ...}}``."""
    return canonical_json({k: {"old": old, "new": new} for k, (old, new) in changes.items()})


def append(session: Session, *, username: str, role: str, entries: Iterable[AuditEntry]) -> int:
    """Append entries to the chain inside the caller's transaction (serialised on the head row).

    Returns the sequence number of the last record. Core statements, not ORM objects: the trail
    is written once and never read back in the same transaction, and this runs on every call.
    """
    entries = list(entries)
    if not entries:
        return 0
    # the query autoflushes the service's own changes first, so they precede their audit records
    head = session.execute(_HEAD_FOR_UPDATE).first()
    key = audit_key()
    if head is None:
        session.execute(insert(_HEAD_TABLE).values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
        seq, prev = 0, GENESIS_HASH
    else:
        seq, prev = head
    if seq == 0:
        prev = GENESIS_HASH if key is None else keyed_genesis(key)
    else:
        _require_same_mode(session.execute(_FIRST_LINK).scalar_one_or_none(), key)
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "username": username,
            "role": role,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": str(entry.entity_id),
            "participant_code": entry.participant_code,
            "changes": changes_json(entry.changes),
            "reason": entry.reason,
            "prev_hash": prev,
        }
        prev = row["hash"] = record_hash(**row, key=key)
        rows.append(row)
    session.execute(insert(_RECORD_TABLE), rows)
    session.execute(update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == _HEAD_ID).values(seq=seq, hash=prev))
    return seq


_RECORD_TABLE = cast(Table, AuditRecord.__table__)
_HEAD_TABLE = cast(Table, AuditHead.__table__)
_HEAD_FOR_UPDATE = select(_HEAD_TABLE.c.seq, _HEAD_TABLE.c.hash).where(_HEAD_TABLE.c.id == _HEAD_ID).with_for_update()
_FIRST_LINK = select(_RECORD_TABLE.c.prev_hash).where(_RECORD_TABLE.c.seq == 1)


def _mode_problem(first_link: str | None, key: bytes | None) -> str | None:
    """Why records under ``key`` (or none) cannot extend a chain whose first record links to ``first_link``."""
    if first_link is None or (first_link == GENESIS_HASH and key is None):
        return None
    if first_link == GENESIS_HASH:
        return f"the audit trail is not keyed but an audit key is set ({KEY_ENV}/{KEY_FILE_ENV})"
    if key is None:
        return f"the audit trail is keyed (HMAC): set its key in {KEY_ENV} or {KEY_FILE_ENV}"
    if first_link != keyed_genesis(key):
        return "the audit trail is keyed with another key than the one set"
    return None


def _require_same_mode(first_link: str | None, key: bytes | None) -> None:
    problem = _mode_problem(first_link, key)
    if problem is not None:
        raise AuditKeyError(problem + "; nothing was written")


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of checking the whole audit chain; ``bad_seq`` names the first broken record."""

    records: int
    ok: bool
    bad_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH
    keyed: bool = False

    def __str__(self) -> str:
        if self.ok:
            keyed = " (HMAC-keyed)" if self.keyed else ""
            return f"audit trail intact{keyed}: {self.records} record(s), head {self.head_hash}"
        return f"audit trail BROKEN at record {self.bad_seq}: {self.problem} ({self.records} record(s) read)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "ok": self.ok,
            "bad_seq": self.bad_seq,
            "problem": self.problem,
            "head_hash": self.head_hash,
            "keyed": self.keyed,
        }


def verify_chain(conn: Connection | Session, key: bytes | None = None) -> ChainVerification:
    """Recompute every hash in sequence order and check the links and the head.

    ``key`` defaults to the environment's audit key (:func:`audit_key`).
    """
    key = key if key is not None else audit_key()
    rows = conn.execute(select(AuditRecord.__table__).order_by(AuditRecord.seq)).mappings().all()
    prev = GENESIS_HASH if key is None else keyed_genesis(key)
    if rows and rows[0]["seq"] == 1:
        problem = _mode_problem(rows[0]["prev_hash"], key)
        if problem is not None:
            return ChainVerification(len(rows), False, 1, problem)
    expected_seq = 1
    count = 0
    for row in rows:
        count += 1
        seq = row["seq"]
        if seq != expected_seq:
            return ChainVerification(count, False, seq, f"sequence gap: expected record {expected_seq}, found {seq}")
        if row["prev_hash"] != prev:
            return ChainVerification(
                count, False, seq, "previous-hash link broken (a record before it was removed, reordered or altered)"
            )
        digest = record_hash(
            seq=seq,
            at=row["at"],
            username=row["username"],
            role=row["role"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            participant_code=row["participant_code"],
            changes=row["changes"],
            reason=row["reason"],
            prev_hash=row["prev_hash"],
            key=key,
        )
        if digest != row["hash"]:
            return ChainVerification(count, False, seq, "content does not match its hash (the record was altered)")
        prev = digest
        expected_seq += 1
    if count == 0:
        prev = GENESIS_HASH  # the head of an empty trail, keyed or not
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == _HEAD_ID)).first()
    head_seq, head_hash = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
    if head_seq != expected_seq - 1 or head_hash != prev:
        return ChainVerification(
            count,
            False,
            expected_seq - 1 if count else None,
            f"chain ends at record {expected_seq - 1} but the head names record {head_seq} "
            "(the newest records were removed or the head was altered)",
        )
    return ChainVerification(count, True, head_hash=prev, keyed=key is not None and count > 0)
