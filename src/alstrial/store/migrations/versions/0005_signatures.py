"""Electronic signatures, the lock's override reason, and concealed minimization decisions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("visit_code", sa.String(length=32), nullable=True),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_signature_participant_id_participant")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_signature_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
        sa.UniqueConstraint("manifest_sha256", name=op.f("uq_signature_manifest_sha256")),
    )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signature_target"), ["target"], unique=False)

    op.create_table(
        "minimization_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("factors_json", sa.Text(), nullable=False),
        sa.Column("scores_json", sa.Text(), nullable=False),
        sa.Column("probabilities_json", sa.Text(), nullable=False),
        sa.Column("draw", sa.Float(), nullable=False),
        sa.Column("arm", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("decision_sha256", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_minimization_decision_participant_id_participant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minimization_decision")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_minimization_decision_participant_id")),
        sa.UniqueConstraint("sequence", name=op.f("uq_minimization_decision_sequence")),
    )
    with op.batch_alter_table("lock_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lock_event", schema=None) as batch_op:
        batch_op.drop_column("override_reason")
    op.drop_table("minimization_decision")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_target"))
        batch_op.drop_index(batch_op.f("ix_signature_participant_id"))
    op.drop_table("signature")
