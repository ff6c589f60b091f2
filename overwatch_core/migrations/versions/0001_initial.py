"""The catalog as it stood before migrations existed (runs, files, histogram index, trends, users, leases).

A catalog made by earlier code has exactly these tables and no version table; `overwatch db upgrade`
recognises it and marks it as this revision before applying the later ones.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hlt_mode", sa.String(8), nullable=False),
    )
    op.create_table(
        "subsystems",
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("file_location", sa.String(16), nullable=False),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
        sa.Column("location", sa.String(16), nullable=False),
        sa.Column("path", sa.String(512), nullable=False, unique=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("n_events", sa.Float, nullable=True),
    )
    op.create_index("ix_files_run_location_time", "files", ["run_number", "location", "timestamp"])
    op.create_table(
        "histograms",
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
        sa.Column("location", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("root_class", sa.String(32), nullable=False),
    )
    op.create_table(
        "trend_values",
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("trend", sa.String(128), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("error", sa.Float, nullable=True),
    )
    op.create_index("ix_trend_values_trend", "trend_values", ["subsystem", "trend", "run_number"])
    op.create_table(
        "alarm_results",
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("trend", sa.String(128), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("alarm", sa.Integer, primary_key=True),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_login_failures_user_address_time", "login_failures", ["username", "address", "timestamp"]
    )
    op.create_index("ix_login_failures_time", "login_failures", ["timestamp"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "leases",
        "login_failures",
        "users",
        "alarm_results",
        "trend_values",
        "histograms",
        "files",
        "subsystems",
        "runs",
    ):
        op.drop_table(table)
