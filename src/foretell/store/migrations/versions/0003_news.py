"""News feed: feeds, items (de-duplicated by unique keys), tags, market links, full-text search.

Full-text search is dialect-specific and lives outside `schema.metadata` (its names are in
`schema.FULL_TEXT_OBJECTS`):
  - SQLite: an FTS5 table `news_fts` over title, summary and tags, with `news_items` as its
    external content, kept in sync by three triggers (insert, delete, update of those columns);
  - PostgreSQL: a GIN index `ix_news_items_search` on
    to_tsvector('english', title || ' ' || summary || ' ' || tags); `foretell.news.store` queries
    with exactly this expression so that the planner can use the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Big = sa.BigInteger

PG_SEARCH_EXPRESSION = "to_tsvector('english'::regconfig, title || ' ' || summary || ' ' || tags)"

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE news_fts USING fts5(title, summary, tags, content='news_items', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER news_items_fts_insert AFTER INSERT ON news_items BEGIN "
    "INSERT INTO news_fts(rowid, title, summary, tags) "
    "VALUES (new.id, new.title, new.summary, new.tags); END",
    "CREATE TRIGGER news_items_fts_delete AFTER DELETE ON news_items BEGIN "
    "INSERT INTO news_fts(news_fts, rowid, title, summary, tags) "
    "VALUES ('delete', old.id, old.title, old.summary, old.tags); END",
    "CREATE TRIGGER news_items_fts_update AFTER UPDATE OF title, summary, tags ON news_items "
    "BEGIN INSERT INTO news_fts(news_fts, rowid, title, summary, tags) "
    "VALUES ('delete', old.id, old.title, old.summary, old.tags); "
    "INSERT INTO news_fts(rowid, title, summary, tags) "
    "VALUES (new.id, new.title, new.summary, new.tags); END",
]


def _col(name: str, type_: Any = Big, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "news_feeds",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        _col("url", sa.String(2000)),
        _col("name", sa.String(200)),
        _col("interval_s", sa.Integer),
        _col("enabled", sa.Boolean),
        _col("etag", sa.String(500), nullable=True),
        _col("last_modified", sa.String(100), nullable=True),
        _col("failures", sa.Integer),
        _col("next_poll_ms"),
        _col("last_poll_ms", nullable=True),
        _col("last_ok_ms", nullable=True),
        _col("last_status", sa.String(16), nullable=True),
        _col("last_error", sa.String(500), nullable=True),
        _col("items_total"),
        _col("created_ms"),
        _col("created_by", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_news_feeds"),
        sa.UniqueConstraint("url", name="uq_news_feeds_url"),
    )
    op.create_table(
        "news_items",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        _col("kind", sa.String(16)),
        _col("title", sa.String(300)),
        _col("summary", sa.Text),
        _col("source", sa.String(200)),
        _col("link", sa.String(2000), nullable=True),
        _col("author", sa.String(200)),
        _col("tags", sa.Text),
        _col("published_ms"),
        _col("arrived_ms"),
        _col("updated_ms"),
        _col("feed_id", nullable=True),
        _col("guid", sa.String(500), nullable=True),
        _col("posted_by", nullable=True),
        _col("link_key", sa.String(64), nullable=True),
        _col("title_key", sa.String(64)),
        _col("guid_key", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_news_items"),
        sa.UniqueConstraint("link_key", name="uq_news_items_link_key"),
        sa.UniqueConstraint("title_key", name="uq_news_items_title_key"),
        sa.UniqueConstraint("guid_key", name="uq_news_items_guid_key"),
    )
    op.create_index("ix_news_items_published_ms_id", "news_items", ["published_ms", "id"])
    op.create_table(
        "news_tags",
        sa.Column("news_id", AutoId, autoincrement=False, nullable=False),
        _col("tag", sa.String(64)),
        sa.PrimaryKeyConstraint("news_id", "tag", name="pk_news_tags"),
        sa.ForeignKeyConstraint(["news_id"], ["news_items.id"],
                                name="fk_news_tags_news_id_news_items"),
    )
    op.create_index("ix_news_tags_tag_news_id", "news_tags", ["tag", "news_id"])
    op.create_table(
        "news_links",
        sa.Column("news_id", AutoId, autoincrement=False, nullable=False),
        sa.Column("market_id", Big, autoincrement=False, nullable=False),
        _col("how", sa.String(16)),
        _col("reason", sa.String(300)),
        _col("created_ms"),
        _col("created_by", nullable=True),
        _col("removed_ms", nullable=True),
        _col("removed_by", nullable=True),
        sa.PrimaryKeyConstraint("news_id", "market_id", name="pk_news_links"),
        sa.ForeignKeyConstraint(["news_id"], ["news_items.id"],
                                name="fk_news_links_news_id_news_items"),
        sa.ForeignKeyConstraint(["market_id"], ["markets.id"],
                                name="fk_news_links_market_id_markets"),
    )
    op.create_index("ix_news_links_market_id_news_id", "news_links", ["market_id", "news_id"])
    _full_text_up()


def _full_text_up() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX ix_news_items_search ON news_items "
                   f"USING gin ({PG_SEARCH_EXPRESSION})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS news_items_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS news_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_news_items_search")
    op.drop_index("ix_news_links_market_id_news_id", "news_links")
    op.drop_table("news_links")
    op.drop_index("ix_news_tags_tag_news_id", "news_tags")
    op.drop_table("news_tags")
    op.drop_index("ix_news_items_published_ms_id", "news_items")
    op.drop_table("news_items")
    op.drop_table("news_feeds")
