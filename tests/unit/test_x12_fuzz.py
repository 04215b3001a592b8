"""Mutation fuzzing of the X12 engine: broken input ends in findings, acknowledgments or an
:class:`~erpbridge.errors.ErpBridgeError`, never in any other exception and never in a hang.

Every corpus and sample file (valid and invalid) is mutated with a seeded :class:`random.Random`
(bytes flipped or turned into delimiters, segments dropped, duplicated, swapped or moved, delimiters
exchanged, truncation, garbage inserted, ISA fields shifted, elements replaced by hostile values,
files spliced together). Each mutant goes through ``decode(validate=True)`` and through
``build_acks(read(...))``, and every acknowledgment is encoded: the writer validates its own output,
so an acknowledgment that does not encode is a bug in the acknowledgment builder.
"""

from __future__ import annotations

import functools
import random
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import ErpBridgeError, X12SyntaxError, X12WriteError
from erpbridge.formats.x12 import X12Reader, build_acks, decode, read

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
SAMPLES = ROOT / "edi_samples"
LOCAL_CORPUS = ROOT / "tests" / "corpus"

NOW = datetime(2026, 3, 2, 10, 15)
SEED = 0x5EED_850
MUTANTS_PER_FILE = 120
#: no single input may take longer than this (a hang, or a quadratic blow-up)
PER_INPUT_SECONDS = 10.0


def seed_files() -> list[Path]:
    files = [
        *sorted(CORPUS.glob("*.edi")),
        *sorted(LOCAL_CORPUS.glob("*.edi")),
        *sorted((SAMPLES / "valid").glob("*.edi")),
        *sorted((SAMPLES / "invalid").glob("*.edi")),
    ]
    return files


# ------------------------------------------------------------------------------------ the oracle


