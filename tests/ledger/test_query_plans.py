"""The lookups on every document's path use their indexes, so their cost does not grow with the ledger.

SQLite's plan is read with ``EXPLAIN QUERY PLAN`` for the very statement and parameters the ledger
sent. (PostgreSQL combines the same unique indexes with a BitmapOr whichever way the query is
written, so only SQLite is checked.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erpbridge.ledger import Direction, Ledger, State
from erpbridge.ledger.states import WORK_STATES


def plans_of(ledger_call: Any, path: Path, table: str) -> dict[str, list[str]]:
    """Each SELECT on ``table`` that ``ledger_call`` ran, with the details of its query plan."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            sent.append((statement, parameters))

    sa.event.listen(sa.Engine, "before_cursor_execute", capture)
    try:
        ledger_call()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", capture)
    with sqlite3.connect(path) as raw:
        return {
            statement: [str(row[3]) for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in sent
        }


def test_the_inbound_duplicate_lookup_is_one_index_search_per_key(sqlite_dir: Path) -> None:
    path = sqlite_dir / "plans.db"
    with Ledger.open(path) as ledger:
        for n in range(20):
            ledger.record_inbound(
                "acme", "x12/850", f"ISA*{n}".encode(), isa13=f"{n:09d}", business_key=f"PO{n}"
            )
        plans = plans_of(
            lambda: ledger.record_inbound(
                "acme", "x12/850", b"ISA*new", isa13="000000999", business_key="PO999"
            ),
            path,
            "documents",
        )
    lookups = {s: p for s, p in plans.items() if "payload_sha256 =" in s}
    assert len(lookups) == 1, plans
    (plan,) = lookups.values()
    assert "MULTI-INDEX OR" in plan, plan
    searches = [step for step in plan if step.startswith("SEARCH documents")]
    assert searches == [
        "SEARCH documents USING INDEX uq_documents_in_content (partner=? AND payload_sha256=?)",
        "SEARCH documents USING INDEX uq_documents_in_isa13 (partner=? AND isa13=?)",
        "SEARCH documents USING INDEX uq_documents_in_business_key (partner=? AND kind=? AND business_key=?)",
    ], plan


def test_a_claim_searches_the_states_index_not_everything_the_partner_ever_sent(sqlite_dir: Path) -> None:
    path = sqlite_dir / "claims.db"
    with Ledger.open(path) as ledger:
        for n in range(20):  # finished documents: a claim must not have to look at them
            doc, _ = ledger.record_inbound("acme", "x12", f"ISA*{n}".encode(), isa13=f"{n:09d}")
            ledger.transition(doc.id, State.VALIDATED, step="validate")
            ledger.transition(doc.id, State.ARCHIVED, step="archive")
        waiting, _ = ledger.record_inbound("acme", "x12", b"ISA*waiting", isa13="000000999")
        plans = plans_of(
            lambda: ledger.claim(WORK_STATES[Direction.IN], 10, "w1", direction=Direction.IN, partner="acme"),
            path,
            "documents",
        )
        assert ledger.get(waiting.id).claimed_by == "w1"  # the plan finds what it should
    (plan,) = [p for s, p in plans.items() if "claimed_until" in s]
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert searches == ["SEARCH documents USING INDEX ix_documents_state_created_at (state=?)"] * 2, plan
