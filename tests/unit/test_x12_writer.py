"""parse -> JSON view -> write gives back the same segments; invalid documents are refused by name."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from erpbridge.errors import X12WriteError
from erpbridge.formats.x12 import ControlNumbers, Dialect, decode, encode
from erpbridge.formats.x12.lexer import Lexer, Segment
from tests.conftest import CORPUS, SAMPLES

ROUND_TRIP = [
    *(
        CORPUS / n
        for n in (
            "nodex12_850.edi",
            "nodex12_855.edi",
            "staedi_simple999.edi",
            "staedi_997_multiple_interchanges.edi",
        )
    ),
    *sorted((SAMPLES / "valid").glob("*.edi")),
    CORPUS / "staedi_214_ellipsis_terminator_cp1252.edi",  # no schema: kept in order all the same
]


def segments(data: bytes) -> list[list[str]]:
    lx = Lexer()
    lx.feed(data)
    lx.close()
    return [t.elements for t in lx.tokens() if isinstance(t, Segment)]


@pytest.mark.parametrize("path", ROUND_TRIP, ids=lambda p: p.name)
def test_round_trip_gives_the_same_segments(path: Path) -> None:
    data = path.read_bytes()
    doc = decode(data).document
    out = encode(doc, validate=False)
    assert segments(out) == segments(data)
    assert encode(decode(out).document, validate=False) == out


def test_round_trip_is_byte_identical_for_a_clean_file() -> None:
    data = (CORPUS / "nodex12_850.edi").read_bytes()
    assert not data.endswith(b"\n")  # the file ends right after IEA's terminator
    assert encode(decode(data).document) == data + b"\n"  # the writer ends every segment the same way


def test_writer_uses_any_delimiters() -> None:
    doc = decode((SAMPLES / "valid" / "850_005010.edi").read_bytes()).document
    out = encode(doc, dialect=Dialect(element="|", component="}", repetition="{", segment="\x1c", suffix=""))
    assert out.startswith(b"ISA|") and out.count(b"\x1c") == len(segments(out))
    again = decode(out)
    assert again.findings == []
    assert again.document["interchanges"][0]["groups"] == doc["interchanges"][0]["groups"]


def test_writer_computes_counts_and_takes_control_numbers() -> None:
    doc = decode((SAMPLES / "valid" / "850_004010.edi").read_bytes()).document
    doc = copy.deepcopy(doc)
    tset = doc["interchanges"][0]["groups"][0]["sets"][0]
    tset["SE"] = {"SE01": "999", "SE02": "nonsense"}
    out = encode(doc, control=ControlNumbers(interchange=42, group=7, transaction_set=1234))
    segs = segments(out)
    by_id = {s[0]: s for s in segs}
    assert by_id["ISA"][13] == "000000042" and by_id["IEA"][2] == "000000042"
    assert by_id["GS"][6] == "7" and by_id["GE"] == ["GE", "1", "7"]
    assert by_id["ST"][2] == "1234" and by_id["SE"][2] == "1234"
    st = next(i for i, s in enumerate(segs) if s[0] == "ST")
    se = next(i for i, s in enumerate(segs) if s[0] == "SE")
    assert by_id["SE"][1] == str(se - st + 1)


def _po() -> dict:
    return copy.deepcopy(decode((SAMPLES / "valid" / "850_004010.edi").read_bytes()).document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["BEG"].pop("BEG03"), r"BEG03 \(Purchase Order Number\) is mandatory"),
        (lambda s: s["BEG"].update(BEG01="99"), r"BEG01 .* '99'"),
        (lambda s: s["BEG"].update(BEG03="PO*1"), r"sets\[0\]/BEG/BEG03 contains the delimiter '\*'"),
        (lambda s: s.update(BEGX={"BEGX01": "1"}), r"'BEGX' is not a segment or loop of this set"),
        (lambda s: s["BEG"].update(XYZ01="1"), r"'XYZ01' is not an element of BEG"),
        (lambda s: s["PO1_loop"][0]["PO1"].update(PO102="12X"), r"PO102 .* '12X', which is not"),
        (lambda s: s.pop("PO1_loop"), r"mandatory the PO1 loop is missing"),
    ],
    ids=[
        "missing",
        "bad-code",
        "delimiter",
        "unknown-segment",
        "unknown-element",
        "bad-number",
        "missing-loop",
    ],
)
def test_invalid_documents_are_refused_naming_the_field(change, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = _po()
    change(doc["interchanges"][0]["groups"][0]["sets"][0])
    with pytest.raises(X12WriteError, match=message):
        encode(doc)


def test_non_latin1_text_is_refused() -> None:
    doc = _po()
    doc["interchanges"][0]["groups"][0]["sets"][0]["BEG"]["BEG03"] = "PO€1"
    with pytest.raises(X12WriteError, match="ISO-8859-1"):
        encode(doc)


def test_document_without_interchanges_is_refused() -> None:
    with pytest.raises(X12WriteError, match="interchanges"):
        encode({})


def test_delimiters_must_be_distinct() -> None:
    with pytest.raises(X12WriteError, match="must be distinct"):
        encode(_po(), dialect=Dialect(element="*", component="*", repetition=None, segment="~"))


def test_envelope_uses_the_application_ids_for_gs02_gs03() -> None:
    from datetime import UTC, datetime

    from erpbridge.formats.x12 import EnvelopeParty, envelope

    view = envelope(
        [{"ST": {"ST01": "997"}}],
        sender=EnvelopeParty("01", "123456789", "NWAPP"),
        receiver=EnvelopeParty("ZZ", "MEGAMART"),
        now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )
    inter = view["interchanges"][0]
    assert (inter["ISA"]["ISA06"], inter["ISA"]["ISA08"]) == ("123456789", "MEGAMART")
    gs = inter["groups"][0]["GS"]
    assert (gs["GS01"], gs["GS02"], gs["GS03"]) == ("FA", "NWAPP", "MEGAMART")
