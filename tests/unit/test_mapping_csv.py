"""CSV files through mappings: a top-level ``each`` (one document per group), ``$same``, findings that
name the CSV line, and the shipped WMS mappings (mappings/wms/) on good and bad exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from erpbridge.formats.csvrows import read_csv
from erpbridge.mapping import MappingError, load_mapping
from erpbridge.mapping.functions import MappingValueError, same
from erpbridge.mapping.samples import run_case, sample_cases
from tests.conftest import ROOT

WMS = ROOT / "mappings" / "wms"
INVENTORY = WMS / "inventory-csv-to-inventory-advice.yaml"
SHIPMENTS = WMS / "ship-notice-csv-to-ship-notice.yaml"

INVENTORY_HEADER = "warehouse,snapshot_at,sku,upc,description,on_hand,allocated,available,uom\n"
TEE_S = "BRL-LOU1,2026-03-16T06:00:00,NW-TS-BLK-S,061414110013,CREW TEE BLACK S,480,96,384,EA\n"
TEE_M = "BRL-LOU1,2026-03-16T06:00:00,NW-TS-BLK-M,061414110020,CREW TEE BLACK M,720,144,576,EA\n"
SHIP_SAMPLE = SHIPMENTS.with_suffix(".samples") / "blueriver_confirmations.input.csv"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def view(text: str, file: str = "f.csv") -> dict[str, object]:
    return read_csv(text.encode(), file=file).view(file)


# -- the engine: top-level each, line labels, $same -------------------------------------------------


GROUPED = """\
source: csv
target: x12/846
each: '$groupby(rows, "wh")'
fields:
  wh: '$same($, "wh")'
  file: $root.file
  lines:
    each: $
    fields:
      sku: sku
      qty: $decimal(qty)
