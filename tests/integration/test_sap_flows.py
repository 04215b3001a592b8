"""Issue 5's flows end to end, in-process (``pipeline.Runner`` on a SQLite ledger) against real peers:
MEGAMART's server and SAP's file port are a real OpenSSH sshd on 127.0.0.1, the S/4HANA OData
services are SAP's mock server (tests/sap/conftest.py).

- A retailer's 850 over SFTP becomes an SAP sales order: an ORDERS05 in the file port, its DOCNUM
  from the ledger, read back with the codec against the PO; or a sales order created over OData,
  once, however often the PO comes again or is replayed.
- A SHPORD (DELVRY07) that SAP drops in its outbound port becomes a pick request (a
  WarehouseShippingOrder) in the WMS's folder; the WMS's confirmation (a ShipNotice) becomes a
  SHPCON for SAP and an 856 for the retailer, from one file; the ledger links them.
- Hostile or broken IDoc XML is quarantined with its reason; the pass goes on.
"""

from __future__ import annotations

import getpass
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpbridge.cli.main import main as cli
from erpbridge.config import load_config
from erpbridge.connectors.sap_odata import SALES_ORDER_SERVICE
from erpbridge.formats.idoc import decode as decode_idoc
from erpbridge.formats.x12 import build_acks
from erpbridge.formats.x12 import decode as decode_x12
from erpbridge.formats.x12 import read as read_x12
from erpbridge.ledger import Direction, Ledger, Relation, State
from erpbridge.mapping import load_mapping
from erpbridge.mapping.meta import idoc_meta, x12_meta
from erpbridge.pipeline import Runner, Summary
from erpbridge.pipeline.replay import replay
from erpbridge.pipeline.warehouse import PICK_REQUEST
from tests.conftest import ROOT
from tests.integration.sites import BLUERIVER3PL, ERPBRIDGE, S4_ODATA, WMS_FOLDER, megamart, sftp_endpoint
from tests.integration.test_sftp_flow import isa13_of, po_number_of, purchase_order
from tests.sap.conftest import PASSWORD, USER, SapServer, sap_client, sap_server  # noqa: F401
from tests.transports.conftest import Area, SshServer, area, sftp_root, ssh_keys, sshd  # noqa: F401

IDOC_SAMPLES = ROOT / "tests" / "idoc_samples"
SHPORD = IDOC_SAMPLES / "delvry07_shpord.xml"

CONFIG = (
    ERPBRIDGE
    + megamart("megamart_sftp")
    + BLUERIVER3PL
    + sftp_endpoint("megamart_sftp")
    + sftp_endpoint("s4_sftp")  # SAP's file port directories, on an SFTP server
    + """
[endpoints.s4_port]
type = "sap_idoc"
port = "file"
transport = "s4_sftp"
folder = "{prefix}/s4/in"

[endpoints.s4_port.control]
SNDPOR = "ERPBRIDGE"
SNDPRT = "LS"
SNDPRN = "ERPBRIDGE"
RCVPOR = "SAPS4P"
RCVPRT = "LS"
RCVPRN = "S4PCLNT100"
MANDT = "100"

[endpoints.s4_port.mappings]
PurchaseOrder = "mappings/idoc/purchase-order-to-orders05.yaml"
ShipNotice = "mappings/idoc/ship-notice-to-shpcon.delvry07.yaml"
"""
    + S4_ODATA
    + WMS_FOLDER
    + """
[flows.megamart_orders_in]
direction = "in"
partner = "megamart"
source = {{ folder = "{prefix}/megamart/inbound", archive = "{prefix}/megamart/archive" }}
target = {{ endpoint = "{orders_to}" }}
acks = {{ folder = "{prefix}/megamart/outbound" }}
documents = ["x12/850", "x12/997"]
every = "1m"

[flows.shpord_in]
direction = "in"
partner = "blueriver3pl"
source = {{ endpoint = "s4_port", folder = "{prefix}/s4/out", archive = "{prefix}/s4/out/archive" }}
target = {{ endpoint = "wms", folder = "inbound/pick-requests" }}
documents = ["idoc/SHPORD.DELVRY07"]
every = "1m"

[flows.confirmations_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/confirmations", archive = "archive/confirmations" }}
target = {{ folder = "{prefix}/megamart/outbound" }}
documents = {{ ShipNotice = "x12/856" }}
csv_mapping = "mappings/wms/ship-notice-csv-to-ship-notice.yaml"
also_deliver = [{{ endpoint = "s4_port" }}]
every = "1m"
"""
)


@dataclass
class Site:
    root: Path
    area: Area

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    def sftp(self, *parts: str) -> Path:
        """A folder on the SFTP server's disk (MEGAMART's, or SAP's port)."""
        return self.area.disk.joinpath(*parts)

    def wms(self, *parts: str) -> Path:
        return self.root.joinpath("var", "wms", *parts)

    def runner(self) -> tuple[Runner, Ledger]:
        config = load_config(self.config)
        ledger = Ledger.open(config.ledger.reveal_url())
        return Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test:1", settle=True), ledger

    def run(self) -> Summary:
        runner, ledger = self.runner()
        try:
            return runner.run_once()
        finally:
            ledger.close()


def make_site(
    root: Path,
    place: Area,
    server: SshServer,
    *,
    orders_to: str = "s4_port",
    odata: tuple[str, str] = ("http://127.0.0.1:1", "100"),
) -> Site:
    for folder in ("s4/in", "s4/out", "s4/out/archive"):
        (place.disk / folder).mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True)
    (root / "var").mkdir()
    text = CONFIG.format(
        port=server.port,
        user=getpass.getuser(),
        known_hosts=server.known_hosts("known_hosts"),
        private_key=server.keys.client,
        prefix=place.prefix,
        orders_to=orders_to,
        odata_url=odata[0],
        sap_client=odata[1],
        sap_user=USER,
    )
    (root / "config.toml").write_text(text, encoding="utf-8")
    return Site(root, place)


