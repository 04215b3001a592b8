"""connectors/netsuite_shipping: a ShipNotice as item fulfillments (pure: no emulator needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from erpbridge.connectors.netsuite_shipping import (
    OrderLine,
    Package,
    fulfillment_lines,
    fulfillment_plans,
)
from erpbridge.errors import TransformError

ITEMS = {"NW-TS-BLK-S": "11", "NW-TS-BLK-M": "12"}


def lookup(sku: str | None, upc: str | None) -> str | None:
    return ITEMS.get(sku or "") or {"061414110013": "11"}.get(upc or "")


def item(sku: str | None, qty: str, upc: str | None = None) -> dict[str, Any]:
    ids = {k: v for k, v in (("vendor_sku", sku), ("upc", upc)) if v}
    return {"product_ids": ids, "quantity": qty, "unit": "EA"}


def notice(*orders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "ShipNotice",
        "shipment_id": "SHP1",
        "ship_date": "2026-03-16",
        "orders": list(orders),
        **extra,
    }


def test_one_plan_per_order_named_by_shipment_and_po_with_items_summed_and_packages() -> None:
    plans = fulfillment_plans(
        notice(
            {
                "po_number": "PO1",
                "packs": [
                    {
                        "tracking_number": "1Z1",
                        "weight": {"value": "2", "unit": "KG"},
                        "sscc": "1",
                        "items": [item("NW-TS-BLK-S", "5")],
                    },
                    {"tracking_number": "1Z2", "packaging": "carton", "items": [item("NW-TS-BLK-S", "7")]},
                ],
                "items": [item("NW-TS-BLK-M", "1")],
            },
            {"po_number": "PO2", "items": [item(None, "3", upc="061414110013")]},
            tracking_number="PRO42",
        )
    )
    assert [p.external_id for p in plans] == ["ShipNotice-SHP1-PO1", "ShipNotice-SHP1-PO2"]
    assert [(i.sku, i.quantity) for i in plans[0].items] == [("NW-TS-BLK-S", 12), ("NW-TS-BLK-M", 1)]
    assert plans[0].packages == (
        Package("1Z1", Decimal("4.41"), "SSCC 1"),
        Package("1Z2", None, "carton"),
    )
    # no pack with a tracking number: the shipment's own, without the weight of a shared shipment
    assert plans[1].packages == (Package("PRO42", None, "shipment SHP1"),)
    assert plans[0].ship_date == "2026-03-16"


def test_quantities_fill_the_open_lines_of_the_item_in_line_order() -> None:
    [plan] = fulfillment_plans(
        notice({"po_number": "PO1", "items": [item("NW-TS-BLK-S", "8"), item("NW-TS-BLK-M", "2")]})
    )
    lines = [
        OrderLine(1, "11", Decimal(5), Decimal(2)),  # 3 left
        OrderLine(2, "12", Decimal(4), Decimal(0)),
        OrderLine(3, "11", Decimal(10), Decimal(0)),
    ]
    assert fulfillment_lines(plan, lines, lookup) == [(1, Decimal(3)), (2, Decimal(2)), (3, Decimal(5))]


@pytest.mark.parametrize(
    ("shipped", "said"),
    [
        (item("NW-TS-BLK-S", "6"), "6 of SKU NW-TS-BLK-S shipped, but the NetSuite sales order has 5 left"),
        (item("NW-TS-BLK-M", "1"), "has no line with SKU NW-TS-BLK-M"),
        (item("NW-NOPE", "1"), "NetSuite has no item with SKU NW-NOPE"),
    ],
)
def test_what_the_order_cannot_take_is_a_transform_error_naming_po_and_item(
    shipped: dict[str, Any], said: str
) -> None:
    [plan] = fulfillment_plans(notice({"po_number": "PO1", "items": [shipped]}))
    with pytest.raises(TransformError, match=said) as caught:
        fulfillment_lines(plan, [OrderLine(1, "11", Decimal(5), Decimal(0))], lookup)
    assert "PO PO1" in str(caught.value)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (notice({"po_number": "PO1", "items": [item("A", "1")]}, shipment_id=""), "no shipment_id"),
        (notice(), "has no orders"),
        (notice({"items": [item("A", "1")]}), "no po_number"),
        (notice({"po_number": "PO1", "items": [item("A", "0")]}), "no quantity shipped"),
        (
            notice({"po_number": "PO1", "items": [{"product_ids": {"buyer_part": "X"}, "quantity": "1"}]}),
            "no vendor_sku",
        ),
        (notice({"po_number": "PO1", "packs": [{"items": []}]}), "no items shipped"),
    ],
)
def test_a_notice_that_cannot_be_fulfilled_is_refused(given: dict[str, Any], said: str) -> None:
    with pytest.raises(TransformError, match=said):
        fulfillment_plans(given)


def test_orders_of_one_po_in_a_notice_are_one_fulfillment_with_all_their_items() -> None:
    # an 856 picked and packed by store has an order level per store, all with the same PO: one
    # external ID per shipment and PO, so two plans would share it and the second store's items would
    # find the first's fulfillment and never be fulfilled
    plans = fulfillment_plans(
        notice(
            {"po_number": "PO1", "store": "0042", "packs": [{"tracking_number": "1Z1", "items": [item("NW-TS-BLK-S", "5")]}]},
            {"po_number": "PO1", "store": "0043", "packs": [{"tracking_number": "1Z2", "items": [item("NW-TS-BLK-S", "2"), item("NW-TS-BLK-M", "4")]}]},
            {"po_number": "PO2", "items": [item("NW-TS-BLK-M", "1")]},
        )
    )  # fmt: skip
    assert [p.external_id for p in plans] == ["ShipNotice-SHP1-PO1", "ShipNotice-SHP1-PO2"]
    assert [(i.sku, i.quantity) for i in plans[0].items] == [("NW-TS-BLK-S", 7), ("NW-TS-BLK-M", 4)]
    assert [p.tracking_number for p in plans[0].packages] == ["1Z1", "1Z2"]


def test_a_quantity_that_is_not_a_finite_number_is_a_transform_error() -> None:
    with pytest.raises(
        TransformError, match=r"orders\[0\] \(PO PO1\): item 1 has no quantity shipped \('NaN'\)"
    ):
        fulfillment_plans(notice({"po_number": "PO1", "items": [item("NW-TS-BLK-S", "NaN")]}))
