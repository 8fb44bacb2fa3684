"""The SQL read model: every table of the store, as SQLAlchemy Core metadata.

Owned here: table and index definitions. The migrations in `migrations/versions` create exactly
this schema (a test compares them), so a change here needs a new migration.

Conventions, so that nobody guesses units:
  - money and prices are BigInteger micro-USDC (`*_micro`); prices in `trades`, `candles` and
    `contracts` are YES terms, prices in `orders` and `fills` are the traded outcome's own terms;
  - sizes are BigInteger whole shares (`size`, `*_shares`);
  - times are BigInteger milliseconds since the epoch (`*_ms`); `seq` is the journal sequence of
    the command whose events wrote the row;
  - JSON values are Text; vocabularies from `foretell.domain.orders` (outcome, action,
    order_type, tif, flags, trigger kind, fill kind) are stored as their small ints.
Ids of markets, contracts, orders and triggers are the engine's own; `users.id` is the engine
account id. Only the projector writes the engine-derived tables, so it needs no upserts on them
beyond the ones it does itself.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid alias), so surrogate keys are
# INTEGER there and BIGINT elsewhere (BIGSERIAL-style identity on PostgreSQL).
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Micro = sa.BigInteger
Ms = sa.BigInteger


def _auto_id() -> sa.Column[int]:
    return sa.Column("id", AutoId, primary_key=True, autoincrement=True)


def _engine_id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False)


projector_state = sa.Table(
    "projector_state", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users", metadata,
    _auto_id(),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False, default=""),
    sa.Column("email", sa.String(256), nullable=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False, default="trader"),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint("role IN ('trader', 'creator', 'supervisor')", name="role"),
)

# Who suspended or reinstated an account, when and why ('suspended' | 'reinstated'); the
# account's current standing is `users.disabled`, this is its history (services/accounts.py).
user_events = sa.Table(
    "user_events", metadata,
    _auto_id(),
    sa.Column("user_id", AutoId, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.BigInteger, nullable=True),  # None = an operator at the CLI
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_user_events_user_id_id", "user_id", "id"),
)

api_keys = sa.Table(
    "api_keys", metadata,
    _auto_id(),
    sa.Column("key_id", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", AutoId, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(256), nullable=False),
    sa.Column("scopes", sa.String(64), nullable=False, default="read"),
    sa.Column("label", sa.String(128), nullable=False, default=""),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("revoked_ms", Ms, nullable=True),
    sa.Column("last_used_ms", Ms, nullable=True),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.String(128), primary_key=True),  # hash of the session token
    sa.Column("user_id", AutoId, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("expires_ms", Ms, nullable=False, index=True),
)

# Order groups (engine/risk.py), projected from GROUP_* events; their orders carry
# `orders.group_id`. Rows written by the service before the groups moved into the engine may
# remain; the projector upserts, so an id the engine hands out again replaces such a row.
order_groups = sa.Table(
    "order_groups", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("contracts_limit", sa.BigInteger, nullable=False),
    sa.Column("window_ms", Ms, nullable=False),
    sa.Column("triggered", sa.Boolean, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

# One row per armed dead-man's switch (account -> when its orders are cancelled unless renewed),
# projected from DEAD_MAN_* events (the switch is engine state, engine/risk.py).
dead_man_switches = sa.Table(
    "dead_man_switches", metadata,
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("due_ms", Ms, nullable=False),
    sa.Column("timeout_s", sa.Integer, nullable=False),
)

markets = sa.Table(
    "markets", metadata,
    _engine_id(),
    sa.Column("slug", sa.String(128), nullable=False, unique=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.String(64), nullable=False, index=True),
    sa.Column("tags", sa.Text, nullable=False),  # JSON list of strings
    sa.Column("kind", sa.String(16), nullable=False),  # 'binary' | 'categorical'
    sa.Column("outcomes", sa.Text, nullable=False),  # JSON list of outcome names
    sa.Column("rules", sa.Text, nullable=False),  # JSON object (or text) fixed before open
    sa.Column("status", sa.String(32), nullable=False, index=True),  # markets.STATUS_NAMES
    sa.Column("tick_micro", Micro, nullable=False),
    sa.Column("size_max", sa.BigInteger, nullable=False),
    sa.Column("maker_fee_ppm", sa.Integer, nullable=False),
    sa.Column("taker_fee_ppm", sa.Integer, nullable=False),
    sa.Column("creator_id", sa.BigInteger, nullable=True),  # receives the creator fee share
    sa.Column("creator_share_ppm", sa.Integer, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=True),  # account that issued the create
    sa.Column("close_ms", Ms, nullable=True),  # None = closes only by command
    sa.Column("resolution_deadline_ms", Ms, nullable=True),
    sa.Column("void_yes_micro", Micro, nullable=False),  # paid per YES share if voided
    sa.Column("dispute_window_ms", Ms, nullable=False),
    sa.Column("dispute_bond_micro", Micro, nullable=False),
    sa.Column("dispute_reward_ppm", sa.Integer, nullable=False),
    sa.Column("proposed_winner", sa.Integer, nullable=True),  # outcome index under dispute window
    sa.Column("dispute_deadline_ms", Ms, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Column("winner", sa.Integer, nullable=True),  # outcome index once settled
    sa.Column("volume_shares", sa.BigInteger, nullable=False, default=0),
    sa.Column("fees_micro", Micro, nullable=False, default=0),
)

contracts = sa.Table(
    "contracts", metadata,
    _engine_id(),
    sa.Column("market_id", sa.BigInteger, sa.ForeignKey("markets.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("last_price_micro", Micro, nullable=True),  # YES terms; None = no trade yet
    sa.Column("volume_shares", sa.BigInteger, nullable=False, default=0),
    # Not maintained by the projector (it would need a clock); `queries.ticker` computes the
    # 24 h reference from candles. Kept for a job that may cache it.
    sa.Column("prev_day_price_micro", Micro, nullable=True),
    sa.UniqueConstraint("market_id", "idx"),
)

orders = sa.Table(
    "orders", metadata,
    _engine_id(),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("market_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("outcome", sa.SmallInteger, nullable=False),
    sa.Column("action", sa.SmallInteger, nullable=False),
    sa.Column("order_type", sa.SmallInteger, nullable=False),
    sa.Column("price_micro", Micro, nullable=False),  # outcome terms; protection for market
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("filled", sa.BigInteger, nullable=False),
    sa.Column("remaining", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | filled | cancelled | rejected
    sa.Column("reason", sa.String(32), nullable=False),  # accepted, partially_filled, ...
    sa.Column("tif", sa.SmallInteger, nullable=False),
    sa.Column("flags", sa.SmallInteger, nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False, default=""),
    sa.Column("expire_ms", Ms, nullable=True),  # GTD only
    sa.Column("trigger_id", sa.BigInteger, nullable=True),  # set when a trigger placed it
    sa.Column("group_id", sa.BigInteger, nullable=True, index=True),  # its order group, if any
    sa.Column("notional_micro", Micro, nullable=False, default=0),  # own terms, filled part
    sa.Column("fees_micro", Micro, nullable=False, default=0),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Column("created_seq", sa.BigInteger, nullable=False),
    sa.Column("updated_seq", sa.BigInteger, nullable=False),
    sa.Index("ix_orders_account_id_id", "account_id", "id"),
    sa.Index("ix_orders_account_id_client_id", "account_id", "client_id"),
)

order_rejections = sa.Table(
    "order_rejections", metadata,
    _auto_id(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),  # domain.codes result code
    sa.Index("ix_order_rejections_account_id_id", "account_id", "id"),
)

trades = sa.Table(
    "trades", metadata,
    _auto_id(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("yes_price_micro", Micro, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),  # 0 transfer, 1 mint, 2 merge
    sa.Column("taker_order", sa.BigInteger, nullable=False),
    sa.Column("maker_order", sa.BigInteger, nullable=False),
    sa.Column("taker_side", sa.String(16), nullable=False),  # 'buy_yes', 'sell_no', ...
    sa.Index("ix_trades_contract_id_id", "contract_id", "id"),
)

fills = sa.Table(
    "fills", metadata,
    _auto_id(),
    sa.Column("trade_id", AutoId, sa.ForeignKey("trades.id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("order_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.SmallInteger, nullable=False),
    sa.Column("action", sa.SmallInteger, nullable=False),
    sa.Column("price_micro", Micro, nullable=False),  # own outcome terms
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("fee_micro", Micro, nullable=False),
    sa.Column("liquidity", sa.String(8), nullable=False),  # 'maker' | 'taker'
    sa.Index("ix_fills_account_id_id", "account_id", "id"),
)

balances = sa.Table(
    "balances", metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("free_micro", Micro, nullable=False),
    sa.Column("reserved_micro", Micro, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Column("updated_seq", sa.BigInteger, nullable=False),
)

positions = sa.Table(
    "positions", metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("contract_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("yes_shares", sa.BigInteger, nullable=False),
    sa.Column("no_shares", sa.BigInteger, nullable=False),
    sa.Column("yes_reserved", sa.BigInteger, nullable=False),
    sa.Column("no_reserved", sa.BigInteger, nullable=False),
    # Average-cost basis (see projector's docstring): per side, and their sum in cost_micro.
    sa.Column("yes_cost_micro", Micro, nullable=False),
    sa.Column("no_cost_micro", Micro, nullable=False),
    sa.Column("cost_micro", Micro, nullable=False),
    sa.Column("realized_pnl_micro", Micro, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Column("updated_seq", sa.BigInteger, nullable=False),
)

cash_movements = sa.Table(
    "cash_movements", metadata,
    _auto_id(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    # From the account's side: deposits > 0, withdrawals < 0; market bonds locked < 0 and
    # returned or rewarded > 0, with reason 'bond_<kind>' (bond_proposal, bond_dispute, ...).
    sa.Column("amount_micro", Micro, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Index("ix_cash_movements_account_id_id", "account_id", "id"),
)

settlements = sa.Table(
    "settlements", metadata,
    _auto_id(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("market_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("yes_shares", sa.BigInteger, nullable=False),
    sa.Column("no_shares", sa.BigInteger, nullable=False),
    sa.Column("amount_micro", Micro, nullable=False),
    sa.Index("ix_settlements_account_id_id", "account_id", "id"),
)

candles = sa.Table(
    "candles", metadata,
    sa.Column("contract_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("interval_s", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("start_ms", Ms, primary_key=True, autoincrement=False),
    sa.Column("open_micro", Micro, nullable=False),
    sa.Column("high_micro", Micro, nullable=False),
    sa.Column("low_micro", Micro, nullable=False),
    sa.Column("close_micro", Micro, nullable=False),
    sa.Column("volume_shares", sa.BigInteger, nullable=False),
    sa.Column("trades", sa.Integer, nullable=False),
)

# The market's timeline: every status change ('status', with the new status), every lifecycle
# action ('action': submit, approve, clarify, update_draft, dispute, uphold, ...; `text` holds a
# clarification or the new draft meta) and every resolution proposal ('resolution', `text` =
# evidence). `actor` is the engine account that did it (None = the system, e.g. a timer).
market_events = sa.Table(
    "market_events", metadata,
    _auto_id(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_ms", Ms, nullable=False),
    sa.Column("market_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # status | action | resolution
    sa.Column("status", sa.String(32), nullable=True),
    sa.Column("action", sa.String(32), nullable=True),
    sa.Column("actor", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Index("ix_market_events_market_id_id", "market_id", "id"),
)

triggers = sa.Table(
    "triggers", metadata,
    _engine_id(),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("contract_id", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.SmallInteger, nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),  # 0 take-profit, 1 stop-loss, 2 trailing
    sa.Column("trigger_micro", Micro, nullable=False),  # outcome terms; trailing: the trail
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("limit_micro", Micro, nullable=True),  # None = market sell with protection
    sa.Column("oco", sa.BigInteger, nullable=True),  # the one-cancels-other partner trigger
    sa.Column("client_id", sa.String(64), nullable=False, default=""),
    sa.Column("status", sa.String(16), nullable=False),  # live | fired | cancelled | failed
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("order_id", sa.BigInteger, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Index("ix_triggers_account_id_id", "account_id", "id"),
)

CANDLE_INTERVALS_S = (60, 3_600, 86_400)
ORDER_STATUSES = ("open", "filled", "cancelled", "rejected")
TRIGGER_STATUSES = ("live", "fired", "cancelled", "failed")

creator_applications = sa.Table(
    "creator_applications", metadata,
    _auto_id(),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("expertise", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | approved | rejected
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("decided_ms", Ms, nullable=True),
    sa.Column("decided_by", sa.BigInteger, nullable=True),
    sa.Index(None, "user_id", "status"),
)

# -- news (owned by `foretell.news`) -------------------------------------------------------------
# News items come from feeds and from posts. Text columns hold sanitized plain text only
# (`foretell.news.text.plain_text`). De-duplication is enforced by unique keys, each a SHA-256 of
# a normalized value: `link_key` (same link), `title_key` (same normalized title from the same
# source) and `guid_key` (same entry id from the same source, so an edited entry updates its
# item). Full-text search is dialect-specific DDL owned by migration 0003 and kept outside this
# metadata (see FULL_TEXT_OBJECTS): on SQLite an FTS5 table over title, summary and tags kept in
# sync by triggers; on PostgreSQL a GIN index on their to_tsvector('english', ...) expression.

news_feeds = sa.Table(
    "news_feeds", metadata,
    _auto_id(),
    sa.Column("url", sa.String(2000), nullable=False, unique=True),  # http(s)://, file://, package://
    sa.Column("name", sa.String(200), nullable=False),  # the source name its items carry
    sa.Column("interval_s", sa.Integer, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("etag", sa.String(500), nullable=True),  # validators for conditional requests
    sa.Column("last_modified", sa.String(100), nullable=True),
    sa.Column("failures", sa.Integer, nullable=False),  # consecutive; drives the back-off
    sa.Column("next_poll_ms", Ms, nullable=False),
    sa.Column("last_poll_ms", Ms, nullable=True),
    sa.Column("last_ok_ms", Ms, nullable=True),
    sa.Column("last_status", sa.String(16), nullable=True),  # ok | not_modified | error
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("items_total", sa.BigInteger, nullable=False),  # items this feed added
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=True),
)

news_items = sa.Table(
    "news_items", metadata,
    _auto_id(),
    sa.Column("kind", sa.String(16), nullable=False),  # report | analysis
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("link", sa.String(2000), nullable=True),  # absolute http(s) only
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("tags", sa.Text, nullable=False),  # JSON list of clean tags (also in news_tags)
    sa.Column("published_ms", Ms, nullable=False),  # never in the future at arrival
    sa.Column("arrived_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.Column("feed_id", sa.BigInteger, nullable=True),  # no FK: items outlive their feed
    sa.Column("guid", sa.String(500), nullable=True),
    sa.Column("posted_by", sa.BigInteger, nullable=True),  # user id of a post
    sa.Column("link_key", sa.String(64), nullable=True, unique=True),
    sa.Column("title_key", sa.String(64), nullable=False, unique=True),
    sa.Column("guid_key", sa.String(64), nullable=True, unique=True),
    sa.Index("ix_news_items_published_ms_id", "published_ms", "id"),
)

news_tags = sa.Table(
    "news_tags", metadata,
    sa.Column("news_id", AutoId, sa.ForeignKey("news_items.id"), primary_key=True,
              autoincrement=False),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Index("ix_news_tags_tag_news_id", "tag", "news_id"),
)

# A removed link stays as a tombstone (`removed_ms` set), so that re-linking an updated item
# never brings back a link a creator or supervisor took away.
news_links = sa.Table(
    "news_links", metadata,
    sa.Column("news_id", AutoId, sa.ForeignKey("news_items.id"), primary_key=True,
              autoincrement=False),
    sa.Column("market_id", sa.BigInteger, sa.ForeignKey("markets.id"), primary_key=True,
              autoincrement=False),
    sa.Column("how", sa.String(16), nullable=False),  # tag | text | manual
    sa.Column("reason", sa.String(300), nullable=False),  # the shared tags or keywords, or who
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("removed_ms", Ms, nullable=True),
    sa.Column("removed_by", sa.BigInteger, nullable=True),
    sa.Index("ix_news_links_market_id_news_id", "market_id", "news_id"),
)

# Full-text objects that migration 0003 creates with dialect-specific DDL, outside this
# metadata: schema comparisons (tests, autogenerate) must skip these names.
FULL_TEXT_OBJECTS = frozenset({
    "news_fts", "news_fts_data", "news_fts_idx", "news_fts_docsize", "news_fts_config",
    "news_fts_content",  # SQLite FTS5 table and its shadow tables
    "ix_news_items_search",  # PostgreSQL GIN expression index
})

# -- Real USDC on an EVM chain (foretell.chain) ----------------------------------------------
# Written by the chain package only, never by the projector. Addresses are EIP-55 checksummed,
# transaction and block hashes 0x-prefixed lower case, token amounts in micro-USDC (USDC has 6
# decimals: one token unit is one micro-USDC).

# The watcher's cursor: the last block read (its hash too, to notice a reorg under it).
chain_cursor = sa.Table(
    "chain_cursor", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),  # always 1
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("block_hash", sa.String(66), nullable=False),
)

# Hashes of the recent blocks read, to find the fork point of a reorg.
chain_blocks = sa.Table(
    "chain_blocks", metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(66), nullable=False),
)

# One deposit address per account (CREATE2 address of its forwarder; see contracts/).
chain_addresses = sa.Table(
    "chain_addresses", metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("address", sa.String(42), nullable=False, unique=True),
    sa.Column("created_ms", Ms, nullable=False),
)

# One row per Transfer log into a deposit address, credited at most once. status:
# pending -> crediting -> credited; pending -> reorged (its block left the chain; revived as
# pending if the same log comes back); credited -> reorged_credited (a reorg deeper than the
# confirmations: flagged for the supervisor, the account's withdrawals frozen).
chain_deposits = sa.Table(
    "chain_deposits", metadata,
    _auto_id(),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("log_index", sa.Integer, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("address", sa.String(42), nullable=False),
    sa.Column("sender", sa.String(42), nullable=False),
    sa.Column("amount_micro", Micro, nullable=False),
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("block_hash", sa.String(66), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("seen_ms", Ms, nullable=False),
    sa.Column("credited_ms", Ms, nullable=True),
    sa.UniqueConstraint("tx_hash", "log_index"),
    sa.Index("ix_chain_deposits_account_id_id", "account_id", "id"),
    sa.Index("ix_chain_deposits_status", "status"),
)

# A withdrawal: requested (left free cash; `debited` once the Withdraw is durable) -> approved
# (at once below the approval limit, else by a supervisor) -> signed (raw transaction stored in
# chain_txs before it is sent) -> broadcast -> confirmed; or -> failed -> refunded; or
# rejected (by a supervisor) -> refunded; or cancelled (never debited: the request failed).
chain_withdrawals = sa.Table(
    "chain_withdrawals", metadata,
    _auto_id(),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),  # the trader's idempotency key
    sa.Column("to_address", sa.String(42), nullable=False),
    sa.Column("amount_micro", Micro, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("debited", sa.Boolean, nullable=False),
    sa.Column("needs_approval", sa.Boolean, nullable=False),
    sa.Column("approved_by", sa.BigInteger, nullable=True),  # 0 = under the limit
    sa.Column("tx_id", sa.BigInteger, nullable=True),
    sa.Column("note", sa.String(300), nullable=True),  # why it failed, was rejected...
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.UniqueConstraint("account_id", "request_id"),
    sa.Index("ix_chain_withdrawals_status", "status"),
)

# Every transaction the hot wallet signs (withdrawal transfers and sweeps), stored before it
# is broadcast: after a crash the same raw bytes are sent again, never a second transaction.
# Gas (ETH, paid by the hot wallet) is kept in wei per transaction, apart from any USDC.
chain_txs = sa.Table(
    "chain_txs", metadata,
    _auto_id(),
    sa.Column("kind", sa.String(16), nullable=False),  # withdrawal | sweep
    sa.Column("ref_id", sa.BigInteger, nullable=False),  # withdrawal id, or swept account id
    sa.Column("nonce", sa.BigInteger, nullable=False, unique=True),
    sa.Column("tx_hash", sa.String(66), nullable=False, unique=True),
    sa.Column("raw_tx", sa.Text, nullable=False),  # 0x hex of the signed transaction
    sa.Column("status", sa.String(16), nullable=False),  # signed|broadcast|confirmed|failed
    sa.Column("block_number", sa.BigInteger, nullable=True),
    sa.Column("gas_used", sa.BigInteger, nullable=True),
    sa.Column("gas_cost_wei", sa.Numeric(38, 0), nullable=True),
    sa.Column("broadcasts", sa.Integer, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
)

# Things a supervisor must look at: a reorg deeper than the confirmations after a credit, a
# reserves shortfall, a nonce used by something else. Resolved by a supervisor.
chain_alerts = sa.Table(
    "chain_alerts", metadata,
    _auto_id(),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=True),
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("resolved_ms", Ms, nullable=True),
    sa.Column("resolved_by", sa.BigInteger, nullable=True),
)

# Accounts whose withdrawals are frozen until a supervisor lifts it.
chain_frozen = sa.Table(
    "chain_frozen", metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)
