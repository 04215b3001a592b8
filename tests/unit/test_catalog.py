"""The item master's pure parts: NetSuite's and the WMS's item rows converted (pounds, inches, HS
codes without dots), the item file's rows (sorted, so the same items make the same bytes) and the
drift comparison with its tolerances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpbridge.catalog import CatalogItem, DimensionFields, Tolerance, compare, drifted_skus, item_master_rows
from erpbridge.catalog.items import convert_all, from_netsuite, from_wms
from erpbridge.catalog.jobs import render
from erpbridge.formats.flatfile import load_layout
from tests.conftest import ROOT

DIMS = DimensionFields("custitem_length", "custitem_width", "custitem_height", "cm")


def test_netsuite_weights_convert_by_the_weight_unit_list_and_dimensions_by_their_unit() -> None:
    row = {"id": "7", "itemid": "A-1", "weight": "1.2", "weightunit": "3", "custitem_length": "30.48",
           "custitem_width": "10", "manufacturertariff": "6109.10.0012", "countryofmanufacture": "cn",
           "displayname": "Tee"}  # fmt: skip
    item = from_netsuite(row, DIMS)
    assert item.weight_lb == Decimal("2.646") and item.length_in == Decimal("12.00")
    assert item.width_in == Decimal("3.94") and item.height_in is None
    assert item.hs_code == "6109100012" and item.country_of_origin == "CN" and item.description == "Tee"
    assert from_netsuite({"itemid": "B", "weight": "8", "weightunit": "2"}).weight_lb == Decimal("0.500")
    assert from_netsuite({"itemid": "B", "weight": "500", "weightunit": "4"}).weight_lb == Decimal("1.102")
    assert from_netsuite({"itemid": "B", "weight": "2"}).weight_lb == Decimal("2.000")  # no unit: lb


def test_an_item_that_cannot_be_converted_is_a_problem_not_a_silent_drop() -> None:
    rows = [
        {"itemid": "OK", "weight": "1", "weightunit": "1"},
        {"itemid": "BAD-UNIT", "weight": "1", "weightunit": "9"},
        {"itemid": "BAD-NUMBER", "weight": "heavy"},
        {"id": "44"},
        {"itemid": "ok", "weight": "2"},  # the same SKU in another case
    ]
    items, problems = convert_all(rows, from_netsuite, None)
    assert [i.sku for i in items] == ["OK"]
    assert [(p.sku, p.field) for p in problems] == [
        ("BAD-UNIT", "weightunit"), ("BAD-NUMBER", "weight"), ("44", "itemid"), ("ok", "sku"),
    ]  # fmt: skip
    assert "unknown unit '9'" in problems[0].reason


def test_the_wms_export_reads_in_its_own_units() -> None:
    item = from_wms({"sku": "S", "weight": Decimal("7.5"), "weight_uom": "OZ", "length": Decimal(200),
                     "width": Decimal(100), "height": Decimal(30), "dim_uom": "MM", "hs_code": "6115.95.9000"})  # fmt: skip
    assert (item.weight_lb, item.length_in, item.width_in, item.height_in) == (
        Decimal("0.469"), Decimal("7.87"), Decimal("3.94"), Decimal("1.18"),
    )  # fmt: skip
    assert item.hs_code == "6115959000"


def test_the_item_file_is_sorted_so_the_same_items_make_the_same_bytes() -> None:
    layout = load_layout(ROOT / "mappings/wms/layouts/item-master.yaml")
    a = CatalogItem("b-2", "x" * 80, weight_lb=Decimal("1.000"))
    b = CatalogItem("A-1", None, upc="061414110013", hs_code="6109100012", country_of_origin="CN")
    one, refused = render(layout, [a, b], file="items.txt")
    two, _ = render(layout, [b, a], file="items.txt")
    assert one == two and refused == []
    assert one.splitlines()[1].startswith(b"A-1|A-1|061414110013|EA|")  # the SKU when no description
    assert len(item_master_rows([a], description_length=60)[0]["description"]) == 60


def test_an_item_the_layout_refuses_is_left_out_and_named() -> None:
    layout = load_layout(ROOT / "mappings/wms/layouts/item-master.yaml")
    body, refused = render(layout, [CatalogItem("OK"), CatalogItem("S" * 31)], file="items.txt")
    assert [p.sku for p in refused] == ["S" * 31]
    assert refused[0].reason.startswith("layout item-master refuses it:")
    assert body.count(b"\r\n") == 2 and b"OK|" in body


def item(sku: str, **values: object) -> CatalogItem:
    return CatalogItem(sku, **values)  # type: ignore[arg-type]


def test_compare_reports_each_field_beyond_tolerance_and_each_side_missing() -> None:
    erp = [
        item("A", weight_lb=Decimal("1.000"), length_in=Decimal("10.00"), hs_code="6109100012"),
        item("B", weight_lb=Decimal("2.000")),
        item("C", weight_lb=Decimal("1.000")),
        item("only-erp"),
    ]
    wms = [
        item("a", weight_lb=Decimal("1.009"), length_in=Decimal("10.20"), hs_code="6109100099"),
        item("B"),
        item("C", weight_lb=Decimal("1.000"), height_in=Decimal("3.00")),
        item("only-wms"),
    ]
    drift = compare(erp, wms)
    assert [(d.sku, d.field, d.kind) for d in drift] == [
        ("A", "length_in", "differs"),  # 0.2 in > 0.1; 0.009 lb is within 0.01
        ("A", "hs_code", "differs"),
        ("B", "weight_lb", "missing_in_wms"),
        ("C", "height_in", "missing_in_erp"),
        ("only-erp", "sku", "sku_missing_in_wms"),
        ("only-wms", "sku", "sku_missing_in_erp"),
    ]
    assert drifted_skus(drift) == 5
    assert str(drift[0]) == "A: length_in ERP 10, WMS 10.2"
    assert compare(erp, wms, skus_missing=False)[-1].sku == "C"


@pytest.mark.parametrize(
    ("tolerance", "drifts"),
    [
        (Tolerance(), True),
        (Tolerance(weight_lb=Decimal("0.5")), False),  # 0.3 lb is within 0.5 lb
        (Tolerance(pct=Decimal(20)), False),  # 0.3 of 2.0 is 15 %: within 20 %
        (Tolerance(weight_lb=Decimal("0.1"), pct=Decimal(10)), True),  # beyond both
    ],
)
def test_a_difference_counts_only_beyond_both_tolerances(tolerance: Tolerance, drifts: bool) -> None:
    erp, wms = [item("A", weight_lb=Decimal("2.000"))], [item("A", weight_lb=Decimal("2.300"))]
    assert bool(compare(erp, wms, tolerance)) is drifts
