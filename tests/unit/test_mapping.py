"""The mapping engine: shipped 850 mapping against an independent golden, load-time checks with
file:line, findings instead of crashes, extends, and native paths that agree with JSONata."""

from __future__ import annotations

import json
from pathlib import Path

import jsonata
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.formats.x12 import decode
from erpbridge.mapping import MappingError, load_mapping
from erpbridge.mapping.expressions import Expression
from erpbridge.model import from_json
from tests.conftest import CORPUS, ROOT, SAMPLES

PO_MAPPING = ROOT / "mappings" / "x12" / "850-to-purchase-order.yaml"
EXAMPLE = json.loads((ROOT / "tests" / "unit" / "model_examples" / "PurchaseOrder.json").read_text())


def first_set(path: Path) -> dict:
    return decode(path.read_bytes()).document["interchanges"][0]["groups"][0]["sets"][0]


def test_850_sample_maps_to_the_independently_written_example() -> None:
    # model_examples/PurchaseOrder.json was written by hand from the same sample, for the model's tests
    result = load_mapping(PO_MAPPING).apply(first_set(SAMPLES / "valid" / "850_004010.edi"))
    assert result.ok, [str(f) for f in result.findings]
    doc = result.document
    assert doc is not None
    for key in ("po_number", "order_date", "purpose", "order_type", "currency", "department", "vendor_number",
                "requested_ship_date", "requested_delivery_date", "parties", "lines", "contacts", "freight_terms"):  # fmt: skip
        assert doc[key] == EXAMPLE[key], key
    # the example also carries free text the 850 does not (a terms description, the carrier's name)
    assert doc["payment_terms"] == {k: v for k, v in EXAMPLE["payment_terms"].items() if k != "description"}
    assert doc["carrier"] == {k: v for k, v in EXAMPLE["carrier"].items() if k != "name"}
    from_json("PurchaseOrder", doc)  # and the model accepts it


@pytest.mark.parametrize(
    "path", [CORPUS / "nodex12_850.edi", SAMPLES / "valid" / "850_005010.edi"], ids=lambda p: p.name
)
def test_other_850s_map_without_findings(path: Path) -> None:
    result = load_mapping(PO_MAPPING).apply(first_set(path))
    assert result.ok, [str(f) for f in result.findings]
    assert result.document is not None and result.document["lines"]


def test_a_bad_source_value_is_a_finding_with_the_mapping_line() -> None:
    tset = first_set(SAMPLES / "valid" / "850_004010.edi")
    tset["BEG"]["BEG05"] = "2026-03"
    result = load_mapping(PO_MAPPING).apply(tset)
    assert result.document is None
    [finding] = result.findings
    line = next(
        i for i, text in enumerate(PO_MAPPING.read_text().splitlines(), 1) if text.startswith("  order_date:")
    )
    assert (finding.line, finding.target) == (line, "order_date")
    assert "'2026-03' is not an X12 date" in finding.message
    assert str(finding).startswith(f"{PO_MAPPING}:{line}: order_date:")


def test_a_document_the_model_refuses_is_a_finding() -> None:
    tset = first_set(SAMPLES / "valid" / "850_004010.edi")
    del tset["BEG"]["BEG03"]  # po_number is required by the model
    result = load_mapping(PO_MAPPING).apply(tset)
    assert result.document is None and "po_number" in str(result.findings[0])


def test_extends_overrides_a_few_fields(tmp_path: Path) -> None:
    partner = tmp_path / "acme-850.yaml"
    partner.write_text(
        f"extends: {PO_MAPPING}\nmapping: acme-850\n"
        "fields:\n  department: 'REF[REF01 = \"19\"].REF02'\n  lines:\n    fields:\n      description: '\"ACME ITEM\"'\n"
    )
    result = load_mapping(partner).apply(first_set(SAMPLES / "valid" / "850_004010.edi"))
    assert result.document is not None
    assert "department" not in result.document  # the sample has no REF*19
    assert {line["description"] for line in result.document["lines"]} == {"ACME ITEM"}
    assert result.document["po_number"] == "4500012345"  # everything else is inherited


