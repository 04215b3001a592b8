"""How many ledger transactions an inbound X12 file costs: three (docs/pipeline.md).

Recorded + validated + our 997 recorded with its control numbers; after the 997's put, its sent and
archived and the 850's acknowledged and mapped; after the delivery, delivered (the file's archived
goes with the next file's first transaction, or the end of the pass). What a pass costs whatever
the number of files (claims, the overdue check) is taken out by comparing a pass of 8 files with
a pass of 16: the difference is what 8 files cost. The count comes from SQLAlchemy's commit event,
so it does not depend on the machine, as the bench's wall clock does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erpbridge.config import load_config
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.pipeline import Runner
from tests.conftest import ROOT, SAMPLES
from tests.integration.sites import IN_FLOW, build_site, purchase_order


@contextmanager
def counted() -> Iterator[dict[str, int]]:
    seen = {"commits": 0, "statements": 0}

    def on_commit(_conn: Any) -> None:
        seen["commits"] += 1

    def on_statement(*_: Any) -> None:
        seen["statements"] += 1

    sa.event.listen(sa.Engine, "commit", on_commit)
    sa.event.listen(sa.Engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        sa.event.remove(sa.Engine, "commit", on_commit)
        sa.event.remove(sa.Engine, "before_cursor_execute", on_statement)


def test_an_inbound_file_costs_three_ledger_transactions(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=8, ship_notices=0, inventory=0)
    config = load_config(site.config)
    template = (SAMPLES / "valid" / "850_004010.edi").read_bytes()
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test")
        runner.run_once()  # a first pass: mappings and schemas loaded, folders made
        costs = []
        for n in (8, 16):
            for _ in range(n):
                isa13 = 700_000 + len(site.inbound)
                data = purchase_order(template, isa13=isa13, gs06=isa13, po_number=f"48{isa13:08d}")
                (site.partner / "inbound" / f"more-{isa13}.edi").write_bytes(data)
                site.inbound[f"{isa13:09d}"] = f"48{isa13:08d}"
            with counted() as seen:
                summary = runner.run_once()
            assert summary.counts[(IN_FLOW, "delivered")] == n and not summary.problems, summary
            costs.append(seen)
        assert costs[1]["commits"] - costs[0]["commits"] == 3 * 8, costs
        assert costs[1]["statements"] - costs[0]["statements"] <= 30 * 8, costs  # 28 when written
        # every 850 and every 997 archived (none left delivered or sent), the chain whole
        counts = {key: n for key, n in ledger.counts().items() if n}
        assert counts == {(Direction.IN, State.ARCHIVED): 32, (Direction.OUT, State.ARCHIVED): 32}, counts
        # every step still has its event: the 850's receive, validate, acknowledge, map, deliver
        # and archive, the 997's write_ack, put and no_ack_expected
        assert ledger.verify() == 32 * (6 + 3)
