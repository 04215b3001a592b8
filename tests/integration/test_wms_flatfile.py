"""``erpbridge run --once`` on WMS flat files read with declared layouts (formats/flatfile):

- an inventory snapshot read with the ``inventory-snapshot`` layout becomes MEGAMART's 846, whose
  advertised quantities (QTY*33) follow the per-channel inventory rules;
- a snapshot with bad rows is quarantined whole with every reject named (``rejects = "quarantine"``),
  or (``rejects = "process"``) its good rows are sent and the bad ones quarantined on their own:
  every row of the file is in one or the other, nothing is lost;
- a ship confirmation read with the ``ship-confirmation`` layout becomes the same 856s as before.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest

from erpbridge.mapping.inventory_rules import load_rules
from tests.conftest import ROOT
from tests.integration.test_run import files, run
from tests.integration.test_wms_csv import CONFIRMATIONS, SNAPSHOT, as_list, sets_of

RULES = ROOT / "mappings" / "wms" / "inventory-rules.yaml"


def configure(site: Path, rejects: str | None = None) -> None:
    config = site / "config.toml"
    text = config.read_text()
    inventory = 'csv_mapping = "mappings/wms/inventory-csv-to-inventory-advice.yaml"'
    ships = 'csv_mapping = "mappings/wms/ship-notice-csv-to-ship-notice.yaml"'
    assert inventory in text and ships in text
    extra = f'\nrejects = "{rejects}"' if rejects else ""
    text = text.replace(
        inventory,
        f'{inventory}\nlayout = "inventory-snapshot"\ninventory_rules = "mappings/wms/inventory-rules.yaml"{extra}',
    )
    config.write_text(text.replace(ships, f'{ships}\nlayout = "ship-confirmation"'))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    wms = tmp_path / "var" / "wms" / "outbound"
    (wms / "inventory").mkdir(parents=True)
    (wms / "ship-notices").mkdir(parents=True)
    return tmp_path


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def advertised_846(partner: Path) -> dict[str, dict[str, str]]:
    """Per SKU of every 846 sent, its quantities by QTY01."""
    out: dict[str, dict[str, str]] = {}
    for name in files(partner):
        if name.startswith("846_"):
            for s in sets_of(partner / name, "846"):
                for loop in s["LIN_loop"]:
                    out[loop["LIN"]["LIN05"]] = {
                        q["QTY"]["QTY01"]: q["QTY"]["QTY02"] for q in as_list(loop["QTY_loop"])
                    }
    return out


def expected_megamart(row: dict[str, str]) -> str:
    """The rules file's arithmetic, written out independently of mapping/inventory_rules.py:
    MegaMart is not an exception, so on hand - allocated - safety stock (24 for socks, else 12);
    its own reservation is not taken out of its pool."""
    safety = 24 if row["sku"] == "NW-SK-WHT-3P" else 12
    return str(max(int(row["on_hand"]) - int(row["allocated"]) - safety, 0))


def test_a_snapshot_read_with_a_layout_advertises_what_the_rules_allow(site: Path) -> None:
    configure(site)
    shutil.copy(SNAPSHOT, site / "var/wms/outbound/inventory/STOCK_20260316_0600.csv")
    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    got = advertised_846(site / "var/partners/megamart/outbound")
    rows = csv_rows(SNAPSHOT.read_text())
    assert got == {
        row["sku"]: {"17": row["on_hand"], "27": row["allocated"], "33": expected_megamart(row)}
        for row in rows
    }
    assert got["NW-SK-WHT-3P"]["33"] == "816" and got["NW-TS-BLK-M"]["33"] == "564"  # 1200-360-24, 720-144-12


def test_the_same_snapshot_advertises_differently_per_channel_rules() -> None:
    """The rules for a channel that is an exception (tiktok: 25% of the pool) as the runner applies
    them: checked against the formula on the CSV's own numbers."""
    rules = load_rules(RULES)
    for row in csv_rows(SNAPSHOT.read_text()):
        pool = int(row["on_hand"]) - int(row["allocated"]) - (24 if row["sku"] == "NW-SK-WHT-3P" else 12)
        pool -= (
            120 if row["sku"] == "NW-TS-BLK-M" else 0
        )  # MegaMart's reservation: out of everyone else's pool
        want = (Decimal(max(pool, 0)) * Decimal("0.25")).to_integral_value(rounding=ROUND_FLOOR)
        assert (
            rules.advertised(
                "tiktok",
                row["sku"],
                on_hand=int(row["on_hand"]),
                committed=int(row["allocated"]),
                as_of=date(2026, 3, 16),
            )
            == want
        )


