"""Migrations create exactly the schema in `schema.py`, and running them again changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from foretell.store import db
from foretell.store import schema as t


def test_upgrade_on_empty_database_creates_every_table(make_url: Callable[[], str]) -> None:
    url = make_url()
    db.migrate(url)
    engine = db.connect(url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names()) - t.FULL_TEXT_OBJECTS
            assert names == {table.name for table in t.metadata.sorted_tables} | {
                "alembic_version"}
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_name": _not_full_text})
            assert compare_metadata(context, t.metadata) == []
            assert conn.scalar(sa.select(t.projector_state.c.last_seq)) == 0
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(make_url: Callable[[], str]) -> None:
    url = make_url()
    db.migrate(url)
    engine = db.connect(url)
    try:
        with engine.begin() as conn:
            conn.execute(t.projector_state.update().values(last_seq=42))
            before = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        db.migrate(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == before
            assert before == [("0007",)]
            assert conn.scalar(sa.select(t.projector_state.c.last_seq)) == 42
    finally:
        engine.dispose()


def _not_full_text(name: str | None, type_: str, parent_names: object) -> bool:
    """Full-text objects are dialect-specific DDL outside the metadata (migration 0003)."""
    return name not in t.FULL_TEXT_OBJECTS


def test_urls_get_the_psycopg_driver() -> None:
    for plain in ("postgresql://u@h:5432/d", "postgres://u@h/d"):
        assert db.normalize_url(plain).drivername == "postgresql+psycopg"
    assert db.normalize_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalize_url("sqlite:///var/foretell.db").drivername == "sqlite"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/sub/dir/foretell.db"  # parent directories are created
    db.migrate(url)
    engine = db.connect(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
