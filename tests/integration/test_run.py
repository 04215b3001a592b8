"""``erpbridge run --once`` on the embedded default: inbound POs acknowledged and translated, an 856
and an 846 written, nothing done twice, bad input quarantined with a reason, partner 997s matched,
missing 997s raised, and work left by a failure resumed."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpbridge.config import load_config
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.pipeline import Runner
from tests.conftest import ROOT, SAMPLES

X12 = ROOT / "mappings" / "x12"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpbridge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The example configuration in an empty folder, seeded as scripts/demo seeds it."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    inbound = tmp_path / "var" / "partners" / "megamart" / "inbound"
    inbound.mkdir(parents=True)
    for name in ("850_004010.edi", "850_005010.edi"):
        shutil.copy(SAMPLES / "valid" / name, inbound / name)
    wms = tmp_path / "var" / "wms" / "outbound"
    (wms / "ship-notices").mkdir(parents=True)
    (wms / "inventory").mkdir(parents=True)
    shutil.copy(
        X12 / "ship-notice-to-856.samples" / "856_004010.input.json", wms / "ship-notices" / "asn-1.json"
    )
    shutil.copy(
        X12 / "inventory-advice-to-846.samples" / "846_004010.input.json", wms / "inventory" / "inv-1.json"
    )
    return tmp_path


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_run_once_acknowledges_translates_and_sends_then_does_nothing(site: Path) -> None:
    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    var = site / "var"
    partner = var / "partners" / "megamart"
    # the two POs: acknowledged (997s in MEGAMART's outbound), translated, and their files archived
    assert files(partner / "inbound") == []
    assert files(partner / "archive") == ["850_004010.edi", "850_005010.edi"]
    pos = [json.loads(p.read_text()) for p in sorted((var / "erp" / "purchase-orders").iterdir())]
    assert [po["po_number"] for po in pos] == ["4500012345", "4500012399"] or len(pos) == 2
    assert all(po["kind"] == "PurchaseOrder" and po["meta"]["partner_id"] == "megamart" for po in pos)
    sent = files(partner / "outbound")
    assert sum(n.startswith("997_") for n in sent) == 2
    assert sum(n.startswith("856_") for n in sent) == 1 and sum(n.startswith("846_") for n in sent) == 1
    # what we wrote is valid X12 with distinct control numbers from the ledger
    check = run("x12", "validate", *sorted((partner / "outbound").iterdir()), cwd=site)
    assert check.returncode == 0, check.stdout
    isa13s = [(partner / "outbound" / n).read_bytes()[90:99] for n in sent]
    assert len(set(isa13s)) == len(isa13s)
    assert "delivered" in r.stdout and "sent" in r.stdout
    # the WMS files were archived once sent
    assert files(var / "wms" / "outbound" / "ship-notices") == []
    # a second run finds nothing to do
    again = run("run", "--once", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    assert files(partner / "outbound") == sent


def test_the_same_file_twice_is_processed_once_and_bad_input_is_quarantined(site: Path) -> None:
    assert run("run", "--once", "--quiet", "--config", "config.toml", cwd=site).returncode == 0
    var = site / "var"
    inbound = var / "partners" / "megamart" / "inbound"
    shutil.copy(SAMPLES / "valid" / "850_004010.edi", inbound / "resent.edi")
    (inbound / "garbage.edi").write_bytes(b"this is not an interchange")
    (var / "wms" / "outbound" / "inventory" / "broken.json").write_text("{not json")
    r = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "duplicate" in r.stdout
    assert "garbage.edi: quarantined" in r.stdout and "broken.json: quarantined" in r.stdout
    quarantine = var / "quarantine"
    reason = (quarantine / "megamart_orders_in" / "garbage.edi.reason.txt").read_text()
    assert "ISA" in reason  # says what is wrong: no interchange header
    assert (
        (quarantine / "megamart_inventory_out" / "broken.json.reason.txt")
        .read_text()
        .startswith("read: not JSON")
    )
    assert len(files(var / "erp" / "purchase-orders")) == 2  # the resent PO was not translated again
    assert files(inbound) == []  # the duplicate and the quarantined file left the inbox
    again = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout


def runner(site: Path, clock: list[datetime]) -> tuple[Runner, Ledger]:
    """A runner and its ledger on one clock the test moves."""
    config = load_config(site / "config.toml")
    (site / "var").mkdir(exist_ok=True)
    ledger = Ledger.open(config.ledger.reveal_url(), clock=lambda: clock[0])
    return Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True, now=lambda: clock[0]), ledger


def partner_997(our_gs06: str, status: str, extra: str = "", isa13: int = 777) -> bytes:
    """MEGAMART's 997 for our group ``our_gs06`` (each interchange has its own ISA13: a repeated
    ISA13 is a duplicate, and the ledger ignores it)."""
    isa = f"ISA*00*          *00*          *ZZ*MEGAMART       *ZZ*NWOUTFITTERS   *261123*1200*U*00401*{isa13:09d}*0*P*>~"
    body = [
        "GS*FA*MEGAMART*NWOUTFITTERS*20261123*1200*777*X*004010",
        "ST*997*0001",
        f"AK1*SH*{our_gs06}",
        f"AK2*856*{int(our_gs06):04d}",
        *([extra] if extra else []),
        f"AK5*{status}" + ("*5" if status == "R" else ""),
        f"AK9*{status}*1*1*{1 if status == 'A' else 0}",
    ]
    n = len(body)  # ST..AK9
    segs = [isa, *(s + "~" for s in body), f"SE*{n}*0001~", "GE*1*777~", f"IEA*1*{isa13:09d}~"]
    return "\n".join(segs).encode() + b"\n"


def test_partner_997s_are_matched_and_missing_ones_raised(site: Path) -> None:
    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    r, ledger = runner(site, clock)
    first = r.run_once()
    assert not first.failed, first.problems
    [asn] = ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/856")
    [inventory] = ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/846")
    assert asn.state == inventory.state == State.SENT
    inbound = site / "var" / "partners" / "megamart" / "inbound"
    # MEGAMART accepts the 856 ...
    (inbound / "997-a.edi").write_bytes(partner_997(asn.gs06 or "", "A"))
    r.run_once()
    assert ledger.get(asn.id).state == State.ACKNOWLEDGED
    # ... but never answers for the 846: four hours later (their ack_window) it is overdue
    clock[0] += timedelta(hours=5)
    summary = r.run_once()
    assert ledger.get(inventory.id).state == State.ACK_OVERDUE
    assert any("no 997 for x12/846" in p for p in summary.problems)
    # a 997 rejecting it, with its AK3/AK4 reasons, makes it rejected and says why
    (inbound / "997-r.edi").write_bytes(partner_997(inventory.gs06 or "", "R", "AK3*QTY*9**8", isa13=778))
    summary = r.run_once()
    assert ledger.get(inventory.id).state == State.REJECTED
    assert any("rejected x12/846" in p and "QTY" in p for p in summary.problems), summary.problems
    ledger.close()


def test_a_transient_failure_is_retried_and_resumed(site: Path) -> None:
    from erpbridge.errors import TransportError
    from erpbridge.transports import MemoryTransport

    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    config = load_config(site / "config.toml")
    (site / "var").mkdir(exist_ok=True)
    ledger = Ledger.open(config.ledger.reveal_url(), clock=lambda: clock[0])
    r = Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True, now=lambda: clock[0])
    erp = MemoryTransport(folders=["purchase-orders"])
    r.transports["erp"] = erp  # the ERP's folder, whose first write fails
    erp.fail_next(TransportError("connection reset by the ERP share"))
    first = r.run_once()
    assert first.counts[("megamart_orders_in", "retry_wait")] == 1, first.table()
    assert any("will retry deliver" in p for p in first.problems)
    assert len(erp.files("purchase-orders")) == 1
    inbound = site / "var" / "partners" / "megamart" / "inbound"
    assert len(files(inbound)) == 1  # the failed one stays until it is delivered
    # too early: the backoff has not passed, nothing happens
    assert r.run_once().counts[("megamart_orders_in", "resumed")] == 0
    clock[0] += timedelta(minutes=5)
    later = r.run_once()
    assert later.counts[("megamart_orders_in", "resumed")] == 1, later.table()
    assert len(erp.files("purchase-orders")) == 2 and files(inbound) == []
    pos = ledger.find(partner="megamart", direction=Direction.IN, kind="x12")
    assert {d.state for d in pos} == {State.ARCHIVED}
    assert ledger.verify() > 0  # the event chain is intact
    ledger.close()


def test_isa13_is_read_as_the_lexer_reads_the_isa() -> None:
    from erpbridge.pipeline.runner import isa13_of

    assert isa13_of((SAMPLES / "valid" / "bom_crlf.edi").read_bytes()) == "000000903"  # a BOM, CR/LF
    assert isa13_of((SAMPLES / "valid" / "850_004010.edi").read_bytes()) == "000000101"
    assert isa13_of(b"this is not an interchange") is None


def test_each_step_is_an_event_with_its_latency(site: Path) -> None:
    config = load_config(site / "config.toml")
    with Ledger.open(config.ledger.url) as ledger:
        Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True).run_once()
        (po, *_) = ledger.find(direction=Direction.IN, kind="x12", limit=1)
        steps = [(e.step, e.to_state) for e in ledger.events(po.id)]
        assert steps == [
            ("receive", State.RECEIVED),
            ("validate", State.VALIDATED),
            ("acknowledge", State.ACKNOWLEDGED),
            ("map", State.MAPPED),
            ("deliver", State.DELIVERED),
            ("archive", State.ARCHIVED),
        ]
        moves = [e for e in ledger.events(po.id) if e.step != "receive"]
        assert all(e.latency_ms is not None and 0 <= e.latency_ms < 60_000 for e in moves)
        delivered = next(e for e in moves if e.step == "deliver")
        assert delivered.detail["to"] == "erp"
        assert delivered.detail["references"][0].startswith("PurchaseOrder-")


def test_a_file_refused_by_a_broken_mapping_goes_through_once_the_mapping_is_fixed(site: Path) -> None:
    """The quarantined attempt does not hold the file's key: dropped again, it is sent."""
    partner_maps = site / "var" / "maps"
    partner_maps.mkdir(parents=True)
    broken = (
        (X12 / "ship-notice-to-856.yaml")
        .read_text()
        .replace("      BSN02: shipment_id", "      BSN02: $required(no_such_field)")
    )
    (partner_maps / "ship-notice-to-856.yaml").write_text(broken, encoding="utf-8")
    shutil.copytree(ROOT / "mappings" / "codes", site / "var" / "codes")  # its code lists, found above it
    config_file = site / "config.toml"
    text = config_file.read_text().replace(
        'endpoint = "megamart"            # where',
        'mappings = "var/maps"\nendpoint = "megamart"            # where',
        1,
    )
    config_file.write_text(text, encoding="utf-8")
    asn = site / "var" / "wms" / "outbound" / "ship-notices" / "asn-1.json"
    original = asn.read_bytes()
    config = load_config(config_file)
    with Ledger.open(config.ledger.url) as ledger:
        first = Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True).run_once()
        assert first.counts[("megamart_ship_notices_out", "quarantined")] == 1, first.problems
        assert not any(
            f.startswith("856_") for f in files(site / "var" / "partners" / "megamart" / "outbound")
        )
        # the analyst fixes the mapping (here: the partner's broken copy goes) and drops the file again
        (partner_maps / "ship-notice-to-856.yaml").unlink()
        asn.write_bytes(original)
        again = Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True).run_once()
        assert again.counts[("megamart_ship_notices_out", "sent")] == 1, again.table()
        sent = ledger.find(direction=Direction.OUT, kind="x12/856", limit=10)
        assert [d.state for d in sent] == [State.SENT]


