"""Code the ledger tests run in other OS processes (nothing is shared with them but the database).

Processes come from a fork server that has imported this module (and so SQLAlchemy) once, but
never opened a database: children start in milliseconds and inherit no connections.

Every worker opens its own Ledger, waits at a barrier so that all start together, does its part
and puts ``("ok", result)`` or ``("error", traceback)`` on a queue. Processes coordinate through
barriers, events and queues only, never by sleeping.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.context import ForkServerContext
from typing import Any

from erpbridge.ledger import Ledger

CTX: ForkServerContext = mp.get_context("forkserver")
CTX.set_forkserver_preload(["tests.ledger.workers"])
TIMEOUT = 90.0


def _report(queue: Any, work: Callable[[], Any]) -> None:
    try:
        result = work()
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise
    queue.put(("ok", result))


def run(target: Callable[..., None], argument_lists: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, queue)`` in one process per argument tuple; their results, in
    the order the processes finished."""
    barrier = CTX.Barrier(len(argument_lists))
    queue = CTX.Queue()
    processes = [CTX.Process(target=target, args=(*args, barrier, queue)) for args in argument_lists]
    for process in processes:
        process.start()
    try:
        results = []
        for _ in processes:
            status, value = queue.get(timeout=TIMEOUT)
            if status != "ok":
                raise AssertionError(f"a worker process failed:\n{value}")
            results.append(value)
        return results
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()


def allocate(url: str, partner: str, count: int, barrier: Any, queue: Any) -> None:
    """Record ``count`` outbound documents; report their (ISA13, GS06, ST02)."""

    def work() -> list[tuple[str | None, str | None, str | None]]:
        with Ledger.open(url, migrate=False) as ledger:
            barrier.wait()
            numbers = []
            for _ in range(count):
                doc = ledger.record_outbound(partner, "x12/855", sets=2)
                numbers.append((doc.isa13, doc.gs06, doc.st02))
            return numbers

    _report(queue, work)


def allocate_docnums(url: str, partner: str, count: int, barrier: Any, queue: Any) -> None:
    """Record ``count`` outbound IDocs for ``partner``; report their DOCNUMs."""

    def work() -> list[str | None]:
        with Ledger.open(url, migrate=False) as ledger:
            barrier.wait()
            return [
                ledger.record_outbound(partner, "idoc/ORDERS05", levels=["docnum"]).docnum
                for _ in range(count)
            ]

    _report(queue, work)


def record_duplicates(url: str, tag: str, po_numbers: list[str], barrier: Any, queue: Any) -> None:
    """Record each PO twice over: once with content of our own, once with content both workers send."""

    def work() -> list[tuple[str, str, bool]]:
        with Ledger.open(url, migrate=False) as ledger:
            barrier.wait()
            out = []
            for po in po_numbers:
                mine = f"ISA*{tag}*{po}".encode()
                doc, created = ledger.record_inbound("acme", "x12/850", mine, business_key=po)
                out.append((po, doc.id, created))
                shared = f"ISA*shared*{po}".encode()
                doc, created = ledger.record_inbound("globex", "x12/850", shared)
                out.append((f"globex:{po}", doc.id, created))
            return out

    _report(queue, work)


def claim_all(url: str, worker: str, batch: int, barrier: Any, queue: Any) -> None:
    """Claim ``received`` documents in batches until none are left; report (worker, IDs claimed)."""

    def work() -> tuple[str, list[str]]:
        with Ledger.open(url, migrate=False) as ledger:
            barrier.wait()
            claimed: list[str] = []
            while True:
                docs = ledger.claim(["received"], batch, worker)
                if not docs:
                    return worker, claimed
                assert all(d.claimed_by == worker for d in docs)
                claimed.extend(d.id for d in docs)

    _report(queue, work)


def open_ledger(url: str, barrier: Any, queue: Any) -> None:
    """Open (and so migrate) a ledger together with other processes; report the revision."""

    def work() -> str:
        barrier.wait()
        with Ledger.open(url) as ledger:
            ledger.record_inbound("acme", "x12/850", f"ISA*{mp.current_process().pid}".encode())
            return ledger.migrate()

    _report(queue, work)


def hold_lock(url: str, name: str, release: Any, crash: bool, barrier: Any, queue: Any) -> None:
    """Take scheduler lock ``name``, report whether it was held, then wait for ``release``.

    With ``crash``, exit without releasing (as a killed daemon would)."""
    import os

    try:
        ledger = Ledger.open(url, migrate=False)
        barrier.wait()
        lock = ledger.scheduler_lock(name)
        held = lock.acquire()
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise
    queue.put(("ok", held))
    release.wait(TIMEOUT)
    if crash:
        os._exit(0)
    lock.release()
    ledger.close()


def contend_for_lock(url: str, name: str, control: Any, barrier: Any, queue: Any) -> None:
    """Try to take scheduler lock ``name`` at the same moment as the other processes, then keep
    trying (as a daemon's leader job does, only more often) until it holds it or ``control`` (this
    process's end of a Pipe) receives anything, which also ends its hold on the lock.

    Reports ``("first", pid, held)`` after the first try and ``("held", pid, True)`` once it holds
    the lock. The test kills these processes with SIGKILL, so they wait on their own pipe, never
    on a shared Event or Condition (a process killed inside ``wait()`` would hang the others)."""
    import os

    try:
        ledger = Ledger.open(url, migrate=False)
        lock = ledger.scheduler_lock(name)
        barrier.wait()
        held = lock.acquire()
        queue.put(("first", os.getpid(), held))
        while not held and not control.poll(0.01):  # the retry interval (a daemon's is a minute)
            held = lock.acquire()
        if held:
            queue.put(("held", os.getpid(), True))
    except BaseException:
        queue.put(("error", traceback.format_exc(), False))
        raise
    control.poll(TIMEOUT)
    lock.release()
    ledger.close()
