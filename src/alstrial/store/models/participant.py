"""Participants from screening on, and every eligibility criterion's outcome (screen failures kept)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base
from alstrial.store.types import UTCDateTime


class Participant(Base):
    """One screened person. ``status``: screen_failed, eligible, enrolled, randomized.

    ``coi_id`` is the chain-of-identity identifier printed on every label of the participant's
    autologous product; ``day0`` is the date of the first dose (the schedule's anchor).
    The arm is never stored here: it lives only in ``allocation_slot``.
    """

    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    coi_id: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    consent_date: Mapped[date] = mapped_column(Date)
    screened_on: Mapped[date] = mapped_column(Date)
    eligible: Mapped[bool] = mapped_column(Boolean)
    screening_json: Mapped[str] = mapped_column(Text)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    stratum_key: Mapped[str | None] = mapped_column(String(200))
    kit_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    randomized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    day0: Mapped[date | None] = mapped_column(Date)


class EligibilityOutcome(Base):
    __tablename__ = "eligibility_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    #: NULL while the criterion is not judged yet (run-in criteria at screening)
    passed: Mapped[bool | None] = mapped_column(Boolean)
