"""InventoryAdvice (X12 846): stock per item (and per location) as of a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .common import Code, DateRef, DocumentMeta, Note, Party, ProductIds, Purpose, Reference

_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class InventoryItem:
    """Stock of one product at one location (X12 LIN loop: LIN, PID, DTM, QTY).

    A product stocked at several locations is several items with the same ``product_ids``.

    Fields:
        product_ids: the item's identifiers by kind (LIN)
        unit: unit of measure of every quantity of this item (QTY03)
        on_hand: physically in stock (QTY 17)
        committed: on hand but promised to orders (QTY 27 in the bundled samples' guide)
        available: free to sell, usually on_hand minus committed (QTY 33)
        on_order: ordered from the vendor's own supply, not yet received (QTY 02 / 72)
        backordered: owed to customers, not yet available (QTY 63)
        description: the item described in words (PID)
        location: the location's ID, when quantities are per location (SDQ, N1 in the LIN loop)
        as_of_date: the date the quantities are valid for (DTM 018)
        next_available_date: when more stock is expected (DTM 169)
        next_available_quantity: how much more is expected then
        unit_price: the vendor's price of one unit (CTP)
    """

    product_ids: ProductIds
    unit: str
    on_hand: Decimal | None = None
    committed: Decimal | None = None
    available: Decimal | None = None
    on_order: Decimal | None = None
    backordered: Decimal | None = None
    description: str | None = None
    location: str | None = None
    as_of_date: dt.date | None = None
    next_available_date: dt.date | None = None
    next_available_quantity: Decimal | None = None
    unit_price: Decimal | None = None


@_MODEL
class InventoryAdvice:
    """A vendor's or warehouse's report of stock (X12 846).

    Fields:
        advice_number: the sender's identifier of this report (BIA03)
        advice_date: the date of the report (BIA04)
        advice_time: the time of the report (BIA05)
        purpose: why it was sent (BIA01)
        report_type: what the report covers, e.g. ``seller_inventory``, ``warehouse_inventory`` (BIA02)
        vendor_number: the buyer's number for the vendor (REF IA)
        location: the location all items are at, when they share one (N1 WH's ID)
        parties: vendor, warehouse, ... (N1 loop)
        references: other reference numbers (REF)
        dates: other dates (DTM)
        notes: free text
        items: the stock per item (and location)
        meta: where the document came from
    """

    advice_number: str
    advice_date: dt.date
    advice_time: dt.time | None = None
    purpose: Purpose = Purpose.ORIGINAL
    report_type: Code | None = None
    vendor_number: str | None = None
    location: str | None = None
    parties: tuple[Party, ...] = ()
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    items: tuple[InventoryItem, ...] = ()
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
