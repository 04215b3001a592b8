"""The ledger's tables as typed SQLAlchemy declarative models.

The alembic revisions in ``migrations/versions`` create exactly this schema (a test compares the
two on SQLite and PostgreSQL). Change a table here and add a revision there, never one alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: An auto-incrementing 64-bit key (SQLite only auto-increments an INTEGER PRIMARY KEY).
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are aware UTC in Python; ``timestamptz`` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class PayloadRow(Base):
    """A payload, stored once per distinct content (content-addressed by SHA-256)."""

    __tablename__ = "payloads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


_IN = text("direction = 'in'")


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("set_count >= 1", name="set_count"),
        Index("ix_documents_state_created_at", "state", "created_at"),
        Index("ix_documents_partner_isa13", "partner", "isa13"),
        Index("ix_documents_partner_gs06", "partner", "gs06"),
        Index("ix_documents_docnum", "docnum"),
        Index("ix_documents_partner_kind_business_key", "partner", "kind", "business_key"),  # (0006)
        # inbound idempotency: the same content, ISA13 or business key again is the same document
        Index(
            "uq_documents_in_content",
            "partner",
            "payload_sha256",
            unique=True,
            sqlite_where=_IN,
            postgresql_where=_IN,
        ),
        Index(
            "uq_documents_in_isa13",
            "partner",
            "isa13",
            unique=True,
            sqlite_where=text("direction = 'in' AND isa13 IS NOT NULL"),
            postgresql_where=text("direction = 'in' AND isa13 IS NOT NULL"),
        ),
        Index(
            "uq_documents_in_business_key",
            "partner",
            "kind",
            "business_key",
            unique=True,
            sqlite_where=text("direction = 'in' AND business_key IS NOT NULL"),
            postgresql_where=text("direction = 'in' AND business_key IS NOT NULL"),
        ),
        # outbound idempotency: recording the same outbound document twice returns the first
        Index(
            "uq_documents_idempotency_key",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    partner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    isa13: Mapped[str | None] = mapped_column(String(16))
    gs06: Mapped[str | None] = mapped_column(String(16))
    st02: Mapped[str | None] = mapped_column(String(16))
    set_count: Mapped[int] = mapped_column(Integer, default=1)
    payload_sha256: Mapped[str | None] = mapped_column(ForeignKey("payloads.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    resume_state: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]
    docnum: Mapped[str | None] = mapped_column(String(16))  # an IDoc's DOCNUM (revision 0003)


class EventRow(Base):
    """The append-only log. ``id`` is the chain position, assigned under the chain head's lock."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_document_id", "document_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    step: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    credential: Mapped[str | None] = mapped_column(String(128))
    payload_sha256: Mapped[str | None] = mapped_column(ForeignKey("payloads.sha256"))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHeadRow(Base):
    """One row (id 1): the last event's id and hash. Appending an event locks it."""

    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class LinkRow(Base):
    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("from_document", "to_document", "relation"),
        Index("ix_links_to_document", "to_document"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    from_document: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    to_document: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    relation: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class ControlNumberRow(Base):
    """The last control number issued, per partner and level (``isa``, ``gs``, ``st``; ``docnum`` is
    ledger-wide, under the partner ``*``: see :mod:`erpbridge.ledger.numbers`)."""

    __tablename__ = "control_numbers"
    __table_args__ = (
        CheckConstraint("level IN ('isa', 'gs', 'st', 'docnum')", name="level"),
        CheckConstraint("last_value >= 0", name="last_value"),
    )

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)
    wraps: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbox_state_created_at", "state", "created_at"),
        Index("ix_outbox_document_id", "document_id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    target: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (
        Index("ix_dead_letters_document_id", "document_id"),
        Index("ix_dead_letters_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(16))


class SchedulerLockRow(Base):
    """SQLite's stand-in for a PostgreSQL advisory lock: a named row with a lease."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class JobRunRow(Base):
    """One run of a scheduled job (a nightly batch, the overdue-ack check, a poll that did work)."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(128))
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)


class DiscrepancyRow(Base):
    """One discrepancy a reconciliation job run found (revision 0005); ``sides`` is JSON."""

    __tablename__ = "discrepancies"
    __table_args__ = (
        CheckConstraint("owner IN ('wms', 'erp', 'partner', 'erpbridge')", name="owner"),
        Index("ix_discrepancies_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(AutoId, ForeignKey("job_runs.id"))
    job: Mapped[str] = mapped_column(String(64))
    partner: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(300))
    check: Mapped[str] = mapped_column(String(64))
    sides: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str] = mapped_column(Text)
    delta: Mapped[float] = mapped_column(Float)
    document_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]


class EndpointPauseRow(Base):
    """An endpoint erpbridge stopped sending to because it refused the credentials (one row while
    paused; resuming deletes it). ``fingerprint`` is a hash of the credential's values then, never
    the values: a different one now means the credential was replaced."""

    __tablename__ = "endpoint_pauses"

    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    paused_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str | None] = mapped_column(String(36))
    worker: Mapped[str] = mapped_column(String(200))
