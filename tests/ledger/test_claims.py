"""Claiming work for several workers, leases, and the one-leader scheduler lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erpbridge.errors import LedgerBusyError
from erpbridge.ledger import Ledger, State
from tests.ledger import workers
from tests.ledger.helpers import FakeClock, raw_engine

LEASE = timedelta(minutes=5)  # the default


def _receive(ledger: Ledger, count: int, partner: str = "acme") -> list[str]:
    return [
        ledger.record_inbound(partner, "x12/850", f"ISA*{partner}*{n}".encode())[0].id for n in range(count)
    ]


def test_claim_takes_the_oldest_unclaimed_and_leases_them(ledger: Ledger, clock: FakeClock) -> None:
    ids = []
    for n in range(5):
        ids.extend(_receive(ledger, 1, partner=f"p{n}"))
        clock.advance(seconds=1)
    first = ledger.claim(["received"], 2, "w1")
    assert [d.id for d in first] == ids[:2]
    assert all(d.claimed_by == "w1" and d.claimed_until == clock.now + LEASE for d in first)
    second = ledger.claim([State.RECEIVED], 10, "w2")
    assert [d.id for d in second] == ids[2:]
    assert ledger.claim(["received"], 10, "w3") == []
    # a crashed worker's claims expire with the lease
    clock.advance(minutes=6)
    assert [d.id for d in ledger.claim(["received"], 10, "w3", lease=LEASE * 2)] == ids
    # filters
    assert ledger.claim(["received"], 10, "w4", partner="p1") == []
    clock.advance(hours=1)
    assert ledger.claim(["received"], 10, "w4", partner="p1", kind="replay") == []
    assert [d.id for d in ledger.claim(["received"], 10, "w4", partner="p1", direction="in")] == [ids[1]]
    assert ledger.claim([], 10, "w4") == []


def test_a_worker_that_lost_its_claim_cannot_move_the_document(ledger: Ledger, clock: FakeClock) -> None:
    (doc_id,) = _receive(ledger, 1)
    ledger.claim(["received"], 1, "w1")
    clock.advance(minutes=6)
    ledger.claim(["received"], 1, "w2")
    with pytest.raises(LedgerBusyError, match="claimed by another worker") as caught:
        ledger.transition(doc_id, "validated", step="validate", worker="w1")
    assert caught.value.context["reason"] == "claim_lost" and caught.value.transient
    with pytest.raises(LedgerBusyError):
        ledger.fail(doc_id, TimeoutError("slow"), step="validate", worker="w1")
    moved = ledger.transition(doc_id, "validated", step="validate", worker="w2")
    assert moved.claimed_by == "w2"  # still working on it
    done = ledger.transition(doc_id, "rejected", step="ack", worker="w2")
    assert done.claimed_by is None and done.claimed_until is None  # not a work state: released


def test_release(ledger: Ledger) -> None:
    (doc_id,) = _receive(ledger, 1)
    ledger.claim(["received"], 1, "w1")
    assert not ledger.release(doc_id, "w2")
    assert ledger.release(doc_id, "w1")
    assert ledger.get(doc_id).claimed_by is None
    assert [d.id for d in ledger.claim(["received"], 1, "w2")] == [doc_id]


def test_two_processes_claim_disjoint_sets(db_url: str, ledger: Ledger) -> None:
    ids = set(_receive(ledger, 120))
    results = workers.run(workers.claim_all, [(db_url, "left", 4), (db_url, "right", 4)])
    claimed = {worker: set(ids) for worker, ids in results}
    left, right = claimed["left"], claimed["right"]
    assert len(left) + len(right) == 120  # nobody got a document twice
    assert left.isdisjoint(right)
    assert left | right == ids
    # each document's claim is its claimer's (one worker may have taken them all: that is fine)
    assert all(ledger.get(i).claimed_by == worker for worker, mine in claimed.items() for i in mine)


def test_the_scheduler_lock_has_one_holder_in_a_process(
    db_url: str, ledger: Ledger, clock: FakeClock
) -> None:
    with Ledger.open(db_url, clock=clock) as other:
        mine = ledger.scheduler_lock("nightly")
        theirs = other.scheduler_lock("nightly")
        assert mine.acquire() and mine.held
        assert not theirs.acquire() and not theirs.held
        assert mine.renew()
        assert other.scheduler_lock("hourly").acquire()  # another name is another lock
        mine.release()
        assert not mine.held
        assert theirs.acquire()
        with ledger.scheduler_lock("nightly") as lock:
            assert not lock.held
        theirs.release()
        with ledger.scheduler_lock("nightly") as lock:
            assert lock.held
        assert ledger.scheduler_lock("nightly").acquire()  # released by the with block


@pytest.mark.parametrize("crash", [False, True], ids=["release", "crash"])
def test_the_scheduler_lock_is_held_by_one_process_at_a_time(
    db_url: str, ledger: Ledger, clock: FakeClock, backend: str, crash: bool
) -> None:
    barrier = workers.CTX.Barrier(1)
    queue = workers.CTX.Queue()
    release = workers.CTX.Event()
    holder = workers.CTX.Process(
        target=workers.hold_lock, args=(db_url, "nightly", release, crash, barrier, queue)
    )
    holder.start()
    try:
        status, held = queue.get(timeout=workers.TIMEOUT)
        assert (status, held) == ("ok", True)
        lock = ledger.scheduler_lock("nightly")
        assert not lock.acquire()  # the other process holds it
        release.set()
        holder.join(workers.TIMEOUT)
        assert holder.exitcode == 0
        if crash and backend == "sqlite":
            # a dead holder's SQLite lease must run out first
            assert not lock.acquire()
            clock.advance(minutes=6)
        elif crash:
            # PostgreSQL ends the lock with the dead holder's session, as soon as the server notices;
            # wait for that on the lock itself (server side, no sleeping), then let go again
            engine = raw_engine(db_url)
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text("SET LOCAL lock_timeout = '60s'"))
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock.key})
            finally:
                engine.dispose()
        assert lock.acquire()
        lock.release()
    finally:
        release.set()
        holder.join(workers.TIMEOUT)
        if holder.is_alive():
            holder.kill()


def test_recording_with_a_worker_claims_the_document_for_it(ledger: Ledger, clock: FakeClock) -> None:
    """Two processes that pick up the same file: only the one that recorded it goes on with it."""
    first, created = ledger.record_inbound("acme", "x12", b"ISA*same", worker="w1")
    assert created and first.claimed_by == "w1" and first.claimed_until == clock.now + LEASE
    again, created = ledger.record_inbound("acme", "x12", b"ISA*same", worker="w2")
    assert not created and again.id == first.id and again.claimed_by == "w1"
    assert ledger.claim(["received"], 10, "w3") == []  # claimed: not resumable by others either
    # w1 crashed: once its lease ran out, the file delivered again is w2's
    clock.advance(minutes=6)
    taken, _ = ledger.record_inbound("acme", "x12", b"ISA*same", worker="w2")
    assert taken.claimed_by == "w2"
    with pytest.raises(LedgerBusyError):
        ledger.transition(first.id, "validated", step="validate", worker="w1")
    # a document that is done is never claimed again
    ledger.transition(first.id, "validated", step="validate", worker="w2")
    ledger.transition(first.id, "archived", step="archive", worker="w2")
    done, _ = ledger.record_inbound("acme", "x12", b"ISA*same", worker="w1")
    assert done.state == State.ARCHIVED and done.claimed_by is None
    # outbound: the same idempotency key from two workers
    out = ledger.record_outbound(
        "acme", "x12/856", payload=b"x", state="written", idempotency_key="k", worker="w1"
    )
    dup = ledger.record_outbound(
        "acme", "x12/856", payload=b"x", state="written", idempotency_key="k", worker="w2"
    )
    assert out.claimed_by == dup.claimed_by == "w1" and out.isa13 == dup.isa13
    unclaimed, _ = ledger.record_inbound("acme", "x12", b"ISA*other")
    assert unclaimed.claimed_by is None  # without a worker, nothing is claimed (as before)


def test_the_scheduler_lock_passes_to_a_waiting_process_when_the_holder_is_killed(pg_url: str) -> None:
    """Three daemons on one PostgreSQL ledger ask for the lock at once: exactly one gets it. Its holder
    killed with SIGKILL, exactly one of the others takes over, and so on (the advisory lock ends
    with the dead process's session, no lease to wait for)."""
    barrier, queue = workers.CTX.Barrier(3), workers.CTX.Queue()
    procs, controls = {}, {}
    for _ in range(3):
        mine, theirs = workers.CTX.Pipe()
        proc = workers.CTX.Process(
            target=workers.contend_for_lock, args=(pg_url, "batches", theirs, barrier, queue)
        )
        proc.start()
        procs[proc.pid], controls[proc.pid] = proc, mine
    engine = raw_engine(pg_url)

    def holders_on_the_server() -> int:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
            )

    def next_message() -> tuple[str, int, bool]:
        kind, pid, held = queue.get(timeout=workers.TIMEOUT)
        assert kind != "error", f"a contender failed:\n{pid}"
        return kind, pid, held

    try:
        messages = [next_message() for _ in range(4)]  # three first tries, and the winner's "held"
        first = {pid: held for kind, pid, held in messages if kind == "first"}
        assert len(first) == 3 and sum(first.values()) == 1, messages
        (holder,) = [pid for pid, held in first.items() if held]
        assert ("held", holder, True) in messages
        assert holders_on_the_server() == 1
        alive = set(procs)
        for _ in range(2):
            procs[holder].kill()  # SIGKILL: no release, no goodbye to the server
            procs[holder].join(workers.TIMEOUT)
            alive.discard(holder)
            kind, taker, _ = next_message()
            assert kind == "held" and taker in alive, (kind, taker, alive)
            assert holders_on_the_server() == 1  # the new holder only; the others still waiting
            holder = taker
        assert queue.empty()  # nobody else claims to hold it
    finally:
        for pid, proc in procs.items():
            if proc.is_alive():
                controls[pid].send("stop")
        for proc in procs.values():
            proc.join(workers.TIMEOUT)
            if proc.is_alive():
                proc.kill()
        engine.dispose()
