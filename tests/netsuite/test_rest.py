"""The REST connector against the emulator: sales orders upserted by external ID, fulfillments with
tracking, SuiteQL paging, governance (429, the concurrency cap) and NetSuite's errors."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from erpbridge.connectors.base import Connector
from erpbridge.connectors.netsuite_rest import FulfillmentLine, NetSuiteRestConnector, Package
from erpbridge.errors import (
    AuthenticationError,
    ConfigError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransformError,
)

from .conftest import ACCOUNT, TOKEN_ID, m2m, make_emulator, purchase_order, rest_settings, tba
from .emulator import NetSuiteEmulator

KEY = "PurchaseOrder-MEGAMART-000001011-0001"


def orders(emulator: NetSuiteEmulator) -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in emulator.query("SELECT id, externalid FROM \"transaction\" WHERE type = 'SalesOrd'")
    ]


def test_the_connector_is_a_connector(rest: NetSuiteRestConnector) -> None:
    assert isinstance(rest, Connector)


def test_upsert_twice_makes_one_sales_order(rest: NetSuiteRestConnector, emulator: NetSuiteEmulator) -> None:
    first = rest.deliver(purchase_order(), key=KEY)
    second = rest.deliver(purchase_order(), key=KEY)
    assert first.created is True and second.created is False
    assert first.reference == second.reference
    assert orders(emulator) == [(int(first.reference), KEY)]
    body = emulator.record("salesorder", int(first.reference))
    assert body is not None
    assert body["entity"] == {"id": "1187"} and body["otherRefNum"] == "4500012400"
    assert [line["item"] for line in body["item"]["items"]] == [{"id": "501"}, {"id": "502"}]  # SKUs resolved
    lines = emulator.query(
        "SELECT item, quantity, rate FROM transactionline WHERE transaction = ?", int(first.reference)
    )
    assert lines == [(501, 24.0, 9.5), (502, 4.0, None)]
    puts = [p for m, p, s in emulator.log if m == "PUT"]
    assert len(puts) == 1  # the repeat looked the order up and changed nothing


def test_the_item_cross_reference_is_read_once_per_run(
    rest: NetSuiteRestConnector, emulator: NetSuiteEmulator
) -> None:
    rest.deliver(purchase_order("PO-1"), key="k1")
    rest.deliver(purchase_order("PO-2"), key="k2")
    assert sum(1 for _, p, _ in emulator.log if p.endswith("/suiteql")) == 1
    assert (
        rest.items().lookup(None, "061414110020") == "503"
        and rest.items().lookup("nw-ts-blk-s", None) == "501"
    )
    rest.close()  # a new run reads it again
    rest.deliver(purchase_order("PO-3"), key="k3")
    assert sum(1 for _, p, _ in emulator.log if p.endswith("/suiteql")) == 2


def test_an_unknown_sku_is_terminal_and_names_it(
    rest: NetSuiteRestConnector, emulator: NetSuiteEmulator
) -> None:
    po = purchase_order(
        lines=[{"line_number": "1", "quantity": "1", "unit": "EA", "product_ids": {"vendor_sku": "NOPE-1"}}]
    )
    with pytest.raises(TransformError, match="NetSuite has no item with SKU NOPE-1") as info:
        rest.deliver(po, key=KEY)
    assert info.value.context["po_number"] == "4500012400"
    assert orders(emulator) == []


def test_netsuite_refusing_the_order_keeps_its_error_body(emulator: NetSuiteEmulator) -> None:
    emulator.db.execute("DELETE FROM customer")
    with NetSuiteRestConnector(rest_settings(emulator)) as rest, pytest.raises(RemoteRejectedError) as info:
        rest.deliver(purchase_order(), key=KEY)
    error = info.value
    assert not error.transient and error.status == 400 and error.remote_code == "USER_ERROR"
    assert "Invalid Field Value 1187 for the following field: entity" in str(error)
    assert error.context["netsuite_code"] == "USER_ERROR" and error.context["po_number"] == "4500012400"


def test_only_purchase_orders_ship_notices_and_goods_movements_are_delivered(
    rest: NetSuiteRestConnector,
) -> None:
    with pytest.raises(
        ConfigError, match="takes PurchaseOrder, ShipNotice and GoodsMovement documents, not InventoryAdvice"
    ):
        rest.deliver({"kind": "InventoryAdvice"}, key="x")
    with pytest.raises(TransformError, match="no shipment_id"):  # a ShipNotice goes to the fulfillments
        rest.deliver({"kind": "ShipNotice"}, key="x")


def test_fulfillment_from_the_sales_order_with_tracking(
    rest: NetSuiteRestConnector, emulator: NetSuiteEmulator
) -> None:
    order = rest.deliver(purchase_order(), key=KEY).reference
    packages = [Package("1Z999AA10123456784", Decimal("2.5"), "carton 1"), Package("1Z999AA10123456791")]
    done = rest.fulfill(
        order, external="ASN-0001-" + order, lines=[FulfillmentLine(1, Decimal(24))], packages=packages
    )
    again = rest.fulfill(
        order, external="ASN-0001-" + order, lines=[FulfillmentLine(1, Decimal(24))], packages=packages
    )
    assert done.created and not again.created and again.id == done.id
    body = emulator.record("itemfulfillment", int(done.id))
    assert body is not None and body["createdFrom"] == {"id": order}
    assert [p["packageTrackingNumber"] for p in body["package"]["items"]] == [
        "1Z999AA10123456784",
        "1Z999AA10123456791",
    ]
    status = rest.sales_order_status(external=KEY)
    assert (
        status is not None
        and status.status == "D"
        and status.status_text == "Sales Order : Partially Fulfilled"
    )
    assert [(line["linesequencenumber"], line["quantityshiprecv"]) for line in status.lines] == [
        ("1", "24"),
        ("2", "0"),
    ]
    rest.fulfill(order, external="ASN-0002-" + order)  # the rest of the order
    assert rest.sales_order_status(po_number="4500012400").status == "F"  # type: ignore[union-attr]
    with pytest.raises(RemoteRejectedError, match="invalid reference"):
        rest.fulfill(order, external="ASN-0003-" + order)


def test_fulfilling_more_than_ordered_is_refused(rest: NetSuiteRestConnector) -> None:
    order = rest.deliver(purchase_order(), key=KEY).reference
    with pytest.raises(RemoteRejectedError, match="remaining quantity") as info:
        rest.fulfill(order, external="x", lines=[FulfillmentLine(2, Decimal(5))])
    assert info.value.remote_code == "USER_ERROR" and info.value.context["sales_order"] == order


def test_suiteql_pages_until_has_more_is_false(emulator: NetSuiteEmulator) -> None:
    for n in range(23):
        emulator.add_item(f"BULK-{n:03d}")
    with NetSuiteRestConnector(rest_settings(emulator, page_size=5)) as rest:
        rows = list(rest.suiteql("SELECT id, itemid FROM item WHERE itemid LIKE 'BULK-%' ORDER BY itemid"))
    assert [r["itemid"] for r in rows] == [f"BULK-{n:03d}" for n in range(23)]
    assert all("links" not in r for r in rows)
    assert sum(1 for _, p, _ in emulator.log if p.endswith("/suiteql")) == 5  # 5 + 5 + 5 + 5 + 3


def test_on_hand_and_inventory_adjustment(rest: NetSuiteRestConnector) -> None:
    before = {(o.sku, o.location): o.on_hand for o in rest.on_hand()}
    assert before == {("NW-TS-BLK-S", "1"): Decimal(100), ("NW-SK-WHT-3P", "1"): Decimal(40)}
    changes = {"501": Decimal(-3), "503": Decimal(12)}
    made = rest.adjust_inventory(
        "CYCLE-2026-03-09", account="58", location="1", changes=changes, memo="cycle count"
    )
    again = rest.adjust_inventory("CYCLE-2026-03-09", account="58", location="1", changes=changes)
    assert made.created and not again.created and made.id == again.id
    after = {(o.sku, o.location): o.on_hand for o in rest.on_hand(location="1")}
    assert after == {
        ("NW-TS-BLK-S", "1"): Decimal(97),
        ("NW-SK-WHT-3P", "1"): Decimal(40),
        ("NW-CAP-RED", "1"): Decimal(12),
    }


def test_customer_upsert_updates_in_place(rest: NetSuiteRestConnector, emulator: NetSuiteEmulator) -> None:
    made = rest.upsert_customer("BIGBOX", {"companyName": "BIGBOX INC"})
    changed = rest.upsert_customer("BIGBOX", {"companyName": "BIGBOX STORES INC"})
    assert made.created and not changed.created and made.id == changed.id
    assert emulator.query("SELECT companyname FROM customer WHERE externalid = 'BIGBOX'") == [
        ("BIGBOX STORES INC",)
    ]


def test_429_is_retried_honouring_retry_after(emulator: NetSuiteEmulator) -> None:
    waits: list[float] = []
    emulator.inject(
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
        times=2,
        retry_after="0.03",
    )
    with NetSuiteRestConnector(rest_settings(emulator)) as rest:
        rest._http.sleep = waits.append
        assert rest.deliver(purchase_order(), key=KEY).created
    assert waits == [0.03, 0.03]


def test_429_past_the_attempts_is_transient_with_retry_after(emulator: NetSuiteEmulator) -> None:
    emulator.inject(
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
        times=10,
        retry_after="7",
    )
    with NetSuiteRestConnector(rest_settings(emulator, max_attempts=3, max_backoff=60)) as rest:
        waits: list[float] = []
        rest._http.sleep = waits.append
        with pytest.raises(RemoteUnavailableError) as info:
            rest.deliver(purchase_order(), key=KEY)
    error = info.value
    assert error.transient and error.retry_after == 7 and error.status == 429
    assert error.remote_code == "CONCURRENCY_LIMIT_EXCEEDED" and "tried 3 time(s)" in str(error)
    assert waits == [7, 7]


def test_a_server_error_is_transient(emulator: NetSuiteEmulator) -> None:
    emulator.inject(500, "UNEXPECTED_ERROR", "An unexpected error occurred.")
    with (
        NetSuiteRestConnector(rest_settings(emulator)) as rest,
        pytest.raises(RemoteUnavailableError) as info,
    ):
        rest.deliver(purchase_order(), key=KEY)
    assert info.value.status == 500 and info.value.retry_after is None


@pytest.mark.parametrize(("cap", "overflows"), [(2, False), (8, True)])
def test_the_concurrency_cap_keeps_the_account_under_its_limit(cap: int, overflows: bool) -> None:
    emulator = make_emulator(concurrency_limit=2, latency=0.02)
    try:
        settings = rest_settings(emulator, concurrency=cap, max_attempts=1)
        with NetSuiteRestConnector(settings) as rest:
            rest.items()  # read once before the threads start
            errors: list[Exception] = []
            barrier = threading.Barrier(8)

            def work(n: int) -> None:
                barrier.wait()
                try:
                    rest.deliver(purchase_order(f"PO-{n}"), key=f"key-{n}")
                except RemoteUnavailableError as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        if overflows:  # without the cap, 8 threads overrun the limit of 2: the test can fail
            assert emulator.stats.rejected > 0 and errors
        else:
            assert emulator.stats.peak <= 2 and emulator.stats.rejected == 0 and not errors
            assert len(orders(emulator)) == 8
    finally:
        emulator.stop()


def test_a_bad_signature_is_an_authentication_error(emulator: NetSuiteEmulator) -> None:
    rest = NetSuiteRestConnector(rest_settings(emulator, auth=tba(token_secret="not-the-secret")))
    with rest, pytest.raises(AuthenticationError) as info:
        rest.deliver(purchase_order(), key=KEY)
    error = info.value
    assert not error.transient and "INVALID_LOGIN" in str(error) and "Invalid login attempt" in str(error)
    assert "env:NS_TOKEN_ID" in str(error) and "not-the-secret" not in str(error)


def test_a_revoked_token_is_an_authentication_error(
    emulator: NetSuiteEmulator, rest: NetSuiteRestConnector
) -> None:
    rest.deliver(purchase_order(), key=KEY)
    emulator.verifier.integration.tokens[TOKEN_ID].revoked = True
    with pytest.raises(
        AuthenticationError, match=r"replace the token \(Setup > Users/Roles > Access Tokens\)"
    ):
        rest.deliver(purchase_order("PO-2"), key="k2")


def test_the_realm_must_be_the_account(emulator: NetSuiteEmulator) -> None:
    rest = NetSuiteRestConnector(rest_settings(emulator, account="7654321"))
    with rest, pytest.raises(AuthenticationError):
        rest.items()


@pytest.mark.parametrize("algorithm", ["PS256", "ES256"])
def test_m2m_client_credentials(emulator: NetSuiteEmulator, algorithm: str) -> None:
    from .conftest import EC_PEM, RSA_PEM

    auth = m2m(
        key=RSA_PEM if algorithm == "PS256" else EC_PEM,
        algorithm=algorithm,
        certificate_id="cert-Zk3Pq9" if algorithm == "PS256" else "cert-ec",
    )
    with NetSuiteRestConnector(rest_settings(emulator, auth=auth)) as rest:
        assert rest.deliver(purchase_order(), key=KEY).created
        assert rest.deliver(purchase_order(), key=KEY).created is False
    assert sum(1 for _, p, _ in emulator.log if p.endswith("/token")) == 1  # the bearer token is reused


def test_m2m_with_an_unmapped_certificate_is_an_authentication_error(emulator: NetSuiteEmulator) -> None:
    rest = NetSuiteRestConnector(rest_settings(emulator, auth=m2m(certificate_id="cert-unknown")))
    with rest, pytest.raises(AuthenticationError, match="certificate cert-unknown") as info:
        rest.items()
    assert "BEGIN" not in str(info.value)


def test_settings_are_checked() -> None:
    from .conftest import REST_MAPPING

    with pytest.raises(ConfigError, match="page_size"):
        rest_settings_plain(page_size=5000)
    with pytest.raises(ConfigError, match="host"):
        rest_settings_plain(url="https://x.example/services")
    assert rest_settings_plain().base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert REST_MAPPING.exists()


def rest_settings_plain(**kwargs: object):  # type: ignore[no-untyped-def]
    from erpbridge.connectors.netsuite_rest import NetSuiteRestSettings

    from .conftest import REST_MAPPING

    return NetSuiteRestSettings(account=ACCOUNT, auth=tba(), sales_order_mapping=REST_MAPPING, **kwargs)  # type: ignore[arg-type]


def test_rate_limit_headroom_is_reported_per_endpoint(emulator: NetSuiteEmulator) -> None:
    from erpbridge.observability.signals import SIGNALS

    emulator.inject(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.", times=10)
    with NetSuiteRestConnector(rest_settings(emulator, name="ns-headroom", max_attempts=2)) as rest:
        rest._http.sleep = lambda _: None
        with pytest.raises(RemoteUnavailableError):
            rest.deliver(purchase_order(), key=KEY)
        assert SIGNALS.snapshot().rate_limit_headroom["ns-headroom"] == 0.0  # NetSuite refused it
        with emulator.lock:
            emulator.injected.clear()
        assert rest.deliver(purchase_order(), key=KEY).created
    assert SIGNALS.snapshot().rate_limit_headroom["ns-headroom"] == 1.0  # alone on the account's cap


def test_the_account_gate_reports_the_share_of_slots_free_when_a_request_asked() -> None:
    from erpbridge.connectors.netsuite_common import AccountGate

    gate = AccountGate(2)
    seen: list[float] = []
    entered, asking = threading.Event(), threading.Event()
    slots = gate._slots

    class Slots:  # the gate's own semaphore, telling when a request starts waiting for a slot
        def acquire(self) -> bool:
            asking.set()
            return slots.acquire()

        def release(self) -> None:
            slots.release()

    def third() -> None:
        with gate:
            seen.append(gate.headroom)
            entered.set()

    with gate:
        assert gate.headroom == 1.0
        with gate:
            assert gate.headroom == 0.5
            gate._slots = Slots()  # type: ignore[assignment]
            waiter = threading.Thread(target=third)
            waiter.start()
            assert asking.wait(timeout=10)  # the third request has asked for a slot
            assert not entered.is_set()  # both slots are held: it waits
        waiter.join(timeout=10)
    assert entered.is_set() and seen == [0.0]  # it had to wait: no headroom when it asked


def goods_movement(*lines: dict[str, object], location: str = "BRL-LOU1") -> dict[str, object]:
    return {
        "kind": "GoodsMovement",
        "movement_id": "ADJ-7",
        "movement_date": "2026-03-16",
        "location": location,
        "lines": list(lines),
    }


def line(sku: str, quantity: str, kind: str, **more: object) -> dict[str, object]:
    return {"product_ids": {"vendor_sku": sku}, "quantity": quantity, "unit": "EA", "kind": kind, **more}


def test_a_goods_movement_becomes_one_adjustment_per_location_once(emulator: NetSuiteEmulator) -> None:
    emulator.add_location("Reno DC", location_id=2)
    settings = rest_settings(emulator, adjustment_account="58", locations={"BRL-LOU1": "1", "BRL-RNO2": "2"})
    movement = goods_movement(
        line("NW-TS-BLK-S", "3", "adjustment_out"),
        line("NW-TS-BLK-S", "1", "scrap"),
        {**line("", "5", "adjustment_in"), "product_ids": {"upc": "061414110020"}},  # NW-CAP-RED by UPC
        line("NW-SK-WHT-3P", "2", "adjustment_in", location="BRL-RNO2"),
        line("NW-SK-WHT-3P", "2", "adjustment_out", location="BRL-RNO2"),  # cancels out: left out
        line("NW-SK-WHT-3P", "7", "adjustment_in", location="BRL-RNO2"),
    )
    with NetSuiteRestConnector(settings) as rest:
        done = rest.deliver(movement, key="flow:GoodsMovement:ADJ-7:ns")
        again = rest.deliver(movement, key="flow:GoodsMovement:ADJ-7:ns")
        on_hand = {(o.sku, o.location): o.on_hand for o in rest.on_hand()}
    assert done.created and not again.created and done.reference == again.reference
    assert [a["changes"] for a in done.detail["adjustments"]] == [
        {"501": "-4", "503": "5"},
        {"502": "7"},
    ]
    assert on_hand == {
        ("NW-TS-BLK-S", "1"): Decimal(96),
        ("NW-SK-WHT-3P", "1"): Decimal(40),
        ("NW-CAP-RED", "1"): Decimal(5),
        ("NW-SK-WHT-3P", "2"): Decimal(7),
    }


def test_a_goods_movement_netsuite_cannot_take_is_refused_whole(emulator: NetSuiteEmulator) -> None:
    settings = rest_settings(emulator, adjustment_account="58", locations={"BRL-LOU1": "1"})
    movement = goods_movement(
        line("NW-TS-BLK-S", "3", "adjustment_out"),
        line("NW-TS-BLK-S", "3", "receipt"),
        line("NW-NOT-SOLD", "1", "adjustment_in"),
        line("NW-CAP-RED", "1", "adjustment_in", location="BRL-XXX"),
        line("NW-CAP-RED", "1", "adjustment_in") | {"unit": "CA"},
    )
    with NetSuiteRestConnector(settings) as rest, pytest.raises(TransformError) as info:
        rest.deliver(movement, key="k")
    message = str(info.value)
    assert (
        "GoodsMovement ADJ-7: NetSuite cannot post it as an inventory adjustment, nothing was posted"
        in message
    )
    assert "line 2 (NW-TS-BLK-S): a receipt movement is not an inventory adjustment" in message
    assert "line 3 (NW-NOT-SOLD): NetSuite has no item with NW-NOT-SOLD" in message
    assert "line 4 (NW-CAP-RED): warehouse BRL-XXX has no NetSuite location" in message
    assert "line 5 (NW-CAP-RED): quantity in CA" in message
    assert emulator.query("SELECT COUNT(*) FROM [transaction] WHERE type = 'InvAdjst'") == [(0,)]
    with (
        NetSuiteRestConnector(rest_settings(emulator)) as rest,
        pytest.raises(ConfigError, match="no adjustment_account"),
    ):
        rest.deliver(goods_movement(line("NW-TS-BLK-S", "1", "adjustment_in")), key="k")
