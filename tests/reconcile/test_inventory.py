"""The inventory comparison (erpbridge.reconcile.inventory), pure: tables in, differences out; each
result is checked against what a person works out by hand from the tables."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import numpy as np
import pytest

from erpbridge.reconcile import ANY_LOCATION, StockTable, Tolerance, compare
from erpbridge.reconcile.inventory import _codes


def rows(diff: object) -> list[tuple[str, str, float, float, float]]:
    frame = diff.rows  # type: ignore[attr-defined]
    return [
        (s, loc, None if math.isnan(w) else w, None if math.isnan(o) else o, d)
        for s, loc, w, o, d in frame.itertuples(index=False, name=None)
    ]


WMS = StockTable.of(
    [
        ("A", "WH1", 10),
        ("B", "WH1", 5),
        ("C", "WH1", Decimal("2.5")),
        ("A", "WH2", 7),
        ("D", "WH2", 0),
    ]
)


def test_erp_differences_missing_and_extra_keys() -> None:
    erp = StockTable.of(
        [
            ("B", "WH1", 5),
            ("A", "WH1", 8),  # off by -2
            ("A", "WH2", 3),
            ("A", "WH2", 4),  # two bins: summed to 7, equal
            ("E", "WH2", 1),  # the WMS does not list it
            ("Z", "WH9", 99),  # a location the WMS sent no snapshot of: not compared
        ]
    )  # C is missing: 2.5 against nothing
    result = compare(WMS, erp=erp)
    assert result.erp is not None
    assert rows(result.erp) == [
        ("A", "WH1", 10.0, 8.0, -2.0),
        ("C", "WH1", 2.5, None, -2.5),
        ("E", "WH2", None, 1.0, 1.0),
    ]
    assert result.erp.compared == 6  # A, B, C at WH1; A, D, E at WH2
    assert result.count == 3


def test_erp_locations_limit_the_comparison() -> None:
    erp = StockTable.of([("A", "WH1", 10), ("B", "WH1", 5), ("C", "WH1", 2.5)])
    result = compare(WMS, erp=erp, erp_locations={"WH1"})
    assert result.erp is not None and len(result.erp) == 0  # WH2 is held by another ERP
    result = compare(WMS, erp=erp)
    assert result.erp is not None
    assert [(r[0], r[1]) for r in rows(result.erp)] == [("A", "WH2")]  # D is 0 on both sides


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [
        (Tolerance(), {"A", "B", "C"}),
        (Tolerance(units=2), {"B", "C"}),  # A: 2 off is tolerated
        (Tolerance(percent=10), {"B", "C"}),  # A: 2 of 100 is 2%, B: 3 of 10 is 30%
        (Tolerance(units=2, percent=25), {"B"}),  # C: 5 of 20 is 25%: within
        (Tolerance(units=10), set()),
    ],
)
def test_tolerances(tolerance: Tolerance, expected: set[str]) -> None:
    wms = StockTable.of([("A", "W", 100), ("B", "W", 10), ("C", "W", 20)])
    erp = StockTable.of([("A", "W", 98), ("B", "W", 13), ("C", "W", 15)])
    result = compare(wms, erp=erp, tolerance=tolerance)
    assert result.erp is not None
    assert {r[0] for r in rows(result.erp)} == expected


def test_846_per_location_and_one_pool() -> None:
    per_location = StockTable.of([("A", "WH1", 10), ("B", "WH1", 4), ("C", "WH1", 2.5)])
    one_pool = StockTable.of([("A", None, 17), ("B", None, 5), ("C", None, 2.5), ("D", None, 3)])
    result = compare(WMS, sent={"ACME": per_location, "BIGBOX": one_pool})
    assert result.erp is None
    assert rows(result.sent["ACME"]) == [("B", "WH1", 5.0, 4.0, -1.0)]  # WH2 was not in ACME's 846
    # one pool: A is 10 + 7 = 17 across locations, D is 0 in the WMS
    assert rows(result.sent["BIGBOX"]) == [("D", ANY_LOCATION, 0.0, 3.0, 3.0)]


def test_nothing_to_compare() -> None:
    result = compare(StockTable.empty(), erp=StockTable.empty(), sent={"X": StockTable.empty()})
    assert result.count == 0 and result.keys == 0


def test_codes_are_exact() -> None:
    values = np.array(["b", "a", "b", "c", "a"], dtype=object)
    codes, distinct = _codes(values)
    assert list(distinct[codes]) == list(values)
    assert list(distinct) == ["b", "a", "c"]


def test_random_tables_against_plain_python() -> None:
    """Many random tables: the vectorised comparison finds what a dictionary walk finds."""
    rnd = random.Random(11)
    for _ in range(30):
        skus = [f"S{n}" for n in range(rnd.randint(0, 40))]
        locs = ["L1", "L2", "L3"][: rnd.randint(1, 3)]

        def table(p: float, skus: list[str] = skus, locs: list[str] = locs) -> list[tuple[str, str, int]]:
            return [(s, loc, rnd.randint(0, 20)) for s in skus for loc in locs if rnd.random() < p]

        wms_rows, erp_rows = table(0.8), table(0.8) + table(0.1)  # some keys twice in the ERP
        tol = Tolerance(units=rnd.choice([0, 1, 3]), percent=rnd.choice([0, 10, 50]))
        result = compare(StockTable.of(wms_rows), erp=StockTable.of(erp_rows), tolerance=tol)
        w: dict[tuple[str, str], float] = {}
        e: dict[tuple[str, str], float] = {}
        for s, loc, q in wms_rows:
            w[(s, loc)] = w.get((s, loc), 0) + q
        for s, loc, q in erp_rows:
            e[(s, loc)] = e.get((s, loc), 0) + q
        wms_locs = {loc for _, loc, _ in wms_rows}
        want = set()
        for key in set(w) | set(e):
            if key[1] not in wms_locs:
                continue
            gap = abs(e.get(key, 0) - w.get(key, 0))
            if gap > tol.units and gap > abs(w.get(key, 0)) * tol.percent / 100:
                want.add(key)
        assert result.erp is not None
        assert {(r[0], r[1]) for r in rows(result.erp)} == want
