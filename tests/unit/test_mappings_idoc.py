"""The shipped IDoc mappings (mappings/idoc/): sample cases, round trips IDoc -> canonical -> IDoc over
the golden files, and the findings a bad IDoc gets.

Round trips compare every segment and field, in the writer's order. Where the canonical model has no
home for a field, GAPS names it (segment, field), and the test checks that exactly those differ, so the
list can neither hide a regression nor outlive a fix. WHOLE_SEGMENTS lists segments with no home at all.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from erpbridge.cli.main import main
from erpbridge.formats.idoc import decode, encode, write
from erpbridge.mapping import Mapping, load_mapping
from erpbridge.mapping.functions import groupby
from erpbridge.mapping.idoc_samples import matches
from erpbridge.mapping.meta import idoc_meta
from erpbridge.mapping.samples import run_case, sample_cases
from erpbridge.model import from_json
from tests.conftest import ROOT

IDOC = ROOT / "mappings" / "idoc"
GOLDEN = ROOT / "tests" / "idoc_samples"


@functools.cache
def mapping(name: str) -> Mapping:
    return load_mapping(IDOC / f"{name}.yaml")


# -- sample cases --------------------------------------------------------------------------------

MAPPINGS = sorted(IDOC.glob("*.yaml"))


def test_every_idoc_mapping_has_sample_cases() -> None:
    assert {p.stem for p in MAPPINGS} == {
        "orders05-to-purchase-order",
        "purchase-order-to-orders05",
        "shpord.delvry07-to-warehouse-shipping-order",
        "delvry07-to-ship-notice",
        "ship-notice-to-desadv.delvry07",
        "ship-notice-to-shpcon.delvry07",
        "invoic02-to-invoice",
        "invoice-to-invoic02",
        "wmmbid02-to-goods-movement",
        "goods-movement-to-wmmbid02",
    }
    for path in MAPPINGS:
        cases, complaints = sample_cases(path)
        assert cases and not complaints, path.name


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_the_sample_cases_pass(path: Path) -> None:
    for case in sample_cases(path)[0]:
        result = run_case(mapping(path.stem), case)
        assert result.ok, "\n".join(result.problems + result.diff)


def test_a_sample_case_that_differs_shows_a_segment_diff(tmp_path: Path) -> None:
    folder = tmp_path / "purchase-order-to-orders05.samples"
    folder.mkdir()
    source = IDOC / "purchase-order-to-orders05.samples"
    (folder / "m.input.json").write_text((source / "megamart.input.json").read_text())
    (folder / "m.expected.xml").write_text(
        (source / "megamart.expected.xml").read_text().replace("<VPREI>9.50</VPREI>", "<VPREI>9.75</VPREI>")
    )
    [case] = sample_cases(tmp_path / "purchase-order-to-orders05.yaml")[0]
    result = run_case(mapping("purchase-order-to-orders05"), case)
    assert not result.ok and not result.problems
    assert "-  E1EDP01 POSEX=1 MENGE=24 MENEE=EA VPREI=9.75" in result.diff
    assert "+  E1EDP01 POSEX=1 MENGE=24 MENEE=EA VPREI=9.50" in result.diff


def test_map_test_finds_and_runs_the_idoc_cases() -> None:
    result = CliRunner().invoke(main, ["map", "test", str(IDOC)])
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") == 13
    assert "ship-notice-to-shpcon.delvry07.yaml shpcon" in result.output


# -- round trips ---------------------------------------------------------------------------------

ROUND_TRIPS = {
    "orders05_lumber_3pl.xml": ("orders05-to-purchase-order", "purchase-order-to-orders05"),
    "orders05_megamart.xml": ("orders05-to-purchase-order", "purchase-order-to-orders05"),
    "delvry07_desadv.xml": ("delvry07-to-ship-notice", "ship-notice-to-desadv.delvry07"),
    "delvry07_shpcon.xml": ("delvry07-to-ship-notice", "ship-notice-to-shpcon.delvry07"),
    "invoic02_megamart.xml": ("invoic02-to-invoice", "invoice-to-invoic02"),
    "wmmbid02_blueriver.xml": ("wmmbid02-to-goods-movement", "goods-movement-to-wmmbid02"),
}
# Golden files read one way only: SAP sends a SHPORD, erpbridge never writes one.
ONE_WAY = {
    "delvry07_shpord.xml": "shpord.delvry07-to-warehouse-shipping-order",
}
ORDERS05_GAPS = (
    {("E1EDK01", f) for f in ("HWAER", "WKURS", "ZTERM", "BSART", "RECIPNT_NO")}
    | {("E1EDKA1", f) for f in ("PAORG", "ORGTX", "PAGRU", "SPRAS", "SPRAS_ISO")}
    | {("E1EDK02", "UZEIT")}
    | {
        ("E1EDP01", f)
        for f in (
            "ACTION",
            "PSTYP",
            "BMNG2",
            "PMENE",
            "PEINH",
            "NETWR",
            "NTGEW",
            "GEWEI",
            "MATKL",
            "BPUMN",
            "BPUMZ",
            "BRGEW",
            "WERKS",
            "LGORT",
        )
    }
    | {("E1EDP20", "AMENG")}
)
GAPS: dict[str, set[tuple[str, str]]] = {
    "orders05_lumber_3pl.xml": ORDERS05_GAPS,
    "orders05_megamart.xml": set(),
    # the planned goods issue (ship_date is the actual one), the plant, the PO line of a delivery item
    "delvry07_desadv.xml": {("E1EDT13", "NTANF"), ("E1EDL24", "WERKS"), ("E1EDL41", "POSEX")},
    "delvry07_shpcon.xml": set(),
    # local currency, SAP's payment terms key, the PO line of a billing item
    "invoic02_megamart.xml": {("E1EDK01", "HWAER"), ("E1EDK01", "ZTERM"), ("E1EDP02", "ZEILE")},
    # the goods receipt's movement indicator (B: against a purchase order), which SAP's posting
    # wants and the golden file (as a WMS sent it) leaves to SAP
    "wmmbid02_blueriver.xml": {("E1MBXYI", "KZBEW")},
}
# segments with no canonical home at all: line partners, Lumber Liquidators' extension segment
WHOLE_SEGMENTS = {"orders05_lumber_3pl.xml": {"E1EDPA1", "_-LUMBERL_-PO_SHIP_WINDOW"}}


def test_every_golden_file_is_covered() -> None:
    assert {p.name for p in GOLDEN.glob("*.xml")} == set(ROUND_TRIPS) | set(ONE_WAY)


def flat(tree: dict[str, Any], skip: set[str] = frozenset()) -> list[tuple[str, dict[str, str]]]:  # type: ignore[assignment]
    """Every segment in order (below skipped segments too), with its fields."""
    out: list[tuple[str, dict[str, str]]] = []

    def walk(name: str, seg: dict[str, Any]) -> None:
        if name in skip:
            return
        out.append((name, {k: v for k, v in seg.items() if isinstance(v, str)}))
        for k, v in seg.items():
            for child in v if isinstance(v, list) else [v] if isinstance(v, dict) else []:
                walk(k, child)

    for idoc in tree["idocs"]:
        for k, v in idoc.items():
            for seg in v if isinstance(v, list) else [v]:
                walk(k, seg)
    return out


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_idoc_to_canonical_to_idoc_gives_back_every_segment(name: str) -> None:
    inbound, outbound = (mapping(m) for m in ROUND_TRIPS[name])
    read = decode((GOLDEN / name).read_bytes()).document
    source = decode(encode(read)).document  # the writer alone: segments in the type's order
    made = []
    for idoc in read["idocs"]:
        doc = inbound.apply(idoc, idoc_meta(idoc))
        assert doc.ok, [str(f) for f in doc.findings]
        from_json(inbound.target, doc.document)
        back = outbound.apply(doc.document)
        assert back.ok, [str(f) for f in back.findings]
        assert back.document is not None
        made.append({**back.document, "EDI_DC40": idoc["EDI_DC40"]})  # the control record is the connector's
    written = write({"root": read["root"], "idocs": made})
    assert written.errors == [] and written.data is not None
    produced = flat(decode(written.data).document)
    wanted = flat(source, WHOLE_SEGMENTS.get(name, set()))
    assert [s for s, _ in produced] == [s for s, _ in wanted]
    differing = set()
    for (seg, was), (_, now) in zip(wanted, produced, strict=True):
        differing |= {(seg, f) for f in set(was) | set(now) if was.get(f) != now.get(f)}
    assert differing == GAPS[name]


@pytest.mark.parametrize("name", sorted(ONE_WAY))
def test_one_way_goldens_map_without_findings(name: str) -> None:
    m = mapping(ONE_WAY[name])
    idocs = decode((GOLDEN / name).read_bytes()).document["idocs"]
    assert idocs and all(matches(m.source, i) for i in idocs)
    for idoc in idocs:
        result = m.apply(idoc, idoc_meta(idoc))
        assert result.ok, [str(f) for f in result.findings]


def test_a_shpcon_from_the_945_ship_notice_reports_picks_packs_and_goods_issue() -> None:
    # the ShipNotice the shipped 945 mapping makes: the depositor's order number is SAP's delivery
    expected = json.loads(
        (ROOT / "mappings/x12/945-to-ship-notice.samples/945_packs.expected.json").read_text()
    )
    notice = expected[0]
    notice["references"] = [{"kind": "sales_order", "value": "0080001234"}]
    result = mapping("ship-notice-to-shpcon.delvry07").apply(notice)
    assert result.ok, [str(f) for f in result.findings]
    doc = result.document
    assert doc is not None
    head = doc["E1EDL20"]
    assert head["VBELN"] == "0080001234" and head["LIFEX"] == "SHP2026031602"
    assert [q["QUALF"] for q in head["E1EDL18"]] == ["PIC", "PGI"]
    assert head["E1EDT13"] == [{"QUALF": "006", "ISDD": "20260316"}]
    assert [(i["POSNR"], i["LFIMG"]) for i in head["E1EDL24"]] == [
        ("1", "12"),
        ("2", "12"),
        ("3", "6"),
        ("4", "4"),
    ]
    assert [(hu["EXIDV"], hu.get("EXIDV2")) for hu in head["E1EDL37"]] == [
        ("006141410000000012", None),
        ("006141410000000029", "1Z999AA10123456784"),
    ]
    data = encode({**doc, "EDI_DC40": {**doc["EDI_DC40"], "DOCNUM": "1"}})
    assert decode(data).errors == []


# -- findings ------------------------------------------------------------------------------------


def test_a_canonical_value_too_long_for_sap_is_a_writer_finding_naming_idoc_segment_and_field() -> None:
    po = json.loads((IDOC / "purchase-order-to-orders05.samples" / "megamart.input.json").read_text())[0]
    po["department"] = "DEPT-0038"
    made = mapping("purchase-order-to-orders05").apply(po)
    assert made.ok and made.document is not None
    result = write({**made.document, "EDI_DC40": {**made.document["EDI_DC40"], "DOCNUM": "17"}})
    assert result.data is None
    assert [str(f) for f in result.errors] == [
        "IDoc 1 (DOCNUM 0000000000000017), segment E1EDK01[1], field ABTNR: ABTNR has 9 characters "
        "('DEPT-0038'); E1EDK01-ABTNR holds at most 4"
    ]


def test_an_unknown_partner_function_names_the_code_list() -> None:
    idoc = decode((GOLDEN / "orders05_megamart.xml").read_bytes()).document["idocs"][0]
    idoc["E1EDKA1"][0]["PARVW"] = "ZX"
    result = mapping("orders05-to-purchase-order").apply(idoc)
    [finding] = result.findings
    assert "'ZX' is not in the code column of" in finding.message and "idoc_party_role.csv" in finding.message


def test_a_shpcon_without_sap_delivery_number_is_a_finding() -> None:
    notice = json.loads((IDOC / "ship-notice-to-shpcon.delvry07.samples" / "shpcon.input.json").read_text())
    notice["references"] = []
    [finding] = mapping("ship-notice-to-shpcon.delvry07").apply(notice).findings
    assert "SHPCON needs SAP's delivery number" in finding.message


# -- engine features -----------------------------------------------------------------------------


def test_groupby_keeps_first_seen_order_and_lone_items() -> None:
    items = [{"n": "2", "q": 1}, {"n": "1", "q": 2}, {"q": 9}, {"n": "2", "q": 3}]
    assert groupby(items, "n") == [[items[0], items[3]], [items[1]], [items[2]]]
    assert groupby(None, "n") == [] and groupby({"n": "1"}, "n") == [[{"n": "1"}]]


def test_a_code_list_may_name_its_first_column_code(tmp_path: Path) -> None:
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "colour.csv").write_text("code,canonical\nRT,red\n")
    (tmp_path / "m.yaml").write_text(
        'source: idoc/ORDERS05\ntarget: idoc/ORDERS05\nfields:\n  a: $code("colour", x)\n  b: $tocode("colour", y)\n'
    )
    assert load_mapping(tmp_path / "m.yaml").apply({"x": "RT", "y": "red"}).document == {
        "a": "red",
        "b": "RT",
    }
    (tmp_path / "codes" / "colour.csv").write_text("sap,canonical\nRT,red\n")
    with pytest.raises(Exception, match="x12,canonical or code,canonical"):
        load_mapping(tmp_path / "m.yaml")
