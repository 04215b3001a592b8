"""The queries behind the metrics endpoint, on both backends: documents per partner in the states
asked for, the last event's id, events counted by kind from one head to the next, and the latencies
of chosen steps paged in chain order."""

from __future__ import annotations

import pytest

from erpbridge.errors import LedgerError, TransportError
from erpbridge.ledger import Direction, EventKey, Ledger, State
from tests.ledger.helpers import FakeClock


def test_partner_counts_by_direction_and_state_only_in_the_states_asked(ledger: Ledger) -> None:
    a1, _ = ledger.record_inbound("acme", "x12", b"ISA*a1")
    ledger.record_inbound("acme", "x12", b"ISA*a2")
    g1, _ = ledger.record_inbound("globex", "x12", b"ISA*g1")
    ledger.record_outbound("acme", "x12/856", payload=b"ISA*o1", state=State.WRITTEN)
    ledger.transition(a1.id, State.VALIDATED, step="validate")
    ledger.fail(g1.id, LedgerError("bad"), step="validate")  # terminal: quarantined
    assert ledger.partner_counts() == {
        ("acme", Direction.IN, State.RECEIVED): 1,
        ("acme", Direction.IN, State.VALIDATED): 1,
        ("acme", Direction.OUT, State.WRITTEN): 1,
        ("globex", Direction.IN, State.QUARANTINED): 1,
    }
    assert ledger.partner_counts([State.QUARANTINED, State.DEAD_LETTERED]) == {
        ("globex", Direction.IN, State.QUARANTINED): 1
    }
    assert ledger.partner_counts([]) == {}
    with pytest.raises(LedgerError, match="unknown state 'nope'"):
        ledger.partner_counts(["nope"])


def test_last_event_id_follows_the_chain(ledger: Ledger) -> None:
    assert ledger.last_event_id() == 0
    doc, _ = ledger.record_inbound("acme", "x12", b"ISA*a1")
    ledger.transition(doc.id, State.VALIDATED, step="validate")
    assert ledger.last_event_id() == 2 == ledger.events()[-1].id


def test_event_counts_from_one_head_to_the_next(ledger: Ledger) -> None:
    empty = ledger.event_counts()
    assert (empty.last_event_id, dict(empty.counts)) == (0, {})
    doc, _ = ledger.record_inbound("acme", "x12", b"ISA*a1")
    ledger.record_inbound("acme", "x12", b"ISA*a1")  # a duplicate: an event, no new document
    ledger.transition(doc.id, State.VALIDATED, step="validate")
    out = ledger.record_outbound(
        "globex", "x12/997", payload=b"ISA*o1", state=State.WRITTEN, step="write_ack"
    )
    first = ledger.event_counts()
    assert first.last_event_id == 4
    received = EventKey("acme", Direction.IN, "x12", "receive", "ok", None, State.RECEIVED)
    duplicate = EventKey("acme", Direction.IN, "x12", "receive", "duplicate", None, None)
    validated = EventKey("acme", Direction.IN, "x12", "validate", "ok", State.RECEIVED, State.VALIDATED)
    written = EventKey("globex", Direction.OUT, "x12/997", "write_ack", "ok", None, State.WRITTEN)
    assert dict(first.counts) == {received: 1, duplicate: 1, validated: 1, written: 1}
    # from that head on: only what came since
    ledger.record_inbound("acme", "x12", b"ISA*a2")
    ledger.fail(out.id, TransportError("down"), step="put")
    since = ledger.event_counts(after=first.last_event_id)
    retry = EventKey("globex", Direction.OUT, "x12/997", "put", "retry", State.WRITTEN, State.RETRY_WAIT)
    assert (since.last_event_id, dict(since.counts)) == (6, {received: 1, retry: 1})
    assert dict(ledger.event_counts(after=6).counts) == {}
    # a head below what the caller counted before: another log (the caller starts again from 0)
    assert ledger.event_counts(after=1000).last_event_id == 6


def test_step_latencies_in_chain_order_paged(ledger: Ledger, clock: FakeClock) -> None:
    a, _ = ledger.record_inbound("acme", "x12", b"ISA*a1", latency_ms=3)  # "receive": not asked for
    ledger.transition(a.id, State.VALIDATED, step="validate", latency_ms=5)
    ledger.transition(a.id, State.ACKNOWLEDGED, step="acknowledge")
    ledger.transition(a.id, State.MAPPED, step="map", latency_ms=7)
    moved = clock.advance(seconds=1)
    ledger.transition(a.id, State.DELIVERED, step="deliver", latency_ms=120, detail={"to": "erp"})
    out = ledger.record_outbound("globex", "x12/856", payload=b"ISA*o1", state=State.WRITTEN)
    ledger.transition(out.id, State.SENT, step="put", latency_ms=40)
    ledger.transition(out.id, State.ARCHIVED, step="no_ack_expected", latency_ms=1)
    got = ledger.step_latencies(["deliver", "put"])
    assert [(x.partner, x.direction, x.kind, x.step, x.latency_ms) for x in got] == [
        ("acme", Direction.IN, "x12", "deliver", 120),
        ("globex", Direction.OUT, "x12/856", "put", 40),
    ]
    assert got[0].detail == {"to": "erp"} and got[0].created_at == moved and got[0].document_id == a.id
    assert got[0].event_id < got[1].event_id
    page = ledger.step_latencies(["deliver", "put"], limit=1)
    assert [x.event_id for x in page] == [got[0].event_id]
    assert [x.event_id for x in ledger.step_latencies(["deliver", "put"], after=page[-1].event_id)] == [
        got[1].event_id
    ]
    assert ledger.step_latencies(["deliver", "put"], upto=got[1].event_id - 1) == [got[0]]
    # a step without a latency is not listed; no steps, nothing
    ledger.transition(a.id, State.ARCHIVED, step="deliver")
    assert len(ledger.step_latencies(["deliver", "put"])) == 2
    assert ledger.step_latencies([]) == []
    with pytest.raises(LedgerError, match="limit"):
        ledger.step_latencies(["put"], limit=0)
