"""Ledger.atomic(): several ledger calls as one transaction, on SQLite and PostgreSQL.

What the pipeline relies on when it records a file and validates it, or marks its 997 sent and
the 850 acknowledged, in one commit: every call still checks what it checks and appends its own
event in order, the chain stays whole, and a failure anywhere undoes every call (no document, no
control number, no event). The statement counts are what makes it cheaper: the chain head is read
and written once per transaction, and a document moved twice is read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from erpbridge.errors import IllegalTransitionError, LedgerError
from erpbridge.ledger import Ledger, Level, Relation, State


@contextmanager
def sql_seen() -> Iterator[tuple[list[str], list[int]]]:
    """The statements every engine runs, and a count of commits."""
    statements: list[str] = []
    commits = [0]

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    sa.event.listen(sa.Engine, "before_cursor_execute", on_statement)
    sa.event.listen(sa.Engine, "commit", on_commit)
    try:
        yield statements, commits
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", on_statement)
        sa.event.remove(sa.Engine, "commit", on_commit)


def _record_validate_and_ack(ledger: Ledger) -> tuple[str, str]:
    doc, created = ledger.record_inbound("acme", "x12", b"ISA*atomic", isa13="000000101", worker="w")
    assert created
    ledger.transition(doc.id, State.VALIDATED, step="validate", latency_ms=3, worker="w")
    ack = ledger.record_outbound(
        "acme",
        "x12/997",
        payload=lambda n: f"997 {n.isa13}".encode(),
        state=State.WRITTEN,
        idempotency_key=f"ack:{doc.id}:0",
        links=[(Relation.ACKNOWLEDGES, doc.id)],
        worker="w",
    )
    return doc.id, ack.id


def test_calls_in_an_atomic_commit_once_with_every_event_in_order(ledger: Ledger) -> None:
    with sql_seen() as (statements, commits):
        doc_id, ack_id = ledger.atomic(lambda: _record_validate_and_ack(ledger))
    assert commits == [1]
    head = [s for s in statements if "chain_head" in s]
    assert len(head) == 2, head  # read under its lock and written once, for three events
    assert ledger.get(doc_id).state == State.VALIDATED
    assert ledger.get(ack_id).state == State.WRITTEN
    assert [(e.document_id, e.step, e.to_state, e.latency_ms) for e in ledger.events()] == [
        (doc_id, "receive", State.RECEIVED, None),
        (doc_id, "validate", State.VALIDATED, 3),
        (ack_id, "record", State.WRITTEN, None),
    ]
    assert ledger.verify() == 3
    assert [(link.relation, link.to_document) for link in ledger.links(ack_id)] == [
        (Relation.ACKNOWLEDGES, doc_id)
    ]


def test_moves_after_one_put_commit_together_and_read_the_document_once(ledger: Ledger) -> None:
    doc_id, ack_id = ledger.atomic(lambda: _record_validate_and_ack(ledger))

    def after_the_put() -> None:
        ledger.transition(ack_id, State.SENT, step="put", latency_ms=7, worker="w")
        ledger.transition(ack_id, State.ARCHIVED, step="no_ack_expected", worker="w")
        ledger.transition(doc_id, State.ACKNOWLEDGED, step="acknowledge", worker="w")
        ledger.transition(doc_id, State.MAPPED, step="map", latency_ms=2, worker="w")

    with sql_seen() as (statements, commits):
        ledger.atomic(after_the_put, durable=False)
    assert commits == [1]
    reads = [s for s in statements if s.startswith("SELECT") and "FROM documents" in s]
    assert len(reads) == 2, reads  # each document read (and locked) once, for two moves each
    # the head this ledger committed last is still the head: one conditional update moves it
    assert [s.split()[0] for s in statements if "chain_head" in s] == ["UPDATE"]
    assert ledger.get(ack_id).state == State.ARCHIVED
    assert ledger.get(doc_id).state == State.MAPPED
    assert [(e.step, e.from_state, e.to_state) for e in ledger.events(after=3)] == [
        ("put", State.WRITTEN, State.SENT),
        ("no_ack_expected", State.SENT, State.ARCHIVED),
        ("acknowledge", State.VALIDATED, State.ACKNOWLEDGED),
        ("map", State.ACKNOWLEDGED, State.MAPPED),
    ]
    assert ledger.verify() == 7


def test_a_failure_in_an_atomic_undoes_every_call_and_spends_no_number(ledger: Ledger) -> None:
    def record_then_an_illegal_move() -> None:
        doc_id, _ = _record_validate_and_ack(ledger)
        ledger.transition(doc_id, State.DELIVERED, step="deliver")  # validated -> delivered: illegal

    with pytest.raises(IllegalTransitionError):
        ledger.atomic(record_then_an_illegal_move)
    assert ledger.find(partner="acme") == []
    assert ledger.control_numbers("acme") == {}
    assert ledger.events() == []
    assert ledger.verify() == 0
    _, ack_id = ledger.atomic(lambda: _record_validate_and_ack(ledger))  # the same again: clean
    assert ledger.get(ack_id).isa13 == "000000001"
    assert ledger.verify() == 3


def test_a_relaxed_atomic_refuses_a_recording(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="record_inbound commits durably"):
        ledger.atomic(lambda: ledger.record_inbound("acme", "x12", b"ISA*relaxed"), durable=False)
    assert ledger.find(partner="acme") == []


def test_reads_and_notes_in_an_atomic_see_what_it_wrote(ledger: Ledger) -> None:
    def work() -> tuple[Any, ...]:
        doc, _ = ledger.record_inbound("acme", "x12", b"ISA*reads", isa13="000000102")
        note = ledger.note(doc.id, step="archive_remote", outcome="ok")
        ledger.transition(doc.id, State.VALIDATED, step="validate")
        return doc.id, note, ledger.events(doc.id), ledger.get(doc.id).state

    doc_id, note, events, state = ledger.atomic(work)
    assert state == State.VALIDATED
    assert [e.step for e in events] == ["receive", "archive_remote", "validate"]
    assert note == ledger.events(doc_id)[1]  # its id and hash as the chain has them
    assert ledger.verify() == 3


def test_an_atomic_inside_an_atomic_is_part_of_it(ledger: Ledger) -> None:
    def inner() -> str:
        return ledger.record_inbound("acme", "x12", b"ISA*inner", isa13="000000103")[0].id

    def outer() -> None:
        doc_id = ledger.atomic(inner)
        ledger.record_outbound("acme", "x12/997", payload=b"997", state=State.WRITTEN)
        ledger.transition(doc_id, State.ARCHIVED, step="archive")  # illegal from received

    with pytest.raises(IllegalTransitionError):
        ledger.atomic(outer)
    assert ledger.find(partner="acme") == []
    assert Level.ISA not in ledger.control_numbers("acme")


def test_a_head_moved_by_another_ledger_is_read_again(ledger: Ledger, db_url: str) -> None:
    """Each ledger remembers the chain head it committed last and moves it with one conditional
    update; when another process appended since, the update finds nothing and the head is read
    (locked) instead: the chain stays whole whichever process appends."""
    first, _ = ledger.record_inbound("acme", "x12", b"ISA*one", isa13="000000201")
    with Ledger.open(db_url, migrate=False) as other:
        other.record_inbound("acme", "x12", b"ISA*two", isa13="000000202")
    with sql_seen() as (statements, _):
        ledger.transition(first.id, State.VALIDATED, step="validate")
    assert [s.split()[0] for s in statements if "chain_head" in s] == ["UPDATE", "SELECT", "UPDATE"]
    assert [e.id for e in ledger.events()] == [1, 2, 3]
    assert ledger.verify() == 3


def _validated(ledger: Ledger, n: int) -> list[str]:
    ids = []
    for i in range(n):
        doc, _ = ledger.record_inbound("acme", "x12", f"ISA*many*{i}".encode(), worker="w")
        ids.append(ledger.transition(doc.id, State.VALIDATED, step="validate", worker="w").id)
    return ids


def test_transitions_lock_every_document_with_one_statement_and_commit_once(ledger: Ledger) -> None:
    ids = _validated(ledger, 5)
    moves = [(d, State.ACKNOWLEDGED, {"step": "acknowledge", "latency_ms": i}) for i, d in enumerate(ids)]
    moves += [(d, State.MAPPED, {"step": "map", "detail": {"documents": 1}}) for d in ids]
    before = ledger.verify()
    with sql_seen() as (statements, commits):
        moved = ledger.transitions(moves, worker="w")
    assert commits == [1]
    reads = [s for s in statements if s.startswith("SELECT documents.")]
    assert len(reads) == 1 and " IN (" in reads[0], reads  # one statement for the five documents
    assert [(d.id, d.state) for d in moved] == [(d, State.ACKNOWLEDGED) for d in ids] + [
        (d, State.MAPPED) for d in ids
    ]
    events = ledger.events()[before:]
    assert [(e.document_id, e.step, e.to_state, e.latency_ms) for e in events] == [
        (d, "acknowledge", State.ACKNOWLEDGED, i) for i, d in enumerate(ids)
    ] + [(d, "map", State.MAPPED, None) for d in ids]
    assert ledger.verify() == before + 10


def test_one_illegal_move_among_transitions_undoes_them_all(ledger: Ledger) -> None:
    ids = _validated(ledger, 3)
    before = ledger.verify()
    moves = [(d, State.ACKNOWLEDGED, {"step": "acknowledge"}) for d in ids]
    moves.append((ids[0], State.RECEIVED, {"step": "back"}))  # validated -> received is not a move
    with pytest.raises(IllegalTransitionError):
        ledger.transitions(moves, worker="w")
    assert [ledger.get(d).state for d in ids] == [State.VALIDATED] * 3
    assert ledger.verify() == before
    with pytest.raises(LedgerError, match="no such document"):
        ledger.transitions([("no-such-id", State.ACKNOWLEDGED, {"step": "acknowledge"})], worker="w")
    with pytest.raises(LedgerError, match="its worker once"):
        ledger.transitions([(ids[0], State.ACKNOWLEDGED, {"step": "acknowledge", "worker": "w"})])
    assert ledger.transitions([], worker="w") == []


def test_a_preloaded_chunk_finds_its_duplicates_in_the_ledger_and_among_its_own_files(ledger: Ledger) -> None:
    """preload_inbound looks up a chunk's content and ISA13s at once; record_inbound then finds a
    duplicate among them, or among the documents recorded earlier in the same transaction, with no
    lookup of its own, and one with a key that was not preloaded still looks it up."""
    seen, created = ledger.record_inbound("acme", "x12", b"ISA*seen", isa13="000000001")
    assert created
    files = [
        (b"ISA*seen", None),  # the content recorded before
        (b"ISA*resent", "000000001"),  # another content, the ISA13 recorded before
        (b"ISA*new", "000000002"),
        (b"ISA*new", "000000002"),  # the same file twice in one chunk
        (b"ISA*other", "000000003"),
    ]

    def chunk() -> list[tuple[str, bool]]:
        ledger.preload_inbound("acme", [data for data, _ in files], [isa13 for _, isa13 in files])
        got = []
        for data, isa13 in files:
            doc, new = ledger.record_inbound("acme", "x12", data, isa13=isa13, worker="w")
            got.append((doc.id, new))
        return got

    with sql_seen() as (statements, commits):
        got = ledger.atomic(chunk)
    assert commits == [1]
    lookups = [s for s in statements if s.startswith("SELECT documents.")]
    assert len(lookups) == 2 and all(" IN (" in s for s in lookups), lookups  # content, then ISA13
    ids = [doc_id for doc_id, _ in got]
    assert [new for _, new in got] == [False, False, True, False, True]
    assert ids[0] == ids[1] == seen.id and ids[2] == ids[3] and len({ids[2], ids[4], seen.id}) == 3
    matched = [e.detail["matched_on"] for e in ledger.events(seen.id) if e.outcome == "duplicate"]
    assert matched == ["content", "isa13"]
    [again] = [e for e in ledger.events(ids[2]) if e.outcome == "duplicate"]
    assert again.detail["matched_on"] == "content"
    assert len(ledger.find(partner="acme", limit=100)) == 3

    # a business key was not preloaded: looked up as before, and found
    def by_business_key() -> tuple[str, bool]:
        ledger.preload_inbound("acme", [b"ISA*po"], [None])
        first, _ = ledger.record_inbound("acme", "x12/850", b"ISA*po", business_key="PO-1")
        doc, new = ledger.record_inbound("acme", "x12/850", b"ISA*po again", business_key="PO-1")
        assert doc.id == first.id
        return doc.id, new

    assert ledger.atomic(by_business_key)[1] is False
    ledger.preload_inbound("acme", [b"outside an atomic"], [None])  # nothing to do: no error


def test_a_new_key_is_not_looked_up_and_a_wrong_one_fails_the_transaction(ledger: Ledger) -> None:
    doc, _ = ledger.record_inbound("acme", "x12", b"ISA*ack me", worker="w")

    def ack(key: str) -> str:
        return ledger.record_outbound(
            "acme", "x12/997", payload=b"997", state=State.WRITTEN, idempotency_key=key, new_key=True
        ).id

    with sql_seen() as (statements, _):
        ledger.atomic(lambda: ack(f"ack:{doc.id}:0"))
    assert not [s for s in statements if s.startswith("SELECT documents.")], statements
    before = ledger.verify()
    with pytest.raises(LedgerError):  # the key was recorded: the unique index refuses a second one
        ledger.atomic(lambda: ack(f"ack:{doc.id}:0"))
    assert ledger.verify() == before and len(ledger.find(partner="acme", limit=10)) == 2


def _ack(ledger: Ledger, n: int, sets: int = 1) -> tuple[str | None, str | None, str | None]:
    doc = ledger.record_outbound(
        "acme", "x12/997", payload=f"997 {n}".encode(), state=State.WRITTEN, sets=sets
    )
    return doc.isa13, doc.gs06, doc.st02


def test_reserved_numbers_are_used_in_turn_and_the_unused_given_back(ledger: Ledger) -> None:
    _ack(ledger, 0)  # the counters exist: ISA13, GS06 and ST02 at 1

    def chunk() -> list[tuple[str | None, str | None, str | None]]:
        ledger.reserve_numbers("acme", 5)
        return [_ack(ledger, n) for n in range(1, 4)]  # three of the five

    with sql_seen() as (statements, commits):
        got = ledger.atomic(chunk)
    assert commits == [1]
    counters = [s for s in statements if s.startswith("UPDATE control_numbers")]
    assert len(counters) == 4, counters  # the reservation, then three give-backs (one per counter)
    assert got == [(f"{n:09d}", str(n), f"{n:04d}") for n in (2, 3, 4)]
    assert ledger.control_numbers("acme") == {Level.ISA: 4, Level.GS: 4, Level.ST: 4}  # 5 and 6 back
    assert _ack(ledger, 5) == ("000000005", "5", "0005")  # no number skipped


def test_an_allocation_after_the_reserved_block_leaves_its_rest_unused_never_repeated(ledger: Ledger) -> None:
    _ack(ledger, 0)

    def chunk() -> list[tuple[str | None, str | None, str | None]]:
        ledger.reserve_numbers("acme", 3)
        first = _ack(ledger, 1)  # 2 from the block
        two_sets = _ack(ledger, 2, sets=2)  # not from the block: after it (5, ST 5 and 6)
        return [first, two_sets, _ack(ledger, 3)]  # 3 from the block

    got = ledger.atomic(chunk)
    assert got == [("000000002", "2", "0002"), ("000000005", "5", "0005"), ("000000003", "3", "0003")]
    assert ledger.control_numbers("acme") == {Level.ISA: 5, Level.GS: 5, Level.ST: 6}  # 4 stays unused
    assert _ack(ledger, 4) == ("000000006", "6", "0007")


def test_a_reservation_needs_counters_that_exist_and_a_durable_transaction(ledger: Ledger) -> None:
    def first_ever() -> tuple[str | None, str | None, str | None]:
        ledger.reserve_numbers("new-partner", 4)  # no counters yet: nothing reserved
        doc = ledger.record_outbound("new-partner", "x12/997", payload=b"997", state=State.WRITTEN)
        return doc.isa13, doc.gs06, doc.st02

    assert ledger.atomic(first_ever) == ("000000001", "1", "0001")
    assert ledger.control_numbers("new-partner") == {Level.ISA: 1, Level.GS: 1, Level.ST: 1}
    with pytest.raises(LedgerError, match="atomic\\(durable=False\\)"):
        ledger.atomic(lambda: ledger.reserve_numbers("new-partner", 2), durable=False)
    ledger.reserve_numbers("new-partner", 2)  # outside an atomic: nothing
    assert ledger.control_numbers("new-partner") == {Level.ISA: 1, Level.GS: 1, Level.ST: 1}
