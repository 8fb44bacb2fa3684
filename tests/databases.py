"""Test databases on both backends, shared by the store and news suites.

SQLite always; PostgreSQL too when FORETELL_TEST_PG_URL is set, each test in a schema of its
own (named at random, so concurrent runs never meet). `Pool` hands out migrated, empty
databases so that each test pays for migrations at most once: SQLite copies a migrated
template file, PostgreSQL borrows migrated schemas that are emptied (TRUNCATE) when given back.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from pathlib import Path

import pytest

from foretell.store import db
from foretell.store import schema as t

PG_URL = os.environ.get("FORETELL_TEST_PG_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql",
                 marks=pytest.mark.skipif(not PG_URL, reason="FORETELL_TEST_PG_URL not set")),
]


def pg_url(schema: str) -> str:
    assert PG_URL is not None
    # Commits need not wait for the disk in tests; the schema keeps concurrent runs apart.
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = db.normalize_url(PG_URL).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


def pg_admin(sql: str) -> None:
    engine = db.connect(pg_url("public"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def new_pg_schema() -> str:
    """A new, empty schema."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    pg_admin(f'CREATE SCHEMA "{schema}"')
    return schema


class Pool:
    """Migrated databases for one session; `drop_all` at the end removes every schema made."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.numbers = itertools.count()
        self.template: Path | None = None
        self.free_schemas: list[str] = []
        self.all_schemas: list[str] = []

    def sqlite(self, into: Path) -> str:
        if self.template is None:
            template = self.directory / "template.db"
            db.migrate(f"sqlite:///{template}")  # the last connection folds the WAL back in
            self.template = template
        target = into / f"store{next(self.numbers)}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def borrow_schema(self) -> str:
        if self.free_schemas:
            return self.free_schemas.pop()
        schema = new_pg_schema()
        self.all_schemas.append(schema)
        db.migrate(pg_url(schema))
        return schema

    def give_back(self, schema: str) -> None:
        engine = db.connect(pg_url(schema))
        try:
            with engine.begin() as conn:
                names = ", ".join(f'"{table.name}"' for table in t.metadata.sorted_tables)
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                conn.execute(t.projector_state.insert().values(id=1, last_seq=0))
        finally:
            engine.dispose()
        self.free_schemas.append(schema)

    def drop_all(self) -> None:
        for schema in self.all_schemas:
            pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
