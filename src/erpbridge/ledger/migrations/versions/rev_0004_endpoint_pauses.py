"""Endpoint pauses: an endpoint that refused erpbridge's credentials, paused until they are replaced.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endpoint_pauses",
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=True),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name="pk_endpoint_pauses"),
    )


def downgrade() -> None:
    op.drop_table("endpoint_pauses")
