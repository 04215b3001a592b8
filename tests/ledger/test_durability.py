"""How each ledger transaction commits: a state move without waiting for the disk, everything else
(receipts, control numbers, failures) durably; and a relaxed commit survives a killed process.

SQLite reports ``PRAGMA synchronous`` 1 (NORMAL) or 2 (FULL); PostgreSQL ``synchronous_commit``.
The value is read on the transaction's own connection just before it commits.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from erpbridge.errors import TransformError
from erpbridge.ledger import Ledger, State


@contextmanager
def commits_seen(query: str) -> Iterator[list[str]]:
    """The result of ``query`` on each committing connection, in commit order."""
    seen: list[str] = []

    def on_commit(conn: sa.Connection) -> None:
        raw: Any = conn.connection.driver_connection
        seen.append(str(raw.execute(query).fetchone()[0]))

    sa.event.listen(sa.Engine, "commit", on_commit)
    try:
        yield seen
    finally:
        sa.event.remove(sa.Engine, "commit", on_commit)


def each_kind_of_commit(ledger: Ledger, query: str) -> dict[str, list[str]]:
    def during(call: Callable[[], object]) -> list[str]:
        with commits_seen(query) as seen:
            call()
        return seen

    doc, _ = ledger.record_inbound("acme", "x12", b"ISA*first", isa13="000000001")
    found: dict[str, list[str]] = {}
    found["record_inbound"] = during(lambda: ledger.record_inbound("acme", "x12", b"ISA*second"))
    found["transition"] = during(lambda: ledger.transition(doc.id, State.VALIDATED, step="validate"))
    found["record_outbound"] = during(
        lambda: ledger.record_outbound("acme", "x12/997", payload=b"ack", state=State.WRITTEN)
    )
    found["transition again"] = during(lambda: ledger.transition(doc.id, State.ACKNOWLEDGED, step="ack"))
    found["fail"] = during(lambda: ledger.fail(doc.id, TransformError("bad"), step="map"))
    return found


def test_sqlite_state_moves_commit_with_synchronous_normal_and_the_rest_with_full(sqlite_dir: Path) -> None:
    with Ledger.open(sqlite_dir / "durability.db") as ledger:
        found = each_kind_of_commit(ledger, "PRAGMA synchronous")
    assert found == {
        "record_inbound": ["2"],
        "transition": ["1"],
        "record_outbound": ["2"],
        "transition again": ["1"],
        "fail": ["2"],
    }


def test_postgresql_state_moves_commit_with_synchronous_commit_off_for_that_transaction_only(
    pg_admin: str, fresh_pg_url: str
) -> None:
    name = sa.make_url(fresh_pg_url).database
    with psycopg.connect(pg_admin, autocommit=True) as conn:  # the server's default, not the tests' "off"
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    with Ledger.open(fresh_pg_url) as ledger:
        found = each_kind_of_commit(ledger, "SHOW synchronous_commit")
    assert found == {
        "record_inbound": ["on"],
        "transition": ["off"],
        "record_outbound": ["on"],
        "transition again": ["off"],
        "fail": ["on"],
    }


def test_a_relaxed_commit_survives_the_process_being_killed(sqlite_dir: Path) -> None:
    path = sqlite_dir / "killed.db"
    with Ledger.open(path) as ledger:
        doc, _ = ledger.record_inbound("acme", "x12", b"ISA*killed", isa13="000000007")
    child = textwrap.dedent(
        f"""
        import os, signal
        from erpbridge.ledger import Ledger, State
        ledger = Ledger.open({str(path)!r})
        ledger.transition({doc.id!r}, State.VALIDATED, step="validate")
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no exit handlers
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with Ledger.open(path) as ledger:
        assert ledger.get(doc.id).state == State.VALIDATED
        assert ledger.verify() == 2
