"""Warehouse orders: the depositor's WarehouseShippingOrder (X12 940) and the warehouse's
WarehouseShippingAdvice (X12 945) reporting what actually shipped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .common import (
    Carrier,
    Code,
    DateRef,
    DocumentMeta,
    FreightTerms,
    Measure,
    Note,
    Party,
    ProductIds,
    Purpose,
    Reference,
    Sscc,
)

_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class WarehouseOrderLine:
    """One item to pick and ship (X12 LX loop: W01, G69).

    Fields:
        line_number: the line number (LX01)
        quantity: the quantity to ship (W0101)
        unit: unit of measure of ``quantity`` (W0102)
        product_ids: the item's identifiers by kind (W0103-W0107, W0115-W0116)
        description: the item described in words (G69)
        po_line_number: the purchase order line this fills (N9 LI)
        lot_number: ship from this lot only (W0118 / N9 LT)
        notes: picking or packing instructions (NTE)
    """

    line_number: str
    quantity: Decimal
    unit: str
    product_ids: ProductIds = ProductIds()
    description: str | None = None
    po_line_number: str | None = None
    lot_number: str | None = None
    notes: tuple[Note, ...] = ()


@_MODEL
class WarehouseShippingOrder:
    """An order to a warehouse (3PL) to ship goods on the depositor's behalf (X12 940).

    Fields:
        order_number: the depositor's order number, the key the 945 answers with (W0502)
        purpose: why it was sent (W0501)
        po_number: the customer's purchase order being filled (W0503)
        customer_order_number: the customer's other order number, if any (W0504)
        department: the customer's department number (N9 DP)
        requested_ship_date: ship on this date (G62 10)
        requested_delivery_date: deliver on this date (G62 02)
        cancel_after_date: do not ship after this date (G62 01)
        parties: ship_to, warehouse, depositor, bill_to, ... (N1 loop)
        carrier: the carrier to use (W66)
        freight_terms: who pays freight (W6601)
        references: other reference numbers (N9)
        dates: other dates (G62)
        notes: instructions for the warehouse (NTE)
        lines: the items to ship
        total_quantity: the total quantity stated by the depositor (W7601)
        total_weight: the total weight stated by the depositor (W7602-W7603)
        meta: where the document came from
    """

    order_number: str
    purpose: Purpose = Purpose.ORIGINAL
    po_number: str | None = None
    customer_order_number: str | None = None
    department: str | None = None
    requested_ship_date: dt.date | None = None
    requested_delivery_date: dt.date | None = None
    cancel_after_date: dt.date | None = None
    parties: tuple[Party, ...] = ()
    carrier: Carrier | None = None
    freight_terms: FreightTerms | None = None
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: tuple[WarehouseOrderLine, ...] = ()
    total_quantity: Decimal | None = None
    total_weight: Measure | None = None
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)


@_MODEL
class WarehouseAdviceLine:
    """What shipped of one order line (X12 LX loop: W12).

    Fields:
        line_number: the line number (LX01)
        shipped_quantity: the quantity shipped (W1203)
        unit: unit of measure of the quantities (W1205)
        status: ``complete``, ``partial``, ``short``, ``cancelled``, ``substituted`` (W1201)
        ordered_quantity: the quantity the 940 asked for (W1202)
        product_ids: the item's identifiers by kind (W1206-W1209, W1216-W1217)
        description: the item described in words
        lot_number: the lot shipped (W1219 / N9 LT)
        sscc: the pack's SSCC-18 when the line shipped in one labelled pack (N9 / MAN)
        tracking_number: the parcel tracking number for this line's pack
        weight: the line's shipped weight (W1210-W1212)
    """

    line_number: str
    shipped_quantity: Decimal
    unit: str
    status: Code | None = None
    ordered_quantity: Decimal | None = None
    product_ids: ProductIds = ProductIds()
    description: str | None = None
    lot_number: str | None = None
    sscc: Sscc | None = None
    tracking_number: str | None = None
    weight: Measure | None = None


@_MODEL
class WarehouseShippingAdvice:
    """A warehouse's report of what it shipped for a warehouse shipping order (X12 945).

    Fields:
        order_number: the depositor's order number from the 940 (W0602)
        ship_date: the date the goods shipped (W0603, G62 11)
        shipment_id: the warehouse's shipment identifier (W0604)
        status: ``final`` or ``partial`` report (W0601)
        po_number: the customer's purchase order filled (W0606)
        bill_of_lading: the bill of lading number (N9 BM)
        tracking_number: the carrier's tracking or PRO number (N9 CN)
        parties: ship_to, ship_from, warehouse, ... (N1 loop)
        carrier: the carrier used (W27)
        freight_terms: who pays freight (W2704)
        references: other reference numbers (N9)
        dates: other dates (G62)
        notes: free text (NTE)
        lines: what shipped per line
        total_quantity: the total quantity shipped (W0301)
        total_weight: the total weight shipped (W0302-W0303)
        package_count: the number of packages (W0305)
        meta: where the document came from
    """

    order_number: str
    ship_date: dt.date
    shipment_id: str | None = None
    status: Code | None = None
    po_number: str | None = None
    bill_of_lading: str | None = None
    tracking_number: str | None = None
    parties: tuple[Party, ...] = ()
    carrier: Carrier | None = None
    freight_terms: FreightTerms | None = None
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: tuple[WarehouseAdviceLine, ...] = ()
    total_quantity: Decimal | None = None
    total_weight: Measure | None = None
    package_count: int | None = None
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
