"""The inventory comparison: the WMS's stock against the ERP's on-hand and the last 846 each partner
got, per SKU and location, vectorised (numpy and pandas). Pure: tables in, differences out.

The WMS owns inventory truth. Every comparison is *WMS against another source*; a SKU a source does not
list counts as 0 there (and is shown as not listed). A difference is one only when it is bigger than
both tolerances (:class:`Tolerance`): ``units`` absolute, and ``percent`` of the WMS quantity.

How it stays fast (1M SKUs in well under the 5 s target, bench/reconcile.py): the SKU and location
strings of every source are turned into integer codes once (:func:`pandas.factorize`, one hash pass
over all rows), each source becomes one float column over the union of keys (:func:`numpy.bincount`,
which also sums a key a source lists twice), and the comparisons are array arithmetic on those
columns. Only the rows that differ become Python objects.

The only module that imports pandas and numpy outside ``formats/``; nothing here raises their errors
(the inputs are built by :meth:`StockTable.of` from checked values).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_array

#: The location of an 846 that does not say one (one pool, advertised everywhere): compared with the
#: WMS's quantity summed over its locations.
ANY_LOCATION = ""
#: The decimals a quantity difference is judged to (units of measure go to 3 or 4; floats add noise
#: far below this).
_PLACES = 6


@dataclass(frozen=True, eq=False)
class StockTable:
    """Quantities per SKU and location, as three parallel arrays (object, object, float64).

    A key listed twice is summed (SAP's storage locations, a WMS with two bins)."""

    sku: np.ndarray[Any, np.dtype[Any]]
    location: np.ndarray[Any, np.dtype[Any]]
    quantity: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str | None, Decimal | float | int]]) -> StockTable:
        """A table from ``(sku, location, quantity)`` rows (``None`` location: :data:`ANY_LOCATION`)."""
        listed = list(rows)
        sku = np.empty(len(listed), dtype=object)
        location = np.empty(len(listed), dtype=object)
        sku[:] = [r[0] for r in listed]
        location[:] = [r[1] or ANY_LOCATION for r in listed]
        quantity = np.fromiter((float(r[2]) for r in listed), dtype=np.float64, count=len(listed))
        return cls(sku, location, quantity)

    @classmethod
    def empty(cls) -> StockTable:
        return cls(np.empty(0, dtype=object), np.empty(0, dtype=object), np.empty(0, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.sku)

    @property
    def locations(self) -> frozenset[str]:
        return frozenset(pd.unique(self.location).tolist()) if len(self) else frozenset()


@dataclass(frozen=True)
class Tolerance:
    """How big a difference must be to count: more than ``units`` AND more than ``percent`` of the
    WMS quantity (a difference within either is tolerated). Both 0: any difference counts."""

    units: float = 0.0
    percent: float = 0.0

    def exceeded(
        self, truth: np.ndarray[Any, np.dtype[np.float64]], other: np.ndarray[Any, np.dtype[np.float64]]
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Where ``other`` differs from ``truth`` by more than the tolerance (NaN counts as 0). The gap
        is rounded to :data:`_PLACES` decimals: quantities summed as floats (two bins of 0.1 and 0.2)
        carry float noise that is no difference."""
        t, o = np.nan_to_num(truth), np.nan_to_num(other)
        gap = np.round(np.abs(o - t), _PLACES)
        result: np.ndarray[Any, np.dtype[np.bool_]] = (gap > self.units) & (
            gap > np.abs(t) * (self.percent / 100.0)
        )
        return result


@dataclass(frozen=True)
class Differences:
    """The keys where one source differs from the WMS beyond the tolerance, as a DataFrame with the
    columns ``sku``, ``location``, ``wms``, ``other`` (NaN: not listed there) and ``delta``
    (``other - wms``, not-listed counting as 0), sorted by SKU and location; and how many keys were
    compared."""

    source: str  # "erp", or the partner whose last 846 it is
    rows: pd.DataFrame
    compared: int

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class InventoryComparison:
    """Every comparison of one run: WMS against the ERP, and against each partner's last 846."""

    erp: Differences | None
    sent: Mapping[str, Differences] = field(default_factory=dict)
    keys: int = 0  # distinct (SKU, location) keys across all sources

    @property
    def count(self) -> int:
        return (len(self.erp) if self.erp is not None else 0) + sum(len(d) for d in self.sent.values())


def compare(
    wms: StockTable,
    *,
    erp: StockTable | None = None,
    erp_locations: Collection[str] | None = None,
    sent: Mapping[str, StockTable] | None = None,
    tolerance: Tolerance = Tolerance(),
) -> InventoryComparison:
    """Compare the WMS's stock with the ERP's (on the locations in ``erp_locations``, default every
    location the WMS lists) and with each partner's last 846 (``sent``: by partner; on the locations
    that 846 lists, or by SKU over all WMS locations for an 846 without locations)."""
    sent = dict(sent or {})
    tables = [wms, *([erp] if erp is not None else []), *sent.values()]
    sizes = [len(t) for t in tables]
    starts = np.cumsum([0, *sizes])
    sku_codes, skus = _codes(np.concatenate([t.sku for t in tables]))
    loc_codes, locs = _codes(np.concatenate([t.location for t in tables]))
    n_loc = max(len(locs), 1)
    combined = sku_codes * n_loc + loc_codes
    if len(skus) * n_loc <= 4 * max(len(combined), 1):  # few locations: the combined code is dense enough
        used = np.bincount(combined, minlength=len(skus) * n_loc) > 0
        keys = np.flatnonzero(used)
        remap = np.cumsum(used) - 1
        key_codes = remap[combined]
    else:
        key_codes, keys = pd.factorize(combined, sort=False)
    n_keys = len(keys)
    key_sku = (keys // n_loc).astype(np.int64)
    key_loc = (keys % n_loc).astype(np.int64)
    table_locations = [
        frozenset(
            str(locs[c])
            for c in np.flatnonzero(np.bincount(loc_codes[starts[i] : starts[i + 1]], minlength=n_loc))
        )
        for i in range(len(tables))
    ]

    def column(i: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        codes = key_codes[starts[i] : starts[i + 1]]
        total = np.bincount(codes, weights=tables[i].quantity, minlength=n_keys)
        listed = np.bincount(codes, minlength=n_keys) > 0
        return np.where(listed, total, np.nan)

    wms_col = column(0)
    wms_listed = ~np.isnan(wms_col)
    loc_index = {str(name): n for n, name in enumerate(locs)}

    def located(names: Collection[str]) -> np.ndarray[Any, np.dtype[np.bool_]]:
        wanted = np.array([loc_index[n] for n in names if n in loc_index], dtype=np.int64)
        return np.isin(key_loc, wanted)

    def rows(
        mask: np.ndarray[Any, np.dtype[np.bool_]],
        sku_of: np.ndarray[Any, np.dtype[np.int64]],
        location: np.ndarray[Any, np.dtype[Any]] | str,
        truth: np.ndarray[Any, np.dtype[np.float64]],
        other: np.ndarray[Any, np.dtype[np.float64]],
    ) -> pd.DataFrame:
        at = np.flatnonzero(mask)
        frame = pd.DataFrame(
            {
                "sku": np.asarray(skus, dtype=object)[sku_of[at]],
                "location": location if isinstance(location, str) else location[at],
                "wms": truth[at],
                "other": other[at],
                "delta": np.nan_to_num(other[at]) - np.nan_to_num(truth[at]),
            }
        )
        return frame.sort_values(["sku", "location"], kind="stable", ignore_index=True)

    key_loc_names = np.asarray(locs, dtype=object)[key_loc] if n_keys else np.empty(0, dtype=object)
    wms_locations = table_locations[0]
    erp_diff: Differences | None = None
    next_table = 1
    if erp is not None:
        erp_col = column(next_table)
        next_table += 1
        scope = located(set(erp_locations) if erp_locations is not None else wms_locations)
        scope &= located(wms_locations)  # a location the WMS sent no snapshot of is not compared
        differs = scope & tolerance.exceeded(wms_col, erp_col)
        erp_diff = Differences(
            "erp", rows(differs, key_sku, key_loc_names, wms_col, erp_col), int(scope.sum())
        )

    by_partner: dict[str, Differences] = {}
    wms_by_sku: np.ndarray[Any, np.dtype[np.float64]] | None = None
    for partner, table in sent.items():
        col = column(next_table)
        sent_locations = table_locations[next_table]
        next_table += 1
        if sent_locations <= {ANY_LOCATION} and len(table):
            # one pool: the 846's quantity per SKU against the WMS's summed over its locations
            if wms_by_sku is None:
                codes = key_sku[key_codes[: starts[1]]]
                listed = np.bincount(codes, minlength=len(skus)) > 0
                total = np.bincount(codes, weights=wms.quantity, minlength=len(skus))
                wms_by_sku = np.where(listed, total, np.nan)
            listed846 = ~np.isnan(col)
            sent_by_sku = np.full(len(skus), np.nan)
            sent_by_sku[key_sku[listed846]] = col[listed846]
            scope = ~np.isnan(wms_by_sku) | ~np.isnan(sent_by_sku)
            differs = scope & tolerance.exceeded(wms_by_sku, sent_by_sku)
            every_sku = np.arange(len(skus), dtype=np.int64)
            frame = rows(differs, every_sku, ANY_LOCATION, wms_by_sku, sent_by_sku)
        else:
            scope = located(sent_locations & wms_locations) & (wms_listed | ~np.isnan(col))
            differs = scope & tolerance.exceeded(wms_col, col)
            frame = rows(differs, key_sku, key_loc_names, wms_col, col)
        by_partner[partner] = Differences(partner, frame, int(scope.sum()))
    return InventoryComparison(erp=erp_diff, sent=by_partner, keys=n_keys)


def _codes(
    values: np.ndarray[Any, np.dtype[Any]],
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[Any]]]:
    """Integer codes for an object array of strings, and the distinct values (in order of appearance).

    The strings are hashed in C (:func:`pandas.util.hash_array`, 64 bits) and the hashes factorised,
    which is faster than hashing the strings in a Python-object hash table; every value is then
    compared with its code's first value, so a hash collision cannot merge two SKUs: if one did, the
    exact (slower) factorisation is used instead."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    codes, hashes = pd.factorize(hash_array(values, categorize=False), sort=False)
    first = np.empty(len(hashes), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    distinct = values[first]
    if not bool((distinct[codes] == values).all()):  # a collision (never seen): be exact
        exact, uniques = pd.factorize(values, sort=False)
        return exact.astype(np.int64), np.asarray(uniques, dtype=object)
    return codes.astype(np.int64), distinct


__all__ = ["ANY_LOCATION", "Differences", "InventoryComparison", "StockTable", "Tolerance", "compare"]
