"""The operator commands on a real ledger made by ``erpbridge run --once``: ``ledger list|show|export|
verify``, ``dlq list|retry|drop``, ``replay``, ``status``, and the progress bar of ``run``."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from erpbridge.cli.main import main
from erpbridge.cli.progress import ProgressPrinter
from erpbridge.formats.x12 import decode
from erpbridge.ledger import Direction, Ledger, Relation, State
from erpbridge.pipeline.runner import Progress
from tests.conftest import SAMPLES
from tests.integration.conftest import seed_demo_site


def cli(site: Path, *args: str) -> Result:
    """``erpbridge ARGS --config site/config.toml`` in this process."""
    return CliRunner().invoke(main, [*args, "--config", str(site / "config.toml")], catch_exceptions=False)


def ledger_of(site: Path) -> Ledger:
    return Ledger.open(site / "var" / "ledger.sqlite3")


def listed(site: Path, *args: str) -> list[dict[str, Any]]:
    r = cli(site, "ledger", "list", "--json", *args)
    assert r.exit_code == 0, r.output
    docs: list[dict[str, Any]] = json.loads(r.stdout)
    return docs


def one(site: Path, *args: str) -> dict[str, Any]:
    [doc] = listed(site, *args)
    return doc


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def sets_of(data: bytes) -> list[dict[str, Any]]:
    """The transaction sets of an interchange, without their control numbers (ST02, SE02)."""
    result = decode(data)
    assert not [f for f in result.findings if f.severity == "error"]
    out = []
    for inter in result.document["interchanges"]:
        for group in inter["groups"]:
            for tset in group["sets"]:
                out.append({**tset, "ST": {**tset["ST"], "ST02": "-"}, "SE": {**tset["SE"], "SE02": "-"}})
    return out


# -- ledger list / show / export -------------------------------------------------------------------


def test_list_shows_the_documents_newest_first_and_filters_them(ran_site: Path) -> None:
    r = cli(ran_site, "ledger", "list")
    assert r.exit_code == 0, r.output
    header, *rows = r.stdout.splitlines()
    assert header.split()[:6] == ["id", "created", "(UTC)", "dir", "partner", "kind"]
    assert len(rows) == 6  # two 850 interchanges, our two 997s, an 856 and an 846
    assert any("x12/856" in row and "sent" in row and "asn-1.json" in row for row in rows)
    everything = listed(ran_site)
    created = [d["created_at"] for d in everything]
    assert created == sorted(created, reverse=True)
    # filters: by direction, kind, state, partner, time, and a limit
    asn = one(ran_site, "--direction", "out", "--kind", "x12/856")
    assert asn["state"] == "sent" and asn["business_key"] == "SHP2026031601" and asn["isa13"]
    inbound = listed(ran_site, "--direction", "in", "--state", "archived")
    assert {d["file_name"] for d in inbound} == {"850_004010.edi", "850_005010.edi"}
    assert len(listed(ran_site, "--state", "sent", "--state", "archived")) == 6
    assert listed(ran_site, "--partner", "blueriver3pl") == []
    assert len(listed(ran_site, "--since", "1h")) == 6 and len(listed(ran_site, "--since", "2020-01-01")) == 6
    assert listed(ran_site, "--since", "2999-01-01T00:00") == []
    assert [d["id"] for d in listed(ran_site, "--limit", "2")] == [d["id"] for d in everything[:2]]
    assert "no documents match" in cli(ran_site, "ledger", "list", "--since", "2999-01-01").stdout
    # bad filters are usage errors that say what is allowed
    bad = cli(ran_site, "ledger", "list", "--state", "shipped")
    assert bad.exit_code == 2 and "acknowledged" in bad.output
    bad = cli(ran_site, "ledger", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "24h" in bad.output


def test_show_takes_an_id_prefix_and_shows_the_timeline_and_links(ran_site: Path) -> None:
    po = one(ran_site, "--direction", "in", "--kind", "x12", "--state", "archived", "--limit", "1")
    r = cli(ran_site, "ledger", "show", po["id"][:8])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.startswith(f"document {po['id']}\n")
    steps = re.findall(r"^\s+\d+\s+\S+ \S+\s+(\w+)\s+ok\s", out, re.MULTILINE)
    assert steps == ["receive", "validate", "acknowledge", "map", "deliver", "archive"], out
    assert "acknowledged -> mapped" in out and "-> received" in out
    [ack] = [d for d in listed(ran_site, "--kind", "x12/997") if d["id"] in out]
    assert f"{ack['id']} (out x12/997, archived, ISA13 {ack['isa13']}) acknowledges this" in out
    # and from the other side
    assert f"this acknowledges {po['id']}" in cli(ran_site, "ledger", "show", ack["id"]).stdout
    data = json.loads(cli(ran_site, "ledger", "show", po["id"][:8], "--json").stdout)
    assert data["document"]["id"] == po["id"] and len(data["events"]) == 6 and data["links"]
    assert data["payload"]["size"] == len((SAMPLES / "valid" / po["file_name"]).read_bytes())


def test_show_refuses_unknown_and_ambiguous_ids(ran_site: Path) -> None:
    ids = [d["id"] for d in listed(ran_site)]
    for n in range(1, 36):  # the shortest prefix two documents share
        prefixes = [i[:n] for i in ids]
        shared = [p for p in prefixes if prefixes.count(p) > 1]
        if shared:
            break
    else:
        shared = []
    unknown = next(
        p for p in (f"{c}{c}{c}" for c in "0123456789abcdef") if not any(i.startswith(p) for i in ids)
    )
    r = cli(ran_site, "ledger", "show", unknown)
    assert r.exit_code == 2 and f"no document's ID starts with '{unknown}'" in r.stderr
    r = cli(ran_site, "ledger", "show", "PO-4500012345")
    assert r.exit_code == 2 and "not a document ID" in r.stderr
    if shared:  # six random UUIDs share at least their first character almost always
        r = cli(ran_site, "ledger", "show", shared[0])
        assert r.exit_code == 2 and "several documents" in r.stderr and "give more" in r.stderr


def test_export_writes_the_json_and_every_payload_as_it_was(ran_site: Path, tmp_path: Path) -> None:
    po = one(ran_site, "--direction", "in", "--kind", "x12", "--limit", "1")
    out = tmp_path / "exported"
    r = cli(ran_site, "ledger", "export", po["id"][:10], "--out", str(out))
    assert r.exit_code == 0, r.output
    sample = (SAMPLES / "valid" / po["file_name"]).read_bytes()
    written = files(out)
    assert f"{po['id']}.json" in written
    [edi] = [n for n in written if n.endswith(".edi")]
    assert (out / edi).read_bytes() == sample and edi == f"{po['payload_sha256']}.edi"
    exported = json.loads((out / f"{po['id']}.json").read_text())
    assert exported["document"]["id"] == po["id"] and len(exported["events"]) == 6
    assert f"{out / edi}: {len(sample)} bytes, the document's payload" in r.stdout
    # an outbound document: its X12 as written
    asn = one(ran_site, "--kind", "x12/856")
    r = cli(ran_site, "ledger", "export", asn["id"], "--out", str(tmp_path / "asn"))
    sent = ran_site / "var" / "partners" / "megamart" / "outbound" / f"856_{asn['isa13']}.edi"
    assert (tmp_path / "asn" / f"{asn['payload_sha256']}.edi").read_bytes() == sent.read_bytes()


# -- ledger verify ----------------------------------------------------------------------------------


def test_verify_counts_the_events_and_names_the_one_that_was_changed(ran_site: Path) -> None:
    db = ran_site / "var" / "ledger.sqlite3"
    with sqlite3.connect(db) as conn:
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    r = cli(ran_site, "ledger", "verify")
    assert r.exit_code == 0, r.output
    assert f"{events} events checked, the hash chain is intact" in r.stdout
    with sqlite3.connect(db) as conn:  # someone edits what an event says happened
        conn.execute("""UPDATE events SET detail = '{"acks":0}' WHERE id = 5""")
    r = cli(ran_site, "ledger", "verify")
    assert r.exit_code == 1, r.output
    assert "the hash chain breaks at event 5" in r.stderr and "event=5" in r.stderr


# -- dlq ------------------------------------------------------------------------------------------


def test_dlq_lists_retries_and_drops_dead_letters(ran_site: Path) -> None:
    inbound = ran_site / "var" / "partners" / "megamart" / "inbound"
    shutil.copy(SAMPLES / "valid" / "855_004010.edi", inbound / "ack-855.edi")  # the flow takes 850s only
    (inbound / "garbage.edi").write_bytes(b"this is not an interchange")
    assert (
        CliRunner()
        .invoke(main, ["run", "--once", "--quiet", "--config", str(ran_site / "config.toml")])
        .exit_code
        == 1
    )
    r = cli(ran_site, "dlq", "list")
    assert r.exit_code == 0, r.output
    assert len(r.stdout.splitlines()) == 3 and "this flow takes 850, 997" in r.stdout
    letters = {
        d["reason"].split(":")[0]: d for d in json.loads(cli(ran_site, "dlq", "list", "--json").stdout)
    }
    assert {d["state"] for d in letters.values()} == {"quarantined"}
    order_ack = next(d for d in letters.values() if "this flow takes" in d["reason"])
    garbage = next(d for d in letters.values() if d is not order_ack)
    # the cause is fixed (the flow now takes 855s), then the dead letter is retried and the next run does it
    config = ran_site / "config.toml"
    config.write_text(
        config.read_text().replace(
            'documents = ["x12/850", "x12/997"]', 'documents = ["x12/850", "x12/855", "x12/997"]'
        )
    )
    r = cli(ran_site, "dlq", "retry", order_ack["document_id"][:8])
    assert r.exit_code == 0, r.output
    assert "back to acknowledged; the next erpbridge run picks it up" in r.stdout
    assert cli(ran_site, "run", "--once", "--quiet").exit_code == 0
    with ledger_of(ran_site) as ledger:
        assert ledger.get(order_ack["document_id"]).state == State.ARCHIVED
    assert any(
        n.startswith("OrderAck-megamart-") for n in files(ran_site / "var" / "erp" / "purchase-orders")
    )
    # dropping needs a reason, and only dead letters can be dropped
    assert cli(ran_site, "dlq", "drop", garbage["document_id"]).exit_code == 2
    r = cli(ran_site, "dlq", "drop", order_ack["document_id"], "--reason", "x")
    assert r.exit_code == 2 and "not a dead letter" in r.stderr
    r = cli(
        ran_site, "dlq", "drop", garbage["document_id"][:8], "--reason", "not EDI: the partner's test upload"
    )
    assert r.exit_code == 0 and "dropped" in r.stdout
    assert cli(ran_site, "dlq", "list").stdout.strip() == "no dead letters"
    history = cli(ran_site, "dlq", "list", "--all").stdout
    assert "dropped " in history and "retried " in history
    with ledger_of(ran_site) as ledger:
        assert ledger.get(garbage["document_id"]).state == State.DROPPED
    assert cli(ran_site, "dlq", "retry").exit_code == 2  # DOC or --all


def test_dlq_retry_all_and_what_a_retry_cannot_resume(ran_site: Path) -> None:
    (ran_site / "var" / "wms" / "outbound" / "inventory" / "broken.json").write_text("{not json")
    inbound = ran_site / "var" / "partners" / "megamart" / "inbound"
    shutil.copy(SAMPLES / "valid" / "855_004010.edi", inbound / "ack-855.edi")
    assert cli(ran_site, "run", "--once", "--quiet").exit_code == 1
    r = cli(ran_site, "dlq", "retry", "--all", "--partner", "megamart")
    # the 855 goes back to work; the canonical file that never became X12 cannot be resumed: it says what to do
    assert r.exit_code == 2
    assert "back to acknowledged" in r.stdout
    assert "not retried" in r.stderr and "put a corrected file into the flow's source folder" in r.stderr


# -- replay ---------------------------------------------------------------------------------------


def test_replay_of_an_inbound_850_delivers_its_purchase_order_again(ran_site: Path) -> None:
    erp = ran_site / "var" / "erp" / "purchase-orders"
    outbound = ran_site / "var" / "partners" / "megamart" / "outbound"
    before, sent_before = files(erp), files(outbound)
    po = next(d for d in listed(ran_site, "--direction", "in") if d["file_name"] == "850_004010.edi")
    r = cli(ran_site, "replay", po["id"][:8], "--reason", "the ERP lost PO 4500012345")
    assert r.exit_code == 0, r.output
    [new] = sorted(set(files(erp)) - set(before))
    assert re.fullmatch(r"PurchaseOrder-megamart-000000101-0001\.replay-[0-9a-f]{8}\.json", new), new
    original = json.loads((erp / "PurchaseOrder-megamart-000000101-0001.json").read_text())
    assert json.loads((erp / new).read_text()) == original  # the same purchase order, again
    assert files(outbound) == sent_before  # no second 997
    with ledger_of(ran_site) as ledger:
        [link] = [x for x in ledger.links(po["id"]) if x.relation == Relation.REPLAYS]
        assert link.to_document == po["id"]
        replay = ledger.get(link.from_document)
        assert (replay.direction, replay.kind, replay.state) == (Direction.IN, "replay", State.ARCHIVED)
        assert ledger.get(po["id"]).state == State.ARCHIVED  # the original is as it was
        assert any(
            e.step == "replay" and e.detail.get("reason") == "the ERP lost PO 4500012345"
            for e in ledger.events(replay.id)
        )
        assert ledger.verify() > 0
    assert f"as {replay.id}" in r.stdout and new in r.stdout
    # each replay is a deliberate resend; with --key, the same key again does nothing
    assert cli(ran_site, "replay", po["id"]).exit_code == 0
    assert len(files(erp)) == len(before) + 2
    first = cli(ran_site, "replay", po["id"], "--key", "ticket-77")
    again = cli(ran_site, "replay", po["id"], "--key", "ticket-77")
    assert first.exit_code == again.exit_code == 0
    assert "already replayed with key 'ticket-77'" in again.stdout and "nothing done" in again.stdout
    assert len(files(erp)) == len(before) + 3


def test_replay_of_a_sent_856_sends_the_same_sets_in_a_new_interchange(ran_site: Path) -> None:
    outbound = ran_site / "var" / "partners" / "megamart" / "outbound"
    before = files(outbound)
    asn = one(ran_site, "--kind", "x12/856")
    r = cli(ran_site, "replay", asn["id"][:8], "--reason", "MEGAMART lost it")
    assert r.exit_code == 0, r.output
    [new_file] = sorted(set(files(outbound)) - set(before))
    old = (outbound / f"856_{asn['isa13']}.edi").read_bytes()
    new = (outbound / new_file).read_bytes()
    assert sets_of(new) == sets_of(old)  # the same shipment, set for set
    isa13s = {(outbound / n).read_bytes()[90:99].decode() for n in files(outbound)}
    assert len(isa13s) == len(files(outbound))  # a new ISA13, used by nothing else
    [replay] = [d for d in listed(ran_site, "--kind", "x12/856") if d["id"] != asn["id"]]
    assert new_file == f"856_{replay['isa13']}.edi" and replay["state"] == "sent"
    assert int(replay["gs06"]) > int(asn["gs06"]) and replay["business_key"] == asn["business_key"]
    assert decode(new).document["interchanges"][0]["groups"][0]["GS"]["GS06"] == replay["gs06"]
    with ledger_of(ran_site) as ledger:
        assert [(x.from_document, x.relation) for x in ledger.links(asn["id"])] == [
            (replay["id"], Relation.REPLAYS)
        ]
    assert f"ISA13 {replay['isa13']}" in r.stdout and "owes a 997" in r.stdout


def test_replay_refuses_a_document_in_work_and_acknowledgments(ran_site: Path) -> None:
    with ledger_of(ran_site) as ledger:  # a file another worker is processing right now
        doc, _ = ledger.record_inbound(
            "megamart", "x12", (SAMPLES / "valid" / "855_004010.edi").read_bytes(), worker="other-host:1"
        )
        ledger.transition(doc.id, State.VALIDATED, step="validate", worker="other-host:1")
    r = cli(ran_site, "replay", doc.id)
    assert r.exit_code == 2 and "still working on this document" in r.stderr and "validated" in r.stderr
    with ledger_of(ran_site) as ledger:
        assert ledger.get(doc.id).state == State.VALIDATED and not ledger.links(doc.id)
    ack = listed(ran_site, "--kind", "x12/997")[0]
    r = cli(ran_site, "replay", ack["id"])
    assert r.exit_code == 2 and "acknowledgments are not replayed" in r.stderr


# -- status ---------------------------------------------------------------------------------------


def test_status_shows_flows_states_pending_work_dead_letters_and_overdue_acks(ran_site: Path) -> None:
    (ran_site / "var" / "partners" / "megamart" / "inbound" / "garbage.edi").write_bytes(b"not EDI")
    assert cli(ran_site, "run", "--once", "--quiet").exit_code == 1
    inventory = one(ran_site, "--kind", "x12/846")
    with ledger_of(ran_site) as ledger:
        ledger.transition(inventory["id"], State.ACK_OVERDUE, step="ack_overdue", outcome="overdue")
        pending, _ = ledger.record_inbound("megamart", "x12", b"ISA*00*pending", worker="other-host:1")
    r = cli(ran_site, "status")
    assert r.exit_code == 0, r.output
    out = r.stdout
    # each flow's last run: the pass with the garbage file failed for the orders flow (a quarantine);
    # the outbound flows had nothing new in it, so their last run is the first pass's, ok
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    assert re.search(rf"megamart_orders_in\s+in\s+megamart\s+yes\s+every 1m\s+{stamp} failed", out), out
    assert re.search(rf"megamart_inventory_out\s+out\s+megamart\s+yes\s+every 1m\s+{stamp} ok", out), out
    assert re.search(r"^\s+archived\s+2\s+2$", out, re.MULTILINE), out
    assert "pending work: 1" in out and pending.id[:8] in out and "claimed by other-host:1" in out
    assert "dead letters: 1 (0 dead-lettered, 1 quarantined)" in out and "quarantined: 1" in out
    assert "overdue acknowledgments: 1" in out and inventory["isa13"] in out
    assert re.search(r"^\s+megamart\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", out, re.MULTILINE)
    data = json.loads(cli(ran_site, "status", "--json").stdout)
    assert data["documents"]["out"] == {"archived": 2, "ack_overdue": 1, "sent": 1}
    assert data["documents"]["in"] == {"archived": 2, "quarantined": 1, "received": 1}
    assert data["pending"]["count"] == 1 and data["pending"]["documents"][0]["id"] == pending.id
    assert data["dead_letters"]["count"] == 1 and data["dead_letters"]["oldest"]["partner"] == "megamart"
    assert [o["id"] for o in data["overdue_acks"]] == [inventory["id"]]
    assert set(data["last_event"]) == {"megamart"}
    last = {f["name"]: (f["last_outcome"], f["last_run"] is not None) for f in data["flows"]}
    assert last["megamart_orders_in"] == ("failed", True) and last["megamart_inventory_out"] == ("ok", True)


def test_the_default_config_and_its_absence(
    ran_site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (ran_site / "config.toml").rename(ran_site / "config.example.toml")
    monkeypatch.chdir(ran_site)
    r = CliRunner().invoke(main, ["ledger", "verify"])
    assert r.exit_code == 0 and "the hash chain is intact" in r.stdout
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["status"])
    assert r.exit_code == 2 and "pass --config FILE" in r.stderr
    empty = seed_demo_site(tmp_path / "fresh")  # never run: there is no ledger yet
    r = CliRunner().invoke(main, ["ledger", "list", "--config", str(empty / "config.toml")])
    assert r.exit_code == 2 and "does not exist yet" in r.stderr and "erpbridge run" in r.stderr


# -- the progress of erpbridge run ------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_printer_draws_a_bar_for_long_batches_on_a_terminal() -> None:
    term = _Terminal()
    printer = ProgressPrinter(file=term)
    printer("flow megamart_orders_in (in)")
    for n in range(1, 31):
        printer(Progress("megamart_orders_in", n, 30, f"po-{n:02d}.edi"))
    printer("flow megamart_inventory_out (out)")
    printer(Progress("megamart_inventory_out", 1, 1, "inv-1.json"))
    out = term.getvalue()
    assert "30/30" in out and "\r" in out and "megamart_orders_in: 1/30" not in out
    assert out.endswith("flow megamart_inventory_out (out)\n  megamart_inventory_out: 1/1 inv-1.json\n")
    # not a terminal: one line per file; quiet: nothing
    plain = io.StringIO()
    printer = ProgressPrinter(file=plain)
    for n in range(1, 31):
        printer(Progress("f", n, 30, f"{n}.edi"))
    assert plain.getvalue().splitlines() == [f"  f: {n}/30 {n}.edi" for n in range(1, 31)]
    quiet = _Terminal()
    ProgressPrinter(quiet=True, file=quiet)(Progress("f", 1, 30, "1.edi"))
    assert quiet.getvalue() == ""


def _purchase_order(isa13: int) -> bytes:
    """The 004010 sample 850 as another interchange (its own ISA13 and IEA02)."""
    text = (SAMPLES / "valid" / "850_004010.edi").read_text()
    text = text.replace("000000101", f"{isa13:09d}")
    return text.encode()


@pytest.fixture
def many_pos(tmp_path: Path) -> Iterator[Path]:
    site = seed_demo_site(tmp_path / "site")
    inbound = site / "var" / "partners" / "megamart" / "inbound"
    for name in files(inbound):
        (inbound / name).unlink()
    for n in range(25):
        (inbound / f"po-{n:02d}.edi").write_bytes(_purchase_order(7000 + n))
    yield site


def test_run_draws_a_progress_bar_on_a_terminal(many_pos: Path) -> None:
    controller, terminal = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.run(
        [sys.executable, "-m", "erpbridge", "run", "--once", "--config", "config.toml"],
        cwd=many_pos,
        stdout=subprocess.PIPE,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=300,
    )
    os.close(terminal)
    reader.join(timeout=30)
    os.close(controller)
    stderr = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, proc.stdout.decode() + stderr
    assert "megamart_orders_in" in stderr and "25/25" in stderr and "\r" in stderr, stderr
    assert "megamart_orders_in: 1/25" not in stderr  # no line per file under the bar
    assert "megamart_ship_notices_out: 1/1 asn-1.json" in stderr  # a short batch: its line
    assert len(files(many_pos / "var" / "erp" / "purchase-orders")) == 25


def test_run_prints_lines_when_not_on_a_terminal_and_nothing_with_quiet(many_pos: Path) -> None:
    r = CliRunner().invoke(main, ["run", "--once", "--config", str(many_pos / "config.toml")])
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stderr.splitlines() if "megamart_orders_in: " in line]
    assert lines == [f"  megamart_orders_in: {n}/25 po-{n - 1:02d}.edi" for n in range(1, 26)]
    (many_pos / "var" / "partners" / "megamart" / "inbound" / "po-99.edi").write_bytes(_purchase_order(7999))
    r = CliRunner().invoke(main, ["run", "--once", "--quiet", "--config", str(many_pos / "config.toml")])
    assert r.exit_code == 0 and r.stderr == ""


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A seeded site whose ledger is a fresh PostgreSQL database (the server on 127.0.0.1:5432), with a
    password in the configuration (trust auth ignores it), so that its redaction shows."""
    from tests.ledger.conftest import START_HINT, _admin_url, _in_ci, create_database, drop_database

    admin, why = _admin_url()
    if admin is None:
        message = f"PostgreSQL is not reachable ({why}); start it with: {START_HINT}"
        if _in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    name = f"erpbridge_test_ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    site = seed_demo_site(tmp_path / "site")
    config = site / "config.toml"
    text = config.read_text().replace(
        'url = "sqlite:///var/ledger.sqlite3"',
        f'url = "{url}"\npassword = {{ env = "ERPBRIDGE_TEST_LEDGER_PASSWORD" }}',
    )
    config.write_text(text)
    try:
        yield site, url
    finally:
        drop_database(admin, name)


def test_list_show_and_verify_on_postgresql(
    pg_site: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    import sqlalchemy as sa

    site, url = pg_site
    monkeypatch.setenv("ERPBRIDGE_TEST_LEDGER_PASSWORD", "pg-s3cret-word")
    assert cli(site, "run", "--once", "--quiet").exit_code == 0
    inbound = listed(site, "--direction", "in")
    assert {d["file_name"] for d in inbound} == {"850_004010.edi", "850_005010.edi"}
    shown = cli(site, "ledger", "show", inbound[0]["id"][:8])
    assert shown.exit_code == 0 and "acknowledges this" in shown.stdout
    r = cli(site, "ledger", "verify")
    assert r.exit_code == 0 and "the hash chain is intact" in r.stdout
    assert "pg-s3cret-word" not in r.output and "***" in r.stdout
    libpq = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("UPDATE events SET outcome = 'retry' WHERE id = 3")
    r = cli(site, "ledger", "verify")
    assert r.exit_code == 1 and "the hash chain breaks at event 3" in r.stderr
    assert "pg-s3cret-word" not in r.output