@pytest.fixture
def site(tmp_path: Path, area: Area, sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:  # noqa: F811
    monkeypatch.setenv("S4_TEST_PASSWORD", PASSWORD)
    yield make_site(tmp_path / "site", area, sshd)


def sent_po(n: int) -> dict[str, Any]:
    """The canonical PurchaseOrder of the 850 MEGAMART sends (the shipped 850 mapping)."""
    inter = decode_x12(purchase_order(n)).document["interchanges"][0]
    group = inter["groups"][0]
    tset = group["sets"][0]
    result = load_mapping(ROOT / "mappings" / "x12" / "850-to-purchase-order.yaml").apply(
        tset, x12_meta(inter, group, tset, "megamart")
    )
    assert result.document is not None
    return dict(result.document)


def lines_of(po: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(str(line["quantity"]), line["unit"], line["product_ids"]["vendor_sku"]) for line in po["lines"]]


def files(folder: Path) -> list[str]:
    return (
        sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != ".gitkeep")
        if folder.is_dir()
        else []
    )


def only_flows(summary: Summary, *names: str) -> dict[tuple[str, str], int]:
    return {k: v for k, v in summary.counts.items() if k[0] in names and v}


# -- a: the retailer's 850 becomes an SAP sales order ---------------------------------------------


def test_an_850_over_sftp_becomes_an_orders05_in_the_file_port(site: Site) -> None:
    (site.sftp("megamart", "inbound") / "po-1.edi").write_bytes(purchase_order(1))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "received"): 1,
        ("megamart_orders_in", "ack_sent"): 1,
        ("megamart_orders_in", "delivered"): 1,
    }
    [name] = files(site.sftp("s4", "in"))
    assert name == "ORDERS_0000000000000001.xml"
    decoded = decode_idoc((site.sftp("s4", "in") / name).read_bytes())
    assert decoded.errors == []
    [idoc] = decoded.document["idocs"]
    control = idoc["EDI_DC40"]
    assert (
        control["DOCNUM"],
        control["MESTYP"],
        control["IDOCTYP"],
        control["RCVPRN"],
        control["SNDPOR"],
    ) == (
        "0000000000000001",
        "ORDERS",
        "ORDERS05",
        "S4PCLNT100",
        "ERPBRIDGE",
    )
    # read back with the codec and the ORDERS05 mapping: the PO MEGAMART sent, line by line
    sent = sent_po(1)
    back = load_mapping(ROOT / "mappings" / "idoc" / "orders05-to-purchase-order.yaml").apply(
        idoc, idoc_meta(idoc, "megamart")
    )
    assert back.document is not None
    assert back.document["po_number"] == sent["po_number"] == po_number_of(1)
    assert lines_of(back.document) == lines_of(sent) and len(sent["lines"]) > 1
    assert files(site.sftp("megamart", "archive")) == ["po-1.edi"]
    assert len(files(site.sftp("megamart", "outbound"))) == 1  # our 997
    # the ledger: 850 archived, the ORDERS05 with its DOCNUM derived from it
    _, ledger = site.runner()
    with ledger:
        [po] = ledger.find(direction=Direction.IN, kind="x12")
        [orders] = ledger.find(direction=Direction.OUT, kind="idoc/ORDERS.ORDERS05")
        assert po.state == State.ARCHIVED and po.isa13 == isa13_of(1)
        assert (orders.state, orders.docnum, orders.partner) == (
            State.ARCHIVED,
            "0000000000000001",
            "megamart",
        )
        assert [(link.from_document, link.relation, link.to_document) for link in ledger.links(po.id)] == [
            (ack.id, Relation.ACKNOWLEDGES, po.id) for ack in ledger.find(kind="x12/997")
        ] + [(orders.id, Relation.DERIVED_FROM, po.id)]
        deliver = [e for e in ledger.events(po.id) if e.step == "deliver"]
        assert deliver[0].detail["references"] == [name] and deliver[0].detail["to"] == "s4_port"
        assert ledger.payload(orders.payload_sha256 or "") == (site.sftp("s4", "in") / name).read_bytes()
    # nothing more: a second pass, and the same file again from the partner
    assert only_flows(site.run(), "megamart_orders_in") == {}
    (site.sftp("megamart", "inbound") / "po-1-again.edi").write_bytes(purchase_order(1))
    assert only_flows(site.run(), "megamart_orders_in") == {("megamart_orders_in", "duplicate"): 1}
    assert files(site.sftp("s4", "in")) == [name]


