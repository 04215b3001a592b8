"""The compiled fast path never accepts a segment that the detailed element checks reject."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.formats.x12 import Dialect
from erpbridge.formats.x12.lexer import Lexer, Segment
from erpbridge.formats.x12.schema import ElementDef, ElementUse, dictionary
from erpbridge.formats.x12.validator import (
    _fast_for,
    _simple_pattern,
    check_value,
    element_errors,
    segment_is_valid,
    valid_date,
)
from tests.conftest import SAMPLES, corpus_files

FILES = corpus_files() + sorted(SAMPLES.glob("*/*.edi"))
HOSTILE = ["", "0", "-1", "1.", ".5", "-.5", "12X", "20260230", "20260229", "20240229", "2500", "2359", "ZZZ",
           "A" * 40, "\x01", "\xa0", "é", "00", "SA", "UP", "EA", "1E5", "--1", "9" * 16]  # fmt: skip


def segments() -> list[Segment]:
    out: list[Segment] = []
    for path in FILES:
        lx = Lexer()
        lx.feed(path.read_bytes())
        lx.close()
        try:
            out += [t for t in lx.tokens() if isinstance(t, Segment)]
        except Exception:  # noqa: BLE001 - unreadable negative samples have no segments to offer
            continue
    return out


SEGMENTS = segments()


def agree(elements: list[str], version: str, dialect: Dialect) -> None:
    sdef = dictionary(version).segments.get(elements[0])
    if sdef is None:
        return
    if segment_is_valid(elements, sdef, dialect):
        assert element_errors(elements, sdef, dialect) == [], (version, elements)


def test_real_segments_and_their_mutants() -> None:
    rng = random.Random(20261123)
    checked = 0
    for seg in SEGMENTS:
        for version in ("004010", "005010"):
            agree(seg.elements, version, seg.dialect)
            for _ in range(12):
                els = list(seg.elements)
                pos = rng.randrange(1, len(els) + 2)
                value = rng.choice([*HOSTILE, seg.dialect.component, seg.dialect.repetition or "^"])
                if pos < len(els):
                    els[pos] = value
                else:
                    els.append(value)
                agree(els, version, seg.dialect)
                checked += 1
    assert checked > 10_000


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted({s.id for s in SEGMENTS})),
    st.lists(st.sampled_from(HOSTILE) | st.text(alphabet="0123456789.-AEPSU:>^ ", max_size=10), max_size=12),
)
def test_random_values(sid: str, values: list[str]) -> None:
    d = Dialect(element="*", component=">", repetition="^", segment="~")
    for version in ("004010", "005010"):
        agree([sid, *values], version, d)


# ------------------------------------------------- the compiled forms are exact, and actually used


def date_use(size: int) -> ElementUse:
    return ElementUse(1, "373", "O", element=ElementDef("373", "Date", "DT", size, size), min=size, max=size)


def test_date_forms_accept_exactly_the_valid_dates() -> None:
    """CCYYMMDD and YYMMDD, leap years included, as the detailed check reads them."""
    for size, years, width in ((8, [*range(40), *range(1590, 2410), 9996, 9999], 4), (6, range(100), 2)):
        pattern = re.compile(_simple_pattern(date_use(size), "[^*]", "(?:\\*|\\Z)") or "")
        for year in years:
            for month in range(14):
                for day in range(33):
                    value = f"{year:0{width}d}{month:02d}{day:02d}"
                    assert (pattern.fullmatch(value) is not None) == valid_date(value), value


@pytest.mark.parametrize(("low", "high"), [(1, 1), (1, 10), (2, 5), (1, 15), (3, 3)])
def test_decimal_form_counts_digits_like_the_detailed_check(low: int, high: int) -> None:
    """R: the digits (all but a leading minus and the point) between the element's min and max."""
    use = ElementUse(1, "380", "O", element=ElementDef("380", "Quantity", "R", low, high), min=low, max=high)
    pattern = re.compile((_simple_pattern(use, "[^*]", "(?:\\*|\\Z)") or "") + "(?:\\*|\\Z)")
    rng = random.Random(low * 100 + high)
    for _ in range(20_000):
        value = "".join(rng.choice("0123456789.-E") for _ in range(rng.randint(1, 17)))
        valid = check_value(value, use, "QTY02") is None
        assert (pattern.match(value + rng.choice(["", "*"])) is not None) == valid, value


def test_the_fast_path_accepts_the_valid_segments_of_the_corpus() -> None:
    """Speed, not correctness: a valid segment the compiled check turned down would still be
    judged right by the detailed checks, only slowly. Definitions the compiled form cannot express
    (element repeats, partner guide tightening) have no fast path and are left out."""
    accepted = 0
    for seg in SEGMENTS:
        for version in ("004010", "005010"):
            sdef = dictionary(version).segments.get(seg.elements[0])
            if sdef is None or sdef.id == "ISA" or _fast_for(sdef, seg.dialect) is None:
                continue
            if not element_errors(seg.elements, sdef, seg.dialect):
                assert segment_is_valid(seg.elements, sdef, seg.dialect), (version, seg.elements)
                accepted += 1
    assert accepted > 1000
