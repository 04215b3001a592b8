"""Runs of scheduled jobs: started, finished, listed, the latest per job."""

from __future__ import annotations

import pytest

from erpbridge.errors import LedgerError
from erpbridge.ledger import Ledger
from tests.ledger.helpers import FakeClock


def test_job_runs_are_recorded_and_listed_newest_first(ledger: Ledger, clock: FakeClock) -> None:
    first = ledger.start_job("reconciliation", "host:1", detail={"tick": "02:00"})
    assert first.outcome == "running" and first.finished_at is None and first.detail == {"tick": "02:00"}
    clock.advance(minutes=3)
    done = ledger.finish_job(first.id, "ok", detail={"missing": 0})
    assert done.outcome == "ok" and done.finished_at == clock.now and done.detail == {"missing": 0}
    clock.advance(minutes=1)
    check = ledger.start_job("ack_overdue", "host:2")
    clock.advance(days=1)
    second = ledger.start_job("reconciliation", "host:2")
    ledger.finish_job(second.id, "failed", detail={"error": "ERP unreachable"})
    assert [r.id for r in ledger.job_runs()] == [second.id, check.id, first.id]
    assert [r.id for r in ledger.job_runs("reconciliation", limit=1)] == [second.id]
    last = ledger.last_job_runs()
    assert set(last) == {"reconciliation", "ack_overdue"}
    assert last["reconciliation"].outcome == "failed" and last["ack_overdue"].outcome == "running"


def test_bad_job_run_calls(ledger: Ledger) -> None:
    run = ledger.start_job("x", "w")
    with pytest.raises(LedgerError, match="ok or failed"):
        ledger.finish_job(run.id, "maybe")
    with pytest.raises(LedgerError, match="no job run"):
        ledger.finish_job(run.id + 1000, "ok")
    with pytest.raises(LedgerError):
        ledger.start_job("", "w")
