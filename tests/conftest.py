"""Fixtures shared by the suites that run on every database backend (store, news)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.databases import BACKENDS, Pool


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """Migrated databases to copy (SQLite) or truncate (PostgreSQL schemas), made once."""
    pool = Pool(tmp_path_factory.mktemp("db-template"))
    yield pool
    pool.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
