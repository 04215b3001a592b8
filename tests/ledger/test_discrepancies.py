"""Reconciliation discrepancies recorded with the job run that found them, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from erpbridge.errors import LedgerError
from erpbridge.ledger import Discrepancy, Ledger, Owner
from tests.ledger.helpers import FakeClock


def found(subject: str, partner: str = "megamart", **kw: object) -> Discrepancy:
    values: dict[str, object] = {
        "job": "inventory",
        "partner": partner,
        "subject": subject,
        "check": "erp_on_hand",
        "sides": {"wms": "120", "netsuite": "110"},
        "owner": Owner.ERPBRIDGE,
        "action": "post an inventory adjustment of +10 in netsuite",
        "remedy": "erpbridge reconcile inventory --fix --config config.toml",
        "delta": 10.0,
    }
    values.update(kw)
    return Discrepancy(**values)  # type: ignore[arg-type]


def test_discrepancies_are_recorded_per_run_and_read_back(ledger: Ledger, clock: FakeClock) -> None:
    first = ledger.start_job("reconcile:inventory", "host:1")
    given = [
        found("SKU A at WH1"),
        found("SKU B at WH1", delta=2.5, sides={"wms": "1", "846": "3.5"}, check="846_on_hand"),
        found("SKU C at WH1", partner="netsuite", owner="erp", document_id="d" * 36),
    ]
    assert ledger.record_discrepancies(first.id, given) == 3
    clock.advance(minutes=5)
    second = ledger.start_job("reconcile:inventory", "host:1")
    assert ledger.record_discrepancies(second.id, [found("SKU A at WH1")]) == 1
    assert ledger.record_discrepancies(second.id, []) == 0

    back = ledger.discrepancies(run_id=first.id)
    assert [(d.subject, d.partner, d.owner, d.delta, dict(d.sides), d.document_id) for d in back] == [
        ("SKU A at WH1", "megamart", Owner.ERPBRIDGE, 10.0, {"wms": "120", "netsuite": "110"}, None),
        ("SKU B at WH1", "megamart", Owner.ERPBRIDGE, 2.5, {"wms": "1", "846": "3.5"}, None),
        ("SKU C at WH1", "netsuite", Owner.ERP, 10.0, {"wms": "120", "netsuite": "110"}, "d" * 36),
    ]
    assert all(d.run_id == first.id and d.id is not None and d.created_at == back[0].created_at for d in back)
    assert back[0].remedy == given[0].remedy and back[0].action == given[0].action
    assert [d.run_id for d in ledger.discrepancies(job="inventory", partner="megamart")] == [
        first.id,
        first.id,
        second.id,
    ]
    assert ledger.discrepancy_counts([first.id, second.id, second.id + 99]) == {
        first.id: {"megamart": 2, "netsuite": 1},
        second.id: {"megamart": 1},
    }
    assert ledger.discrepancy_counts([]) == {}


def test_bad_discrepancies_are_refused(ledger: Ledger) -> None:
    run = ledger.start_job("reconcile:orders", "host:1")
    with pytest.raises(LedgerError, match="no job run"):
        ledger.record_discrepancies(run.id + 1000, [found("PO 1")])
    with pytest.raises(LedgerError, match="owner"):
        ledger.record_discrepancies(run.id, [found("PO 1", owner="nobody")])
    with pytest.raises(LedgerError):
        ledger.record_discrepancies(run.id, [found("PO 1", partner="")])
    assert ledger.discrepancies(run_id=run.id) == []  # nothing of a refused batch was recorded


def test_many_discrepancies_in_one_run(ledger: Ledger) -> None:
    run = ledger.start_job("reconcile:inventory", "host:1")
    assert ledger.record_discrepancies(run.id, (found(f"SKU {n} at WH1") for n in range(5000))) == 5000
    assert ledger.discrepancy_counts([run.id]) == {run.id: {"megamart": 5000}}
    assert len(ledger.discrepancies(run_id=run.id, limit=None)) == 5000
