"""Real USDC on an EVM chain: watcher cursor and recent block hashes, deposit addresses,
deposits, withdrawals, signed hot-wallet transactions, alerts and frozen accounts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chain_cursor",
        sa.Column("id", sa.SmallInteger, autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_cursor"),
    )
    op.create_table(
        "chain_blocks",
        sa.Column("number", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(66), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_chain_blocks"),
    )
    op.create_table(
        "chain_addresses",
        sa.Column("account_id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_chain_addresses"),
        sa.UniqueConstraint("address", name="uq_chain_addresses_address"),
    )
    op.create_table(
        "chain_deposits",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("amount_micro", sa.BigInteger, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seen_ms", sa.BigInteger, nullable=False),
        sa.Column("credited_ms", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_chain_deposits_tx_hash_log_index"),
    )
    op.create_index("ix_chain_deposits_account_id_id", "chain_deposits", ["account_id", "id"])
    op.create_index("ix_chain_deposits_status", "chain_deposits", ["status"])
    op.create_table(
        "chain_withdrawals",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=False),
        sa.Column("amount_micro", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("debited", sa.Boolean, nullable=False),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.BigInteger, nullable=True),
        sa.Column("tx_id", sa.BigInteger, nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "request_id",
                            name="uq_chain_withdrawals_account_id_request_id"),
    )
    op.create_index("ix_chain_withdrawals_status", "chain_withdrawals", ["status"])
    op.create_table(
        "chain_txs",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref_id", sa.BigInteger, nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("raw_tx", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("gas_used", sa.BigInteger, nullable=True),
        sa.Column("gas_cost_wei", sa.Numeric(38, 0), nullable=True),
        sa.Column("broadcasts", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("nonce", name="uq_chain_txs_nonce"),
        sa.UniqueConstraint("tx_hash", name="uq_chain_txs_tx_hash"),
    )
    op.create_table(
        "chain_alerts",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("resolved_ms", sa.BigInteger, nullable=True),
        sa.Column("resolved_by", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "chain_frozen",
        sa.Column("account_id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_chain_frozen"),
    )


def downgrade() -> None:
    for name in ("chain_frozen", "chain_alerts", "chain_txs"):
        op.drop_table(name)
    op.drop_index("ix_chain_withdrawals_status", "chain_withdrawals")
    op.drop_table("chain_withdrawals")
    op.drop_index("ix_chain_deposits_status", "chain_deposits")
    op.drop_index("ix_chain_deposits_account_id_id", "chain_deposits")
    op.drop_table("chain_deposits")
    for name in ("chain_addresses", "chain_blocks", "chain_cursor"):
        op.drop_table(name)
