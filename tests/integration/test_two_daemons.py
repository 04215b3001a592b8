"""Two daemon processes on one PostgreSQL ledger and one inbound folder: every document is processed
exactly once (ledger claims, ``SELECT ... FOR UPDATE SKIP LOCKED``), and only one process runs the
scheduled batches (an advisory lock) (issue 4, "Proof").

The processes are real ``erpbridge run --once`` subprocesses on a database of their own
(PostgreSQL on 127.0.0.1:5432 as in tests/ledger/conftest.py; with ``CI=true`` a missing server
fails the test). To make them start together, the test holds ``LOCK TABLE documents`` until the
server shows both waiting for it, then lets go: a barrier that needs no sleeping.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from erpbridge.ledger import Ledger
from tests.integration.sites import IN_FLOW, INVENTORY_FLOW, SHIP_FLOW, Site, build_site, check_site
from tests.ledger.conftest import START_HINT, _admin_url, _in_ci, create_database, drop_database

DEADLINE = 120.0  # seconds for anything the test waits for


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test (dropped afterwards)."""
    admin, why = _admin_url()
    if admin is None:
        message = f"PostgreSQL is not reachable ({why}); start it with: {START_HINT}"
        if _in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    name = f"erpbridge_test_daemons_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    try:
        Ledger.open(url).close()  # migrated once, so the processes start on a current schema
        yield url
    finally:
        drop_database(admin, name)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _waiting_on_documents(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute(
        "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND relation = 'documents'::regclass"
    ).fetchone()
    return int(row[0]) if row else 0


def _outcomes(stdout: str) -> Counter[tuple[str, str]]:
    """The summary table of ``run --once``: (flow, outcome) -> count."""
    table: Counter[tuple[str, str]] = Counter()
    for line in stdout.splitlines():
        m = re.fullmatch(r"(\S+)\s+(\S+)\s+(\d+)", line.strip())
        if m and m.group(1) != "flow":
            table[(m.group(1), m.group(2))] += int(m.group(3))
    return table


def _run_together(site: Site, count: int) -> list[tuple[int, str, str]]:
    """Start ``count`` ``erpbridge run --once`` processes that begin their passes at the same moment;
    their (exit code, stdout, stderr)."""
    with (
        psycopg.connect(_dsn(site.ledger_url)) as gate,
        psycopg.connect(_dsn(site.ledger_url), autocommit=True) as watch,
    ):
        gate.execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
        procs = []
        try:
            for n in range(count):
                procs.append(
                    site.erpbridge(
                        "run",
                        "--once",
                        "--quiet",
                        "--config",
                        str(site.config),
                        stdout=site.root / f"daemon-{n}.out",
                        stderr=site.root / f"daemon-{n}.err",
                    )
                )
            deadline = time.monotonic() + DEADLINE
            while _waiting_on_documents(watch) < count:
                exited = [p.args for p in procs if p.poll() is not None]
                if exited or time.monotonic() > deadline:
                    gate.rollback()
                    details = "\n".join((site.root / f"daemon-{n}.err").read_text() for n in range(count))
                    pytest.fail(f"the processes did not both reach the ledger (exited: {exited}):\n{details}")
                time.sleep(0.01)  # the poll interval (the condition is the server's lock table)
            gate.rollback()  # both are waiting on the table: let them go at once
            results = []
            for n, proc in enumerate(procs):
                proc.wait(timeout=DEADLINE)
                results.append(
                    (
                        proc.returncode,
                        (site.root / f"daemon-{n}.out").read_text(),
                        (site.root / f"daemon-{n}.err").read_text(),
                    )
                )
            return results
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()


def test_two_processes_on_one_postgresql_ledger_process_every_document_once(
    tmp_path: Path, pg_database: str
) -> None:
    site = build_site(tmp_path / "site", ledger_url=pg_database, inbound=150, ship_notices=75, inventory=75)
    results = _run_together(site, 2)
    for n, (code, out, err) in enumerate(results):
        assert code == 0 and "Traceback" not in err, f"process {n} (exit {code}):\n{out}\n{err}"
        assert "attention:" not in out, f"process {n} reported problems:\n{out}"
    tables = [_outcomes(out) for _, out, _ in results]
    total = sum(tables, Counter())
    # each input was processed by exactly one of them, as each counted what it did itself
    assert total[(IN_FLOW, "received")] == 150, total
    assert total[(IN_FLOW, "ack_sent")] == 150, total
    assert total[(IN_FLOW, "delivered")] == 150, total
    assert total[(SHIP_FLOW, "sent")] + total[(INVENTORY_FLOW, "sent")] == 150, total
    # ... and both did some of the work (they ran at the same time, not one after the other)
    for n, table in enumerate(tables):
        did = table[(IN_FLOW, "received")] + table[(SHIP_FLOW, "sent")] + table[(INVENTORY_FLOW, "sent")]
        assert did > 0, f"process {n} did nothing: {dict(table)} (the other: {dict(tables[1 - n])})"
    with Ledger.open(site.ledger_url, migrate=False) as ledger:
        problems = check_site(site, ledger)
        failures = [e for e in ledger.events(limit=100_000) if e.outcome not in ("ok", "duplicate")]
    assert not failures, (
        f"failed steps (a claim lost, a retry): {[(e.step, e.outcome, e.detail) for e in failures[:5]]}"
    )
    assert not problems, "\n".join(problems)


def test_two_daemons_run_each_scheduled_batch_once_per_tick(tmp_path: Path, pg_database: str) -> None:
    """Two ``erpbridge run`` daemons with the batches due every minute: each tick's batch runs in one
    process only (the holder of the scheduler lock), and the polls of both process every document
    once. The test waits for the next minute to begin (up to a minute: cron has no seconds)."""
    site = build_site(tmp_path / "site", ledger_url=pg_database, inbound=20, ship_notices=10, inventory=10)
    text = site.config.read_text().replace('every = "1m"', 'every = "1s"')
    text += '\n[schedules]\ntimezone = "UTC"\nreconciliation = "* * * * *"\nack_overdue = "* * * * *"\n'
    site.config.write_text(text, encoding="utf-8")
    batches = ("ack_overdue", "reconciliation")
    logs = [(site.root / f"daemon-{n}.out", site.root / f"daemon-{n}.err") for n in range(2)]
    daemons = [site.erpbridge("run", "--config", str(site.config), stdout=o, stderr=e) for o, e in logs]
    workers = {f"{socket.gethostname()}:{d.pid}" for d in daemons}
    try:
        with Ledger.open(site.ledger_url, migrate=False) as ledger:
            deadline = time.monotonic() + 150  # the next minute, and the start of both daemons
            while not all(any(r.finished_at for r in ledger.job_runs(job)) for job in batches):
                exited = [n for n, d in enumerate(daemons) if d.poll() is not None]
                if exited or time.monotonic() > deadline:
                    pytest.fail(
                        f"no finished run of {batches} (daemons exited: {exited}):\n"
                        + "\n".join(e.read_text() for _, e in logs)
                    )
                time.sleep(0.2)  # the poll interval (the condition is in the ledger)
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for n, daemon in enumerate(daemons):
            assert daemon.wait(timeout=DEADLINE) == 0, logs[n][1].read_text()
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGKILL)
                daemon.wait()
    leaders = [n for n, (_, err) in enumerate(logs) if "runs the scheduled batches" in err.read_text()]
    assert len(leaders) == 1, f"processes that said they hold the scheduler lock: {leaders}"
    leader = f"{socket.gethostname()}:{daemons[leaders[0]].pid}"
    with Ledger.open(site.ledger_url, migrate=False) as ledger:
        for job in batches:
            runs = ledger.job_runs(job, limit=100)
            per_tick = Counter(r.started_at.replace(second=0, microsecond=0) for r in runs)
            assert runs and all(n == 1 for n in per_tick.values()), (
                job,
                [(r.worker, r.started_at) for r in runs],
            )
            assert {r.worker for r in runs} == {leader}, (leader, workers, runs)
            assert all(r.outcome == "ok" for r in runs), [(r.outcome, r.detail) for r in runs]
        problems = check_site(site, ledger)
    assert not problems, "\n".join(problems)
