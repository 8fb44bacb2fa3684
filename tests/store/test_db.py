"""A request that fails while reading a result set must not leave its pooled SQLite connection
inside a read transaction (issue 11, item 1).

An unfinished SELECT keeps SQLite's statement active, and with it the connection's read snapshot:
every later use of that pooled connection saw old data, writes on it failed with "database is
locked", and the WAL could not be checkpointed. The failing request's traceback keeps the
result (and so the cursor) alive, which is what the live server did.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from foretell.store import db

_rows = sa.table("rows", sa.column("id", sa.Integer))


def _engine(path: Path) -> sa.Engine:
    engine = db.connect(f"sqlite:///{path}", pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.insert(_rows), [{"id": i} for i in range(1, 501)])
    return engine


def _fail_mid_read(engine: sa.Engine) -> BaseException:
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(_rows.c.id)).mappings()
            for row in rows:  # as /admin/accounts read it: engine balances per row
                if row["id"] == 3:
                    raise RuntimeError("a bug while reading the result")
    except RuntimeError as failure:
        return failure  # kept alive, with its traceback and the frame's result, like a server
    raise AssertionError("unreachable")


def test_failed_read_leaves_no_stale_snapshot(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "store.db")
    kept = _fail_mid_read(engine)
    other = db.connect(f"sqlite:///{tmp_path / 'store.db'}")
    with other.begin() as conn:
        conn.execute(sa.insert(_rows).values(id=1_000))
    # The pool has one connection: the one the failed request used.
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(_rows)).scalar_one()
        assert count == 501, "the pooled connection still reads an old snapshot"
    with engine.begin() as conn:  # a write on it must not fail with 'database is locked'
        conn.execute(sa.insert(_rows).values(id=1_001))
    with other.connect() as conn:
        busy, _, _ = conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        assert busy == 0, "a reader holds the WAL: it cannot be checkpointed"
    assert kept.__traceback__ is not None
    engine.dispose()
    other.dispose()
