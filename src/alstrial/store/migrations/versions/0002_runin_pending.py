"""Run-in criteria pending at screening: ``eligibility_outcome.passed`` may be NULL (not judged yet).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eligibility_outcome", schema=None) as batch_op:
        batch_op.alter_column("passed", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    # a criterion not judged yet becomes "not passed", the only value NOT NULL allows
    op.execute("UPDATE eligibility_outcome SET passed = false WHERE passed IS NULL")
    with op.batch_alter_table("eligibility_outcome", schema=None) as batch_op:
        batch_op.alter_column("passed", existing_type=sa.Boolean(), nullable=False)
