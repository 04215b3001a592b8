"""The SOAP connector (zeep, the trimmed SuiteTalk 2024.1 WSDL under wsdl/) against the emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from erpbridge.connectors.base import Connector
from erpbridge.connectors.netsuite_soap import NetSuiteSoapConnector
from erpbridge.errors import AuthenticationError, ConfigError, RemoteRejectedError, RemoteUnavailableError

from .conftest import TOKEN_ID, make_emulator, purchase_order, soap_settings, tba
from .emulator import NetSuiteEmulator

KEY = "PurchaseOrder-MEGAMART-000001011-0001"


def sales_order(po: str, sku: str = "NW-TS-BLK-S", quantity: float = 2) -> dict[str, Any]:
    return {
        "entity": {"internalId": "1187"},
        "otherRefNum": po,
        "orderStatus": "_pendingFulfillment",
        "itemList": {"item": [{"item": {"externalId": sku}, "quantity": quantity}]},
    }


def test_the_connector_is_a_connector(soap: NetSuiteSoapConnector) -> None:
    assert isinstance(soap, Connector) and soap.version == "2024_1"


def test_deliver_twice_makes_one_sales_order(soap: NetSuiteSoapConnector, emulator: NetSuiteEmulator) -> None:
    first = soap.deliver(purchase_order(), key=KEY)
    second = soap.deliver(purchase_order(), key=KEY)
    assert first.created and not second.created and first.reference == second.reference
    rows = emulator.query(
        "SELECT id, externalid, otherrefnum, status FROM [transaction] WHERE type = 'SalesOrd'"
    )
    assert rows == [(int(first.reference), KEY, "4500012400", "B")]
    lines = emulator.query("SELECT item, quantity FROM transactionline WHERE [transaction] = ?", rows[0][0])
    assert lines == [(501, 24.0), (502, 4.0)]  # items by external ID (the SKU)
    read = soap.get("salesOrder", external=KEY)
    assert (
        read is not None
        and read["internalId"] == first.reference
        and read["orderStatus"] == "_pendingFulfillment"
    )
    assert [i["item"]["internalId"] for i in read["itemList"]["item"]] == ["501", "502"]


def test_upsert_list_with_one_bad_record_gives_per_record_status(
    soap: NetSuiteSoapConnector, emulator: NetSuiteEmulator
) -> None:
    results = soap.upsert_list(
        [
            ("SalesOrder", "SO-A", sales_order("PO-A")),
            ("SalesOrder", "SO-B", sales_order("PO-B", sku="NO-SUCH-SKU")),
            ("SalesOrder", "SO-C", sales_order("PO-C")),
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    bad = results[1].error
    assert isinstance(bad, RemoteRejectedError) and not bad.transient
    assert bad.remote_code == "INVALID_KEY_OR_REF" and "SO-B" in str(bad)
    assert results[0].internal_id and results[2].internal_id and results[1].internal_id is None
    made = {r[0] for r in emulator.query("SELECT externalid FROM [transaction] WHERE type = 'SalesOrd'")}
    assert made == {"SO-A", "SO-C"}
    again = soap.upsert_list(
        [("SalesOrder", "SO-A", sales_order("PO-A")), ("SalesOrder", "SO-C", sales_order("PO-C"))]
    )
    assert [r.internal_id for r in again] == [
        results[0].internal_id,
        results[2].internal_id,
    ]  # upserts, no new orders
    assert len(emulator.query("SELECT id FROM [transaction] WHERE type = 'SalesOrd'")) == 2


def test_search_pages_with_search_more_with_id(
    soap: NetSuiteSoapConnector, emulator: NetSuiteEmulator
) -> None:
    results = soap.upsert_list(
        [("SalesOrder", f"BULK-{n:02d}", sales_order(f"PO-{n:02d}")) for n in range(12)]
    )
    assert all(r.ok for r in results)
    found = list(soap.search_sales_orders(external_prefix="BULK-"))
    assert sorted(r["externalId"] for r in found) == [f"BULK-{n:02d}" for n in range(12)]
    assert len(emulator.soap_searches) == 1
    soap_posts = [p for m, p, s in emulator.log if p.endswith("NetSuitePort_2024_1")]
    assert (
        len(soap_posts) == 4
    )  # upsertList; search (page 1 of 3, 5 a page); searchMoreWithId for pages 2 and 3
    only = list(soap.search_sales_orders(po_number="PO-07"))
    assert [r["externalId"] for r in only] == ["BULK-07"]


def test_fulfillment_with_tracking(soap: NetSuiteSoapConnector, emulator: NetSuiteEmulator) -> None:
    order = soap.deliver(purchase_order(), key=KEY).reference
    made = soap.fulfill(
        order, external="ASN-1", lines=[(1, Decimal(24))], packages=[("1Z999AA10123456784", Decimal("2.5"))]
    )
    again = soap.fulfill(order, external="ASN-1", lines=[(1, Decimal(24))])
    assert made.ok and again.internal_id == made.internal_id
    body = emulator.record("itemfulfillment", int(made.internal_id or 0))
    assert body is not None and body["package"]["items"][0]["packageTrackingNumber"] == "1Z999AA10123456784"
    assert emulator.query("SELECT status FROM [transaction] WHERE id = ?", int(order)) == [("D",)]


def test_a_bad_token_passport_is_an_authentication_error(emulator: NetSuiteEmulator) -> None:
    soap = NetSuiteSoapConnector(soap_settings(emulator, auth=tba(token_secret="wrong-secret")))
    with soap, pytest.raises(AuthenticationError) as info:
        soap.deliver(purchase_order(), key=KEY)
    error = info.value
    assert error.context["netsuite_code"] == "INVALID_LOGIN_ATTEMPT" and "Invalid login attempt" in str(error)
    assert "wrong-secret" not in str(error) and "env:NS_TOKEN_ID" in str(error)


def test_a_revoked_token_is_an_authentication_error(
    emulator: NetSuiteEmulator, soap: NetSuiteSoapConnector
) -> None:
    emulator.verifier.integration.tokens[TOKEN_ID].revoked = True
    with pytest.raises(AuthenticationError, match="replace the token"):
        soap.get("salesOrder", external="anything")


def test_concurrency_fault_is_transient_after_the_attempts() -> None:
    emulator = make_emulator(concurrency_limit=0)  # every request is over the limit
    try:
        soap = NetSuiteSoapConnector(soap_settings(emulator, max_attempts=2))
        waits: list[float] = []
        soap.sleep = waits.append
        with soap, pytest.raises(RemoteUnavailableError) as info:
            soap.get("salesOrder", external="x")
        assert info.value.transient and info.value.remote_code == "WS_REQUEST_BLOCKED"
        assert "tried 2 time(s)" in str(info.value) and len(waits) == 1
    finally:
        emulator.stop()


def test_a_missing_wsdl_is_a_config_error(emulator: NetSuiteEmulator, tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="cannot load the SuiteTalk WSDL"):
        NetSuiteSoapConnector(soap_settings(emulator, wsdl=str(tmp_path / "nope.wsdl")))
