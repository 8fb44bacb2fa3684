"""Suspensions and reinstatements of accounts: who, when and why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_events",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("user_id", AutoId, sa.ForeignKey(
            "users.id", name="fk_user_events_user_id_users"), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_events"),
    )
    op.create_index("ix_user_events_user_id_id", "user_events", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_events_user_id_id", table_name="user_events")
    op.drop_table("user_events")
