"""ShipNotice (X12 856): a shipment, the orders in it, the packs (cartons) of each order, the items."""

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
class ShipmentItem:
    """A quantity of one product in a pack or order (X12 HL item level: LIN, SN1, PID).

    Fields:
        product_ids: the item's identifiers by kind (LIN)
        quantity: the quantity shipped (SN102)
        unit: unit of measure of ``quantity`` (SN103)
        line_number: the purchase order line this ships against (LIN01 or SN101)
        ordered_quantity: the quantity ordered on that line (SN105)
        description: the item described in words (PID)
        lot_number: the production lot (REF LT)
        serial_numbers: serial numbers of the units shipped (REF SE)
        expiration_date: the lot's expiration date (DTM 036)
    """

    product_ids: ProductIds
    quantity: Decimal
    unit: str
    line_number: str | None = None
    ordered_quantity: Decimal | None = None
    description: str | None = None
    lot_number: str | None = None
    serial_numbers: tuple[str, ...] = ()
    expiration_date: dt.date | None = None


@_MODEL
class ShipmentPack:
    """A carton or pallet with its SSCC label (X12 HL pack level: MAN GM).

    Fields:
        sscc: the SSCC-18 on the label, 18 digits, without the ``00`` application identifier
        tracking_number: the parcel carrier's tracking number for this pack (REF CN, MAN CP)
        packaging: ``carton``, ``pallet``, ``case``, ``tote`` (PO4, TD1)
        weight: the pack's gross weight (TD1, PO4)
        items: what is in the pack
    """

    sscc: Sscc | None = None
    tracking_number: str | None = None
    packaging: Code | None = None
    weight: Measure | None = None
    items: tuple[ShipmentItem, ...] = ()


@_MODEL
class ShipmentOrder:
    """One purchase order in a shipment (X12 HL order level: PRF).

    Fields:
        po_number: the purchase order shipped against (PRF01)
        po_date: that order's date (PRF04)
        release_number: the release against a blanket order (PRF02)
        department: the buyer's department number (REF DP)
        vendor_number: the buyer's number for the vendor (REF IA)
        invoice_number: the invoice for this order, if already known (REF IV)
        parties: order-level parties, e.g. ``mark_for`` or ``store`` (N1 BY/Z7)
        packs: the packs for this order (pick-and-pack structure)
        items: items shipped loose, not in a pack (standard-carton structure, or no packs at all)
    """

    po_number: str
    po_date: dt.date | None = None
    release_number: str | None = None
    department: str | None = None
    vendor_number: str | None = None
    invoice_number: str | None = None
    parties: tuple[Party, ...] = ()
    packs: tuple[ShipmentPack, ...] = ()
    items: tuple[ShipmentItem, ...] = ()


@_MODEL
class ShipNotice:
    """An advance ship notice: what left the dock, for whom, in which packs (X12 856).

    Fields:
        shipment_id: the shipper's identifier of this shipment (BSN02)
        ship_date: the date the goods shipped (DTM 011)
        notice_date: the date the notice was made (BSN03)
        notice_time: the time the notice was made (BSN04)
        purpose: why it was sent (BSN01)
        estimated_delivery_date: when the goods should arrive (DTM 017)
        carrier: the carrier and routing (TD5)
        tracking_number: the carrier's tracking or PRO number for the shipment (REF CN)
        bill_of_lading: the bill of lading number (REF BM)
        packaging: how the shipment is packed, e.g. ``carton``, ``pallet`` (TD101)
        package_count: the number of packages (TD102)
        gross_weight: the shipment's gross weight (TD106-TD108)
        volume: the shipment's volume (TD109-TD110)
        freight_terms: who pays freight (FOB)
        parties: ship_to, ship_from, vendor, ... (N1 loop)
        references: other reference numbers (REF)
        dates: other dates (DTM)
        notes: free text (NTE)
        orders: the orders in this shipment
        meta: where the document came from
    """

    shipment_id: str
    ship_date: dt.date
    notice_date: dt.date | None = None
    notice_time: dt.time | None = None
    purpose: Purpose = Purpose.ORIGINAL
    estimated_delivery_date: dt.date | None = None
    carrier: Carrier | None = None
    tracking_number: str | None = None
    bill_of_lading: str | None = None
    packaging: Code | None = None
    package_count: int | None = None
    gross_weight: Measure | None = None
    volume: Measure | None = None
    freight_terms: FreightTerms | None = None
    parties: tuple[Party, ...] = ()
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    orders: tuple[ShipmentOrder, ...] = ()
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
