"""Invoice (X12 810): what the seller bills for shipped goods."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .common import (
    AllowanceCharge,
    Carrier,
    Code,
    Currency,
    DateRef,
    DocumentMeta,
    FreightTerms,
    Measure,
    Note,
    Party,
    PaymentTerms,
    ProductIds,
    Purpose,
    Reference,
)

_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class InvoiceLine:
    """One billed item (X12 IT1 loop).

    Fields:
        line_number: the line number, usually the purchase order's line number (IT101)
        quantity: the quantity billed (IT102)
        unit: unit of measure of ``quantity`` (IT103)
        unit_price: the price of one unit (IT104)
        product_ids: the item's identifiers by kind (IT106-IT125)
        description: the item described in words (PID)
        amount: the line's extended amount, when stated; otherwise quantity × unit_price
        allowances_charges: line allowances and charges (SAC)
        notes: free text for the line
    """

    line_number: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    product_ids: ProductIds = ProductIds()
    description: str | None = None
    amount: Decimal | None = None
    allowances_charges: tuple[AllowanceCharge, ...] = ()
    notes: tuple[Note, ...] = ()


@_MODEL
class Invoice:
    """A seller's invoice (X12 810). Amounts are in ``currency``, as decimals (376.50, not X12's 37650).

    Fields:
        invoice_number: the seller's invoice number (BIG02)
        invoice_date: the invoice date (BIG01)
        total_amount: the amount due, after allowances, charges and taxes (TDS01)
        po_number: the purchase order billed (BIG04)
        po_date: that order's date (BIG03)
        purpose: why it was sent (BIG07/BIG08)
        invoice_type: ``debit`` (the default meaning) or ``credit_memo``, ``debit_memo`` (BIG07)
        vendor_number: the buyer's number for the vendor (REF IA)
        department: the buyer's department number (REF DP)
        bill_of_lading: the shipment's bill of lading number (REF BM)
        shipment_id: the ship notice's shipment ID (REF SI)
        currency: ISO 4217 currency of all amounts (CUR02)
        ship_date: the date the goods shipped (DTM 011)
        parties: remit_to, bill_to, ship_to, vendor, ... (N1 loop)
        payment_terms: terms of payment (ITD)
        freight_terms: who pays freight (FOB)
        carrier: the carrier (CAD)
        package_count: the number of packages shipped (ISS01)
        gross_weight: the shipment's weight (ISS03-ISS04)
        lines: the billed items
        allowances_charges: invoice-level allowances and charges (SAC)
        subtotal_amount: the amount subject to terms discount (TDS02)
        tax_amount: the total tax (TXI)
        references: other reference numbers (REF)
        dates: other dates (DTM)
        notes: free text (NTE)
        meta: where the document came from
    """

    invoice_number: str
    invoice_date: dt.date
    total_amount: Decimal
    po_number: str | None = None
    po_date: dt.date | None = None
    purpose: Purpose = Purpose.ORIGINAL
    invoice_type: Code | None = None
    vendor_number: str | None = None
    department: str | None = None
    bill_of_lading: str | None = None
    shipment_id: str | None = None
    currency: Currency | None = None
    ship_date: dt.date | None = None
    parties: tuple[Party, ...] = ()
    payment_terms: PaymentTerms | None = None
    freight_terms: FreightTerms | None = None
    carrier: Carrier | None = None
    package_count: int | None = None
    gross_weight: Measure | None = None
    lines: tuple[InvoiceLine, ...] = ()
    allowances_charges: tuple[AllowanceCharge, ...] = ()
    subtotal_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    references: tuple[Reference, ...] = ()
    dates: tuple[DateRef, ...] = ()
    notes: tuple[Note, ...] = ()
    meta: DocumentMeta | None = None

    def party(self, role: str) -> Party | None:
        """The first party with this role, or None."""
        return next((p for p in self.parties if p.role == role), None)
