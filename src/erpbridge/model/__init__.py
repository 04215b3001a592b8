"""The canonical document model: business documents in business terms, between partners and ERPs.

Partner X12 maps to these documents and these documents map to SAP, NetSuite or a WMS (and back),
so N partners and M systems need N + M mappings. Fields are named for what they mean
(``po_number``, ``requested_ship_date``), never for where X12 keeps them (``BEG03``); the X12 origin
is noted in each field's description for the mapping author.

=========================  ====  ===============================================================
document                   X12   shape
=========================  ====  ===============================================================
PurchaseOrder              850   header, parties, terms, lines (PurchaseOrderLine)
OrderAck                   855   header, lines (OrderAckLine) each with LineAcknowledgment s
ShipNotice                 856   shipment → orders (ShipmentOrder) → packs (ShipmentPack, SSCC)
                                 → items (ShipmentItem); loose items directly under the order
InventoryAdvice            846   header, items (InventoryItem: on_hand / committed / available)
Invoice                    810   header, parties, terms, lines (InvoiceLine), totals
WarehouseShippingOrder     940   header, parties, lines (WarehouseOrderLine)
WarehouseShippingAdvice    945   header, parties, lines (WarehouseAdviceLine)
GoodsMovement              947   header, lines (GoodsMovementLine: kind, quantity, location); SAP WMMBXY
=========================  ====  ===============================================================

Design choices:

- **Frozen, slotted, keyword-only dataclasses**, standard library only. A document is a value: it
  can be hashed, compared, cached and shared between threads; changing one means
  :func:`dataclasses.replace`. Keyword-only construction keeps call sites readable and lets
  required fields follow optional ones.
- **Decimal for every quantity and amount**, ``datetime.date`` / ``datetime.time`` for dates and
  times (no time zones: EDI dates are local to the partner). Sequences are tuples. Optional fields
  default to None, sequences to ``()``.
- **Product IDs are a** :class:`ProductIds` **mapping** (kind → value: ``upc``, ``gtin``,
  ``vendor_sku``...). Not ``MappingProxyType``, which is read-only but neither hashable nor
  truly frozen (it is a view of a dict someone may still hold), nor a bare tuple of pairs, which is
  awkward to read (``ids["upc"]``) and compares by order. ProductIds is an immutable, hashable
  ``Mapping[str, str]`` whose equality ignores order; in JSON it is a plain object.
- **Open vocabularies are snake_case codes** (``Code``: party roles, ID kinds, reference kinds,
  transport methods) so a partner's unusual value can still be carried; the conventional values are
  listed in the field descriptions. **Closed vocabularies are enums** (:class:`Purpose`,
  :class:`AckStatus`, :class:`LineStatus`, :class:`ChargeType`).
- **Parties are a tuple of** :class:`Party` **with a role**, not one field per role: partners name
  many roles (ship_to, bill_to, mark_for, store, remit_to...). ``doc.party("ship_to")`` finds one.
- Where documents come from (partner, control numbers, erpbridge's document ID) is in the optional
  :class:`DocumentMeta` ``meta`` field, which the ledger reads.
- **JSON** (:func:`to_json`, :func:`from_json`): a ``"kind"`` discriminator, decimals as strings,
  ISO 8601 dates; strict reading with errors that name the JSON path. **JSON Schemas**
  (:func:`json_schema`) are generated from the same type walk the codec uses, so they cannot
  disagree; see docs/model.md.

This package imports only the standard library and :mod:`erpbridge.errors`.
"""

from __future__ import annotations

from .codec import dumps, from_json, loads, to_json
from .common import (
    Address,
    AllowanceCharge,
    Carrier,
    ChargeType,
    Code,
    Contact,
    DateRef,
    DocumentMeta,
    FreightTerms,
    Measure,
    Note,
    PackInfo,
    Party,
    PaymentTerms,
    ProductIds,
    Purpose,
    Reference,
)
from .inventory import InventoryAdvice, InventoryItem
from .invoice import Invoice, InvoiceLine
from .movements import GoodsMovement, GoodsMovementLine
from .orders import (
    AckStatus,
    LineAcknowledgment,
    LineStatus,
    OrderAck,
    OrderAckLine,
    PurchaseOrder,
    PurchaseOrderLine,
)
from .registry import DOCUMENT_TYPES, KINDS, Document
from .schema import json_schema, schema_text
from .shipping import ShipmentItem, ShipmentOrder, ShipmentPack, ShipNotice
from .warehouse import (
    WarehouseAdviceLine,
    WarehouseOrderLine,
    WarehouseShippingAdvice,
    WarehouseShippingOrder,
)

__all__ = [
    "DOCUMENT_TYPES",
    "KINDS",
    "AckStatus",
    "Address",
    "AllowanceCharge",
    "Carrier",
    "ChargeType",
    "Code",
    "Contact",
    "DateRef",
    "Document",
    "DocumentMeta",
    "FreightTerms",
    "GoodsMovement",
    "GoodsMovementLine",
    "InventoryAdvice",
    "InventoryItem",
    "Invoice",
    "InvoiceLine",
    "LineAcknowledgment",
    "LineStatus",
    "Measure",
    "Note",
    "OrderAck",
    "OrderAckLine",
    "PackInfo",
    "Party",
    "PaymentTerms",
    "ProductIds",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Purpose",
    "Reference",
    "ShipNotice",
    "ShipmentItem",
    "ShipmentOrder",
    "ShipmentPack",
    "WarehouseAdviceLine",
    "WarehouseOrderLine",
    "WarehouseShippingAdvice",
    "WarehouseShippingOrder",
    "dumps",
    "from_json",
    "json_schema",
    "loads",
    "schema_text",
    "to_json",
]
