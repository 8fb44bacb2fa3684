"""Armed dead-man's switches, so that a restart neither forgets nor delays them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_man_switches",
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey(
            "users.id", name="fk_dead_man_switches_account_id_users"), nullable=False),
        sa.Column("due_ms", sa.BigInteger, nullable=False),
        sa.Column("timeout_s", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_dead_man_switches"),
    )


def downgrade() -> None:
    op.drop_table("dead_man_switches")
