"""The IDoc XML codec: reading, writing, findings, XML safety and fuzzing (formats/idoc/)."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import ErpBridgeError, IdocSecurityError, IdocSyntaxError, IdocWriteError
from erpbridge.formats.idoc import decode, encode, idoc_type, write
from tests.conftest import ROOT

SAMPLES = ROOT / "tests" / "idoc_samples"
GOLDEN = sorted(SAMPLES.glob("*.xml"))
LUMBER = SAMPLES / "orders05_lumber_3pl.xml"


def minimal(idoctyp: str = "ORDERS05", **segments: Any) -> dict[str, Any]:
    return {"EDI_DC40": {"IDOCTYP": idoctyp, "MESTYP": "ORDERS", "DOCNUM": "42"}, **segments}


# -- reading -------------------------------------------------------------------------------------


def test_every_golden_file_reads_without_errors() -> None:
    assert len(GOLDEN) >= 6
    for path in GOLDEN:
        decoded = decode(path.read_bytes(), source=path.name)
        assert decoded.errors == [], (path.name, [str(f) for f in decoded.errors])
        for idoc in decoded.document["idocs"]:
            assert idoc["EDI_DC40"]["IDOCTYP"] in ("ORDERS05", "DELVRY07", "INVOIC02", "WMMBID02")


def test_the_tree_has_objects_for_single_segments_and_lists_for_repeating_ones() -> None:
    doc = decode(LUMBER.read_bytes()).document
    assert doc["root"] == "_-LUMBERL_-3PL_ORDERS05_EXT"
    [idoc] = doc["idocs"]
    assert idoc["EDI_DC40"]["DOCNUM"] == "0000000064132944"
    assert idoc["E1EDK01"]["BELNR"] == "4700000325"  # max 1: an object
    assert [s["QUALF"] for s in idoc["E1EDK14"]] == ["014", "009", "013", "011"]
    assert isinstance(idoc["E1EDS01"], list) and idoc["E1EDS01"][0]["SUMME"] == "40098.16"
    line = idoc["E1EDP01"][0]
    assert line["E1EDP19"][0]["KTEXT"] == 'SCH ENG Bamboo QC 9/16x5" Strand Nat'  # &quot; decoded
    # the extension segment is kept where it was, as a list
    assert line["E1EDP20"][0]["_-LUMBERL_-PO_SHIP_WINDOW"][0]["VN_SHIPEND"] == "20160602"
    # the type's order, whatever the file's: E1EDK03 before E1EDK17
    keys = list(idoc)
    assert keys.index("E1EDK03") < keys.index("E1EDK17")


def test_out_of_order_and_extension_segments_are_warnings_naming_the_place() -> None:
    decoded = decode(LUMBER.read_bytes())
    messages = [str(f) for f in decoded.findings]
    assert all(f.severity == "warning" for f in decoded.findings)
    assert any("E1EDK03 comes after E1EDK17" in m and "line 55" in m for m in messages)
    assert any("E1EDP01[2]/E1EDP20[1]/_-LUMBERL_-PO_SHIP_WINDOW[1]" in m for m in messages)


def test_several_idocs_in_one_file() -> None:
    decoded = decode((SAMPLES / "orders05_megamart.xml").read_bytes())
    assert len(decoded.document["idocs"]) == 2
    assert [i["EDI_DC40"]["DOCNUM"] for i in decoded.document["idocs"]] == [
        "0000000000100001",
        "0000000000100002",
    ]


def test_content_problems_are_findings_naming_idoc_segment_field_and_line() -> None:
    data = LUMBER.read_bytes().replace(b"<ORGID>ZMSP</ORGID>", b"<ORGID>" + b"X" * 36 + b"</ORGID>")
    data = data.replace(b'<E1EDK01 SEGMENT="1">', b'<E1EDK0X SEGMENT="1">').replace(
        b"</E1EDK01>", b"</E1EDK0X>"
    )
    decoded = decode(data)
    errors = [str(f) for f in decoded.errors]
    assert any(
        e
        == "IDoc 1 (DOCNUM 0000000064132944), segment E1EDK14[3], field ORGID, line 44: ORGID has 36 characters, "
        "more than the 35 that E1EDK14-ORGID holds"
        for e in errors
    ), errors
    assert any("E1EDK01 is missing; ORDERS05 needs 1 under the IDoc" in e for e in errors)


def test_a_segment_too_often_and_a_field_given_twice_are_errors() -> None:
    text = LUMBER.read_text()
    first = text.index("<E1EDK01 ")
    block = text[first : text.index("</E1EDK01>") + len("</E1EDK01>")]
    text = text.replace(block, block + "\n" + block).replace(
        "<CURCY>USD</CURCY>", "<CURCY>USD</CURCY><CURCY>EUR</CURCY>", 1
    )
    errors = [str(f) for f in decode(text.encode()).errors]
    assert any("E1EDK01 occurs 2 times; ORDERS05 allows 1" in e for e in errors)
    assert any("CURCY is given twice in E1EDK01" in e for e in errors)


# -- unreadable input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"ISA*00*", "not well-formed XML"),
        (b"<ORDERS05><IDOC BEGIN='1'>", "not well-formed XML"),
        (b"<ORDERS05><E1EDK01/></ORDERS05>", "not IDoc XML: the root element <ORDERS05> holds no <IDOC>"),
        (b"<a>&unknown;</a>", "undefined entity"),
        ("<ORDERS05><IDOC/></ORDERS05>".encode("utf-16")[:9], "XML"),
    ],
)
def test_unreadable_input_raises_an_idoc_syntax_error(data: bytes, message: str) -> None:
    with pytest.raises(IdocSyntaxError) as err:
        decode(data, source="in.xml")
    assert message in str(err.value)
    assert err.value.context["file"] == "in.xml"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>ORDERS05</IDOCTYP></EDI_DC40>
<E1EDK01 SEGMENT="1"><BELNR>&lol9;</BELNR></E1EDK01></IDOC></ORDERS05>
"""


