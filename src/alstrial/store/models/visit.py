"""Visits against the schedule and the measurements taken at them (ALSFRS-R, vital capacity, weight)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base, Versioned


class VisitRecord(Versioned, Base):
    """A visit that happened; out-of-window visits carry the reason they were accepted."""

    __tablename__ = "visit_record"
    __table_args__ = (UniqueConstraint("participant_id", "visit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    visit_code: Mapped[str] = mapped_column(String(32))
    visit_date: Mapped[date] = mapped_column(Date)
    study_day: Mapped[int] = mapped_column(Integer)
    in_window: Mapped[bool] = mapped_column(Boolean)
    deviation_days: Mapped[int] = mapped_column(Integer)
    out_of_window_reason: Mapped[str | None] = mapped_column(Text)


class AlsfrsAssessment(Versioned, Base):
    """Item-level ALSFRS-R with the derived total, subscores and stages stored alongside."""

    __tablename__ = "alsfrs_assessment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_record_id: Mapped[int] = mapped_column(ForeignKey("visit_record.id"), unique=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    q1: Mapped[int] = mapped_column(Integer)
    q2: Mapped[int] = mapped_column(Integer)
    q3: Mapped[int] = mapped_column(Integer)
    q4: Mapped[int] = mapped_column(Integer)
    q5a: Mapped[int | None] = mapped_column(Integer)
    q5b: Mapped[int | None] = mapped_column(Integer)
    q6: Mapped[int] = mapped_column(Integer)
    q7: Mapped[int] = mapped_column(Integer)
    q8: Mapped[int] = mapped_column(Integer)
    q9: Mapped[int] = mapped_column(Integer)
    q10: Mapped[int] = mapped_column(Integer)
    q11: Mapped[int] = mapped_column(Integer)
    q12: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    bulbar: Mapped[int] = mapped_column(Integer)
    fine_motor: Mapped[int] = mapped_column(Integer)
    gross_motor: Mapped[int] = mapped_column(Integer)
    respiratory: Mapped[int] = mapped_column(Integer)
    gastrostomy: Mapped[bool] = mapped_column(Boolean)
    kings_stage: Mapped[str] = mapped_column(String(8))
    mitos_stage: Mapped[int] = mapped_column(Integer)


class VitalCapacity(Versioned, Base):
    """Slow or forced vital capacity (SDTM RE: SVC/FVC, percent predicted)."""

    __tablename__ = "vital_capacity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_record_id: Mapped[int] = mapped_column(ForeignKey("visit_record.id"), unique=True)
    test: Mapped[str] = mapped_column(String(8))
    liters: Mapped[float | None] = mapped_column(Float)
    percent_predicted: Mapped[float] = mapped_column(Float)
    position: Mapped[str] = mapped_column(String(16))


class WeightMeasurement(Versioned, Base):
    __tablename__ = "weight_measurement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_record_id: Mapped[int] = mapped_column(ForeignKey("visit_record.id"), unique=True)
    weight_kg: Mapped[float] = mapped_column(Float)
