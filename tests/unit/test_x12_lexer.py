"""The dialect is read from the ISA, and tokenising does not depend on how bytes arrive."""

from __future__ import annotations

import pytest

from erpbridge.errors import NotX12Error, X12SyntaxError
from erpbridge.formats.x12 import Dialect
from erpbridge.formats.x12.lexer import EndOfInput, Lexer, Segment

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261123*1200*^*00501*000000001*0*P*:~"


def tokens(data: bytes, chunk: int | None = None) -> list[Segment | EndOfInput]:
    lx = Lexer()
    out: list[Segment | EndOfInput] = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        lx.feed(data[i : i + step])
        out += lx.tokens()
    lx.close()
    out += lx.tokens()
    return out


def ids(toks: list[Segment | EndOfInput]) -> list[str]:
    return [t.id for t in toks if isinstance(t, Segment)]


def test_isa_is_exactly_106_characters() -> None:
    assert len(ISA) == 106


def test_dialect_read_from_isa_positions() -> None:
    d = Dialect.from_isa(ISA, "\r\n")
    assert (d.element, d.repetition, d.component, d.segment, d.suffix) == ("*", "^", ":", "~", "\r\n")


def test_00401_has_no_repetition_separator() -> None:
    isa = ISA.replace("*^*00501*", "*U*00401*")
    assert Dialect.from_isa(isa).repetition is None


@pytest.mark.parametrize(
    "prefix",
    [b"", b"\xef\xbb\xbf", b"\r\n\r\n  ", b"\xef\xbb\xbf\n\t"],
    ids=["none", "bom", "blank", "bom+ws"],
)
@pytest.mark.parametrize("suffix", ["", "\n", "\r\n"], ids=["nosuffix", "lf", "crlf"])
def test_bom_whitespace_and_line_endings(prefix: bytes, suffix: str) -> None:
    body = (
        ISA
        + suffix
        + "GS*PO*S*R*20261123*1200*1*X*005010~"
        + suffix
        + "GE*0*1~"
        + suffix
        + "IEA*1*000000001~"
        + suffix
    )
    toks = tokens(prefix + body.encode())
    assert ids(toks) == ["ISA", "GS", "GE", "IEA"]
    gs = toks[1]
    assert isinstance(gs, Segment) and gs.elements[8] == "005010"
    assert isinstance(toks[-1], EndOfInput) and toks[-1].incomplete == ""


def test_newline_as_terminator() -> None:
    isa = ISA[:-1] + "\n"
    data = (isa + "GS*PO*S*R*20261123*1200*1*X*005010\nGE*0*1\nIEA*1*000000001\n").encode()
    toks = tokens(data)
    assert ids(toks) == ["ISA", "GS", "GE", "IEA"]
    assert toks[2].line == 3  # type: ignore[union-attr]


def test_each_interchange_has_its_own_delimiters() -> None:
    first = ISA + "\nGS*PO*S*R*20261123*1200*1*X*005010~\nGE*0*1~\nIEA*1*000000001~\n"
    second_isa = ISA.replace("*", "|").replace("|000000001|", "|000000002|").replace("~", "'")
    second = second_isa + "GS|PO|S|R|20261123|1200|2|X|005010'GE|0|2'IEA|1|000000002'"
    toks = tokens((first + second).encode())
    assert ids(toks) == ["ISA", "GS", "GE", "IEA"] * 2
    assert [t.elements for t in toks if isinstance(t, Segment) and t.id == "GE"] == [
        ["GE", "0", "1"],
        ["GE", "0", "2"],
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 105, 106, 107])
def test_chunking_does_not_change_tokens(chunk: int) -> None:
    data = (
        ISA + "\nGS*PO*S*R*20261123*1200*1*X*005010~\nST*850*0001~\nSE*2*0001~\nGE*1*1~\nIEA*1*000000001~\n"
    ).encode()
    whole = [(t.elements, t.offset, t.line) for t in tokens(data) if isinstance(t, Segment)]
    parts = [(t.elements, t.offset, t.line) for t in tokens(data, chunk) if isinstance(t, Segment)]
    assert parts == whole
    assert [o for _, o, _ in whole][:3] == [0, 107, 143]  # ISA + LF = 107, GS~ + LF = 36


