"""Per-channel inventory rules: how much of the WMS's stock each partner's 846 advertises. Pure.

The WMS owns inventory truth (the seeds: "Inventory is held as truth in the WMS and pushed out to
platforms"), and the default is "one pool, advertised everywhere". For every SKU of a WMS
snapshot::

    pool       = on hand - committed (the WMS's allocations to open orders)
                         - reservations (units set aside against a known ship date, from the rules)
                         - safety stock (per SKU or the channel's default)            never below 0
    advertised = pool, for every channel, except the configured exceptions:
                 - a SKU the channel excludes: 0 (the channel keeps its own pool, such as FBA,
                   or must not sell it); sent as 0, never left out, so no stale count remains;
                 - a channel with its own share: the share of the pool (``share: 40%``), rounded down;
                 - a channel with its own allocation of a SKU: at most that many units.

The rules are a YAML file an analyst edits (docs/flatfiles.md, "Inventory rules"), named by an
outbound flow's ``inventory_rules``; the channel is the flow's partner::

    rules = load_rules("mappings/wms/inventory-rules.yaml")
    rules.advertised("megamart", "NW-TS-BLK-S", on_hand=480, committed=96, as_of=date(2026, 3, 16))
    advice = rules.apply(advice_json, channel="megamart")   # InventoryAdvice JSON -> the channel's

Every problem in the file is a :class:`~erpbridge.errors.MappingError` starting with file:line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from ..errors import MappingError
from ..formats.flatfile.layout import YamlNode, compose_yaml
from ..model.common import finite_decimal

_TOP = {"rules", "description", "safety_stock", "safety_stock_skus", "reservations", "channels"}
_CHANNEL = {"description", "safety_stock", "safety_stock_skus", "share", "allocation", "exclude_skus"}
_RESERVATION = {"sku", "quantity", "until", "for", "note"}
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units set aside for a known order (wholesale against a ship date): out of every channel's pool
    but that of the channel it is ``for``, until ``until`` (inclusive; None: until removed)."""

    sku: str
    quantity: Decimal
    until: dt.date | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """One channel's exceptions to the shared pool."""

    safety_stock: Decimal | None = None  # None: the rules' default
    safety_stock_skus: Mapping[str, Decimal] = field(default_factory=dict)
    share: Decimal | None = None  # 0.40 for 40%
    allocation: Mapping[str, Decimal] = field(default_factory=dict)  # at most these units per SKU
    exclude_skus: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class InventoryRules:
    """The rules of one file. ``channels`` holds the exceptions; every other channel gets the pool."""

    name: str
    file: str
    safety_stock: Decimal = Decimal(0)
    safety_stock_skus: Mapping[str, Decimal] = field(default_factory=dict)
    reservations: tuple[Reservation, ...] = ()
    channels: Mapping[str, ChannelRule] = field(default_factory=dict)

    def reserved(self, channel: str, sku: str, as_of: dt.date | None) -> Decimal:
        """Units reserved for other channels' known orders on ``as_of``."""
        return sum(
            (
                r.quantity
                for r in self.reservations
                if r.sku == sku
                and r.channel != channel
                and (r.until is None or as_of is None or as_of <= r.until)
            ),
            Decimal(0),
        )

    def safety(self, channel: str, sku: str) -> Decimal:
        rule = self.channels.get(channel, _SHARED)
        if sku in rule.safety_stock_skus:
            return rule.safety_stock_skus[sku]
        if rule.safety_stock is not None:
            return rule.safety_stock
        return self.safety_stock_skus.get(sku, self.safety_stock)

    def pool(
        self,
        channel: str,
        sku: str,
        *,
        on_hand: Decimal | int,
        committed: Decimal | int = 0,
        as_of: dt.date | None = None,
    ) -> Decimal:
        """on hand - committed - reservations - safety stock, never below 0. A negative committed
        figure (an allocation booked backwards in the WMS) counts as 0: it never adds to the pool."""
        left = (
            Decimal(on_hand)
            - max(Decimal(committed), Decimal(0))
            - self.reserved(channel, sku, as_of)
            - self.safety(channel, sku)
        )
        return max(left, Decimal(0))

    def advertised(
        self,
        channel: str,
        sku: str,
        *,
        on_hand: Decimal | int,
        committed: Decimal | int = 0,
        as_of: dt.date | None = None,
    ) -> Decimal:
        """What ``channel``'s 846 advertises for ``sku``: the pool, or the channel's exception."""
        rule = self.channels.get(channel, _SHARED)
        if sku in rule.exclude_skus:
            return Decimal(0)
        pool = self.pool(channel, sku, on_hand=on_hand, committed=committed, as_of=as_of)
        if rule.share is not None:
            pool = (pool * rule.share).to_integral_value(rounding=ROUND_FLOOR)
        if sku in rule.allocation:
            pool = min(pool, rule.allocation[sku])
        return pool

    def apply(self, advice: Mapping[str, Any], *, channel: str) -> dict[str, Any]:
        """An InventoryAdvice (canonical JSON, as the mapping made it) with each item's ``available``
        set to what ``channel`` is advertised. An item without a vendor SKU or a (finite) on-hand
        quantity is left as it is (nothing to apply the rules to), except that a SKU the channel
        excludes is 0 whatever the WMS's figures are."""
        as_of = _date(advice.get("advice_date"))
        items = []
        for item in advice.get("items") or []:
            sku = (item.get("product_ids") or {}).get("vendor_sku")
            on_hand = finite_decimal(item.get("on_hand"))
            if isinstance(sku, str) and sku in self.channels.get(channel, _SHARED).exclude_skus:
                items.append({**item, "available": "0"})
                continue
            if not isinstance(sku, str) or on_hand is None:
                items.append(dict(item))
                continue
            committed = finite_decimal(item.get("committed")) or Decimal(0)
            when = _date(item.get("as_of_date")) or as_of
            value = self.advertised(channel, sku, on_hand=on_hand, committed=committed, as_of=when)
            items.append({**item, "available": format(value, "f")})
        return {**advice, "items": items}


