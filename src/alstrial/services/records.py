"""Reads of clinical records, each with the ``id`` and ``version`` that corrections and queries name.

Every list is filtered to what the caller may see (site roles: their site) and pages with
``offset``/``limit``. Nothing here reveals an arm: lots and doses look the same in both arms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from alstrial.errors import ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, page_problems, transaction
from alstrial.store.models import (
    Administration,
    AdverseEvent,
    CsfSample,
    IntercurrentEvent,
    LabResult,
    Participant,
    ProductLot,
    Site,
)

Record = dict[str, object]

_AE_FIELDS = (
    "id",
    "version",
    "term",
    "onset_date",
    "resolution_date",
    "serious",
    "severity",
    "relatedness",
    "action_taken",
    "outcome",
)
_SAE = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "medically_important",
)


def _page(stmt: Any, offset: int, limit: int | None, what: str) -> Any:
    if problems := page_problems(offset, limit):
        raise ValidationFailed(problems, context=what)
    stmt = stmt.offset(offset)
    return stmt.limit(limit) if limit is not None else stmt


def _visible(tx: Tx, stmt: Any, participant: str | None) -> Any:
    """Restrict to the caller's site and, when asked, one participant (who must be visible)."""
    if participant is not None:
        stmt = stmt.where(Participant.id == tx.participant(participant).id)
    if policy.is_site_bound(tx.actor.role):
        stmt = stmt.where(Participant.site_id == tx.actor.site_id)
    return stmt


def _pick(row: Any, names: Sequence[str]) -> Record:
    return {n: getattr(row, n) for n in names}


def list_adverse_events(
    db: CaptureDB,
    actor: Actor,
    *,
    participant: str | None = None,
    serious: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Record]:
    """Adverse events, by participant then onset, with their seriousness criteria."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt: Any = (
            select(AdverseEvent, Participant.code)
            .join(Participant, AdverseEvent.participant_id == Participant.id)
            .order_by(Participant.code, AdverseEvent.onset_date, AdverseEvent.id)
        )
        if serious is not None:
            stmt = stmt.where(AdverseEvent.serious.is_(serious))
        stmt = _page(_visible(tx, stmt, participant), offset, limit, "adverse event list")
        return [
            {"participant": code, **_pick(ae, _AE_FIELDS), "criteria": [c for c in _SAE if getattr(ae, f"sae_{c}")]}
            for ae, code in tx.session.execute(stmt)
        ]


def list_intercurrent_events(
    db: CaptureDB, actor: Actor, *, participant: str | None = None, offset: int = 0, limit: int | None = None
) -> list[Record]:
    """Death, tracheostomy, permanent ventilation, gastrostomy and NIV start, by participant and date."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt: Any = (
            select(IntercurrentEvent, Participant.code)
            .join(Participant, IntercurrentEvent.participant_id == Participant.id)
            .order_by(Participant.code, IntercurrentEvent.event_date, IntercurrentEvent.id)
        )
        stmt = _page(_visible(tx, stmt, participant), offset, limit, "intercurrent event list")
        fields = ("id", "version", "kind", "event_date", "hours_per_day", "consecutive_days", "details")
        return [{"participant": code, **_pick(e, fields)} for e, code in tx.session.execute(stmt)]


def list_lab_samples(
    db: CaptureDB, actor: Actor, *, participant: str | None = None, offset: int = 0, limit: int | None = None
) -> list[Record]:
    """CSF samples with their analyte results (each result with its id and version), in one query."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        samples: Any = (
            select(CsfSample, Participant.code)
            .join(Participant, CsfSample.participant_id == Participant.id)
            .order_by(Participant.code, CsfSample.collected_at, CsfSample.id)
        )
        samples = _page(_visible(tx, samples, participant), offset, limit, "lab sample list")
        out: dict[int, Record] = {}
        for s, code in tx.session.execute(samples):
            out[s.id] = {
                "id": s.id,
                "participant": code,
                "sample_id": s.sample_id,
                "visit": s.visit_code,
                "collected_at": s.collected_at,
                "results": [],
            }
        if out:
            fields = (
                "id",
                "version",
                "analyte",
                "value_original",
                "unit_original",
                "value_std",
                "unit_std",
                "lloq_std",
                "below_lloq",
                "assay",
            )
            for r in tx.session.scalars(
                select(LabResult).where(LabResult.sample_pk.in_(list(out))).order_by(LabResult.id)
            ):
                out[r.sample_pk]["results"].append(_pick(r, fields))  # type: ignore[attr-defined]
        return list(out.values())


def list_doses(
    db: CaptureDB, actor: Actor, *, participant: str | None = None, offset: int = 0, limit: int | None = None
) -> list[Record]:
    """Doses given, with lot number and chain-of-identity label (identical for active and placebo lots)."""
    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt: Any = (
            select(Administration, Participant.code, ProductLot.lot_number)
            .join(Participant, Administration.participant_id == Participant.id)
            .join(ProductLot, Administration.lot_id == ProductLot.id)
            .order_by(Participant.code, Administration.dose_number)
        )
        stmt = _page(_visible(tx, stmt, participant), offset, limit, "dose list")
        fields = ("id", "dose_number", "visit_code", "administered_at", "route", "label_coi_id")
        return [
            {"participant": code, "lot_number": lot, **_pick(a, fields)} for a, code, lot in tx.session.execute(stmt)
        ]


def list_product_lots(
    db: CaptureDB, actor: Actor, *, participant: str | None = None, offset: int = 0, limit: int | None = None
) -> list[Record]:
    """Product lots with status, dates and chain-of-identity id (no arm: lots of both arms look the same)."""
    from alstrial.store.models import BoneMarrowAspiration

    with transaction(db, actor, policy.Permission.READ) as tx:
        stmt: Any = (
            select(ProductLot, Participant.code, Site.code)
            .join(BoneMarrowAspiration, ProductLot.aspiration_id == BoneMarrowAspiration.id)
            .join(Participant, BoneMarrowAspiration.participant_id == Participant.id)
            .join(Site, Participant.site_id == Site.id)
            .order_by(ProductLot.lot_number)
        )
        stmt = _page(_visible(tx, stmt, participant), offset, limit, "product lot list")
        fields = (
            "id",
            "lot_number",
            "coi_id",
            "dose_number",
            "manufactured_on",
            "expires_on",
            "labelled_amount",
            "status",
            "released_at",
        )
        rows: list[Any] = list(tx.session.execute(stmt))
        return [{"participant": row[1], "site": row[2], **_pick(row[0], fields)} for row in rows]
