"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200): casebook sign-off and signed lifecycle steps.

Signing re-enters the password. It is verified *outside* any database transaction (Argon2 takes
a noticeable fraction of a second and must not hold the database), then the signing service
opens its one write transaction and stores the signature manifestation: the signer's user name,
printed name and role, the UTC date and time, the meaning (authorship, review, approval,
responsibility) and the SHA-256 of the canonical JSON of exactly what was signed.

What is signed, per kind (see :func:`current_content`):

* ``casebook`` — every clinical row of one participant (participant record, eligibility
  outcomes, visits with their ALSFRS-R, vital capacity and weight, CSF samples with their
  results, bone-marrow aspirations, doses with their lot numbers, adverse events, intercurrent
  events, treatment discontinuation, study withdrawal), or of one visit (the visit with its
  assessments, the CSF samples taken and the doses given at it). Every column of every row,
  row ids included; never the arm.
* ``database_lock`` — the lock event (time, user, reason, override reason), the trial code and
  protocol hash, and the casebook SHA-256 of every participant at the moment of the lock.
* ``database_unlock`` — the unlock event, the trial code and protocol hash.
* ``unblind_trial`` / ``emergency_unblind`` — the unblinding event (kind, participant, time,
  user, reason), the trial code and protocol hash; never the arm.

A signature is *valid* while its manifestation still hashes to ``manifest_sha256``, that hash is
the one the hash-chained audit trail recorded at signing (so rewriting a signature row together
with its hashes is caught too), its stored content still hashes to ``content_sha256`` and the
content rebuilt from the current records is the same; otherwise it is *broken* and the reads say
what changed. A wrong password is refused
with :class:`AuthenticationFailed`; the refusal is audited in a transaction of its own and
nothing else is written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, database_errors, sha256_text, transaction
from alstrial.services.exceptions import AuthenticationFailed, NotFound
from alstrial.services.idempotency import idempotent, remember
from alstrial.services.passwords import hash_password, verify_password
from alstrial.store.audit_chain import AuditEntry, canonical_json
from alstrial.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    BoneMarrowAspiration,
    CsfSample,
    EligibilityOutcome,
    IntercurrentEvent,
    LabResult,
    LockEvent,
    Participant,
    ProductLot,
    Signature,
    Site,
    StudyWithdrawal,
    TreatmentDiscontinuation,
    Trial,
    UnblindingEvent,
    User,
    VisitRecord,
    VitalCapacity,
    WeightMeasurement,
)
from alstrial.store.types import utcnow

#: The meanings a signer can give (21 CFR 11.50(a)(3)).
MEANINGS = ("authorship", "review", "approval", "responsibility")
KINDS = ("casebook", "database_lock", "database_unlock", "unblind_trial", "emergency_unblind")

__all__ = [
    "KINDS",
    "MEANINGS",
    "CasebookStatus",
    "SignatureView",
    "list_signatures",
    "sign_casebook",
    "signature_status",
]


# ---------------------------------------------------------------- the signer
@dataclass(frozen=True)
class SignerCheck:
    """A password re-entry that succeeded, outside the transaction; re-checked inside it."""

    user_id: int
    password_hash: str
    meaning: str


def check_meaning(meaning: str) -> str:
    if meaning not in MEANINGS:
        raise ValidationFailed(
            [Problem("meaning", meaning, f"expected one of {', '.join(MEANINGS)}")], context="signature"
        )
    return meaning


_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against when the user has none, so a refusal costs the same work."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("alstrial-no-such-user")
    return _dummy_hash