def test_ledger_show_names_the_docnum(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    (site.sftp("megamart", "inbound") / "po-2.edi").write_bytes(purchase_order(2))
    site.run()
    _, ledger = site.runner()
    with ledger:
        [orders] = ledger.find(direction=Direction.OUT, kind="idoc/ORDERS.ORDERS05")
    with pytest.raises(SystemExit) as done:
        cli(["ledger", "show", orders.id[:8], "--config", str(site.config)])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "DOCNUM 0000000000000001" in shown and "derived_from" in shown
    with pytest.raises(SystemExit):
        cli(["ledger", "list", "--config", str(site.config)])
    assert "DOCNUM 0000000000000001" in capsys.readouterr().out
    # an IDoc is not replayed on its own: the message says what to replay instead
    with pytest.raises(SystemExit) as refused:
        cli(["replay", orders.id[:8], "--config", str(site.config)])
    assert refused.value.code == 2
    assert "IDocs we sent to SAP are not replayed on their own" in capsys.readouterr().err


def test_an_850_over_sftp_becomes_one_sales_order_over_odata(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    sap_server: SapServer,  # noqa: F811
    sap_client: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S4_TEST_PASSWORD", PASSWORD)
    site = make_site(tmp_path / "site", area, sshd, orders_to="s4", odata=(sap_server.url, sap_client))
    (site.sftp("megamart", "inbound") / "po-3.edi").write_bytes(purchase_order(3))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in")[("megamart_orders_in", "delivered")] == 1
    po = po_number_of(3)

    def orders() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = sap_server.get(
            SALES_ORDER_SERVICE,
            "A_SalesOrder",
            sap_client,
            **{"$filter": f"PurchaseOrderByCustomer eq '{po}'", "$expand": "to_Item"},
        )["results"]
        return found

    [order] = orders()
    assert order["SoldToParty"] == "17100001"
    items = order["to_Item"]["results"]
    assert [(i["Material"], float(i["RequestedQuantity"])) for i in items] == [
        (line["product_ids"]["vendor_sku"], float(line["quantity"])) for line in sent_po(3)["lines"]
    ]
    runner, ledger = site.runner()
    with ledger:
        [doc] = ledger.find(direction=Direction.IN, kind="x12")
        [deliver] = [e for e in ledger.events(doc.id) if e.step == "deliver"]
        assert deliver.detail["references"] == [order["SalesOrder"]] and deliver.detail["repeats"] == 0
        # a second pass does nothing; a replay finds the order and creates no second one
        assert only_flows(runner.run_once(), "megamart_orders_in") == {}
        replayed = replay(runner, doc.id, reason="SAP lost it?")
        assert replayed.created and replayed.files == (order["SalesOrder"],)  # the same order, found
    assert [o["SalesOrder"] for o in orders()] == [order["SalesOrder"]]


# -- b and c: SHPORD -> pick request; the WMS's confirmation -> SHPCON and 856 ------------------


def confirmation_for(pick: dict[str, Any]) -> dict[str, Any]:
    """What the WMS answers to a pick request: everything picked, in two cartons (SSCC-18), the
    delivery number SAP sent as the reference SAP needs back."""
    lines = pick["lines"]
    cartons = [lines[: len(lines) // 2], lines[len(lines) // 2 :]]
    return {
        "kind": "ShipNotice",
        "shipment_id": "SHP-" + pick["order_number"],
        "ship_date": "2026-03-16",
        "notice_date": "2026-03-16",
        "notice_time": "14:30:00",
        "purpose": "original",
        "bill_of_lading": "BRL26031602",
        "carrier": {"scac": "UPSN", "transport_method": "private_parcel"},
        "package_count": len(cartons),
        "references": [{"kind": "delivery", "value": pick["order_number"]}],
        "parties": [
            {"role": "ship_to", "id": "0042", "id_kind": "assigned_by_buyer", "name": "MEGAMART DC 0042"},
            {"role": "ship_from", "name": "BLUE RIVER LOGISTICS"},
        ],
        "orders": [
            {
                "po_number": pick["po_number"],
                "packs": [
                    {
                        "sscc": sscc,
                        "items": [
                            {
                                "product_ids": {"vendor_sku": line["product_ids"]["vendor_sku"]},
                                "quantity": line["quantity"],
                                "unit": line["unit"],
                                "line_number": line["line_number"],
                            }
                            for line in carton
                        ],
                    }
                    for carton, sscc in zip(
                        cartons, ("006141410000000012", "006141410000000029"), strict=True
                    )
                ],
            }
        ],
    }


def test_shpord_becomes_a_pick_request_and_its_confirmation_a_shpcon_and_an_856(site: Site) -> None:
    shutil.copy(SHPORD, site.sftp("s4", "out") / "SHPORD_0000000064200001.xml")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "shpord_in") == {("shpord_in", "received"): 1, ("shpord_in", "delivered"): 1}
    [pick_name] = files(site.wms("inbound", "pick-requests"))
    pick = json.loads((site.wms("inbound", "pick-requests") / pick_name).read_text())
    sap = decode_idoc(SHPORD.read_bytes()).document["idocs"][0]
    assert pick["kind"] == "WarehouseShippingOrder"
    assert pick["order_number"] == sap["E1EDL20"]["VBELN"] == "0080001234"
    assert [
        (line["line_number"], line["product_ids"]["vendor_sku"], Decimal(line["quantity"]))
        for line in pick["lines"]
    ] == [(item["POSNR"], item["MATNR"], Decimal(item["LFIMG"])) for item in sap["E1EDL20"]["E1EDL24"]]
    assert files(site.sftp("s4", "out")) == [] and files(site.sftp("s4", "out", "archive")) == [
        "SHPORD_0000000064200001.xml"
    ]
    # the warehouse picks and confirms: one file, to SAP and to MEGAMART
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True, exist_ok=True)
    (confirmations / "conf-1.json").write_text(json.dumps(confirmation_for(pick)))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "confirmations_out") == {
        ("confirmations_out", "delivered"): 1,
        ("confirmations_out", "sent"): 1,
    }
    [shpcon_name] = files(site.sftp("s4", "in"))
    [idoc] = decode_idoc((site.sftp("s4", "in") / shpcon_name).read_bytes()).document["idocs"]
    assert (idoc["EDI_DC40"]["MESTYP"], idoc["EDI_DC40"]["IDOCTYP"], idoc["EDI_DC40"]["DOCNUM"]) == (
        "SHPCON",
        "DELVRY07",
        "0000000000000001",
    )
    assert shpcon_name == "SHPCON_0000000000000001.xml"
    assert idoc["E1EDL20"]["VBELN"] == "0080001234"  # SAP's delivery, back
    picked = {i["POSNR"]: Decimal(i["LFIMG"]) for i in idoc["E1EDL20"]["E1EDL24"]}
    assert picked == {line["line_number"]: Decimal(line["quantity"]) for line in pick["lines"]}
    assert sorted(hu["EXIDV"] for hu in idoc["E1EDL20"]["E1EDL37"]) == [
        "006141410000000012",
        "006141410000000029",
    ]
    [edi] = [n for n in files(site.sftp("megamart", "outbound")) if n.startswith("856_")]
    [inter] = decode_x12((site.sftp("megamart", "outbound") / edi).read_bytes()).document["interchanges"]
    [tset] = inter["groups"][0]["sets"]
    assert tset["BSN"]["BSN02"] == "SHP-0080001234"
    assert files(confirmations) == [] and files(site.wms("archive", "confirmations")) == ["conf-1.json"]
    # the ledger: SHPORD (SAP's DOCNUM) delivered as the pick request; the SHPCON derived from the 856
    _, ledger = site.runner()
    with ledger:
        [shpord] = ledger.find(direction=Direction.IN, kind="idoc")
        assert (shpord.state, shpord.docnum, shpord.partner) == (
            State.ARCHIVED,
            sap["EDI_DC40"]["DOCNUM"].zfill(16),
            "blueriver3pl",
        )
        [deliver] = [e for e in ledger.events(shpord.id) if e.step == "deliver"]
        assert deliver.detail["references"] == [pick_name] and deliver.detail["to"] == "wms"
        [asn] = ledger.find(direction=Direction.OUT, kind="x12/856")
        [shpcon] = ledger.find(direction=Direction.OUT, kind="idoc/SHPCON.DELVRY07")
        [request] = ledger.find(direction=Direction.OUT, kind=PICK_REQUEST)
        assert (shpcon.state, shpcon.docnum) == (State.ARCHIVED, "0000000000000001")
        # the pick request: the JSON the WMS got, recorded under the PO, done once delivered
        assert (request.state, request.business_key, request.file_name, request.partner) == (
            State.ARCHIVED,
            pick["po_number"],
            pick_name,
            "blueriver3pl",
        )
        assert json.loads(ledger.payload(request.payload_sha256 or "")) == pick
        # the whole chain: SHPORD <- pick request <- confirmation (the 856 recorded for the WMS's
        # file) <- SHPCON, and the SHPCON answers the SHPORD
        chain = {
            (link.from_document, link.relation, link.to_document)
            for d in (shpord, request, asn, shpcon)
            for link in ledger.links(d.id)
        }
        assert chain == {
            (request.id, Relation.DERIVED_FROM, shpord.id),
            (asn.id, Relation.ANSWERS, request.id),
            (shpcon.id, Relation.DERIVED_FROM, asn.id),
            (shpcon.id, Relation.ANSWERS, shpord.id),
        }
        assert asn.file_name == "conf-1.json"  # the confirmation the 856 was made from
        assert [e.detail["references"] for e in ledger.events(asn.id) if e.step == "also_deliver"] == [
            [shpcon_name]
        ]
    # nothing twice: the same confirmation again is a duplicate, and SAP gets no second SHPCON
    (confirmations / "conf-1-again.json").write_text(json.dumps(confirmation_for(pick)))
    again = site.run()
    assert only_flows(again, "confirmations_out") == {("confirmations_out", "duplicate"): 1}
    assert files(site.sftp("s4", "in")) == [shpcon_name]


def test_when_sap_s_port_is_down_the_confirmation_waits_and_nothing_goes_half(site: Site) -> None:
    pick = json.loads(
        (
            ROOT
            / "mappings"
            / "idoc"
            / "shpord.delvry07-to-warehouse-shipping-order.samples"
            / "shpord.expected.json"
        ).read_text()
    )
    pick = pick[0] if isinstance(pick, list) else pick
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True)
    (confirmations / "conf-2.json").write_text(json.dumps(confirmation_for(pick)))
    site.sftp("s4", "in").rmdir()  # SAP's inbound directory is not there (the share is not mounted)
    summary = site.run()
    assert not summary.failed
    assert only_flows(summary, "confirmations_out") == {("confirmations_out", "waiting"): 1}
    assert any("will retry deliver" in p for p in summary.problems), summary.problems
    assert files(confirmations) == ["conf-2.json"]  # the file stays
    assert [n for n in files(site.sftp("megamart", "outbound")) if n.startswith("856_")] == []  # no 856 alone
    site.sftp("s4", "in").mkdir()
    summary = site.run()
    assert only_flows(summary, "confirmations_out") == {
        ("confirmations_out", "delivered"): 1,
        ("confirmations_out", "sent"): 1,
    }
    assert files(site.sftp("s4", "in")) == ["SHPCON_0000000000000001.xml"]  # the DOCNUM of the first try
    assert len([n for n in files(site.sftp("megamart", "outbound")) if n.startswith("856_")]) == 1


