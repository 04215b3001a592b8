"""The batch check (formats/x12/batch.py) gives exactly the streaming validator's findings.

``X12Reader(segments=False)`` lets the batch check take a valid set's body as text; anything it
cannot prove valid goes to the streaming validator, from the set's start or from a clean point
inside a large set. Whatever path a set takes, the findings, the envelope events and the segment
count must be the ones ``X12Reader(segments=True)`` gives. Checked here on every corpus and sample
file and on seeded mutants of them, whole and in chunks, with the stepwise check forced by a small
:data:`~erpbridge.formats.x12.batch.HOLD`, and on generated large 856 and 846 sets with defects
deep inside them.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.errors import ErpBridgeError
from erpbridge.formats.x12 import Dialect, Overlay, X12Reader, parse_overlay
from erpbridge.formats.x12 import batch as batch_mod
from erpbridge.formats.x12.events import (
    GroupEnd,
    GroupStart,
    InterchangeEnd,
    InterchangeStart,
    SetEnd,
    SetStart,
)
from erpbridge.formats.x12.findings import Finding
from erpbridge.formats.x12.lexer import Segment
from erpbridge.formats.x12.schema import dictionary
from erpbridge.formats.x12.validator import _codes_pattern, element_errors
from tests.conftest import SAMPLES, corpus_files
from tests.unit.test_x12_fast_path import HOSTILE, SEGMENTS
from tests.unit.test_x12_fuzz import mutants

ROOT = Path(__file__).resolve().parents[2]
FILES = corpus_files() + sorted(SAMPLES.glob("*/*.edi"))
BENCH = ROOT / "bench"


def _seg(seg: Segment | None) -> tuple[Any, ...] | None:
    return None if seg is None else (tuple(seg.elements), seg.offset, seg.line, seg.position)


def _summary(ev: object) -> object:
    if isinstance(ev, Finding):
        return ev
    if isinstance(ev, SetStart):
        return ("SetStart", _seg(ev.header), ev.schema.id if ev.schema else None)
    if isinstance(ev, SetEnd):
        return ("SetEnd", _seg(ev.header), _seg(ev.trailer), ev.segment_count)
    if isinstance(ev, GroupStart):
        return ("GroupStart", _seg(ev.header), ev.version)
    if isinstance(ev, GroupEnd):
        return ("GroupEnd", _seg(ev.header), _seg(ev.trailer), ev.set_count)
    if isinstance(ev, InterchangeStart):
        return ("InterchangeStart", _seg(ev.header))
    if isinstance(ev, InterchangeEnd):
        return ("InterchangeEnd", _seg(ev.header), _seg(ev.trailer), ev.group_count)
    if isinstance(ev, Segment):  # outside sets (TA1, stray): both modes hand these out
        return ("Segment", _seg(ev))
    return None  # body segments and loop events: only the streaming mode has them


def run(
    data: bytes, *, segments: bool, chunk: int | None = None, overlays: tuple[Overlay, ...] = ()
) -> tuple[list[object], int, int]:
    """(summarised events, segments read, sets the batch took) of one input."""
    reader = X12Reader(validate=True, segments=segments, overlays=overlays)
    out: list[object] = []
    step = chunk or max(len(data), 1)
    try:
        for i in range(0, len(data), step):
            reader.feed(data[i : i + step])
            out += [s for s in map(_summary, reader.events()) if s is not None]
        reader.close()
        out += [s for s in map(_summary, reader.events()) if s is not None]
    except ErpBridgeError as exc:
        out.append(("error", type(exc).__name__, str(exc)))
    if segments:
        out = [s for s in out if not (isinstance(s, tuple) and s[0] == "Segment" and s[1][3] > 0)]
    return out, reader.segments_read, reader.checked_sets


def assert_same(
    data: bytes, chunk: int | None = None, what: str = "", overlays: tuple[Overlay, ...] = ()
) -> int:
    """The batch run equals the streaming run; returns the sets the batch took."""
    want, want_count, _ = run(data, segments=True, chunk=chunk, overlays=overlays)
    got, got_count, taken = run(data, segments=False, chunk=chunk, overlays=overlays)
    if got != want:
        for i, (a, b) in enumerate(zip(got, want, strict=False)):
            if a != b:
                pytest.fail(f"{what} chunk={chunk}: event {i} differs\n batch:     {a}\n streaming: {b}")
        pytest.fail(f"{what} chunk={chunk}: {len(got)} events from the batch, {len(want)} streaming")
    assert got_count == want_count, what
    return taken


@pytest.fixture
def small_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sets larger than a few hundred characters are checked in steps, with clean points."""
    monkeypatch.setattr(batch_mod, "HOLD", 300)
    monkeypatch.setattr(batch_mod, "FIRST_LEARN", 200)


