"""The 856 mappings: X12 856 -> ShipNotice against hand-written goldens, ShipNotice -> 856 giving back
every segment of the samples in order, random ShipNotices that survive the trip, and BIGBOX's
partner mapping, whose output must pass BIGBOX's X12 overlay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.formats.x12 import EnvelopeParty, decode, encode, envelope, parse_overlay
from erpbridge.formats.x12.lexer import Lexer, Segment
from erpbridge.mapping import load_mapping
from erpbridge.mapping.meta import x12_meta
from erpbridge.mapping.samples import run_case, sample_cases
from erpbridge.model import Purpose, from_json, to_json
from tests.conftest import ROOT, SAMPLES

X12 = ROOT / "mappings" / "x12"
INBOUND_FILE = X12 / "856-to-ship-notice.yaml"
OUTBOUND_FILE = X12 / "ship-notice-to-856.yaml"
BIGBOX_FILE = ROOT / "mappings" / "partners" / "bigbox" / "ship-notice-to-856.yaml"
INBOUND, OUTBOUND, BIGBOX_MAPPING = (load_mapping(p) for p in (INBOUND_FILE, OUTBOUND_FILE, BIGBOX_FILE))
BIGBOX = parse_overlay(
    resources.files("erpbridge.formats.x12.schemas").joinpath("overlays/bigbox-856.yaml").read_text(),
    "bigbox-856.yaml",
)
SAMPLE_856 = [SAMPLES / "valid" / "856_004010.edi", SAMPLES / "valid" / "856_005010.edi"]
MULTI = SAMPLES / "valid" / "multi_interchange.edi"
SHIP_NOTICE = json.loads((ROOT / "tests" / "unit" / "model_examples" / "ShipNotice.json").read_text())


def normal(doc: dict[str, Any]) -> dict[str, Any]:
    """A ShipNotice as the model writes it (times with seconds, decimals as given)."""
    return to_json(from_json("ShipNotice", doc))


def segments_of(data: bytes) -> list[list[str]]:
    lx = Lexer()
    lx.feed(data)
    lx.close()
    return [t.elements for t in lx.tokens() if isinstance(t, Segment)]


def sets_856(view: dict[str, Any]) -> list[tuple[Any, Any, dict[str, Any]]]:
    return [
        (inter, group, tset)
        for inter in view["interchanges"]
        for group in inter["groups"]
        for tset in group["sets"]
        if tset["ST"]["ST01"] == "856"
    ]


def line_of(path: Path, start: str, after: str | None = None) -> int:
    """The number of the first line of ``path`` that starts with ``start`` (after the line ``after``)."""
    lines = path.read_text().splitlines()
    first = 0 if after is None else next(i for i, t in enumerate(lines) if t.startswith(after))
    return next(i for i, t in enumerate(lines) if i >= first and t.startswith(start)) + 1


def outbound_view(mapping: Any, doc: dict[str, Any], version: str = "004010") -> dict[str, Any]:
    made = mapping.apply(doc)
    assert made.ok, [str(f) for f in made.findings]
    return envelope(
        [made.document],
        sender=EnvelopeParty("ZZ", "NWOUTFITTERS"),
        receiver=EnvelopeParty("ZZ", "BIGBOX"),
        now=datetime(2026, 3, 16, 14, 45, tzinfo=UTC),
        version=version,
    )


# -- goldens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sample_cases(INBOUND_FILE)[0], ids=lambda c: c.name)
def test_856_maps_to_the_hand_written_golden(case: Any) -> None:
    view = decode(case.input.read_bytes()).document
    made = []
    for inter, group, tset in sets_856(view):
        result = INBOUND.apply(tset, x12_meta(inter, group, tset))
        assert result.ok, [str(f) for f in result.findings]
        made.append(normal(result.document))
    expected = [normal(d) for d in json.loads(case.expected.read_text())]
    assert made == expected


def test_the_model_example_differs_only_where_the_856_carries_nothing() -> None:
    # model_examples/ShipNotice.json was written by hand from 856_004010.edi for the model's tests. It
    # adds what the 856 does not say: the carrier's name and service (no TD512), each carton's
    # packaging (the TD1 is at the shipment level only), and the partner as configured (MEGAMART).
    tset = decode(SAMPLE_856[0].read_bytes()).document["interchanges"][0]["groups"][0]["sets"][0]
    doc = normal(INBOUND.apply(tset).document)
    example = json.loads(json.dumps(SHIP_NOTICE))
    del example["carrier"]["name"], example["carrier"]["service_level"], example["meta"]
    for order in example["orders"]:
        for pack in order["packs"]:
            assert pack.pop("packaging") == "carton"
    assert doc == normal(example)


@pytest.mark.parametrize(
    "mapping_file", [INBOUND_FILE, OUTBOUND_FILE, BIGBOX_FILE], ids=lambda p: p.parent.name + "/" + p.name
)
def test_every_sample_case_beside_the_856_mappings_passes(mapping_file: Path) -> None:
    cases, complaints = sample_cases(mapping_file)
    assert cases and not complaints
    for case in cases:
        result = run_case(load_mapping(mapping_file), case)
        assert result.ok, (case.name, result.problems, "\n".join(result.diff))


# -- round trips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*SAMPLE_856, MULTI], ids=lambda p: p.name)
def test_856_round_trip_gives_back_every_segment_in_order(path: Path) -> None:
    data = path.read_bytes()
    view = decode(data).document
    assert sets_856(view)
    for _, group, tset in sets_856(view):
        notice = INBOUND.apply(tset)
        assert notice.ok, [str(f) for f in notice.findings]
        # through the model's JSON, which writes 14:30 as 14:30:00
        back = OUTBOUND.apply(normal(notice.document))
        assert back.ok, [str(f) for f in back.findings]
        group["sets"][group["sets"].index(tset)] = {**back.document, "ST": tset["ST"]}
    out = encode(view)  # validated by the writer
    assert segments_of(out) == segments_of(data)  # the other sets of the multi-interchange file too


def test_native_evaluation_agrees_with_jsonata(monkeypatch: pytest.MonkeyPatch) -> None:
    from erpbridge.mapping import expressions

    tset = decode(SAMPLE_856[0].read_bytes()).document["interchanges"][0]["groups"][0]["sets"][0]
    fast = INBOUND.apply(tset).document
    fast_back = OUTBOUND.apply(fast).document
    monkeypatch.setattr(expressions, "NATIVE", False)
    assert INBOUND.apply(tset).document == fast
    assert OUTBOUND.apply(fast).document == fast_back


def test_ctt01_counts_hl_segments_and_hl04_says_whether_a_level_has_children() -> None:
    doc = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())
    doc["orders"][1]["items"] = doc["orders"][1]["packs"][0]["items"]  # loose items under order 2 too
    out = OUTBOUND.apply(doc).document
    hl = [loop["HL"] for loop in out["HL_loop"]]
    assert [h["HL03"] for h in hl] == list("SOPIIPIOPIIII")
    assert out["CTT"]["CTT01"] == "13" == str(len(hl))
    parents = {h.get("HL02") for h in hl}
    assert [h["HL04"] for h in hl] == ["1" if h["HL01"] in parents else "0" for h in hl]
    assert [h.get("HL02") for h in hl][-2:] == ["8", "8"]  # the loose items hang on their order
    assert out["BSN"]["BSN05"] == "0001"
    no_packs = {**doc, "orders": [{"po_number": "1", "items": doc["orders"][1]["items"]}]}
    assert OUTBOUND.apply(no_packs).document["BSN"]["BSN05"] == "0004"  # shipment, order, item


# -- findings ------------------------------------------------------------------------------------------


def test_a_wrong_sscc_check_digit_is_a_finding_naming_the_mapping_line() -> None:
    doc = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())
    doc["orders"][1]["packs"][0]["sscc"] = "006141410000000037"  # check digit 6
    for mapping, path in ((OUTBOUND, OUTBOUND_FILE), (BIGBOX_MAPPING, BIGBOX_FILE)):
        result = mapping.apply(doc)
        assert result.document is None
        [finding] = result.findings
        assert (finding.file, finding.line) == (str(path), line_of(path, "                    MAN02:"))
        assert finding.target == "HL_loop[8].MAN.MAN02"
        assert "'006141410000000037' has a wrong GS1 check digit (expected 6)" in finding.message
    # inbound too: the label read from MAN*GM is checked
    data = (
        SAMPLE_856[0].read_bytes().replace(b"MAN*GM*00006141410000000036~", b"MAN*GM*00006141410000000037~")
    )
    tset = decode(data).document["interchanges"][0]["groups"][0]["sets"][0]
    [finding] = INBOUND.apply(tset).findings
    assert finding.line == line_of(INBOUND_FILE, "          sscc:")
    assert finding.target == "orders[1].packs[0].sscc" and "wrong GS1 check digit" in finding.message
    assert str(finding).startswith(f"{INBOUND_FILE}:{finding.line}: orders[1].packs[0].sscc:")


def test_a_second_shipment_level_is_a_finding_not_lost_orders() -> None:
    tset = decode(SAMPLE_856[0].read_bytes()).document["interchanges"][0]["groups"][0]["sets"][0]
    tset["HL_loop"].append({"HL": {"HL01": "12", "HL03": "S", "HL04": "0"}})
    [finding] = INBOUND.apply(tset).findings
    assert finding.target == "orders" and "more than one shipment" in finding.message


# -- BIGBOX --------------------------------------------------------------------------------------------


def test_bigbox_output_passes_the_bigbox_overlay() -> None:
    doc = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())
    out = encode(outbound_view(BIGBOX_MAPPING, doc), overlays=[BIGBOX])
    decoded = decode(out, overlays=[BIGBOX])
    assert decoded.findings == []
    tset = decoded.document["interchanges"][0]["groups"][0]["sets"][0]
    assert tset["BSN"]["BSN05"] == "0001"
    assert tset["HL_loop"][0]["DTM"] == [{"DTM01": "011", "DTM02": "20260316"}]
    assert [loop["REF"] for loop in tset["HL_loop"] if loop["HL"]["HL03"] == "O"] == [
        [{"REF01": "IA", "REF02": "778812"}]
    ] * 2
    assert tset["HL_loop"][2]["MAN"] == [{"MAN01": "GM", "MAN02": "00006141410000000012"}]
    # what BIGBOX does not change comes from the standard mapping it extends
    assert tset["HL_loop"][0]["TD5"] == [
        {"TD501": "B", "TD502": "2", "TD503": "UPSN", "TD504": "U", "TD505": "UPS GROUND"}
    ]


def test_bigbox_refuses_a_ship_notice_without_a_vendor_number() -> None:
    doc = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())
    del doc["orders"][0]["vendor_number"]
    result = BIGBOX_MAPPING.apply(doc)
    assert result.document is None
    [finding] = result.findings
    assert finding.line == line_of(BIGBOX_FILE, "            REF:", after="        - level: O")
    assert finding.target == "HL_loop[1].REF" and "REF*IA" in finding.message
    # the standard mapping writes the order without REF*IA, which BIGBOX's overlay refuses
    out = encode(outbound_view(OUTBOUND, doc))
    got = decode(out, overlays=[BIGBOX]).findings
    assert [(f.code, f.location.segment_id) for f in got] == [("3", "REF")]
    assert decode(out).findings == []


def test_bigbox_refuses_loose_items_and_cartons_without_a_label() -> None:
    doc = json.loads((X12 / "ship-notice-to-856.samples" / "856_004010.input.json").read_text())
    del doc["orders"][0]["packs"][1]["sscc"]
    doc["orders"][1]["items"] = doc["orders"][1]["packs"].pop()["items"]
    messages = [(f.target, f.message) for f in BIGBOX_MAPPING.apply(doc).findings]
    assert messages == [
        ("HL_loop[5].MAN.MAN02", "BIGBOX labels every carton with its SSCC-18 (MAN*GM): sscc is missing"),
        (
            "HL_loop[7].PRF",
            "BIGBOX ships pick/pack by carton (BSN05 0001): put the order's loose items in packs",
        ),
    ]


# -- random ShipNotices --------------------------------------------------------------------------------


def gs1_check(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    inner = max(max_size - 2, 0)
    if min_size >= 2:
        return st.from_regex(rf"[A-Z0-9][A-Z0-9 .-]{{0,{inner}}}[A-Z0-9]", fullmatch=True)
    return st.from_regex(rf"[A-Z0-9]([A-Z0-9 .-]{{0,{inner}}}[A-Z0-9])?", fullmatch=True)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def compact(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, [], {})}


digits = st.integers(0, 10**17 - 1).map(lambda n: gs1_check(f"{n:017d}"))
upcs = st.integers(0, 10**11 - 1).map(lambda n: gs1_check(f"{n:011d}"))
amounts = st.builds(
    lambda whole, frac: f"{whole}" if frac is None else f"{whole}.{frac}",
    st.integers(1, 99999),
    optional(st.sampled_from(["5", "25", "75", "1"])),
)
dates = st.dates(datetime(2000, 1, 1).date(), datetime(2099, 12, 31).date()).map(lambda d: d.isoformat())
times = st.times().map(lambda t: t.replace(microsecond=0).isoformat())


@st.composite
def addresses(draw: st.DrawFn) -> dict[str, Any] | None:
    address = compact(
        lines=draw(st.lists(text(1, 20), max_size=2)),
        city=draw(optional(text(2, 20))),
        state=draw(optional(st.sampled_from(["OH", "KY", "MN"]))),
        postal_code=draw(optional(st.from_regex(r"[0-9]{5}", fullmatch=True))),
        country=draw(optional(st.just("US"))),
    )
    return address or None


@st.composite
def parties(draw: st.DrawFn, roles: list[str], contacts: bool = True) -> dict[str, Any]:
    with_id = draw(st.booleans())
    people = []
    if contacts:
        people = draw(
            st.lists(
                st.builds(
                    compact,
                    role=st.sampled_from(["buyer", "delivery", "order_contact"]),
                    name=optional(text(1, 20)),
                    phone=optional(st.from_regex(r"[0-9]{10}", fullmatch=True)),
                    email=optional(st.just("DOCK@EXAMPLE.COM")),
                ),
                max_size=1,
            )
        )
    return compact(
        role=draw(st.sampled_from(roles)),
        name=draw(text(1, 30)),
        id=draw(text(2, 12)) if with_id else None,
        id_kind=draw(st.sampled_from(["assigned_by_buyer", "duns", "gln", "mutually_defined"]))
        if with_id
        else None,
        address=draw(addresses()),
        contacts=people,
    )


@st.composite
def items(draw: st.DrawFn, upc: bool = False) -> dict[str, Any]:
    kinds = ["gtin", "ean", "vendor_sku", "buyer_part", "sku", "manufacturer_part"]
    ids = {k: draw(text(1, 14)) for k in draw(st.lists(st.sampled_from(kinds), unique=True, max_size=3))}
    if upc or not ids or draw(st.booleans()):
        ids = {"upc": draw(upcs), **ids}
    ordered = draw(optional(amounts))
    return compact(
        product_ids=ids,
        quantity=draw(amounts),
        unit=draw(st.sampled_from(["EA", "CA", "PK", "DZ"])),
        line_number=draw(optional(st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True))),
        ordered_quantity=ordered,
        description=draw(optional(text(1, 30))),
        lot_number=draw(optional(text(1, 10))),
        serial_numbers=draw(st.lists(text(1, 10), max_size=2)),
        expiration_date=draw(optional(dates)),
    )


@st.composite
def packs(draw: st.DrawFn, bigbox: bool = False) -> dict[str, Any]:
    return compact(
        sscc=draw(digits) if bigbox else draw(optional(digits)),
        tracking_number=draw(optional(text(1, 20))),
        packaging=draw(optional(st.sampled_from(["carton", "pallet", "box"]))),
        weight=draw(
            optional(st.builds(lambda v, u: {"value": v, "unit": u}, amounts, st.sampled_from(["LB", "KG"])))
        ),
        items=draw(st.lists(items(upc=bigbox), min_size=1, max_size=3)),
    )


@st.composite
def orders(draw: st.DrawFn, bigbox: bool = False) -> dict[str, Any]:
    cartons = draw(st.lists(packs(bigbox), min_size=1 if bigbox else 0, max_size=3))
    loose = [] if bigbox else draw(st.lists(items(), min_size=0 if cartons else 1, max_size=3))
    return compact(
        po_number=draw(text(1, 22)),
        po_date=draw(optional(dates)),
        release_number=draw(optional(text(1, 10))),
        department=draw(optional(text(1, 10))),
        vendor_number=draw(text(1, 10)) if bigbox else draw(optional(text(1, 10))),
        invoice_number=None if bigbox else draw(optional(text(1, 10))),
        parties=[] if bigbox else draw(st.lists(parties(["mark_for", "buyer"]), max_size=1)),
        packs=cartons,
        items=loose,
    )


@st.composite
def ship_notices(draw: st.DrawFn, bigbox: bool = False) -> dict[str, Any]:
    carrier = compact(
        scac=draw(st.from_regex(r"[A-Z]{4}", fullmatch=True))
        if bigbox
        else draw(optional(st.from_regex(r"[A-Z]{4}", fullmatch=True))),
        transport_method=draw(optional(st.sampled_from(["motor", "private_parcel", "air", "ltl"]))),
        routing=draw(optional(text(1, 20))),
        service_level=draw(optional(st.sampled_from(["ground", "next_day_air", "two_day"]))),
    )
    counted = draw(st.booleans())
    return compact(
        kind="ShipNotice",
        shipment_id=draw(text(2, 22)),
        ship_date=draw(dates),
        notice_date=draw(dates),
        notice_time=draw(times),
        purpose="original" if bigbox else draw(st.sampled_from([p.value for p in Purpose])),
        estimated_delivery_date=draw(optional(dates)),
        carrier=carrier,
        tracking_number=draw(optional(text(1, 20))),
        bill_of_lading=draw(text(1, 20)) if bigbox else draw(optional(text(1, 20))),
        packaging=draw(st.sampled_from(["carton", "pallet"])) if counted else None,
        package_count=draw(st.integers(1, 999)) if counted else None,
        gross_weight=draw(optional(st.builds(lambda v, u: {"value": v, "unit": u}, amounts, st.just("LB")))),
        volume=draw(optional(st.builds(lambda v, u: {"value": v, "unit": u}, amounts, st.just("CF")))),
        freight_terms=draw(
            optional(st.builds(lambda p: {"payment": p}, st.sampled_from(["prepaid", "collect"])))
        ),
        parties=draw(
            st.lists(parties(["ship_to", "ship_from", "vendor", "buyer"], contacts=not bigbox), max_size=2)
        ),
        references=draw(
            st.lists(
                st.builds(
                    compact,
                    kind=st.sampled_from(["merchandise_type", "vendor_id_number", "mutually_defined"]),
                    value=text(1, 12),
                    description=optional(text(1, 20)),
                ),
                max_size=2,
            )
        ),
        dates=draw(
            st.lists(
                st.builds(
                    compact,
                    kind=st.sampled_from(["cancel_after", "delivery_requested", "ship_not_before"]),
                    date=dates,
                    time=optional(times),
                ),
                max_size=2,
            )
        ),
        orders=draw(st.lists(orders(bigbox), min_size=1, max_size=3)),
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(ship_notices(), st.sampled_from(["004010", "005010"]))
def test_random_ship_notices_survive_856_and_back(doc: dict[str, Any], version: str) -> None:
    out = encode(outbound_view(OUTBOUND, doc, version))  # validated by the writer
    decoded = decode(out)
    assert decoded.findings == []
    [(_, _, tset)] = sets_856(decoded.document)
    hl = [loop["HL"] for loop in tset["HL_loop"]]
    assert tset["CTT"]["CTT01"] == str(len(hl))
    back = INBOUND.apply(tset)
    assert back.ok, [str(f) for f in back.findings]
    assert normal(back.document) == normal(doc)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(ship_notices(bigbox=True))
def test_random_pick_pack_ship_notices_pass_the_bigbox_overlay(doc: dict[str, Any]) -> None:
    out = encode(outbound_view(BIGBOX_MAPPING, doc), overlays=[BIGBOX])
    decoded = decode(out, overlays=[BIGBOX])
    assert decoded.findings == []
    [(_, _, tset)] = sets_856(decoded.document)
    back = INBOUND.apply(tset)
    assert back.ok, [str(f) for f in back.findings]
    # BIGBOX's guide has no room for other shipment references and dates; the rest comes back
    assert normal(back.document) == normal({k: v for k, v in doc.items() if k not in ("references", "dates")})
