"""Adverse events (SDTM AE fields) and ICH E9(R1) intercurrent events."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base, Versioned


class AdverseEvent(Versioned, Base):
    __tablename__ = "adverse_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    onset_date: Mapped[date] = mapped_column(Date)
    resolution_date: Mapped[date | None] = mapped_column(Date)
    serious: Mapped[bool] = mapped_column(Boolean)
    sae_death: Mapped[bool] = mapped_column(Boolean)
    sae_life_threatening: Mapped[bool] = mapped_column(Boolean)
    sae_hospitalization: Mapped[bool] = mapped_column(Boolean)
    sae_disability: Mapped[bool] = mapped_column(Boolean)
    sae_congenital_anomaly: Mapped[bool] = mapped_column(Boolean)
    sae_medically_important: Mapped[bool] = mapped_column(Boolean)
    severity: Mapped[str] = mapped_column(String(16))
    relatedness: Mapped[str] = mapped_column(String(16))
    action_taken: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))


class IntercurrentEvent(Versioned, Base):
    """Death, tracheostomy, permanent assisted ventilation, gastrostomy, NIV start or rescue medication."""

    __tablename__ = "intercurrent_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    event_date: Mapped[date] = mapped_column(Date)
    hours_per_day: Mapped[float | None] = mapped_column(Float)
    consecutive_days: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str | None] = mapped_column(Text)
