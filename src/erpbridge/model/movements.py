"""GoodsMovement: stock that moved in a warehouse (received, issued, adjusted, transferred, scrapped).

SAP reports these as WMMBXY IDocs (WMMBID02); X12's nearest sets are the 944 (stock transfer
receipt advice) and 947 (inventory adjustment advice). An InventoryAdvice says how much stock there
*is*; a GoodsMovement says how much *moved*, and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .common import Code, DateRef, DocumentMeta, Note, Party, ProductIds, Purpose, Reference

_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class GoodsMovementLine:
    """One product's movement (SAP E1MBXYI).

    ``quantity`` is always positive; ``kind`` says which way the stock went.

    Fields:
        product_ids: the item's identifiers by kind (MATNR)
        quantity: how much moved, a positive amount in ``unit`` (ERFMG)
        unit: unit of measure of ``quantity`` (ERFME)
        kind: ``receipt``, ``receipt_reversal``, ``issue``, ``adjustment_in``, ``adjustment_out``, ``transfer``, ``scrap``, ``return`` (from SAP's movement type BWART)
        reason: why it moved, e.g. ``damaged``, ``count_correction`` (GRUND)
        location: the plant or site the stock is at (WERKS)
        storage_location: the storage location within it (LGORT)
        to_location: for a transfer, the receiving plant or site (UMWRK)
        to_storage_location: for a transfer, the receiving storage location (UMLGO)
        lot_number: the batch or lot (CHARG)
        expiration_date: the lot's expiration date (VFDAT)
        po_number: the purchase order received against (EBELN)
        po_line_number: that order's line (EBELP)
        description: the line's text (SGTXT)
        serial_numbers: serial numbers of the units moved (E1MBXYJ)
    """

    product_ids: ProductIds
    quantity: Decimal
    unit: str
    kind: Code
    reason: Code | None = None
    location: str | None = None
    storage_location: str | None = None
    to_location: str | None = None
    to_storage_location: str | None = None
    lot_number: str | None = None
    expiration_date: dt.date | None = None
    po_number: str | None = None
    po_line_number: str | None = None
    description: str | None = None
    serial_numbers: tuple[str, ...] = ()


@_MODEL
class GoodsMovement:
    """A warehouse's report of goods that moved: receipts, issues, adjustments (SAP WMMBXY).

    Fields:
        movement_id: the sender's identifier of this report, e.g. the receipt or adjustment number (XBLNR)
        movement_date: the date the stock moved, the posting date (BUDAT)
        document_date: the date of the report (BLDAT)
        purpose: why it was sent
        location: the plant or site all lines moved at, when they share one
        parties: warehouse, vendor, ...
        references: other reference numbers, e.g. the bill of lading (FRBNR)
        dates: other dates
        notes: free text (BKTXT)
        lines: what moved
        meta: where the document came from
    """

    movement_id: str
    movement_date: dt.date
    document_date: dt.date | None = None
    purpose: Purpose = Purpose.ORIGINAL
    location: str | None = None
    parties: tuple[Party, ...] = ()
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: tuple[GoodsMovementLine, ...] = ()
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
