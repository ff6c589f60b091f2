"""Hostile receiver files (issue 9): skipped objects per file, file processing states, missing trend values.

Files recorded before this revision get no state row: they were processed by the code of their day and
are not processed again (``pending_paths`` only lists rows in state ``pending``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skipped_objects",
        sa.Column("path", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
        sa.Column("location", sa.String(16), nullable=False),
        sa.Column("root_class", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_skipped_objects_run_location", "skipped_objects", ["run_number", "location"])
    op.create_table(
        "file_status",
        sa.Column("path", sa.String(512), primary_key=True),
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("problem", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_file_status_state", "file_status", ["state"])
    op.create_table(
        "trend_missing",
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("trend", sa.String(128), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("trend_missing", "file_status", "skipped_objects"):
        op.drop_table(table)
