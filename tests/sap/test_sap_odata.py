"""The S/4HANA OData connector against SAP's OData mock server (tests/sap/conftest.py).

What each test checks through the connector, it also checks with a plain HTTP GET of its own (the
``sap_server.get`` helper), so a connector bug cannot hide behind itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import socket
from decimal import Decimal
from pathlib import Path

import pytest

from erpbridge.connectors import Connector
from erpbridge.connectors.sap_odata import (
    DELIVERY_SERVICE,
    SALES_ORDER_SERVICE,
    STOCK_SERVICE,
    BasicAuth,
    SapODataConnector,
    SapODataSettings,
)
from erpbridge.errors import (
    AuthenticationError,
    ConfigError,
    MappingError,
    RemoteConflictError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransformError,
    TransportError,
)
from erpbridge.model import ProductIds, PurchaseOrder, from_json, to_json
from erpbridge.transports.base import Credential
from tests.conftest import ROOT

from .conftest import CLIENT_SECRET, MAPPING, PASSWORD, SapServer, oauth, settings

SAMPLE = ROOT / "mappings" / "x12" / "850-to-purchase-order.samples" / "850_004010.expected.json"


def sample_po(po_number: str) -> PurchaseOrder:
    """MEGAMART's sample 850 as a PurchaseOrder, under another PO number."""
    order = from_json(PurchaseOrder, json.loads(SAMPLE.read_text())[0])
    return dataclasses.replace(order, po_number=po_number)


def orders_for(server: SapServer, client: str, po: str) -> list[dict[str, object]]:
    found = server.get(
        SALES_ORDER_SERVICE, "A_SalesOrder", client, **{"$filter": f"PurchaseOrderByCustomer eq '{po}'"}
    )
    return list(found["results"])


# -- API_SALES_ORDER_SRV ---------------------------------------------------------------------------


