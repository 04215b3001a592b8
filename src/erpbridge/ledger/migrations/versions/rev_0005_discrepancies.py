"""Reconciliation discrepancies: what each run of a reconciliation job (a ``job_runs`` row) found.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discrepancies",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("check", sa.String(64), nullable=False),
        sa.Column("sides", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "owner IN ('wms', 'erp', 'partner', 'erpbridge')", name=op.f("ck_discrepancies_owner")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["job_runs.id"], name=op.f("fk_discrepancies_run_id_job_runs")),
        sa.PrimaryKeyConstraint("id", name="pk_discrepancies"),
    )
    op.create_index("ix_discrepancies_run_id", "discrepancies", ["run_id"])


def downgrade() -> None:
    op.drop_table("discrepancies")
