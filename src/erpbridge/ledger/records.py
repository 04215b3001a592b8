"""What the ledger hands out: frozen, plain records (never database rows or sessions)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from erpbridge.model.common import DocumentMeta

from .states import Direction, State


class Relation(StrEnum):
    """How one document relates to another; a link reads ``from <relation> to``.

    ``acknowledges``: a 997/999/TA1 (from) acknowledges the interchange it answers (to).
    ``answers``: a business reply: 855 answers 850, 856 answers 850, 810 answers 856.
    ``contains``: an interchange (from) contains a transaction set recorded on its own (to).
    ``derived_from``: a document (from) was produced from another (to), e.g. a 940 from an 850.
    ``replaces``: a corrected resend (from) replaces a rejected or dropped document (to).
    ``replays``: an operator's replay (from, ``erpbridge replay``) sends a document (to) again: the
    same sets in a new interchange, or an inbound document's canonical documents delivered again.
    """

    ACKNOWLEDGES = "acknowledges"
    ANSWERS = "answers"
    CONTAINS = "contains"
    DERIVED_FROM = "derived_from"
    REPLACES = "replaces"
    REPLAYS = "replays"


class Level(StrEnum):
    """A control number level: ISA13 (interchange), GS06 (group), ST02 (transaction set), and an SAP
    IDoc's DOCNUM (16 digits, one counter for the whole ledger: see :mod:`erpbridge.ledger.numbers`)."""

    ISA = "isa"
    GS = "gs"
    ST = "st"
    DOCNUM = "docnum"


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """Control numbers allocated to one outbound document (``None``: that level was not asked for).

    ``gs06`` and ``st02`` are the first of a block: a document with ``sets`` transaction sets uses
    ``st02 .. st02 + sets - 1``. They map onto the X12 writer's ``ControlNumbers(interchange=isa13,
    group=gs06, transaction_set=st02)``.

    Fields:
        isa13: the interchange control number
        gs06: the group control number
        st02: the first transaction set control number
        sets: how many transaction set numbers were allocated from ``st02``
        wrapped: the levels whose counter wrapped to 1 for this allocation
        docnum: the IDoc number (``Level.DOCNUM``), for the IDoc writer's ``docnums=[docnum]``
    """

    isa13: int | None = None
    gs06: int | None = None
    st02: int | None = None
    sets: int = 1
    wrapped: tuple[Level, ...] = ()
    docnum: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One document in the ledger, as of the moment it was read.

    Fields:
        id: erpbridge's ID of the document (a UUID); also an idempotency key for ERPs
        direction: ``in`` (from a partner) or ``out`` (to a partner)
        partner: the trading partner as configured
        kind: what the document is, e.g. ``x12/850``, ``PurchaseOrder``
        state: where it is in the state table (see :mod:`erpbridge.ledger.states`)
        business_key: the business key, e.g. the PO number of an 850
        idempotency_key: for outbound documents, the caller's key that makes recording idempotent
        isa13: the interchange control number, as exchanged (9 digits)
        gs06: the group control number, as exchanged
        st02: the (first) transaction set control number, as exchanged
        set_count: how many transaction sets the document holds (ST02 block size)
        payload_sha256: the SHA-256 of the document's payload (the received or written bytes)
        file_name: the file the document came in or went out as
        created_at: when it was recorded (UTC)
        updated_at: when it last changed (UTC)
        attempts: failed attempts of the current step
        next_attempt_at: when a document waiting in ``retry_wait`` may be claimed again
        resume_state: the work state a failed document goes back to when retried
        last_error: the last failure, ``ClassName: message (context)``
        claimed_by: the worker holding the claim, if any
        claimed_until: when that claim expires
        docnum: an SAP IDoc's DOCNUM (16 digits): allocated by the ledger for an IDoc erpbridge
            sends, SAP's own for one it received
    """

    id: str
    direction: Direction
    partner: str
    kind: str
    state: State
    business_key: str | None
    idempotency_key: str | None
    isa13: str | None
    gs06: str | None
    st02: str | None
    set_count: int
    payload_sha256: str | None
    file_name: str | None
    created_at: datetime
    updated_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    resume_state: State | None
    last_error: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    docnum: str | None = None

    @property
    def allocation(self) -> Allocation:
        """The control numbers as integers (``None`` where absent or not numeric)."""

        def num(value: str | None) -> int | None:
            return int(value) if value is not None and value.isdigit() else None

        return Allocation(
            isa13=num(self.isa13),
            gs06=num(self.gs06),
            st02=num(self.st02),
            sets=self.set_count,
            docnum=num(self.docnum),
        )

    def meta(self) -> DocumentMeta:
        """The document's keys as the canonical model's :class:`DocumentMeta`."""
        # built from a dict: model classes are dataclasses mypy cannot see (``_MODEL = dataclass(...)``)
        fields: dict[str, Any] = {
            "document_id": self.id,
            "partner_id": self.partner,
            "interchange_control_number": self.isa13,
            "group_control_number": self.gs06,
            "set_control_number": self.st02,
        }
        return DocumentMeta(**fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One entry of the append-only, hash-chained event log.

    Fields:
        id: position in the chain (1, 2, 3, ... without gaps)
        document_id: the document concerned (``None`` for ledger-wide events)
        step: the pipeline step, e.g. ``receive``, ``validate``, ``deliver``
        outcome: what happened, e.g. ``ok``, ``retry``, ``quarantined``, ``duplicate``
        from_state: the state before (``None`` when recorded, or when no state changed)
        to_state: the state after (``None`` when no state changed)
        latency_ms: how long the step took
        credential: the *name* of the credential used (never a secret)
        payload_sha256: a payload this event stored or referred to
        detail: JSON details
        created_at: when (UTC)
        prev_hash: the previous event's hash (64 zeros for the first)
        hash: SHA-256 over this event's fields and ``prev_hash`` (see :func:`event_hash`)
    """

    id: int
    document_id: str | None
    step: str
    outcome: str
    from_state: State | None
    to_state: State | None
    latency_ms: int | None
    credential: str | None
    payload_sha256: str | None
    detail: Mapping[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class EventKey:
    """What kind of event an :class:`EventCounts` entry counts: the document's partner, direction
    and kind, and the event's step, outcome and states (``None`` where the event has none)."""

    partner: str
    direction: Direction
    kind: str
    step: str
    outcome: str
    from_state: State | None
    to_state: State | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCounts:
    """How many events of each :class:`EventKey` the log holds after one event id, up to
    ``last_event_id`` (the log's last event when they were counted: count again from there)."""

    last_event_id: int
    counts: Mapping[EventKey, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLatency:
    """The latency of one event of a document (``Ledger.step_latencies``), with what it concerns."""

    event_id: int
    document_id: str
    partner: str
    direction: Direction
    kind: str
    step: str
    outcome: str
    latency_ms: int
    created_at: datetime
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """``from_document <relation> to_document``, e.g. a 997 *acknowledges* an 850.

    Fields:
        from_document: the document the relation starts at
        to_document: the document it points to
        relation: the relation (see :class:`Relation`)
        created_at: when it was recorded (UTC)
    """

    from_document: str
    to_document: str
    relation: Relation
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A document that needs a person: retries exhausted (``dead_lettered``) or ``quarantined``.

    Fields:
        id: the dead letter's own ID
        document_id: the document
        partner: its partner
        kind: its kind
        state: ``dead_lettered`` or ``quarantined``
        reason: why, ``ClassName: message (context)``
        attempts: failed attempts when it got here
        created_at: when (UTC)
        resolved_at: when an operator retried or dropped it (``None`` while open)
        resolution: ``retried`` or ``dropped`` once resolved
    """

    id: int
    document_id: str
    partner: str
    kind: str
    state: State
    reason: str
    attempts: int
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRun:
    """One run of a scheduled job.

    Fields:
        id: the run's ID
        job: the job's name, e.g. ``reconciliation``, ``ack_overdue``, ``poll:megamart_orders_in``
        worker: the process that ran it (``host:pid``)
        started_at: when it started (UTC)
        finished_at: when it ended (``None`` while running, or if the process died)
        outcome: ``running``, ``ok`` or ``failed``
        detail: what it did (counts, problems), as JSON-ready data
    """

    id: int
    job: str
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: Mapping[str, Any]


class Owner(StrEnum):
    """Who must act on a reconciliation discrepancy: the ``wms`` team (the WMS is the inventory's
    truth: its count is wrong only when they say so), the ``erp`` team, the trading ``partner``, or
    ``erpbridge`` itself (its operators: something it should have sent or delivered)."""

    WMS = "wms"
    ERP = "erp"
    PARTNER = "partner"
    ERPBRIDGE = "erpbridge"


@dataclass(frozen=True, slots=True, kw_only=True)
class Discrepancy:
    """One difference a reconciliation job found (``erpbridge reconcile``, docs/reconciliation.md).

    The checks make them (``id``, ``run_id`` and ``created_at`` unset); the ledger records them with
    the job run that found them and hands them back with those set.

    Fields:
        job: the reconciliation job, e.g. ``orders``, ``acks``, ``shipments``, ``inventory``
        partner: the trading partner concerned, or for stock held by an ERP the ERP endpoint's name
        subject: what it is about, as a person names it: ``PO 4500012400``, ``x12/856 ISA13
            000000123``, ``SKU NW-TS-BLK-S at BRL-LOU1``
        check: which comparison failed, a short code (``no_997``, ``not_in_erp``, ``erp_on_hand``...)
        sides: what each side says, e.g. ``{"wms": "120", "erp": "110"}``
        owner: who must act
        action: what to do, in words
        remedy: the one command that fixes it (or, when only a person can, the one that shows it)
        delta: how big it is (units of stock for inventory, 1 for a missing document)
        document_id: the ledger document concerned, if any
        id: the ledger's ID of the recorded discrepancy
        run_id: the job run that found it
        created_at: when it was recorded (UTC)
    """

    job: str
    partner: str
    subject: str
    check: str
    sides: Mapping[str, str]
    owner: Owner
    action: str
    remedy: str
    delta: float = 1.0
    document_id: str | None = None
    id: int | None = None
    run_id: int | None = None
    created_at: datetime | None = None


class OutboxState(StrEnum):
    """Where a delivery is: ``pending`` (to do or retrying), ``delivered``, ``failed`` (terminal)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """One delivery of a document to a target, carrying its idempotency key.

    Fields:
        id: the entry's own ID
        document_id: the document to deliver
        target: where to, e.g. ``netsuite:prod``, ``sftp:acme``
        idempotency_key: unique; the key the target dedupes on (e.g. NetSuite externalId)
        state: ``pending``, ``delivered`` or ``failed``
        attempts: failed delivery attempts
        external_ref: the target's ID for what was delivered (e.g. a NetSuite internalId)
        last_error: the last failure
        created_at: when enqueued (UTC)
        updated_at: when last changed (UTC)
        delivered_at: when delivered (UTC)
    """

    id: int
    document_id: str
    target: str
    idempotency_key: str
    state: OutboxState
    attempts: int
    external_ref: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """Everything the ledger knows about one document, for an audit or a dispute.

    Fields:
        document: the document
        payload: its payload bytes (``None`` if it has none yet)
        payloads: every payload the document or its events refer to, by SHA-256
        events: its events, oldest first
        links: links from and to it
        dead_letters: its dead letters, open and resolved
        outbox: its deliveries
    """

    document: Document
    payload: bytes | None
    payloads: Mapping[str, bytes]
    events: tuple[Event, ...]
    links: tuple[Link, ...]
    dead_letters: tuple[DeadLetter, ...] = ()
    outbox: tuple[OutboxEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: timestamps in ISO 8601, payloads in base64."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, Mapping):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            return value

        def record(obj: Any) -> dict[str, Any]:
            return {name: plain(getattr(obj, name)) for name in obj.__dataclass_fields__}

        return {
            "document": record(self.document),
            "payload": base64.b64encode(self.payload).decode("ascii") if self.payload is not None else None,
            "payloads": {sha: base64.b64encode(data).decode("ascii") for sha, data in self.payloads.items()},
            "events": [record(e) for e in self.events],
            "links": [record(link) for link in self.links],
            "dead_letters": [record(d) for d in self.dead_letters],
            "outbox": [record(o) for o in self.outbox],
        }
