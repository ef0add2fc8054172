"""The autologous product's chain of identity: aspiration → lot → release → intrathecal dose.

Active and placebo lots are made, numbered and released the same way; which one a lot is
follows from the concealed allocation and is never stored with the lot. A dose is given only
when the label's identifier, the lot's and the participant's all agree; otherwise the dose is
refused, the refusal audited, and :class:`ChainOfIdentityMismatch` raised.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from alstrial.domain.fields import date_problem
from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import ChainOfIdentityMismatch, Conflict, InvalidState, NotFound
from alstrial.services.idempotency import idempotent, remember
from alstrial.services.visits import visit_record
from alstrial.store.audit_chain import AuditEntry
from alstrial.store.models import Administration, BoneMarrowAspiration, Participant, ProductLot
from alstrial.store.types import utcnow

_LOT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _aware(value: object, where: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed([Problem(where, value, "expected a date-time with a time zone (e.g. ...Z)")])
    if found := date_problem(value, where):
        raise ValidationFailed([found])
    return value


@idempotent(int)
def record_aspiration(
    db: CaptureDB, actor: Actor, code: str, *, aspirated_at: datetime, volume_ml: float, request_key: str | None = None
) -> int:
    """Record the bone-marrow aspiration; its id starts the product's chain of identity."""
    with transaction(db, actor, policy.Permission.RECORD_ASPIRATION) as tx:
        return remember(tx, record_aspiration_step(tx, code, aspirated_at, volume_ml))


def record_aspiration_step(tx: Tx, code: str, aspirated_at: datetime, volume_ml: float) -> int:
    tx.require(policy.Permission.RECORD_ASPIRATION)
    _aware(aspirated_at, "aspirated_at")
    if isinstance(volume_ml, bool) or not isinstance(volume_ml, int | float) or not 0 < volume_ml <= 500:
        raise ValidationFailed([Problem("volume_ml", volume_ml, "expected a volume in mL, 0–500")])
    p = tx.participant(code)
    if p.status != "randomized":
        raise InvalidState(f"participant {code!r} is {p.status}; aspiration follows randomization")
    row = BoneMarrowAspiration(
        participant_id=p.id, coi_id=p.coi_id, aspirated_at=aspirated_at, volume_ml=float(volume_ml)
    )
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "aspiration.record",
        "bone_marrow_aspiration",
        row.id,
        {"coi_id": (None, p.coi_id), "aspirated_at": (None, aspirated_at), "volume_ml": (None, volume_ml)},
        participant=p,
    )
    return row.id


@dataclass(frozen=True)
class LotView:
    """A lot as anyone may see it: identical fields for active and placebo."""

    lot_number: str
    coi_id: str
    dose_number: int
    manufactured_on: date
    expires_on: date
    labelled_amount: str
    status: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@idempotent(LotView)
def manufacture_lot(
    db: CaptureDB,
    actor: Actor,
    *,
    aspiration_id: int,
    dose_number: int,
    manufactured_on: date,
    expires_on: date,
    request_key: str | None = None,
) -> LotView:
    """Record a manufactured (or placebo-prepared) lot for one dose, labelled with the aspiration's COI id."""
    with transaction(db, actor, policy.Permission.MANUFACTURE) as tx:
        return remember(tx, manufacture_lot_step(tx, aspiration_id, dose_number, manufactured_on, expires_on))


def _utc_day(stored: datetime) -> date:
    """The UTC calendar day of a stored instant (SQLite hands it back without its zone, which is UTC)."""
    return (stored if stored.tzinfo else stored.replace(tzinfo=UTC)).astimezone(UTC).date()


def manufacture_lot_step(
    tx: Tx, aspiration_id: int, dose_number: int, manufactured_on: date, expires_on: date
) -> LotView:
    tx.require(policy.Permission.MANUFACTURE)
    bma = tx.session.get(BoneMarrowAspiration, aspiration_id)
    if bma is None:
        raise NotFound(f"no bone-marrow aspiration {aspiration_id!r}")
    numbers = [d.number for d in tx.protocol.dosing.doses]
    problems = []
    if dose_number not in numbers:
        problems.append(Problem("dose_number", dose_number, f"expected one of {numbers}"))
    # made from this aspiration's marrow: a real date, not in the future, and not before the aspiration
    made_ok = isinstance(manufactured_on, date) and not isinstance(manufactured_on, datetime)
    if not made_ok:
        problems.append(Problem("manufactured_on", manufactured_on, "expected a date (YYYY-MM-DD)"))
    elif found := date_problem(manufactured_on, "manufactured_on"):
        problems.append(found)
    elif manufactured_on < (aspirated := _utc_day(bma.aspirated_at)):
        problems.append(Problem("manufactured_on", manufactured_on.isoformat(), f"before its aspiration ({aspirated})"))
    if not isinstance(expires_on, date) or isinstance(expires_on, datetime):
        problems.append(Problem("expires_on", expires_on, "expected a date (YYYY-MM-DD)"))
    elif made_ok and expires_on <= manufactured_on:
        problems.append(Problem("expires_on", expires_on.isoformat(), "must be after the manufacturing date"))
    if problems:
        raise ValidationFailed(problems, context="lot")
    lot_number = "LOT-" + "".join(secrets.choice(_LOT_ALPHABET) for _ in range(8))
    lot = ProductLot(
        lot_number=lot_number,
        aspiration_id=bma.id,
        coi_id=bma.coi_id,
        dose_number=dose_number,
        manufactured_on=manufactured_on,
        expires_on=expires_on,
        labelled_amount=tx.protocol.dosing.amount,
        status="manufactured",
    )
    tx.session.add(lot)
    tx.session.flush()
    p = tx.session.get(Participant, bma.participant_id)
    tx.audit(
        "lot.manufacture",
        "product_lot",
        lot.id,
        {
            "lot_number": (None, lot_number),
            "coi_id": (None, bma.coi_id),
            "dose_number": (None, dose_number),
            "manufactured_on": (None, manufactured_on),
            "expires_on": (None, expires_on),
        },
        participant=p,
    )
    return _view(lot)


