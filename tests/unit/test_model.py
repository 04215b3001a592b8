"""The canonical document model: JSON round trips, strict reading, frozen values, published schemas."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import sys
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import ModelError, TerminalError
from erpbridge.model import (
    DOCUMENT_TYPES,
    KINDS,
    ProductIds,
    PurchaseOrder,
    PurchaseOrderLine,
    dumps,
    from_json,
    json_schema,
    loads,
    schema_text,
    to_json,
)
from erpbridge.model._spec import EnumNode, Ids, Node, Opt, Prim, Ref, Seq, field_docs, spec
from tests.conftest import ROOT, SAMPLES

EXAMPLES = ROOT / "tests" / "unit" / "model_examples"
SCHEMAS = ROOT / "schemas" / "canonical"
MODEL_SRC = ROOT / "src" / "erpbridge" / "model"

# Which X12 sample each example was built from (same PO numbers, UPCs, SSCCs).
SOURCE_SAMPLE = {
    "PurchaseOrder": "850_004010.edi",
    "OrderAck": "855_004010.edi",
    "ShipNotice": "856_004010.edi",
    "InventoryAdvice": "846_004010.edi",
    "Invoice": "810_004010.edi",
    "WarehouseShippingOrder": "940_004010.edi",
    "WarehouseShippingAdvice": "945_004010.edi",
    "GoodsMovement": "../../tests/idoc_samples/wmmbid02_blueriver.xml",  # no X12 sample: SAP's WMMBXY
}


def example(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{kind}.json").read_text(encoding="utf-8"))
    return data


@cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def all_model_classes() -> list[type]:
    seen: dict[type, None] = {}

    def walk(node: Node) -> None:
        if isinstance(node, Opt | Seq):
            walk(node.inner)
        elif isinstance(node, Ref) and node.cls not in seen:
            visit(node.cls)

    def visit(cls: type) -> None:
        seen[cls] = None
        for f in spec(cls).fields:
            walk(f.node)

    for cls in DOCUMENT_TYPES.values():
        visit(cls)
    return list(seen)


# ------------------------------------------------------------------------------------------ examples


def test_one_example_per_kind() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_example_round_trips(kind: str) -> None:
    data = example(kind)
    assert next(iter(data)) == "kind" and data["kind"] == kind
    doc = from_json(kind, data)
    assert type(doc) is DOCUMENT_TYPES[kind]
    assert to_json(doc) == data
    assert from_json(None, data) == doc
    assert from_json(DOCUMENT_TYPES[kind], data) == doc
    assert loads(dumps(doc)) == doc
    assert dumps(doc) + "\n" == (EXAMPLES / f"{kind}.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_examples_carry_the_business_data_of_the_x12_samples(kind: str) -> None:
    edi = (SAMPLES / "valid" / SOURCE_SAMPLE[kind]).read_text(encoding="ascii")
    text = json.dumps(example(kind))
    keys: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k in {
                    "po_number",
                    "sscc",
                    "upc",
                    "vendor_sku",
                    "shipment_id",
                    "invoice_number",
                    "order_number",
                }:
                    keys.append("00" + v if k == "sscc" else v)
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(example(kind))
    assert keys, kind
    for key in keys:
        assert key in edi, f"{kind}: {key} is not in {SOURCE_SAMPLE[kind]}"
    assert "upc" in text or kind == "GoodsMovement"  # a goods movement names SAP's material number only


def test_the_purchase_order_reads_as_business_data() -> None:
    po = from_json(PurchaseOrder, example("PurchaseOrder"))
    assert po.po_number == "4500012345" and po.currency == "USD" and po.department == "038"
    ship_to = po.party("ship_to")
    assert ship_to is not None and ship_to.address is not None and ship_to.address.city == "COLUMBUS"
    assert len(po.lines) == 10 and sum(line.quantity for line in po.lines) == 282  # CTT*10*282
    assert po.lines[0].product_ids["upc"] == "061414110013"
    assert po.lines[0].unit_price == Decimal("9.50") and to_json(po)["lines"][0]["unit_price"] == "9.50"


# ------------------------------------------------------------------------------------------ hypothesis

CODE = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
DECIMALS = st.one_of(
    *(
        st.decimals(min_value=-(10**9), max_value=10**9, places=p, allow_nan=False, allow_infinity=False)
        for p in range(5)
    )
)


def strategy(node: Node) -> st.SearchStrategy[Any]:
    if isinstance(node, Opt):
        return st.none() | strategy(node.inner)
    if isinstance(node, Seq):
        return st.lists(strategy(node.inner), max_size=2).map(tuple)
    if isinstance(node, Ref):
        fields = spec(node.cls).fields
        return st.builds(
            node.cls,
            **{
                f.name: strategy(f.node).filter(len)
                if f.required and isinstance(f.node, Ids)
                else strategy(f.node)
                for f in fields
            },
        )
    if isinstance(node, Ids):
        return st.dictionaries(CODE, st.text(min_size=1, max_size=14), max_size=3).map(ProductIds)
    if isinstance(node, EnumNode):
        return st.sampled_from(list(node.cls))
    assert isinstance(node, Prim)
    if node.kind == "str":
        if node.pattern is not None:
            return st.from_regex(node.pattern.regex, fullmatch=True)
        return st.text(min_size=1, max_size=16)
    return {
        "int": st.integers(0, 10**6),
        "bool": st.booleans(),
        "decimal": DECIMALS,
        "date": st.dates(),
        "time": st.times(),
    }[node.kind]


def documents(kind: str) -> st.SearchStrategy[Any]:
    return strategy(Ref(DOCUMENT_TYPES[kind]))


HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@HYPOTHESIS
@given(doc=documents("PurchaseOrder"))
def test_random_purchase_orders_round_trip_and_match_the_schema(doc: PurchaseOrder) -> None:
    data = to_json(doc)
    assert from_json("PurchaseOrder", json.loads(json.dumps(data))) == doc
    validator("PurchaseOrder").validate(data)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "PurchaseOrder"])
def test_random_documents_of_every_kind_round_trip_and_match_the_schema(kind: str) -> None:
    @HYPOTHESIS
    @given(doc=documents(kind))
    def check(doc: Any) -> None:
        data = to_json(doc)
        assert from_json(kind, json.loads(json.dumps(data))) == doc
        validator(kind).validate(data)

    check()


# ------------------------------------------------------------------------------------------ invalid JSON


def _set(path: str, value: Any) -> Any:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = _parts(path)
        target: Any = data
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
        return data

    return mutate


def _parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if piece.startswith("["):
            out.append(int(piece[1:-1]))
        elif piece:
            out.append(piece)
    return out


_DELETE = object()

INVALID: list[tuple[str, Any, str]] = [
    ("PurchaseOrder", _set("lines[2].quantity", "abc"), "lines[2].quantity: expected a decimal string, got 'abc'"),
    ("PurchaseOrder", _set("lines[0].quantity", 24), "lines[0].quantity: expected a decimal string, got 24"),
    ("PurchaseOrder", _set("lines[0].unit_price", 9.5), "lines[0].unit_price: expected a decimal string, got 9.5"),
    ("PurchaseOrder", _set("lines[0].unit_price", "1e3"), "lines[0].unit_price: expected a decimal string, got '1e3'"),
    ("PurchaseOrder", _set("lines[0].unit_price", "NaN"), "lines[0].unit_price: expected a decimal string, got 'NaN'"),
    (
        "PurchaseOrder",
        _set("order_date", "03/02/2026"),
        "order_date: expected a date string (YYYY-MM-DD), got '03/02/2026'",
    ),
    (
        "PurchaseOrder",
        _set("order_date", "2026-02-30"),
        "order_date: expected a date string (YYYY-MM-DD), got '2026-02-30'",
    ),
    ("PurchaseOrder", _set("order_date", "20260302"), "order_date: expected a date string (YYYY-MM-DD), got '20260302'"),
    ("PurchaseOrder", _set("po_numbr", "1"), "unknown key 'po_numbr' (did you mean 'po_number'?)"),
    ("PurchaseOrder", _set("lines[0].colour", "BLACK"), "lines[0]: unknown key 'colour' (did you mean 'color'?)"),
    ("PurchaseOrder", _set("lines[0].BEG03", "X"), "lines[0]: unknown key 'BEG03'"),
    ("PurchaseOrder", _set("po_number", _DELETE), "missing required key 'po_number'"),
    ("PurchaseOrder", _set("lines[1].unit", _DELETE), "lines[1]: missing required key 'unit'"),
    ("PurchaseOrder", _set("po_number", None), "po_number: is required, got null"),
    ("PurchaseOrder", _set("po_number", ""), "po_number: expected a non-empty string, got ''"),
    ("PurchaseOrder", _set("po_number", 4500012345), "po_number: expected a non-empty string, got 4500012345"),
    (
        "PurchaseOrder",
        _set("purpose", "new"),
        "purpose: expected one of 'original', 'cancel', 'change', 'replace', 'confirmation', 'duplicate', got 'new'",
    ),
    ("PurchaseOrder", _set("parties[0].role", "Ship To"), "parties[0].role: expected a snake_case code, got 'Ship To'"),
    ("PurchaseOrder", _set("currency", "usd"), "currency: expected an ISO 4217 currency code, got 'usd'"),
    (
        "PurchaseOrder",
        _set("parties[1].address.country", "USA"),
        "parties[1].address.country: expected an ISO 3166-1 alpha-2 country code, got 'USA'",
    ),
    ("PurchaseOrder", _set("lines", {}), "lines: expected an array, got {}"),
    ("PurchaseOrder", _set("lines", None), "lines: expected an array, got null"),
    ("PurchaseOrder", _set("lines[0]", "1"), "lines[0]: expected an object, got '1'"),
    ("PurchaseOrder", _set("carrier", ["FXFE"]), 'carrier: expected an object, got ["FXFE"]'),
    (
        "PurchaseOrder",
        _set("payment_terms.net_days", "30"),
        "payment_terms.net_days: expected a non-negative integer, got '30'",
    ),
    ("PurchaseOrder", _set("payment_terms.net_days", True), "payment_terms.net_days: expected a non-negative integer, got true"),
    ("PurchaseOrder", _set("payment_terms.net_days", -1), "payment_terms.net_days: expected a non-negative integer, got -1"),
    (
        "PurchaseOrder",
        _set("lines[0].product_ids.upc", 61414110013),
        "lines[0].product_ids.upc: expected a non-empty string, got 61414110013",
    ),
    (
        "PurchaseOrder",
        _set("lines[0].product_ids.UP", "061414110013"),
        "lines[0].product_ids: product ID kind must be a snake_case code, got 'UP'",
    ),
    ("PurchaseOrder", _set("meta.test", "yes"), "meta.test: expected true or false, got 'yes'"),
    ("PurchaseOrder", _set("kind", "Invoice"), "kind: expected 'PurchaseOrder', got 'Invoice'"),
    ("PurchaseOrder", _set("kind", _DELETE), "missing required key 'kind'"),
    ("PurchaseOrder", lambda data: ["x"], 'expected a JSON object, got ["x"]'),
    (
        "ShipNotice",
        _set("orders[0].packs[1].sscc", "00006141410000000029"),
        "orders[0].packs[1].sscc: expected an SSCC-18 (18 digits), got '00006141410000000029'",
    ),
    ("ShipNotice", _set("notice_time", "2:30 PM"), "notice_time: expected a time string (HH:MM or HH:MM:SS), got '2:30 PM'"),
    ("ShipNotice", _set("notice_time", "25:00"), "notice_time: expected a time string (HH:MM or HH:MM:SS), got '25:00'"),
    ("ShipNotice", _set("package_count", 3.5), "package_count: expected a non-negative integer, got 3.5"),
    ("InventoryAdvice", _set("items[3].on_hand", "1,200"), "items[3].on_hand: expected a decimal string, got '1,200'"),
    (
        "OrderAck",
        _set("lines[2].acknowledgments[0].status", "IB"),
        "lines[2].acknowledgments[0].status: expected one of 'accepted', 'accepted_with_changes', 'backordered', "
        "'rejected', 'deleted', 'on_hold', 'substituted', 'price_changed', 'quantity_changed', 'date_changed', "
        "'shipped', got 'IB'",
    ),
    ("Invoice", _set("total_amount", _DELETE), "missing required key 'total_amount'"),
    ("ShipNotice", _set("orders[1].packs[0].items[0].product_ids", {}), "orders[1].packs[0].items[0].product_ids: expected at least one product ID, got {}"),
    ("WarehouseShippingAdvice", _set("lines[4].shipped_quantity", ""), "lines[4].shipped_quantity: expected a decimal string, got ''"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "mutate", "message"), INVALID, ids=[m for _, _, m in INVALID])
def test_invalid_json_is_refused_with_its_path(kind: str, mutate: Any, message: str) -> None:
    data = mutate(copy.deepcopy(example(kind)))
    with pytest.raises(ModelError) as exc:
        from_json(kind, data)
    assert exc.value.message == message
    assert isinstance(exc.value, TerminalError) and not exc.value.transient
    # ... and the published schema refuses it too: codec and schema agree.
    assert not validator(kind).is_valid(data), message


def test_error_path_is_kept_apart() -> None:
    data = example("PurchaseOrder")
    data["lines"][2]["quantity"] = "abc"
    with pytest.raises(ModelError) as exc:
        from_json("PurchaseOrder", data)
    assert exc.value.path == "lines[2].quantity"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown document kind 'Order'"):
        from_json("Order", example("PurchaseOrder"))
    with pytest.raises(ModelError, match=r"^kind: expected one of 'PurchaseOrder', .*got 'Order'$"):
        from_json(None, {"kind": "Order"})
    with pytest.raises(ModelError, match="not valid JSON"):
        loads("{")


def test_null_means_absent_for_optional_fields() -> None:
    data = example("PurchaseOrder")
    data["currency"] = None
    data["lines"][0]["description"] = None
    po = from_json(PurchaseOrder, data)
    assert po.currency is None and po.lines[0].description is None
    assert "currency" not in to_json(po)


def test_to_json_checks_types_too() -> None:
    line = PurchaseOrderLine(line_number="1", quantity=1.5, unit="EA")  # type: ignore[arg-type]
    po = PurchaseOrder(po_number="1", order_date="2026-03-02", lines=(line,))  # type: ignore[arg-type]
    with pytest.raises(ModelError) as exc:
        to_json(po)
    assert exc.value.message == "order_date: expected a date, got '2026-03-02' (str)"
    po = dataclasses.replace(po, order_date=from_json(PurchaseOrder, example("PurchaseOrder")).order_date)
    with pytest.raises(ModelError) as exc:
        to_json(po)
    assert exc.value.message == "lines[0].quantity: expected a finite Decimal, got 1.5 (float)"
    bad = dataclasses.replace(po, lines=(dataclasses.replace(line, quantity=Decimal("NaN")),))
    with pytest.raises(ModelError, match=r"^lines\[0\]\.quantity: expected a finite Decimal"):
        to_json(bad)
    with pytest.raises(ModelError, match=r"^po_number: is required"):
        to_json(dataclasses.replace(po, po_number=None))  # type: ignore[arg-type]


def test_decimals_keep_their_scale() -> None:
    data = example("Invoice")
    doc = from_json("Invoice", data)
    assert to_json(doc)["total_amount"] == "376.50"
    assert to_json(doc)["lines"][0]["amount"] == "114.00"


# ------------------------------------------------------------------------------------------ frozen


def test_documents_are_frozen_hashable_values() -> None:
    po = from_json(PurchaseOrder, example("PurchaseOrder"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        po.po_number = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        po.lines[0].quantity = Decimal(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        po.lines[0].product_ids["upc"] = "1"  # type: ignore[index]
    with pytest.raises(AttributeError):
        po.lines[0].product_ids._items = ()  # type: ignore[misc]
    assert isinstance(po.lines, tuple)
    assert not hasattr(po, "__dict__")  # slots: no stray attributes either
    assert hash(po) == hash(from_json(PurchaseOrder, example("PurchaseOrder")))
    changed = dataclasses.replace(po, po_number="4500099999")
    assert changed != po and po.po_number == "4500012345"
    for kind in KINDS:
        hash(from_json(kind, example(kind)))


def test_product_ids_are_an_order_free_mapping() -> None:
    a = ProductIds(upc="061414110013", vendor_sku="NW-TS-BLK-S")
    b = ProductIds({"vendor_sku": "NW-TS-BLK-S", "upc": "061414110013"})
    assert a == b and hash(a) == hash(b) and a == {"upc": "061414110013", "vendor_sku": "NW-TS-BLK-S"}
    assert list(b) == ["vendor_sku", "upc"] and a.get("gtin") is None and len(a) == 2
    assert repr(a) == "ProductIds(upc='061414110013', vendor_sku='NW-TS-BLK-S')"
    with pytest.raises(ValueError, match="snake_case"):
        ProductIds({"UP": "1"})
    with pytest.raises(ValueError, match="non-empty"):
        ProductIds(upc="")
    with pytest.raises(ValueError, match="twice"):
        ProductIds([("upc", "1"), ("upc", "2")])


# ------------------------------------------------------------------------------------------ schemas


@pytest.mark.parametrize("kind", KINDS)
def test_published_schema_is_what_the_generator_makes(kind: str) -> None:
    path = SCHEMAS / f"{kind}.schema.json"
    assert path.is_file(), f"{path} is missing: run scripts/gen_schemas.py"
    assert path.read_text(encoding="utf-8") == schema_text(kind), (
        f"{path} drifted: run scripts/gen_schemas.py"
    )
    assert json.loads(schema_text(kind)) == json_schema(kind)


def test_no_stray_schema_files() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(f"{k}.schema.json" for k in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_2020_12_and_accepts_its_example(kind: str) -> None:
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["kind"] == {
        "const": kind,
        "description": "the document kind (the discriminator)",
    }
    assert schema["additionalProperties"] is False
    validator(kind).validate(example(kind))


def test_gen_schemas_check_passes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_schemas  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert gen_schemas.main(["--check"]) == 0


# ------------------------------------------------------------------------------------------ hygiene


@pytest.mark.parametrize("cls", all_model_classes(), ids=lambda c: c.__name__)
def test_every_field_is_documented(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(field_docs(cls)) == names, (
        f"{cls.__name__}: its 'Fields:' docstring section must list {names}"
    )


def test_docs_have_a_table_for_every_class() -> None:
    doc = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    for cls in all_model_classes():
        heading = f"### {cls.__name__}\n"
        assert heading in doc, f"docs/model.md has no section {heading.strip()!r}"
        section = doc.split(heading, 1)[1].split("\n### ", 1)[0]
        for f in dataclasses.fields(cls):
            assert f"| `{f.name}` |" in section, f"docs/model.md: {cls.__name__}.{f.name} is not in its table"


def test_model_imports_only_the_standard_library_and_errors() -> None:
    for path in sorted(MODEL_SRC.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name == "erpbridge.errors", (
                    f"{path.name} imports {name}"
                )
