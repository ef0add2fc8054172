"""Corrections of stored values (a reason is required; old and new values go to the audit trail)
and data queries on any field (open → answered → closed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from alstrial.errors import Problem, ValidationFailed
from alstrial.instruments import alsfrs_r
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, require_text, transaction
from alstrial.services.exceptions import InvalidState, NotFound
from alstrial.services.safety import ACTIONS, OUTCOMES, RELATEDNESS, SEVERITIES
from alstrial.services.visits import ALSFRS_ITEMS, scores_of
from alstrial.store.models import (
    AdverseEvent,
    AlsfrsAssessment,
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


def _int(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError("expected an integer")
    v = float(raw)  # type: ignore[arg-type]
    if not v.is_integer():
        raise ValueError("expected an integer")
    return int(v)


def _float(raw: object) -> float | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError("expected a number")
    return float(raw)  # type: ignore[arg-type]


def _date(raw: object) -> date | None:
    if raw is None or raw == "":
        return None
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


def _text(raw: object) -> str | None:
    return None if raw is None else str(raw)


def _choice(allowed: tuple[str, ...]) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if raw not in allowed:
            raise ValueError(f"expected one of {', '.join(repr(a) for a in allowed)}")
        return str(raw)

    return parse


def _via_visit(tx: Tx, row: Any) -> int:
    return tx.session.get(VisitRecord, row.visit_record_id).participant_id  # type: ignore[union-attr]


#: What may be corrected: entity → (model, {field: parser}, participant id of a row).
CORRECTABLE: dict[str, tuple[type, dict[str, Callable[[object], object]], Callable[[Tx, Any], int]]] = {
    "alsfrs_assessment": (AlsfrsAssessment, dict.fromkeys(ALSFRS_ITEMS, _int), _via_visit),
    "vital_capacity": (VitalCapacity, {"percent_predicted": _float, "liters": _float}, _via_visit),
    "weight_measurement": (WeightMeasurement, {"weight_kg": _float}, _via_visit),
    "lab_result": (
        LabResult,
        {"value_original": _float, "assay": _text},
        lambda tx, r: tx.session.get(CsfSample, r.sample_pk).participant_id,  # type: ignore[union-attr]
    ),
    "adverse_event": (
        AdverseEvent,
        {
            "term": _text,
            "onset_date": _date,
            "resolution_date": _date,
            "severity": _choice(SEVERITIES),
            "relatedness": _choice(RELATEDNESS),
            "action_taken": _choice(ACTIONS),
            "outcome": _choice(OUTCOMES),
        },
        lambda tx, r: r.participant_id,
    ),
    "intercurrent_event": (IntercurrentEvent, {"event_date": _date, "details": _text}, lambda tx, r: r.participant_id),
    "visit_record": (VisitRecord, {"out_of_window_reason": _text}, lambda tx, r: r.participant_id),
}


def _row(tx: Tx, entity: str, entity_id: int) -> tuple[Any, Participant]:
    if entity not in CORRECTABLE:
        raise ValidationFailed([Problem("entity", entity, f"expected one of {', '.join(sorted(CORRECTABLE))}")])
    model, _, owner = CORRECTABLE[entity]
    row = tx.session.get(model, entity_id)
    if row is None:
        raise NotFound(f"no {entity} {entity_id!r}")
    p = tx.session.get(Participant, owner(tx, row))
    assert p is not None
    tx.check_site(p)
    return row, p


def correct_value(
    db: CaptureDB, actor: Actor, *, entity: str, entity_id: int, field: str, new_value: object, reason: str
) -> tuple[object, object]:
    """Change one stored value; returns ``(old, new)``. Derived values (ALSFRS-R totals, standard
    lab units) are recomputed and audited with it."""
    with transaction(db, actor, policy.Permission.CORRECT) as tx:
        reason = require_text(reason, "reason")
        row, p = _row(tx, entity, entity_id)
        parsers = CORRECTABLE[entity][1]
        if field not in parsers:
            raise ValidationFailed([Problem("field", field, f"correctable fields of {entity}: {', '.join(parsers)}")])
        try:
            value = parsers[field](new_value)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed([Problem(field, new_value, str(exc))], context="correction") from None
        old = getattr(row, field)
        if old == value:
            raise InvalidState(f"{entity} {entity_id} {field} is already {old!r}; nothing to correct")
        changes: dict[str, tuple[object, object]] = {field: (old, value)}
        setattr(row, field, value)
        if entity == "alsfrs_assessment":
            score = alsfrs_r.score({k: getattr(row, k) for k in ALSFRS_ITEMS})
            for k, v in scores_of(score).items():
                if getattr(row, k) != v:
                    changes[k] = (getattr(row, k), v)
                    setattr(row, k, v)
        elif entity == "lab_result" and field == "value_original":
            spec = tx.protocol.analyte(row.analyte)
            factor = 1.0 if row.unit_original == spec.unit else spec.conversions[row.unit_original]
            std = None if value is None else float(value) * factor  # type: ignore[arg-type]
            flag = std is None or std < spec.lloq
            changes |= {"value_std": (row.value_std, std), "below_lloq": (row.below_lloq, flag)}
            row.value_std, row.below_lloq = std, flag
        tx.session.flush()
        tx.audit(f"{entity}.correct", entity, entity_id, changes, reason=reason, participant=p)
        return old, value


@dataclass(frozen=True)
class QueryView:
    id: int
    entity: str
    entity_id: int
    field: str
    text: str
    status: str
    answer: str | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _qview(q: DataQuery) -> QueryView:
    return QueryView(q.id, q.entity, q.entity_id, q.field, q.text, q.status, q.answer)


def open_query(db: CaptureDB, actor: Actor, *, entity: str, entity_id: int, field: str, text: str) -> QueryView:
    """Raise a query on any stored field of any correctable record."""
    with transaction(db, actor, policy.Permission.OPEN_QUERY) as tx:
        text = require_text(text, "text")
        row, p = _row(tx, entity, entity_id)
        if not hasattr(row, field) or field.startswith("_"):
            raise ValidationFailed([Problem("field", field, f"{entity} has no such field")])
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
        return _qview(q)


def _query(tx: Tx, query_id: int) -> tuple[DataQuery, Participant]:
    q = tx.session.execute(select(DataQuery).where(DataQuery.id == query_id).with_for_update()).scalar_one_or_none()
    if q is None:
        raise NotFound(f"no query {query_id!r}")
    p = tx.session.get(Participant, q.participant_id)
    assert p is not None
    tx.check_site(p)
    return q, p


def answer_query(db: CaptureDB, actor: Actor, query_id: int, *, answer: str) -> QueryView:
    with transaction(db, actor, policy.Permission.ANSWER_QUERY) as tx:
        answer = require_text(answer, "answer")
        q, p = _query(tx, query_id)
        if q.status != "open":
            raise InvalidState(f"query {query_id} is {q.status}; only an open query can be answered")
        q.status, q.answer, q.answered_at, q.answered_by = "answered", answer, utcnow(), actor.user_id
        tx.audit(
            "query.answer",
            "data_query",
            q.id,
            {"status": ("open", "answered"), "answer": (None, answer)},
            participant=p,
        )
        return _qview(q)


def close_query(db: CaptureDB, actor: Actor, query_id: int, *, note: str = "") -> QueryView:
    with transaction(db, actor, policy.Permission.CLOSE_QUERY) as tx:
        q, p = _query(tx, query_id)
        if q.status == "closed":
            raise InvalidState(f"query {query_id} is already closed")
        old = q.status
        q.status, q.closed_at, q.closed_by, q.close_note = "closed", utcnow(), actor.user_id, note or None
        tx.audit("query.close", "data_query", q.id, {"status": (old, "closed")}, reason=note or None, participant=p)
        return _qview(q)


def list_queries(db: CaptureDB, actor: Actor, *, status: str | None = None) -> list[QueryView]:
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt = select(DataQuery).order_by(DataQuery.id)
        if status:
            stmt = stmt.where(DataQuery.status == status)
        if policy.is_site_bound(actor.role):
            stmt = stmt.join(Participant, DataQuery.participant_id == Participant.id).where(
                Participant.site_id == actor.site_id
            )
        return [_qview(q) for q in tx.session.scalars(stmt)]
