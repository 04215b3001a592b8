"""A canonical ShipNotice as NetSuite item fulfillments (standard library only, no I/O): what the REST
and SOAP connectors send, worked out from the notice and the sales order's lines.

One item fulfillment per order (PO) of the shipment, transformed from the sales order whose
``otherRefNum`` (NetSuite's "PO #", which the sales order mappings fill) is that PO number:

- **its external ID** is made of the shipment ID and the PO number (``ShipNotice-<shipment>-<PO>``,
  made safe by :func:`~erpbridge.connectors.netsuite_common.external_id`), not of the file the
  notice came in: the same shipment sent again, in this file or another, finds the fulfillment
  it made and makes no second one;
- **its lines**: the notice's items of that order (in packs or loose) summed per item, the item
  found through the connector's cross-reference (``vendor_sku`` or ``sku`` is NetSuite's item
  name, ``upc`` its UPC code), each quantity taken from the order's lines of that item that still
  have something to ship, in line order. An item the order does not have, or more than the order
  has left, is a :class:`~erpbridge.errors.TransformError` naming the PO and the item;
- **its packages**: each pack with a tracking number (``packageTrackingNumber``; the weight in
  pounds, ``packageWeight``; the SSCC and packaging in ``packageDescr``); when no pack of the order
  has one, the shipment's own tracking number (REF CN) as one package (with the shipment's weight
  when the notice holds this order only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ..errors import TransformError
from ..model.common import finite_decimal
from .netsuite_common import external_id

#: Weight units NetSuite's packageWeight (pounds) is converted from.
_TO_POUNDS: Final[Mapping[str, Decimal]] = {
    "LB": Decimal(1),
    "LBS": Decimal(1),
    "KG": Decimal("2.20462262"),
    "OZ": Decimal("0.0625"),
    "G": Decimal("0.00220462262"),
}


@dataclass(frozen=True)
class ShippedItem:
    """An item of one order of the notice, its quantities summed: SKU (``itemid``) and/or UPC."""

    sku: str | None
    upc: str | None
    quantity: Decimal

    @property
    def shown(self) -> str:
        return (
            " / ".join(f"{k} {v}" for k, v in (("SKU", self.sku), ("UPC", self.upc)) if v) or "no SKU or UPC"
        )


@dataclass(frozen=True)
class Package:
    """One package of an item fulfillment (the ``package`` sublist): tracking number, weight (in
    pounds, NetSuite's ``packageWeight``), description."""

    tracking_number: str
    weight: Decimal | None = None
    description: str | None = None


@dataclass(frozen=True)
class FulfillmentPlan:
    """The item fulfillment one order of a ShipNotice becomes (see the module)."""

    shipment_id: str
    po_number: str
    external_id: str
    items: tuple[ShippedItem, ...]
    packages: tuple[Package, ...]
    ship_date: str | None


@dataclass(frozen=True)
class OrderLine:
    """A sales order line as NetSuite has it: its line number (``orderLine`` of the transform), the
    item's internal ID, the quantity ordered and the quantity fulfilled already."""

    line: int
    item: str
    quantity: Decimal
    fulfilled: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.quantity - self.fulfilled)


def fulfillment_plans(notice: Mapping[str, Any], *, prefix: str = "") -> list[FulfillmentPlan]:
    """The item fulfillments of a canonical ShipNotice (JSON), one per order, in the notice's order."""
    shipment = str(notice.get("shipment_id") or "").strip()
    if not shipment:
        raise TransformError("the ShipNotice has no shipment_id to name its NetSuite item fulfillments by")
    orders = [o for o in _list(notice.get("orders")) if isinstance(o, Mapping)]
    if not orders:
        raise TransformError(f"ShipNotice {shipment} has no orders: nothing to fulfil in NetSuite")
    # orders of one PO (an 856 packed by store has an order level per store, all with the PO) are one
    # fulfillment: its external ID is per shipment and PO, so a second one would find the first and
    # its items would never be fulfilled
    by_po: dict[str, tuple[int, dict[str, list[Any]]]] = {}
    for n, order in enumerate(orders):
        po = str(order.get("po_number") or "").strip()
        if not po:
            raise TransformError(
                f"ShipNotice {shipment}, orders[{n}]: no po_number to find the NetSuite sales order by"
            )
        _, merged = by_po.setdefault(po, (n, {"packs": [], "items": []}))
        merged["packs"] += _list(order.get("packs"))
        merged["items"] += _list(order.get("items"))
    plans = []
    for po, (n, order) in by_po.items():
        where = f"ShipNotice {shipment}, orders[{n}]"
        items = _items(order, where=f"{where} (PO {po})")
        if not items:
            raise TransformError(f"{where} (PO {po}): no items shipped")
        plans.append(
            FulfillmentPlan(
                shipment_id=shipment,
                po_number=po,
                external_id=external_id(f"ShipNotice-{shipment}-{po}", prefix),
                items=items,
                packages=_packages(notice, order, alone=len(by_po) == 1),
                ship_date=str(notice["ship_date"]) if notice.get("ship_date") else None,
            )
        )
    return plans


