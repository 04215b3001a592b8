"""Outbox, links, notes, queries and export; and how database trouble is reported."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from erpbridge.errors import (
    AuthenticationError,
    IllegalTransitionError,
    LedgerBusyError,
    LedgerError,
    TransportError,
)
from erpbridge.ledger import Direction, Ledger, Link, OutboxState, Relation, State
from tests.ledger.helpers import FakeClock, raw_engine


def _po(ledger: Ledger, n: int = 1) -> str:
    doc, _ = ledger.record_inbound(
        "acme", "x12/850", f"ISA*PO{n}".encode(), business_key=f"PO{n}", isa13=f"{n:09d}"
    )
    return doc.id


def test_the_outbox_is_idempotent_by_key(ledger: Ledger) -> None:
    doc_id = _po(ledger)
    entry = ledger.enqueue(doc_id, "netsuite:prod")
    assert entry.idempotency_key == f"{doc_id}:netsuite:prod" and entry.state is OutboxState.PENDING
    assert ledger.enqueue(doc_id, "netsuite:prod") == entry
    custom = ledger.enqueue(doc_id, "wms:east", idempotency_key="SO-4500012345")
    other = _po(ledger, 2)
    with pytest.raises(LedgerError, match="another delivery"):
        ledger.enqueue(other, "wms:east", idempotency_key="SO-4500012345")
    assert [e.target for e in ledger.outbox()] == ["netsuite:prod", "wms:east"]

    failed = ledger.mark_delivery_failed(entry.idempotency_key, TransportError("503"))
    assert (failed.state, failed.attempts, failed.last_error) == (
        OutboxState.PENDING,
        1,
        "TransportError: 503",
    )
    done = ledger.mark_delivered(
        entry.idempotency_key, external_ref="SO-991", latency_ms=250, credential="ns-prod"
    )
    assert (
        done.state is OutboxState.DELIVERED
        and done.external_ref == "SO-991"
        and done.delivered_at is not None
    )
    assert ledger.mark_delivered(entry.idempotency_key) == done  # again: no change
    with pytest.raises(LedgerError, match="already done"):
        ledger.mark_delivery_failed(entry.idempotency_key, TransportError("late"))
    refused = ledger.mark_delivery_failed(custom.idempotency_key, AuthenticationError("bad key"))
    assert refused.state is OutboxState.FAILED
    assert ledger.outbox() == []
    assert [e.state for e in ledger.outbox(state=None, document_id=doc_id)] == [
        OutboxState.DELIVERED,
        OutboxState.FAILED,
    ]
    events = [e for e in ledger.events(doc_id) if e.step == "deliver"]
    assert [e.outcome for e in events] == ["delivery_failed", "delivered", "delivery_failed"]
    assert events[1].credential == "ns-prod" and events[1].detail["external_ref"] == "SO-991"
    with pytest.raises(LedgerError, match="no such outbox entry"):
        ledger.mark_delivered("nope")


def test_a_transition_enqueues_in_the_same_transaction(ledger: Ledger) -> None:
    doc_id = _po(ledger)
    with pytest.raises(IllegalTransitionError):
        ledger.transition(doc_id, "mapped", step="map", outbox=["netsuite:prod"])
    assert ledger.outbox() == []  # the refused move enqueued nothing
    ledger.transition(doc_id, "validated", step="validate")
    ledger.transition(
        doc_id, "mapped", step="map", outbox=["netsuite:prod"], payload=b'{"kind":"PurchaseOrder"}'
    )
    [entry] = ledger.outbox()
    assert entry.document_id == doc_id and entry.idempotency_key == f"{doc_id}:netsuite:prod"


def test_links_and_answers(ledger: Ledger) -> None:
    po = _po(ledger)
    ack = ledger.record_outbound(
        "acme", "x12/997", links=[("acknowledges", po)], state="written", payload=b"997"
    )
    answer = ledger.record_outbound("acme", "x12/855", links=[(Relation.ANSWERS, po)])
    assert ledger.link(answer.id, po, "answers") == ledger.link(answer.id, po, Relation.ANSWERS)
    links = ledger.links(po)
    assert [(link.from_document, link.relation) for link in links] == [
        (ack.id, Relation.ACKNOWLEDGES),
        (answer.id, Relation.ANSWERS),
    ]
    assert all(isinstance(link, Link) and link.to_document == po for link in links)
    with pytest.raises(LedgerError, match="unknown relation"):
        ledger.link(answer.id, po, "likes")
    with pytest.raises(LedgerError, match="no such document"):
        ledger.link(answer.id, "missing", "answers")
    with pytest.raises(LedgerError, match="no such document"):
        ledger.record_outbound("acme", "x12/997", links=[("acknowledges", "missing")])
    assert ledger.control_numbers("acme")  # the failed recording above rolled back whole
    assert len(ledger.find(direction="out")) == 2


def test_find_counts_and_notes(ledger: Ledger, clock: FakeClock) -> None:
    po = _po(ledger)
    sent = ledger.record_outbound("acme", "x12/856", state="written")
    ledger.transition(sent.id, "sent", step="send")
    clock.advance(hours=25)
    assert [d.id for d in ledger.find(direction="out", gs06=sent.gs06, partner="acme")] == [sent.id]
    assert [d.id for d in ledger.find(states=["sent"], updated_before=clock.now)] == [sent.id]
    assert ledger.find(states=["sent"], updated_before=clock.now.replace(year=2000)) == []
    assert [d.id for d in ledger.find(business_key="PO1", kind="x12/850")] == [po]
    overdue = ledger.transition(
        sent.id, "ack_overdue", step="ack_check", outcome="overdue", detail={"hours": 25}
    )
    assert overdue.state is State.ACK_OVERDUE
    assert ledger.counts() == {(Direction.IN, State.RECEIVED): 1, (Direction.OUT, State.ACK_OVERDUE): 1}
    event = ledger.note(
        po, step="archive_remote", outcome="ok", detail={"path": "/in/po1.edi"}, payload=b"copy"
    )
    assert event.to_state is None and ledger.get(po).state is State.RECEIVED
    with pytest.raises(LedgerError, match="no such document"):
        ledger.get("missing")
    with pytest.raises(LedgerError, match="unknown state"):
        ledger.find(states=["lost"])


def test_export_has_everything(ledger: Ledger) -> None:
    po = _po(ledger)
    ledger.transition(po, "validated", step="validate")
    ledger.transition(po, "mapped", step="map", payload=b'{"kind":"PurchaseOrder"}', outbox=["netsuite:prod"])
    ledger.fail(po, AuthenticationError("expired token"), step="deliver")
    ack = ledger.record_outbound(
        "acme", "x12/997", links=[("acknowledges", po)], payload=b"ISA*997", state="written"
    )
    export = ledger.export(po)
    assert export.document.id == po and export.document.state is State.QUARANTINED
    assert export.payload == b"ISA*PO1"
    assert set(export.payloads.values()) == {b"ISA*PO1", b'{"kind":"PurchaseOrder"}'}
    assert [e.to_state for e in export.events] == [
        State.RECEIVED,
        State.VALIDATED,
        State.MAPPED,
        State.QUARANTINED,
    ]
    assert [link.from_document for link in export.links] == [ack.id]
    assert [d.state for d in export.dead_letters] == [State.QUARANTINED]
    assert [o.target for o in export.outbox] == ["netsuite:prod"]
    data = json.loads(json.dumps(export.to_json()))
    assert base64.b64decode(data["payload"]) == b"ISA*PO1"
    assert data["document"]["state"] == "quarantined" and len(data["events"]) == 4
    assert ledger.export(ack.id).payload == b"ISA*997"


def test_a_locked_database_is_busy_not_broken(db_url: str, backend: str, clock: FakeClock) -> None:
    with Ledger.open(db_url, clock=clock, busy_timeout=0.2) as ledger:
        po = _po(ledger)
        if backend == "sqlite":
            blocker = sqlite3.connect(db_url, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
            try:
                with pytest.raises(LedgerBusyError, match="during transition") as caught:
                    ledger.transition(po, "validated", step="validate")
                assert ledger.get(po).state is State.RECEIVED  # readers go on (WAL)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
        else:
            engine = raw_engine(db_url)
            try:
                with engine.begin() as conn:  # another transaction holds the document's row
                    conn.execute(sa.text("SELECT id FROM documents WHERE id = :i FOR UPDATE"), {"i": po})
                    with pytest.raises(LedgerBusyError, match="during transition") as caught:
                        ledger.transition(po, "validated", step="validate")
                    assert caught.value.context["sqlstate"] == "55P03"  # lock_not_available
            finally:
                engine.dispose()
        assert caught.value.transient and caught.value.context["document"] == po
        assert ledger.transition(po, "validated", step="validate").state is State.VALIDATED


def test_a_ledger_is_shared_by_threads(ledger: Ledger) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                ledger.record_outbound(f"p{n % 2}", "x12/855", business_key=f"{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    docs = ledger.find(direction="out", limit=100)
    assert len(docs) == 40 and len({(d.partner, d.isa13) for d in docs}) == 40
    assert ledger.verify() == 40


def test_the_public_surface() -> None:
    import erpbridge.ledger as package

    assert sorted(package.__all__) == sorted(
        [
            "Allocation", "DeadLetter", "Direction", "Document", "Event", "Export", "GENESIS", "JobRun", "Ledger", "Level",
            "Link", "OutboxEntry", "OutboxState", "Relation", "RetryPolicy", "SchedulerLock", "State",
            "TRANSITIONS", "backoff_delay", "event_hash", "is_legal",
            "EventCounts", "EventKey", "StepLatency",
            "Discrepancy", "Owner",  # the reconciliation's findings (reconcile/, docs/reconciliation.md)
        ]
    )  # fmt: skip
    for name in package.__all__:
        assert hasattr(package, name), name
