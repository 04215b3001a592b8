"""PurchaseOrder -> 940 (to a 3PL warehouse) and 945 -> ShipNotice (the warehouse's answer), and for
the warehouse's side 940 -> WarehouseShippingOrder and ShipNotice -> 945.

Goldens against expected files written by hand, cross-checks with the independently written model
examples, round trips (945 -> ShipNotice -> 945), property tests through the validating X12 writer,
and bad values that become findings naming the mapping line."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.formats.x12 import decode, encode
from erpbridge.formats.x12.lexer import Lexer, Segment
from erpbridge.mapping import load_mapping
from erpbridge.mapping.meta import x12_meta
from erpbridge.mapping.samples import run_case, sample_cases
from erpbridge.model import from_json, to_json
from tests.conftest import ROOT, SAMPLES

X12 = ROOT / "mappings" / "x12"
TO_940 = X12 / "purchase-order-to-940.yaml"
FROM_945 = X12 / "945-to-ship-notice.yaml"
FROM_940 = X12 / "940-to-warehouse-shipping-order.yaml"
TO_945 = X12 / "ship-notice-to-945.yaml"
SAMPLES_940 = X12 / "purchase-order-to-940.samples"
SAMPLES_945 = X12 / "945-to-ship-notice.samples"
EXAMPLES = ROOT / "tests" / "unit" / "model_examples"

OUT_940 = load_mapping(TO_940)
IN_945 = load_mapping(FROM_945)
IN_940 = load_mapping(FROM_940)
OUT_945 = load_mapping(TO_945)
ALL = (TO_940, FROM_945, FROM_940, TO_945)


def segments_of(data: bytes) -> list[str]:
    lx = Lexer()
    lx.feed(data)
    lx.close()
    return ["*".join(t.elements) for t in lx.tokens() if isinstance(t, Segment)]


def line_of(path: Path, start: str) -> int:
    """The line of the mapping file that starts with ``start`` (after indentation)."""
    return next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(start)
    )


def write_940(doc: dict[str, Any]) -> bytes:
    """Map a PurchaseOrder and write the 940 in the envelope of the 940 sample (validated by the writer)."""
    result = OUT_940.apply(doc)
    assert result.ok, [str(f) for f in result.findings]
    assert result.document is not None
    view = decode((SAMPLES / "valid" / "940_004010.edi").read_bytes()).document
    view["interchanges"][0]["groups"][0]["sets"] = [
        {**result.document, "ST": {"ST01": "940", "ST02": "0001"}}
    ]
    return encode(view)


def map_inbound(data: bytes, mapping: Any = IN_945) -> list[dict[str, Any]]:
    """Every set of an interchange mapped to canonical JSON, as the model writes it."""
    decoded = decode(data)
    assert not [f for f in decoded.findings if f.severity == "error"]
    out = []
    for inter in decoded.document["interchanges"]:
        for group in inter["groups"]:
            for tset in group["sets"]:
                result = mapping.apply(tset, x12_meta(inter, group, tset))
                assert result.ok, [str(f) for f in result.findings]
                assert result.document is not None
                out.append(to_json(from_json(mapping.target, result.document)))
    return out


def map_945(data: bytes) -> list[dict[str, Any]]:
    return map_inbound(data, IN_945)


def write_945(notices: list[dict[str, Any]], envelope: bytes) -> bytes:
    """ShipNotices written as 945s in the envelope (ISA, GS, ST02s) of ``envelope``, validated by the writer."""
    view = decode(envelope).document
    sets = view["interchanges"][0]["groups"][0]["sets"]
    assert len(sets) == len(notices)
    for n, notice in enumerate(notices):
        result = OUT_945.apply(notice)
        assert result.ok, [str(f) for f in result.findings]
        assert result.document is not None
        sets[n] = {**result.document, "ST": {"ST01": "945", "ST02": sets[n]["ST"]["ST02"]}}
    return encode(view)


def first_945_set() -> dict[str, Any]:
    view = decode((SAMPLES / "valid" / "945_004010.edi").read_bytes()).document
    return view["interchanges"][0]["groups"][0]["sets"][0]


def test_the_mappings_pass_map_check() -> None:
    from erpbridge.cli.main import main

    result = CliRunner().invoke(main, ["map", "check", *map(str, ALL)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(ALL)


# --- goldens ------------------------------------------------------------------------------------


def test_940_sample_is_written_from_the_hand_written_purchase_order() -> None:
    po = json.loads((SAMPLES_940 / "940_004010.input.json").read_text())
    from_json("PurchaseOrder", po)  # a valid PurchaseOrder
    expected = (SAMPLES_940 / "940_004010.expected.edi").read_bytes()
    assert segments_of(write_940(po)) == segments_of(expected)


def test_the_940_expected_file_is_the_bundled_sample_without_the_weight() -> None:
    # a PurchaseOrder has no shipment weight: W7602-W7603 are the only difference to the original
    original = segments_of((SAMPLES / "valid" / "940_004010.edi").read_bytes())
    expected = segments_of((SAMPLES_940 / "940_004010.expected.edi").read_bytes())
    assert [s if not s.startswith("W76*") else "W76*48" for s in original] == expected


@pytest.mark.parametrize("case", ["945_004010", "945_packs"])
def test_945_samples_map_to_the_hand_written_ship_notices(case: str) -> None:
    produced = map_945((SAMPLES_945 / f"{case}.input.edi").read_bytes())
    expected = json.loads((SAMPLES_945 / f"{case}.expected.json").read_text())
    assert produced == [to_json(from_json("ShipNotice", d)) for d in expected]


def test_945_agrees_with_the_independent_warehouse_shipping_advice_example() -> None:
    # model_examples/WarehouseShippingAdvice.json was written by hand from the same 945 for the model's tests
    wsa = json.loads((EXAMPLES / "WarehouseShippingAdvice.json").read_text())
    [notice] = map_945((SAMPLES / "valid" / "945_004010.edi").read_bytes())
    assert (notice["shipment_id"], notice["ship_date"], notice["bill_of_lading"]) == (
        wsa["shipment_id"],
        wsa["ship_date"],
        wsa["bill_of_lading"],
    )
    assert notice["parties"] == wsa["parties"]
    assert notice["freight_terms"] == wsa["freight_terms"]
    assert notice["gross_weight"] == wsa["total_weight"]
    assert notice["carrier"] == {k: v for k, v in wsa["carrier"].items() if k != "name"}  # W27 has no name
    assert notice["meta"] == wsa["meta"]
    [order] = notice["orders"]
    assert order["po_number"] == wsa["po_number"]
    assert {"kind": "sales_order", "value": wsa["order_number"]} in notice["references"]
    items = [
        (i["line_number"], i["quantity"], i["ordered_quantity"], i["unit"], i["product_ids"])
        for i in order["items"]
    ]
    lines = [
        (w["line_number"], w["shipped_quantity"], w["ordered_quantity"], w["unit"], w["product_ids"])
        for w in wsa["lines"]
    ]
    assert items == lines
    assert str(sum(Decimal(i["quantity"]) for i in order["items"])) == wsa["total_quantity"]


def test_940_sample_maps_to_a_warehouse_shipping_order_like_the_independent_example() -> None:
    [order] = map_inbound((SAMPLES / "valid" / "940_004010.edi").read_bytes(), IN_940)
    expected = json.loads(
        (X12 / "940-to-warehouse-shipping-order.samples" / "940_004010.expected.json").read_text()
    )
    assert [order] == [to_json(from_json("WarehouseShippingOrder", d)) for d in expected]
    # model_examples/WarehouseShippingOrder.json was written by hand from the same 940, from the
    # depositor's side (its partner is the warehouse) and with the carrier's name, which W66 does not carry
    example = json.loads((EXAMPLES / "WarehouseShippingOrder.json").read_text())
    example["carrier"].pop("name")
    example["meta"]["partner_id"] = "NWOUTFITTERS"
    assert order == to_json(from_json("WarehouseShippingOrder", example))


@pytest.mark.parametrize("case", ["945_004010", "945_packs"])
def test_945_round_trip_through_a_ship_notice(case: str) -> None:
    data = (SAMPLES_945 / f"{case}.input.edi").read_bytes()
    notices = map_945(data)
    back = write_945(notices, data)
    if case == "945_004010":  # the bundled sample comes back segment for segment
        assert segments_of(back) == segments_of(data)
    # the packs sample says some things two ways (a carton's MAN in the W12 loop or in the LX loop,
    # a loose item's line in N9*LI or in LX01); what it means comes back unchanged
    assert map_945(back) == notices


def test_a_ship_notice_with_two_orders_is_a_finding_for_a_945() -> None:
    [notice] = json.loads((SAMPLES_945 / "945_004010.expected.json").read_text())
    notice["orders"].append({**notice["orders"][0], "po_number": "4500012399"})
    result = OUT_945.apply(notice)
    assert result.document is None
    [finding] = result.findings
    assert (finding.line, finding.target) == (line_of(TO_945, "W0606:"), "W06.W0606")
    assert "a 945 reports one order; this ShipNotice has 2" in finding.message


@pytest.mark.parametrize(
    ("mapping", "case"),
    [(m, c) for m in ALL for c in sample_cases(m)[0]],
    ids=lambda v: v.name if hasattr(v, "name") else str(v),
)
def test_sample_cases_pass_map_test(mapping: Path, case: Any) -> None:
    assert not sample_cases(mapping)[1]
    result = run_case(load_mapping(mapping), case)
    assert result.ok, result.problems + result.diff


def test_native_evaluation_gives_what_jsonata_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    from erpbridge.mapping import expressions

    def first_sets(path: Path) -> list[dict[str, Any]]:
        sets: list[dict[str, Any]] = decode(path.read_bytes()).document["interchanges"][0]["groups"][0][
            "sets"
        ]
        return sets

    po = json.loads((SAMPLES_940 / "940_004010.input.json").read_text())
    advices = first_sets(SAMPLES_945 / "945_004010.input.edi") + first_sets(
        SAMPLES_945 / "945_packs.input.edi"
    )
    orders = first_sets(SAMPLES / "valid" / "940_004010.edi")

    def run() -> list[Any]:
        notices = [IN_945.apply(s).document for s in advices]
        return [
            OUT_940.apply(po).document,
            *notices,
            *(OUT_945.apply(n).document for n in notices),
            *(IN_940.apply(s).document for s in orders),
        ]

    fast = run()
    monkeypatch.setattr(expressions, "NATIVE", False)
    assert run() == fast


# --- bad values are findings with the mapping line ----------------------------------------------


def test_a_945_with_a_bad_date_is_a_finding_at_the_ship_date_line() -> None:
    tset = first_945_set()
    tset["W06"]["W0603"] = "2026-03"
    result = IN_945.apply(tset)
    assert result.document is None
    [finding] = result.findings
    assert (finding.line, finding.target) == (line_of(FROM_945, "ship_date:"), "ship_date")
    assert "'2026-03' is not an X12 date" in finding.message
    assert str(finding).startswith(f"{FROM_945}:{finding.line}: ship_date:")


def test_a_945_upc_with_a_wrong_check_digit_is_a_finding_naming_the_item() -> None:
    tset = first_945_set()
    tset["LX_loop"][2]["W12_loop"][0]["W12"]["W1206"] = "061414120013"
    result = IN_945.apply(tset)
    assert result.document is None
    [finding] = result.findings
    assert finding.line == line_of(FROM_945, "upc:")
    assert finding.target == "orders[0].items[2].product_ids.upc"
    assert "wrong GS1 check digit" in finding.message


def test_a_945_party_code_not_in_the_list_is_a_finding_naming_the_csv() -> None:
    tset = first_945_set()
    tset["N1_loop"][1]["N1"]["N101"] = "XQ"
    result = IN_945.apply(tset)
    [finding] = result.findings
    assert finding.target == "parties[1].role" and finding.line == line_of(
        FROM_945, 'role: \'$code("party_role"'
    )
    assert "'XQ' is not in the x12 column of" in finding.message and "party_role.csv" in finding.message


def test_a_945_without_a_purchase_order_number_is_refused_by_the_model() -> None:
    tset = first_945_set()
    del tset["W06"]["W0606"]
    tset["N9"] = [n for n in tset["N9"] if n["N901"] != "PO"]
    result = IN_945.apply(tset)
    assert result.document is None
    [finding] = result.findings
    assert (finding.target, finding.line) == ("orders[0]", line_of(FROM_945, "orders:"))
    assert "po_number" in finding.message


def test_a_945_without_a_shipment_id_uses_the_depositor_order_number() -> None:
    tset = first_945_set()
    del tset["W06"]["W0604"]
    result = IN_945.apply(tset)
    assert result.ok and result.document is not None
    assert result.document["shipment_id"] == "SO-77120"


def po_sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES_940 / "940_004010.input.json").read_text())
    return data


def test_a_purpose_the_940_cannot_say_is_a_finding_naming_the_code_list() -> None:
    po = po_sample()
    po["purpose"] = "replace"  # W0501 has no "replace"
    result = OUT_940.apply(po)
    [finding] = result.findings
    assert (finding.line, finding.target) == (line_of(TO_940, "W0501:"), "W05.W0501")
    assert "'replace' is not in the canonical column of" in finding.message
    assert "order_status.csv" in finding.message


@pytest.mark.parametrize(("drop", "element"), [("freight_terms", "W6601"), ("carrier", "W6602")])
def test_a_purchase_order_without_what_w66_needs_is_a_finding(drop: str, element: str) -> None:
    po = po_sample()
    del po[drop]
    result = OUT_940.apply(po)
    assert result.document is None
    [finding] = result.findings
    assert (finding.line, finding.target) == (line_of(TO_940, f"{element}:"), f"W66.{element}")
    assert f"{element} is mandatory" in finding.message


def test_a_bad_date_in_the_purchase_order_is_a_finding_at_the_g62_line() -> None:
    po = po_sample()
    po["cancel_after_date"] = "2026-3-1"
    [finding] = OUT_940.apply(po).findings
    assert (finding.line, finding.target) == (line_of(TO_940, "G62:"), "G62")
    assert "'2026-3-1' is not a date" in finding.message


def test_a_line_number_lx01_cannot_carry_is_a_finding_naming_the_line() -> None:
    po = po_sample()
    po["lines"][1]["line_number"] = "A2"
    [finding] = OUT_940.apply(po).findings
    assert (finding.line, finding.target) == (line_of(TO_940, "LX01:"), "LX_loop[1].LX.LX01")
    assert "LX01 takes a line number of 1 to 6 digits, not A2" in finding.message


def test_without_a_sales_order_reference_the_po_number_is_the_depositor_order() -> None:
    po = po_sample()
    del po["references"]
    result = OUT_940.apply(po)
    assert result.document is not None and result.document["W05"]["W0502"] == "4500012345"


# --- properties ---------------------------------------------------------------------------------

_TEXT = st.from_regex(r"[A-Z0-9][A-Z0-9 .-]{0,20}[A-Z0-9]", fullmatch=True)
_DESCRIPTION = st.from_regex(r"[A-Z0-9][A-Z0-9 .-]{0,58}[A-Z0-9]", fullmatch=True)
_ID = st.from_regex(r"[A-Z0-9][A-Z0-9-]{1,12}", fullmatch=True)
_DATE = st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)
_QTY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2).map(
    lambda d: d.normalize() if d == d.to_integral_value() else d
)


@st.composite
def purchase_orders(draw: st.DrawFn) -> dict[str, Any]:
    numbers = draw(st.lists(st.integers(1, 999999), min_size=1, max_size=12, unique=True))
    lines = []
    for n in numbers:
        ids = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "upc": st.from_regex(r"[0-9]{12}", fullmatch=True),
                    "vendor_sku": _ID,
                    "buyer_part": _ID,
                },
            )
        )
        line: dict[str, Any] = {
            "line_number": str(n),
            "quantity": format(draw(_QTY), "f"),
            "unit": draw(st.sampled_from(["EA", "CA", "DZ", "PK"])),
        }
        if ids:
            line["product_ids"] = ids
        if draw(st.booleans()):
            line["description"] = draw(_DESCRIPTION)
        lines.append(line)
    parties = [
        {
            "role": role,
            "name": draw(_TEXT),
            **({"id": draw(_ID), "id_kind": draw(st.sampled_from(["assigned_by_buyer", "assigned_by_seller"]))} if i % 2 else {}),
        }
        for i, role in enumerate(draw(st.lists(st.sampled_from(["ship_to", "warehouse", "depositor", "bill_to", "vendor"]), max_size=4)))
    ]  # fmt: skip
    po: dict[str, Any] = {
        "kind": "PurchaseOrder",
        "po_number": draw(_ID),
        "order_date": draw(_DATE),
        "purpose": draw(st.sampled_from(["original", "cancel", "change", "confirmation", "duplicate"])),
        "parties": parties,
        "freight_terms": {"payment": draw(st.sampled_from(["prepaid", "collect", "third_party"]))},
        "carrier": {
            "transport_method": draw(st.sampled_from(["motor", "private_parcel", "ltl", "air"])),
            "scac": draw(st.from_regex(r"[A-Z]{2,4}", fullmatch=True)),
        },
        "lines": lines,
    }
    for key in ("department", "vendor_number"):
        if draw(st.booleans()):
            po[key] = draw(_ID)
    for key in ("requested_ship_date", "requested_delivery_date", "cancel_after_date"):
        if draw(st.booleans()):
            po[key] = draw(_DATE)
    from_json("PurchaseOrder", po)  # the strategy makes only valid documents
    return po


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(purchase_orders())
def test_random_purchase_orders_give_valid_940s_with_their_lines_and_totals(po: dict[str, Any]) -> None:
    data = write_940(po)  # the writer validates against the 940 schema
    [tset] = decode(data).document["interchanges"][0]["groups"][0]["sets"]
    assert tset["W05"]["W0503"] == po["po_number"]
    loops = tset["LX_loop"]
    assert len(loops) == len(po["lines"])
    assert Decimal(tset["W76"]["W7601"]) == sum(Decimal(line["quantity"]) for line in po["lines"])
    for loop, line in zip(loops, po["lines"], strict=True):
        assert loop["LX"]["LX01"] == line["line_number"]
        [w01_loop] = loop["W01_loop"]
        w01 = w01_loop["W01"]
        assert (Decimal(w01["W0101"]), w01["W0102"]) == (Decimal(line["quantity"]), line["unit"])
        ids = line.get("product_ids", {})
        slots = [(w01.get(f"W01{q:02d}"), w01.get(f"W01{q + 1:02d}")) for q in (4, 6)]
        want = [(q, ids[k]) for q, k in (("VN", "vendor_sku"), ("UP", "upc")) if k in ids]
        assert [s for s in slots if s != (None, None)] == want
        assert (w01.get("W0114"), w01.get("W0115")) == (
            ("IN", ids["buyer_part"]) if "buyer_part" in ids else (None, None)
        )
        assert (
            [g["G6901"] for g in w01_loop.get("G69", [])]
            == (  # G6901 holds 45 characters
                [line["description"][:45].rstrip()] if "description" in line else []
            )
        )
    assert len(tset.get("N1_loop", [])) == len(po["parties"])
    # and the warehouse reads back what the depositor asked for
    [order] = map_inbound(data, IN_940)
    assert (order["order_number"], order["po_number"]) == (po["po_number"], po["po_number"])
    assert order.get("department") == po.get("department")
    assert [
        (x["line_number"], Decimal(x["quantity"]), x["unit"], x.get("product_ids", {}), x.get("description"))
        for x in order["lines"]
    ] == [
        (
            x["line_number"],
            Decimal(x["quantity"]),
            x["unit"],
            x.get("product_ids", {}),
            x.get("description", "")[:45].rstrip() or None,
        )
        for x in po["lines"]
    ]
    dates = {g["G6201"]: g["G6202"] for g in tset.get("G62", [])}
    assert dates == {
        q: po[k].replace("-", "")
        for q, k in (
            ("10", "requested_ship_date"),
            ("02", "requested_delivery_date"),
            ("01", "cancel_after_date"),
        )
        if k in po
    }


def _gs1_check(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


_SSCC = st.from_regex(r"[0-9]{17}", fullmatch=True).map(_gs1_check)
_UPC = st.from_regex(r"[0-9]{11}", fullmatch=True).map(_gs1_check)


@st.composite
def warehouse_advices(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str, str | None]], int]:
    """A 945 JSON view with cartons at the LX level, at the W12 level or none, what each W12 holds
    (upc, shipped quantity, the SSCC of its carton or None), and the number of cartons."""
    loops, truth, cartons = [], [], 0
    for n in range(1, draw(st.integers(1, 6)) + 1):
        how = draw(st.sampled_from(["carton", "line", "loose"]))
        w12s = []
        carton = draw(_SSCC) if how == "carton" else None
        cartons += how == "carton"
        for _ in range(draw(st.integers(1, 3)) if how == "carton" else 1):
            upc, qty = draw(_UPC), str(draw(st.integers(1, 500)))
            w12: dict[str, Any] = {
                "W12": {"W1201": "CC", "W1202": qty, "W1203": qty, "W1205": "EA", "W1206": upc}
            }
            sscc = carton
            if how == "line":
                sscc = draw(_SSCC)
                cartons += 1
                w12["MAN"] = [{"MAN01": "GM", "MAN02": "00" + sscc}]
            w12s.append(w12)
            truth.append((upc, qty, sscc))
        loop: dict[str, Any] = {"LX": {"LX01": str(n)}, "W12_loop": w12s}
        if carton:
            loop["MAN"] = [{"MAN01": "GM", "MAN02": carton}]
        loops.append(loop)
    total = sum(int(q) for _, q, _ in truth)
    tset = {
        "ST": {"ST01": "945", "ST02": "0001"},
        "W06": {"W0601": "F", "W0602": draw(_ID), "W0603": "20260316", "W0606": draw(_ID)},
        "W27": {"W2701": "M", "W2702": "FXFE"},
        "LX_loop": loops,
        "W03": {"W0301": str(total)},
    }
    return tset, truth, cartons


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(warehouse_advices())
def test_every_shipped_945_item_lands_once_in_its_carton(
    advice: tuple[dict[str, Any], list[Any], int],
) -> None:
    tset, truth, cartons = advice
    view = decode((SAMPLES / "valid" / "945_004010.edi").read_bytes()).document
    view["interchanges"][0]["groups"][0]["sets"] = [copy.deepcopy(tset)]
    data = encode(view)
    [notice] = map_945(data)  # written (and validated) as X12, read back, mapped
    [order] = notice["orders"]
    got = [
        (i["product_ids"]["upc"], i["quantity"], p["sscc"])
        for p in order.get("packs", [])
        for i in p["items"]
    ]
    got += [(i["product_ids"]["upc"], i["quantity"], None) for i in order.get("items", [])]
    assert sorted(got, key=repr) == sorted(truth, key=repr)
    assert len(order.get("packs", [])) == cartons
    assert sum(Decimal(q) for _, q, _ in got) == Decimal(tset["W03"]["W0301"])
    assert map_945(write_945([notice], data)) == [notice]  # and back: ShipNotice -> 945 -> ShipNotice


# -- WarehouseShippingOrder -> 940 (a pick request from SAP's SHPORD to a 3PL) ---------------------

TO_940_WSO = X12 / "warehouse-shipping-order-to-940.yaml"


def test_a_pick_request_round_trips_through_the_940() -> None:
    """SHPORD's WarehouseShippingOrder -> 940 (validating writer) -> 940-to-warehouse-shipping-order:
    the delivery, PO, dates, parties and every line come back; the line numbers without SAP's zeros."""
    sample = TO_940_WSO.with_suffix(".samples") / "shpord_004010.input.json"
    pick = to_json(from_json("WarehouseShippingOrder", json.loads(sample.read_text())))
    mapped = load_mapping(TO_940_WSO).apply(pick)
    assert mapped.findings == [] and mapped.document is not None
    envelope = decode((SAMPLES_940 / "940_004010.expected.edi").read_bytes(), validate=False).document
    envelope["interchanges"][0]["groups"][0]["sets"][0] = {
        **mapped.document,
        "ST": {"ST01": "940", "ST02": "0001"},
    }
    data = encode(envelope)  # raises on any X12 error
    decoded = decode(data)
    assert [f for f in decoded.findings if f.severity == "error"] == []
    inter = decoded.document["interchanges"][0]
    [tset] = inter["groups"][0]["sets"]
    back = IN_940.apply(tset, x12_meta(inter, inter["groups"][0], tset))
    assert back.document is not None
    assert (back.document["order_number"], back.document["po_number"]) == ("0080001234", "4500012346")
    assert back.document["requested_ship_date"] == pick["requested_ship_date"]
    assert [p["role"] for p in back.document["parties"]] == [p["role"] for p in pick["parties"]]
    assert back.document["freight_terms"] == {"payment": "collect"}  # FCA: the buyer pays the carriage
    assert [
        (
            line["line_number"],
            Decimal(line["quantity"]),
            line["product_ids"]["vendor_sku"],
            line["po_line_number"],
        )
        for line in back.document["lines"]
    ] == [
        (
            str(int(line["line_number"])),
            Decimal(line["quantity"]),
            line["product_ids"]["vendor_sku"],
            line["po_line_number"],
        )
        for line in pick["lines"]
    ]


