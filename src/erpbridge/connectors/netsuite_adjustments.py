"""A warehouse's GoodsMovement as NetSuite inventory adjustments: the planning, pure.

The WMS owns inventory truth: what it reports as found, lost or scrapped (a cycle count, damages)
is posted to NetSuite as an ``inventoryAdjustment`` (Transactions > Inventory > Adjust Inventory):
one per GoodsMovement and NetSuite location, each line an item and the quantity to add
(``adjustQtyBy``, negative to remove). :func:`adjustment_plans` works out what to post, so that a
movement NetSuite cannot take is refused whole before anything is posted:

- a line's kind says the sign: ``adjustment_in`` adds, ``adjustment_out`` and ``scrap`` remove (a
  negative quantity is refused: it would move stock the other way).
  Other kinds (receipts against a PO, issues, transfers) are other NetSuite transactions (item
  receipts, transfer orders) and are refused;
- its location (the line's, else the movement's: the WMS's warehouse code) becomes the NetSuite
  location's internal ID through the endpoint's ``locations``; an unknown code is refused;
- its item is found by SKU (``vendor_sku``, ``sku``, ``buyer_part``) or UPC through the item
  cross-reference; an unknown item is refused;
- quantities are posted in the item's stock unit, so only lines in each (``EA``) are taken (a line
  in cases is refused rather than posted twelve times too small);
- lines of one item at one location are added up; an item whose lines cancel out is left out.

The external ID is derived from the delivery key and the location, so a retry, a replay of the
same key or the same file read again finds the adjustment it made instead of making another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ..errors import TransformError
from .netsuite_common import external_id, order_key

#: The sign a GoodsMovementLine's kind gives its quantity in an inventory adjustment.
SIGNS: Final = {"adjustment_in": 1, "adjustment_out": -1, "scrap": -1}
#: The units posted as they are (NetSuite's adjustQtyBy is in the item's stock unit).
STOCK_UNITS: Final = frozenset({"EA"})
_SKU_KINDS: Final = ("vendor_sku", "sku", "buyer_part")


@dataclass(frozen=True)
class AdjustmentPlan:
    """One inventory adjustment to post: its external ID, the NetSuite location, the WMS's
    warehouse code it came from, the quantity to add per item internal ID, memo and date."""

    external_id: str
    location: str
    warehouse: str
    changes: Mapping[str, Decimal]
    memo: str
    date: dt.date | None


def adjustment_plans(
    document: Mapping[str, Any],
    *,
    key: str,
    locations: Mapping[str, str],
    lookup: Callable[[str | None, str | None], str | None],
    prefix: str = "",
) -> list[AdjustmentPlan]:
    """The inventory adjustments of a canonical GoodsMovement (JSON form), one per NetSuite
    location in the order the lines name them; ``lookup(sku, upc)`` is the item cross-reference.
    Raises :class:`~erpbridge.errors.TransformError` naming every line NetSuite cannot take."""
    movement = str(document.get("movement_id") or "")
    problems: list[str] = []
    by_location: dict[str, dict[str, Decimal]] = {}
    warehouses: dict[str, str] = {}
    for n, line in enumerate(document.get("lines") or (), start=1):
        where = f"line {n}"
        ids = line.get("product_ids") or {}
        sku = next((str(ids[k]) for k in _SKU_KINDS if ids.get(k)), None)
        upc = next((str(ids[k]) for k in ("upc", "gtin", "ean") if ids.get(k)), None)
        if sku or upc:
            where += f" ({' / '.join(v for v in (sku, upc) if v)})"
        kind = str(line.get("kind") or "")
        sign = SIGNS.get(kind)
        if sign is None:
            problems.append(
                f"{where}: a {kind or 'kindless'} movement is not an inventory adjustment (NetSuite takes "
                f"{', '.join(SIGNS)}; receipts, issues and transfers are other transactions)"
            )
            continue
        unit = str(line.get("unit") or "")
        if unit.upper() not in STOCK_UNITS:
            problems.append(
                f"{where}: quantity in {unit or 'no unit'}; NetSuite adjusts in the item's stock unit, so "
                f"only {', '.join(sorted(STOCK_UNITS))} lines are posted (convert it in the WMS export or the mapping)"
            )
            continue
        try:
            quantity = Decimal(str(line.get("quantity")))
        except InvalidOperation:
            quantity = Decimal("NaN")
        if not quantity.is_finite():
            problems.append(f"{where}: quantity {line.get('quantity')!r} is not a number")
            continue
        if quantity < 0:  # -3 with adjustment_out would be -1 x -3: three units added
            problems.append(
                f"{where}: quantity {line.get('quantity')!r} is negative; the kind {kind} says the sign, "
                "so the quantity is what moved (fix the mapping)"
            )
            continue
        warehouse = str(line.get("location") or document.get("location") or "")
        location = locations.get(warehouse)
        if location is None:
            known = ", ".join(sorted(locations)) or "none"
            problems.append(
                f"{where}: warehouse {warehouse or '(none)'} has no NetSuite location in the endpoint's "
                f"locations (known: {known}); add it"
            )
            continue
        item = lookup(sku, upc)
        if item is None:
            problems.append(
                f"{where}: NetSuite has no item with {' / '.join(v for v in (sku, upc) if v) or 'no SKU or UPC'} "
                "(add it to NetSuite or fix the item cross-reference, then replay)"
            )
            continue
        changes = by_location.setdefault(location, {})
        changes[item] = changes.get(item, Decimal(0)) + sign * quantity
        warehouses.setdefault(location, warehouse)
    if problems:
        raise TransformError(
            f"GoodsMovement {movement}: NetSuite cannot post it as an inventory adjustment, nothing was posted: "
            + "; ".join(problems[:20])
            + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""),
            movement_id=movement,
        )
    date = document.get("movement_date")
    plans = []
    for location, changes in by_location.items():
        kept = {item: qty for item, qty in changes.items() if qty != 0}
        if not kept:
            continue
        warehouse = warehouses[location]
        plans.append(
            AdjustmentPlan(
                external_id=external_id(f"{movement}@{warehouse}:{order_key(key)}", prefix),
                location=location,
                warehouse=warehouse,
                changes=kept,
                memo=f"WMS adjustment {movement} at {warehouse}"[:999],
                date=dt.date.fromisoformat(str(date)) if date else None,
            )
        )
    return plans


__all__ = ["SIGNS", "STOCK_UNITS", "AdjustmentPlan", "adjustment_plans"]
