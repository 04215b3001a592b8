"""The compiled fast path never accepts a segment that the detailed element checks reject."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.formats.x12 import Dialect
from erpbridge.formats.x12.lexer import Lexer, Segment
from erpbridge.formats.x12.schema import dictionary
from erpbridge.formats.x12.validator import element_errors, segment_is_valid
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
