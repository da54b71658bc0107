"""The desk's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create them;
this module is what queries are written against, and must match the latest migration
(``tests/test_store.py`` checks that a migrated database has these columns)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite's INTEGER PRIMARY KEY is its rowid (what the FTS index points at); PostgreSQL's BIGINT.
_ID = BigInteger().with_variant(Integer(), "sqlite")

glossaries = Table(
    "glossaries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("source_language", String(8), nullable=False),
    Column("target_language", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

glossary_entries = Table(
    "glossary_entries",
    metadata,
    Column("glossary_id", String(36), ForeignKey("glossaries.id", ondelete="CASCADE"), primary_key=True),
    Column("term", Text, primary_key=True),
    Column("rendering", Text, nullable=False),
)

memory_entries = Table(
    "memory_entries",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("memory", String(100), nullable=False),
    Column("source_language", String(8), nullable=False),
    Column("target_language", String(8), nullable=False),
    # What the entry is found by: core.desk.memory_key(source).
    Column("source_key", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("translation", Text, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("approver", String(100), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("memory", "source_language", "target_language", "source_key", name="uq_memory_entries_key"),
)
Index("ix_memory_entries_memory_id", memory_entries.c.memory, memory_entries.c.id)

# One row per desk write, in the write's own transaction: who (a key's name, once keys
# exist), when, what and which. The access issue's audit listing reads it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False, default=""),
    Column("action", String(40), nullable=False),
    Column("subject", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)
Index("ix_audit_log_at", audit_log.c.at)

# API keys: their SHA-256 (``digest``), never the keys themselves (core.access explains why).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("public_id", String(16), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("scopes", String(200), nullable=False),  # comma-separated
    Column("characters_per_day", BigInteger, nullable=False),  # 0: no limit
    Column("characters_per_month", BigInteger, nullable=False),
    Column("requests_per_minute", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# A key's requests and model characters per period (core.access.Periods), counted with upserts.
key_usage = Table(
    "key_usage",
    metadata,
    Column("key_id", _ID, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("characters", BigInteger, nullable=False),
)
