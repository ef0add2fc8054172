"""The concealed allocation list. Only unblinded roles may read ``arm`` (enforced by the services)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base
from alstrial.store.types import UTCDateTime


class AllocationSlot(Base):
    __tablename__ = "allocation_slot"
    __table_args__ = (UniqueConstraint("stratum_key", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stratum_key: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(32))
    kit_code: Mapped[str] = mapped_column(String(40), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), unique=True)
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