def test_deep_insert_creates_the_header_and_its_items(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    order = sample_po("4500012345")
    number = sap.create_sales_order(order)

    (header,) = orders_for(sap_server, sap_client, "4500012345")
    assert header["SalesOrder"] == number
    assert header["SoldToParty"] == "17100001"  # MEGAMART in mappings/sap/xref/sold_to.csv
    assert header["SalesOrganization"] == "1710" and header["SalesOrderType"] == "OR"
    assert header["CustomerPurchaseOrderDate"] == "/Date(1772409600000)/"  # 2026-03-02
    # The items are entities of their own (A_SalesOrderItem), not a copy inside the header.
    items = sap_server.get(
        SALES_ORDER_SERVICE, "A_SalesOrderItem", sap_client, **{"$filter": f"SalesOrder eq '{number}'"}
    )["results"]
    got = sorted(
        (int(i["SalesOrderItem"]), i["UnderlyingPurchaseOrderItem"], i["Material"], i["RequestedQuantity"])
        for i in items
    )
    want = [
        ((n + 1) * 10, line.line_number, line.product_ids["vendor_sku"], str(line.quantity))
        for n, line in enumerate(order.lines)
    ]
    assert got == want

    status = sap.sales_order_status("4500012345")
    assert status is not None and status.sales_order == number and status.others == ()
    assert [(i.item, i.material, i.quantity, i.po_item) for i in status.items] == [
        (str(n), m, Decimal(q), p) for n, p, m, q in want
    ]
    assert status.overall_status == "A" and status.net_amount == sum(
        (i.net_amount or Decimal(0) for i in status.items), Decimal(0)
    )


def test_a_retry_of_the_same_po_finds_the_order_and_creates_nothing(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    order = sample_po("4500012346")
    first = sap.deliver(to_json(order), key="MEGAMART/4500012346")
    again = sap.deliver(to_json(order), key="MEGAMART/4500012346")
    assert first.created and not again.created
    assert first.reference == again.reference == sap.create_sales_order(order)
    assert len(orders_for(sap_server, sap_client, "4500012346")) == 1
    item_count = sap_server.get(
        SALES_ORDER_SERVICE,
        "A_SalesOrderItem",
        sap_client,
        **{"$filter": f"SalesOrder eq '{first.reference}'"},
    )["__count"]
    assert item_count == len(order.lines)
    # An order SAP held before erpbridge ever ran (seed data: sales order 1) is found the same way.
    assert sap.create_sales_order(sample_po("4500009999")) == "1"
    assert len(orders_for(sap_server, sap_client, "4500009999")) == 1


def test_a_status_for_an_unknown_po_is_none(sap: SapODataConnector) -> None:
    assert sap.sales_order_status("NO-SUCH-PO") is None
    assert sap.find_sales_order("NO-SUCH-PO") is None
    status = sap.sales_order_status("4500009999", sold_to="17100001")
    assert status is not None and (status.sales_order, status.overall_status, status.delivery_status) == (
        "1",
        "C",
        "C",
    )


def test_a_stale_csrf_token_is_fetched_again_and_the_request_sent_once_more(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    sap.create_sales_order(sample_po("4500012347"))
    before = sap_server.stats()
    sap_server.invalidate_csrf()  # SAP ended the session's token
    number = sap.create_sales_order(sample_po("4500012348"))
    after = sap_server.stats()
    assert after["csrfRejections"] == before["csrfRejections"] + 1
    assert after["csrfFetches"] == before["csrfFetches"] + 1
    assert [o["SalesOrder"] for o in orders_for(sap_server, sap_client, "4500012348")] == [number]


def test_a_business_error_is_terminal_with_sap_s_message(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    order = sample_po("4500012349")
    bad_line = dataclasses.replace(order.lines[0], product_ids=ProductIds(vendor_sku="NW-NOT-IN-SAP"))
    order = dataclasses.replace(order, lines=(bad_line, *order.lines[1:]))
    with pytest.raises(RemoteRejectedError) as info:
        sap.create_sales_order(order)
    error = info.value
    assert not error.transient and not isinstance(error, RemoteConflictError)
    assert error.status == 400 and error.remote_code == "M3/305"
    assert error.remote_message == "The material NW-NOT-IN-SAP does not exist or is not activated"
    assert "creating the SAP sales order for PO 4500012349" in str(error)
    assert "The material NW-NOT-IN-SAP does not exist or is not activated [M3/305]" in str(error)
    assert error.context["po_number"] == "4500012349" and error.context["partner"] == "MEGAMART"
    assert error.context["sap_code"] == "M3/305"
    assert orders_for(sap_server, sap_client, "4500012349") == []  # header and items: all or nothing


def test_sap_s_error_details_are_kept(sap: SapODataConnector) -> None:
    order = sample_po("4500012350")
    lines = tuple(
        dataclasses.replace(line, product_ids=ProductIds(vendor_sku=f"NW-GONE-{n}"))
        for n, line in enumerate(order.lines[:2])
    )
    with pytest.raises(RemoteRejectedError) as info:
        sap.create_sales_order(dataclasses.replace(order, lines=lines))
    assert info.value.details == ("The material NW-GONE-1 does not exist or is not activated [M3/305]",)
    assert "also: The material NW-GONE-1" in str(info.value)


def test_a_partner_without_a_sold_to_party_stops_at_the_mapping(sap: SapODataConnector) -> None:
    order = sample_po("4500012351")
    order = dataclasses.replace(order, meta=dataclasses.replace(order.meta, partner_id="NOBODY"))  # type: ignore[arg-type]
    with pytest.raises(TransformError) as info:
        sap.create_sales_order(order)
    assert "sold_to" in str(info.value) and "NOBODY" in str(info.value)
    assert "purchase-order-to-sales-order.yaml:" in str(info.value)


@pytest.mark.parametrize(
    ("po", "status", "wait"), [("SIMULATE-503-A", 503, 120.0), ("SIMULATE-429-A", 429, 7.0)]
)
def test_an_overloaded_sap_is_transient_and_says_how_long_to_wait(
    sap: SapODataConnector, po: str, status: int, wait: float
) -> None:
    with pytest.raises(RemoteUnavailableError) as info:
        sap.create_sales_order(sample_po(po))
    error = info.value
    assert error.transient and error.status == status
    assert error.retry_after == wait and error.context["retry_after"] == wait
    assert f"SAP is unavailable (HTTP {status})" in str(error) and f"wait {wait:g} s" in str(error)


def test_a_connection_refused_is_transient(sap_server: SapServer, sap_client: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with (
        SapODataConnector(settings(sap_server, sap_client, url=f"http://127.0.0.1:{closed}")) as sap,
        pytest.raises(TransportError) as info,
    ):
        sap.stock("1710")
    assert info.value.transient and "connection refused" in str(info.value)


def test_a_server_that_does_not_answer_times_out_transiently(sap_server: SapServer, sap_client: str) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with (
            SapODataConnector(settings(sap_server, sap_client, url=url, read_timeout=0.3)) as sap,
            pytest.raises(TransportError) as info,
        ):
            sap.stock("1710")
    assert info.value.transient and "within the timeouts" in str(info.value)


# -- API_OUTBOUND_DELIVERY_SRV ----------------------------------------------------------------------


def test_deliveries_to_pick_come_with_items_over_several_pages(
    sap_server: SapServer, sap_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="erpbridge.connectors.sap_odata")
    with SapODataConnector(settings(sap_server, sap_client, page_size=2)) as sap:
        deliveries = list(sap.deliveries_to_pick(shipping_point="1710"))
    assert [d.delivery for d in deliveries] == ["80000001", "80000002", "80000003"]
    first = deliveries[0]
    assert [(i.item, i.material, i.quantity, i.unit, i.sales_order_item) for i in first.items] == [
        ("10", "NW-TS-BLK-S", Decimal(24), "EA", "10"),
        ("20", "NW-TS-BLK-M", Decimal(48), "EA", "20"),
    ]
    assert first.etag and all(i.etag for d in deliveries for i in d.items)
    assert first.planned_goods_issue_date == dt.date(2026, 11, 25)
    pages = [r for r in caplog.records if "A_OutbDeliveryHeader" in r.getMessage()]
    assert len(pages) == 2  # 2 + 1 deliveries


def test_picked_quantities_go_with_the_etag_and_a_stale_etag_is_a_clear_conflict(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str
) -> None:
    (delivery,) = [d for d in sap.deliveries_to_pick() if d.delivery == "80000001"]
    sap.report_picked(delivery, {"10": Decimal(20), "20": Decimal(48)})
    item = sap_server.get(
        DELIVERY_SERVICE,
        "A_OutbDeliveryItem(DeliveryDocument='80000001',DeliveryDocumentItem='10')",
        sap_client,
    )
    assert (Decimal(item["ActualDeliveryQuantity"]), item["PickingStatus"]) == (20, "C")
    header = sap_server.get(DELIVERY_SERVICE, "A_OutbDeliveryHeader('80000001')", sap_client)
    assert header["OverallPickingStatus"] == "C"

    with pytest.raises(RemoteConflictError) as info:  # the same ETag again: SAP's item has changed since
        sap.report_picked_quantity("80000001", "10", Decimal(19), etag=delivery.items[0].etag)
    error = info.value
    assert not error.transient and error.status == 412
    assert "SAP delivery 80000001 item 10" in str(error) and "read it again" in str(error)
    assert (error.context["delivery"], error.context["item"]) == ("80000001", "10")
    again = sap_server.get(
        DELIVERY_SERVICE,
        "A_OutbDeliveryItem(DeliveryDocument='80000001',DeliveryDocumentItem='10')",
        sap_client,
    )
    assert Decimal(again["ActualDeliveryQuantity"]) == 20  # nothing changed

    fresh = sap.delivery("80000001")
    sap.report_picked_quantity("80000001", "10", Decimal(19), etag=fresh.items[0].etag)
    assert sap.delivery("80000001").items[0].quantity == Decimal(19)


def test_picked_quantities_of_several_items_go_in_one_batch_changeset(
    sap: SapODataConnector, sap_server: SapServer, sap_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="erpbridge.connectors.sap_odata")
    sap.report_picked_quantity("80000003", "10", Decimal(30), etag=None)  # the session has a CSRF token
    (delivery,) = [d for d in sap.deliveries_to_pick() if d.delivery == "80000001"]
    sap_server.invalidate_csrf()  # the $batch POST needs SAP's CSRF token: refetched on 403, sent again
    before = sap_server.stats()
    caplog.clear()
    sap.report_picked(delivery, {"10": Decimal(22), "20": Decimal(47)})
    after = sap_server.stats()
    assert after["batches"] - before["batches"] == 1  # one $batch taken, for two items
    assert after["csrfRejections"] - before["csrfRejections"] == 1
    # one round trip for both items (besides the token's fetch and the refused first try)
    sent = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(("SAP GET", "SAP POST", "SAP PATCH"))
    ]
    assert [m.split(" -> ")[0] for m in sent] == [
        "SAP POST /sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0002/$batch",
        "SAP GET /sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0002/",
        "SAP POST /sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0002/$batch",
    ]
    fresh = sap.delivery("80000001")
    assert [(i.item, i.quantity, i.picking_status) for i in fresh.items] == [
        ("10", Decimal(22), "C"),
        ("20", Decimal(47), "C"),
    ]
    header = sap_server.get(DELIVERY_SERVICE, "A_OutbDeliveryHeader('80000001')", sap_client)
    assert header["OverallPickingStatus"] == "C"
    # the ETags read before the batch are stale now: SAP refuses the changeset, nothing changes
    with pytest.raises(RemoteConflictError) as info:
        sap.report_picked(delivery, {"10": Decimal(1), "20": Decimal(2)})
    assert info.value.status == 412 and "in one $batch" in str(info.value)
    assert info.value.context["delivery"] == "80000001"
    assert [i.quantity for i in sap.delivery("80000001").items] == [Decimal(22), Decimal(47)]
    with pytest.raises(TransformError, match="cannot be negative"):
        sap.report_picked(fresh, {"10": Decimal(-1), "20": Decimal(2)})


def test_an_impossible_picked_quantity_is_sap_s_business_error(sap: SapODataConnector) -> None:
    delivery = sap.delivery("80000003")
    with pytest.raises(RemoteRejectedError) as info:
        sap.report_picked(delivery, {"10": Decimal(31)})
    assert info.value.remote_code == "VL/321" and "between 0 and the delivery quantity 30" in str(info.value)
    with pytest.raises(TransformError, match="has no item 99"):
        sap.report_picked(delivery, {"99": Decimal(1)})


def test_goods_issue_is_posted_once(sap: SapODataConnector, sap_server: SapServer, sap_client: str) -> None:
    with pytest.raises(RemoteRejectedError) as info:
        sap.post_goods_issue("80000002")
    assert info.value.remote_code == "VL/609" and "picking is not complete" in str(info.value)

    sap.report_picked(sap.delivery("80000002"), {"10": Decimal(12)})
    issued = sap.post_goods_issue("80000002")
    assert not issued.already_posted and issued.posted_on == dt.datetime.now(dt.UTC).date()
    header = sap_server.get(DELIVERY_SERVICE, "A_OutbDeliveryHeader('80000002')", sap_client)
    assert header["OverallGoodsMovementStatus"] == "C"
    assert [d.delivery for d in sap.deliveries_to_pick()] == ["80000001", "80000003"]

    assert sap.post_goods_issue("80000002").already_posted  # a retry changes nothing
    assert sap.post_goods_issue("80000005").already_posted  # posted in SAP before


# -- API_MATERIAL_STOCK_SRV -------------------------------------------------------------------------


def test_stock_is_read_over_every_page(
    sap_server: SapServer, sap_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="erpbridge.connectors.sap_odata")
    with SapODataConnector(settings(sap_server, sap_client, page_size=5)) as sap:
        levels = sap.stock("1710")
    rows = sap_server.get(STOCK_SERVICE, "A_MatlStkInAcctMod", sap_client, **{"$filter": "Plant eq '1710'"})[
        "results"
    ]
    want: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        by_type = want.setdefault(row["Material"], {})
        by_type[row["InventoryStockType"]] = by_type.get(row["InventoryStockType"], Decimal(0)) + Decimal(
            row["MatlWrhsStkQtyInMatlBaseUnit"]
        )
    assert len(rows) == 24 and len(want) == 10
    assert {level.material: dict(level.by_stock_type) for level in levels} == want
    assert all(level.plant == "1710" and level.unit == "EA" for level in levels)
    pages = [r for r in caplog.records if "A_MatlStkInAcctMod" in r.getMessage()]
    assert len(pages) == 5  # 24 rows, 5 a page

    (tee,) = [level for level in levels if level.material == "NW-TS-BLK-S"]
    assert tee.unrestricted == Decimal("110.5") and tee.total == Decimal("113.5")


def test_stock_of_some_materials(sap: SapODataConnector) -> None:
    levels = sap.stock("1720", ["NW-TS-BLK-S", "NW-HD-NVY-M", "NW-NOT-STOCKED"])
    assert [(level.material, level.unrestricted) for level in levels] == [
        ("NW-HD-NVY-M", Decimal(35)),
        ("NW-TS-BLK-S", Decimal(7)),
    ]
    assert sap.stock("1720", []) == []


# -- authentication, secrets -----------------------------------------------------------------------


def test_a_wrong_password_is_terminal_and_names_the_secret_not_its_value(
    sap_server: SapServer, sap_client: str
) -> None:
    wrong = BasicAuth(user="ERPBRIDGE_COMM", password=Credential("env:SAP_PASSWORD", "not-the-password-77"))
    with (
        SapODataConnector(settings(sap_server, sap_client, auth=wrong)) as sap,
        pytest.raises(AuthenticationError) as info,
    ):
        sap.stock("1710")
    message = str(info.value)
    assert not info.value.transient
    assert "ERPBRIDGE_COMM" in message and "env:SAP_PASSWORD" in message and "HTTP 401" in message
    assert "not-the-password-77" not in message


def test_oauth_client_credentials(sap_server: SapServer, sap_client: str) -> None:
    before = sap_server.stats()["tokensIssued"]
    with SapODataConnector(settings(sap_server, sap_client, auth=oauth(sap_server))) as sap:
        number = sap.create_sales_order(sample_po("4500012360"))
        assert sap.find_sales_order("4500012360") == number
    assert sap_server.stats()["tokensIssued"] == before + 1  # one token for the whole session

    with (
        SapODataConnector(settings(sap_server, sap_client, auth=oauth(sap_server, "wrong-secret-5"))) as sap,
        pytest.raises(AuthenticationError) as info,
    ):
        sap.stock("1710")
    assert "ERPBRIDGE_OAUTH" in str(info.value) and "env:SAP_TEST_CLIENT_SECRET" in str(info.value)
    assert "wrong-secret-5" not in str(info.value)


def test_no_secret_reaches_the_logs(
    sap_server: SapServer, sap_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything: erpbridge, pyodata, urllib3
    with SapODataConnector(settings(sap_server, sap_client)) as sap:
        sap.create_sales_order(sample_po("4500012370"))
        sap.report_picked(sap.delivery("80000001"), {"10": Decimal(1)})
        token = sap._http._csrf
        cookies = list(sap._http.session.cookies.values())
    with SapODataConnector(settings(sap_server, sap_client, auth=oauth(sap_server))) as sap:
        sap.stock("1710", ["NW-TS-BLK-S"])
        bearer = sap._http._bearer
    assert token and cookies and bearer
    text = caplog.text
    assert "created SAP sales order" in text  # the logs were captured
    for secret in (PASSWORD, CLIENT_SECRET, token, bearer, *cookies):
        assert secret not in text


# -- configuration and mapping ---------------------------------------------------------------------


def test_a_mapping_field_sap_does_not_have_is_reported_with_file_and_line(
    sap_server: SapServer, sap_client: str, tmp_path: Path
) -> None:
    folder = tmp_path / "sap"
    shutil.copytree(MAPPING.parent, folder)
    mapping = folder / MAPPING.name
    mapping.write_text(mapping.read_text().replace("  MaterialByCustomer:", "  MaterialByCustomr:"))
    with (
        SapODataConnector(settings(sap_server, sap_client, sales_order_mapping=mapping)) as sap,
        pytest.raises(MappingError) as info,
    ):
        sap.create_sales_order(sample_po("4500012380"))
    line = next(
        n for n, text in enumerate(mapping.read_text().splitlines(), 1) if "MaterialByCustomr" in text
    )
    assert f"{mapping}:{line}: A_SalesOrderItemType has no property 'MaterialByCustomr'" in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": "ftp://sap.example.com"}, r"http\(s\)://host"),
        ({"url": "https://sap.example.com/sap/opu/odata/sap"}, "the host only"),
        ({"client": "1"}, "three digits"),
        ({"page_size": 0}, "page_size"),
        ({"read_timeout": 0}, "timeouts"),
    ],
)
def test_settings_are_checked(change: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "url": "https://my000000-api.s4hana.ondemand.com",
        "auth": BasicAuth(user="U", password=Credential("env:P", "x")),
        "sales_order_mapping": MAPPING,
        "client": "100",
    }
    with pytest.raises(ConfigError, match=message):
        SapODataSettings(**{**values, **change})  # type: ignore[arg-type]


def test_the_endpoint_takes_purchase_orders_and_ship_notices_only(sap: SapODataConnector) -> None:
    assert isinstance(sap, Connector)
    with pytest.raises(ConfigError, match="takes PurchaseOrder and ShipNotice documents, not Invoice"):
        sap.deliver({"kind": "Invoice"}, key="x")
