"""The processing loop's last pass (duration, files, decodes) and running totals, for /metrics on any host.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processing_passes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("finished", sa.Float, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("stored", sa.Integer, nullable=False),
        sa.Column("decodes", sa.Integer, nullable=False),
        sa.Column("passes_total", sa.BigInteger, nullable=False),
        sa.Column("decodes_total", sa.BigInteger, nullable=False),
        sa.Column("seconds_total", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processing_passes")