def verify_signer(
    db: CaptureDB,
    actor: Actor,
    permission: policy.Permission,
    *,
    password: str | None,
    meaning: str,
    target: str,
) -> SignerCheck:
    """Check the role, the meaning and the re-entered password, before any write transaction.

    A wrong password (or a locked or inactive account) is audited (``signature.refused``) in its
    own transaction and raises :class:`AuthenticationFailed`; nothing else is written except the
    account's failure count: failed re-entries count towards the sign-in lockout.
    """
    from alstrial.services.users import record_failed_reentry

    policy.require(actor, permission)
    meaning = check_meaning(meaning)
    if not password:
        raise ValidationFailed(
            [Problem("password", "(hidden)", "required: re-enter your password to sign")], context="signature"
        )
    with database_errors(), db.read_sessions() as session:
        row = session.execute(
            select(User.password_hash, User.locked_until).where(User.id == actor.user_id, User.active.is_(True))
        ).first()
    stored = row.password_hash if row is not None else None
    matches = verify_password(stored or _dummy(), password)
    locked = row is not None and row.locked_until is not None and row.locked_until > utcnow()
    if stored is None or not matches or locked:
        entry = AuditEntry(
            "signature.refused",
            "user",
            actor.user_id,
            {"target": (None, target), "meaning": (None, meaning)},
            "account locked" if locked else "password re-entry failed",
        )
        record_failed_reentry(db, actor, entry, locked=locked)
        raise AuthenticationFailed(
            f"signature refused: the password re-entered for {actor.username!r} is wrong, or the account is "
            "locked or inactive; nothing was signed"
        )
    assert stored is not None
    return SignerCheck(actor.user_id, stored, meaning)


def sign(
    tx: Tx,
    check: SignerCheck,
    *,
    kind: str,
    target: str,
    content: Mapping[str, object],
    participant: Participant | None = None,
    visit: str | None = None,
) -> SignatureView:
    """Store the signature manifestation of ``content`` inside the caller's transaction, and audit it."""
    user = tx.session.get(User, check.user_id)
    if user is None or user.password_hash != check.password_hash:
        raise AuthenticationFailed("signature refused: the password changed while signing; sign again")
    now = utcnow()
    content_json = canonical_json(content)
    content_sha = sha256_text(content_json)
    row = Signature(
        kind=kind,
        target=target,
        participant_id=participant.id if participant is not None else None,
        visit_code=visit,
        meaning=check.meaning,
        user_id=user.id,
        username=user.username,
        printed_name=user.full_name,
        role=user.role,
        signed_at=now,
        content_json=content_json,
        content_sha256=content_sha,
        manifest_sha256="",
    )
    row.manifest_sha256 = manifest_sha256(row)
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "signature.sign",
        "signature",
        row.id,
        {
            "kind": (None, kind),
            "target": (None, target),
            "meaning": (None, check.meaning),
            "printed_name": (None, user.full_name),
            "signed_at": (None, now),
            "content_sha256": (None, content_sha),
            "manifest_sha256": (None, row.manifest_sha256),
        },
        participant=participant,
    )
    code = participant.code if participant is not None else None
    return _view(row, code, [])


def manifest_sha256(row: Signature) -> str:
    """SHA-256 of the signature manifestation: who, printed name, role, when, meaning, what and its hash."""
    return sha256_text(
        canonical_json(
            {
                "kind": row.kind,
                "target": row.target,
                "visit": row.visit_code,
                "meaning": row.meaning,
                "user_id": row.user_id,
                "username": row.username,
                "printed_name": row.printed_name,
                "role": row.role,
                "signed_at": row.signed_at,
                "content_sha256": row.content_sha256,
            }
        )
    )


# ---------------------------------------------------------------- what is signed
def _columns(row: Any, skip: Iterable[str] = ()) -> dict[str, object]:
    """Every column of an ORM row by name (the row as stored), minus ``skip``."""
    skipped = set(skip)
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skipped}