def test_non_latin_bytes_survive() -> None:
    isa = ISA.replace("~", "\x85")
    data = (isa + "\r\nGS*PO*S*R*20261123*1200*1*X*005010\x85\r\nGE*0*1\x85\r\nIEA*1*000000001\x85").encode(
        "latin-1"
    )
    toks = tokens(data)
    assert ids(toks) == ["ISA", "GS", "GE", "IEA"]


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"hello world, this is not X12 at all" * 4, b"UNA:+.? 'UNB+UNOA:1+X+Y'" * 5],
    ids=["empty", "blank", "prose", "edifact"],
)
def test_not_x12_is_refused(data: bytes) -> None:
    with pytest.raises(NotX12Error):
        tokens(data)


def test_short_isa_is_refused_with_a_reason() -> None:
    bad = ISA.replace("SENDER         ", "SENDER")
    with pytest.raises(NotX12Error, match="fixed-width"):
        tokens((bad + "GS*PO*S*R*20261123*1200*1*X*005010~GE*0*1~IEA*1*000000001~").encode())


def test_unterminated_segment_is_bounded() -> None:
    lx = Lexer(max_segment=1000)
    lx.feed((ISA + "GS*" + "A" * 5000).encode())
    with pytest.raises(X12SyntaxError, match="no segment terminator"):
        lx.tokens()


def test_trailing_text_is_reported_not_lost() -> None:
    data = (ISA + "GS*PO*S*R*20261123*1200*1*X*005010~GE*0*1~IEA*1*000000001~GARBAGE").encode()
    toks = tokens(data)
    end = toks[-1]
    assert isinstance(end, EndOfInput) and end.incomplete.startswith("GARBAGE")


@pytest.mark.parametrize("suffix", ["", "\n", "\r\n"], ids=["nosuffix", "lf", "crlf"])
@pytest.mark.parametrize(
    "stray",
    ["", "\n", "\r\n\r\n", "\r", "BEG*00*SA*1\n*20261123"],
    ids=["regular", "blank-line", "blank-crlf", "lone-cr", "break-inside"],
)
def test_irregular_line_breaks_read_like_segment_by_segment(suffix: str, stray: str) -> None:
    """A run of segments with nothing but the suffix after each terminator is split at once; a
    stray line break anywhere sends the run down the segment-by-segment path. Both give the same
    elements, offsets and lines as reading one byte at a time."""
    body = [f"REF*DP*{n:03d}" for n in range(40)]
    if stray.startswith("BEG"):
        body[20] = stray
    segments = ["GS*PO*S*R*20261123*1200*1*X*005010", "ST*850*0001", *body, "SE*42*0001", "GE*1*1"]
    text = (
        ISA
        + suffix
        + "".join(
            s + "~" + suffix + (stray if i == 10 and not stray.startswith("BEG") else "")
            for i, s in enumerate(segments)
        )
    )
    data = (text + "IEA*1*000000001~" + suffix + ISA.replace("000000001", "000000002") + suffix).encode()
    whole = [(t.elements, t.offset, t.line) for t in tokens(data) if isinstance(t, Segment)]
    bytewise = [(t.elements, t.offset, t.line) for t in tokens(data, 1) if isinstance(t, Segment)]
    assert whole == bytewise
    assert [e[0] for e, _, _ in whole].count("REF") == 39 + (not stray.startswith("BEG"))
    assert [e for e, _, _ in whole if e[0] == "ISA"][1][13] == "000000002"  # a second interchange after IEA
    for elements, offset, line in whole:  # each offset points at its segment, each line holds it
        assert data[offset : offset + len(elements[0])].decode() == elements[0]
        assert data[:offset].count(b"\n") + 1 == line