def test_billion_laughs_is_refused_not_expanded() -> None:
    with pytest.raises(IdocSecurityError) as err:
        decode(BILLION_LAUGHS)
    assert "line 2: the XML declares a document type (<!DOCTYPE lolz>)" in str(err.value)


def test_an_external_entity_to_a_local_file_is_refused_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE ORDERS05 [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>ORDERS05</IDOCTYP></EDI_DC40>'
        '<E1EDK01 SEGMENT="1"><BELNR>&xxe;</BELNR></E1EDK01></IDOC></ORDERS05>'
    ).encode()
    with pytest.raises(IdocSecurityError) as err:
        decode(data)
    assert "TOP-SECRET-VALUE" not in str(err.value)
    assert "refused" in str(err.value)


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE ORDERS05 SYSTEM "http://127.0.0.1:9/idoc.dtd">',
        b'<!DOCTYPE ORDERS05 PUBLIC "-//SAP//IDoc//EN" "idoc.dtd">',
        b"<!DOCTYPE ORDERS05>",
        b'<!DOCTYPE ORDERS05 [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    ],
)
def test_any_doctype_is_refused(doctype: bytes) -> None:
    data = b'<?xml version="1.0"?>' + doctype + LUMBER.read_bytes().split(b"?>", 1)[1]
    with pytest.raises(IdocSecurityError, match="document type"):
        decode(data)


def test_nesting_deeper_than_any_idoc_is_refused() -> None:
    data = b"<a>" * 200 + b"</a>" * 200
    with pytest.raises(IdocSecurityError, match="nest deeper"):
        decode(data)


# -- writing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_the_writer_gives_back_what_it_read(path: Path) -> None:
    decoded = decode(path.read_bytes())
    data = encode(decoded.document)
    again = decode(data)
    assert again.document == decoded.document
    assert again.errors == []
    assert encode(again.document) == data  # stable


def test_the_writer_puts_segments_and_fields_in_the_types_order() -> None:
    idoc = minimal(
        E1EDP01=[{"MENGE": "2", "POSEX": "10", "E1EDP19": [{"IDTNR": "X", "QUALF": "002"}]}],
        E1EDK02=[{"BELNR": "PO1", "QUALF": "001"}],
        E1EDK01={"BELNR": "PO1", "CURCY": "USD"},
    )
    text = encode(idoc).decode()
    assert text.index("<E1EDK01") < text.index("<E1EDK02") < text.index("<E1EDP01")
    assert text.index("<CURCY>") < text.index("<BELNR>")
    assert text.index("<POSEX>") < text.index("<MENGE>") < text.index("<E1EDP19")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ORDERS05>\n  <IDOC BEGIN="1">\n')


def test_docnums_from_the_ledger_are_written_as_16_digits() -> None:
    data = encode(
        {"idocs": [minimal(E1EDK01={"BELNR": "A"}), minimal(E1EDK01={"BELNR": "B"})]}, docnums=[7, 8]
    )
    idocs = decode(data).document["idocs"]
    assert [i["EDI_DC40"]["DOCNUM"] for i in idocs] == ["0000000000000007", "0000000000000008"]
    written = write(minimal(E1EDK01={"BELNR": "A"}), docnums=[10**16])
    assert written.data is None
    assert "DOCNUM 10000000000000000 is not a number of at most 16 digits" in str(written.errors[0])