BAD = [
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_numbr: BEG.BEG03\n",
        4,
        "has no field 'po_numbr' (did you mean 'po_number'?)",
    ),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_number: $nosuch(BEG.BEG03)\n",
        4,
        "unknown function(s) $nosuch",
    ),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_number: BEG.(\n",
        4,
        "not a valid JSONata expression",
    ),
    ("source: x12/850\ntarget: PurchaseOrder\ncolour: red\nfields: {}\n", 3, "unknown key 'colour'"),
    ("source: x12/850\ntarget: Invoyce\nfields: {}\n", 2, "neither a canonical document"),
    ("source: x12/850\nfields: {}\n", 1, "needs 'target'"),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  lines:\n    each: PO1_loop\n",
        4,
        "'each' needs either 'fields' or 'value'",
    ),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  lines:\n    each: PO1_loop\n    fields:\n      qty: PO1.PO102\n",
        7,
        "has no field 'qty'",
    ),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  lines:\n    each: PO1_loop\n    sort: x\n    value: a\n",
        6,
        "unknown key 'sort'",
    ),
    ("source: [x12/850\n", 2, "not valid YAML"),
    ("", 1, "the mapping file is empty"),
    ("extends: missing.yaml\nsource: x\ntarget: PurchaseOrder\nfields: {}\n", 1, "cannot read the mapping"),
    (
        "source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_number: A\n  po_number: B\n",
        5,
        "'po_number' is given twice",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_mapping_files_name_file_line_and_problem(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "partner.yaml"
    path.write_text(text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text_of = str(info.value)
    assert message in text_of
    if "cannot read" not in message:
        assert text_of.startswith(f"{path}:{line}:"), text_of


names = st.sampled_from(["A", "B", "C"])
values = st.recursive(
    st.text(alphabet="xyz", min_size=1, max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, values, max_size=3), st.lists(names, min_size=1, max_size=3))
def test_native_paths_agree_with_jsonata(doc: dict, steps: list[str]) -> None:
    path = ".".join(steps)
    native = Expression(path)
    assert native.is_native
    expected = jsonata.Jsonata(path).evaluate(doc)
    assert native.evaluate(doc) == expected


@pytest.mark.parametrize(
    ("code", "purpose"),
    [
        ("00", "original"),
        ("01", "cancel"),
        ("04", "change"),
        ("05", "replace"),
        ("06", "confirmation"),
        ("07", "duplicate"),
    ],
)
def test_every_purpose_code_maps_to_a_model_value(code: str, purpose: str) -> None:
    tset = first_set(SAMPLES / "valid" / "850_004010.edi")
    tset["BEG"]["BEG01"] = code
    result = load_mapping(PO_MAPPING).apply(tset)
    assert result.ok, [str(f) for f in result.findings]
    assert result.document is not None and result.document["purpose"] == purpose


PO_OUT = ROOT / "mappings" / "x12" / "purchase-order-to-850.yaml"


def segments_of(data: bytes) -> list[list[str]]:
    from erpbridge.formats.x12.lexer import Lexer, Segment

    lx = Lexer()
    lx.feed(data)
    lx.close()
    return [t.elements for t in lx.tokens() if isinstance(t, Segment)]


@pytest.mark.parametrize(
    "path", [SAMPLES / "valid" / "850_004010.edi", SAMPLES / "valid" / "850_005010.edi"], ids=lambda p: p.name
)
def test_850_round_trip_gives_back_every_segment_in_order(path: Path) -> None:
    from erpbridge.formats.x12 import encode

    data = path.read_bytes()
    view = decode(data).document
    inbound, outbound = load_mapping(PO_MAPPING), load_mapping(PO_OUT)
    sets = view["interchanges"][0]["groups"][0]["sets"]
    rebuilt = []
    for tset in sets:
        po = inbound.apply(tset)
        assert po.ok, [str(f) for f in po.findings]
        from_json("PurchaseOrder", po.document)
        back = outbound.apply(po.document)
        assert back.ok, [str(f) for f in back.findings]
        assert back.document is not None
        rebuilt.append({**back.document, "ST": tset["ST"]})  # the control number is the envelope's
    view["interchanges"][0]["groups"][0]["sets"] = rebuilt
    out = encode(view)  # validated by the writer
    assert segments_of(out) == segments_of(data)


@pytest.mark.parametrize(
    "path", [SAMPLES / "valid" / "850_004010.edi", CORPUS / "nodex12_850.edi"], ids=lambda p: p.name
)
def test_native_function_calls_give_what_jsonata_gives(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from erpbridge.mapping import expressions

    tset = first_set(path)
    inbound, outbound = load_mapping(PO_MAPPING), load_mapping(PO_OUT)
    fast_po = inbound.apply(tset).document
    fast_back = outbound.apply(fast_po).document
    monkeypatch.setattr(expressions, "NATIVE", False)
    assert inbound.apply(tset).document == fast_po
    assert outbound.apply(fast_po).document == fast_back


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(names, values, max_size=3),
    names,
    st.integers(0, 2),
    st.lists(names, min_size=1, max_size=2),
)
def test_native_indexed_paths_agree_with_jsonata(doc: dict, first: str, index: int, rest: list[str]) -> None:
    text = f"{first}[{index}]." + ".".join(rest)
    expr = Expression(text)
    assert expr.is_native
    assert expr.evaluate(doc) == jsonata.Jsonata(text).evaluate(doc)
