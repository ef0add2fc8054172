"""The autologous product's chain of identity: aspiration → lot (active or placebo) → administration.

A lot has the same fields and lot-number format whichever arm it is for: what is inside is
decided by the concealed allocation, never recorded here, so blinded users cannot tell.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base
from alstrial.store.types import UTCDateTime


class BoneMarrowAspiration(Base):
    __tablename__ = "bone_marrow_aspiration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    coi_id: Mapped[str] = mapped_column(String(32))
    aspirated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    volume_ml: Mapped[float] = mapped_column(Float)


class ProductLot(Base):
    """A manufactured (or placebo-prepared) lot; ``status``: manufactured, released, rejected, administered."""

    __tablename__ = "product_lot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(40), unique=True)
    aspiration_id: Mapped[int] = mapped_column(ForeignKey("bone_marrow_aspiration.id"))
    coi_id: Mapped[str] = mapped_column(String(32))
    dose_number: Mapped[int] = mapped_column(Integer)
    manufactured_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    labelled_amount: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Administration(Base):
    """An intrathecal dose actually given (SDTM EX: lot, route, date/time)."""

    __tablename__ = "administration"
    __table_args__ = (UniqueConstraint("participant_id", "dose_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("product_lot.id"), unique=True)
    dose_number: Mapped[int] = mapped_column(Integer)
    visit_code: Mapped[str] = mapped_column(String(32))
    administered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    route: Mapped[str] = mapped_column(String(32))
    label_coi_id: Mapped[str] = mapped_column(String(32))
