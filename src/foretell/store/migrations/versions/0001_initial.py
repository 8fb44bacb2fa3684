"""Initial store schema: users and keys, markets, orders, trades, ledger views, candles, triggers.

Written out in full (not generated from `schema.metadata` at run time), so that this revision
keeps creating the same tables after the metadata moves on; a test checks that head matches it.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Big = sa.BigInteger


def _auto_id() -> sa.Column[int]:
    return sa.Column("id", AutoId, primary_key=True, autoincrement=True)


def _engine_id() -> sa.Column[int]:
    return sa.Column("id", Big, primary_key=True, autoincrement=False)


def _col(name: str, type_: Any = Big, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable)


def upgrade() -> None:
    _accounts()
    _markets()
    _orders_and_trades()
    _ledger()
    _market_data()


def _accounts() -> None:
    state = op.create_table(
        "projector_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        _col("last_seq"),
        sa.PrimaryKeyConstraint("id", name="pk_projector_state"),
    )
    op.bulk_insert(state, [{"id": 1, "last_seq": 0}])
    op.create_table(
        "users",
        _auto_id(),
        _col("username", sa.String(64)),
        _col("display_name", sa.String(128)),
        _col("email", sa.String(256), nullable=True),
        _col("password_hash", sa.String(256)),
        _col("role", sa.String(16)),
        _col("created_ms"),
        _col("disabled", sa.Boolean),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('trader', 'creator', 'supervisor')", name="ck_users_role"),
    )
    op.create_table(
        "api_keys",
        _auto_id(),
        _col("key_id", sa.String(64)),
        _col("user_id", AutoId),
        _col("secret_hash", sa.String(256)),
        _col("scopes", sa.String(64)),
        _col("label", sa.String(128)),
        _col("created_ms"),
        _col("revoked_ms", nullable=True),
        _col("last_used_ms", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_keys_user_id_users"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "sessions",
        _col("id", sa.String(128)),
        _col("user_id", AutoId),
        _col("csrf_token", sa.String(128)),
        _col("created_ms"),
        _col("expires_ms"),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_ms", "sessions", ["expires_ms"])


def _markets() -> None:
    op.create_table(
        "markets",
        _engine_id(),
        _col("slug", sa.String(128)),
        _col("question", sa.Text),
        _col("description", sa.Text),
        _col("category", sa.String(64)),
        _col("tags", sa.Text),
        _col("kind", sa.String(16)),
        _col("outcomes", sa.Text),
        _col("rules", sa.Text),
        _col("status", sa.String(32)),
        _col("tick_micro"),
        _col("size_max"),
        _col("maker_fee_ppm", sa.Integer),
        _col("taker_fee_ppm", sa.Integer),
        _col("creator_id", nullable=True),
        _col("creator_share_ppm", sa.Integer),
        _col("created_by", nullable=True),
        _col("close_ms", nullable=True),
        _col("resolution_deadline_ms", nullable=True),
        _col("void_yes_micro"),
        _col("dispute_window_ms"),
        _col("dispute_bond_micro"),
        _col("dispute_reward_ppm", sa.Integer),
        _col("proposed_winner", sa.Integer, nullable=True),
        _col("dispute_deadline_ms", nullable=True),
        _col("created_ms"),
        _col("updated_ms"),
        _col("winner", sa.Integer, nullable=True),
        _col("volume_shares"),
        _col("fees_micro"),
        sa.PrimaryKeyConstraint("id", name="pk_markets"),
        sa.UniqueConstraint("slug", name="uq_markets_slug"),
    )
    op.create_index("ix_markets_category", "markets", ["category"])
    op.create_index("ix_markets_status", "markets", ["status"])
    op.create_table(
        "contracts",
        _engine_id(),
        _col("market_id"),
        _col("idx", sa.Integer),
        _col("name", sa.String(256)),
        _col("last_price_micro", nullable=True),
        _col("volume_shares"),
        _col("prev_day_price_micro", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
        sa.UniqueConstraint("market_id", "idx", name="uq_contracts_market_id_idx"),
        sa.ForeignKeyConstraint(["market_id"], ["markets.id"],
                                name="fk_contracts_market_id_markets"),
    )
    op.create_table(
        "market_events",
        _auto_id(),
        _col("seq"),
        _col("ts_ms"),
        _col("market_id"),
        _col("kind", sa.String(16)),
        _col("status", sa.String(32), nullable=True),
        _col("action", sa.String(32), nullable=True),
        _col("actor", nullable=True),
        _col("reason", sa.Text),
        _col("text", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_market_events"),
    )
    op.create_index("ix_market_events_market_id_id", "market_events", ["market_id", "id"])


def _orders_and_trades() -> None:
    small = sa.SmallInteger
    op.create_table(
        "orders",
        _engine_id(),
        _col("account_id"),
        _col("contract_id"),
        _col("market_id"),
        _col("outcome", small),
        _col("action", small),
        _col("order_type", small),
        _col("price_micro"),
        _col("size"),
        _col("filled"),
        _col("remaining"),
        _col("status", sa.String(16)),
        _col("reason", sa.String(32)),
        _col("tif", small),
        _col("flags", small),
        _col("client_id", sa.String(64)),
        _col("expire_ms", nullable=True),
        _col("trigger_id", nullable=True),
        _col("notional_micro"),
        _col("fees_micro"),
        _col("created_ms"),
        _col("updated_ms"),
        _col("created_seq"),
        _col("updated_seq"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_market_id", "orders", ["market_id"])
    op.create_index("ix_orders_account_id_id", "orders", ["account_id", "id"])
    op.create_index("ix_orders_account_id_client_id", "orders", ["account_id", "client_id"])
    op.create_table(
        "order_rejections",
        _auto_id(),
        _col("seq"),
        _col("ts_ms"),
        _col("account_id"),
        _col("contract_id"),
        _col("client_id", sa.String(64)),
        _col("code", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_order_rejections"),
    )
    op.create_index("ix_order_rejections_account_id_id", "order_rejections",
                    ["account_id", "id"])
    op.create_table(
        "trades",
        _auto_id(),
        _col("seq"),
        _col("ts_ms"),
        _col("contract_id"),
        _col("yes_price_micro"),
        _col("size"),
        _col("kind", small),
        _col("taker_order"),
        _col("maker_order"),
        _col("taker_side", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
    )
    op.create_index("ix_trades_contract_id_id", "trades", ["contract_id", "id"])
    op.create_table(
        "fills",
        _auto_id(),
        _col("trade_id", AutoId),
        _col("seq"),
        _col("ts_ms"),
        _col("account_id"),
        _col("order_id"),
        _col("contract_id"),
        _col("outcome", small),
        _col("action", small),
        _col("price_micro"),
        _col("size"),
        _col("fee_micro"),
        _col("liquidity", sa.String(8)),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.ForeignKeyConstraint(["trade_id"], ["trades.id"], name="fk_fills_trade_id_trades"),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"])
    op.create_index("ix_fills_account_id_id", "fills", ["account_id", "id"])
    op.create_table(
        "triggers",
        _engine_id(),
        _col("account_id"),
        _col("contract_id"),
        _col("outcome", small),
        _col("kind", small),
        _col("trigger_micro"),
        _col("size"),
        _col("limit_micro", nullable=True),
        _col("oco", nullable=True),
        _col("client_id", sa.String(64)),
        _col("status", sa.String(16)),
        _col("reason", sa.String(64)),
        _col("order_id", nullable=True),
        _col("created_ms"),
        _col("updated_ms"),
        sa.PrimaryKeyConstraint("id", name="pk_triggers"),
    )
    op.create_index("ix_triggers_account_id_id", "triggers", ["account_id", "id"])


def _ledger() -> None:
    op.create_table(
        "balances",
        sa.Column("account_id", Big, primary_key=True, autoincrement=False),
        _col("free_micro"),
        _col("reserved_micro"),
        _col("updated_ms"),
        _col("updated_seq"),
        sa.PrimaryKeyConstraint("account_id", name="pk_balances"),
    )
    op.create_table(
        "positions",
        sa.Column("account_id", Big, primary_key=True, autoincrement=False),
        sa.Column("contract_id", Big, primary_key=True, autoincrement=False),
        _col("yes_shares"),
        _col("no_shares"),
        _col("yes_reserved"),
        _col("no_reserved"),
        _col("yes_cost_micro"),
        _col("no_cost_micro"),
        _col("cost_micro"),
        _col("realized_pnl_micro"),
        _col("updated_ms"),
        _col("updated_seq"),
        sa.PrimaryKeyConstraint("account_id", "contract_id", name="pk_positions"),
    )
    op.create_table(
        "cash_movements",
        _auto_id(),
        _col("seq"),
        _col("ts_ms"),
        _col("account_id"),
        _col("amount_micro"),
        _col("reason", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_cash_movements"),
    )
    op.create_index("ix_cash_movements_account_id_id", "cash_movements", ["account_id", "id"])
    op.create_table(
        "settlements",
        _auto_id(),
        _col("seq"),
        _col("ts_ms"),
        _col("market_id"),
        _col("contract_id"),
        _col("account_id"),
        _col("yes_shares"),
        _col("no_shares"),
        _col("amount_micro"),
        sa.PrimaryKeyConstraint("id", name="pk_settlements"),
    )
    op.create_index("ix_settlements_market_id", "settlements", ["market_id"])
    op.create_index("ix_settlements_account_id_id", "settlements", ["account_id", "id"])


def _market_data() -> None:
    op.create_table(
        "candles",
        sa.Column("contract_id", Big, primary_key=True, autoincrement=False),
        sa.Column("interval_s", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("start_ms", Big, primary_key=True, autoincrement=False),
        _col("open_micro"),
        _col("high_micro"),
        _col("low_micro"),
        _col("close_micro"),
        _col("volume_shares"),
        _col("trades", sa.Integer),
        sa.PrimaryKeyConstraint("contract_id", "interval_s", "start_ms", name="pk_candles"),
    )


def downgrade() -> None:
    for table in ("candles", "settlements", "cash_movements", "positions", "balances",
                  "triggers", "fills", "trades", "order_rejections", "orders", "market_events",
                  "contracts", "markets", "sessions", "api_keys", "users", "projector_state"):
        op.drop_table(table)
