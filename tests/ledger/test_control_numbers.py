"""Control numbers: allocated with the document, per partner, never twice, not even across processes."""

from __future__ import annotations

import pytest

from erpbridge.errors import LedgerError
from erpbridge.ledger import Allocation, Ledger, Level
from erpbridge.ledger.numbers import MAXIMUM, format_number, next_block
from tests.ledger import workers
from tests.ledger.helpers import FakeClock


def test_next_block_and_formats() -> None:
    assert next_block(0, 1, 999_999_999) == (1, False)
    assert next_block(41, 3, 999_999_999) == (42, False)
    assert next_block(999_999_998, 1, 999_999_999) == (999_999_999, False)
    assert next_block(999_999_999, 1, 999_999_999) == (1, True)
    assert next_block(999_999_998, 2, 999_999_999) == (1, True)  # a block never straddles the maximum
    with pytest.raises(ValueError):
        next_block(0, 0, 10)
    assert format_number(Level.ISA, 7) == "000000007"
    assert format_number(Level.GS, 7) == "7"
    assert format_number(Level.ST, 7) == "0007"
    assert format_number(Level.ST, 123456) == "123456"
    assert format_number(Level.DOCNUM, 4711) == "0000000000004711"
    assert {MAXIMUM[level] for level in (Level.ISA, Level.GS, Level.ST)} == {999_999_999}
    assert MAXIMUM[Level.DOCNUM] == 9_999_999_999_999_999


def test_numbers_start_at_one_and_count_per_partner(ledger: Ledger) -> None:
    first = ledger.record_outbound("acme", "x12/855")
    assert (first.isa13, first.gs06, first.st02) == ("000000001", "1", "0001")
    assert first.allocation == Allocation(isa13=1, gs06=1, st02=1, sets=1)
    second = ledger.record_outbound("acme", "x12/856", sets=3)
    assert (second.isa13, second.gs06, second.st02, second.set_count) == ("000000002", "2", "0002", 3)
    third = ledger.record_outbound("acme", "x12/810")
    assert third.st02 == "0005"  # 2, 3 and 4 went to the three sets of the 856
    other = ledger.record_outbound("globex", "x12/855")
    assert other.isa13 == "000000001"
    assert ledger.control_numbers("acme") == {Level.ISA: 3, Level.GS: 3, Level.ST: 5}
    assert ledger.control_numbers("nobody") == {}
    event = ledger.events(second.id)[0]
    assert event.detail == {"isa13": "000000002", "gs06": "2", "st02": "0002"}


def test_only_the_levels_asked_for(ledger: Ledger) -> None:
    plain = ledger.record_outbound("acme", "PurchaseOrder", levels=(), state="mapped")
    assert (plain.isa13, plain.gs06, plain.st02) == (None, None, None)
    isa_only = ledger.record_outbound("acme", "x12/ta1", levels=["isa"])
    assert (isa_only.isa13, isa_only.gs06, isa_only.st02) == ("000000001", None, None)
    assert ledger.control_numbers("acme") == {Level.ISA: 1}
    with pytest.raises(LedgerError):
        ledger.record_outbound("acme", "x12/855", levels=["xx"])
    with pytest.raises(LedgerError):
        ledger.record_outbound("acme", "x12/855", state="sent")


def test_the_payload_is_rendered_with_the_numbers_and_a_failed_render_uses_none(ledger: Ledger) -> None:
    seen: list[Allocation] = []

    def render(numbers: Allocation) -> bytes:
        seen.append(numbers)
        return f"ISA*{numbers.isa13:09d}~GS*{numbers.gs06}~ST*{numbers.st02:04d}".encode()

    doc = ledger.record_outbound("acme", "x12/997", payload=render, state="written")
    assert ledger.payload(doc.payload_sha256 or "") == b"ISA*000000001~GS*1~ST*0001"

    def broken(numbers: Allocation) -> bytes:
        raise LedgerError("writer refused", isa13=numbers.isa13)

    with pytest.raises(LedgerError, match="writer refused"):
        ledger.record_outbound("acme", "x12/997", payload=broken)
    again = ledger.record_outbound("acme", "x12/997", payload=render)
    assert again.isa13 == "000000002"  # the failed recording consumed nothing
    assert len(ledger.find(partner="acme")) == 2


def test_an_idempotency_key_records_once(ledger: Ledger) -> None:
    first = ledger.record_outbound("acme", "x12/855", idempotency_key="855-for-PO-1")
    again = ledger.record_outbound("acme", "x12/855", idempotency_key="855-for-PO-1")
    assert again == first
    assert ledger.control_numbers("acme")[Level.ISA] == 1
    with pytest.raises(LedgerError, match="another document"):
        ledger.record_outbound("globex", "x12/855", idempotency_key="855-for-PO-1")


def test_counters_only_move_forward(ledger: Ledger) -> None:
    ledger.set_control_number("acme", "isa", 5000)
    assert ledger.record_outbound("acme", "x12/855").isa13 == "000005001"
    with pytest.raises(LedgerError, match="cannot go back"):
        ledger.set_control_number("acme", Level.ISA, 10)
    with pytest.raises(LedgerError):
        ledger.set_control_number("acme", Level.ISA, 1_000_000_000)


