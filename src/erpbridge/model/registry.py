"""The canonical document kinds, by the name used as the JSON ``kind`` discriminator."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

from .inventory import InventoryAdvice
from .invoice import Invoice
from .movements import GoodsMovement
from .orders import OrderAck, PurchaseOrder
from .shipping import ShipNotice
from .warehouse import WarehouseShippingAdvice, WarehouseShippingOrder

Document: TypeAlias = (
    PurchaseOrder
    | OrderAck
    | ShipNotice
    | InventoryAdvice
    | Invoice
    | WarehouseShippingOrder
    | WarehouseShippingAdvice
    | GoodsMovement
)

DOCUMENT_TYPES: Final[Mapping[str, type[Document]]] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (
            PurchaseOrder,
            OrderAck,
            ShipNotice,
            InventoryAdvice,
            Invoice,
            WarehouseShippingOrder,
            WarehouseShippingAdvice,
            GoodsMovement,
        )
    }
)
"""Every document class by its kind name, in the order of the X12 sets (850, 855, 856, 846, 810, 940, 945),
then GoodsMovement (SAP WMMBXY; X12 944/947)."""

KINDS: Final[tuple[str, ...]] = tuple(DOCUMENT_TYPES)