def fulfillment_lines(
    plan: FulfillmentPlan,
    order_lines: Sequence[OrderLine],
    lookup: Callable[[str | None, str | None], str | None],
) -> list[tuple[int, Decimal]]:
    """``(orderLine, quantity)`` for the transform: each shipped item's quantity spread over the
    order's open lines of that item, in line order (``lookup(sku, upc)`` gives its internal ID)."""
    left = {line.line: line.remaining for line in order_lines}
    taken: dict[int, Decimal] = {}
    for item in plan.items:
        found = lookup(item.sku, item.upc)
        if found is None:
            raise TransformError(
                f"PO {plan.po_number}: NetSuite has no item with {item.shown} (add it to NetSuite or fix "
                "the item cross-reference, then retry)",
                po_number=plan.po_number,
                sku=item.sku,
                upc=item.upc,
            )
        lines = sorted((line for line in order_lines if line.item == found), key=lambda x: x.line)
        if not lines:
            raise TransformError(
                f"PO {plan.po_number}: the NetSuite sales order has no line with {item.shown} (internal ID "
                f"{found}): the warehouse shipped an item that was not ordered",
                po_number=plan.po_number,
                sku=item.sku,
                upc=item.upc,
            )
        need = item.quantity
        for line in lines:
            take = min(need, left[line.line])
            if take > 0:
                taken[line.line] = taken.get(line.line, Decimal(0)) + take
                left[line.line] -= take
                need -= take
        if need > 0:
            open_qty = sum((line.remaining for line in lines), Decimal(0))
            raise TransformError(
                f"PO {plan.po_number}: {item.quantity} of {item.shown} shipped, but the NetSuite sales order "
                f"has {open_qty} left to fulfil on that item",
                po_number=plan.po_number,
                sku=item.sku,
                upc=item.upc,
            )
    return sorted(taken.items())


def _items(order: Mapping[str, Any], *, where: str) -> tuple[ShippedItem, ...]:
    found: dict[tuple[str | None, str | None], Decimal] = {}
    packs = [p for p in _list(order.get("packs")) if isinstance(p, Mapping)]
    loose = [i for p in packs for i in _list(p.get("items"))] + _list(order.get("items"))
    for n, item in enumerate(loose):
        if not isinstance(item, Mapping):
            continue
        raw = item.get("product_ids")
        ids: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        sku = ids.get("vendor_sku") or ids.get("sku")
        upc = ids.get("upc")
        if not sku and not upc:
            raise TransformError(
                f"{where}: item {n + 1} has no vendor_sku, sku or upc to find it by in NetSuite"
            )
        quantity = finite_decimal(item.get("quantity"))
        if quantity is None or quantity <= 0:
            raise TransformError(f"{where}: item {n + 1} has no quantity shipped ({item.get('quantity')!r})")
        key = (str(sku) if sku else None, str(upc) if upc else None)
        found[key] = found.get(key, Decimal(0)) + quantity
    return tuple(ShippedItem(sku, upc, qty) for (sku, upc), qty in found.items())


def _packages(notice: Mapping[str, Any], order: Mapping[str, Any], *, alone: bool) -> tuple[Package, ...]:
    out = []
    for pack in _list(order.get("packs")):
        if not isinstance(pack, Mapping) or not pack.get("tracking_number"):
            continue
        words = [
            str(pack["packaging"]) if pack.get("packaging") else "",
            f"SSCC {pack['sscc']}" if pack.get("sscc") else "",
        ]
        out.append(
            Package(
                str(pack["tracking_number"]),
                _pounds(pack.get("weight")),
                " ".join(w for w in words if w) or None,
            )
        )
    if not out and notice.get("tracking_number"):
        out.append(
            Package(
                str(notice["tracking_number"]),
                _pounds(notice.get("gross_weight")) if alone else None,
                f"shipment {notice.get('shipment_id')}",
            )
        )
    return tuple(out)


def _pounds(measure: Any) -> Decimal | None:
    if not isinstance(measure, Mapping):
        return None
    value = finite_decimal(measure.get("value"))
    factor = _TO_POUNDS.get(str(measure.get("unit") or "").upper())
    if value is None or factor is None:
        return None
    return (value * factor).quantize(Decimal("0.01"))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping) else []


__all__ = [
    "FulfillmentPlan",
    "OrderLine",
    "Package",
    "ShippedItem",
    "fulfillment_lines",
    "fulfillment_plans",
]
