"""Properties of the X12 engine, checked with hypothesis.

- Round trip: a random valid 850 (004010 or 005010), written with random delimiters and line
  endings, reads back to the same JSON view without a finding, and writing that view again gives
  the same bytes.
- Chunking: the reader's events and findings do not depend on how the input is split into chunks.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Iterable
from dataclasses import astuple
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import ErpBridgeError
from erpbridge.formats.x12 import (
    Dialect,
    Event,
    Finding,
    GroupEnd,
    GroupStart,
    InterchangeEnd,
    InterchangeStart,
    LoopEnd,
    LoopStart,
    Segment,
    SetEnd,
    SetStart,
    X12Reader,
    decode,
    encode,
    load_set,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
SAMPLES = ROOT / "edi_samples"
LOCAL_CORPUS = ROOT / "tests" / "corpus"

JSON = dict[str, Any]

# ------------------------------------------------------------------------------ random valid 850s

#: delimiter candidates: distinct, not letters, digits or space, and not "." or "-" (prices, IDs)
DELIMITER_POOL = "*|^~:>!+#$%&;<=?@`{}'\"\\\x1c\x1d\x1e\x1f"
#: what text may hold besides letters, digits and inner spaces (minus the delimiters in use)
TEXT_PUNCTUATION = "!#&'+/(),@"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

dialects = st.builds(
    lambda chars, suffix: Dialect(chars[0], chars[1], chars[2], chars[3], suffix),
    st.lists(st.sampled_from(DELIMITER_POOL), min_size=4, max_size=4, unique=True),
    st.sampled_from(["", "\n", "\r\n"]),
)


@functools.cache
def text(delimiters: str, max_size: int) -> st.SearchStrategy[str]:
    """1 to ``max_size`` characters without the given delimiters, nor leading or trailing spaces."""
    alphabet = UPPER + UPPER.lower() + DIGITS
    alphabet += "".join(c for c in TEXT_PUNCTUATION if c not in delimiters)
    edge = st.sampled_from(alphabet)
    inner = st.text(alphabet=alphabet + " ", max_size=max_size - 2)
    return st.one_of(edge, st.builds(lambda a, m, z: a + m + z, edge, inner, edge))


@functools.cache
def ident(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=UPPER + DIGITS, min_size=min_size, max_size=max_size)


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
times = st.times(max_value=time(23, 59))


@st.composite
def purchase_order(draw: st.DrawFn, d: Dialect, control: int) -> JSON:
    """One 850 transaction set in the JSON view, without SE (the writer computes it)."""
    tset: JSON = {
        "ST": {"ST01": "850", "ST02": f"{control:04d}"},
        "BEG": {
            "BEG01": "00",
            "BEG02": "SA",
            "BEG03": draw(ident(1, 22)),
            "BEG05": draw(dates).strftime("%Y%m%d"),
        },
    }
    refs = draw(
        st.lists(
            st.fixed_dictionaries({"REF01": st.sampled_from(["DP", "IA"]), "REF02": ident(1, 30)}),
            max_size=3,
        )
    )
    if refs:
        tset["REF"] = refs
    parties = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "N101": st.sampled_from(["ST", "BT"]),
                    "N102": text(d.delimiters(), 60),
                    "N103": st.just("92"),
                    "N104": ident(2, 20),
                }
            ),
            max_size=3,
        )
    )
    if parties:
        tset["N1_loop"] = [{"N1": n1} for n1 in parties]
    lines = []
    for number in range(1, draw(st.integers(1, 20)) + 1):
        cents = draw(st.integers(0, 10**9))
        po1 = {
            "PO101": str(number),
            "PO102": str(draw(st.integers(1, 10**9))),
            "PO103": "EA",
            "PO104": f"{cents // 100}.{cents % 100:02d}",
            "PO106": draw(st.sampled_from(["UP", "VN"])),
            "PO107": draw(ident(1, 48)),
        }
        line: JSON = {"PO1": po1}
        descriptions = draw(st.lists(text(d.delimiters(), 80), max_size=2))
        if descriptions:
            line["PID_loop"] = [{"PID": {"PID01": "F", "PID05": desc}} for desc in descriptions]
        lines.append(line)
    tset["PO1_loop"] = lines
    tset["CTT_loop"] = {"CTT": {"CTT01": str(len(lines))}}
    return tset


def segment_count(tset: JSON) -> int:
    """SE01 worked out from the document: ST to SE inclusive."""
    count = 2 + len(tset.get("REF", [])) + len(tset.get("N1_loop", [])) + 1  # ST BEG REF* N1* CTT
    for line in tset["PO1_loop"]:
        count += 1 + len(line.get("PID_loop", []))
    return count + 1  # SE


@st.composite
def interchanges(draw: st.DrawFn) -> tuple[Dialect, str, JSON, JSON]:
    """(dialect, release, the document to write, the document that must be read back)."""
    d = draw(dialects)
    release = draw(st.sampled_from(["004010", "005010"]))
    if release == "004010" and draw(st.booleans()):
        d = Dialect(d.element, d.component, None, d.segment, d.suffix)
    stamp = draw(dates)
    clock = draw(times)
    isa13 = f"{draw(st.integers(1, 999_999_999)):09d}"
    isa = {
        "ISA01": "00",
        "ISA02": " " * 10,
        "ISA03": "00",
        "ISA04": " " * 10,
        "ISA05": "ZZ",
        "ISA06": draw(ident(2, 15)).ljust(15),
        "ISA07": "ZZ",
        "ISA08": draw(ident(2, 15)).ljust(15),
        "ISA09": stamp.strftime("%y%m%d"),
        "ISA10": clock.strftime("%H%M"),
        "ISA11": "U",
        "ISA12": "00401" if release == "004010" else "00501",
        "ISA13": isa13,
        "ISA14": "0",
        "ISA15": draw(st.sampled_from(["P", "T"])),
        "ISA16": d.component,
    }
    if release == "005010":
        isa["ISA11"] = d.repetition
    gs06 = str(draw(st.integers(1, 999_999_999)))
    gs = {
        "GS01": "PO",
        "GS02": draw(ident(2, 15)),
        "GS03": draw(ident(2, 15)),
        "GS04": stamp.strftime("%Y%m%d"),
        "GS05": clock.strftime("%H%M"),
        "GS06": gs06,
        "GS07": "X",
        "GS08": release,
    }
    first = draw(st.integers(1, 99_000))
    sets = [draw(purchase_order(d, first + n)) for n in range(draw(st.integers(1, 3)))]
    document = {"interchanges": [{"ISA": isa, "groups": [{"GS": gs, "sets": sets}]}]}

    expected = copy.deepcopy(document)
    inter = expected["interchanges"][0]
    inter["delimiters"] = {
        "element": d.element,
        "component": d.component,
        "repetition": d.repetition if release == "005010" else None,
        "segment": d.segment,
        "suffix": d.suffix,
    }
    for tset in inter["groups"][0]["sets"]:
        tset["SE"] = {"SE01": str(segment_count(tset)), "SE02": tset["ST"]["ST02"]}
    inter["groups"][0]["GE"] = {"GE01": str(len(sets)), "GE02": gs06}
    inter["IEA"] = {"IEA01": "1", "IEA02": isa13}
    return d, release, document, expected


def test_the_850_schema_has_the_keys_the_generator_writes() -> None:
    for release in ("004010", "005010"):
        schema = load_set(release, "850")
        assert schema is not None, f"no 850 schema for {release}"
        top = {c.key: c for c in schema.root.children}
        assert {"ST", "BEG", "REF", "N1_loop", "PO1_loop", "CTT_loop", "SE"} <= top.keys()
        assert top["REF"].max > 1 and top["N1_loop"].max > 1 and top["PO1_loop"].max > 1
        assert top["CTT_loop"].max == 1, "CTT_loop is written as an object"
        po1 = {c.key: c for c in top["PO1_loop"].children}  # type: ignore[union-attr]
        assert po1["PID_loop"].max > 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interchanges())
def test_random_850_round_trips_with_random_delimiters(case: tuple[Dialect, str, JSON, JSON]) -> None:
    dialect, release, document, expected = case
    data = encode(document, dialect=dialect)

    # the delimiters are where the ISA says they are
    assert data[3:4].decode("latin-1") == dialect.element
    assert data[104:106].decode("latin-1") == dialect.component + dialect.segment
    repetition = dialect.repetition if release == "005010" else "U"
    assert data[82:83].decode("latin-1") == repetition
    terminator = (dialect.segment + dialect.suffix).encode("latin-1")
    assert data.endswith(terminator)

    result = decode(data)
    assert [str(f) for f in result.findings] == []
    assert result.document == expected
    sets = result.document["interchanges"][0]["groups"][0]["sets"]
    for got, wrote in zip(sets, document["interchanges"][0]["groups"][0]["sets"], strict=True):
        assert {k: v for k, v in got.items() if k != "SE"} == wrote

    assert encode(result.document) == data
    assert encode(result.document, dialect=dialect) == data


# -------------------------------------------------------------------------------------- chunking


def chunk_files() -> list[Path]:
    """Every corpus file and every sample (valid and invalid: chunking must not matter for either)."""
    return [
        *sorted(CORPUS.glob("*.edi")),
        *sorted(LOCAL_CORPUS.glob("*.edi")),
        *sorted((SAMPLES / "valid").glob("*.edi")),
        *sorted((SAMPLES / "invalid").glob("*.edi")),
    ]


def elements(seg: Segment | None) -> tuple[str, ...] | None:
    return None if seg is None else tuple(seg.elements)


def normalize(ev: Event) -> tuple[Any, ...]:
    """An event as plain values (what a consumer can observe), so two runs can be compared."""
    name = type(ev).__name__
    if isinstance(ev, Segment):
        key = ev.usage.key if ev.usage is not None else None
        return (name, tuple(ev.elements), ev.position, ev.line, ev.offset, key, ev.dialect)
    if isinstance(ev, Finding):
        return (name, ev.level.value, ev.code, ev.severity, ev.message, ev.value, astuple(ev.location))
    if isinstance(ev, InterchangeStart):
        return (name, elements(ev.header), ev.dialect)
    if isinstance(ev, InterchangeEnd):
        return (name, elements(ev.header), elements(ev.trailer), ev.group_count)
    if isinstance(ev, GroupStart):
        return (name, elements(ev.header), ev.version)
    if isinstance(ev, GroupEnd):
        return (name, elements(ev.header), elements(ev.trailer), ev.set_count)
    if isinstance(ev, SetStart):
        schema = None if ev.schema is None else (ev.schema.version, ev.schema.id)
        return (name, elements(ev.header), ev.header.position, schema)
    if isinstance(ev, SetEnd):
        return (name, elements(ev.header), elements(ev.trailer), ev.segment_count)
    if isinstance(ev, LoopStart):
        return (name, ev.node.key, tuple(ev.segment.elements))
    if isinstance(ev, LoopEnd):
        return (name, ev.node.key)
    raise AssertionError(f"unknown event {ev!r}")


def run(chunks: Iterable[bytes]) -> tuple[list[tuple[Any, ...]], str | None]:
    """Events of the input fed chunk by chunk, and the ErpBridgeError that stopped it (if any)."""
    reader = X12Reader()
    out: list[tuple[Any, ...]] = []
    try:
        for chunk in chunks:
            reader.feed(chunk)
            out += [normalize(ev) for ev in reader.events()]
        reader.close()
        out += [normalize(ev) for ev in reader.events()]
    except ErpBridgeError as exc:
        return out, f"{type(exc).__name__}: {exc}"
    return out, None


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


@pytest.fixture(scope="module")
def whole() -> dict[Path, tuple[list[tuple[Any, ...]], str | None]]:
    return {path: run([path.read_bytes()]) for path in chunk_files()}


def test_there_are_files_to_chunk() -> None:
    files = chunk_files()
    assert any(p.parent == CORPUS for p in files), f"no corpus files in {CORPUS}"
    assert any(p.parent.name == "valid" for p in files)


@pytest.mark.parametrize("path", chunk_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_byte_chunks_read_like_the_whole_file(
    path: Path, whole: dict[Path, tuple[list[tuple[Any, ...]], str | None]]
) -> None:
    data = path.read_bytes()
    assert run(data[i : i + 1] for i in range(len(data))) == whole[path]


@pytest.mark.parametrize("path", chunk_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=40, deadline=None)
@given(split_at=st.data())
def test_random_chunks_read_like_the_whole_file(
    path: Path, whole: dict[Path, tuple[list[tuple[Any, ...]], str | None]], split_at: st.DataObject
) -> None:
    data = path.read_bytes()
    cuts = split_at.draw(
        st.one_of(
            st.lists(st.integers(0, len(data)), max_size=40),
            st.integers(1, 128).map(lambda n: range(n, len(data), n)),  # fixed-size chunks, 1 byte up
        ),
        label="cuts",
    )
    chunks = split(data, cuts)
    if split_at.draw(st.booleans(), label="empty chunks too"):
        chunks = [c for chunk in chunks for c in (chunk, b"")]
    assert b"".join(chunks) == data
    assert run(chunks) == whole[path]
