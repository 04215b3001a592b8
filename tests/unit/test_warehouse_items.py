"""pipeline/warehouse.py's for_delivery: a confirmation numbered by PO line, LX01 or SKU becomes one
numbered by SAP's delivery items, with the delivery number; what matches nothing is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from erpbridge.errors import DocumentRejectedError
from erpbridge.ledger import Direction, Document, State
from erpbridge.pipeline.warehouse import PICK_REQUEST, PickRequest, delivery_numbers, for_delivery

NOW = datetime(2026, 3, 16, tzinfo=UTC)
DOC = Document(
    id="d", direction=Direction.OUT, partner="p", kind=PICK_REQUEST, state=State.ARCHIVED, business_key="4500012346",
    idempotency_key=None, isa13=None, gs06=None, st02=None, set_count=1, payload_sha256=None, file_name=None,
    created_at=NOW, updated_at=NOW, attempts=0, next_attempt_at=None, resume_state=None, last_error=None,
    claimed_by=None, claimed_until=None,
)  # fmt: skip
PICK = PickRequest(
    DOC,
    {
        "kind": "WarehouseShippingOrder",
        "order_number": "0080001234",
        "po_number": "4500012346",
        "lines": [
            {"line_number": "000010", "po_line_number": "1", "product_ids": {"vendor_sku": "A"}},
            {"line_number": "000020", "po_line_number": "2", "product_ids": {"vendor_sku": "B"}},
            {"line_number": "000030", "product_ids": {"vendor_sku": "C"}},
            {"line_number": "000040", "product_ids": {"vendor_sku": "C"}},
        ],
    },
    None,
)


def notice(*items: tuple[str, str], refs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "kind": "ShipNotice",
        "shipment_id": "S1",
        "references": refs or [],
        "orders": [
            {
                "po_number": "4500012346",
                "packs": [
                    {"items": [{"line_number": n, "product_ids": {"vendor_sku": s}} for n, s in items[:1]]}
                ],
                "items": [{"line_number": n, "product_ids": {"vendor_sku": s}} for n, s in items[1:]],
            }
        ],
    }


def numbers(doc: dict[str, Any]) -> list[str]:
    order = doc["orders"][0]
    return [i["line_number"] for p in order["packs"] for i in p["items"]] + [
        i["line_number"] for i in order["items"]
    ]


def test_items_become_delivery_items_by_po_line_number_and_sku() -> None:
    given = notice(("1", "A"), ("20", "B"), ("000040", "C"), ("", "B"))
    out = for_delivery(given, PICK)
    assert numbers(out) == ["000010", "000020", "000040", "000020"]
    assert delivery_numbers(out) == ["0080001234"]
    assert numbers(given) == ["1", "20", "000040", ""]  # the confirmation itself is left as it was


def test_the_delivery_number_replaces_another_delivery_reference_and_keeps_the_rest() -> None:
    refs = [{"kind": "delivery", "value": "OLD"}, {"kind": "bill_of_lading", "value": "B1"}]
    out = for_delivery(notice(("000010", "A"), refs=refs), PICK)
    assert out["references"] == [
        {"kind": "delivery", "value": "0080001234"},
        {"kind": "bill_of_lading", "value": "B1"},
    ]


@pytest.mark.parametrize("item", [("9", "Z"), ("", "C")])  # nothing matches; two items share SKU C
def test_an_item_that_matches_no_single_delivery_item_is_refused(item: tuple[str, str]) -> None:
    with pytest.raises(DocumentRejectedError) as refused:
        for_delivery(notice(("000010", "A"), item), PICK)
    assert "matches no single item of delivery 0080001234" in str(refused.value)
    assert "000010, 000020, 000030, 000040" in str(refused.value)