_SHARED = ChannelRule()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# -- loading --------------------------------------------------------------------------------------


def load_rules(path: str | Path) -> InventoryRules:
    """Read and check an inventory rules file; :class:`MappingError` names file:line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"{p}:1: cannot read the inventory rules: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return parse_rules(text, file=str(p))


def parse_rules(text: str, *, file: str = "<rules>") -> InventoryRules:
    root = compose_yaml(text, file, MappingError, "inventory rules")
    top = _mapping(root, file, _TOP, "the inventory rules")
    name = str(top["rules"].value) if "rules" in top else Path(file).stem
    channels: dict[str, ChannelRule] = {}
    if "channels" in top:
        for channel, node in _mapping(top["channels"], file, None, "'channels'").items():
            if node.value is None:
                channels[channel] = _SHARED
                continue
            c = _mapping(node, file, _CHANNEL, f"channel {channel!r}")
            share = None
            if "share" in c:
                m = _SHARE.match(str(c["share"].value))
                if not m or Decimal(m.group(1)) > 100:
                    raise MappingError(
                        f'{file}:{c["share"].line}: share {c["share"].value!r} is not a percentage such as "40%"'
                    )
                share = Decimal(m.group(1)) / 100
            channels[channel] = ChannelRule(
                safety_stock=_quantity(c["safety_stock"], file, "safety_stock")
                if "safety_stock" in c
                else None,
                safety_stock_skus=_per_sku(c.get("safety_stock_skus"), file, "safety_stock_skus"),
                share=share,
                allocation=_per_sku(c.get("allocation"), file, "allocation"),
                exclude_skus=frozenset(_skus(c.get("exclude_skus"), file)),
            )
    reservations: list[Reservation] = []
    if "reservations" in top:
        node = top["reservations"]
        if not isinstance(node.value, list):
            raise MappingError(
                f"{file}:{node.line}: 'reservations' is a list of {{sku, quantity, until, for}}"
            )
        for item in node.value:
            r = _mapping(item, file, _RESERVATION, "a reservation")
            for key in ("sku", "quantity"):
                if key not in r:
                    raise MappingError(f"{file}:{item.line}: a reservation needs {key!r}")
            until = None
            if "until" in r:
                until = _date(r["until"].value)
                if until is None:
                    raise MappingError(
                        f"{file}:{r['until'].line}: until {r['until'].value!r} is not a date (2026-03-31)"
                    )
            owner = str(r["for"].value) if "for" in r else None
            reservations.append(
                Reservation(str(r["sku"].value), _quantity(r["quantity"], file, "quantity"), until, owner)
            )
    return InventoryRules(
        name=name,
        file=file,
        safety_stock=_quantity(top["safety_stock"], file, "safety_stock")
        if "safety_stock" in top
        else Decimal(0),
        safety_stock_skus=_per_sku(top.get("safety_stock_skus"), file, "safety_stock_skus"),
        reservations=tuple(reservations),
        channels=channels,
    )


def _mapping(node: YamlNode, file: str, allowed: set[str] | None, what: str) -> dict[str, YamlNode]:
    if not isinstance(node.value, dict):
        raise MappingError(f"{file}:{node.line}: {what} must be a mapping of keys to values")
    if allowed is not None:
        for key, sub in node.value.items():
            if key not in allowed:
                raise MappingError(
                    f"{file}:{sub.line}: unknown key {key!r} in {what}; known: {', '.join(sorted(allowed))}"
                )
    return dict(node.value)


def _quantity(node: YamlNode, file: str, what: str) -> Decimal:
    value = finite_decimal(node.value)
    if value is None or value < 0 or isinstance(node.value, bool):
        raise MappingError(f"{file}:{node.line}: {what} {node.value!r} is not a quantity (0 or more)")
    return value


def _per_sku(node: YamlNode | None, file: str, what: str) -> dict[str, Decimal]:
    if node is None:
        return {}
    return {
        sku: _quantity(n, file, f"{what}.{sku}") for sku, n in _mapping(node, file, None, repr(what)).items()
    }


def _skus(node: YamlNode | None, file: str) -> list[str]:
    if node is None:
        return []
    if not isinstance(node.value, list):
        raise MappingError(f"{file}:{node.line}: 'exclude_skus' is a list of SKUs")
    return [str(n.value) for n in node.value]


__all__ = ["ChannelRule", "InventoryRules", "Reservation", "load_rules", "parse_rules"]
