"""The queries behind ``erpbridge ledger list|show`` and ``status``, on both backends: documents newest
first, since a time, by the start of their ID; each partner's last event; the ``replays`` link."""

from __future__ import annotations

from erpbridge.ledger import Direction, Ledger, Relation, State
from tests.ledger.helpers import FakeClock


def test_find_newest_first_since_a_time_and_by_id_prefix(ledger: Ledger, clock: FakeClock) -> None:
    first, _ = ledger.record_inbound("acme", "x12", b"ISA*first")
    clock.advance(minutes=10)
    cutoff = clock.advance(seconds=1)
    second, _ = ledger.record_inbound("acme", "x12", b"ISA*second")
    clock.advance(minutes=1)
    third = ledger.record_outbound("acme", "x12/856", payload=b"ISA*third", state=State.WRITTEN)
    assert [d.id for d in ledger.find()] == [first.id, second.id, third.id]
    assert [d.id for d in ledger.find(newest_first=True)] == [third.id, second.id, first.id]
    assert [d.id for d in ledger.find(newest_first=True, limit=2)] == [third.id, second.id]
    assert [d.id for d in ledger.find(created_since=cutoff)] == [second.id, third.id]
    assert [d.id for d in ledger.find(created_since=cutoff, direction=Direction.IN)] == [second.id]
    found = [d.id for d in ledger.find(id_prefix=second.id[:6])]
    assert second.id in found and all(i.startswith(second.id[:6]) for i in found)
    assert [d.id for d in ledger.find(id_prefix=second.id)] == [second.id]
    assert ledger.find(id_prefix="zz") == []
    assert ledger.find(id_prefix="%") == []  # LIKE's wildcards are plain characters here
    assert ledger.find(id_prefix="_") == []


def test_last_event_times_per_partner(ledger: Ledger, clock: FakeClock) -> None:
    assert ledger.last_event_times() == {}
    acme, _ = ledger.record_inbound("acme", "x12", b"ISA*acme")
    clock.advance(minutes=5)
    ledger.record_inbound("globex", "x12", b"ISA*globex")
    clock.advance(minutes=5)
    moved = clock.now
    ledger.transition(acme.id, State.VALIDATED, step="validate")
    times = ledger.last_event_times()
    assert set(times) == {"acme", "globex"}
    assert times["acme"] == moved and times["globex"] < moved


def test_a_replay_is_linked_to_what_it_replays(ledger: Ledger) -> None:
    original = ledger.record_outbound("acme", "x12/856", payload=b"ISA*one", state=State.WRITTEN)
    replay = ledger.record_outbound(
        "acme", "x12/856", payload=b"ISA*two", state=State.WRITTEN, links=[(Relation.REPLAYS, original.id)]
    )
    [link] = ledger.links(original.id)
    assert (link.from_document, link.relation, link.to_document) == (replay.id, Relation.REPLAYS, original.id)
    assert ledger.links(replay.id) == [link]