class InputTimeout(Exception):
    """One input ran longer than PER_INPUT_SECONDS."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`InputTimeout` in the body after ``seconds`` (a hang fails, it does not block)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not on Windows
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise InputTimeout(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Problem:
    """Something the engine did wrong with one input."""

    kind: str  # "crash" (an exception that is not an ErpBridgeError), "hang", "invalid-ack"
    stage: str  # decode, build_acks, ack.encode
    detail: str

    @classmethod
    def of(cls, kind: str, stage: str, exc: BaseException) -> Problem:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return cls(kind, stage, f"{type(exc).__name__} at {where}: {str(exc)[:300]}")


def problems_with(data: bytes) -> list[Problem]:
    """Run ``data`` through decode, build_acks and every acknowledgment's encode; list what went wrong.

    An :class:`ErpBridgeError` from decode or the reader is a fine outcome. An acknowledgment that
    does not encode is a bug even when the error is an ``X12WriteError``: acknowledgments must
    always be valid X12 ("invalid-ack").
    """
    found: list[Problem] = []
    stage = "decode"
    try:
        with deadline(PER_INPUT_SECONDS):
            try:
                decode(data, validate=True)
            except ErpBridgeError:
                pass
            except Exception as exc:  # noqa: BLE001 - any other exception is the bug being looked for
                found.append(Problem.of("crash", stage, exc))
            acks = build_acks(read(data, validate=True))
            while True:
                stage = "build_acks"
                try:
                    ack = next(acks)
                except (StopIteration, ErpBridgeError):
                    break
                except Exception as exc:  # noqa: BLE001 - any other exception is the bug being looked for
                    found.append(Problem.of("crash", stage, exc))
                    break
                stage = "ack.encode"
                try:
                    ack.encode(NOW)
                except X12WriteError as exc:
                    found.append(Problem.of("invalid-ack", stage, exc))
                except Exception as exc:  # noqa: BLE001 - any other exception is the bug being looked for
                    found.append(Problem.of("crash", stage, exc))
    except InputTimeout as exc:
        found.append(Problem("hang", stage, str(exc)))
    return found


# ------------------------------------------------------------------------------------ the mutator

#: element values that have broken parsers before: non-ASCII digits (``"²".isdigit()`` is true but
#: ``int("²")`` fails), numbers beyond int()'s 4300-digit limit, signs, exponents, control bytes
HOSTILE_VALUES: tuple[bytes, ...] = (
    b"",
    b"0",
    b"-1",
    b"-",
    b".",
    b"1E5",
    b"00000000000000000000000001",
    b"9" * 40,
    b"1" * 5000,
    b"\xb2",
    b"1\xb9",
    b"2026030\xb2",
    b"\xbd",
    b" ",
    b"\x00",
    b"\x7f",
    b"\xff" * 3,
    b"X" * 300,
    b"ST",
    b"SE",
    b"ISA",
    b"HL",
    b"=",
    b"0000",
)
COMMON_DELIMITERS = b"*~:^>|!\n\r\x1c\x1d\x1e\x1f"


class Mutator:
    """Seeded mutations of one X12 file (parsed loosely: it may itself be broken)."""

    def __init__(self, data: bytes, others: list[bytes], rng: random.Random) -> None:
        self.data = data
        self.others = others
        self.rng = rng
        start = data.find(b"ISA")
        self.start = max(start, 0)
        isa = data[self.start : self.start + 106]
        self.element = isa[3:4] or b"*"
        self.terminator = isa[105:106] or b"~"
        self.component = isa[104:105] or b":"
        self.repetition = isa[82:83] or b"^"
        self.delimiters = self.element + self.terminator + self.component + self.repetition

    # helpers ------------------------------------------------------------------------------------
    def segments(self, data: bytes | None = None) -> tuple[bytes, list[bytes]]:
        """(prefix, segments each with its terminator and line ending) of ``data``."""
        data = self.data if data is None else data
        body = data[self.start :]
        parts = body.split(self.terminator)
        segs = [p + self.terminator for p in parts[:-1]]
        if parts[-1]:
            segs.append(parts[-1])
        return data[: self.start], segs

    def pos(self, data: bytes) -> int:
        return self.rng.randrange(len(data) + 1)

    # operators ----------------------------------------------------------------------------------
    def flip_bytes(self, data: bytes) -> bytes:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            if buf:
                buf[self.rng.randrange(len(buf))] = self.rng.randrange(256)
        return bytes(buf)

    def poke_delimiter(self, data: bytes) -> bytes:
        buf = bytearray(data)
        pool = self.delimiters + COMMON_DELIMITERS
        for _ in range(self.rng.randint(1, 3)):
            if buf:
                buf[self.rng.randrange(len(buf))] = self.rng.choice(pool)
        return bytes(buf)

    def drop_segment(self, data: bytes) -> bytes:
        prefix, segs = self.segments(data)
        if segs:
            del segs[self.rng.randrange(len(segs))]
        return prefix + b"".join(segs)

    def duplicate_segment(self, data: bytes) -> bytes:
        prefix, segs = self.segments(data)
        if segs:
            seg = self.rng.choice(segs)
            segs.insert(self.rng.randrange(len(segs) + 1), seg)
        return prefix + b"".join(segs)

    def swap_segments(self, data: bytes) -> bytes:
        prefix, segs = self.segments(data)
        if len(segs) > 1:
            i, j = self.rng.sample(range(len(segs)), 2)
            segs[i], segs[j] = segs[j], segs[i]
        return prefix + b"".join(segs)

    def move_segment(self, data: bytes) -> bytes:
        prefix, segs = self.segments(data)
        if len(segs) > 1:
            seg = segs.pop(self.rng.randrange(len(segs)))
            segs.insert(self.rng.randrange(len(segs) + 1), seg)
        return prefix + b"".join(segs)

    def drop_envelope(self, data: bytes) -> bytes:
        """Drop, or repeat, a random envelope segment (ISA/GS/ST/SE/GE/IEA)."""
        prefix, segs = self.segments(data)
        idx = [
            i
            for i, s in enumerate(segs)
            if s.lstrip(b"\r\n")[:3].rstrip(self.element) in (b"ISA", b"GS", b"ST", b"SE", b"GE", b"IEA")
        ]
        if idx:
            i = self.rng.choice(idx)
            if self.rng.random() < 0.6:
                del segs[i]
            else:
                segs.insert(i, segs[i])
        return prefix + b"".join(segs)

    def swap_delimiters(self, data: bytes) -> bytes:
        """Exchange two delimiters, everywhere or only in the ISA (or after it)."""
        a, b = self.rng.sample(list(self.delimiters + b"\n"), 2)
        table = bytes.maketrans(bytes([a, b]), bytes([b, a]))
        where = self.rng.choice(("all", "isa", "body"))
        cut = self.start + 106
        if where == "all":
            return data.translate(table)
        if where == "isa":
            return data[:cut].translate(table) + data[cut:]
        return data[:cut] + data[cut:].translate(table)

    def retarget_isa_delimiter(self, data: bytes) -> bytes:
        """Change one delimiter position of the ISA (3, 82, 104, 105) to another character."""
        buf = bytearray(data)
        i = self.start + self.rng.choice((3, 82, 104, 105))
        if i < len(buf):
            buf[i] = self.rng.choice(COMMON_DELIMITERS + b"A0 \xb2")
        return bytes(buf)

    def truncate(self, data: bytes) -> bytes:
        return data[: self.pos(data)]

    def insert_garbage(self, data: bytes) -> bytes:
        n = self.rng.randint(1, 64)
        if self.rng.random() < 0.5:
            junk = bytes(self.rng.randrange(256) for _ in range(n))
        else:
            junk = bytes(self.rng.choice(b"ABCDEFGHISTZ0123456789 " + self.delimiters) for _ in range(n))
        p = self.pos(data)
        return data[:p] + junk + data[p:]

    def shift_isa_field(self, data: bytes) -> bytes:
        """Insert or delete a character inside the ISA, so its fixed-width fields move."""
        p = self.start + self.rng.randrange(4, 106)
        if self.rng.random() < 0.5:
            return data[:p] + bytes([self.rng.choice(b" 0A*")]) + data[p:]
        return data[:p] + data[p + 1 :]

    def hostile_element(self, data: bytes) -> bytes:
        """Replace one element of one segment with a hostile value."""
        prefix, segs = self.segments(data)
        if not segs:
            return data
        i = self.rng.randrange(len(segs))
        seg = segs[i]
        end = seg.rfind(self.terminator)
        body, tail = (seg[:end], seg[end:]) if end >= 0 else (seg, b"")
        els = body.split(self.element)
        if len(els) > 1:
            els[self.rng.randrange(1, len(els))] = self.rng.choice(HOSTILE_VALUES)
        elif self.rng.random() < 0.5:
            els.append(self.rng.choice(HOSTILE_VALUES))
        segs[i] = self.element.join(els) + tail
        return prefix + b"".join(segs)

    def stuff_separators(self, data: bytes) -> bytes:
        """Put component or repetition separators (or many elements) inside a segment."""
        prefix, segs = self.segments(data)
        if not segs:
            return data
        i = self.rng.randrange(len(segs))
        seg = segs[i]
        p = self.rng.randrange(len(seg) + 1)
        stuff = self.rng.choice(
            (
                self.component * self.rng.randint(1, 30),
                self.repetition * self.rng.randint(1, 30),
                self.element * self.rng.randint(1, 120),
                (self.component + b"X" + self.repetition) * 5,
            )
        )
        segs[i] = seg[:p] + stuff + seg[p:]
        return prefix + b"".join(segs)

    def splice(self, data: bytes) -> bytes:
        """Mix in another file: concatenate, interleave segments, or graft its middle in."""
        other = self.rng.choice(self.others)
        how = self.rng.choice(("concat", "graft", "segments"))
        if how == "concat":
            return data + other if self.rng.random() < 0.5 else other + data
        if how == "graft":
            a, b = sorted(self.rng.randrange(len(other) + 1) for _ in range(2))
            p = self.pos(data)
            return data[:p] + other[a:b] + data[p:]
        prefix, segs = self.segments(data)
        _, theirs = Mutator(other, [], self.rng).segments()
        for _ in range(self.rng.randint(1, 5)):
            if theirs:
                segs.insert(self.rng.randrange(len(segs) + 1), self.rng.choice(theirs))
        return prefix + b"".join(segs)

    def repeat_segment_many(self, data: bytes) -> bytes:
        """One segment repeated many times (loop and segment maximums, counters)."""
        prefix, segs = self.segments(data)
        if len(segs) > 3:
            i = self.rng.randrange(2, len(segs) - 1)
            segs[i:i] = [segs[i]] * self.rng.randint(10, 400)
        return prefix + b"".join(segs)

    OPERATORS: tuple[str, ...] = (
        "flip_bytes",
        "poke_delimiter",
        "drop_segment",
        "duplicate_segment",
        "swap_segments",
        "move_segment",
        "drop_envelope",
        "swap_delimiters",
        "retarget_isa_delimiter",
        "truncate",
        "insert_garbage",
        "shift_isa_field",
        "hostile_element",
        "stuff_separators",
        "splice",
        "repeat_segment_many",
    )

    def mutant(self) -> tuple[str, bytes]:
        """One mutant: one to three operators applied in turn. Returns (their names, the bytes)."""
        data = self.data
        names = []
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            name = self.rng.choice(self.OPERATORS)
            op: Callable[[bytes], bytes] = getattr(self, name)
            data = op(data)
            names.append(name)
        return "+".join(names), data


@functools.cache
def seed_bytes() -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in seed_files()}


def mutants(path: Path, per_file: int = MUTANTS_PER_FILE) -> Iterator[tuple[str, bytes]]:
    """The seeded mutants of one file (the same on every run and every machine)."""
    files = seed_bytes()
    others = [data for p, data in files.items() if p != path]
    rng = random.Random(f"{SEED}:{path.name}")
    mutator = Mutator(files[path], others, rng)
    for _ in range(per_file):
        yield mutator.mutant()


@dataclass(frozen=True)
class BadMutant:
    file: str
    index: int
    operators: str
    data: bytes
    problems: tuple[Problem, ...]

    def describe(self) -> str:
        lines = [f"{self.file} mutant #{self.index} ({self.operators}), {len(self.data)} bytes:"]
        lines += [f"    {p.kind} in {p.stage}: {p.detail}" for p in self.problems]
        lines.append(f"    input starts {self.data[:160]!r}")
        return "\n".join(lines)


@functools.cache
def fuzz(path: Path) -> tuple[BadMutant, ...]:
    """Every mutant of ``path`` the engine mishandled (cached: two tests read the same run)."""
    bad = []
    for i, (operators, data) in enumerate(mutants(path)):
        problems = problems_with(data)
        if problems:
            bad.append(BadMutant(path.name, i, operators, data, tuple(problems)))
    return tuple(bad)


def report(bad: list[BadMutant], limit: int = 8) -> str:
    shown = "\n".join(b.describe() for b in bad[:limit])
    more = f"\n... and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{len(bad)} mutant(s) mishandled:\n{shown}{more}"


# ----------------------------------------------------------------------------------------- tests


def test_there_are_seed_files_of_every_kind() -> None:
    files = seed_files()
    assert any(p.parent == CORPUS for p in files), f"no corpus files in {CORPUS}"
    assert any(p.parent.name == "valid" for p in files)
    assert any(p.parent.name == "invalid" for p in files)
    assert len(files) * MUTANTS_PER_FILE >= 3000, "fewer mutants than the fuzzing is meant to run"


def test_mutants_are_deterministic() -> None:
    path = seed_files()[0]
    assert list(mutants(path, 30)) == list(mutants(path, 30))


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mutants_end_in_findings_acks_or_erpbridge_errors(path: Path) -> None:
    bad = [b for b in fuzz(path) if b.problems]
    assert not bad, report(bad)


def test_acknowledgments_of_mutants_always_encode() -> None:
    bad = [
        BadMutant(
            b.file, b.index, b.operators, b.data, tuple(p for p in b.problems if p.kind == "invalid-ack")
        )
        for path in seed_files()
        for b in fuzz(path)
        if any(p.kind == "invalid-ack" for p in b.problems)
    ]
    assert not bad, report(bad)


# ------------------------------------------------------------------------ hand-made hostile inputs

ISA_401 = "ISA*00*          *00*          *ZZ*MEGAMART       *ZZ*NWOUTFITTERS   *260305*0800*U*00401*000001011*0*P*>~"
SMALL_850 = (
    f"{ISA_401}\n"
    "GS*PO*MEGAMART*NWOUTFITTERS*20260305*0800*1311*X*004010~\n"
    "ST*850*0001~\n"
    "BEG*00*SA*4500012400**20260305~\n"
    "N1*ST*MEGAMART STORE 1187*92*1187~\n"
    "PO1*1*12*EA*9.50**UP*061414110013~\n"
    "PID*F****CREW TEE BLACK S~\n"
    "CTT*1~\n"
    "SE*7*0001~\n"
    "GE*1*1311~\n"
    "IEA*1*000001011~\n"
).encode()
GROUP = SMALL_850[SMALL_850.index(b"GS*") : SMALL_850.index(b"IEA*")]


def test_small_850_is_valid() -> None:
    assert len(ISA_401) == 106
    assert decode(SMALL_850).findings == []


EDGE_CASES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \r\n\t\r\n",
    "bom only": b"\xef\xbb\xbf",
    "just ISA letters": b"ISA",
    "ISA without terminator": ISA_401[:105].encode(),
    "ISA only": ISA_401.encode(),
    "ISA then IEA": ISA_401.encode() + b"IEA*0*000001011~",
    "three ISAs, no trailers": ISA_401.encode() * 3,
    "stray IEA after IEA": SMALL_850 + b"IEA*1*000001011~",
    "TA1 between ISA and GS": SMALL_850.replace(b"~\nGS*", b"~\nTA1*000001011*260305*0800*A*000~\nGS*", 1),
    "GS inside GS": SMALL_850.replace(b"GE*1*1311~\n", b"", 1).replace(b"IEA*", GROUP + b"IEA*"),
    "ST outside a group": SMALL_850.replace(GROUP, GROUP[GROUP.index(b"ST*") : GROUP.index(b"GE*")]),
    "SE without ST": SMALL_850.replace(b"ST*850*0001~\n", b""),
    "ISA inside a set": SMALL_850.replace(b"CTT*1~\n", ISA_401.encode() + b"\n"),
    "only envelope trailers": b"SE*1*0001~GE*1*1~IEA*1*000000001~",
    "garbage after the interchange": SMALL_850 + bytes(range(256)) * 8,
    "ISA after garbage after an interchange": SMALL_850 + b"JUNK~" + SMALL_850,
    "empty segments": SMALL_850.replace(b"CTT*1~", b"~~~~CTT*1~"),
    "every element empty": SMALL_850.replace(b"BEG*00*SA*4500012400**20260305~", b"BEG" + b"*" * 200 + b"~"),
    "elements of separators": SMALL_850.replace(b"BEG*00*", b"BEG*>>>*^^^*"),
    "NUL bytes": SMALL_850.replace(b"PID*F", b"PID*\x00\x00"),
    "latin-1 high bytes": SMALL_850.replace(b"CREW TEE", bytes(range(0xA0, 0x100))),
    "superscript counts": SMALL_850.replace(b"SE*7*", b"SE*\xb2*")
    .replace(b"GE*1*", b"GE*\xb9*")
    .replace(b"IEA*1*", b"IEA*\xb9*"),
    "5000-digit counts": SMALL_850.replace(b"SE*7*", b"SE*" + b"7" * 5000 + b"*")
    .replace(b"GE*1*", b"GE*" + b"1" * 5000 + b"*")
    .replace(b"IEA*1*", b"IEA*" + b"1" * 5000 + b"*"),
    "superscript date": SMALL_850.replace(b"**20260305~", b"**2026030\xb2~"),
    "ST01 of 300 letters (no such schema file)": SMALL_850.replace(b"ST*850*", b"ST*" + b"X" * 300 + b"*"),
    "ST01 of 5000 digits": SMALL_850.replace(b"ST*850*", b"ST*" + b"8" * 5000 + b"*"),
    "ST01 naming a path": SMALL_850.replace(b"ST*850*", b"ST*../850*"),
    "ST01 with latin-1 letters": SMALL_850.replace(b"ST*850*", b"ST*85\xe9*"),
    "200 interchanges": SMALL_850 * 200,
}


@pytest.mark.parametrize("data", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_hostile_input_ends_in_findings_or_erpbridge_errors(data: bytes) -> None:
    problems = problems_with(data)
    assert not problems, problems


def test_segment_without_terminator_is_refused_not_buffered() -> None:
    """A megabyte without a segment terminator is an X12SyntaxError, and the reader stays failed."""
    reader = X12Reader(max_segment=1 << 20)
    reader.feed(SMALL_850[: SMALL_850.index(b"ST*")] + b"ST*850*" + b"A" * (1 << 20) + b"B")
    with pytest.raises(X12SyntaxError):
        list(reader.events())
    with pytest.raises(X12SyntaxError):
        reader.feed(b"~")
    with pytest.raises(X12SyntaxError):
        decode(SMALL_850 + ISA_401.encode() + b"\nGS*" + b"A" * ((1 << 20) + 10))


#: Minimal inputs whose acknowledgment once failed to encode (X12WriteError), because the builder
#: echoed inbound values and delimiters unchecked. One regression case each.
ACK_BUG_REPRODUCERS: dict[str, bytes] = {
    "AK404 copies a control character": SMALL_850.replace(b"BEG*00*SA*45", b"BEG*00*SA*\x0145"),
    "AK404 copies the component separator": SMALL_850.replace(b"BEG*00*", b"BEG*0>0*"),
    "AK301 copies a 5-character segment ID": SMALL_850.replace(b"CTT*1~", b"ZZZZZ*1~\nCTT*1~"),
    "AK301 copies an empty segment": SMALL_850.replace(b"CTT*1~", b"~CTT*1~"),
    "AK201 copies a 2-character ST01": SMALL_850.replace(b"ST*850*", b"ST*85*"),
    "AK101 copies an unknown GS01": SMALL_850.replace(b"GS*PO*", b"GS*P*"),
    "ack GS06 repeats a duplicated GS06": SMALL_850.replace(b"IEA*1*", GROUP + b"IEA*2*"),
    "ack GS03 copies an empty GS02": SMALL_850.replace(b"GS*PO*MEGAMART*", b"GS*PO**"),
    "ack GS08 copies an unsupported version": SMALL_850.replace(b"*X*004010~", b"*X*003010~"),
    "ack ISA13 copies a non-numeric ISA13": SMALL_850.replace(b"*000001011*", b"*00000101A*"),
    "ack ISA08 copies the component separator": SMALL_850.replace(b"MEGAMART       ", b"MEGA>MART      ", 1),
    "ack reuses a terminator equal to ISA16": ISA_401[:104].encode() + b"~~" + SMALL_850[106:],
}


@pytest.mark.parametrize("data", ACK_BUG_REPRODUCERS.values(), ids=ACK_BUG_REPRODUCERS.keys())
def test_acknowledgment_of_bad_input_encodes(data: bytes) -> None:
    acks = list(build_acks(read(data)))
    assert acks
    for ack in acks:
        ack.encode(NOW)


# ------------------------------------------------------------------------------------ hypothesis

SEGMENT_IDS = ("ISA", "GS", "ST", "SE", "GE", "IEA", "TA1", "BEG", "REF", "N1", "PO1", "PID", "CTT", "HL")
SEGMENT_IDS += ("LIN", "SN1", "AK1", "AK2", "AK3", "AK4", "AK5", "AK9", "IK3", "IK4", "IK5", "ZZ", "", "X")
value = st.one_of(
    st.sampled_from([v.decode("latin-1") for v in HOSTILE_VALUES]),
    st.text(alphabet="0123456789AEFNPSTUX .-", max_size=12),
    st.text(alphabet=st.characters(max_codepoint=255), max_size=6),
)
segment = st.builds(
    lambda sid, els, sep: sep.join([sid, *els]),
    st.sampled_from(SEGMENT_IDS),
    st.lists(value, max_size=8),
    st.sampled_from(["*", "*", "*", ">", "^", "|"]),
)
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_handled(data: bytes) -> None:
    problems = problems_with(data)
    assert not problems, problems


@FUZZ_SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    assert_handled(data)


@FUZZ_SETTINGS
@given(st.sampled_from(sorted(seed_bytes().items())), st.binary(max_size=2048))
def test_an_isa_followed_by_arbitrary_bytes_never_crashes(seed: tuple[Path, bytes], tail: bytes) -> None:
    data = seed[1]
    start = data.find(b"ISA")
    assert_handled(data[: max(start, 0) + 107] + tail)


@FUZZ_SETTINGS
@given(
    st.lists(segment, max_size=60),
    st.sampled_from(["~", "~\n", "~\r\n", "\n"]),
    st.sampled_from(["ST*850*0001", "ST*856*0001", "ST*997*0001", "ST*810*0001", "ST*999*0001*005010X231"]),
    st.sampled_from(["004010", "005010", "005010X231", "003010", ""]),
)
def test_segment_soup_inside_an_envelope_never_crashes(
    segments: list[str], terminator: str, st_header: str, version: str
) -> None:
    """Random segments of known and unknown IDs with hostile values, inside a real envelope."""
    isa = ISA_401 if not version.startswith("005") else ISA_401.replace("*U*00401*", "*^*00501*")
    body = [f"GS*PO*MEGAMART*NWOUTFITTERS*20260305*0800*1311*X*{version}", st_header, *segments]
    body += ["SE*9*0001", "GE*1*1311", "IEA*1*000001011"]
    text = isa[:105] + terminator + terminator.join(body) + terminator
    assert_handled(text.encode("latin-1"))