def casebooks(
    session: Session, participant_ids: Sequence[int] | None = None, *, visit: str | None = None
) -> dict[int, dict[str, object]]:
    """The casebook content of each participant (all when ``participant_ids`` is None), in a fixed
    number of queries; with ``visit``, only that visit's part (participants without it are left out)."""

    def only(stmt: Any, column: Any) -> Any:
        return stmt if participant_ids is None else stmt.where(column.in_(list(participant_ids)))

    people = session.execute(
        only(select(Participant, Site.code).join(Site, Participant.site_id == Site.id), Participant.id)
    ).all()
    books: dict[int, dict[str, object]] = {}
    for p, site_code in people:
        head = _columns(p) | {"site": site_code}
        books[p.id] = {"participant": head} if visit is None else {"participant": {"code": p.code, "site": site_code}}
    if not books:
        return {}
    ids = list(books)

    def rows_by_participant(stmt: Any, column: Any) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(stmt.where(column.in_(ids))).all():
            grouped[row[-1]].append(row[0] if len(row) == 2 else row[:-1])
        return grouped

    visit_stmt = select(VisitRecord, VisitRecord.participant_id)
    if visit is not None:
        visit_stmt = visit_stmt.where(VisitRecord.visit_code == visit)
    visits = rows_by_participant(visit_stmt.order_by(VisitRecord.id), VisitRecord.participant_id)
    visit_ids = [v.id for rows in visits.values() for v in rows]
    assessments: dict[str, dict[int, dict[str, object]]] = {}
    per_visit: tuple[tuple[str, Any], ...] = (
        ("alsfrs", AlsfrsAssessment),
        ("vital_capacity", VitalCapacity),
        ("weight", WeightMeasurement),
    )
    for name, model in per_visit:
        found: Iterable[Any] = (
            session.scalars(select(model).where(model.visit_record_id.in_(visit_ids))) if visit_ids else []
        )
        assessments[name] = {r.visit_record_id: _columns(r) for r in found}

    sample_stmt = select(CsfSample, CsfSample.participant_id)
    dose_stmt = select(Administration, ProductLot.lot_number, Administration.participant_id).join(
        ProductLot, Administration.lot_id == ProductLot.id
    )
    if visit is not None:
        sample_stmt = sample_stmt.where(CsfSample.visit_code == visit)
        dose_stmt = dose_stmt.where(Administration.visit_code == visit)
    samples = rows_by_participant(sample_stmt.order_by(CsfSample.id), CsfSample.participant_id)
    sample_ids = [s.id for rows in samples.values() for s in rows]
    results: dict[int, list[dict[str, object]]] = defaultdict(list)
    if sample_ids:
        for r in session.scalars(select(LabResult).where(LabResult.sample_pk.in_(sample_ids)).order_by(LabResult.id)):
            results[r.sample_pk].append(_columns(r))
    doses = rows_by_participant(dose_stmt.order_by(Administration.id), Administration.participant_id)

    for pid, book in books.items():
        book["visits"] = [
            _columns(v) | {name: assessments[name].get(v.id) for name in assessments} for v in visits.get(pid, [])
        ]
        book["csf_samples"] = [_columns(s) | {"results": results.get(s.id, [])} for s in samples.get(pid, [])]
        book["doses"] = [_columns(d) | {"lot_number": lot} for d, lot in doses.get(pid, [])]

    if visit is not None:
        return {pid: b for pid, b in books.items() if b["visits"]}

    lists: dict[str, Any] = {
        "eligibility": EligibilityOutcome,
        "aspirations": BoneMarrowAspiration,
        "adverse_events": AdverseEvent,
        "intercurrent_events": IntercurrentEvent,
    }
    for name, listed in lists.items():
        grouped = rows_by_participant(
            select(listed, listed.participant_id).order_by(listed.id),
            listed.participant_id,
        )
        for pid, book in books.items():
            book[name] = [_columns(r) for r in grouped.get(pid, [])]
    singles: tuple[tuple[str, Any], ...] = (
        ("discontinuation", TreatmentDiscontinuation),
        ("withdrawal", StudyWithdrawal),
    )
    for name, single in singles:
        one = {
            r.participant_id: _columns(r) for r in session.scalars(select(single).where(single.participant_id.in_(ids)))
        }
        for pid, book in books.items():
            book[name] = one.get(pid)
    return books


def casebook_target(code: str, visit: str | None = None) -> str:
    return f"participant/{code}" + (f"/visit/{visit}" if visit else "")


def casebook_digests(session: Session) -> dict[str, str]:
    """The SHA-256 of every participant's current casebook, by participant code."""
    return {
        str(book["participant"]["code"]): sha256_text(canonical_json(book))  # type: ignore[index]
        for book in casebooks(session).values()
    }


def _trial_head(session: Session) -> dict[str, object]:
    trial = session.execute(select(Trial.code, Trial.protocol_sha256)).one()
    return {"trial": trial.code, "protocol_sha256": trial.protocol_sha256}


def lock_content(session: Session, event: LockEvent, *, digests: Mapping[str, str] | None = None) -> dict[str, object]:
    """What a lock or unlock signature covers (see the module docstring)."""
    username = session.execute(select(User.username).where(User.id == event.user_id)).scalar_one()
    content: dict[str, object] = {
        "kind": "database_lock" if event.action == "lock" else "database_unlock",
        **_trial_head(session),
        "event": _columns(event, skip=("user_id",)) | {"by": username},
    }
    if event.action == "lock":
        content["casebooks"] = dict(digests if digests is not None else casebook_digests(session))
    return content


