"""Alembic migrations of the catalog schema, applied by `overwatch db upgrade` (see overwatch_core.schema)."""