def bad_snapshot() -> tuple[str, list[int]]:
    """The sample snapshot with three bad rows: a thousands separator, an empty on-hand count and a
    unit that is not a code; returns the text and the bad rows' line numbers."""
    lines = SNAPSHOT.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",720,144,", ',"1,720",144,')
    lines[5] = lines[5].replace(",240,36,", ",,36,")
    lines[8] = lines[8].replace(",EA\n", ",EACH\n")
    return "".join(lines), [3, 6, 9]


def test_rejected_rows_quarantine_the_whole_file_by_default(site: Path) -> None:
    configure(site)
    text, bad = bad_snapshot()
    (site / "var/wms/outbound/inventory/stock-bad.csv").write_text(text)
    r = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert r.returncode == 1 and "stock-bad.csv: quarantined" in r.stdout, r.stdout + r.stderr
    assert not [n for n in files(site / "var/partners/megamart/outbound") if n.startswith("846_")]
    reason = (site / "var/quarantine/megamart_inventory_out/stock-bad.csv.reason.txt").read_text()
    assert reason.startswith('read: 3 row(s) rejected, nothing sent (rejects = "quarantine"): '), reason
    assert (
        "stock-bad.csv:3:6: on_hand: not an integer (digits only, an optional sign, no separators) (value '1,720')"
        in reason
    )
    assert "stock-bad.csv:6:6: on_hand: required, but empty (value '')" in reason
    assert (
        "stock-bad.csv:9:9: uom: not one of the column's codes (EA, CA, PK, BX, DZ, PR, ST) (value 'EACH')"
        in reason
    )
    assert sorted({int(n) for n in re.findall(r"stock-bad\.csv:(\d+):\d+: ", reason)}) == bad


def test_with_rejects_process_the_good_rows_go_and_the_bad_ones_are_quarantined_nothing_lost(
    site: Path,
) -> None:
    configure(site, rejects="process")
    text, bad = bad_snapshot()
    (site / "var/wms/outbound/inventory/stock-bad.csv").write_text(text)
    r = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert r.returncode == 1 and "stock-bad.csv.rejects: quarantined" in r.stdout, r.stdout + r.stderr
    got = advertised_846(site / "var/partners/megamart/outbound")
    rows = csv_rows(text)
    good = [row for n, row in enumerate(rows, start=2) if n not in bad]
    assert got == {
        row["sku"]: {"17": row["on_hand"], "27": row["allocated"], "33": expected_megamart(row)}
        for row in good
    }
    reason = (site / "var/quarantine/megamart_inventory_out/stock-bad.csv.rejects.reason.txt").read_text()
    assert reason.startswith("read: 3 row(s) rejected and not sent; the file's 7 other row(s) were"), reason
    rejected_lines = sorted({int(n) for n in re.findall(r"stock-bad\.csv:(\d+):\d+: ", reason)})
    # every row is sent or quarantined: none lost, none in both
    assert rejected_lines == bad
    assert len(got) + len(rejected_lines) == len(rows)
    # the quarantined copy is the whole file, so it can be corrected and dropped again
    assert (site / "var/quarantine/megamart_inventory_out/stock-bad.csv.rejects").read_text() == text
    again = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr


def test_a_ship_confirmation_read_with_its_layout_makes_the_same_856s(site: Path) -> None:
    configure(site)
    shutil.copy(CONFIRMATIONS, site / "var/wms/outbound/ship-notices/shipconf-20260316.csv")
    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    partner = site / "var/partners/megamart/outbound"
    shipped: list[tuple[Any, ...]] = []
    for name in (n for n in files(partner) if n.startswith("856_")):
        for notice in sets_of(partner / name, "856"):
            for loop in notice["HL_loop"]:
                if loop["HL"]["HL03"] == "I":
                    shipped.append((notice["BSN"]["BSN02"], loop["LIN"]["LIN05"], loop["SN1"]["SN102"]))
    # qty_shipped is a decimal with scale 3 in the layout: the 856 says the same quantity
    assert sorted(shipped) == sorted(
        (row["shipment_id"], row["sku"], row["qty_shipped"]) for row in csv_rows(CONFIRMATIONS.read_text())
    )


