"""Electronic signatures (21 CFR Part 11 §11.50, §11.70) and the concealed record of minimization decisions.

A signature row is the signature manifestation: who signed (user, printed name, role), when
(UTC), what it means (authorship, review, approval, responsibility) and the SHA-256 of the
canonical JSON of exactly what was signed (``content_json`` keeps that JSON). Recomputing the
content from the current records and comparing hashes tells whether the signature still holds.
``manifest_sha256`` hashes the manifestation itself and is also written to the hash-chained
audit trail, so a signature row cannot be edited or copied to another record unnoticed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alstrial.store.base import Base
from alstrial.store.types import UTCDateTime


class Signature(Base):
    """One electronic signature; ``kind``: casebook, database_lock, database_unlock, unblind_trial,
    emergency_unblind. ``target`` names the record signed (``participant/P/visit/V``, ``lock_event/3`` ...)."""

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200), index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), index=True)
    visit_code: Mapped[str | None] = mapped_column(String(32))
    meaning: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_json: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)


class MinimizationDecision(Base):
    """One Pocock–Simon allocation, concealed like the allocation list (it holds the arm and the draw).

    ``sequence`` is the minimizer's assignment number (the index of its seeded draw); the
    participant's factor levels are also in the audit trail, so replaying the audit trail's
    factors with the trial's seed reproduces every arm and draw stored here.
    """

    __tablename__ = "minimization_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    factors_json: Mapped[str] = mapped_column(Text)
    scores_json: Mapped[str] = mapped_column(Text)
    probabilities_json: Mapped[str] = mapped_column(Text)
    draw: Mapped[float] = mapped_column(Float)
    arm: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    decision_sha256: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
