"""IDoc DOCNUMs: a control-number level ``docnum`` (16 digits) and the DOCNUM on each document.

``control_numbers.level`` grows from 3 to 8 characters and its CHECK constraint admits
``docnum``; SQLite cannot alter a column or a constraint, so the table is rebuilt there (alembic's
batch mode, which copies the rows). ``documents.docnum`` holds the IDoc number a document carries:
the one erpbridge allocated for an IDoc it sent, or SAP's for an IDoc it received.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS_BEFORE = "level IN ('isa', 'gs', 'st')"
_LEVELS_AFTER = "level IN ('isa', 'gs', 'st', 'docnum')"
# revision 0001 gave its CHECK constraints their names through the naming convention once more
# ("ck_control_numbers_" twice); from here on the level's constraint has the models' name
_OLD_NAME = "ck_control_numbers_ck_control_numbers_level"
_NEW_NAME = "ck_control_numbers_level"


def _control_numbers(level_length: int, levels: str, name: str) -> sa.Table:
    """The table as it is before the change (batch mode copies from it on SQLite)."""
    return sa.Table(
        "control_numbers",
        sa.MetaData(),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("level", sa.String(level_length), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.Column("wraps", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(levels, name=name),
        sa.CheckConstraint("last_value >= 0", name="ck_control_numbers_ck_control_numbers_last_value"),
        sa.PrimaryKeyConstraint("partner", "level", name="pk_control_numbers"),
    )


def upgrade() -> None:
    old = _control_numbers(3, _LEVELS_BEFORE, _OLD_NAME)
    with op.batch_alter_table("control_numbers", copy_from=old) as batch:
        batch.drop_constraint(op.f(_OLD_NAME), type_="check")
        batch.alter_column("level", existing_type=sa.String(3), type_=sa.String(8), existing_nullable=False)
        batch.create_check_constraint(op.f(_NEW_NAME), sa.text(_LEVELS_AFTER))
    op.add_column("documents", sa.Column("docnum", sa.String(16), nullable=True))
    op.create_index("ix_documents_docnum", "documents", ["docnum"])


def downgrade() -> None:
    op.drop_index("ix_documents_docnum", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("docnum")
    op.execute(sa.text("DELETE FROM control_numbers WHERE level = 'docnum'"))
    new = _control_numbers(8, _LEVELS_AFTER, _NEW_NAME)
    with op.batch_alter_table("control_numbers", copy_from=new) as batch:
        batch.drop_constraint(op.f(_NEW_NAME), type_="check")
        batch.alter_column("level", existing_type=sa.String(8), type_=sa.String(3), existing_nullable=False)
        batch.create_check_constraint(op.f(_OLD_NAME), sa.text(_LEVELS_BEFORE))