def test_isa13_wraps_to_one_unless_one_was_used_recently(ledger: Ledger, clock: FakeClock) -> None:
    ledger.set_control_number("fresh", "isa", 999_999_998)
    assert ledger.record_outbound("fresh", "x12/855", levels=["isa"]).isa13 == "999999999"
    wrapped = ledger.record_outbound("fresh", "x12/855", levels=["isa"])
    assert wrapped.isa13 == "000000001"
    assert ledger.events(wrapped.id)[0].detail["wrapped"] == ["isa"]

    used = ledger.record_outbound("busy", "x12/855", levels=["isa", "gs"])
    assert used.isa13 == "000000001"
    ledger.set_control_number("busy", "isa", 999_999_999)
    clock.advance(days=10)
    with pytest.raises(LedgerError, match="would wrap to 000000001") as caught:
        ledger.record_outbound("busy", "x12/855", levels=["isa", "gs"])
    assert caught.value.context["partner"] == "busy"
    assert ledger.control_numbers("busy") == {Level.ISA: 999_999_999, Level.GS: 1}  # nothing consumed
    clock.advance(days=400)
    assert ledger.record_outbound("busy", "x12/855", levels=["isa", "gs"]).isa13 == "000000001"
    # after a wrap every reissued number is checked: 2 was never used, so it is fine
    assert ledger.record_outbound("busy", "x12/855", levels=["isa"]).isa13 == "000000002"


@pytest.mark.parametrize("processes", [3])
def test_control_numbers_never_repeat_across_processes(db_url: str, ledger: Ledger, processes: int) -> None:
    per_process = 200
    results = workers.run(workers.allocate, [(db_url, "acme", per_process)] * processes)
    total = processes * per_process
    numbers = [n for result in results for n in result]
    isa = sorted(int(i) for i, _, _ in numbers)
    gs = sorted(int(g) for _, g, _ in numbers)
    st = sorted(int(s) for _, _, s in numbers)
    assert isa == list(range(1, total + 1))  # no repeats, and nothing lost
    assert gs == list(range(1, total + 1))
    assert st == list(range(1, 2 * total, 2))  # blocks of two sets
    assert ledger.control_numbers("acme") == {Level.ISA: total, Level.GS: total, Level.ST: 2 * total}
    assert ledger.verify() == total


def test_docnums_are_16_digits_from_one_counter_for_the_whole_ledger(ledger: Ledger) -> None:
    first = ledger.record_outbound("acme", "idoc/ORDERS05", levels=["docnum"], idempotency_key="k1")
    assert first.docnum == "0000000000000001"
    assert (first.isa13, first.gs06, first.st02) == (None, None, None)
    assert first.allocation.docnum == 1
    assert ledger.events(first.id)[0].detail == {"docnum": "0000000000000001"}
    # another partner's IDoc goes to the same SAP system: the next number, not 1 again
    other = ledger.record_outbound("globex", "idoc/DELVRY07", levels=[Level.DOCNUM])
    assert other.docnum == "0000000000000002"
    assert ledger.record_outbound("acme", "idoc/ORDERS05", levels=["docnum"], idempotency_key="k1") == first
    assert ledger.control_numbers("*") == {Level.DOCNUM: 2}
    assert ledger.control_numbers("acme") == {}  # X12 counters untouched
    both = ledger.record_outbound("acme", "x12/856", levels=["isa", "gs", "st", "docnum"])
    assert (both.isa13, both.docnum) == ("000000001", "0000000000000003")
    assert ledger.find(docnum="0000000000000002") == [other]
    received, _ = ledger.record_inbound("acme", "idoc", b"<DELVRY07/>", docnum="0000000064132944")
    assert received.docnum == "0000000064132944"
    assert ledger.find(direction="in", docnum="0000000064132944") == [received]


def test_the_docnum_counter_moves_forward_and_never_wraps(ledger: Ledger) -> None:
    ledger.set_control_number("acme", "docnum", 4_500_000)  # any partner: the one ledger-wide counter
    assert ledger.record_outbound("globex", "idoc/ORDERS05", levels=["docnum"]).docnum == "0000000004500001"
    with pytest.raises(LedgerError, match="cannot go back"):
        ledger.set_control_number("*", Level.DOCNUM, 10)
    with pytest.raises(LedgerError):
        ledger.set_control_number("*", Level.DOCNUM, 10_000_000_000_000_000)
    ledger.set_control_number("*", Level.DOCNUM, 9_999_999_999_999_998)
    assert ledger.record_outbound("acme", "idoc/ORDERS05", levels=["docnum"]).docnum == "9999999999999999"
    with pytest.raises(LedgerError, match="at its maximum"):
        ledger.record_outbound("acme", "idoc/ORDERS05", levels=["docnum"])
    assert ledger.control_numbers("*") == {Level.DOCNUM: 9_999_999_999_999_999}  # nothing consumed


def test_docnums_never_repeat_across_processes_and_partners(db_url: str, ledger: Ledger) -> None:
    per_process = 150
    args = [(db_url, partner, per_process) for partner in ("acme", "globex", "acme")]
    results = workers.run(workers.allocate_docnums, args)
    docnums = sorted(int(d) for result in results for d in result)
    assert docnums == list(range(1, 3 * per_process + 1))
    assert all(len(d) == 16 for result in results for d in result)
    assert ledger.control_numbers("*") == {Level.DOCNUM: 3 * per_process}
