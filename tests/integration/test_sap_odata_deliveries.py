"""S/4HANA without IDocs, end to end: the deliveries to pick are polled over OData
(API_OUTBOUND_DELIVERY_SRV, SAP's mock server of tests/sap/conftest.py) and become pick requests in
the WMS's folder; the WMS's confirmations become an 856 for the retailer and, over OData, the
delivery's picked quantities and its goods issue. Through ``erpbridge run --once`` and the Runner on a
SQLite ledger, with local folders for the WMS and the retailer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from erpbridge.cli.main import main as cli
from erpbridge.config import load_config
from erpbridge.connectors.sap_odata import DELIVERY_SERVICE
from erpbridge.ledger import Direction, Ledger, Relation, State
from erpbridge.pipeline import Runner, Summary
from erpbridge.pipeline.warehouse import GOODS_ISSUE, PICK_REQUEST
from tests.conftest import ROOT
from tests.integration.sites import BLUERIVER3PL, ERPBRIDGE, S4_ODATA, WMS_FOLDER, megamart
from tests.integration.test_sap_flows import confirmation_for, files, only_flows
from tests.sap.conftest import PASSWORD, USER, SapServer, sap_client, sap_server  # noqa: F401

CONFIG = (
    ERPBRIDGE
    + megamart("megamart_files")
    + BLUERIVER3PL
    + """
[endpoints.megamart_files]
type = "local"
root = "var/megamart"
"""
    + S4_ODATA
    + WMS_FOLDER
    + """
[flows.s4_deliveries]
direction = "in"
partner = "blueriver3pl"
source = {{ endpoint = "s4", shipping_point = "1710" }}
target = {{ endpoint = "wms", folder = "inbound/pick-requests" }}
documents = ["sap/A_OutbDeliveryHeader"]
every = "1m"