def _view(lot: ProductLot) -> LotView:
    return LotView(
        lot.lot_number,
        lot.coi_id,
        lot.dose_number,
        lot.manufactured_on,
        lot.expires_on,
        lot.labelled_amount,
        lot.status,
    )


def _lot(tx: Tx, lot_number: str) -> ProductLot:
    lot = tx.session.execute(
        select(ProductLot).where(ProductLot.lot_number == lot_number).with_for_update()
    ).scalar_one_or_none()
    if lot is None:
        raise NotFound(f"no lot {lot_number!r}")
    return lot


def release_lot(db: CaptureDB, actor: Actor, lot_number: str) -> LotView:
    with transaction(db, actor, policy.Permission.MANUFACTURE) as tx:
        return release_lot_step(tx, lot_number)


def release_lot_step(tx: Tx, lot_number: str) -> LotView:
    tx.require(policy.Permission.MANUFACTURE)
    lot = _lot(tx, lot_number)
    if lot.status != "manufactured":
        raise InvalidState(f"lot {lot_number!r} is {lot.status}; only a manufactured lot can be released")
    lot.status, lot.released_at = "released", utcnow()
    bma = tx.session.get(BoneMarrowAspiration, lot.aspiration_id)
    assert bma is not None
    p = tx.session.get(Participant, bma.participant_id)
    tx.audit("lot.release", "product_lot", lot.id, {"status": ("manufactured", "released")}, participant=p)
    return _view(lot)


@idempotent(int)
def administer_dose(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    lot_number: str,
    label_coi_id: str,
    administered_at: datetime,
    dose_number: int,
    request_key: str | None = None,
) -> int:
    """Record an intrathecal dose after checking the chain of identity and the lot's state."""
    with transaction(db, actor, policy.Permission.ADMINISTER) as tx:
        return remember(tx, administer_dose_step(tx, code, lot_number, label_coi_id, administered_at, dose_number))


def administer_dose_step(
    tx: Tx, code: str, lot_number: str, label_coi_id: str, administered_at: datetime, dose_number: int
) -> int:
    tx.require(policy.Permission.ADMINISTER)
    _aware(administered_at, "administered_at")
    p = tx.participant(code, for_update=True)
    lot = _lot(tx, lot_number)
    bma = tx.session.get(BoneMarrowAspiration, lot.aspiration_id)
    assert bma is not None
    mismatches = {}
    if label_coi_id != p.coi_id:
        mismatches["label_coi_id"] = label_coi_id
    if lot.coi_id != p.coi_id or bma.participant_id != p.id:
        mismatches["lot_coi_id"] = lot.coi_id
    if mismatches:
        refusal = ChainOfIdentityMismatch(
            f"chain of identity mismatch: participant {code!r} is {p.coi_id}, but "
            + ", ".join(f"{k} is {v}" for k, v in mismatches.items())
            + f" (lot {lot_number!r}); dose blocked",
            participant_code=code,
            details={"participant_coi_id": p.coi_id, "lot_number": lot_number, **mismatches},
        )
        # recorded by the transaction even though everything else rolls back
        tx.refusals.append(
            AuditEntry(
                "dose.refused_chain_of_identity",
                "administration",
                code,
                {k: (None, v) for k, v in refusal.details.items()},
                str(refusal),
                code,
            )
        )
        raise refusal
    if lot.status != "released":
        raise InvalidState(f"lot {lot_number!r} is {lot.status}; only a released lot can be given")
    if administered_at.date() < lot.manufactured_on:
        raise ValidationFailed(
            [Problem("administered_at", administered_at.isoformat(), f"before lot {lot_number} was made")]
        )
    if administered_at.date() > lot.expires_on:
        raise InvalidState(f"lot {lot_number!r} expired on {lot.expires_on}")
    if lot.dose_number != dose_number:
        raise ValidationFailed(
            [Problem("dose_number", dose_number, f"lot {lot_number!r} is for dose {lot.dose_number}")]
        )
    dose = next((d for d in tx.protocol.dosing.doses if d.number == dose_number), None)
    if dose is None:
        raise ValidationFailed([Problem("dose_number", dose_number, "not a scheduled dose")])
    if tx.session.execute(
        select(Administration.id).where(
            Administration.participant_id == p.id, Administration.dose_number == dose_number
        )
    ).scalar():
        raise Conflict(f"dose {dose_number} of {code!r} is already recorded")
    visit_record(tx, p, dose.visit)
    row = Administration(
        participant_id=p.id,
        lot_id=lot.id,
        dose_number=dose_number,
        visit_code=dose.visit,
        administered_at=administered_at,
        route=tx.protocol.dosing.route,
        label_coi_id=label_coi_id,
    )
    lot.status = "administered"
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "dose.administer",
        "administration",
        row.id,
        {
            "lot_number": (None, lot_number),
            "dose_number": (None, dose_number),
            "visit": (None, dose.visit),
            "administered_at": (None, administered_at),
            "route": (None, row.route),
            "label_coi_id": (None, label_coi_id),
        },
        participant=p,
    )
    tx.audit("lot.administer", "product_lot", lot.id, {"status": ("released", "administered")}, participant=p)
    return row.id