"""


def test_a_top_level_each_makes_one_document_per_item(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "m.yaml", GROUPED))
    results = m.apply_all(view("wh,sku,qty\nA,s1,1\nB,s2,2\nA,s3,3\n", "stock.csv"))
    assert [r.document for r in results] == [
        {"wh": "A", "file": "stock.csv", "lines": [{"sku": "s1", "qty": "1"}, {"sku": "s3", "qty": "3"}]},
        {"wh": "B", "file": "stock.csv", "lines": [{"sku": "s2", "qty": "2"}]},
    ]
    assert m.apply_all(view("wh,sku,qty\n")) == []  # no rows: no documents


def test_apply_on_a_mapping_with_a_top_level_each_is_a_finding_not_one_document(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "m.yaml", GROUPED))
    result = m.apply(view("wh,sku,qty\nA,s1,1\n"))
    assert result.document is None and result.findings[0].line == 3 and "apply_all" in str(result.findings[0])


def test_without_a_top_level_each_apply_all_gives_the_one_document(tmp_path: Path) -> None:
    m = load_mapping(
        write(tmp_path, "m.yaml", "source: csv\ntarget: x12/846\nfields:\n  n: '$count(rows)'\n")
    )
    assert [r.document for r in m.apply_all(view("a\n1\n2\n"))] == [{"n": 2}]


def test_a_finding_on_a_row_names_its_line(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "m.yaml", GROUPED))
    (result,) = m.apply_all(view("wh,sku,qty\nA,s1,1\n\nA,s2,1 200\n"))
    (finding,) = result.findings
    assert finding.source == "line 4." and finding.target == "lines[1].qty" and finding.line == 11
    assert "'1 200' is not a number" in finding.message


def test_same_gives_the_groups_one_value_and_a_finding_naming_lines_when_rows_disagree() -> None:
    rows = [{"d": "2026-03-16", "_line": 2}, {"d": "", "_line": 3}, {"d": "2026-03-16", "_line": 4}]
    assert same(rows, "d") == "2026-03-16"  # an empty cell does not count
    assert same(rows, "missing") is None and same(None, "d") is None and same(rows[0], "d") == "2026-03-16"
    with pytest.raises(MappingValueError) as info:
        same([*rows, {"d": "2026-03-17", "_line": 9}], "d")
    assert (
        str(info.value)
        == "the rows of one group disagree on d: '2026-03-16' (line 2, line 4); '2026-03-17' (line 9)"
    )
    with pytest.raises(MappingValueError, match=r"'1' \(item 1\); '2' \(item 2\)"):  # no lines: positions
        same([{"d": "1"}, {"d": "2"}], "d")


def test_a_bad_top_level_each_is_refused_when_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "source: csv\ntarget: x12/846\neach: '$nope(rows)'\nfields:\n  a: b\n")
    with pytest.raises(MappingError, match=r"m\.yaml:3: each: unknown function"):
        load_mapping(path)


def test_extends_keeps_the_base_each(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", GROUPED)
    m = load_mapping(write(tmp_path, "child.yaml", "extends: base.yaml\nfields:\n  wh: '\"X\"'\n"))
    assert [r.document["wh"] for r in m.apply_all(view("wh,sku,qty\nA,s,1\nB,t,2\n")) if r.document] == [
        "X",
        "X",
    ]


# -- the shipped WMS mappings -------------------------------------------------------------------------


def test_inventory_one_advice_per_warehouse_quantities_as_exported() -> None:
    m = load_mapping(INVENTORY)
    other = TEE_S.replace("BRL-LOU1", "BRL-RNO2").replace(",480,96,384,", ",15,0,15,")
    docs = [r.document for r in m.apply_all(view(INVENTORY_HEADER + TEE_S + other + TEE_M))]
    assert [
        (d["location"], [(i["product_ids"]["vendor_sku"], i["on_hand"]) for i in d["items"]]) for d in docs
    ] == [
        ("BRL-LOU1", [("NW-TS-BLK-S", "480"), ("NW-TS-BLK-M", "720")]),
        ("BRL-RNO2", [("NW-TS-BLK-S", "15")]),
    ]
    assert docs[0]["advice_number"] == "BRL-LOU1-202603160600" and docs[0]["advice_time"] == "06:00:00"


@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        # a spreadsheet that turned the UPC into a number dropped its leading zero
        (
            TEE_M.replace("061414110020", "61414110020"),
            "f.csv line 3: items[1].product_ids.upc: '61414110020'",
        ),
        (TEE_M.replace(",720,", ",1 200,"), "f.csv line 3: items[1].on_hand: '1 200' is not a number"),
        (TEE_M.replace(",EA\n", ",EACH\n"), "f.csv line 3: items[1].unit: 'EACH' is not in the x12 column"),
        (
            TEE_M.replace("T06:00", "T07:00"),
            "snapshot_at: '2026-03-16T06:00:00' (line 2); '2026-03-16T07:00:00' (line 3)",
        ),
    ],
)
def test_inventory_findings_name_the_csv_line(bad_row: str, says: str) -> None:
    (result,) = load_mapping(INVENTORY).apply_all(view(INVENTORY_HEADER + TEE_S + bad_row))
    assert result.document is None
    shown = [
        f"f.csv {f.source.rstrip('.')}: {f.target}: {f.message}" if f.source else str(f)
        for f in result.findings
    ]
    assert any(says in s for s in shown), shown


def test_ship_notice_groups_shipments_orders_and_cartons() -> None:
    docs = [r.document for r in load_mapping(SHIPMENTS).apply_all(view(SHIP_SAMPLE.read_text()))]
    assert [d["shipment_id"] for d in docs if d] == ["SHP2026031601", "SHP2026031602"]
    first = docs[0]
    assert first is not None and first["package_count"] == 3
    assert [(o["po_number"], [p["sscc"] for p in o.get("packs", [])]) for o in first["orders"]] == [
        ("4500012345", ["006141410000000012", "006141410000000029"]),  # the 00 AI of a scan is dropped
        ("4500012346", ["006141410000000036"]),
    ]
    loose = docs[1]
    assert loose is not None and "packs" not in loose["orders"][0] and "package_count" not in loose
    assert [i["quantity"] for i in loose["orders"][0]["items"]] == ["144", "48"]


def test_ship_notice_rows_that_disagree_on_the_carrier_are_a_finding_naming_both_lines() -> None:
    lines = SHIP_SAMPLE.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",UPSN,", ",FDEG,")
    (result, _) = load_mapping(SHIPMENTS).apply_all(view("".join(lines)))
    assert result.document is None
    assert "disagree on carrier_scac: 'UPSN' (line 2, line 4, line 5, ...); 'FDEG' (line 3)" in str(
        result.findings
    )


def test_ship_notice_a_wrong_sscc_check_digit_is_a_finding() -> None:
    text = SHIP_SAMPLE.read_text().replace("006141410000000036", "006141410000000037")
    (result, _) = load_mapping(SHIPMENTS).apply_all(view(text))
    assert result.document is None and "wrong GS1 check digit" in str(result.findings)


# -- sample cases (erpbridge map test) -----------------------------------------------------------------


def test_a_csv_case_with_a_wrong_expectation_fails_with_a_diff(tmp_path: Path) -> None:
    shutil.copytree(WMS, tmp_path / "wms")
    shutil.copytree(ROOT / "mappings" / "codes", tmp_path / "codes")
    mapping = tmp_path / "wms" / INVENTORY.name
    case = next(c for c in sample_cases(mapping)[0] if c.name == "blueriver_snapshot")
    case.expected.write_text(case.expected.read_text().replace('"on_hand": "720"', '"on_hand": "702"'))
    result = run_case(load_mapping(mapping), case)
    assert '-        "on_hand": "702",' in result.diff and '+        "on_hand": "720",' in result.diff
    case.input.write_bytes(b"warehouse,sku\nBRL-LOU1\n")
    result = run_case(load_mapping(mapping), case)
    assert not result.ok and "blueriver_snapshot.input.csv:2:9: 1 values" in result.problems[0]