# ------------------------------------------------------------------------- files and mutants


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_whole_and_in_chunks(path: Path) -> None:
    data = path.read_bytes()
    for chunk in (None, None, 1, 7, 300):  # twice whole: before and after the schema learned its IDs
        assert_same(data, chunk, path.name)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_checked_in_steps(path: Path, small_hold: None) -> None:
    data = path.read_bytes()
    for chunk in (64, 301, None):
        assert_same(data, chunk, path.name)


def test_valid_files_are_taken_by_the_batch() -> None:
    """Most sets of the valid files go through the batch (a regression to the streaming path for
    everything would still give the right findings, only slowly)."""
    taken = sets = 0
    for path in FILES:
        if "invalid" in path.parts:
            continue
        data = path.read_bytes()
        assert_same(data, None, path.name)
        got, _, n = run(data, segments=False)
        taken += n
        sets += sum(1 for s in got if isinstance(s, tuple) and s[0] == "SetStart" and s[2] is not None)
    assert sets > 20
    assert taken >= 0.8 * sets, f"the batch took {taken} of {sets} sets"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_mutants(path: Path) -> None:
    for i, (operators, data) in enumerate(mutants(path, per_file=30)):
        assert_same(data, None, f"{path.name} mutant {i} ({operators})")
        if i % 3 == 0:
            assert_same(data, 97, f"{path.name} mutant {i} ({operators})")


@pytest.mark.parametrize("path", FILES[::3], ids=lambda p: p.name)
def test_mutants_checked_in_steps(path: Path, small_hold: None) -> None:
    for i, (operators, data) in enumerate(mutants(path, per_file=20)):
        assert_same(data, 61, f"{path.name} mutant {i} ({operators})")


# --------------------------------------------------------------------- large generated sets


def generated(kind: str, size: int) -> bytes:
    """A valid file from the throughput benchmark's generator (deterministic)."""
    sys.path.insert(0, str(BENCH))
    try:
        import x12_throughput as bench
    finally:
        sys.path.remove(str(BENCH))
    import io

    out = io.BytesIO()
    writer = bench.X12Writer(out)
    bench.WRITERS[kind](writer, random.Random(bench.SEED), size)
    writer.flush()
    return out.getvalue()