def test_a_shipment_exported_again_sends_no_second_856_and_a_changed_one_waits_for_a_person(
    site: Path,
) -> None:
    """The WMS exports a ShipNotice again: in another file, reformatted, inside a list. The same
    document is a duplicate (the key is the document's content, not the file's bytes). One with the
    same shipment and other content is refused with a reason that names the 856 already sent;
    once the partner rejected that 856, the corrected one goes."""
    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    r, ledger = runner(site, clock)
    assert not r.run_once().failed
    [asn] = ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/856")
    sent_folder = site / "var" / "partners" / "megamart" / "outbound"
    sent_before = files(sent_folder)
    ship_notices = site / "var" / "wms" / "outbound" / "ship-notices"
    original = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())

    # the same shipment, exported again: other bytes, another name, a list of one
    (ship_notices / "asn-1-again.json").write_text(json.dumps([original], indent=4, sort_keys=True))
    again = r.run_once()
    assert again.counts.get(("megamart_ship_notices_out", "duplicate")) == 1, again.counts
    assert not again.failed and files(ship_notices) == []
    assert files(sent_folder) == sent_before  # no second 856
    assert len(ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/856")) == 1

    # the same shipment with a corrected quantity: refused, the reason names the 856 sent
    changed = json.loads(json.dumps(original))
    changed["gross_weight"]["value"] = "40.2"
    (ship_notices / "asn-1-corrected.json").write_text(json.dumps(changed))
    refused = r.run_once()
    assert refused.failed and files(sent_folder) == sent_before
    [problem] = [p for p in refused.problems if "asn-1-corrected.json" in p]
    shipment = original["shipment_id"]
    assert f"ShipNotice {shipment} went to megamart already with other content" in problem, problem
    assert f"ISA13 {asn.isa13}" in problem and "erpbridge dlq drop" in problem

    # MEGAMART rejects the first 856: the corrected one, exported again, goes
    inbound = site / "var" / "partners" / "megamart" / "inbound"
    (inbound / "997-r.edi").write_bytes(partner_997(asn.gs06 or "", "R"))
    r.run_once()
    assert ledger.get(asn.id).state == State.REJECTED
    (ship_notices / "asn-1-corrected-2.json").write_text(json.dumps(changed, indent=1))
    resent = r.run_once()
    assert not resent.failed, resent.problems
    asns = ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/856")
    assert sorted(a.state.value for a in asns) == ["rejected", "sent"]
    assert len(files(sent_folder)) == len(sent_before) + 1
    ledger.close()


def test_a_document_recorded_under_the_key_of_an_earlier_release_keeps_it(site: Path) -> None:
    """Until 2026-11-23 an outbound document's key was its file's SHA-256 and its place in the file.
    One recorded that way and not sent yet (the process stopped) is found under that key, and sent
    once, instead of a second document under its content key."""
    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    r, ledger = runner(site, clock)
    asn_file = site / "var" / "wms" / "outbound" / "ship-notices" / "asn-1.json"
    legacy_key = f"megamart_ship_notices_out:{hashlib.sha256(asn_file.read_bytes()).hexdigest()}:0"
    shipment = json.loads(asn_file.read_text())["shipment_id"]
    earlier = ledger.record_outbound(
        "megamart", "x12/856", payload=b"ISA*the 856 written by the earlier release~",
        state=State.WRITTEN, idempotency_key=legacy_key, business_key=shipment,
    )  # fmt: skip
    summary = r.run_once()
    assert not summary.failed, summary.problems
    [asn] = ledger.find(partner="megamart", direction=Direction.OUT, kind="x12/856")
    assert asn.id == earlier.id and asn.state == State.SENT
    sent = [p.read_bytes() for p in (site / "var" / "partners" / "megamart" / "outbound").glob("856*")]
    assert sent == [b"ISA*the 856 written by the earlier release~"]
    ledger.close()


def test_a_chunk_whose_files_cannot_be_synced_records_none_of_its_moves_and_goes_through_later(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up as a chunk's 997s and JSON are fsynced at its end: none of them appears
    under its name, no move of the chunk is recorded (the 850s stay validated, their 997s written),
    and once the claims run out the next pass sends and delivers each exactly once."""
    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    r, ledger = runner(site, clock)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        if ".part" in os.readlink(f"/proc/self/fd/{fd}"):  # a held put's temporary file
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    first = r.run_once(["megamart_orders_in"])
    monkeypatch.undo()
    assert any("No space left" in p for p in first.problems), first.problems
    var = site / "var"
    acks, erp = var / "partners" / "megamart" / "outbound", var / "erp" / "purchase-orders"
    assert files(acks) == [] and files(erp) == []  # no name appeared, no temporary file left
    pos = ledger.find(partner="megamart", direction=Direction.IN)
    assert sorted(d.state.value for d in pos) == ["validated", "validated"], pos
    assert {d.state for d in ledger.find(partner="megamart", kind="x12/997")} == {State.WRITTEN}

    clock[0] += timedelta(minutes=10)  # the claims of the pass that failed run out
    second = r.run_once(["megamart_orders_in"])
    assert not second.failed, second.problems
    assert [d.state for d in ledger.find(partner="megamart", direction=Direction.IN)] == [State.ARCHIVED] * 2
    assert len(files(acks)) == 2 and len(files(erp)) == 2  # each 997 and each PO once
    assert ledger.verify() > 0
    ledger.close()
