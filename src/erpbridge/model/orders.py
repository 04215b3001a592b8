"""Orders: the buyer's PurchaseOrder (X12 850) and the seller's OrderAck (X12 855)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .common import (
    AllowanceCharge,
    Carrier,
    Code,
    Contact,
    Currency,
    DateRef,
    DocumentMeta,
    FreightTerms,
    Note,
    PackInfo,
    Party,
    PaymentTerms,
    ProductIds,
    Purpose,
    Reference,
)

_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class PurchaseOrderLine:
    """One ordered item (X12 PO1 loop).

    Fields:
        line_number: the buyer's line number, kept as text ("1", "0001") (PO101)
        quantity: the quantity ordered (PO102)
        unit: the unit of measure code as exchanged, e.g. ``EA``, ``CA``, ``PK`` (PO103)
        unit_price: the price of one ``unit``, in the order's currency (PO104)
        price_basis: what the price is, e.g. ``contract``, ``wholesale``, ``net`` (PO105)
        retail_price: the suggested retail price of one unit (CTP RES)
        product_ids: the item's identifiers by kind: ``upc``, ``gtin``, ``ean``, ``buyer_part``,
            ``vendor_sku``, ``isbn``, ... (PO106-PO125)
        description: the item described in words (PID05 with PID01 ``F``)
        color: the item's color in words (PID with PID02 ``75``)
        size: the item's size in words (PID with PID02 ``91``)
        pack: how the item is packed (PO4)
        requested_ship_date: a line-level ship date, when it differs from the order's (DTM 010)
        requested_delivery_date: a line-level delivery date, when it differs from the order's (DTM 002)
        allowances_charges: line allowances and charges (SAC)
        notes: free text for the line (MSG, NTE)
    """

    line_number: str
    quantity: Decimal
    unit: str
    unit_price: Decimal | None = None
    price_basis: Code | None = None
    retail_price: Decimal | None = None
    product_ids: ProductIds = ProductIds()
    description: str | None = None
    color: str | None = None
    size: str | None = None
    pack: PackInfo | None = None
    requested_ship_date: dt.date | None = None
    requested_delivery_date: dt.date | None = None
    allowances_charges: tuple[AllowanceCharge, ...] = ()
    notes: tuple[Note, ...] = ()


@_MODEL
class PurchaseOrder:
    """A buyer's order for goods (X12 850).

    Fields:
        po_number: the buyer's purchase order number (BEG03)
        order_date: the date of the order (BEG05)
        purpose: why it was sent: ``original``, ``cancel``, ``change``, ... (BEG01)
        order_type: ``stand_alone``, ``blanket``, ``release``, ``dropship``, ``rush``, ... (BEG02)
        release_number: the release against a blanket order (BEG04)
        requested_ship_date: ship on this date (DTM 010)
        requested_delivery_date: deliver on this date (DTM 002)
        cancel_after_date: cancel what has not shipped by this date (DTM 001)
        department: the buyer's department number (REF DP)
        vendor_number: the buyer's number for the vendor (REF IA)
        promotion_number: the promotion or deal number (REF PD)
        customer_order_number: the end customer's order number, for drop shipments (REF CO)
        currency: ISO 4217 currency of all prices (CUR02); absent means the partner's default
        parties: ship_to, bill_to, ship_from, buyer, vendor, ... (N1 loop)
        contacts: contacts for the order as a whole (PER)
        payment_terms: terms of payment (ITD)
        freight_terms: who pays freight (FOB)
        carrier: requested carrier and routing (TD5)
        allowances_charges: order-level allowances and charges (SAC)
        references: other reference numbers (REF)
        dates: other dates (DTM)
        notes: free text (MSG, NTE)
        lines: the ordered items
        total_amount: the order total stated by the buyer (AMT TT), if any
        meta: where the document came from
    """

    po_number: str
    order_date: dt.date
    purpose: Purpose = Purpose.ORIGINAL
    order_type: Code | None = None
    release_number: str | None = None
    requested_ship_date: dt.date | None = None
    requested_delivery_date: dt.date | None = None
    cancel_after_date: dt.date | None = None
    department: str | None = None
    vendor_number: str | None = None
    promotion_number: str | None = None
    customer_order_number: str | None = None
    currency: Currency | None = None
    parties: tuple[Party, ...] = ()
    contacts: tuple[Contact, ...] = ()
    payment_terms: PaymentTerms | None = None
    freight_terms: FreightTerms | None = None
    carrier: Carrier | None = None
    allowances_charges: tuple[AllowanceCharge, ...] = ()
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: tuple[PurchaseOrderLine, ...] = ()
    total_amount: Decimal | None = None
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role (``ship_to``, ``bill_to``...), or None."""
        return next((p for p in self.parties if p.role == role), None)