# -- pick orders out: a retailer's 850 and SAP's SHPORD become fixed-width pick-order files ---------

PICK_ENDPOINTS = """
[endpoints.wms_pick]
type = "wms_flatfile"
root = "var/wms"
layout = "pick-order"
mappings = { PurchaseOrder = "mappings/wms/purchase-order-to-pick-order.yaml", WarehouseShippingOrder = "mappings/wms/warehouse-shipping-order-to-pick-order.yaml" }

[endpoints.s4_files]
type = "local"
root = "var/s4"

[flows.s4_pick_orders]
direction = "in"
partner = "blueriver3pl"
source = { endpoint = "s4_files", folder = "out", archive = "out/done" }
target = { endpoint = "wms_pick", folder = "inbound/pick-orders" }
documents = ["idoc/SHPORD.DELVRY07"]
every = "1m"
"""


def test_purchase_orders_and_sap_deliveries_become_pick_order_files(site: Path) -> None:
    from erpbridge.formats.flatfile import load_layout, read
    from erpbridge.formats.idoc import decode as decode_idoc
    from tests.conftest import SAMPLES

    config = site / "config.toml"
    text = config.read_text()
    old = 'target = { endpoint = "erp", folder = "purchase-orders" }'
    assert old in text
    config.write_text(
        text.replace(old, 'target = { endpoint = "wms_pick", folder = "inbound/pick-orders" }')
        + PICK_ENDPOINTS
    )
    inbound = site / "var/partners/megamart/inbound"
    inbound.mkdir(parents=True)
    shutil.copy(SAMPLES / "valid" / "850_004010.edi", inbound / "850_004010.edi")
    (site / "var/s4/out").mkdir(parents=True)
    shpord = ROOT / "tests/idoc_samples/delvry07_shpord.xml"
    shutil.copy(shpord, site / "var/s4/out/SHPORD_0000000000204711.xml")
    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    picks = site / "var/wms/inbound/pick-orders"
    names = files(picks)
    assert len(names) == 2 and all(n.endswith(".txt") for n in names), names
    layout = load_layout(ROOT / "mappings/wms/layouts/pick-order.yaml")
    by_order: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        data = (picks / name).read_bytes()
        assert data.endswith(b"\r\n") and data.isascii()
        result = read(layout, data, file=name)
        assert not result.rejects
        header = result.rows[0]
        assert header.record == "header" and all(r.record == "detail" for r in result.rows[1:])
        by_order[header.values["order_number"]] = [r.values for r in result.rows[1:]]

    # the 850's lines, as our X12 reader gives them (independent of the mappings)
    [po_set] = sets_of(SAMPLES / "valid" / "850_004010.edi", "850")
    po_number = po_set["BEG"]["BEG03"]
    lines = [loop["PO1"] for loop in as_list(po_set["PO1_loop"])]
    vn = [p["PO109"] for p in lines]  # PO1*1*24*EA*9.50**UP*<upc>*VN*<our SKU>: the VN pair is 08/09
    assert all(p["PO108"] == "VN" for p in lines) and len(lines) == 10
    assert [(str(d["line_number"]), d["sku"], d["quantity"], d["uom"]) for d in by_order[po_number]] == [
        (p["PO101"], sku, Decimal(p["PO102"]), p["PO103"]) for p, sku in zip(lines, vn, strict=True)
    ]

    # SAP's delivery: its items, as the IDoc reader gives them
    [idoc] = decode_idoc(shpord.read_bytes()).document["idocs"]
    delivery = idoc["E1EDL20"]["VBELN"]
    items = as_list(idoc["E1EDL20"]["E1EDL24"])
    assert [(d["line_number"], d["sku"], d["quantity"]) for d in by_order[delivery]] == [
        (int(i["POSNR"]), i["MATNR"], Decimal(i["LFIMG"])) for i in items
    ]
    # a second run does nothing; the same SHPORD again is a duplicate, no second file
    shutil.copy(shpord, site / "var/s4/out/SHPORD_again.xml")
    again = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert again.returncode == 0, again.stdout + again.stderr
    assert files(picks) == names