def unblinding_content(session: Session, event: UnblindingEvent) -> dict[str, object]:
    """What a full or emergency unblinding signature covers: the event, never the arm."""
    username = session.execute(select(User.username).where(User.id == event.user_id)).scalar_one()
    code = (
        session.execute(select(Participant.code).where(Participant.id == event.participant_id)).scalar_one()
        if event.participant_id is not None
        else None
    )
    return {
        "kind": "unblind_trial" if event.kind == "full" else "emergency_unblind",
        **_trial_head(session),
        "event": _columns(event, skip=("user_id", "participant_id")) | {"by": username, "participant": code},
    }


class _Contents:
    """Rebuilds the current content of signed records, sharing work across many signatures."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._books: dict[tuple[int, str | None], dict[str, object] | None] = {}
        self._digests: dict[str, str] | None = None
        self._audited: dict[int, str] = {}

    def audited(self, row: Signature) -> str | None:
        """The manifest hash the audit trail recorded when the signature was made."""
        if row.id not in self._audited:
            self._audited.update(audited_manifests(self.session, [row.id]))
        return self._audited.get(row.id)

    def prefetch(self, rows: Iterable[Signature]) -> None:
        rows = list(rows)
        self._audited.update(audited_manifests(self.session, [r.id for r in rows]))
        wanted: dict[str | None, set[int]] = defaultdict(set)
        for r in rows:
            if r.kind == "casebook" and r.participant_id is not None:
                wanted[r.visit_code].add(r.participant_id)
        for visit, ids in wanted.items():
            found = casebooks(self.session, sorted(ids), visit=visit)
            for pid in ids:
                self._books[(pid, visit)] = found.get(pid)

    def digests(self) -> dict[str, str]:
        if self._digests is None:
            self._digests = casebook_digests(self.session)
        return self._digests

    def of(self, row: Signature) -> dict[str, object] | None:
        """The content the signature would cover now; None when the record is gone."""
        kind, _, ident = row.target.rpartition("/")
        if row.kind == "casebook":
            assert row.participant_id is not None
            key = (row.participant_id, row.visit_code)
            if key not in self._books:
                self._books[key] = casebooks(self.session, [row.participant_id], visit=row.visit_code).get(
                    row.participant_id
                )
            return self._books[key]
        if kind == "lock_event":
            lock = self.session.get(LockEvent, int(ident))
            return None if lock is None else lock_content(self.session, lock, digests=self.digests())
        event = self.session.get(UnblindingEvent, int(ident))
        return None if event is None else unblinding_content(self.session, event)


def audited_manifests(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Signature id → the manifest hash written to the hash-chained audit trail when it was signed."""
    if not ids:
        return {}
    from alstrial.store.models import AuditRecord

    found = session.execute(
        select(AuditRecord.entity_id, AuditRecord.changes).where(
            AuditRecord.action == "signature.sign",
            AuditRecord.entity == "signature",
            AuditRecord.entity_id.in_([str(i) for i in ids]),
        )
    )
    return {int(entity_id): json.loads(changes)["manifest_sha256"]["new"] for entity_id, changes in found}