def test_a_bad_idoc_is_findings_naming_idoc_segment_and_field_and_nothing_is_written() -> None:
    idoc = minimal(
        E1EDK01={"BELNR": "X" * 36},
        E1EDP01=[
            {"POSEX": "10", "E1EDP19": [{"QUALF": "002", "IDTNR": "A", "KTEXT": "K" * 71, "COLOR": "red"}]}
        ],
        E1EDZZ9=[{"A": "1"}],
    )
    result = write(idoc)
    assert result.data is None
    shown = [str(f) for f in result.errors]
    assert (
        "IDoc 1 (DOCNUM 0000000000000042), segment E1EDK01[1], field BELNR: BELNR has 36 characters "
        f"({'X' * 36!r}); E1EDK01-BELNR holds at most 35"
    ) in shown
    assert any("segment E1EDP01[1]/E1EDP19[1], field KTEXT: KTEXT has 71 characters" in s for s in shown)
    assert any("E1EDP19 has no field COLOR" in s for s in shown)
    assert any("E1EDZZ9 is not a segment of ORDERS05 in ORDERS05" in s and "CIMTYP" in s for s in shown)
    with pytest.raises(IdocWriteError) as err:
        encode(idoc)
    assert len(err.value.findings) == 4


def test_missing_mandatory_segments_and_too_many_are_findings() -> None:
    shown = [str(f) for f in write(minimal("WMMBID02", E1MBXYH={"BUDAT": "20260316"})).errors]
    assert any("E1MBXYI is missing; WMMBID02 needs it under E1MBXYH" in s for s in shown)
    shown = [str(f) for f in write(minimal(E1EDK01={}, E1EDK18=[{"QUALF": "001"}] * 4)).errors]
    assert any("E1EDK18 occurs 4 times; ORDERS05 allows 3" in s for s in shown)
    assert any("E1EDK01 is missing" in s for s in shown)


@pytest.mark.parametrize(
    ("value", "message"),
    [(1.5, "IDoc fields are text"), (True, "IDoc fields are text"), ("a\x00b", "control character")],
)
def test_values_xml_cannot_carry_are_refused(value: Any, message: str) -> None:
    result = write(minimal(E1EDK01={"BELNR": value}))
    assert result.data is None and message in str(result.errors[0])


def test_text_is_escaped_and_numbers_are_written_as_text() -> None:
    from decimal import Decimal

    data = encode(minimal(E1EDK01={"BELNR": "A&B <C>"}, E1EDP01=[{"MENGE": Decimal("2.500"), "PEINH": 1}]))
    idoc = decode(data).document["idocs"][0]
    assert idoc["E1EDK01"]["BELNR"] == "A&B <C>"
    assert idoc["E1EDP01"][0]["MENGE"] == "2.500" and idoc["E1EDP01"][0]["PEINH"] == "1"


def test_an_unknown_basic_type_is_refused_by_the_writer_and_a_finding_for_the_reader() -> None:
    result = write(minimal("DEBMAS07"))
    assert "must name a basic type erpbridge writes" in str(result.errors[0])
    data = b'<DEBMAS07><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>DEBMAS07</IDOCTYP></EDI_DC40></IDOC></DEBMAS07>'
    assert "no schema for the basic type 'DEBMAS07'" in str(decode(data).errors[0])


def test_every_schema_loads() -> None:
    for name in ("ORDERS05", "DELVRY07", "INVOIC02", "WMMBID02"):
        schema = idoc_type(name)
        assert schema is not None and schema.segments
    assert idoc_type("NOPE01") is None


# -- fuzzing -------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [p.read_bytes() for p in GOLDEN]


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_but_erpbridge_errors(data: bytes) -> None:
    with contextlib.suppress(ErpBridgeError):
        decode(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=12)), max_size=6),
)
def test_mutated_idocs_never_raise_anything_but_erpbridge_errors(
    seed: bytes, cuts: list[tuple[int, int, bytes]]
) -> None:
    data = bytearray(seed)
    for at, length, insert in cuts:
        at %= len(data) + 1
        data[at : at + length] = insert
    try:
        decoded = decode(bytes(data))
    except ErpBridgeError:
        return
    result = write(copy.deepcopy(decoded.document))  # whatever was read, the writer answers with findings
    assert (result.data is None) == bool(result.errors)


@FUZZ
@given(
    st.recursive(
        st.text(max_size=8) | st.integers() | st.none(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["EDI_DC40", "E1EDK01", "E1EDP01", "BELNR", "IDOCTYP", "x y"]),
                inner,
                max_size=3,
            )
        ),
        max_leaves=12,
    )
)
def test_the_writer_answers_any_tree_with_findings_not_exceptions(tree: Any) -> None:
    result = write(tree)
    assert (result.data is None) == bool(result.errors)
