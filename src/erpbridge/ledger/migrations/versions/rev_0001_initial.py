"""The ledger: documents, payloads, events (hash chain), links, control numbers, outbox, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "payloads",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("sha256", name="pk_payloads"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("business_key", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("isa13", sa.String(16), nullable=True),
        sa.Column("gs06", sa.String(16), nullable=True),
        sa.Column("st02", sa.String(16), nullable=True),
        sa.Column("set_count", sa.Integer(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(1024), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at", nullable=True),
        sa.Column("resume_state", sa.String(32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        _ts("claimed_until", nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_documents_direction"),
        sa.CheckConstraint("attempts >= 0", name="ck_documents_attempts"),
        sa.CheckConstraint("set_count >= 1", name="ck_documents_set_count"),
        sa.ForeignKeyConstraint(
            ["payload_sha256"], ["payloads.sha256"], name="fk_documents_payload_sha256_payloads"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_state_created_at", "documents", ["state", "created_at"])
    op.create_index("ix_documents_partner_isa13", "documents", ["partner", "isa13"])
    op.create_index("ix_documents_partner_gs06", "documents", ["partner", "gs06"])
    inbound = sa.text("direction = 'in'")
    op.create_index(
        "uq_documents_in_content",
        "documents",
        ["partner", "payload_sha256"],
        unique=True,
        sqlite_where=inbound,
        postgresql_where=inbound,
    )
    inbound_isa13 = sa.text("direction = 'in' AND isa13 IS NOT NULL")
    op.create_index(
        "uq_documents_in_isa13",
        "documents",
        ["partner", "isa13"],
        unique=True,
        sqlite_where=inbound_isa13,
        postgresql_where=inbound_isa13,
    )
    inbound_key = sa.text("direction = 'in' AND business_key IS NOT NULL")
    op.create_index(
        "uq_documents_in_business_key",
        "documents",
        ["partner", "kind", "business_key"],
        unique=True,
        sqlite_where=inbound_key,
        postgresql_where=inbound_key,
    )
    with_key = sa.text("idempotency_key IS NOT NULL")
    op.create_index(
        "uq_documents_idempotency_key",
        "documents",
        ["idempotency_key"],
        unique=True,
        sqlite_where=with_key,
        postgresql_where=with_key,
    )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("document_id", sa.String(36), nullable=True),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("credential", sa.String(128), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_events_document_id_documents"),
        sa.ForeignKeyConstraint(
            ["payload_sha256"], ["payloads.sha256"], name="fk_events_payload_sha256_payloads"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_document_id", "events", ["document_id"])

    chain_head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_chain_head_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_chain_head"),
    )
    op.bulk_insert(chain_head, [{"id": 1, "last_id": 0, "last_hash": GENESIS}])

    op.create_table(
        "links",
        _id(),
        sa.Column("from_document", sa.String(36), nullable=False),
        sa.Column("to_document", sa.String(36), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["from_document"], ["documents.id"], name="fk_links_from_document_documents"),
        sa.ForeignKeyConstraint(["to_document"], ["documents.id"], name="fk_links_to_document_documents"),
        sa.PrimaryKeyConstraint("id", name="pk_links"),
        sa.UniqueConstraint(
            "from_document", "to_document", "relation", name="uq_links_from_document_to_document_relation"
        ),
    )
    op.create_index("ix_links_to_document", "links", ["to_document"])

    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("level", sa.String(3), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.Column("wraps", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint("level IN ('isa', 'gs', 'st')", name="ck_control_numbers_level"),
        sa.CheckConstraint("last_value >= 0", name="ck_control_numbers_last_value"),
        sa.PrimaryKeyConstraint("partner", "level", name="pk_control_numbers"),
    )

    op.create_table(
        "outbox",
        _id(),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("external_ref", sa.String(200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_outbox_document_id_documents"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_state_created_at", "outbox", ["state", "created_at"])
    op.create_index("ix_outbox_document_id", "outbox", ["document_id"])

    op.create_table(
        "dead_letters",
        _id(),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("resolved_at", nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_dead_letters_document_id_documents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_document_id", "dead_letters", ["document_id"])
    op.create_index("ix_dead_letters_resolved_at", "dead_letters", ["resolved_at"])

    op.create_table(
        "scheduler_locks",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        _ts("acquired_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_locks"),
    )


def downgrade() -> None:
    for table in (
        "scheduler_locks",
        "dead_letters",
        "outbox",
        "control_numbers",
        "links",
        "chain_head",
        "events",
        "documents",
        "payloads",
    ):
        op.drop_table(table)
