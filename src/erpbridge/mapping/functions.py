"""Functions analysts call in mapping expressions (``$x12date(BEG.BEG05)``). Pure, no I/O.

A function that cannot do its job raises :class:`MappingValueError`; the engine turns it into a
finding that names the mapping line and the target field, and the document is not produced.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import TransformError


class MappingValueError(TransformError):
    """A source value a function cannot transform."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return str(value)


def x12date(value: Any) -> str | None:
    """``20261123`` or ``261123`` → ``2026-11-23``."""
    v = _text(value)
    if v is None:
        return None
    if len(v) == 6 and v.isdigit():
        v = "20" + v
    if len(v) != 8 or not v.isdigit():
        raise MappingValueError(f"{v!r} is not an X12 date (CCYYMMDD)")
    return f"{v[:4]}-{v[4:6]}-{v[6:]}"


def x12time(value: Any) -> str | None:
    """``1430`` → ``14:30``; ``143005`` → ``14:30:05``."""
    v = _text(value)
    if v is None:
        return None
    if not v.isdigit() or len(v) not in (4, 6, 7, 8):
        raise MappingValueError(f"{v!r} is not an X12 time (HHMM[SS])")
    return f"{v[:2]}:{v[2:4]}" + (f":{v[4:6]}" if len(v) >= 6 else "")


def _number(value: Any) -> Decimal | None:
    """A source value as a Decimal (``None`` when missing); a finding when it is not a number."""
    v = _text(value)
    if v is None:
        return None
    try:
        return Decimal(v)
    except InvalidOperation:
        raise MappingValueError(f"{v!r} is not a number") from None


def decimal(value: Any, implied: Any = 0) -> str | None:
    """A number as a decimal string; ``implied`` places for X12 ``N2``-style values (``37650`` → ``376.50``)."""
    d = _number(value)
    if d is None:
        return None
    places = int(implied or 0)
    if places:
        d = d.scaleb(-places)
    return format(d, "f")


#: where the qualifier/value pairs of a segment start (the first qualifier's position)
PAIR_STARTS = {
    "PO1": 6,
    "LIN": 2,
    "IT1": 6,
    "SLN": 9,
    "ACK": 7,
    "W01": 4,
    "W12": 7,
    "PER": 3,
    "N1": 3,
    "PO4": 0,
}


def qualified(segment: Any, qualifier: Any, start: Any = None) -> str | None:
    """The value that follows ``qualifier`` in a segment's qualifier/value pairs.

    ``$qualified(PO1, "UP")`` on ``PO1*1*120*EA*9.25**UP*012345678905*VN*AB3542`` gives the UPC.
    Only qualifier positions are looked at (PO106, PO108, ... for PO1; ``start`` for other segments),
    so a value that happens to equal a qualifier (a SKU ``EN``) is never taken for one.
    """
    if isinstance(segment, list):
        segment = segment[0] if segment else None
    if not isinstance(segment, dict) or not segment:
        return None
    sid = next(iter(segment))[:-2]
    first = int(start) if start is not None else PAIR_STARTS.get(sid, 0)
    if first:
        found = None
        for key, value in segment.items():
            if value == qualifier:
                pos = int(key[-2:])
                if pos >= first and (pos - first) % 2 == 0 and (found is None or pos < found):
                    found = pos
        return None if found is None else _text(segment.get(f"{sid}{found + 1:02d}"))
    keys = sorted(segment)
    for i, key in enumerate(keys):
        if segment[key] == qualifier and i + 1 < len(keys):
            nxt = keys[i + 1]
            if int(nxt[-2:]) == int(key[-2:]) + 1:
                return _text(segment[nxt])
    return None


#: the lengths of GS1 keys: GTIN-8, UPC-A (GTIN-12), EAN-13/GLN, GTIN-14, GSIN-17, SSCC-18
_GS1_LENGTHS = frozenset({8, 12, 13, 14, 17, 18})


