"""Endpoint pauses (pipeline/pauses.py keeps them here): one per endpoint, with an event each way."""

from __future__ import annotations

from erpbridge.ledger import Ledger
from tests.ledger.helpers import FakeClock


def test_an_endpoint_is_paused_once_and_resumed_with_an_event_each_way(
    ledger: Ledger, clock: FakeClock
) -> None:
    doc, _ = ledger.record_inbound("MEGAMART", "x12", b"ISA*...~", file_name="po.edi")
    assert ledger.paused_endpoints() == {}
    pause, created = ledger.pause_endpoint(
        "netsuite", reason="INVALID_LOGIN (token env:NS_TOKEN_ID)", fingerprint="0a1b2c3d4e5f6071",
        worker="host:1", document_id=doc.id,
    )  # fmt: skip
    assert created and pause.paused_at == clock.now and pause.document_id == doc.id
    clock.advance(minutes=5)
    again, created = ledger.pause_endpoint("netsuite", reason="again", fingerprint="ffff", worker="host:2")
    assert not created and again == pause  # the first pause stands
    assert ledger.paused_endpoints() == {"netsuite": pause}
    [event] = [e for e in ledger.events(doc.id) if e.step == "endpoint_pause"]
    assert event.outcome == "paused" and event.detail == {"endpoint": "netsuite", "error": pause.reason}
    ended = ledger.resume_endpoint("netsuite", by="operator ops", reason="role fixed")
    assert ended == pause and ledger.paused_endpoints() == {}
    assert ledger.resume_endpoint("netsuite", by="operator ops", reason="twice") is None
    [resume] = [e for e in ledger.events() if e.step == "endpoint_resume"]
    assert resume.document_id is None and resume.detail["by"] == "operator ops"
    assert ledger.verify() >= 3  # the chain holds the document-less event too
    # paused again later: a new pause
    _, created = ledger.pause_endpoint("netsuite", reason="expired", fingerprint="0a1b", worker="host:1")
    assert created
