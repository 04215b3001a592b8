"""Code lists, cross-reference tables, hierarchies, the outbound number/time functions, and the sample
cases kept beside every shipped mapping (what ``erpbridge map test`` runs)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.mapping import MappingError, load_mapping
from erpbridge.mapping.functions import MappingValueError, hhmm, hlbelow, implied
from erpbridge.mapping.samples import run_case, sample_cases
from tests.conftest import ROOT

MAPPINGS = ROOT / "mappings"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def x12_target(fields: str) -> str:
    return "source: PurchaseOrder\ntarget: x12/850\nfields:\n" + fields


# -- code lists and cross references ---------------------------------------------------------------


def test_code_list_translates_both_ways_and_names_its_csv_for_an_unknown_code(tmp_path: Path) -> None:
    write(tmp_path, "codes/uom.csv", "x12,canonical,description\nEA,each,Each\nCA,case,Case\nCS,case,Case\n")
    m = load_mapping(
        write(
            tmp_path,
            "x12/m.yaml",
            x12_target(
                '  a: \'$code("uom", x)\'\n  b: \'$x12code("uom", y)\'\n  c: \'$code("uom", z, "other")\'\n'
            ),
        )
    )
    assert m.apply({"x": "CS", "y": "case", "z": "ZZ"}).document == {"a": "case", "b": "CA", "c": "other"}
    bad = m.apply({"x": "PL"})
    assert bad.document is None
    (finding,) = bad.findings
    assert finding.line == 4 and finding.target == "a"
    assert "'PL' is not in the x12 column of" in finding.message and "codes/uom.csv" in finding.message


def test_partner_code_list_beside_the_mapping_wins_over_the_shared_one(tmp_path: Path) -> None:
    write(tmp_path, "codes/uom.csv", "x12,canonical\nEA,each\n")
    write(tmp_path, "partners/acme/codes/uom.csv", "x12,canonical\nEA,eaches\n")
    m = load_mapping(write(tmp_path, "partners/acme/m.yaml", x12_target("  a: '$code(\"uom\", x)'\n")))
    assert m.apply({"x": "EA"}).document == {"a": "eaches"}


def test_a_base_mappings_code_lists_are_found_from_the_base_file(tmp_path: Path) -> None:
    partner = write(
        tmp_path / "elsewhere",
        "acme-850.yaml",
        f"extends: {MAPPINGS / 'x12' / '850-to-purchase-order.yaml'}\nfields:\n  currency: '\"EUR\"'\n",
    )
    assert load_mapping(partner).target == "PurchaseOrder"


def test_xref_by_column_names_and_default_columns(tmp_path: Path) -> None:
    write(tmp_path, "xref/skus.csv", "partner_sku,our_sku,note\nB-100,NW-TS-BLK-S,tee\nB-200,NW-TS-BLK-M,\n")
    m = load_mapping(
        write(
            tmp_path,
            "m.yaml",
            x12_target(
                '  a: \'$xref("skus", p)\'\n  b: \'$xref("skus", o, "our_sku", "partner_sku")\'\n'
                '  c: \'$xref("skus", q, "partner_sku", "our_sku", "UNKNOWN")\'\n'
            ),
        )
    )
    assert m.apply({"p": "B-200", "o": "NW-TS-BLK-S", "q": "B-999"}).document == {
        "a": "NW-TS-BLK-M",
        "b": "B-100",
        "c": "UNKNOWN",
    }
    missing = m.apply({"p": "B-999"})
    assert (
        missing.document is None and "'B-999' is not in the partner_sku column" in missing.findings[0].message
    )
    wrong_column = load_mapping(
        write(tmp_path, "m2.yaml", x12_target('  a: \'$xref("skus", p, "sku", "x")\'\n'))
    )
    assert "has no column 'sku'" in wrong_column.apply({"p": "B-100"}).findings[0].message


BAD_TABLES = [
    (x12_target("  a: '$code(\"nosuch\", x)'\n"), "no codes/nosuch.csv beside the mapping"),
    (x12_target("  a: '$code(name, x)'\n"), "the first argument must be a quoted table name"),
    (x12_target("  a: '$xref(\"bad\", x)'\n"), "needs a header row and at least one row"),
    (x12_target("  a: '$code(\"wrongheader\", x)'\n"), "a code list's header starts with x12,canonical"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TABLES, ids=[m for _, m in BAD_TABLES])
def test_bad_tables_are_refused_when_the_mapping_loads(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "xref/bad.csv", "only_a_header\n")
    write(tmp_path, "codes/wrongheader.csv", "code,meaning\nA,a\n")
    path = write(tmp_path, "m.yaml", text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert str(info.value).startswith(f"{path}:4:"), info.value
    assert message in str(info.value)


def test_every_shipped_code_list_is_well_formed_and_snake_case() -> None:
    import csv
    import re

    lists = sorted((MAPPINGS / "codes").glob("*.csv"))
    assert len(lists) >= 10
    for path in lists:
        rows = list(csv.reader(path.read_text().splitlines()))
        assert rows[0][:2] == ["x12", "canonical"], path
        for row in rows[1:]:
            assert row[0] and row[1], (path, row)
            if path.stem != "unit":  # units stay X12 codes (EA), the rest are canonical words
                assert re.fullmatch(r"[a-z][a-z0-9_]*", row[1]), (path, row)


# -- outbound helpers ------------------------------------------------------------------------------


@given(st.decimals(min_value=Decimal("-99999999"), max_value=Decimal("99999999"), places=2, allow_nan=False))
def test_implied_is_the_inverse_of_decimal(value: Decimal) -> None:
    from erpbridge.mapping.functions import decimal

    text = implied(str(value), 2)
    assert text is not None and text.lstrip("-").isdigit()
    assert Decimal(decimal(text, 2) or "x") == value


def test_implied_refuses_to_round_money() -> None:
    assert implied("376.5", 2) == "37650"
    with pytest.raises(MappingValueError, match="more than 2 decimal places"):
        implied("12.345", 2)


def test_hhmm() -> None:
    assert hhmm("14:30") == "1430" and hhmm("14:30:05") == "143005" and hhmm(None) is None
    with pytest.raises(MappingValueError):
        hhmm("2pm")


def hl(n: int, parent: int | None, level: str) -> dict:
    head = {"HL01": str(n), "HL03": level}
    if parent:
        head["HL02"] = str(parent)
    return {"HL": head}


def test_hlbelow_looks_through_tare_and_stops_at_packs() -> None:
    loop = [hl(1, None, "S"), hl(2, 1, "O"), hl(3, 2, "T"), hl(4, 3, "P"), hl(5, 4, "I"), hl(6, 2, "I")]
    assert [x["HL"]["HL01"] for x in hlbelow(loop, "2", "P")] == ["4"]  # through the pallet
    assert [x["HL"]["HL01"] for x in hlbelow(loop, "2", "I")] == ["6"]  # loose items, not the pack's
    assert [x["HL"]["HL01"] for x in hlbelow(loop, "4", "I")] == ["5"]
    assert hlbelow(loop, "9", "I") == [] and hlbelow(None, "1", "O") == []


# -- hierarchy ----------------------------------------------------------------------------------------

HIER = """source: ShipNotice
target: x12/856
fields:
  HL_loop:
    hierarchy:
      level: S
      fields:
        REF: {fields: {REF01: '"BM"', REF02: bol}}
      children:
        - each: orders
          level: O
          fields:
            PRF: {fields: {PRF01: po}}
          children:
            - each: packs
              level: P
              when: $exists(id)
              fields:
                MAN: {fields: {MAN01: '"GM"', MAN02: id}}
              children:
                - {each: items, level: I, fields: {LIN: {fields: {LIN02: '"UP"', LIN03: $}}}}
            - {each: items, level: I, fields: {LIN: {fields: {LIN02: '"UP"', LIN03: $}}}}
