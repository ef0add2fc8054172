"""CSF samples and analyte results, keeping the value as reported and in the catalogue's standard unit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base, Versioned
from alstrial.store.types import UTCDateTime


class CsfSample(Base):
    __tablename__ = "csf_sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    visit_code: Mapped[str] = mapped_column(String(32))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LabResult(Versioned, Base):
    """One analyte of one sample. Below-LLOQ results keep the reported value (may be empty)."""

    __tablename__ = "lab_result"
    __table_args__ = (UniqueConstraint("sample_pk", "analyte"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_pk: Mapped[int] = mapped_column(ForeignKey("csf_sample.id"))
    analyte: Mapped[str] = mapped_column(String(32))
    value_original: Mapped[float | None] = mapped_column(Float)
    unit_original: Mapped[str] = mapped_column(String(32))
    value_std: Mapped[float | None] = mapped_column(Float)
    unit_std: Mapped[str] = mapped_column(String(32))
    lloq_std: Mapped[float] = mapped_column(Float)
    below_lloq: Mapped[bool] = mapped_column(Boolean)
    assay: Mapped[str] = mapped_column(String(100))
