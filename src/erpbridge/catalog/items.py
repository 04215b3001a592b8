"""The item master as erpbridge carries it between an ERP and the WMS (pure: rows in, rows out).

A :class:`CatalogItem` is one SKU with what a warehouse needs of it, in the WMS item file's units
(pounds and inches): its UPC, description, unit, weight, dimensions, HS code and country of origin.
:func:`from_netsuite` makes one of a row of :meth:`NetSuiteRestConnector.item_master
<erpbridge.connectors.netsuite_rest.NetSuiteRestConnector.item_master>` (converting NetSuite's
weight unit and the dimensions' unit), :func:`from_wms` of a row of the WMS's own item export read
with its layout (``wms-items``), and :func:`item_master_rows` gives the rows of the item file the
WMS imports (``item-master``), sorted by SKU so that the same items always make the same bytes.

A value that cannot be converted (a weight unit nobody knows, a weight that is not a number) is a
:class:`ItemProblem` naming the SKU and the field: the item is left out of what is written and
listed in the job run, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

#: Pounds per unit of weight. NetSuite's Weight Unit list by internal ID (SuiteQL ``weightunit``:
#: 1 lb, 2 oz, 3 kg, 4 g) and by name; the WMS's export names its unit.
POUNDS: Final[Mapping[str, Decimal]] = {
    "1": Decimal(1), "lb": Decimal(1), "lbs": Decimal(1), "lbr": Decimal(1),
    "2": Decimal(1) / Decimal(16), "oz": Decimal(1) / Decimal(16), "onz": Decimal(1) / Decimal(16),
    "3": Decimal(1) / Decimal("0.45359237"), "kg": Decimal(1) / Decimal("0.45359237"),
    "kgm": Decimal(1) / Decimal("0.45359237"),
    "4": Decimal(1) / Decimal("453.59237"), "g": Decimal(1) / Decimal("453.59237"),
    "grm": Decimal(1) / Decimal("453.59237"),
}  # fmt: skip
#: Inches per unit of length.
INCHES: Final[Mapping[str, Decimal]] = {
    "in": Decimal(1), "inh": Decimal(1), "ft": Decimal(12), "ftq": Decimal(12),
    "cm": Decimal(1) / Decimal("2.54"), "cmt": Decimal(1) / Decimal("2.54"),
    "mm": Decimal(1) / Decimal("25.4"), "mmt": Decimal(1) / Decimal("25.4"),
    "m": Decimal(100) / Decimal("2.54"), "mtr": Decimal(100) / Decimal("2.54"),
}  # fmt: skip
WEIGHT_PLACES: Final = Decimal("0.001")  # the item file's weight_lb has 3 decimals
LENGTH_PLACES: Final = Decimal("0.01")  # and its dimensions 2
DIMENSIONS: Final = ("length_in", "width_in", "height_in")


@dataclass(frozen=True)
class CatalogItem:
    """One SKU of the item master, weights in pounds and dimensions in inches (None: not known)."""

    sku: str
    description: str | None = None
    upc: str | None = None
    uom: str | None = None
    weight_lb: Decimal | None = None
    length_in: Decimal | None = None
    width_in: Decimal | None = None
    height_in: Decimal | None = None
    hs_code: str | None = None
    country_of_origin: str | None = None


@dataclass(frozen=True)
class ItemProblem:
    """An item that could not be taken: its SKU (or internal ID), the field and why."""

    sku: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"item {self.sku}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class DimensionFields:
    """Where an ERP keeps an item's dimensions (NetSuite: custom item fields such as
    ``custitem_length``; its item record has none of its own) and their unit."""

    length: str
    width: str
    height: str
    unit: str = "in"

    def fields(self) -> tuple[str, str, str]:
        return (self.length, self.width, self.height)


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _number(value: Any, field: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Bad(field, f"{str(value)[:40]!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise _Bad(field, f"{value} is not a weight or length")
    return number


def _convert(
    value: Decimal | None, unit: Any, table: Mapping[str, Decimal], field: str, places: Decimal
) -> Decimal | None:
    if value is None:
        return None
    key = str(unit).strip().lower() if unit is not None else ""
    factor = table.get(key)
    if factor is None:
        raise _Bad(
            field,
            f"unknown unit {str(unit)[:20]!r} (known: {', '.join(sorted(k for k in table if not k.isdigit()))})",
        )
    return (value * factor).quantize(places)


def hs_code(value: Any) -> str | None:
    """An HS / HTS code without its dots and blanks (``6109.10.0012`` is ``6109100012``)."""
    text = "".join(ch for ch in str(value) if ch.isalnum()) if value is not None else ""
    return text.upper() or None


def _country(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text else None


def from_netsuite(row: Mapping[str, Any], dimensions: DimensionFields | None = None) -> CatalogItem:
    """A NetSuite item (a row of ``item_master``) in the item file's units. Raises
    :class:`ItemProblemError` when a value cannot be converted."""
    sku = _text(row.get("itemid")) or ""
    try:
        if not sku:
            raise _Bad("itemid", f"internal ID {row.get('id')} has no name (itemid)")
        weight = _number(row.get("weight"), "weight")
        dims: list[Decimal | None] = [None, None, None]
        if dimensions is not None:
            dims = [
                _convert(_number(row.get(f), f), dimensions.unit, INCHES, f, LENGTH_PLACES)
                for f in dimensions.fields()
            ]
        return CatalogItem(
            sku=sku,
            description=_text(row.get("description")) or _text(row.get("displayname")),
            upc=_text(row.get("upccode")),
            weight_lb=_convert(weight, row.get("weightunit", "1"), POUNDS, "weightunit", WEIGHT_PLACES),
            length_in=dims[0],
            width_in=dims[1],
            height_in=dims[2],
            hs_code=hs_code(row.get("manufacturertariff")),
            country_of_origin=_country(row.get("countryofmanufacture")),
        )
    except _Bad as bad:
        raise ItemProblemError(ItemProblem(sku or str(row.get("id")), bad.field, bad.reason)) from None


def from_wms(values: Mapping[str, Any]) -> CatalogItem:
    """An item of the WMS's own item export (a row read with the ``wms-items`` layout: ``sku``,
    ``description``, ``upc``, ``uom``, ``weight`` with ``weight_uom``, ``length``, ``width``,
    ``height`` with ``dim_uom``, ``hs_code``, ``country_of_origin``)."""
    sku = _text(values.get("sku")) or ""
    try:
        weight = _number(values.get("weight"), "weight")
        unit = values.get("dim_uom") or "in"
        dims = [
            _convert(_number(values.get(f), f), unit, INCHES, f, LENGTH_PLACES)
            for f in ("length", "width", "height")
        ]
        return CatalogItem(
            sku=sku,
            description=_text(values.get("description")),
            upc=_text(values.get("upc")),
            uom=_text(values.get("uom")),
            weight_lb=_convert(weight, values.get("weight_uom") or "lb", POUNDS, "weight_uom", WEIGHT_PLACES),
            length_in=dims[0],
            width_in=dims[1],
            height_in=dims[2],
            hs_code=hs_code(values.get("hs_code")),
            country_of_origin=_country(values.get("country_of_origin")),
        )
    except _Bad as bad:
        raise ItemProblemError(ItemProblem(sku or "?", bad.field, bad.reason)) from None


class ItemProblemError(ValueError):
    """An item whose values cannot be taken (see :class:`ItemProblem`)."""

    def __init__(self, problem: ItemProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def convert_all(
    rows: Iterable[Mapping[str, Any]], convert: Any, *args: Any
) -> tuple[list[CatalogItem], list[ItemProblem]]:
    """Every row converted with ``convert(row, *args)``: the items, and the problems of those that
    could not be (a SKU twice is a problem too: its second row is left out)."""
    items: dict[str, CatalogItem] = {}
    problems: list[ItemProblem] = []
    for row in rows:
        try:
            item = convert(row, *args)
        except ItemProblemError as exc:
            problems.append(exc.problem)
            continue
        key = item.sku.casefold()
        if key in items:
            problems.append(ItemProblem(item.sku, "sku", "the SKU is there twice; the first is taken"))
            continue
        items[key] = item
    return list(items.values()), problems


def item_master_rows(
    items: Iterable[CatalogItem], *, description_length: int | None = None
) -> list[dict[str, Any]]:
    """The item file's rows (the ``item-master`` layout's columns), sorted by SKU: the same items
    make the same rows whatever order the ERP gave them in. A description longer than
    ``description_length`` is cut (it is for people; the SKU and the measures are not cut)."""
    rows = []
    for item in sorted(items, key=lambda i: (i.sku.casefold(), i.sku)):
        description = item.description or item.sku
        if description_length is not None and len(description) > description_length:
            description = description[:description_length].rstrip()
        row: dict[str, Any] = {
            "sku": item.sku,
            "description": description,
            "upc": item.upc,
            "uom": item.uom,
            "weight_lb": item.weight_lb,
            "length_in": item.length_in,
            "width_in": item.width_in,
            "height_in": item.height_in,
            "hs_code": item.hs_code,
            "country_of_origin": item.country_of_origin,
        }
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


__all__ = [
    "DIMENSIONS",
    "INCHES",
    "POUNDS",
    "CatalogItem",
    "DimensionFields",
    "ItemProblem",
    "ItemProblemError",
    "convert_all",
    "from_netsuite",
    "from_wms",
    "hs_code",
    "item_master_rows",
]
