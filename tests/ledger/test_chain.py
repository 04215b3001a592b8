"""The event log's hash chain: pure hashing, and verify() catching tampering done with raw SQL."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from erpbridge.errors import LedgerIntegrityError
from erpbridge.ledger import GENESIS, Event, Ledger, State, event_hash
from erpbridge.ledger.chain import canonical_json, utc_text
from tests.ledger.helpers import raw_sql

EVENT = Event(
    id=1,
    document_id="3f0c7f9e-0000-4000-8000-000000000001",
    step="receive",
    outcome="ok",
    from_state=None,
    to_state=State.RECEIVED,
    latency_ms=12,
    credential="sftp-acme",
    payload_sha256="ab" * 32,
    detail={"file": "in/po.edi", "n": 1},
    created_at=datetime(2026, 3, 2, 10, 15, tzinfo=UTC),
    prev_hash=GENESIS,
    hash="",
)


def test_event_hash_is_deterministic_and_covers_every_field() -> None:
    digest = event_hash(EVENT)
    assert len(digest) == 64 and digest == event_hash(dataclasses.replace(EVENT, hash="ignored"))
    # the detail's key order and the timestamp's time zone do not matter; their values do
    assert event_hash(dataclasses.replace(EVENT, detail={"n": 1, "file": "in/po.edi"})) == digest
    later = EVENT.created_at.astimezone(timezone(timedelta(hours=2)))
    assert event_hash(dataclasses.replace(EVENT, created_at=later)) == digest
    changes = {
        "id": 2,
        "document_id": None,
        "step": "validate",
        "outcome": "error",
        "from_state": State.RECEIVED,
        "to_state": State.VALIDATED,
        "latency_ms": 13,
        "credential": "sftp-globex",
        "payload_sha256": None,
        "detail": {"file": "in/po.edi", "n": 2},
        "created_at": EVENT.created_at + timedelta(microseconds=1),
        "prev_hash": "1" * 64,
    }
    assert set(changes) == {f.name for f in dataclasses.fields(Event)} - {"hash"}
    for name, value in changes.items():
        assert event_hash(dataclasses.replace(EVENT, **{name: value})) != digest, name


def test_canonical_json_and_utc_text() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    assert canonical_json({"when": datetime(2026, 1, 1)}) == '{"when":"2026-01-01 00:00:00"}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("inf")})
    assert (
        utc_text(datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2))))
        == "2026-03-02T10:00:00.000000Z"
    )


def _history(ledger: Ledger) -> list[str]:
    """A few documents with a few events each."""
    ids = []
    for n in range(3):
        doc, _ = ledger.record_inbound("acme", "x12/850", f"ISA*{n}".encode(), file_name=f"po{n}.edi")
        ledger.transition(doc.id, "validated", step="validate", latency_ms=5, credential="sftp-acme")
        ledger.note(doc.id, step="archive_remote", outcome="ok", detail={"path": f"/out/po{n}.edi"})
        ids.append(doc.id)
    return ids


def test_an_untouched_log_verifies(ledger: Ledger) -> None:
    assert ledger.verify() == 0
    _history(ledger)
    assert ledger.verify() == 9
    events = ledger.events()
    assert [e.id for e in events] == list(range(1, 10))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert all(event_hash(e) == e.hash for e in events)
    assert events[1].credential == "sftp-acme" and events[1].latency_ms == 5


def test_a_changed_detail_names_the_event(ledger: Ledger, db_url: str) -> None:
    ids = _history(ledger)
    raw_sql(db_url, "UPDATE events SET detail = :d WHERE id = 3", d='{"path":"/somewhere/else"}')
    with pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert caught.value.context["event"] == 3 and caught.value.context["document"] == ids[0]
    assert "event 3" in str(caught.value) and "changed after it was written" in str(caught.value)
    assert not caught.value.transient


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link(ledger: Ledger, db_url: str) -> None:
    _history(ledger)
    forged = dataclasses.replace(ledger.events()[4], outcome="forged")
    raw_sql(db_url, "UPDATE events SET outcome = 'forged', hash = :h WHERE id = 5", h=event_hash(forged))
    with pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert caught.value.context["event"] == 6
    assert "event 5 was changed or replaced" in str(caught.value)


def test_removed_events_are_found(ledger: Ledger, db_url: str) -> None:
    _history(ledger)
    raw_sql(db_url, "DELETE FROM events WHERE id = 4")
    with pytest.raises(LedgerIntegrityError, match="event 4 missing") as caught:
        ledger.verify()
    assert caught.value.context["event"] == 5


def test_a_truncated_log_is_found(ledger: Ledger, db_url: str) -> None:
    _history(ledger)
    raw_sql(db_url, "DELETE FROM events WHERE id >= 8")
    with pytest.raises(LedgerIntegrityError, match="chain head says 9 events") as caught:
        ledger.verify()
    assert caught.value.context["event"] == 8


def test_a_changed_state_is_found(ledger: Ledger, db_url: str) -> None:
    _history(ledger)
    raw_sql(db_url, "UPDATE events SET to_state = 'archived' WHERE id = 2")
    with pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert caught.value.context["event"] == 2
