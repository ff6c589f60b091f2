"""Reference runs per subsystem and the stored verdicts of the automatic checks (issue 11).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_runs",
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("valid_from", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("reference_run", sa.Integer, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "check_results",
        sa.Column("path", sa.String(512), primary_key=True),
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("histogram", sa.String(512), primary_key=True),
        sa.Column("check_name", sa.String(64), primary_key=True),
        sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
        sa.Column("quality", sa.String(8), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_check_results_run_subsystem", "check_results", ["run_number", "subsystem"])


def downgrade() -> None:
    op.drop_table("check_results")
    op.drop_table("reference_runs")
