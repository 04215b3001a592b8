"""The WMS's inventory adjustments (an XLSX in the ``inventory-adjustment`` layout) reach NetSuite
through ``erpbridge run --once``: each adjustment ID becomes one NetSuite inventory adjustment
(the emulator, tests/netsuite/emulator) that changes on-hand by exactly the file's quantities; a
second run, and the same file dropped again under another name, change nothing; a file with a bad
row is quarantined naming file:row:column, and a file NetSuite cannot take whole (an unknown SKU in
its second adjustment) posts nothing at all.

The same file into SAP's file port: one WMMBXY IDoc (WMMBID02) per adjustment ID, its DOCNUM from the
ledger, read back by the IDoc reader and the inbound mapping as the file's movements; NetSuite takes
them too (also_deliver), once."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from erpbridge.formats.idoc import decode
from erpbridge.mapping import load_mapping
from erpbridge.mapping.meta import idoc_meta
from tests.conftest import ROOT
from tests.integration.sites import ERPBRIDGE, WMS_FOLDER, netsuite_tba
from tests.integration.test_run import files, run
from tests.netsuite.conftest import CONSUMER_KEY, CONSUMER_SECRET, TOKEN_ID, TOKEN_SECRET, make_emulator
from tests.netsuite.emulator import NetSuiteEmulator

HEADER = ["Adjustment ID", "Date", "Warehouse", "SKU", "Quantity", "UoM", "Reason", "Counted", "Note"]

CONFIG = (
    ERPBRIDGE
    + """
[partners.blueriver]
isa_qualifier = "ZZ"
isa_id = "BLUERIVER"
version = "004010"
"""
    + WMS_FOLDER
    + """
[endpoints.netsuite]
type = "netsuite_rest"
account = "1234567_SB1"
url = "{url}"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
adjustment_account = "58"
locations = {{ "BRL-LOU1" = "1", "BRL-RNO2" = "2" }}
max_attempts = 2
backoff = "10ms"
max_backoff = "50ms"
connect_timeout = "5s"
timeout = "10s"
"""
    + netsuite_tba("netsuite")
    + """
