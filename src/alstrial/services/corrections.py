"""Corrections of stored values (a reason is required; old and new values go to the audit trail)
and data queries on any field (open → answered → closed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from alstrial.domain.fields import FIELDS, FieldValueError
from alstrial.errors import Problem, ValidationFailed
from alstrial.instruments import alsfrs_r
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, page_problems, require_text, transaction
from alstrial.services.exceptions import InvalidState, NotFound, StaleVersion
from alstrial.services.idempotency import idempotent, remember
from alstrial.services.labs import below_lloq
from alstrial.services.visits import ALSFRS_ITEMS, scores_of
from alstrial.store.models import (
    AdverseEvent,
    AlsfrsAssessment,
    AuditRecord,
    CsfSample,
    DataQuery,
    IntercurrentEvent,
    LabResult,
    Participant,
    VisitRecord,
    VitalCapacity,
    WeightMeasurement,
)
from alstrial.store.types import utcnow


def _via_visit(tx: Tx, row: Any) -> int:
    return tx.session.get(VisitRecord, row.visit_record_id).participant_id  # type: ignore[union-attr]


#: What may be corrected or queried: entity → (model, participant id of a row). Fields: ``domain.fields``.
CORRECTABLE: dict[str, tuple[type, Callable[[Tx, Any], int]]] = {
    "alsfrs_assessment": (AlsfrsAssessment, _via_visit),
    "vital_capacity": (VitalCapacity, _via_visit),
    "weight_measurement": (WeightMeasurement, _via_visit),
    "lab_result": (
        LabResult,
        lambda tx, r: tx.session.get(CsfSample, r.sample_pk).participant_id,  # type: ignore[union-attr]
    ),
    "adverse_event": (AdverseEvent, lambda tx, r: r.participant_id),
    "intercurrent_event": (IntercurrentEvent, lambda tx, r: r.participant_id),
    "visit_record": (VisitRecord, lambda tx, r: r.participant_id),
}
assert set(CORRECTABLE) == set(FIELDS), "every entity with field definitions is correctable and queryable"


def correctable_fields(entity: str) -> tuple[str, ...]:
    return tuple(name for name, spec in FIELDS[entity].items() if spec.correctable)


def _row(tx: Tx, entity: str, entity_id: int, *, for_update: bool = False) -> tuple[Any, Participant]:
    if entity not in CORRECTABLE:
        raise ValidationFailed([Problem("entity", entity, f"expected one of {', '.join(sorted(CORRECTABLE))}")])
    model, owner = CORRECTABLE[entity]
    if isinstance(entity_id, bool) or not isinstance(entity_id, int):
        raise ValidationFailed([Problem("entity_id", entity_id, "expected the record's id (a whole number)")])
    stmt: Any = select(model).where(model.id == entity_id)  # type: ignore[attr-defined]
    row = tx.session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    p = tx.session.get(Participant, owner(tx, row)) if row is not None else None
    if row is None or p is None or (policy.is_site_bound(tx.actor.role) and p.site_id != tx.actor.site_id):
        raise NotFound(f"no {entity.replace('_', ' ')} with id {entity_id}" + _at_site(tx))
    return row, p


def _at_site(tx: Tx) -> str:
    return f" at site {tx.actor.site_code}" if policy.is_site_bound(tx.actor.role) else ""


def last_change(tx: Tx, entity: str, entity_id: int) -> tuple[str | None, Any]:
    """Who last wrote a record, and when, from the audit trail (for a conflict message)."""
    row = tx.session.execute(
        select(AuditRecord.username, AuditRecord.at)
        .where(AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id))
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    ).first()
    return (row.username, row.at) if row is not None else (None, None)


def check_version(tx: Tx, entity: str, row: Any, version: object) -> None:
    """Refuse a change made against a version that is no longer current, saying who changed it and when."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationFailed([Problem("version", version, "expected the version you read (a whole number)")])
    if row.version != version:
        who, when = last_change(tx, entity, row.id)
        at = f" on {when:%Y-%m-%d at %H:%M} UTC" if when is not None else ""
        raise StaleVersion(
            f"{entity.replace('_', ' ')} {row.id} was changed by {who or 'someone else'}{at} since you read it "
            f"(you had version {version}, it is now version {row.version}); nothing was written — "
            "reload it, check the new value and correct again if still needed",
            current_version=row.version,
            changed_by=who,
            changed_at=when,
        )