def defects(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Single defects at random places deep inside a large set."""
    lines = data.split(b"~\n")
    for _ in range(count):
        i = rng.randrange(len(lines) // 3, len(lines) - 4)
        out = list(lines)
        kind = rng.choice(["drop", "dup", "value", "hl-parent", "hl-number", "swap"])
        if kind == "drop":
            del out[i]
        elif kind == "dup":
            out.insert(i, out[i])
        elif kind == "swap":
            out[i], out[i + 1] = out[i + 1], out[i]
        elif kind == "value":
            els = out[i].split(b"*")
            els[rng.randrange(1, len(els)) if len(els) > 1 else 0] = rng.choice(
                [b"", b"X" * 60, b"-", b"1.2.3"]
            )
            out[i] = b"*".join(els)
        else:
            j = next((k for k in range(i, len(out)) if out[k].startswith(b"HL*")), None)
            if j is None:
                continue
            els = out[j].split(b"*")
            if kind == "hl-parent":
                els[2] = rng.choice([b"", b"999999", b"0", str(int(els[1]) - 1).encode()])
            else:
                els[1] = str(int(els[1]) + 1).encode()
            out[j] = b"*".join(els)
        yield f"{kind} at segment {i}", b"~\n".join(out)


@pytest.mark.parametrize("kind", ["856", "846", "850"])
def test_large_sets_in_steps_and_their_defects(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = generated(kind, 400_000)
    monkeypatch.setattr(batch_mod, "HOLD", 50_000)
    taken = assert_same(data, 16_384, f"generated {kind}")
    assert taken >= 1
    for what, bad in defects(data, random.Random(f"defects:{kind}"), 12):
        assert_same(bad, 16_384, f"generated {kind}, {what}")
        assert_same(bad, None, f"generated {kind}, {what}")


def test_a_set_held_too_long_goes_to_the_streaming_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    data = generated("856", 200_000)
    monkeypatch.setattr(batch_mod, "HOLD", 20_000)
    monkeypatch.setattr(batch_mod, "MAX_HELD", 30_000)
    monkeypatch.setattr(batch_mod, "MAX_RELEARN", 0)
    assert_same(data, 8_192, "856 with a tiny MAX_HELD")


# ----------------------------------------------------------------------------- compiled forms


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.text(alphabet="ABC12", min_size=1, max_size=4), min_size=1, max_size=30),
    st.lists(st.text(alphabet="ABC12", max_size=5), max_size=20),
)
def test_code_lists_as_prefix_trees(codes: set[str], probes: list[str]) -> None:
    pattern = re.compile(f"(?:{_codes_pattern(codes)})\\Z")
    for value in [*codes, *probes]:
        assert (pattern.match(value) is not None) == (value in codes), (sorted(codes), value)


def test_segment_forms_agree_with_the_detailed_checks() -> None:
    """A segment the batch's expression accepts has no element error (syntax rules included), and
    every valid segment of the real files is accepted."""
    rng = random.Random(20261123)
    d = Dialect(element="*", component=">", repetition="^", segment="~", suffix="\n")
    checked = accepted = 0
    for version in ("004010", "005010"):
        forms = batch_mod._Forms(d)
        defs = dictionary(version).segments
        compiled: dict[str, re.Pattern[str] | None] = {}
        for seg in SEGMENTS:
            sid = seg.elements[0]
            sdef = defs.get(sid)
            if sdef is None or seg.dialect.element != "*" or seg.dialect.component != ">":
                continue
            if sid not in compiled:
                try:
                    compiled[sid] = re.compile(forms.segment(sdef) + "~")
                except batch_mod._Unbatchable:
                    compiled[sid] = None
            pattern = compiled[sid]
            if pattern is None:
                continue
            variants = [list(seg.elements)]
            for _ in range(10):
                els = list(seg.elements)
                pos = rng.randrange(1, len(els) + 2)
                value = rng.choice([*HOSTILE, ">", "^"])
                if pos < len(els):
                    els[pos] = value
                else:
                    els.append(value)
                variants.append(els)
            for els in variants:
                ok = pattern.fullmatch("*".join(els) + "~") is not None
                errors = element_errors(els, sdef, d)
                if ok:
                    assert errors == [], (version, els)
                    accepted += 1
                checked += 1
            if not element_errors(seg.elements, sdef, d) and "~" not in "".join(seg.elements):
                assert pattern.fullmatch("*".join(seg.elements) + "~"), (version, seg.elements)
    assert checked > 5_000 and accepted > 1_000


def test_envelope_defects_between_sets_taken_in_a_run() -> None:
    """The sets after a body the batch took are closed and opened from the text (the reader's
    _run_sets) only while nothing is wrong; each defect here stops that and is reported as the
    streaming reader reports it."""
    data = generated("850", 60_000)
    sets = data.split(b"~\nST*850*")
    assert len(sets) > 50

    def edit(n: int, old: bytes, new: bytes) -> bytes:
        out = list(sets)
        assert old in out[n], (old, out[n][:80])
        out[n] = out[n].replace(old, new, 1)
        return b"~\nST*850*".join(out)

    cases = {
        "ST02 used twice": edit(20, b"0020~", b"0019~"),
        "SE02 not ST02": edit(21, b"SE*11*0021", b"SE*11*0029"),
        "SE01 wrong": edit(22, b"SE*11*", b"SE*12*"),
        "SE01 not a number": edit(23, b"SE*11*", b"SE*1A*"),
        "another set ID": b"~\nST*850*".join(sets[:30]) + b"~\nST*855*" + b"~\nST*850*".join(sets[30:]),
        "ST without a control number": edit(31, b"0031~", b"~"),
        "SE cut short": edit(32, b"SE*11*0032", b"SE*11"),
    }
    for what, bad in cases.items():
        for chunk in (None, 4_096, 777):
            assert_same(bad, chunk, what)


def test_a_partner_guide_leaves_its_sets_to_the_streaming_validator() -> None:
    """A schema tightened by an overlay is not batchable; its findings come from the streaming
    validator and are the same either way (the standard schema's sets still go through the batch)."""
    from importlib import resources

    text = resources.files("erpbridge.formats.x12.schemas").joinpath("overlays/bigbox-856.yaml").read_text()
    guide = (parse_overlay(text, "bigbox-856.yaml"),)
    sample = (SAMPLES / "valid" / "856_004010.edi").read_bytes()
    broken = sample.replace(b"MAN*GM*", b"MAN*CP*", 1)
    for data in (sample, broken):
        assert assert_same(data, None, "856 with the BigBox guide", guide) == 0
        assert_same(data, 50, "856 with the BigBox guide", guide)
    assert assert_same(sample, None, "856 without a guide") + assert_same(sample, None, "again") >= 1