class AckStatus(StrEnum):
    """The seller's answer to a whole order (X12 BAK02)."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"
    REJECTED = "rejected"


class LineStatus(StrEnum):
    """The seller's answer to one line, or to part of its quantity (X12 ACK01)."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"
    BACKORDERED = "backordered"
    REJECTED = "rejected"
    DELETED = "deleted"
    ON_HOLD = "on_hold"
    SUBSTITUTED = "substituted"
    PRICE_CHANGED = "price_changed"
    QUANTITY_CHANGED = "quantity_changed"
    DATE_CHANGED = "date_changed"
    SHIPPED = "shipped"


@_MODEL
class LineAcknowledgment:
    """What the seller will do with (part of) a line's quantity (X12 ACK).

    Fields:
        status: what happens to this quantity (ACK01)
        quantity: the quantity this status applies to (ACK02)
        unit: unit of measure of ``quantity`` (ACK03)
        scheduled_ship_date: when it is expected to ship (ACK05 with ACK04 ``068``)
        scheduled_delivery_date: when it is expected to arrive (ACK05 with ACK04 ``067``)
        unit_price: the price the seller will charge, when it differs from the order's
    """

    status: LineStatus
    quantity: Decimal | None = None
    unit: str | None = None
    scheduled_ship_date: dt.date | None = None
    scheduled_delivery_date: dt.date | None = None
    unit_price: Decimal | None = None


@_MODEL
class OrderAckLine:
    """One acknowledged order line (X12 PO1 loop of the 855).

    Fields:
        line_number: the buyer's line number from the order (PO101)
        quantity: the quantity ordered (PO102)
        unit: unit of measure of ``quantity`` (PO103)
        unit_price: the price of one unit (PO104)
        product_ids: the item's identifiers by kind (PO106-PO125)
        description: the item described in words (PID)
        acknowledgments: the seller's answer, possibly split: 20 accepted and 4 backordered (ACK)
    """

    line_number: str
    quantity: Decimal
    unit: str
    unit_price: Decimal | None = None
    product_ids: ProductIds = ProductIds()
    description: str | None = None
    acknowledgments: tuple[LineAcknowledgment, ...] = ()


@_MODEL
class OrderAck:
    """The seller's acknowledgment of a purchase order (X12 855).

    Fields:
        po_number: the purchase order acknowledged (BAK03)
        status: the answer to the whole order (BAK02)
        order_date: the purchase order's date (BAK04)
        ack_date: the date of this acknowledgment (BAK09)
        purpose: why it was sent (BAK01)
        sales_order_number: the seller's own order number (BAK08)
        vendor_number: the buyer's number for the vendor (REF IA)
        currency: ISO 4217 currency of all prices (CUR02)
        parties: parties named in the acknowledgment (N1 loop)
        references: other reference numbers (REF)
        dates: other dates (DTM)
        notes: free text (MSG, NTE)
        lines: the acknowledged lines
        meta: where the document came from
    """

    po_number: str
    status: AckStatus
    order_date: dt.date | None = None
    ack_date: dt.date | None = None
    purpose: Purpose = Purpose.ORIGINAL
    sales_order_number: str | None = None
    vendor_number: str | None = None
    currency: Currency | None = None
    parties: tuple[Party, ...] = ()
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: tuple[OrderAckLine, ...] = ()
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
