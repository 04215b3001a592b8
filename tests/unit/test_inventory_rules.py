"""Per-channel inventory rules (mapping/inventory_rules.py), with the seeds' cases: one pool advertised
everywhere, FBA's own pool, wholesale reservations against a ship date, safety stock, never below zero."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from erpbridge.errors import MappingError
from erpbridge.mapping.inventory_rules import load_rules, parse_rules
from tests.conftest import ROOT

MARCH_16 = dt.date(2026, 3, 16)

SEED = parse_rules(
    """
rules: seed
safety_stock: 5
reservations:
  - {sku: TEE-M, quantity: 100, until: 2026-03-31, for: wholesale}
channels:
  fba:
    exclude_skus: [TEE-M]
  tiktok:
    share: 40%
  ebay:
    allocation: {TEE-M: 50}
""",
    file="seed.yaml",
)


def test_one_pool_is_advertised_to_every_channel_that_is_not_an_exception() -> None:
    # "The default we recommend is one pool, advertised everywhere": Shopify, FBM and any channel not
    # configured see the same sellable count: 500 on hand - 80 committed - 100 reserved - 5 safety
    for channel in ("shopify", "amazon_fbm", "woocommerce"):
        assert SEED.advertised(channel, "TEE-M", on_hand=500, committed=80, as_of=MARCH_16) == 315


def test_fba_holds_its_own_pool_so_the_wms_advertises_nothing_to_it() -> None:
    assert SEED.advertised("fba", "TEE-M", on_hand=500, committed=80, as_of=MARCH_16) == 0
    assert (
        SEED.advertised("fba", "CAP", on_hand=500, committed=80, as_of=MARCH_16) == 415
    )  # other SKUs: the pool


def test_a_wholesale_reservation_is_set_aside_until_its_ship_date_but_not_from_its_own_channel() -> None:
    assert SEED.advertised("shopify", "TEE-M", on_hand=500, as_of=dt.date(2026, 3, 31)) == 395
    assert (
        SEED.advertised("shopify", "TEE-M", on_hand=500, as_of=dt.date(2026, 4, 1)) == 495
    )  # shipped: released
    assert SEED.advertised("wholesale", "TEE-M", on_hand=500, as_of=MARCH_16) == 495


def test_a_channel_with_its_own_share_or_allocation() -> None:
    assert (
        SEED.advertised("tiktok", "TEE-M", on_hand=500, committed=80, as_of=MARCH_16) == 126
    )  # floor(315 * 0.4)
    assert SEED.advertised("ebay", "TEE-M", on_hand=500, committed=80, as_of=MARCH_16) == 50
    assert (
        SEED.advertised("ebay", "TEE-M", on_hand=150, committed=80, as_of=MARCH_16) == 0
    )  # capped, and the pool is gone


def test_never_below_zero() -> None:
    # safety stock and reservations larger than what is on hand: 0, never a negative 846 quantity
    assert SEED.advertised("shopify", "TEE-M", on_hand=60, committed=10, as_of=MARCH_16) == 0
    assert SEED.advertised("shopify", "CAP", on_hand=3, as_of=MARCH_16) == 0


def test_apply_sets_available_per_item_of_an_inventory_advice() -> None:
    rules = load_rules(ROOT / "mappings" / "wms" / "inventory-rules.yaml")
    expected = json.loads(
        (
            ROOT / "mappings/wms/inventory-csv-to-inventory-advice.samples/blueriver_snapshot.expected.json"
        ).read_text()
    )[0]
    for channel in ("megamart", "amazon_fba", "tiktok"):
        out = rules.apply(expected, channel=channel)
        got = {i["product_ids"]["vendor_sku"]: i["available"] for i in out["items"]}
        for item in expected["items"]:
            sku = item["product_ids"]["vendor_sku"]
            pool = (
                Decimal(item["on_hand"]) - Decimal(item["committed"]) - (24 if sku == "NW-SK-WHT-3P" else 12)
            )
            if sku == "NW-TS-BLK-M" and channel != "megamart":
                pool -= 120  # MegaMart's reservation, until 2026-03-31
            want = {
                "megamart": pool,
                "amazon_fba": Decimal(0) if sku.startswith("NW-TS-BLK") else pool,
                "tiktok": (pool * Decimal("0.25")).to_integral_value(rounding="ROUND_FLOOR"),
            }[channel]
            assert Decimal(got[sku]) == max(want, Decimal(0)), (channel, sku)
        # on hand and committed are the WMS's truth, unchanged
        assert [i["on_hand"] for i in out["items"]] == [i["on_hand"] for i in expected["items"]]
    assert expected["items"][0]["available"] == "384"  # the input is not changed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("safety_stok: 2\n", "x.yaml:1: unknown key 'safety_stok'"),
        ("safety_stock: -1\n", "x.yaml:1: safety_stock -1 is not a quantity"),
        ("channels:\n  a:\n    share: lots\n", "x.yaml:3: share 'lots' is not a percentage"),
        ("reservations:\n  - {sku: A}\n", "x.yaml:2: a reservation needs 'quantity'"),
        ("reservations:\n  - {sku: A, quantity: 1, until: soon}\n", "x.yaml:2: until 'soon' is not a date"),
        ("channels: [\n", "x.yaml:2: not valid YAML"),
        ("safety_stock: NaN\n", "x.yaml:1: safety_stock 'NaN' is not a quantity"),
        ("channels:\n  a:\n    allocation: {A: .inf}\n", "x.yaml:3: allocation.A inf is not a quantity"),
    ],
)
def test_rules_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(MappingError) as err:
        parse_rules(text, file="x.yaml")
    assert message in str(err.value)


def test_negative_or_unreadable_wms_figures_never_raise_what_a_channel_is_advertised() -> None:
    # a WMS snapshot with a negative allocation (a correction booked backwards) must not add to the
    # pool: 100 on hand, -40 committed is 100 - 0 - 5 safety, not 135
    assert SEED.advertised("shopify", "CAP", on_hand=100, committed=-40, as_of=MARCH_16) == 95
    advice = {
        "advice_date": "2026-03-16",
        "items": [
            {"product_ids": {"vendor_sku": "CAP"}, "on_hand": "NaN", "available": "7"},
            {"product_ids": {"vendor_sku": "TEE-M"}, "available": "9"},  # no on hand figure
            {"product_ids": {"vendor_sku": "CAP"}, "on_hand": "100", "committed": "-40", "available": "140"},
        ],
    }
    shopify = [i["available"] for i in SEED.apply(advice, channel="shopify")["items"]]
    assert shopify == ["7", "9", "95"]  # nothing to apply the rules to: left as the WMS said
    # ... but a SKU the channel excludes is 0 whatever the WMS's figures are
    fba = [i["available"] for i in SEED.apply(advice, channel="fba")["items"]]
    assert fba == ["7", "0", "95"]