# -- hostile and broken IDocs ---------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<DELVRY07><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>&lol3;</TABNAM></EDI_DC40></IDOC></DELVRY07>
"""


def test_hostile_and_broken_idocs_are_quarantined_with_their_reason(site: Site) -> None:
    secret = site.root / "secret.txt"
    secret.write_text("TOP-SECRET-4471")
    out = site.sftp("s4", "out")
    (out / "a_laughs.xml").write_bytes(BILLION_LAUGHS)
    (out / "b_external.xml").write_bytes(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        '<DELVRY07><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>&e;</TABNAM></EDI_DC40></IDOC></DELVRY07>'.encode()
    )
    (out / "c_not_xml.xml").write_bytes(b"ISA*00*this is X12, not an IDoc~")
    too_long = SHPORD.read_text().replace("<VBELN>0080001234</VBELN>", "<VBELN>0080001234567</VBELN>", 1)
    (out / "d_too_long.xml").write_text(too_long)
    (out / "e_orders.xml").write_bytes((IDOC_SAMPLES / "orders05_megamart.xml").read_bytes())
    shutil.copy(SHPORD, out / "f_good.xml")
    summary = site.run()
    assert summary.failed
    assert only_flows(summary, "shpord_in") == {
        ("shpord_in", "received"): 6,
        ("shpord_in", "quarantined"): 5,
        ("shpord_in", "delivered"): 1,
    }
    reasons = {
        p.name.removesuffix(".reason.txt"): p.read_text()
        for p in (site.root / "var" / "quarantine" / "shpord_in").glob("*.reason.txt")
    }
    assert sorted(reasons) == [
        "a_laughs.xml",
        "b_external.xml",
        "c_not_xml.xml",
        "d_too_long.xml",
        "e_orders.xml",
    ]
    assert reasons["a_laughs.xml"].startswith("validate: ") and "document type" in reasons["a_laughs.xml"]
    assert "document type" in reasons["b_external.xml"] and "TOP-SECRET" not in reasons["b_external.xml"]
    assert reasons["c_not_xml.xml"].startswith("validate: ")
    assert "VBELN has 13 characters" in reasons["d_too_long.xml"]
    assert reasons["e_orders.xml"].startswith("map: ") and "ORDERS.ORDERS05" in reasons["e_orders.xml"]
    assert "this flow takes idoc/SHPORD.DELVRY07" in reasons["e_orders.xml"]
    assert files(out) == []  # out of SAP's port folder: the ledger has each, the quarantine a copy
    assert len(files(site.wms("inbound", "pick-requests"))) == 1
    _, ledger = site.runner()
    with ledger:
        quarantined = ledger.find(direction=Direction.IN, states=[State.QUARANTINED])
        assert sorted(d.file_name or "" for d in quarantined) == sorted(reasons)
        assert all(d.last_error for d in quarantined)
        assert len(ledger.dead_letters()) == 5
    assert only_flows(site.run(), "shpord_in") == {}  # and the next pass has nothing to do


# -- a WMS confirmation CSV without SAP's delivery number ----------------------------------------

CSV_HEADER = (
    "shipment_id,shipped_at,carrier_scac,bol_number,ship_to_id,ship_to_name,warehouse,po_number,"
    "po_date,carton_sscc,po_line,sku,upc,description,qty_shipped,uom\n"
)


def confirmation_csv(shipment: str, po: str, lines: list[tuple[str, str, str, str]]) -> str:
    """A Blue River confirmation as its WMS exports it: one carton, items by PO line, no delivery."""
    rows = [
        f"{shipment},2026-03-16T14:30:00,UPSN,BOL-{shipment},0042,MEGAMART DC 0042,BRL-LOU1,{po},"
        f"2026-03-02,006141410000000043,{po_line},{sku},{upc},ITEM {sku},{qty},EA\n"
        for po_line, sku, upc, qty in lines
    ]
    return CSV_HEADER + "".join(rows)


def values_of(tree: Any, name: str) -> list[Any]:
    """Every value under key ``name`` in a JSON tree, in document order."""
    if isinstance(tree, dict):
        return [v for k, sub in tree.items() for v in ([sub] if k == name else values_of(sub, name))]
    if isinstance(tree, list):
        return [v for sub in tree for v in values_of(sub, name)]
    return []


def shpord_for(delivery: str, docnum: str) -> str:
    """The golden SHPORD for another delivery of the same PO (SAP split the order)."""
    text = SHPORD.read_text()
    return text.replace("<VBELN>0080001234</VBELN>", f"<VBELN>{delivery}</VBELN>").replace(
        "<DOCNUM>0000000000204711</DOCNUM>", f"<DOCNUM>{docnum}</DOCNUM>"
    )


def test_a_csv_confirmation_without_the_delivery_finds_its_open_pick_request(site: Site) -> None:
    shutil.copy(SHPORD, site.sftp("s4", "out") / "SHPORD_0000000000204711.xml")
    assert not site.run().failed
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True, exist_ok=True)
    # the WMS numbers items by PO line and knows nothing of SAP's delivery: found through the ledger
    lines = [
        ("1", "NW-TS-BLK-S", "061414110013", "12"),
        ("2", "NW-TS-BLK-M", "061414110020", "12"),
        ("3", "NW-HD-NVY-M", "061414120012", "6"),
        ("4", "NW-JG-GRY-M", "061414130011", "5"),  # one short
    ]
    (confirmations / "conf-a.csv").write_text(confirmation_csv("SHP-A", "4500012346", lines))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "confirmations_out") == {
        ("confirmations_out", "delivered"): 1,
        ("confirmations_out", "sent"): 1,
    }
    [shpcon_name] = files(site.sftp("s4", "in"))
    [idoc] = decode_idoc((site.sftp("s4", "in") / shpcon_name).read_bytes()).document["idocs"]
    assert idoc["E1EDL20"]["VBELN"] == "0080001234"  # filled in from the pick request
    assert {i["POSNR"]: Decimal(i["LFIMG"]) for i in idoc["E1EDL20"]["E1EDL24"]} == {
        "000010": Decimal(12),
        "000020": Decimal(12),
        "000030": Decimal(6),
        "000040": Decimal(5),
    }  # the delivery's items, by PO line
    assert {e["POSNR"] for hu in idoc["E1EDL20"]["E1EDL37"] for e in hu["E1EDL44"]} == {
        "000010",
        "000020",
        "000030",
        "000040",
    }
    [edi] = [n for n in files(site.sftp("megamart", "outbound")) if n.startswith("856_")]
    [inter] = decode_x12((site.sftp("megamart", "outbound") / edi).read_bytes()).document["interchanges"]
    assert values_of(inter, "LIN01") == ["1", "2", "3", "4"]  # the retailer keeps its PO lines
    _, ledger = site.runner()
    with ledger:
        [shpord] = ledger.find(direction=Direction.IN, kind="idoc")
        [request] = ledger.find(direction=Direction.OUT, kind=PICK_REQUEST)
        [asn] = ledger.find(direction=Direction.OUT, kind="x12/856")
        [shpcon] = ledger.find(direction=Direction.OUT, kind="idoc/SHPCON.DELVRY07")
        assert (asn.id, Relation.ANSWERS, request.id) in {
            (link.from_document, link.relation, link.to_document) for link in ledger.links(request.id)
        }
        assert (shpcon.id, Relation.ANSWERS, shpord.id) in {
            (link.from_document, link.relation, link.to_document) for link in ledger.links(shpord.id)
        }

    # the same PO again: its only pick request is confirmed, so there is nothing open to answer
    (confirmations / "conf-b.csv").write_text(confirmation_csv("SHP-B", "4500012346", lines[:1]))
    # a PO no SHPORD came for
    (confirmations / "conf-c.csv").write_text(confirmation_csv("SHP-C", "4500099999", lines[:1]))
    summary = site.run()
    assert only_flows(summary, "confirmations_out") == {("confirmations_out", "quarantined"): 2}
    reasons = {
        p.name.removesuffix(".reason.txt"): p.read_text()
        for p in (site.root / "var" / "quarantine" / "confirmations_out").glob("*.reason.txt")
    }
    assert "no open pick request for PO 4500012346" in reasons["conf-b.csv"]
    assert "deliveries 0080001234" in reasons["conf-b.csv"] and "confirmed already" in reasons["conf-b.csv"]
    assert "no open pick request for PO 4500099999" in reasons["conf-c.csv"]
    assert "no SHPORD for it came through erpbridge" in reasons["conf-c.csv"]
    assert files(site.sftp("s4", "in")) == [shpcon_name]  # no SHPCON, and no 856 alone
    assert len([n for n in files(site.sftp("megamart", "outbound")) if n.startswith("856_")]) == 1


def test_a_csv_confirmation_for_a_po_with_two_open_deliveries_is_refused(site: Site) -> None:
    out = site.sftp("s4", "out")
    shutil.copy(SHPORD, out / "SHPORD_0000000000204711.xml")
    (out / "SHPORD_0000000000204712.xml").write_text(shpord_for("0080001299", "0000000000204712"))
    assert not site.run().failed
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True, exist_ok=True)
    (confirmations / "conf-d.csv").write_text(
        confirmation_csv("SHP-D", "4500012346", [("1", "NW-TS-BLK-S", "061414110013", "12")])
    )
    summary = site.run()
    assert only_flows(summary, "confirmations_out") == {("confirmations_out", "quarantined"): 1}
    [reason] = (site.root / "var" / "quarantine" / "confirmations_out").glob("*.reason.txt")
    text = reason.read_text()
    assert "PO 4500012346 has 2 open pick requests (deliveries 0080001234, 0080001299)" in text
    assert "must name the delivery" in text
    assert files(site.sftp("s4", "in")) == []
    # the WMS's corrected file names the delivery (a JSON confirmation with the reference): it goes
    pick = json.loads(
        (
            site.wms("inbound", "pick-requests") / "WarehouseShippingOrder-blueriver3pl-0000000000204712.json"
        ).read_text()
    )
    (confirmations / "conf-d2.json").write_text(json.dumps(confirmation_for(pick)))
    summary = site.run()
    assert not summary.failed, summary.problems
    [name] = files(site.sftp("s4", "in"))
    [idoc] = decode_idoc((site.sftp("s4", "in") / name).read_bytes()).document["idocs"]
    assert idoc["E1EDL20"]["VBELN"] == "0080001299"


# -- SHPORD -> 940 to a 3PL over X12, and its 945 -> SHPCON ---------------------------------------

THREEPL_FLOWS = """
[flows.shpord_to_3pl]                 # SAP's SHPORDs for the deliveries the 3PL ships
direction = "in"
partner = "blueriver3pl"
source = {{ endpoint = "s4_port", folder = "{prefix}/s4/out3pl", archive = "{prefix}/s4/out3pl/archive" }}
target = {{ endpoint = "wms", folder = "handoff/940" }}
documents = ["idoc/SHPORD.DELVRY07"]
every = "1m"

