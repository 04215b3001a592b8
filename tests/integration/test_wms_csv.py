"""``erpbridge run --once`` on CSV files that the WMS drops: an inventory snapshot becomes an 846 and a
ship confirmation one 856 per shipment, written to MEGAMART's folder with the quantities and SKUs of
the CSV; a second run does nothing; a CSV that cannot be read or mapped is quarantined with a reason
that names its line."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from erpbridge.formats.x12 import decode
from tests.conftest import ROOT
from tests.integration.test_run import files, run

WMS_SAMPLES = ROOT / "mappings" / "wms"
SNAPSHOT = WMS_SAMPLES / "inventory-csv-to-inventory-advice.samples" / "blueriver_snapshot.input.csv"
CONFIRMATIONS = WMS_SAMPLES / "ship-notice-csv-to-ship-notice.samples" / "blueriver_confirmations.input.csv"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """config.example.toml in an empty folder (its csv_mapping keys find the shipped mappings), with
    a WMS inventory snapshot and a ship confirmation, both CSV, in the WMS drop folders."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    wms = tmp_path / "var" / "wms" / "outbound"
    (wms / "inventory").mkdir(parents=True)
    (wms / "ship-notices").mkdir(parents=True)
    shutil.copy(SNAPSHOT, wms / "inventory" / "STOCK_20260316_0600.CSV")  # the suffix in any case
    shutil.copy(CONFIRMATIONS, wms / "ship-notices" / "shipconf-20260316.csv")
    return tmp_path


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows as the standard library reads them (not erpbridge's reader: an independent check)."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def sets_of(path: Path, set_id: str) -> list[dict[str, Any]]:
    decoded = decode(path.read_bytes())
    assert not [f for f in decoded.findings if f.severity == "error"], decoded.findings
    return [
        s
        for inter in decoded.document["interchanges"]
        for group in inter["groups"]
        for s in group["sets"]
        if s["ST"]["ST01"] == set_id
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def test_csv_snapshot_and_ship_confirmation_become_an_846_and_856s_once(site: Path) -> None:
    r = run("run", "--once", "--config", "config.toml", cwd=site)
    assert r.returncode == 0, r.stdout + r.stderr
    partner = site / "var" / "partners" / "megamart" / "outbound"
    sent = files(partner)
    assert sum(n.startswith("846_") for n in sent) == 1  # one warehouse in the snapshot
    assert sum(n.startswith("856_") for n in sent) == 2  # two shipments in the confirmation

    # the 846: per SKU, the on-hand, committed and available quantities of the CSV
    (advice,) = [s for n in sent if n.startswith("846_") for s in sets_of(partner / n, "846")]
    got = {
        loop["LIN"]["LIN05"]: (
            loop["LIN"]["LIN03"],
            {q["QTY"]["QTY01"]: q["QTY"]["QTY02"] for q in as_list(loop["QTY_loop"])},
        )
        for loop in advice["LIN_loop"]
    }
    assert got == {
        row["sku"]: (row["upc"], {"17": row["on_hand"], "27": row["allocated"], "33": row["available"]})
        for row in csv_rows(SNAPSHOT)
    }
    assert advice["BIA"]["BIA04"] == "20260316"

    # the 856s: per shipment, order, carton and item, the quantity shipped
    shipped = []
    for name in (n for n in sent if n.startswith("856_")):
        for notice in sets_of(partner / name, "856"):
            hl = {loop["HL"]["HL01"]: loop for loop in notice["HL_loop"]}

            def up(loop: dict[str, Any], level: str, hl: dict[str, Any] = hl) -> dict[str, Any]:
                while loop["HL"]["HL03"] != level:
                    loop = hl[loop["HL"]["HL02"]]
                return loop

            for loop in notice["HL_loop"]:
                if loop["HL"]["HL03"] != "I":
                    continue
                parent = hl[loop["HL"]["HL02"]]
                carton = as_list(parent["MAN"])[0]["MAN02"] if parent["HL"]["HL03"] == "P" else ""
                order = up(loop, "O")["PRF"]["PRF01"]
                shipped.append(
                    (notice["BSN"]["BSN02"], order, carton, loop["LIN"]["LIN05"], loop["SN1"]["SN102"])
                )
    expected = [
        (
            row["shipment_id"],
            row["po_number"],
            row["carton_sscc"].rjust(20, "0") if row["carton_sscc"] else "",  # MAN*GM: 00 + the SSCC
            row["sku"],
            row["qty_shipped"],
        )
        for row in csv_rows(CONFIRMATIONS)
    ]
    assert sorted(shipped) == sorted(expected)

    # the CSV files were archived once sent; a second run has nothing to do
    wms = site / "var" / "wms"
    assert files(wms / "outbound" / "inventory") == [] and files(wms / "outbound" / "ship-notices") == []
    assert files(wms / "archive" / "inventory") == ["STOCK_20260316_0600.CSV"]
    again = run("run", "--once", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    assert files(partner) == sent

    # the same snapshot dropped again under another name is the same content: not sent twice
    shutil.copy(SNAPSHOT, wms / "outbound" / "inventory" / "stock-resent.csv")
    third = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert third.returncode == 0 and "duplicate" in third.stdout, third.stdout + third.stderr
    assert files(partner) == sent


def test_a_broken_csv_is_quarantined_with_a_reason_naming_the_line(site: Path) -> None:
    inventory = site / "var" / "wms" / "outbound" / "inventory"
    lines = SNAPSHOT.read_text().splitlines(keepends=True)
    # a ragged row: "1,200" with a thousands separator is one value too many on line 4
    (inventory / "ragged.csv").write_text(
        "".join(lines[:3]) + lines[3].replace(",600,", ',"600",1,') + "".join(lines[4:])
    )
    # readable, but a spreadsheet stored line 3's UPC as a number and dropped its leading zero
    (inventory / "lost-zero.csv").write_text(
        "".join(lines[:2]) + lines[2].replace(",061414", ",61414") + "".join(lines[3:])
    )
    (inventory / "latin1.csv").write_bytes(
        SNAPSHOT.read_bytes().replace(b"CREW TEE WHITE M", b"T\xc9E BLANC M")
    )
    (inventory / "header-only.csv").write_text(lines[0])  # nothing counted: nothing to send, not an error
    # a flow without csv_mapping takes JSON only
    config = site / "config.toml"
    text = config.read_text()
    config.write_text(text.replace('csv_mapping = "mappings/wms/ship-notice-csv-to-ship-notice.yaml"', ""))
    r = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert r.returncode == 1, r.stdout + r.stderr
    for name in ("ragged.csv", "lost-zero.csv", "latin1.csv", "shipconf-20260316.csv"):
        assert f"{name}: quarantined" in r.stdout, r.stdout
    assert "megamart_inventory_out     empty" in r.stdout
    assert (
        "has no csv_mapping"
        in (site / "var/quarantine/megamart_ship_notices_out/shipconf-20260316.csv.reason.txt").read_text()
    )
    quarantine = site / "var" / "quarantine" / "megamart_inventory_out"
    ragged = (quarantine / "ragged.csv.reason.txt").read_text()
    assert ragged.startswith("read: ragged.csv:4:") and "10 values, but the header names 9 columns" in ragged
    lost = (quarantine / "lost-zero.csv.reason.txt").read_text()
    assert lost.startswith(
        "map: lost-zero.csv:3: items[1].product_ids.upc: '61414110020' is not a GS1 number"
    )
    assert "inventory-csv-to-inventory-advice.yaml:" in lost  # and the mapping line that refused it
    latin1 = (quarantine / "latin1.csv.reason.txt").read_text()
    assert latin1.startswith("read: latin1.csv:5:") and "cp1252" in latin1
    assert (quarantine / "ragged.csv").read_bytes() == (
        site / "var" / "wms" / "archive" / "inventory" / "ragged.csv"
    ).read_bytes()
    # only the good snapshot was sent
    partner = site / "var" / "partners" / "megamart" / "outbound"
    assert sum(n.startswith("846_") for n in files(partner)) == 1
    assert "header-only.csv" in files(site / "var" / "wms" / "archive" / "inventory")
    again = run("run", "--once", "--quiet", "--config", "config.toml", cwd=site)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
