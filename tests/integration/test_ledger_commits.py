"""How many ledger transactions inbound X12 files cost: two per chunk of files (docs/pipeline.md).

The files of a pass are taken in chunks (``runner.CHUNK_FILES`` at most). One transaction records
every file of the chunk, validated, with our 997s and their control numbers (durable); after each
file's 997 is put, its canonical document delivered and the file archived, those moves wait for the
chunk's end and are made in one more transaction. What a pass costs whatever the number of files
(claims, the overdue check) is taken out by comparing a pass of 8 files (one chunk) with a pass of
8 + CHUNK_FILES (two chunks): the difference is what one more chunk costs. The counts come from
SQLAlchemy's commit and statement events, so they do not depend on the machine, as the bench's
wall clock does.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erpbridge.config import load_config
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.pipeline import Runner
from erpbridge.pipeline.runner import CHUNK_FILES
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


def test_a_chunk_of_inbound_files_costs_two_ledger_transactions(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=8, ship_notices=0, inventory=0)
    config = load_config(site.config)
    template = (SAMPLES / "valid" / "850_004010.edi").read_bytes()
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test")
        runner.run_once()  # a first pass: mappings and schemas loaded, folders made
        costs = []
        for n in (8, 8 + CHUNK_FILES):
            for _ in range(n):
                isa13 = 700_000 + len(site.inbound)
                data = purchase_order(template, isa13=isa13, gs06=isa13, po_number=f"48{isa13:08d}")
                (site.partner / "inbound" / f"more-{isa13}.edi").write_bytes(data)
                site.inbound[f"{isa13:09d}"] = f"48{isa13:08d}"
            with counted() as seen:
                summary = runner.run_once()
            assert summary.counts[(IN_FLOW, "delivered")] == n and not summary.problems, summary
            costs.append(seen)
        assert costs[1]["commits"] - costs[0]["commits"] == 2, costs
        # per file, one statement: its 997's control numbers (ISA13, GS06 and ST02 together). The
        # rest is per chunk: its duplicates looked up at once; its payloads, documents (the 850s
        # validated, the 997s written), links and events inserted at once; its moves made at once
        assert costs[1]["statements"] - costs[0]["statements"] <= CHUNK_FILES + 20, costs
        # every 850 and every 997 archived (none left delivered or sent), the chain whole
        counts = {key: n for key, n in ledger.counts().items() if n}
        files = 8 + 8 + 8 + CHUNK_FILES
        assert counts == {(Direction.IN, State.ARCHIVED): files, (Direction.OUT, State.ARCHIVED): files}, (
            counts
        )
        # every step still has its event: the 850's receive, validate, acknowledge, map, deliver
        # and archive, the 997's write_ack, put and no_ack_expected
        assert ledger.verify() == files * (6 + 3)


def test_a_chunk_syncs_each_folder_once_and_before_the_ledger_records_its_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file written is fsynced before its rename; the folders the renames touched (the 997s',
    the ERP's, the archive and the inbox) once per chunk, and always before the ledger records
    the moves that say those files are there (sent, delivered, archived)."""
    site = build_site(tmp_path / "site", inbound=CHUNK_FILES + 8, ship_notices=0, inventory=0)
    config = load_config(site.config)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    with Ledger.open(config.ledger.reveal_url()) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test")
        real_transitions = ledger.transitions
        owed_when_recorded: list[int] = []

        def transitions(*args: Any, **kwargs: Any) -> Any:
            owed_when_recorded.append(runner._syncs.owed)
            return real_transitions(*args, **kwargs)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(ledger, "transitions", transitions)
        summary = runner.run_once()
        monkeypatch.undo()
        assert summary.counts[(IN_FLOW, "delivered")] == CHUNK_FILES + 8 and not summary.problems, summary
        counts = {key: n for key, n in ledger.counts().items() if n}
        files = CHUNK_FILES + 8
        assert counts == {(Direction.IN, State.ARCHIVED): files, (Direction.OUT, State.ARCHIVED): files}
    # a 997 and a canonical JSON per file; four folders per chunk (two chunks)
    assert synced.count("file") == 2 * files, synced.count("file")
    assert synced.count("folder") == 2 * 4, synced.count("folder")
    assert owed_when_recorded and set(owed_when_recorded) == {0}, owed_when_recorded