[flows.orders_to_3pl]                 # each pick request goes on as a 940
direction = "out"
partner = "blueriver3pl"
source = {{ endpoint = "wms", folder = "handoff/940", archive = "archive/940" }}
target = {{ endpoint = "megamart_sftp", folder = "{prefix}/3pl/inbound" }}
documents = {{ WarehouseShippingOrder = "x12/940" }}
every = "1m"

[flows.advices_from_3pl]              # the 3PL's 997s and 945s: each 945 a SHPCON for SAP
direction = "in"
partner = "blueriver3pl"
source = {{ endpoint = "megamart_sftp", folder = "{prefix}/3pl/outbound", archive = "{prefix}/3pl/archive" }}
target = {{ endpoint = "s4_port" }}
acks = {{ endpoint = "megamart_sftp", folder = "{prefix}/3pl/inbound" }}
documents = ["x12/945", "x12/997"]
every = "1m"
"""

# What the 3PL answers after shipping delivery 0080001234 (PO 4500012346) in two cartons: a 945 as
# Blue River's guide writes it (an LX loop per carton with its MAN*GM, W12 loops with the PO line in
# N9*LI; the jogger shipped one short).
ADVICE_945 = (
    "ISA*00*          *00*          *ZZ*BLUERIVER3PL   *ZZ*NWOUTFITTERS   *260316*1720*U*00401*000000771*0*P*>~"
    "GS*SW*BLUERIVER3PL*NWOUTFITTERS*20260316*1720*8771*X*004010~"
    "ST*945*0001~"
    "W06*F*0080001234*20260316*SHP3PL0771**4500012346~"
    "N1*ST*MEGAMART DC 0042*92*0042~"
    "N1*SF*BLUE RIVER LOGISTICS*91*BRL-LOU~"
    "N9*BM*BRL26031677~"
    "G62*11*20260316~"
    "W27*U*UPSN*UPS GROUND*CC~"
    "LX*1~"
    "MAN*GM*00006141410000000012~"
    "W12*CC*12*12**EA*061414110013*VN*NW-TS-BLK-S~"
    "N9*LI*1~"
    "W12*CC*12*12**EA*061414110020*VN*NW-TS-BLK-M~"
    "N9*LI*2~"
    "LX*2~"
    "MAN*GM*00006141410000000029~"
    "W12*CC*6*6**EA*061414120012*VN*NW-HD-NVY-M~"
    "N9*LI*3~"
    "W12*CP*6*5*1*EA*061414130011*VN*NW-JG-GRY-M~"
    "N9*LI*4~"
    "W03*35*40.5*LB***2*CT~"
    "SE*21*0001~"
    "GE*1*8771~"
    "IEA*1*000000771~"
)


def test_shpord_goes_to_a_3pl_as_a_940_and_its_945_comes_back_as_a_shpcon(site: Site) -> None:
    with site.config.open("a", encoding="utf-8") as config:
        config.write(THREEPL_FLOWS.format(prefix=site.area.prefix))
    for folder in ("s4/out3pl/archive", "3pl/inbound", "3pl/outbound", "3pl/archive"):
        site.sftp(*folder.split("/")).mkdir(parents=True, exist_ok=True)
    shutil.copy(SHPORD, site.sftp("s4", "out3pl") / "SHPORD_0000000000204711.xml")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "shpord_to_3pl", "orders_to_3pl") == {
        ("shpord_to_3pl", "received"): 1,
        ("shpord_to_3pl", "delivered"): 1,
        ("orders_to_3pl", "sent"): 1,
    }
    [edi] = files(site.sftp("3pl", "inbound"))
    data = (site.sftp("3pl", "inbound") / edi).read_bytes()
    decoded = decode_x12(data)  # our own validator, as for any partner's file
    assert [f for f in decoded.findings if f.severity == "error"] == []
    [inter] = decoded.document["interchanges"]
    assert (inter["ISA"]["ISA08"].strip(), inter["groups"][0]["GS"]["GS01"]) == ("BLUERIVER3PL", "OW")
    [w940] = inter["groups"][0]["sets"]
    assert (w940["W05"]["W0502"], w940["W05"]["W0503"]) == ("0080001234", "4500012346")
    sap = decode_idoc(SHPORD.read_bytes()).document["idocs"][0]
    assert [
        (loop["LX"]["LX01"], Decimal(w01["W01"]["W0101"]), w01["W01"]["W0105"])
        for loop in w940["LX_loop"]
        for w01 in loop["W01_loop"]
    ] == [(str(int(i["POSNR"])), Decimal(i["LFIMG"]), i["MATNR"]) for i in sap["E1EDL20"]["E1EDL24"]]
    assert files(site.wms("handoff", "940")) == []  # the pick request went on and was archived

    # the 3PL acknowledges the 940 and ships: its 997 and 945
    ack = next(build_acks(read_x12(data), kind="997")).encode(datetime(2026, 3, 16, 17, 0, tzinfo=UTC))
    (site.sftp("3pl", "outbound") / "997_0771.edi").write_bytes(ack)
    (site.sftp("3pl", "outbound") / "945_0771.edi").write_text(ADVICE_945)
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "advices_from_3pl") == {
        ("advices_from_3pl", "received"): 2,
        ("advices_from_3pl", "ack_sent"): 1,  # our 997 for the 945 (none for a 997)
        ("advices_from_3pl", "ack_matched"): 1,
        ("advices_from_3pl", "delivered"): 1,
    }
    [shpcon_name] = files(site.sftp("s4", "in"))
    [idoc] = decode_idoc((site.sftp("s4", "in") / shpcon_name).read_bytes()).document["idocs"]
    assert idoc["EDI_DC40"]["MESTYP"] == "SHPCON" and idoc["E1EDL20"]["VBELN"] == "0080001234"
    assert {i["POSNR"]: Decimal(i["LFIMG"]) for i in idoc["E1EDL20"]["E1EDL24"]} == {
        "000010": Decimal(12),
        "000020": Decimal(12),
        "000030": Decimal(6),
        "000040": Decimal(5),
    }
    assert sorted(hu["EXIDV"] for hu in idoc["E1EDL20"]["E1EDL37"]) == [
        "006141410000000012",
        "006141410000000029",
    ]
    _, ledger = site.runner()
    with ledger:
        [shpord] = ledger.find(direction=Direction.IN, kind="idoc")
        [request] = ledger.find(direction=Direction.OUT, kind=PICK_REQUEST)
        [order_940] = ledger.find(direction=Direction.OUT, kind="x12/940")
        [advice] = [d for d in ledger.find(direction=Direction.IN, kind="x12") if d.isa13 == "000000771"]
        [shpcon] = ledger.find(direction=Direction.OUT, kind="idoc/SHPCON.DELVRY07")
        assert order_940.state == State.ACKNOWLEDGED  # the 3PL's 997
        chain = {
            (link.from_document, link.relation, link.to_document)
            for d in (shpord, request, order_940, advice, shpcon)
            for link in ledger.links(d.id)
            if link.relation != Relation.ACKNOWLEDGES
        }
        assert chain == {
            (request.id, Relation.DERIVED_FROM, shpord.id),
            (order_940.id, Relation.DERIVED_FROM, request.id),
            (advice.id, Relation.ANSWERS, request.id),
            (advice.id, Relation.ANSWERS, order_940.id),
            (shpcon.id, Relation.DERIVED_FROM, advice.id),
            (shpcon.id, Relation.ANSWERS, shpord.id),
        }


# -- replaying an IDoc received from SAP ----------------------------------------------------------

MOVEMENTS_FLOW = """
[flows.movements_to_sap]              # an IDoc flow whose target is SAP: its IDocs are not replayed
direction = "in"
partner = "blueriver3pl"
source = {{ endpoint = "s4_port", folder = "{prefix}/s4/outmb" }}
target = {{ endpoint = "s4_port" }}
documents = ["idoc/WMMBXY.WMMBID02"]
every = "1m"
"""


def test_a_shpord_is_replayed_on_its_own_as_a_new_pick_request(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SHPORD, site.sftp("s4", "out") / "SHPORD_0000000064200001.xml")
    assert not site.run().failed
    [first] = files(site.wms("inbound", "pick-requests"))
    runner, ledger = site.runner()
    with ledger:
        [shpord] = ledger.find(direction=Direction.IN, kind="idoc")
        done = replay(runner, shpord.id, reason="the WMS lost the pick request", key="ticket-1")
        assert done.created and done.target == "wms"
        [name] = done.files
        assert name.startswith(first.removesuffix(".json") + ".replay-") and name.endswith(".json")
        assert sorted(files(site.wms("inbound", "pick-requests"))) == sorted([first, name])
        again = json.loads((site.wms("inbound", "pick-requests") / name).read_text())
        assert again == json.loads((site.wms("inbound", "pick-requests") / first).read_text())
        # recorded: the replay replays the SHPORD, and its pick request is derived from the replay
        replayed = done.replay
        assert (replayed.kind, replayed.state) == ("replay", State.ARCHIVED)
        assert (replayed.id, Relation.REPLAYS, shpord.id) in {
            (link.from_document, link.relation, link.to_document) for link in ledger.links(shpord.id)
        }
        requests = ledger.find(direction=Direction.OUT, kind=PICK_REQUEST)
        assert len(requests) == 2
        assert {(link.relation, link.to_document) for r in requests for link in ledger.links(r.id)} == {
            (Relation.DERIVED_FROM, shpord.id),
            (Relation.DERIVED_FROM, replayed.id),
        }
        # the same key again: nothing more
        twice = replay(runner, shpord.id, key="ticket-1")
        assert not twice.created and twice.replay.id == replayed.id
        assert len(files(site.wms("inbound", "pick-requests"))) == 2
    # the confirmation still finds the delivery (the newest pick request) and answers the SHPORD
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True, exist_ok=True)
    (confirmations / "conf-r.json").write_text(json.dumps(confirmation_for(again)))
    assert not site.run().failed
    _, ledger = site.runner()
    with ledger:
        [shpcon] = ledger.find(direction=Direction.OUT, kind="idoc/SHPCON.DELVRY07")
        assert (shpcon.id, Relation.ANSWERS, shpord.id) in {
            (link.from_document, link.relation, link.to_document) for link in ledger.links(shpord.id)
        }
    # through the command line too
    with pytest.raises(SystemExit) as ok:
        cli(["replay", shpord.id[:8], "--config", str(site.config), "--reason", "again"])
    assert ok.value.code == 0 and "replayed" in capsys.readouterr().out
    assert len(files(site.wms("inbound", "pick-requests"))) == 3


def test_an_idoc_whose_flow_delivers_to_sap_is_not_replayed(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with site.config.open("a", encoding="utf-8") as config:
        config.write(MOVEMENTS_FLOW.format(prefix=site.area.prefix))
    site.sftp("s4", "outmb").mkdir(parents=True)
    shutil.copy(IDOC_SAMPLES / "wmmbid02_blueriver.xml", site.sftp("s4", "outmb") / "WMMBXY_1.xml")
    site.run()  # quarantined: the port has no mapping for GoodsMovement (done with, for a replay)
    _, ledger = site.runner()
    with ledger:
        [movement] = ledger.find(direction=Direction.IN, kind="idoc")
        assert movement.state == State.QUARANTINED
    with pytest.raises(SystemExit) as refused:
        cli(["replay", movement.id[:8], "--config", str(site.config)])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "flow movements_to_sap delivers this IDoc (WMMBXY.WMMBID02) to SAP (endpoint s4_port)" in err
    assert "could post twice" in err and "BD87" in err


# -- the brand's SAP sends the retailer its ASN and invoice: DESADV and INVOIC become 856 and 810 ----

FORWARD = """
[flows.sap_to_megamart]
direction = "in"
partner = "megamart"
source = {{ endpoint = "s4_port", folder = "{prefix}/s4/forward", archive = "{prefix}/s4/forward/archive" }}
target = {{ endpoint = "wms", folder = "forward/megamart" }}
documents = ["idoc/DESADV.DELVRY07", "idoc/INVOIC.INVOIC02"]
every = "1m"