[flows.confirmations_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/confirmations", archive = "archive/confirmations" }}
target = {{ folder = "outbound" }}
documents = {{ ShipNotice = "x12/856" }}
also_deliver = [{{ endpoint = "s4" }}]
every = "1m"
"""
)

FLOWS = ("s4_deliveries", "confirmations_out")


@dataclass
class Site:
    root: Path
    server: SapServer
    client: str

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

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

    def delivery(self, number: str) -> Any:
        """The delivery as SAP holds it (a plain GET, not the connector)."""
        return self.server.get(
            DELIVERY_SERVICE,
            f"A_OutbDeliveryHeader('{number}')",
            self.client,
            **{"$expand": "to_DeliveryDocumentItem"},
        )


@pytest.fixture
def site(
    tmp_path: Path,
    sap_server: SapServer,  # noqa: F811
    sap_client: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Site]:
    monkeypatch.setenv("S4_TEST_PASSWORD", PASSWORD)
    root = tmp_path / "site"
    (root / "var").mkdir(parents=True)
    text = CONFIG.format(odata_url=sap_server.url, sap_client=sap_client, sap_user=USER)
    (root / "config.toml").write_text(text, encoding="utf-8")
    yield Site(root, sap_server, sap_client)


def test_deliveries_to_pick_become_pick_requests_and_confirmations_post_goods_issue(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pass 1, as the operator runs it: the three deliveries of shipping point 1710 still to pick
    # (80000004 is picked, 80000005 goods-issued) become pick requests in the WMS's folder
    monkeypatch.chdir(site.root)
    with pytest.raises(SystemExit) as done:
        cli(["run", "--once", "--quiet", "--config", str(site.config)])
    assert done.value.code == 0
    picks_folder = site.wms("inbound", "pick-requests")
    names = [f"WarehouseShippingOrder-blueriver3pl-8000000{n}.json" for n in (1, 2, 3)]
    assert files(picks_folder) == names
    picks = {
        n: json.loads((picks_folder / name).read_text()) for n, name in zip((1, 2, 3), names, strict=True)
    }
    assert picks[1]["order_number"] == "80000001"
    assert [(line["line_number"], line["quantity"], line["product_ids"]["vendor_sku"]) for line in picks[1]["lines"]] == [
        ("10", "24", "NW-TS-BLK-S"),
        ("20", "48", "NW-TS-BLK-M"),
    ]  # fmt: skip
    _, ledger = site.runner()
    with ledger:
        polled = {d.business_key: d for d in ledger.find(direction=Direction.IN, kind="odata")}
        assert sorted(polled) == ["80000001", "80000002", "80000003"]
        assert {d.state for d in polled.values()} == {State.ARCHIVED}
        requests = {d.business_key: d for d in ledger.find(direction=Direction.OUT, kind=PICK_REQUEST)}
        assert sorted(requests) == ["80000001", "80000002", "80000003"]
        for number, pick in requests.items():
            assert pick.state == State.ARCHIVED
            assert (pick.id, Relation.DERIVED_FROM, polled[number].id) in [
                (link.from_document, link.relation, link.to_document) for link in ledger.links(pick.id)
            ]
            assert (
                json.loads(ledger.payload(polled[number].payload_sha256 or ""))["DeliveryDocument"] == number
            )

    # the next poll asks SAP again and makes no second pick request
    second = site.run()
    assert not second.failed, second.problems
    assert only_flows(second, *FLOWS) == {("s4_deliveries", "duplicate"): 3}
    assert files(picks_folder) == names

    # the WMS confirms 80000001 as ordered and 80000002 short (10 of 12)
    confirmations = site.wms("outbound", "confirmations")
    confirmations.mkdir(parents=True, exist_ok=True)
    for n, short in ((1, False), (2, True)):
        pick = picks[n] | {"po_number": "4500009999"}  # the delivery carries no PO; the WMS knows it
        notice = confirmation_for(pick)
        if short:
            notice["orders"][0]["packs"][-1]["items"][-1]["quantity"] = "10"
        (confirmations / f"conf-{n}.json").write_text(json.dumps(notice), encoding="utf-8")
    before = site.server.stats()
    third = site.run()
    assert not third.failed, third.problems
    assert only_flows(third, *FLOWS) == {
        ("s4_deliveries", "duplicate"): 3,  # read before the confirmations (flows run in order)
        ("confirmations_out", "delivered"): 2,  # to SAP (also_deliver)
        ("confirmations_out", "sent"): 2,  # the 856s
    }
    assert site.server.stats()["batches"] == before["batches"]  # one PickAllItems, one PATCH
    first, short = site.delivery("80000001"), site.delivery("80000002")
    assert (first["OverallPickingStatus"], first["OverallGoodsMovementStatus"]) == ("C", "C")
    assert [i["ActualDeliveryQuantity"] for i in first["to_DeliveryDocumentItem"]["results"]] == [
        "24.000",
        "48.000",
    ]
    assert (short["OverallPickingStatus"], short["OverallGoodsMovementStatus"]) == ("C", "C")
    assert [i["ActualDeliveryQuantity"] for i in short["to_DeliveryDocumentItem"]["results"]] == ["10.000"]
    assert site.delivery("80000003")["OverallGoodsMovementStatus"] == "A"
    assert len(files(site.root / "var" / "megamart" / "outbound")) == 2  # the 856s

    with ledger:
        issues = {d.business_key: d for d in ledger.find(direction=Direction.OUT, kind=GOODS_ISSUE)}
        assert sorted(issues) == ["80000001", "80000002"]
        asns = ledger.find(direction=Direction.OUT, kind="x12/856")
        assert len(asns) == 2
        for number, issue in issues.items():
            body = json.loads(ledger.payload(issue.payload_sha256 or ""))
            assert body["reported"] == ("PickAllItems" if number == "80000001" else "PATCH")
            assert body["already_posted"] is False and body["goods_issue_date"]
            assert issue.state == State.ARCHIVED
            links = {(link.from_document, link.relation, link.to_document) for link in ledger.links(issue.id)}
            asn = next(a for a in asns if (a.id, Relation.ANSWERS, requests[number].id) in {
                (lk.from_document, lk.relation, lk.to_document) for lk in ledger.links(a.id)
            })  # fmt: skip
            assert links >= {
                (issue.id, Relation.DERIVED_FROM, asn.id),  # made from the WMS's confirmation
                (issue.id, Relation.ANSWERS, polled[number].id),  # answers SAP's delivery
                (issue.id, Relation.ANSWERS, requests[number].id),  # and its pick request
            }

    # the next pass does nothing: 80000001/2 are goods-issued, 80000003 handed out already
    etags = {n: site.delivery(n)["__metadata"]["etag"] for n in ("80000001", "80000002", "80000003")}
    with ledger:
        recorded = len(ledger.find(limit=1000))
    fourth = site.run()
    assert only_flows(fourth, *FLOWS) == {("s4_deliveries", "duplicate"): 1}
    assert {n: site.delivery(n)["__metadata"]["etag"] for n in etags} == etags  # SAP unchanged
    with ledger:
        assert len(ledger.find(limit=1000)) == recorded
    assert files(picks_folder) == names
    assert files(site.wms("archive", "confirmations")) == ["conf-1.json", "conf-2.json"]

    # the same confirmation file again (the WMS sent it twice): a duplicate, nothing reaches SAP
    again = (site.wms("archive", "confirmations") / "conf-1.json").read_text()
    (confirmations / "conf-1-again.json").write_text(again, encoding="utf-8")
    fifth = site.run()
    assert only_flows(fifth, *FLOWS) == {
        ("s4_deliveries", "duplicate"): 1,
        ("confirmations_out", "duplicate"): 1,
    }
    assert site.delivery("80000001")["__metadata"]["etag"] == etags["80000001"]
    with ledger:
        assert len(ledger.find(direction=Direction.OUT, kind=GOODS_ISSUE, business_key="80000001")) == 1

    # an operator reverses the goods issue of 80000002 (posted in error): SAP's ReverseGoodsIssue,
    # recorded in the ledger as replacing the goods issue erpbridge posted
    command = ["sap", "reverse-goods-issue", "80000002", "--endpoint", "s4", "--config", str(site.config)]
    with pytest.raises(SystemExit) as reversed_:
        cli([*command, "--reason", "WMS confirmed the wrong delivery", "--date", "2026-11-24"])
    assert reversed_.value.code == 0
    undone = site.delivery("80000002")
    assert (undone["OverallPickingStatus"], undone["OverallGoodsMovementStatus"]) == ("C", "A")
    with ledger:
        [reversal] = ledger.find(direction=Direction.OUT, kind="odata/ReverseGoodsIssue")
        assert (reversal.business_key, reversal.state) == ("80000002", State.ARCHIVED)
        body = json.loads(ledger.payload(reversal.payload_sha256 or ""))
        assert (body["reason"], body["reversed_on"]) == ("WMS confirmed the wrong delivery", "2026-11-24")
        assert [(lk.relation, lk.to_document) for lk in ledger.links(reversal.id)] == [
            (Relation.REPLACES, issues["80000002"].id)
        ]
    with pytest.raises(SystemExit) as nothing:  # again: SAP shows no goods issue, nothing is reversed
        cli([*command, "--reason", "again"])
    assert nothing.value.code == 1
    with ledger:
        assert len(ledger.find(direction=Direction.OUT, kind="odata/ReverseGoodsIssue")) == 1

    # SAP refuses the reversal of 80000001 (its goods issue stands): the reversal was recorded before
    # SAP was asked, and stays in the ledger quarantined with SAP's reason; nothing is lost of it
    from erpbridge.connectors.sap_odata import SapODataConnector
    from erpbridge.errors import RemoteRejectedError

    def refused(self: SapODataConnector, delivery: str, *, on: object = None) -> object:
        raise RemoteRejectedError(
            f"SAP refused ReverseGoodsIssue for delivery {delivery}: VL 609 period closed"
        )

    monkeypatch.setattr(SapODataConnector, "reverse_goods_issue", refused)
    refused_command = [*command[:2], "80000001", *command[3:]]
    with pytest.raises(SystemExit) as failed:
        cli([*refused_command, "--reason", "wrong delivery"])
    assert failed.value.code == 2
    assert site.delivery("80000001")["OverallGoodsMovementStatus"] == "C"
    with ledger:
        [attempt] = ledger.find(
            direction=Direction.OUT, kind="odata/ReverseGoodsIssue", business_key="80000001"
        )
        assert attempt.state == State.QUARANTINED
        assert "period closed" in str(ledger.events(attempt.id)[-1].detail)
