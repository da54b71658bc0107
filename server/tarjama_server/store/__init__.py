"""The desk's database: the one place with SQL. ``open_store`` turns ``--database-url`` into a
``core.desk.DeskStore`` (SQLAlchemy 2, async; Alembic migrations run at start). Only
``app.py`` imports this package; the core reads the ``DeskStore`` interface alone."""

from .sql import SqlStore, database_url, open_store, redacted

__all__ = ["SqlStore", "database_url", "open_store", "redacted"]
