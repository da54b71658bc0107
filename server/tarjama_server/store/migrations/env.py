"""Alembic's environment: run on the connection ``store.sql`` hands over (never from a URL of
its own), so migrations share the server's engine and run at start."""

from __future__ import annotations

from alembic import context

from tarjama_server.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two replicas starting at once: one migrates, the other waits, then finds nothing to do.
        context.execute("SELECT pg_advisory_xact_lock(7412903)")
    context.run_migrations()
