"""The allocation list's seed becomes a 128-bit secret: stored as decimal text (no integer column holds it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trial", schema=None) as batch_op:
        batch_op.alter_column(
            "randomization_seed",
            existing_type=sa.Integer(),
            type_=sa.String(length=40),
            existing_nullable=False,
            postgresql_using="randomization_seed::text",
        )


def downgrade() -> None:
    # a secret wider than an integer column cannot go back: the cast fails rather than truncates it
    with op.batch_alter_table("trial", schema=None) as batch_op:
        batch_op.alter_column(
            "randomization_seed",
            existing_type=sa.String(length=40),
            type_=sa.Integer(),
            existing_nullable=False,
            postgresql_using="randomization_seed::integer",
        )
