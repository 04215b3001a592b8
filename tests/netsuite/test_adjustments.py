"""connectors/netsuite_adjustments: a GoodsMovement as inventory adjustments (pure: no emulator needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from erpbridge.connectors.netsuite_adjustments import adjustment_plans
from erpbridge.errors import TransformError


def lookup(sku: str | None, upc: str | None) -> str | None:
    return {"NW-TS-BLK-S": "11", "NW-CAP": "12"}.get(sku or "")


def movement(*lines: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "GoodsMovement", "movement_id": "ADJ-1", "movement_date": "2026-03-16", "location": "BRL-LOU1", "lines": list(lines)}  # fmt: skip


def line(kind: str, quantity: Any, sku: str = "NW-TS-BLK-S") -> dict[str, Any]:
    return {"kind": kind, "quantity": quantity, "unit": "EA", "product_ids": {"vendor_sku": sku}}


def plans(*lines: dict[str, Any]) -> Any:
    return adjustment_plans(movement(*lines), key="ADJ-1", locations={"BRL-LOU1": "7"}, lookup=lookup)


def test_the_kind_gives_the_sign_and_lines_of_an_item_add_up() -> None:
    [plan] = plans(line("adjustment_out", "3"), line("adjustment_in", "1"), line("scrap", "2", "NW-CAP"))
    assert plan.location == "7" and plan.changes == {"11": Decimal(-2), "12": Decimal(-2)}


@pytest.mark.parametrize(
    ("quantity", "said"),
    [
        ("-3", "line 1 (NW-TS-BLK-S): quantity '-3' is negative; the kind adjustment_out says the sign"),
        ("NaN", "line 1 (NW-TS-BLK-S): quantity 'NaN' is not a number"),
        (None, "line 1 (NW-TS-BLK-S): quantity None is not a number"),
    ],
)
def test_a_quantity_that_would_post_the_wrong_way_or_not_at_all_is_refused(quantity: Any, said: str) -> None:
    # -3 lost with kind adjustment_out would be -1 x -3: three units added in NetSuite
    with pytest.raises(TransformError) as err:
        plans(line("adjustment_out", quantity))
    assert said in str(err.value) and "nothing was posted" in str(err.value)