"""


def test_hierarchy_numbers_hl_loops_in_preorder(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "m.yaml", HIER))
    doc = {
        "bol": "B1",
        "orders": [
            {"po": "P1", "packs": [{"id": "C1", "items": ["U1", "U2"]}, {"items": ["skipped"]}]},
            {"po": "P2", "items": ["U3"]},
        ],
    }
    result = m.apply(doc)
    assert result.ok, result.findings
    assert result.document is not None
    heads = [
        (h["HL"].get("HL01"), h["HL"].get("HL02"), h["HL"]["HL03"], h["HL"]["HL04"])
        for h in result.document["HL_loop"]
    ]
    assert heads == [
        ("1", None, "S", "1"),
        ("2", "1", "O", "1"),
        ("3", "2", "P", "1"),
        ("4", "3", "I", "0"),
        ("5", "3", "I", "0"),
        ("6", "1", "O", "1"),
        ("7", "6", "I", "0"),
    ]
    assert result.document["HL_loop"][0]["REF"] == {"REF01": "BM", "REF02": "B1"}
    assert result.document["HL_loop"][4]["LIN"] == {"LIN02": "UP", "LIN03": "U2"}


BAD_HIER = [
    ("hierarchy: {fields: {}}", "needs 'level'"),
    ("hierarchy: {level: S, children: [{level: O}]}", "a child level needs 'each'"),
    ("hierarchy: {level: S, colour: red}", "unknown key 'colour'"),
    ("hierarchy: {level: S}\n    when: x", "'hierarchy' stands alone"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_HIER, ids=[m for _, m in BAD_HIER])
def test_bad_hierarchies_are_refused_with_the_line(tmp_path: Path, spec: str, message: str) -> None:
    path = write(
        tmp_path, "m.yaml", f"source: ShipNotice\ntarget: x12/856\nfields:\n  HL_loop:\n    {spec}\n"
    )
    with pytest.raises(MappingError, match=message) as info:
        load_mapping(path)
    assert str(info.value).startswith(f"{path}:"), info.value


# -- samples beside the mappings ------------------------------------------------------------------


def shipped_with_samples() -> list[Path]:
    return [p for p in sorted(MAPPINGS.rglob("*.yaml")) if sample_cases(p)[0]]


def test_most_shipped_mappings_have_samples() -> None:
    every = sorted(MAPPINGS.rglob("*.yaml"))
    assert len(shipped_with_samples()) >= 2
    for path in every:
        assert not sample_cases(path)[1], sample_cases(path)[1]  # no unpaired sample files


@pytest.mark.parametrize("path", shipped_with_samples(), ids=lambda p: str(p.relative_to(MAPPINGS)))
def test_shipped_mapping_samples_pass(path: Path) -> None:
    mapping = load_mapping(path)
    for case in sample_cases(path)[0]:
        result = run_case(mapping, case)
        assert result.ok, "\n".join(result.problems + result.diff)


def test_a_wrong_expectation_fails_with_a_readable_diff(tmp_path: Path) -> None:
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    inbound = tmp_path / "mappings" / "x12" / "850-to-purchase-order.yaml"
    (case,) = sample_cases(inbound)[0]
    expected = json.loads(case.expected.read_text())
    expected[0]["po_number"] = "NOT-THE-PO"
    case.expected.write_text(json.dumps(expected))
    result = run_case(load_mapping(inbound), case)
    assert not result.ok
    assert '-    "po_number": "NOT-THE-PO",' in result.diff
    assert '+    "po_number": "4500012345",' in result.diff

    outbound = tmp_path / "mappings" / "x12" / "purchase-order-to-850.yaml"
    (case,) = sample_cases(outbound)[0]
    case.expected.write_bytes(
        case.expected.read_bytes().replace(b"BEG*00*SA*4500012345", b"BEG*00*SA*4500099999")
    )
    result = run_case(load_mapping(outbound), case)
    assert "-BEG*00*SA*4500099999**20260302" in result.diff
    assert "+BEG*00*SA*4500012345**20260302" in result.diff


def test_an_expected_file_without_an_input_is_reported(tmp_path: Path) -> None:
    mapping = write(tmp_path, "m.yaml", x12_target("  a: x\n"))
    write(tmp_path, "m.samples/orphan.expected.edi", "")
    cases, complaints = sample_cases(mapping)
    assert cases == [] and "no orphan.input.* beside it" in complaints[0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["EA", "CA", "PK", "DZ"]), min_size=1, max_size=5))
def test_code_and_x12code_are_inverse_on_the_shipped_unit_list(codes: list[str]) -> None:
    from erpbridge.mapping.tables import Tables

    probe = MAPPINGS / "x12"  # a shipped mapping's folder finds mappings/codes/unit.csv

    t = Tables(probe / "probe.yaml")
    t.require('$code("unit", x) $x12code("unit", y)', "probe", 1, probe / "probe.yaml")
    for code in codes:
        assert t.x12code("unit", t.code("unit", code)) == code


# -- native qualifier filters agree with JSONata ----------------------------------------------------

segment = st.fixed_dictionaries(
    {"Q01": st.sampled_from(["DP", "IA", "X"])},
    optional={"Q02": st.sampled_from(["1", "2", "3"]), "Q03": st.sampled_from(["a", "b"])},
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.none(), segment, st.lists(segment, max_size=4)),
    st.sampled_from(["DP", "IA"]),
    st.sampled_from(["", "[0]", "[1]"]),
    st.sampled_from([".Q02", ".Q03", ""]),
    st.sampled_from(["=", "!="]),
)
def test_native_filters_agree_with_jsonata(
    value: object, qualifier: str, index: str, rest: str, op: str
) -> None:
    import jsonata

    from erpbridge.mapping import expressions

    text = f'SEG[Q01 {op} "{qualifier}"]{index}{rest}'
    doc = {} if value is None else {"SEG": value}
    native = expressions.Expression(text)
    assert native.is_native
    reference = jsonata.Jsonata(text).evaluate(doc)
    assert native.evaluate(doc) == reference
    call = expressions.Expression(f'$default({text}, "none")')
    assert call.evaluate(doc) == jsonata_default(reference)
    wanted = [] if reference is None else reference if isinstance(reference, list) else [reference]
    assert native.evaluate_each(doc) == wanted


def jsonata_default(value: object) -> object:
    return "none" if value in (None, "", []) else value


leaf = st.one_of(st.sampled_from(["12", "-3", "x", "", "007"]), st.integers(-5, 5))
tree = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["A", "B"]), inner, max_size=2)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["A", "B"]), tree, max_size=2),
    st.sampled_from(["exists", "number", "string", "count"]),
    st.sampled_from(["A", "B", "A.B", "B.A"]),
)
def test_native_builtins_agree_with_jsonata(doc: dict, fn: str, path: str) -> None:
    import jsonata

    from erpbridge.mapping import expressions

    text = f"${fn}({path})"
    try:
        reference = jsonata.Jsonata(text).evaluate(doc)
    except Exception:  # noqa: BLE001 - JSONata refuses the input (e.g. $number("x")): so must we
        with pytest.raises(expressions.ExpressionError):
            expressions.Expression(text).evaluate(doc)
        return
    assert expressions.Expression(text).evaluate(doc) == reference


def test_merge_adds_qualifier_pairs_to_fields_natively(tmp_path: Path) -> None:
    m = load_mapping(
        write(
            tmp_path,
            "m.yaml",
            x12_target(
                "  PO1_loop:\n    each: lines\n    fields:\n      PO1:\n"
                "        fields: {PO101: n, PO102: q}\n"
                '        merge: \'$pairs("PO1", 6, "UP", ids.upc, "VN", ids.sku)\'\n'
            ),
        )
    )
    doc = {
        "lines": [
            {"n": "1", "q": "5", "ids": {"upc": "012", "sku": "S1"}},
            {"n": "2", "q": "1", "ids": {"sku": "S2"}},
        ]
    }
    result = m.apply(doc)
    assert result.document == {
        "PO1_loop": [
            {
                "PO1": {
                    "PO101": "1",
                    "PO102": "5",
                    "PO106": "UP",
                    "PO107": "012",
                    "PO108": "VN",
                    "PO109": "S1",
                }
            },
            {"PO1": {"PO101": "2", "PO102": "1", "PO106": "VN", "PO107": "S2"}},
        ]
    }
    spec = m.fields["PO1_loop"].fields["PO1"]  # type: ignore[index]
    assert spec.merge is not None and spec.merge.is_native
    with pytest.raises(MappingError, match="needs 'fields'"):
        load_mapping(write(tmp_path, "bad.yaml", x12_target("  PO1:\n    merge: x\n")))


def test_pairs_flat_and_list_forms_agree() -> None:
    from erpbridge.mapping.functions import pairs

    assert pairs("LIN", 2, "UP", "1", "VN", None, "IN", "3") == pairs(
        "LIN", 2, [["UP", "1"], ["VN", None], ["IN", "3"]]
    )
    assert pairs("LIN", 2, "UP", "1", "VN", None, "IN", "3") == {
        "LIN02": "UP",
        "LIN03": "1",
        "LIN04": "IN",
        "LIN05": "3",
    }
    with pytest.raises(MappingValueError):
        pairs("LIN", 2, "UP")


@settings(max_examples=200, deadline=None)
@given(tree)
def test_context_expression_agrees_with_jsonata(value: object) -> None:
    import jsonata

    from erpbridge.mapping import expressions

    assert expressions.Expression("$").evaluate(value) == jsonata.Jsonata("$").evaluate(value)


def test_hashtotal_adds_quantities_exactly() -> None:
    from erpbridge.mapping.functions import hashtotal

    assert hashtotal(["120", "24", "0.5"]) == "144.5" and hashtotal("7") == "7" and hashtotal(None) is None
    assert hashtotal(["1.10", "2.90"]) == "4"
    with pytest.raises(MappingValueError, match="hash total"):
        hashtotal(["1", "x"])


def test_a_finding_from_an_inherited_field_names_the_base_file_and_its_line(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", x12_target("  a: '$x12date(d)'\n  b: x\n"))
    child = write(tmp_path, "partners/p/child.yaml", f"extends: {base}\nfields:\n  b: y\n")
    (finding,) = load_mapping(child).apply({"d": "2026-13"}).findings
    assert (finding.file, finding.line) == (str(base), 4)


def test_qualified_looks_only_at_qualifier_positions() -> None:
    from erpbridge.mapping.functions import qualified

    # a vendor SKU that reads "EN" is not the EAN qualifier
    lin = {"LIN02": "UP", "LIN03": "012345678905", "LIN04": "VN", "LIN05": "EN", "LIN06": "IN", "LIN07": "X1"}
    assert qualified(lin, "EN") is None and qualified(lin, "VN") == "EN" and qualified(lin, "IN") == "X1"
    po1 = {"PO101": "UP", "PO102": "5", "PO106": "UP", "PO107": "0614"}
    assert qualified(po1, "UP") == "0614"  # PO101 is a line number, not a qualifier
    assert qualified({"ZZZ01": "A", "ZZZ02": "b"}, "A") == "b"  # unknown segments: adjacent pairs
    assert qualified({"ZZZ03": "A", "ZZZ04": "b"}, "A", 3) == "b"


def test_extends_merges_hierarchy_children_by_level(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", HIER)
    child = write(
        tmp_path,
        "partner.yaml",
        f"extends: {base}\nfields:\n  HL_loop:\n    hierarchy:\n      children:\n"
        "        - level: O\n          fields:\n            REF: {fields: {REF01: '\"IA\"', REF02: '\"V1\"'}}\n",
    )
    result = load_mapping(child).apply({"bol": "B1", "orders": [{"po": "P1", "items": ["U3"]}]})
    assert result.ok, result.findings
    assert result.document is not None
    order = result.document["HL_loop"][1]
    assert order["PRF"] == {"PRF01": "P1"} and order["REF"] == {"REF01": "IA", "REF02": "V1"}  # both kept
    assert [h["HL"]["HL03"] for h in result.document["HL_loop"]] == [
        "S",
        "O",
        "I",
    ]  # the I level is inherited


def test_required_is_a_finding_with_the_message() -> None:
    from erpbridge.mapping.functions import required

    assert required("PP", "W66 needs a payment method") == "PP"
    with pytest.raises(MappingValueError, match="W66 needs a payment method"):
        required(None, "W66 needs a payment method")


def test_jsonata_keywords_are_not_paths() -> None:
    from erpbridge.mapping.expressions import Expression

    context = {"true": "a path would find this", "null": "and this"}
    assert Expression("true").evaluate(context) is True
    assert Expression("false").evaluate(context) is False
    assert Expression("null").evaluate(context) is None


def test_concat_joins_what_is_present() -> None:
    from erpbridge.mapping.functions import concat

    assert concat(" ", "400 INDUSTRIAL PKWY", None, "SUITE 5") == "400 INDUSTRIAL PKWY SUITE 5"
    assert concat(" ", None, "") is None


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["A", "B"]), tree, max_size=2),
    st.sampled_from(["A", "B", "A.B", "B.A", "A.A"]),
)
def test_each_lists_what_jsonata_lists(doc: dict, path: str) -> None:
    import jsonata

    from erpbridge.mapping import expressions

    reference = jsonata.Jsonata(path).evaluate(doc)
    wanted = [] if reference is None else reference if isinstance(reference, list) else [reference]
    assert expressions.Expression(path).evaluate_each(doc) == wanted


def test_items_make_one_list_from_parts(tmp_path: Path) -> None:
    m = load_mapping(
        write(
            tmp_path,
            "m.yaml",
            x12_target(
                "  REF:\n    items:\n"
                "      - {when: $exists(dept), fields: {REF01: '\"DP\"', REF02: dept}}\n"
                "      - {when: $exists(vendor), fields: {REF01: '\"IA\"', REF02: vendor}}\n"
                "      - each: 'refs[kind != \"skip\"]'\n"
                "        fields: {REF01: kind, REF02: value}\n"
            ),
        )
    )
    doc = {
        "vendor": "V1",
        "refs": [{"kind": "ZZ", "value": "1"}, {"kind": "skip", "value": "2"}, {"value": "3"}],
    }
    assert m.apply(doc).document == {"REF": [{"REF01": "IA", "REF02": "V1"}, {"REF01": "ZZ", "REF02": "1"}]}
    for part in m.fields["REF"].items or []:
        for e in (part.when, part.each):
            assert e is None or e.is_native, e.text
    with pytest.raises(MappingError, match="'items' stands alone"):
        load_mapping(write(tmp_path, "bad.yaml", x12_target("  REF:\n    when: x\n    items: [a]\n")))