[flows.megamart_asn_invoices_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "forward/megamart", archive = "archive/forward" }}
target = {{ folder = "{prefix}/megamart/outbound" }}
documents = {{ ShipNotice = "x12/856", Invoice = "x12/810" }}
every = "1m"
"""


def test_desadv_and_invoic_from_sap_become_the_retailers_856_and_810(site: Site) -> None:
    """SAP's DESADV and INVOIC (DELVRY07, INVOIC02) for MEGAMART: an inbound IDoc flow maps them to
    a ShipNotice and an Invoice in a folder, which an outbound flow reads (a chain) and sends to
    MEGAMART as an 856 and an 810, valid by our own validator (the MEGAMART overlay included)."""
    with site.config.open("a", encoding="utf-8") as f:
        f.write(FORWARD.format(prefix=site.area.prefix))
    forward = site.sftp("s4", "forward")
    (forward / "archive").mkdir(parents=True)
    shutil.copy(IDOC_SAMPLES / "delvry07_desadv.xml", forward / "DESADV_0000000000204712.xml")
    shutil.copy(IDOC_SAMPLES / "invoic02_megamart.xml", forward / "INVOIC_megamart.xml")
    first = site.run()
    assert not first.failed and not first.problems, first.problems
    second = site.run()  # the chain's second half reads what the first half wrote (or did already)
    assert not second.failed and not second.problems, second
    sent = {
        name: (site.sftp("megamart", "outbound") / name).read_bytes()
        for name in files(site.sftp("megamart", "outbound"))
    }
    sets = {}
    for name, data in sent.items():
        result = decode_x12(data)
        assert result.findings == [], (name, result.findings)
        [inter] = result.document["interchanges"]
        for group in inter["groups"]:
            for tset in group["sets"]:
                sets[tset["ST"]["ST01"]] = tset
    assert set(sets) == {"856", "810"}, sorted(sent)
    assert sets["856"]["BSN"]["BSN02"] == "0080001235"  # the delivery (DESADV E1EDL20 VBELN)
    assert sets["856"]["BSN"]["BSN03"] == "20260302"  # the IDoc's creation date (EDI_DC40 CREDAT)
    assert files(forward) == [] and sorted(files(forward / "archive")) == [
        "DESADV_0000000000204712.xml",
        "INVOIC_megamart.xml",
    ]
    _runner, ledger = site.runner()
    with ledger:
        idocs = {d.id: d for d in ledger.find(direction=Direction.IN, kind="idoc")}
        assert len(idocs) == 2 and all(d.state == State.ARCHIVED for d in idocs.values())
        x12 = ledger.find(direction=Direction.OUT, partner="megamart", kind="x12/856") + ledger.find(
            direction=Direction.OUT, partner="megamart", kind="x12/810"
        )
        assert len(x12) == 2
    assert site.run().table() == []  # nothing left to do, nothing sent twice
    assert len(files(site.sftp("megamart", "outbound"))) == len(sent)
