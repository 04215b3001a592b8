"""The outbound delivery's function imports besides PostGoodsIssue (PickAllItems, ReverseGoodsIssue)
and the warehouse's confirmation of a delivery (confirm_picking, deliver of a ShipNotice), against
SAP's OData mock server (tests/sap/conftest.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from erpbridge.connectors.sap_odata import (
    DELIVERY_SERVICE,
    SapODataConnector,
    delivery_record,
    picked_quantities,
)
from erpbridge.errors import RemoteConflictError, RemoteRejectedError, TransformError
from tests.sap.conftest import SapServer


def _header(server: SapServer, client: str, delivery: str) -> Any:
    return server.get(
        DELIVERY_SERVICE,
        f"A_OutbDeliveryHeader('{delivery}')",
        client,
        **{"$expand": "to_DeliveryDocumentItem"},
    )


def test_pick_all_items_picks_each_item_as_ordered(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    picked = sap.pick_all_items("80000001")
    assert picked.picking_status == "C" and picked.goods_movement_status == "A"
    assert [(i.item, i.quantity, i.picking_status) for i in picked.items] == [
        ("10", Decimal(24), "C"),
        ("20", Decimal(48), "C"),
    ]
    header = _header(sap_server, sap_client, "80000001")
    assert header["OverallPickingStatus"] == "C"
    assert [i["PickingStatus"] for i in header["to_DeliveryDocumentItem"]["results"]] == ["C", "C"]
    # not after goods issue: SAP's business error, with its message
    with pytest.raises(RemoteRejectedError) as info:
        sap.pick_all_items("80000005")
    assert info.value.remote_code == "VL/602" and "PickAllItems" in str(info.value)
    assert info.value.context["delivery"] == "80000005"


def test_reverse_goods_issue_undoes_a_posting_once(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    assert _header(sap_server, sap_client, "80000005")["OverallGoodsMovementStatus"] == "C"
    done = sap.reverse_goods_issue("80000005", on=dt.date(2026, 11, 24))
    assert done.reversed and done.reversed_on == dt.date(2026, 11, 24)
    header = _header(sap_server, sap_client, "80000005")
    assert header["OverallGoodsMovementStatus"] == "A" and header["ActualGoodsMovementDate"] is None
    assert header["OverallPickingStatus"] == "C"  # still picked: goods issue can be posted again
    assert [i["GoodsMovementStatus"] for i in header["to_DeliveryDocumentItem"]["results"]] == ["A"]
    again = sap.reverse_goods_issue("80000005")  # a retry: nothing posted, nothing to reverse
    assert not again.reversed and again.reversed_on is None
    assert not sap.post_goods_issue("80000005").already_posted  # posted anew after the reversal


def test_confirming_everything_as_ordered_is_one_pick_all_items_then_goods_issue(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    before = sap_server.stats()
    done = sap.confirm_picking("80000001", {"10": Decimal(24), "20": Decimal(48)})
    assert done.reported == "PickAllItems" and not done.goods_issue.already_posted
    assert sap_server.stats()["batches"] == before["batches"]  # no $batch: the function import did it
    header = _header(sap_server, sap_client, "80000001")
    assert (header["OverallPickingStatus"], header["OverallGoodsMovementStatus"]) == ("C", "C")
    # a retry (the ledger lost the answer): SAP shows goods issue posted, nothing is sent
    again = sap.confirm_picking("80000001", {"10": Decimal(24), "20": Decimal(48)})
    assert again.reported == "" and again.goods_issue.already_posted


def test_a_short_confirmation_reports_the_quantities_and_a_retry_after_a_crash_posts_once(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    # the crash: the quantities reached SAP, goods issue did not
    sap.report_picked(sap.delivery("80000001"), {"10": Decimal(20), "20": Decimal(0)})
    before = sap_server.stats()
    done = sap.confirm_picking("80000001", {"10": Decimal(20)})  # item 20 not shipped: 0
    assert done.reported == "" and done.picked == {"10": Decimal(20), "20": Decimal(0)}
    assert sap_server.stats()["batches"] == before["batches"]  # SAP had the quantities: not sent again
    assert not done.goods_issue.already_posted
    items = _header(sap_server, sap_client, "80000001")["to_DeliveryDocumentItem"]["results"]
    assert [(i["ActualDeliveryQuantity"], i["GoodsMovementStatus"]) for i in items] == [
        ("20.000", "C"),
        ("0.000", "C"),
    ]


def test_a_partial_confirmation_goes_in_one_batch(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    before = sap_server.stats()
    done = sap.confirm_picking("80000001", {"10": Decimal(24), "20": Decimal(40)})
    assert done.reported == "$batch"
    assert sap_server.stats()["batches"] - before["batches"] == 1
    items = _header(sap_server, sap_client, "80000001")["to_DeliveryDocumentItem"]["results"]
    assert [i["ActualDeliveryQuantity"] for i in items] == ["24.000", "40.000"]


def test_a_confirmation_sap_cannot_take_is_refused_before_anything_is_sent(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    with pytest.raises(TransformError, match="has no item 30"):
        sap.confirm_picking("80000001", {"10": Decimal(24), "30": Decimal(1)})
    with pytest.raises(TransformError, match=r"item 10 in CA \(SAP: EA\)"):
        sap.confirm_picking("80000001", {"10": Decimal(2)}, units={"10": "CA"})
    assert _header(sap_server, sap_client, "80000001")["OverallPickingStatus"] == "A"
    with pytest.raises(RemoteRejectedError) as info:  # more than the delivery holds: SAP's error
        sap.confirm_picking("80000003", {"10": Decimal(31)})
    assert info.value.remote_code == "VL/321"
    assert _header(sap_server, sap_client, "80000003")["OverallGoodsMovementStatus"] == "A"


def test_a_stale_etag_on_a_function_import_is_a_conflict(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    srv = sap._service(sap.settings.delivery_service)
    header = srv.entity_sets.A_OutbDeliveryHeader.get_entity("80000002").execute()
    sap.report_picked(sap.delivery("80000002"), {"10": Decimal(12)})  # changes the header's ETag
    with pytest.raises(RemoteConflictError), sap._concerning("posting goods issue", delivery="80000002"):
        sap._delivery_action(srv, "PostGoodsIssue", "80000002", header)
    assert _header(sap_server, sap_client, "80000002")["OverallGoodsMovementStatus"] == "A"


def test_a_ship_notice_is_delivered_as_the_delivery_s_confirmation(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    notice = {
        "kind": "ShipNotice",
        "shipment_id": "SHP-1",
        "ship_date": "2026-11-24",
        "references": [{"kind": "delivery", "value": "80000001"}],
        "orders": [
            {
                "po_number": "4500009999",
                "packs": [
                    {"items": [{"product_ids": {"vendor_sku": "NW-TS-BLK-S"}, "quantity": "20", "unit": "EA", "line_number": "10"}]},
                    {"items": [{"product_ids": {"vendor_sku": "NW-TS-BLK-S"}, "quantity": "4", "unit": "EA", "line_number": "10"}]},
                ],
                "items": [{"product_ids": {"vendor_sku": "NW-TS-BLK-M"}, "quantity": "48", "unit": "EA", "line_number": "20"}],
            }
        ],
    }  # fmt: skip
    assert picked_quantities(notice) == (
        "80000001",
        {"10": Decimal(24), "20": Decimal(48)},
        {"10": "EA", "20": "EA"},
    )
    delivered = sap.deliver(notice, key="ShipNotice-x-1")
    assert delivered.reference == "80000001" and delivered.created
    assert delivered.detail["reported"] == "PickAllItems" and not delivered.detail["already_posted"]
    assert delivered.detail["goods_issue_date"] == dt.datetime.now(dt.UTC).date().isoformat()
    again = sap.deliver(notice, key="ShipNotice-x-1")
    assert not again.created and again.detail["already_posted"]
    with pytest.raises(TransformError, match="names one delivery"):
        picked_quantities({**notice, "references": []})


def test_a_delivery_record_is_what_the_warehouse_acts_on(sap: SapODataConnector) -> None:
    (first, *_) = sap.deliveries_to_pick()
    record = delivery_record(first)
    assert record["DeliveryDocument"] == "80000001" and record["DeliveryDate"] == "2026-11-27"
    assert record["to_DeliveryDocumentItem"][0] == {
        "DeliveryDocumentItem": "10",
        "Material": "NW-TS-BLK-S",
        "DeliveryDocumentItemText": "Crew tee black S",
        "OriginalDeliveryQuantity": "24",
        "DeliveryQuantityUnit": "EA",
        "Plant": "1710",
        "StorageLocation": "171A",
        "ReferenceSDDocument": "1",
        "ReferenceSDDocumentItem": "10",
    }
    # picking changes the statuses and quantities, not the record: the same delivery is the same record
    sap.report_picked(sap.delivery("80000001"), {"10": Decimal(3), "20": Decimal(4)})
    assert delivery_record(sap.delivery("80000001")) == record
    assert [n for n, _ in sap.work_records(shipping_point="1710")] == ["80000002", "80000003"]