@pytest.mark.parametrize(
    ("terms", "w6601"),
    [
        ({"incoterm": "EXW"}, "CC"),
        ({"incoterm": "DAP"}, "PP"),
        ({"payment": "third_party", "incoterm": "FCA"}, "TP"),
    ],
)
def test_the_940_s_freight_payment_comes_from_the_terms_or_the_incoterm(
    terms: dict[str, str], w6601: str
) -> None:
    doc = {"kind": "WarehouseShippingOrder", "order_number": "1", "freight_terms": terms,
           "lines": [{"line_number": "1", "quantity": "1", "unit": "EA"}]}  # fmt: skip
    mapped = load_mapping(TO_940_WSO).apply(to_json(from_json("WarehouseShippingOrder", doc)))
    assert mapped.document is not None and mapped.document["W66"]["W6601"] == w6601


def test_a_940_without_freight_payment_or_incoterm_is_a_finding() -> None:
    doc = {
        "kind": "WarehouseShippingOrder",
        "order_number": "1",
        "lines": [{"line_number": "1", "quantity": "1", "unit": "EA"}],
    }
    mapped = load_mapping(TO_940_WSO).apply(to_json(from_json("WarehouseShippingOrder", doc)))
    assert mapped.document is None
    assert any("W6601 is mandatory" in str(f) for f in mapped.findings)
