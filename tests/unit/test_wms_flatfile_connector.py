"""connectors/wms_flatfile.py: canonical documents and item rows as files in a declared layout, through
a real local transport; the wms_flatfile endpoint in the configuration."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from erpbridge.config import WmsFlatFileEndpoint, build_connector
from erpbridge.connectors.wms_flatfile import WmsFlatFileConnector, WmsFlatFileSettings
from erpbridge.errors import DocumentRejectedError
from erpbridge.formats.flatfile import load_layout, read
from erpbridge.transports import LocalTransport
from tests.conftest import ROOT
from tests.unit.test_config import MINIMAL, error_of, load_text

WMS = ROOT / "mappings" / "wms"
SHPORD = ROOT / "mappings/idoc/shpord.delvry07-to-warehouse-shipping-order.samples/shpord.expected.json"


def connector(tmp_path: Path, layout: str, **mappings: Path) -> WmsFlatFileConnector:
    (tmp_path / "inbound").mkdir(exist_ok=True)
    settings = WmsFlatFileSettings(
        name="wms_files", layout=WMS / "layouts" / f"{layout}.yaml", mappings=mappings
    )
    return WmsFlatFileConnector(settings, LocalTransport(tmp_path), "inbound")


def test_a_pick_request_is_written_in_the_pick_order_layout_idempotently(tmp_path: Path) -> None:
    c = connector(
        tmp_path, "pick-order", WarehouseShippingOrder=WMS / "warehouse-shipping-order-to-pick-order.yaml"
    )
    order = json.loads(SHPORD.read_text())[0]
    done = c.deliver(order, key="WarehouseShippingOrder-blueriver3pl-0000000000204711")
    again = c.deliver(order, key="WarehouseShippingOrder-blueriver3pl-0000000000204711")
    c.close()
    assert done.reference == again.reference == "WarehouseShippingOrder-blueriver3pl-0000000000204711.txt"
    assert [p.name for p in (tmp_path / "inbound").iterdir()] == [done.reference]
    result = read(
        load_layout(WMS / "layouts/pick-order.yaml"),
        (tmp_path / "inbound" / done.reference).read_bytes(),
        file="x",
    )
    assert result.rows[0].values["order_number"] == order["order_number"] == "0080001234"
    assert [(r.values["sku"], r.values["quantity"]) for r in result.rows[1:]] == [
        (line["product_ids"]["vendor_sku"], Decimal(line["quantity"])) for line in order["lines"]
    ]


def test_what_the_layout_refuses_is_a_terminal_rejection_naming_row_and_column(tmp_path: Path) -> None:
    c = connector(
        tmp_path, "pick-order", WarehouseShippingOrder=WMS / "warehouse-shipping-order-to-pick-order.yaml"
    )
    order = json.loads(SHPORD.read_text())[0]
    order["lines"][1]["product_ids"]["vendor_sku"] = "NW-" + "X" * 40  # wider than the 30-character SKU
    with pytest.raises(
        DocumentRejectedError,
        match=r"refuses a row: .*:3:29: sku: '.*' is 43 characters; the column is 30 wide",
    ):
        c.deliver(order, key="k")
    with pytest.raises(DocumentRejectedError, match=r"has no mapping for PurchaseOrder"):
        c.deliver({"kind": "PurchaseOrder"}, key="k2")
    assert list((tmp_path / "inbound").iterdir()) == []


def test_the_item_master_is_written_from_item_rows(tmp_path: Path) -> None:
    c = connector(tmp_path, "item-master")
    items = [
        {"sku": "NW-TS-BLK-S", "description": "CREW TEE BLACK S", "upc": "061414110013", "case_pack": 24,
         "weight_lb": "0.350", "lot_controlled": False},
        {"sku": "NW-CP-BLK-OS", "description": 'TWILL CAP | BLACK "OS"', "weight_lb": Decimal("0.2")},
    ]  # fmt: skip
    done = c.write_items(items, key="items-20260316")
    c.close()
    data = (tmp_path / "inbound" / "items-20260316.txt").read_bytes()
    layout = load_layout(WMS / "layouts/item-master.yaml")
    assert data.split(b"\r\n")[0] == "|".join(c.name for c in layout.columns).encode()
    # quoted because it holds the delimiter and quotes; the defaults written; later columns empty
    assert data.split(b"\r\n")[2].startswith(b'NW-CP-BLK-OS|"TWILL CAP | BLACK ""OS"""||EA||0.200|||||N|Y')
    rows = read(load_layout(WMS / "layouts/item-master.yaml"), data, file=done.reference).rows
    assert [r.values["sku"] for r in rows] == ["NW-TS-BLK-S", "NW-CP-BLK-OS"] and rows[0].values[
        "case_pack"
    ] == 24
    with pytest.raises(
        DocumentRejectedError, match=r"refuses an item: items-bad.txt:1:description: description: required"
    ):
        c.write_items([{"sku": "X"}], key="items-bad")


ENDPOINT = """
[endpoints.wms_pick]
type = "wms_flatfile"
root = "var/wms"
layout = "pick-order"
mappings = { PurchaseOrder = "mappings/wms/purchase-order-to-pick-order.yaml" }
"""


def test_the_wms_flatfile_endpoint(tmp_path: Path) -> None:
    config = load_text(tmp_path, MINIMAL + ENDPOINT)
    ep = config.endpoints["wms_pick"]
    assert isinstance(ep, WmsFlatFileEndpoint)
    assert (
        ep.layout.name == "pick-order.yaml" and set(ep.mappings) == {"PurchaseOrder"} and ep.suffix == ".txt"
    )
    built = build_connector(ep, folder="inbound/pick-orders")
    assert isinstance(built, WmsFlatFileConnector) and built.layout.name == "pick-order"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('layout = "pick-order"', 'layout = "nope"'), "endpoints.wms_pick.layout: "),
        (("PurchaseOrder = ", "Invoice = "), "maps \"PurchaseOrder\" to \"wms/pick-order\"; a WMS file mapping reads Invoice"),
        (("PurchaseOrder = ", "Purchase = "), "endpoints.wms_pick.mappings.Purchase: unknown key"),
        (('root = "var/wms"', 'root = "var/wms"\nsuffix = "txt"'), 'endpoints.wms_pick.suffix: "txt" is not a file suffix'),
    ],
)  # fmt: skip
def test_a_broken_wms_flatfile_endpoint_names_its_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    shutil.copytree(WMS, tmp_path / "mappings" / "wms")
    _, message = error_of(tmp_path, MINIMAL + ENDPOINT.replace(*change))
    assert expected in message, message