[flows.blueriver_adjustments]
direction = "out"
partner = "blueriver"
source = {{ endpoint = "wms", folder = "outbound/adjustments", archive = "archive/adjustments" }}
target = {{ endpoint = "netsuite" }}
documents = ["GoodsMovement"]
layout = "inventory-adjustment"
csv_mapping = "mappings/wms/adjustment-xlsx-to-goods-movement.yaml"
every = "5m"
"""
)

DAY = dt.date(2026, 3, 16)
ROWS: list[list[Any]] = [
    ["ADJ-20260316-01", DAY, "BRL-LOU1", "NW-TS-BLK-S", -3, "EA", "damaged", None, "forklift"],
    ["ADJ-20260316-01", DAY, "BRL-LOU1", "NW-SK-WHT-3P", 5, "EA", "found", "Y", None],
    ["ADJ-20260316-01", DAY, "BRL-LOU1", "NW-TS-BLK-S", -1, "EA", "damaged", None, "second pallet"],
    ["ADJ-20260316-02", DAY, "BRL-RNO2", "NW-CAP-RED", 12, "EA", "cycle_count", "Y", None],
]


def workbook(rows: list[list[Any]]) -> bytes:
    """An XLSX saved as a spreadsheet user would (typed cells), with openpyxl directly."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Adjustments"
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def netsuite() -> Iterator[NetSuiteEmulator]:
    emulator = make_emulator()  # items 501 NW-TS-BLK-S (100 at 1), 502 NW-SK-WHT-3P (40 at 1), 503
    emulator.add_location("Reno DC", location_id=2)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def site(tmp_path: Path, netsuite: NetSuiteEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in (
        ("NS_CONSUMER_KEY", CONSUMER_KEY),
        ("NS_CONSUMER_SECRET", CONSUMER_SECRET),
        ("NS_TOKEN_ID", TOKEN_ID),
        ("NS_TOKEN_SECRET", TOKEN_SECRET),
    ):
        monkeypatch.setenv(name, value)
    (tmp_path / "config.toml").write_text(CONFIG.format(url=netsuite.url))
    (tmp_path / "var" / "wms" / "outbound" / "adjustments").mkdir(parents=True)
    return tmp_path


def on_hand(netsuite: NetSuiteEmulator) -> dict[tuple[int, int], Decimal]:
    return {
        (item, location): Decimal(str(q))
        for item, location, q in netsuite.query(
            "SELECT item, location, quantityonhand FROM inventoryitemlocations"
        )
    }


def adjustments(netsuite: NetSuiteEmulator) -> list[tuple[Any, ...]]:
    return netsuite.query(
        "SELECT id, externalid, memo, trandate FROM [transaction] WHERE type = 'InvAdjst' ORDER BY id"
    )


def ledger_rows(site: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site / "var" / "ledger.sqlite3") as db:
        return db.execute(sql).fetchall()


def test_adjustments_post_once_and_change_on_hand_by_the_files_quantities(
    site: Path, netsuite: NetSuiteEmulator
) -> None:
    drop = site / "var" / "wms" / "outbound" / "adjustments"
    (drop / "ADJ_20260316.xlsx").write_bytes(workbook(ROWS))
    before = on_hand(netsuite)

    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr

    # on hand changed by exactly the file's quantities, per item and location
    expected = dict(before)
    items = {"NW-TS-BLK-S": 501, "NW-SK-WHT-3P": 502, "NW-CAP-RED": 503}
    locations = {"BRL-LOU1": 1, "BRL-RNO2": 2}
    for _, _, warehouse, sku, qty, *_ in ROWS:
        at = (items[sku], locations[warehouse])
        expected[at] = expected.get(at, Decimal(0)) + Decimal(qty)
    after = on_hand(netsuite)
    assert after == expected
    assert after[(501, 1)] == Decimal(96) and after[(503, 2)] == Decimal(12)

    made = adjustments(netsuite)
    assert len(made) == 2  # one per adjustment ID
    assert [m[2] for m in made] == [
        "WMS adjustment ADJ-20260316-01 at BRL-LOU1",
        "WMS adjustment ADJ-20260316-02 at BRL-RNO2",
    ]
    assert {m[3] for m in made} == {"2026-03-16"}
    record = netsuite.record("inventoryadjustment", made[0][0])
    assert record is not None and record["account"] == {"id": "58"} and record["adjLocation"] == {"id": "1"}

    # the ledger: two canonical GoodsMovements, delivered and archived, with the adjustments' IDs
    docs = ledger_rows(
        site,
        "SELECT kind, state, business_key FROM documents WHERE kind = 'canonical/GoodsMovement' ORDER BY business_key",
    )
    assert docs == [
        ("canonical/GoodsMovement", "archived", "ADJ-20260316-01"),
        ("canonical/GoodsMovement", "archived", "ADJ-20260316-02"),
    ]
    wms = site / "var" / "wms"
    assert files(drop) == [] and files(wms / "archive" / "adjustments") == ["ADJ_20260316.xlsx"]

    # a second run has nothing to do; the same file again (another name) is a duplicate
    again = run("run", "--once", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    (drop / "ADJ_20260316-resent.xlsx").write_bytes(workbook(ROWS))
    third = run("run", "--once", "--config", "config.toml", cwd=site)
    assert third.returncode == 0 and "duplicate" in third.stdout, third.stdout + third.stderr
    assert on_hand(netsuite) == after and adjustments(netsuite) == made

    # an adjustment ID exported again with other quantities is not posted a second time: quarantined
    changed = [[*ROWS[3][:4], 15, *ROWS[3][5:]]]
    (drop / "ADJ_20260316-changed.xlsx").write_bytes(workbook(changed))
    fourth = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert fourth.returncode == 1, fourth.stdout + fourth.stderr
    assert on_hand(netsuite) == after and adjustments(netsuite) == made
    reason = (
        site / "var" / "quarantine" / "blueriver_adjustments" / "ADJ_20260316-changed.xlsx.reason.txt"
    ).read_text()
    assert "GoodsMovement ADJ-20260316-02 was delivered before with other content" in reason


def test_a_bad_row_or_an_unknown_sku_posts_nothing(site: Path, netsuite: NetSuiteEmulator) -> None:
    drop = site / "var" / "wms" / "outbound" / "adjustments"
    bad = [*ROWS[:3], ["ADJ-20260316-02", DAY, "BRL-RNO2", "NW-CAP-RED", "1,5", "EA", "lost", "Y", None]]
    (drop / "bad-row.xlsx").write_bytes(workbook(bad))
    unknown = [*ROWS[:3], ["ADJ-20260316-02", DAY, "BRL-RNO2", "NW-NOT-SOLD", 2, "EA", "found", "Y", None]]
    (drop / "unknown-sku.xlsx").write_bytes(workbook(unknown))
    before = on_hand(netsuite)

    r = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert r.returncode == 1, r.stdout + r.stderr
    assert on_hand(netsuite) == before and adjustments(netsuite) == []  # nothing half-posted

    quarantine = site / "var" / "quarantine" / "blueriver_adjustments"
    reason = (quarantine / "bad-row.xlsx.reason.txt").read_text()
    assert "bad-row.xlsx[Adjustments]:5:E: quantity: not a decimal number" in reason
    assert "bad-row.xlsx[Adjustments]:5:G: reason: not one of the column's codes" in reason
    reason = (quarantine / "unknown-sku.xlsx.reason.txt").read_text()
    assert "GoodsMovement ADJ-20260316-02" in reason and "NW-NOT-SOLD" in reason
    assert "nothing delivered" in reason


SAP = """
[endpoints.s4_files]                 # SAP's file port directories
type = "local"
root = "var/sap"

[endpoints.s4_port]
type = "sap_idoc"
port = "file"
transport = "s4_files"
folder = "in"

[endpoints.s4_port.control]
SNDPOR = "ERPBRIDGE"
SNDPRT = "LS"
SNDPRN = "BLUERIVER"
RCVPOR = "SAPS4P"
RCVPRT = "LS"
RCVPRN = "S4PCLNT100"
MANDT = "100"

[endpoints.s4_port.mappings]
GoodsMovement = "mappings/idoc/goods-movement-to-wmmbid02.yaml"
"""


def test_adjustments_become_wmmbxy_idocs_in_sap_file_port_and_netsuite_adjustments(
    site: Path, netsuite: NetSuiteEmulator
) -> None:
    config = site / "config.toml"
    text = config.read_text().replace(
        'target = { endpoint = "netsuite" }', 'target = { endpoint = "s4_port" }'
    )
    config.write_text(
        text.replace(
            'documents = ["GoodsMovement"]',
            'documents = ["GoodsMovement"]\nalso_deliver = [{ endpoint = "netsuite" }]',
        )
        + SAP
    )
    drop = site / "var" / "wms" / "outbound" / "adjustments"
    (drop / "ADJ_20260316.xlsx").write_bytes(workbook(ROWS))
    before = on_hand(netsuite)

    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    port = site / "var" / "sap" / "in"
    written = files(port)
    assert len(written) == 2 and all(n.startswith("WMMBXY_") and n.endswith(".xml") for n in written)

    # each IDoc read back with the reader and the inbound mapping is the movement of the file
    inbound = load_mapping(ROOT / "mappings" / "idoc" / "wmmbid02-to-goods-movement.yaml")
    got = {}
    for name in written:
        read = decode((port / name).read_bytes())
        assert not [f for f in read.findings if f.severity == "error"], read.findings
        (idoc,) = read.document["idocs"]
        assert idoc["EDI_DC40"]["DOCNUM"] == name.removeprefix("WMMBXY_").removesuffix(".xml")
        assert idoc["EDI_DC40"]["MESTYP"] == "WMMBXY" and idoc["E1MBXYH"]["TCODE"] == "MB11"
        movement = inbound.apply(idoc, idoc_meta(idoc)).document
        assert movement is not None
        got[movement["movement_id"]] = [
            (ln["product_ids"]["vendor_sku"], ln["kind"], ln["quantity"], ln["location"], ln.get("reason"))
            for ln in movement["lines"]
        ]
    assert got == {
        "ADJ-20260316-01": [
            ("NW-TS-BLK-S", "adjustment_out", "3", "1000", "damaged"),
            ("NW-SK-WHT-3P", "adjustment_in", "5", "1000", None),  # "found": no GRUND in SAP's list
            ("NW-TS-BLK-S", "adjustment_out", "1", "1000", "damaged"),
        ],
        "ADJ-20260316-02": [("NW-CAP-RED", "adjustment_in", "12", "1100", None)],
    }
    # NetSuite got the same adjustments (also_deliver); the ledger links each IDoc to its movement
    assert len(adjustments(netsuite)) == 2 and on_hand(netsuite) != before
    idocs = ledger_rows(
        site,
        "SELECT d.docnum, d.state, l.relation, c.business_key FROM documents d JOIN links l ON l.from_document = d.id "
        "JOIN documents c ON c.id = l.to_document WHERE d.kind = 'idoc/WMMBXY.WMMBID02' ORDER BY c.business_key",
    )
    assert [(s, rel, key) for _, s, rel, key in idocs] == [
        ("archived", "derived_from", "ADJ-20260316-01"),
        ("archived", "derived_from", "ADJ-20260316-02"),
    ]
    assert sorted(f"WMMBXY_{d}.xml" for d, *_ in idocs) == written

    # a second run and the same adjustments in a re-exported file write no IDoc and no adjustment
    (drop / "ADJ_20260316-again.xlsx").write_bytes(workbook(ROWS))
    again = run("run", "--once", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "duplicate" in again.stdout, again.stdout + again.stderr
    assert files(port) == written and len(adjustments(netsuite)) == 2
