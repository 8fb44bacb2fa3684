"""Creator program applications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "creator_applications",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey(
            "users.id", name="fk_creator_applications_user_id_users"), nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("expertise", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_ms", sa.BigInteger, nullable=True),
        sa.Column("decided_by", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_creator_applications"),
    )
    op.create_index("ix_creator_applications_user_id_status", "creator_applications",
                    ["user_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_creator_applications_user_id_status", "creator_applications")
    op.drop_table("creator_applications")
