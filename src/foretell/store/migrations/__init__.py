"""Alembic migrations of the store (run with `foretell.store.db.migrate(url)`)."""