def _differences(old: object, new: object, path: str = "") -> list[str]:
    """Where two contents differ, as readable paths (rows in lists matched by their id)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{where} added")
            elif key not in new:
                out.append(f"{where} removed")
            else:
                out += _differences(old[key], new[key], where)
        return out
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(x, dict) and "id" in x for x in old + new):
        by_old = {x["id"]: x for x in old}
        by_new = {x["id"]: x for x in new}
        out = []
        for key in sorted(set(by_old) | set(by_new)):
            where = f"{path}[id={key}]"
            if key not in by_old:
                out.append(f"{where} added")
            elif key not in by_new:
                out.append(f"{where} removed")
            else:
                out += _differences(by_old[key], by_new[key], where)
        return out
    return [] if old == new else [f"{path}: {old!r} → {new!r}"]


def _check(row: Signature, contents: _Contents) -> list[str]:
    """Why a signature no longer holds (empty when it is valid)."""
    problems = []
    if manifest_sha256(row) != row.manifest_sha256:
        problems.append("the signature record itself was altered (manifest hash differs)")
    if contents.audited(row) != row.manifest_sha256:
        problems.append("the signature does not match the manifest hash recorded in the audit trail when it was made")
    if sha256_text(row.content_json) != row.content_sha256:
        problems.append("the stored signed content was altered (content hash differs)")
    current = contents.of(row)
    if current is None:
        problems.append(f"the signed record {row.target} no longer exists")
    elif sha256_text(canonical_json(current)) != row.content_sha256:
        signed = json.loads(row.content_json)
        changed = _differences(signed, json.loads(canonical_json(current)))
        problems.append("changed since signing: " + ("; ".join(changed[:10]) or "content differs"))
        if len(changed) > 10:
            problems.append(f"... and {len(changed) - 10} more changes")
    return problems


# ---------------------------------------------------------------- reads
@dataclass(frozen=True)
class SignatureView:
    """One signature with its manifestation and whether it still holds."""

    id: int
    kind: str
    target: str
    participant: str | None
    visit: str | None
    meaning: str
    username: str
    printed_name: str
    role: str
    signed_at: datetime
    content_sha256: str
    manifest_sha256: str
    valid: bool
    problems: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        return "valid" if self.valid else "broken"

    def __str__(self) -> str:
        head = (
            f"signature #{self.id} [{self.status}] {self.kind} {self.target}: {self.meaning} by "
            f"{self.printed_name} ({self.username}, {self.role}) at {self.signed_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"content sha256 {self.content_sha256[:12]}…"
        )
        return head + "".join(f"\n  broken: {p}" for p in self.problems)

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"status": self.status}


def _view(row: Signature, code: str | None, problems: Sequence[str]) -> SignatureView:
    return SignatureView(
        row.id,
        row.kind,
        row.target,
        code,
        row.visit_code,
        row.meaning,
        row.username,
        row.printed_name,
        row.role,
        row.signed_at,
        row.content_sha256,
        row.manifest_sha256,
        not problems,
        tuple(problems),
    )


def _views(tx: Tx, rows: Sequence[tuple[Signature, str | None, int | None]]) -> list[SignatureView]:
    contents = _Contents(tx.session)
    contents.prefetch(r for r, _, _ in rows)
    site_bound = policy.is_site_bound(tx.actor.role)
    return [
        _view(r, code, _check(r, contents))
        for r, code, site_id in rows
        if not (site_bound and site_id is not None and site_id != tx.actor.site_id)
    ]


_ROWS = (
    select(Signature, Participant.code, Participant.site_id)
    .outerjoin(Participant, Signature.participant_id == Participant.id)
    .order_by(Signature.signed_at, Signature.id)
)


def all_signatures(session: Session) -> list[SignatureView]:
    """Every signature, each checked, for a trial-level report whose reader was already authorised
    (the report workflow checks the audience's role); capture clients use :func:`list_signatures`."""
    rows = list(session.execute(_ROWS).all())
    contents = _Contents(session)
    contents.prefetch(r for r, _, _ in rows)
    return [_view(r, code, _check(r, contents)) for r, code, _ in rows]


def list_signatures(
    db: CaptureDB, actor: Actor, *, participant: str | None = None, kind: str | None = None
) -> list[SignatureView]:
    """Every signature (site roles: trial-level ones and their own site's), each checked valid or broken."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed([Problem("kind", kind, f"expected one of {', '.join(KINDS)}")], context="signatures")
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt = _ROWS
        if participant is not None:
            stmt = stmt.where(Signature.participant_id == tx.participant(participant).id)
        if kind is not None:
            stmt = stmt.where(Signature.kind == kind)
        return _views(tx, list(tx.session.execute(stmt).all()))


@dataclass(frozen=True)
class CasebookStatus:
    """Whether a casebook (a participant's, or one visit's) is signed by a signature that still holds."""

    participant: str
    visit: str | None
    content_sha256: str
    signatures: tuple[SignatureView, ...]

    @property
    def state(self) -> str:
        """``unsigned``, ``signed`` (the latest signature holds) or ``broken`` (it does not)."""
        if not self.signatures:
            return "unsigned"
        return "signed" if self.signatures[-1].valid else "broken"

    def __str__(self) -> str:
        what = casebook_target(self.participant, self.visit)
        lines = [f"casebook {what}: {self.state} (current content sha256 {self.content_sha256[:12]}…)"]
        lines += ["  " + str(s).replace("\n", "\n  ") for s in self.signatures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "participant": self.participant,
            "visit": self.visit,
            "state": self.state,
            "content_sha256": self.content_sha256,
            "signatures": [s.to_dict() for s in self.signatures],
        }


def _casebook(tx: Tx, code: str, visit: str | None) -> tuple[Participant, dict[str, object]]:
    p = tx.participant(code)
    content = casebooks(tx.session, [p.id], visit=visit).get(p.id)
    if content is None:
        raise NotFound(f"participant {code!r} has no visit {visit!r} recorded; there is no casebook page to sign")
    return p, content


def signature_status(db: CaptureDB, actor: Actor, code: str, *, visit: str | None = None) -> CasebookStatus:
    """The signatures of one casebook (participant, or one visit) and whether the latest still holds."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        p, content = _casebook(tx, code, visit)
        stmt = _ROWS.where(
            Signature.kind == "casebook",
            Signature.participant_id == p.id,
            Signature.target == casebook_target(code, visit),
        )
        views = _views(tx, list(tx.session.execute(stmt).all()))
        return CasebookStatus(code, visit, sha256_text(canonical_json(content)), tuple(views))


# ---------------------------------------------------------------- casebook sign-off
@idempotent(SignatureView)
def sign_casebook(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    password: str,
    meaning: str,
    visit: str | None = None,
    request_key: str | None = None,
) -> SignatureView:
    """An investigator signs a participant's casebook, or one visit of it, re-entering the password.

    With ``request_key``, a resubmitted sign-off (double click, retry) returns the first signature
    instead of signing twice."""
    target = casebook_target(code, visit)
    check = verify_signer(db, actor, policy.Permission.SIGN_CASEBOOK, password=password, meaning=meaning, target=target)
    with transaction(db, actor, policy.Permission.SIGN_CASEBOOK) as tx:
        p, content = _casebook(tx, code, visit)
        view = sign(tx, check, kind="casebook", target=target, content=content, participant=p, visit=visit)
        return remember(tx, view)


# ---------------------------------------------------------------- what blocks a lock
@dataclass(frozen=True)
class LockBlockers:
    """What keeps the database from being locked: unresolved queries and unsigned or broken casebooks."""

    open_queries: tuple[int, ...]
    unsigned: tuple[str, ...]
    broken: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.open_queries or self.unsigned or self.broken)

    def __str__(self) -> str:
        parts = []
        if self.open_queries:
            parts.append(f"{len(self.open_queries)} unresolved queries (ids {_shorten(self.open_queries)})")
        if self.unsigned:
            parts.append(f"{len(self.unsigned)} unsigned casebooks ({_shorten(self.unsigned)})")
        if self.broken:
            parts.append(f"{len(self.broken)} casebooks changed since they were signed ({_shorten(self.broken)})")
        return "; ".join(parts) or "nothing"

    def to_dict(self) -> dict[str, object]:
        return {"open_queries": list(self.open_queries), "unsigned": list(self.unsigned), "broken": list(self.broken)}


