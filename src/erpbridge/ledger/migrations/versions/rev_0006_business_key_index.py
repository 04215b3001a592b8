"""An index on documents by partner, kind and business key, for outbound documents too.

The unique index on business keys covers inbound documents only (``direction = 'in'``). The
pipeline now asks, for every ShipNotice it is about to send, whether an 856 for the same shipment
was sent already (docs/pipeline.md): without this index that question reads every document of the
partner.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_partner_kind_business_key", "documents", ["partner", "kind", "business_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_documents_partner_kind_business_key", table_name="documents")