def gs1(value: Any) -> str | None:
    """Check a GS1 mod-10 check digit (UPC-A, EAN/GTIN-13, GTIN-14, SSCC-18); return the value.

    A length no GS1 key has is a finding too: a UPC that a spreadsheet stored as a number lost its
    leading zero, and the check digit alone cannot see that.
    """
    v = _text(value)
    if v is None:
        return None
    if not v.isdigit() or len(v) not in _GS1_LENGTHS:
        raise MappingValueError(
            f"{v!r} is not a GS1 number (8, 12, 13, 14, 17 or 18 digits; did a spreadsheet drop leading zeros?)"
        )
    body, check = v[:-1], int(v[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise MappingValueError(f"{v!r} has a wrong GS1 check digit (expected {(10 - total % 10) % 10})")
    return v


def sscc(value: Any) -> str | None:
    """An SSCC-18 from ``MAN*GM`` (which carries the ``00`` application identifier), checked."""
    v = _text(value)
    if v is None:
        return None
    if len(v) == 20 and v.startswith("00"):
        v = v[2:]
    if len(v) != 18:
        raise MappingValueError(f"{v!r} is not an SSCC-18 (18 digits, or 20 with the 00 prefix)")
    return gs1(v)


def ccyymmdd(value: Any) -> str | None:
    """An ISO 8601 date (``2026-11-23``) as an X12 date (``20261123``)."""
    v = _text(value)
    if v is None:
        return None
    digits = v.replace("-", "")
    if len(v) != 10 or len(digits) != 8 or not digits.isdigit():
        raise MappingValueError(f"{v!r} is not a date (YYYY-MM-DD)")
    return digits


def pairs(prefix: Any, start: Any, *items: Any) -> dict[str, str]:
    """Qualifier/value pairs laid out from element ``start`` on, skipping those without a value.

    ``$pairs("PO1", 6, "UP", upc, "VN", sku)`` gives ``{"PO106": "UP", "PO107": upc, "PO108": "VN", ...}``;
    when ``upc`` is missing, ``VN`` moves up to PO106. The older form with one list of pairs,
    ``$pairs("PO1", 6, [["UP", upc], ["VN", sku]])``, gives the same.
    """
    if len(items) == 1 and isinstance(items[0], list):
        flat = [x for item in items[0] if isinstance(item, list) and len(item) == 2 for x in item]
    elif len(items) % 2:
        raise MappingValueError("$pairs needs a value after every qualifier")
    else:
        flat = list(items)
    out: dict[str, str] = {}
    pos = int(start)
    for qualifier, value in zip(flat[::2], flat[1::2], strict=True):
        if value not in (None, ""):
            out[f"{prefix}{pos:02d}"] = str(qualifier)
            out[f"{prefix}{pos + 1:02d}"] = str(value)
            pos += 2
    return out


def implied(value: Any, places: Any) -> str | None:
    """A decimal as an X12 implied-decimal number (``N2``): ``376.5`` with 2 places → ``37650``.

    Money is never rounded silently: a value with more places than the element carries is a finding.
    """
    d = _number(value)
    if d is None:
        return None
    n = int(places)
    scaled = d.scaleb(n)
    if scaled != scaled.to_integral_value():
        raise MappingValueError(
            f"{_text(value)!r} has more than {n} decimal places; an N{n} element cannot carry it"
        )
    return format(scaled.to_integral_value(), "f")


def hhmm(value: Any) -> str | None:
    """An ISO time (``14:30`` or ``14:30:05``) as an X12 time (``1430``, ``143005``)."""
    v = _text(value)
    if v is None:
        return None
    digits = v.replace(":", "")
    if not digits.isdigit() or len(digits) not in (4, 6) or (":" in v and v[2:3] != ":"):
        raise MappingValueError(f"{v!r} is not a time (HH:MM or HH:MM:SS)")
    return digits


#: the 856 levels that own what is below them; hlbelow() looks through any other level (T, tare)
_MAIN_LEVELS = frozenset({"S", "O", "P", "I"})


def hlbelow(loop: Any, parent: Any, level: Any) -> list[dict[str, Any]]:
    """The HL loops of ``level`` below HL ``parent``, looking through tare (T) and other levels.

    ``$hlbelow($root.HL_loop, HL.HL01, "P")`` gives an order's packs, whether they hang on the order
    directly or on a pallet (T) between. The walk stops at the main levels S, O, P and I, so an
    order's loose items do not include the items in its packs.
    """
    if isinstance(loop, dict):
        loop = [loop]
    if not isinstance(loop, list) or parent is None:
        return []
    kids: dict[str, list[dict[str, Any]]] = {}
    for hl in loop:
        head = hl.get("HL") if isinstance(hl, dict) else None
        if isinstance(head, dict) and head.get("HL02"):
            kids.setdefault(str(head["HL02"]), []).append(hl)
    out: list[dict[str, Any]] = []
    todo = list(kids.get(str(parent), []))
    while todo:
        hl = todo.pop(0)
        lvl = str(hl["HL"].get("HL03", ""))
        if lvl == level:
            out.append(hl)
        elif lvl not in _MAIN_LEVELS:
            todo[0:0] = kids.get(str(hl["HL"].get("HL01", "")), [])
    return out


def hashtotal(values: Any) -> str | None:
    """The sum of a list of numbers as text, for hash totals (CTT02): ``$hashtotal(lines.quantity)``."""
    if values is None:
        return None
    items = values if isinstance(values, list) else [values]
    total = Decimal(0)
    for v in items:
        try:
            total += Decimal(str(v))
        except InvalidOperation:
            raise MappingValueError(f"{v!r} is not a number, so it cannot be added to a hash total") from None
    text = format(total, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def concat(separator: Any, *values: Any) -> str | None:
    """The values that are present, joined by ``separator``: ``$concat(" ", N301, N302)``."""
    parts = [str(v) for v in values if v not in (None, "", [])]
    return str(separator).join(parts) if parts else None


def required(value: Any, message: Any = None) -> Any:
    """``value``, or a finding when it is missing or empty: ``$required(freight_terms.payment, "W66 needs it")``."""
    if value in (None, "", []):
        raise MappingValueError(str(message) if message else "a required value is missing")
    return value


def default(value: Any, fallback: Any) -> Any:
    """``value`` unless it is missing or empty, else ``fallback``."""
    return fallback if value in (None, "", []) else value


def groupby(items: Any, key: Any) -> list[list[Any]]:
    """The items in groups that share the value of field ``key``, groups in the order first seen.

    ``$groupby(orders.[packs.items, items], "line_number")`` gives one list per order line, whatever
    pack each part of it is in, so that an IDoc's delivery item (E1EDL24) can total its packs. Items
    without the key form a group of their own each.
    """
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    groups: dict[str, list[Any]] = {}
    out: list[list[Any]] = []
    for item in items:
        value = item.get(str(key)) if isinstance(item, dict) else None
        if value is None:
            out.append([item])
            continue
        name = str(value)
        if name not in groups:
            groups[name] = []
            out.append(groups[name])
        groups[name].append(item)
    return out


def same(items: Any, key: Any) -> str | None:
    """The one value that every item of a group has in field ``key``; empty values do not count.

    ``$same($, "ship_date")`` in a group of CSV rows made by ``$groupby(rows, "shipment_id")`` gives
    the shipment's date. Rows that disagree are a finding that names each value and its lines
    (``_line``), so a value is never taken from one row and the others silently dropped.
    """
    if items is None:
        return None
    if not isinstance(items, list):
        items = [items]
    seen: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        value = item.get(str(key)) if isinstance(item, dict) else None
        if value in (None, ""):
            continue
        line = item.get("_line")
        seen.setdefault(str(value), []).append(f"line {line}" if isinstance(line, int) else f"item {n + 1}")
    if len(seen) > 1:
        shown = "; ".join(
            f"{v!r} ({', '.join(where[:3])}{', ...' if len(where) > 3 else ''})" for v, where in seen.items()
        )
        raise MappingValueError(f"the rows of one group disagree on {key}: {shown}")
    return next(iter(seen), None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "x12date": x12date,
    "x12time": x12time,
    "decimal": decimal,
    "qualified": qualified,
    "gs1": gs1,
    "sscc": sscc,
    "default": default,
    "ccyymmdd": ccyymmdd,
    "pairs": pairs,
    "implied": implied,
    "hhmm": hhmm,
    "hlbelow": hlbelow,
    "hashtotal": hashtotal,
    "required": required,
    "concat": concat,
    "groupby": groupby,
    "same": same,
}
