"""``erpbridge translate`` with SAP IDoc XML: in to canonical JSON, and ``--to idoc/TYPE`` out."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from erpbridge.cli.main import main
from erpbridge.formats.idoc import decode
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "idoc_samples"


def test_idoc_xml_in_canonical_json_out_and_back(tmp_path: Path) -> None:
    runner = CliRunner()
    po = tmp_path / "po.json"
    result = runner.invoke(main, ["translate", str(GOLDEN / "orders05_megamart.xml"), "--out", str(po)])
    assert result.exit_code == 0, result.output
    docs = json.loads(po.read_text())
    assert [d["po_number"] for d in docs] == ["4500012345", "4500012346"]
    assert (
        docs[0]["meta"]["standard"] == "idoc" and docs[0]["meta"]["set_control_number"] == "0000000000100001"
    )
    out = tmp_path / "orders.xml"
    result = runner.invoke(
        main,
        [
            "translate",
            str(po),
            "--to",
            "idoc/ORDERS05",
            "--sender",
            "KU:MEGAMART",
            "--receiver",
            "LS:S4PCLNT100",
            "--control",
            "4711",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    idocs = decode(out.read_bytes()).document["idocs"]
    assert [i["EDI_DC40"]["DOCNUM"] for i in idocs] == ["0000000000004711", "0000000000004712"]
    assert idocs[0]["EDI_DC40"]["RCVPRN"] == "S4PCLNT100" and idocs[0]["EDI_DC40"]["MESTYP"] == "ORDERS"
    assert idocs[0]["E1EDK02"][0]["BELNR"] == "4500012345"


def test_each_idoc_finds_its_mapping_by_message_and_basic_type() -> None:
    runner = CliRunner()
    shpord = runner.invoke(main, ["translate", str(GOLDEN / "delvry07_shpord.xml")])
    assert shpord.exit_code == 0 and json.loads(shpord.stdout)[0]["kind"] == "WarehouseShippingOrder"
    shpcon = runner.invoke(main, ["translate", str(GOLDEN / "delvry07_shpcon.xml")])
    assert shpcon.exit_code == 0 and json.loads(shpcon.stdout)[0]["kind"] == "ShipNotice"


def test_two_mappings_for_one_basic_type_ask_which(tmp_path: Path) -> None:
    notice = ROOT / "mappings/idoc/ship-notice-to-shpcon.delvry07.samples/shpcon.input.json"
    runner = CliRunner()
    result = runner.invoke(main, ["translate", str(notice), "--to", "idoc/DELVRY07"])
    assert result.exit_code == 1
    assert "choose one with --to idoc/<MESTYP.IDOCTYP> (DESADV.DELVRY07, SHPCON.DELVRY07)" in result.output
    result = runner.invoke(main, ["translate", str(notice), "--to", "idoc/SHPCON.DELVRY07"])
    assert result.exit_code == 0, result.output
    assert decode(result.stdout.encode()).document["idocs"][0]["EDI_DC40"]["MESTYP"] == "SHPCON"


def test_hostile_xml_is_refused_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    result = CliRunner().invoke(main, ["translate", str(bad)])
    assert result.exit_code == 2
    assert "document type" in result.output and "root:" not in result.output
