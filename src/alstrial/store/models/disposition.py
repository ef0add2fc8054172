"""Treatment discontinuation and study withdrawal, kept apart (ICH E9(R1): follow-up goes on after the first)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base


class TreatmentDiscontinuation(Base):
    __tablename__ = "treatment_discontinuation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    discontinued_on: Mapped[date] = mapped_column(Date)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(16))
    assessments_continue: Mapped[bool] = mapped_column(Boolean)
    vital_status_followup: Mapped[bool] = mapped_column(Boolean)


class StudyWithdrawal(Base):
    __tablename__ = "study_withdrawal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    withdrawn_on: Mapped[date] = mapped_column(Date)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(16))
    vital_status_followup: Mapped[bool] = mapped_column(Boolean)
