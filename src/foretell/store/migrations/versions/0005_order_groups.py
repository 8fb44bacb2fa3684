"""Order groups and the group of each order, so that a restart keeps the risk control.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
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
        "order_groups",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey(
            "users.id", name="fk_order_groups_account_id_users"), nullable=False),
        sa.Column("contracts_limit", sa.BigInteger, nullable=False),
        sa.Column("window_ms", sa.BigInteger, nullable=False),
        sa.Column("triggered", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_groups"),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("group_id", sa.BigInteger, nullable=True))
    op.create_index("ix_orders_group_id", "orders", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_group_id", "orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("group_id")
    op.drop_table("order_groups")
