"""Inbound idempotency: the same content, ISA13 or business key is one document, even under races."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import pytest

from erpbridge.errors import LedgerError
from erpbridge.ledger import Ledger, State
from erpbridge.model.common import DocumentMeta
from tests.ledger import workers
from tests.ledger.helpers import raw_sql


def test_the_same_content_twice_is_one_document(ledger: Ledger, db_url: str) -> None:
    data = b"ISA*00*...*000000101~"
    first, created = ledger.record_inbound("acme", "x12/850", data, file_name="in/po1.edi", isa13="000000101")
    assert created and first.state is State.RECEIVED and first.file_name == "in/po1.edi"
    assert first.payload_sha256 == hashlib.sha256(data).hexdigest()
    ledger.transition(first.id, "validated", step="validate")
    again, created = ledger.record_inbound("acme", "x12/850", data, file_name="in/po1-resent.edi")
    assert not created and again.id == first.id and again.state is State.VALIDATED
    duplicate = ledger.events(first.id)[-1]
    assert duplicate.outcome == "duplicate" and duplicate.to_state is None
    assert duplicate.detail["matched_on"] == "content" and duplicate.detail["same_content"] is True
    assert duplicate.detail["file"] == "in/po1-resent.edi"
    assert len(ledger.find(partner="acme")) == 1
    assert raw_sql(db_url, "SELECT count(*) FROM payloads")[0][0] == 1


def test_the_same_isa13_is_the_same_interchange(ledger: Ledger) -> None:
    first, _ = ledger.record_inbound("acme", "x12/850", b"ISA*one", isa13="000000777")
    second, created = ledger.record_inbound(
        "acme", "x12/850", b"ISA*two (resent with a new date)", isa13="000000777"
    )
    assert not created and second.id == first.id
    event = ledger.events(first.id)[-1]
    assert event.detail["matched_on"] == "isa13" and event.detail["same_content"] is False
    # the different content is kept, for whoever looks into it
    assert ledger.payload(event.payload_sha256 or "") == b"ISA*two (resent with a new date)"
    # ISA13 is per partner
    _, created = ledger.record_inbound("globex", "x12/850", b"ISA*three", isa13="000000777")
    assert created


def test_the_same_business_key_is_the_same_order(ledger: Ledger) -> None:
    first, _ = ledger.record_inbound(
        "acme", "x12/850", b"ISA*1*PO-4500012345", isa13="1", business_key="4500012345"
    )
    again, created = ledger.record_inbound(
        "acme", "x12/850", b"ISA*2*PO-4500012345", isa13="2", business_key="4500012345"
    )
    assert not created and again.id == first.id
    assert ledger.events(first.id)[-1].detail["matched_on"] == "business_key"
    # the key is per kind and per partner
    _, created = ledger.record_inbound("acme", "x12/860", b"ISA*3*PO-4500012345", business_key="4500012345")
    assert created
    _, created = ledger.record_inbound("globex", "x12/850", b"ISA*4*PO-4500012345", business_key="4500012345")
    assert created


def test_meta_fills_the_control_numbers(ledger: Ledger) -> None:
    meta = DocumentMeta(partner_id="acme", interchange_control_number="000000042", group_control_number="42")
    doc, _ = ledger.record_inbound("acme", "x12/850", b"ISA*42", meta=meta)
    assert (doc.isa13, doc.gs06, doc.st02) == ("000000042", "42", None)
    assert doc.meta().interchange_control_number == "000000042"
    assert doc.meta().document_id == doc.id
    with pytest.raises(LedgerError, match="partner"):
        ledger.record_inbound("globex", "x12/850", b"ISA*43", meta=meta)


def test_equal_content_is_stored_once(ledger: Ledger, db_url: str) -> None:
    data = b"the very same bytes"
    a, _ = ledger.record_inbound("acme", "x12/850", data)
    b, _ = ledger.record_inbound("globex", "x12/850", data)
    c = ledger.record_outbound("initech", "x12/850", payload=data, levels=())
    assert a.id != b.id != c.id
    assert a.payload_sha256 == b.payload_sha256 == c.payload_sha256
    assert raw_sql(db_url, "SELECT count(*), sum(size) FROM payloads")[0] == (1, len(data))
    assert ledger.payload(a.payload_sha256 or "") == data
    with pytest.raises(LedgerError, match="no such payload"):
        ledger.payload("0" * 64)


def test_bad_arguments_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="partner"):
        ledger.record_inbound("", "x12/850", b"x")
    with pytest.raises(LedgerError, match="bytes"):
        ledger.record_inbound("acme", "x12/850", "text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="not JSON"):
        ledger.record_inbound("acme", "x12/850", b"y", detail={"nan": float("nan")})
    assert ledger.find() == []


def test_concurrent_duplicates_from_two_processes_are_one_document(db_url: str, ledger: Ledger) -> None:
    po_numbers = [f"PO{n:04d}" for n in range(40)]
    results = workers.run(workers.record_duplicates, [(db_url, tag, po_numbers) for tag in ("left", "right")])
    ids: dict[str, set[str]] = defaultdict(set)
    created: Counter[str] = Counter()
    for result in results:
        for key, doc_id, was_created in result:
            ids[key].add(doc_id)
            created[key] += was_created
    assert len(ids) == 80
    assert all(len(found) == 1 for found in ids.values())  # both processes got the same document
    assert all(created[key] == 1 for key in ids)  # and exactly one of them created it
    assert len(ledger.find(partner="acme", limit=1000)) == 40
    assert len(ledger.find(partner="globex", limit=1000)) == 40
    # every losing attempt left a duplicate event on the winner
    events = ledger.events(limit=100_000)
    assert sum(e.outcome == "duplicate" for e in events) == 80
    assert ledger.verify() == len(events) == 160