@dataclass(frozen=True)
class Correction:
    """The outcome of a correction: the value before and after, and the record's new version."""

    entity: str
    entity_id: int
    field: str
    old: object
    new: object
    version: int

    def __iter__(self) -> Any:  # ``old, new = correct_value(...)`` keeps working
        return iter((self.old, self.new))

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def correct_value(
    db: CaptureDB,
    actor: Actor,
    *,
    entity: str,
    entity_id: int,
    field: str,
    new_value: object,
    reason: str,
    version: int,
) -> Correction:
    """Change one stored value of the record at ``version``; derived values are recomputed and audited with it.

    The value is checked by the same field definition as at entry (``domain.fields``); a change
    against an older version raises :class:`StaleVersion` naming who changed the record and when.
    """
    with transaction(db, actor, policy.Permission.CORRECT) as tx:
        return correct_value_step(tx, entity, entity_id, field, new_value, reason, version)


def correct_value_step(
    tx: Tx, entity: str, entity_id: int, field: str, new_value: object, reason: str, version: int
) -> Correction:
    tx.require(policy.Permission.CORRECT)
    reason = require_text(reason, "reason")
    row, p = _row(tx, entity, entity_id, for_update=True)
    allowed = correctable_fields(entity)
    if field not in allowed:
        raise ValidationFailed([Problem("field", field, f"correctable fields of {entity}: {', '.join(allowed)}")])
    try:
        value = FIELDS[entity][field].parse(new_value)
    except FieldValueError as exc:
        raise ValidationFailed([Problem(field, new_value, str(exc))], context="correction") from None
    check_version(tx, entity, row, version)
    old = getattr(row, field)
    if old == value:
        raise InvalidState(f"{entity} {entity_id} {field} is already {old!r}; nothing to correct")
    changes: dict[str, tuple[object, object]] = {field: (old, value)}
    setattr(row, field, value)
    if entity == "alsfrs_assessment" and field in ALSFRS_ITEMS:
        score = alsfrs_r.score({k: getattr(row, k) for k in ALSFRS_ITEMS})
        for k, v in scores_of(score).items():
            if getattr(row, k) != v:
                changes[k] = (getattr(row, k), v)
                setattr(row, k, v)
    elif entity == "lab_result" and field == "value_original":
        spec = tx.protocol.analyte(row.analyte)
        factor = 1.0 if row.unit_original == spec.unit else spec.conversions[row.unit_original]
        std = None if value is None else float(value) * factor  # type: ignore[arg-type]
        flag = below_lloq(std, spec.lloq)
        changes |= {"value_std": (row.value_std, std), "below_lloq": (row.below_lloq, flag)}
        row.value_std, row.below_lloq = std, flag
    elif entity == "adverse_event" and (row.resolution_date is not None and row.resolution_date < row.onset_date):
        raise ValidationFailed(
            [Problem(field, new_value, f"the resolution date {row.resolution_date} would precede the onset date")]
        )
    tx.session.flush()  # the version counter moves on here (and refuses a concurrent UPDATE)
    changes["version"] = (version, row.version)
    tx.audit(f"{entity}.correct", entity, entity_id, changes, reason=reason, participant=p)
    return Correction(entity, entity_id, field, old, value, row.version)


@dataclass(frozen=True)
class QueryView:
    id: int
    participant: str
    entity: str
    entity_id: int
    field: str
    text: str
    status: str
    answer: str | None
    opened_at: datetime
    version: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _qview(q: DataQuery, participant: str) -> QueryView:
    return QueryView(
        q.id, participant, q.entity, q.entity_id, q.field, q.text, q.status, q.answer, q.opened_at, q.version
    )


