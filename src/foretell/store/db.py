"""Database engines and migrations: the store's only knowledge of URLs, drivers and pragmas.

SQLite (the embedded default) runs in WAL mode with foreign keys on and `synchronous=NORMAL`:
the journal, not the read model, is the system of record, and the projector's last applied
sequence commits in the same transaction as its rows, so a lost tail is simply projected again.
PostgreSQL goes through psycopg 3; `postgresql://` and `postgres://` URLs are rewritten to it.

A SQLite cursor left unfinished (a request that failed while reading a result set, its traceback
keeping the result alive) keeps its statement active, and with it the connection's read
snapshot: the pooled connection would then serve old data, fail writes with "database is
locked" and stop the WAL from being checkpointed. So every cursor is closed when its
connection goes back to the pool.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
sqlite_busy_timeout_ms = 10_000


def normalize_url(url: str | sa.URL) -> sa.URL:
    """The URL with its driver made explicit: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def connect(url: str | sa.URL, **engine_kw: Any) -> sa.Engine:
    """An Engine for `url`, with the SQLite pragmas installed on every new connection."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        _make_parent_dir(parsed)
        engine = sa.create_engine(parsed, **engine_kw)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "before_cursor_execute", _remember_cursor)
        sa.event.listen(engine.pool, "checkin", _close_cursors)
        return engine
    return sa.create_engine(parsed, **engine_kw)


def migrate(url: str | sa.URL | sa.Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (no alembic.ini: the config is built here)."""
    engine = url if isinstance(url, sa.Engine) else connect(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if engine is not url:
            engine.dispose()


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (for code and for tests)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _remember_cursor(conn: sa.Connection, cursor: Any, *_: Any) -> None:
    conn.connection.info.setdefault("cursors", weakref.WeakSet()).add(cursor)


def _close_cursors(_dbapi_connection: Any, record: Any) -> None:
    """Back in the pool: no statement of a past request may still hold a read snapshot."""
    cursors = record.info.pop("cursors", None) if record is not None else None
    for cursor in list(cursors or ()):
        cursor.close()


def _make_parent_dir(url: sa.URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = os.path.dirname(os.path.abspath(database))
        os.makedirs(parent, exist_ok=True)
