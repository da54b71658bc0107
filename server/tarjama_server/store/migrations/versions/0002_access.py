"""Access: API keys (their SHA-256, never the keys) and their usage counters.

Revision ID: 0002_access
Revises: 0001_desk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_access"
down_revision = "0001_desk"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("public_id", sa.String(16), nullable=False, unique=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("characters_per_day", sa.BigInteger, nullable=False),
        sa.Column("characters_per_month", sa.BigInteger, nullable=False),
        sa.Column("requests_per_minute", sa.BigInteger, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
    )
    op.create_table(
        "key_usage",
        sa.Column("key_id", _ID, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
        # "min:2026-12-04T17:21" (the rate), "day:2026-12-04", "mon:2026-12" (the quotas); UTC.
        sa.Column("period", sa.String(20), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("characters", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("key_usage")
    op.drop_table("api_keys")