@idempotent(QueryView)
def open_query(
    db: CaptureDB, actor: Actor, *, entity: str, entity_id: int, field: str, text: str, request_key: str | None = None
) -> QueryView:
    """Raise a query on a defined field (``domain.fields``) of a record the caller may see."""
    with transaction(db, actor, policy.Permission.OPEN_QUERY) as tx:
        text = require_text(text, "text")
        _, p = _row(tx, entity, entity_id)
        if field not in FIELDS[entity]:
            raise ValidationFailed(
                [Problem("field", field, f"no such field; fields of {entity}: {', '.join(FIELDS[entity])}")]
            )
        q = DataQuery(
            participant_id=p.id,
            entity=entity,
            entity_id=entity_id,
            field=field,
            text=text,
            status="open",
            opened_at=utcnow(),
            opened_by=actor.user_id,
        )
        tx.session.add(q)
        tx.session.flush()
        tx.audit(
            "query.open",
            "data_query",
            q.id,
            {"entity": (None, entity), "entity_id": (None, entity_id), "field": (None, field), "text": (None, text)},
            participant=p,
        )
        return remember(tx, _qview(q, p.code))


def _query(tx: Tx, query_id: int) -> tuple[DataQuery, Participant]:
    q = tx.session.execute(select(DataQuery).where(DataQuery.id == query_id).with_for_update()).scalar_one_or_none()
    p = tx.session.get(Participant, q.participant_id) if q is not None else None
    if q is None or p is None or (policy.is_site_bound(tx.actor.role) and p.site_id != tx.actor.site_id):
        raise NotFound(f"no query with id {query_id!r}" + _at_site(tx))
    return q, p


def answer_query(db: CaptureDB, actor: Actor, query_id: int, *, answer: str) -> QueryView:
    with transaction(db, actor, policy.Permission.ANSWER_QUERY) as tx:
        answer = require_text(answer, "answer")
        q, p = _query(tx, query_id)
        if q.status != "open":
            raise InvalidState(f"query {query_id} is {q.status}; only an open query can be answered")
        q.status, q.answer, q.answered_at, q.answered_by = "answered", answer, utcnow(), actor.user_id
        tx.session.flush()
        tx.audit(
            "query.answer",
            "data_query",
            q.id,
            {"status": ("open", "answered"), "answer": (None, answer)},
            participant=p,
        )
        return _qview(q, p.code)


def close_query(db: CaptureDB, actor: Actor, query_id: int, *, note: str = "") -> QueryView:
    with transaction(db, actor, policy.Permission.CLOSE_QUERY) as tx:
        q, p = _query(tx, query_id)
        if q.status == "closed":
            raise InvalidState(f"query {query_id} is already closed")
        old = q.status
        q.status, q.closed_at, q.closed_by, q.close_note = "closed", utcnow(), actor.user_id, note or None
        tx.session.flush()
        tx.audit("query.close", "data_query", q.id, {"status": (old, "closed")}, reason=note or None, participant=p)
        return _qview(q, p.code)


QUERY_STATUSES = ("open", "answered", "closed")


def list_queries(
    db: CaptureDB,
    actor: Actor,
    *,
    status: str | None = None,
    participant: str | None = None,
    entity: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[QueryView]:
    """Queries the caller may see, oldest first, filtered by status, participant and entity, one page at a time."""
    problems = []
    if status is not None and status not in QUERY_STATUSES:
        problems.append(Problem("status", status, f"expected one of {', '.join(QUERY_STATUSES)}"))
    if entity is not None and entity not in FIELDS:
        problems.append(Problem("entity", entity, f"expected one of {', '.join(sorted(FIELDS))}"))
    problems += page_problems(offset, limit)
    if problems:
        raise ValidationFailed(problems, context="query list")
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt = (
            select(DataQuery, Participant.code)
            .join(Participant, DataQuery.participant_id == Participant.id)
            .order_by(DataQuery.id)
        )
        if status:
            stmt = stmt.where(DataQuery.status == status)
        if entity:
            stmt = stmt.where(DataQuery.entity == entity)
        if participant is not None:
            stmt = stmt.where(Participant.code == participant)
        if policy.is_site_bound(actor.role):
            stmt = stmt.where(Participant.site_id == actor.site_id)
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_qview(q, code) for q, code in tx.session.execute(stmt)]