def _shorten(items: Sequence[object], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … {len(items) - limit} more" if len(items) > limit else "")


def lock_blockers(session: Session) -> LockBlockers:
    """Queries not closed, and randomized participants whose latest whole-casebook signature is missing or broken.

    Per-visit signatures record ongoing review; the lock needs a participant-level signature,
    which covers the rows no visit holds (adverse events, disposition ...).
    """
    from alstrial.store.models import DataQuery

    open_queries = tuple(
        session.scalars(select(DataQuery.id).where(DataQuery.status != "closed").order_by(DataQuery.id))
    )
    randomized: dict[int, str] = {
        pid: code
        for pid, code in session.execute(
            select(Participant.id, Participant.code)
            .where(Participant.status == "randomized")
            .order_by(Participant.code)
        )
    }
    latest: dict[int, Signature] = {}
    for row in session.scalars(
        select(Signature)
        .where(Signature.kind == "casebook", Signature.visit_code.is_(None))
        .order_by(Signature.signed_at, Signature.id)
    ):
        if row.participant_id is not None:
            latest[row.participant_id] = row
    contents = _Contents(session)
    contents.prefetch(latest[pid] for pid in randomized if pid in latest)
    unsigned, broken = [], []
    for pid, code in randomized.items():
        if pid not in latest:
            unsigned.append(code)
        elif _check(latest[pid], contents):
            broken.append(code)
    return LockBlockers(open_queries, tuple(unsigned), tuple(broken))
