"""Catalog drift: the ERP's item master against the WMS's, per SKU (pure: items in, drift out).

The seeds ask for a daily count of "SKUs with mismatched weight, dim, HS code", reviewed, not paged.
:func:`compare` takes both sides' items (:class:`~erpbridge.catalog.items.CatalogItem`, pounds and
inches) and returns one :class:`Drift` per SKU and field that differs:

- ``differs``: both sides have a value and they differ by more than the tolerance (weights and
  dimensions: more than both the absolute tolerance and the percentage of the ERP's value; the HS
  code: any difference once dots and blanks are removed);
- ``missing_in_wms`` / ``missing_in_erp``: the value is on one side only (the WMS cannot rate a
  parcel without a weight, nor file an export without an HS code);
- ``sku_missing_in_wms`` / ``sku_missing_in_erp``: the whole SKU is on one side only (field ``sku``).

A field neither side has is no drift (the catalog lacks it, which :func:`compare` cannot fix; the
item master job reports items without a weight). The order is SKU, then field, so two runs over the
same data give the same list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from .items import DIMENSIONS, CatalogItem

DriftKind = Literal["differs", "missing_in_wms", "missing_in_erp", "sku_missing_in_wms", "sku_missing_in_erp"]
#: The fields compared, in the order drift is listed.
FIELDS: Final = ("weight_lb", *DIMENSIONS, "hs_code")


@dataclass(frozen=True)
class Tolerance:
    """How far a measure may differ before it is drift: more than ``weight_lb`` pounds (or
    ``length_in`` inches) **and** more than ``pct`` percent of the ERP's value."""

    weight_lb: Decimal = Decimal("0.01")
    length_in: Decimal = Decimal("0.1")
    pct: Decimal = Decimal(0)

    def exceeded(self, field: str, erp: Decimal, wms: Decimal) -> bool:
        diff = abs(erp - wms)
        absolute = self.weight_lb if field == "weight_lb" else self.length_in
        return diff > absolute and diff * 100 > self.pct * abs(erp)


@dataclass(frozen=True)
class Drift:
    """One difference: the SKU, the field, each side's value (None: missing) and what kind."""

    sku: str
    field: str
    kind: DriftKind
    erp: str | None
    wms: str | None

    def __str__(self) -> str:
        if self.kind == "sku_missing_in_wms":
            return f"{self.sku}: in the ERP's item master, not in the WMS's"
        if self.kind == "sku_missing_in_erp":
            return f"{self.sku}: in the WMS's item master, not in the ERP's"
        return f"{self.sku}: {self.field} ERP {self.erp or '(none)'}, WMS {self.wms or '(none)'}"


def _shown(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


def compare(
    erp: Iterable[CatalogItem],
    wms: Iterable[CatalogItem],
    tolerance: Tolerance = Tolerance(),
    *,
    skus_missing: bool = True,
) -> list[Drift]:
    """Every drift between ``erp`` and ``wms`` (see the module); SKUs match case-insensitively.
    ``skus_missing=False`` leaves out SKUs found on one side only."""
    erp_items = {i.sku.casefold(): i for i in erp}
    wms_items = {i.sku.casefold(): i for i in wms}
    out: list[Drift] = []
    for key in sorted(erp_items.keys() | wms_items.keys()):
        e, w = erp_items.get(key), wms_items.get(key)
        if e is None or w is None:
            if skus_missing:
                item = e or w
                assert item is not None
                kind: DriftKind = "sku_missing_in_wms" if w is None else "sku_missing_in_erp"
                out.append(Drift(item.sku, "sku", kind, e.sku if e else None, w.sku if w else None))
            continue
        for name in FIELDS:
            ev, wv = getattr(e, name), getattr(w, name)
            if ev is None and wv is None:
                continue
            if wv is None:
                out.append(Drift(e.sku, name, "missing_in_wms", _shown(ev), None))
            elif ev is None:
                out.append(Drift(e.sku, name, "missing_in_erp", None, _shown(wv)))
            elif isinstance(ev, Decimal) and isinstance(wv, Decimal):
                if tolerance.exceeded(name, ev, wv):
                    out.append(Drift(e.sku, name, "differs", _shown(ev), _shown(wv)))
            elif ev != wv:
                out.append(Drift(e.sku, name, "differs", _shown(ev), _shown(wv)))
    return out


def drifted_skus(drift: Iterable[Drift]) -> int:
    """How many SKUs have at least one drift: the ``erpbridge_catalog_drift`` figure."""
    return len({d.sku.casefold() for d in drift})


__all__ = ["FIELDS", "Drift", "DriftKind", "Tolerance", "compare", "drifted_skus"]
