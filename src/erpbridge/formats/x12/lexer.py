"""Sans-IO tokenizer: bytes in, segments out.

The lexer owns no file or socket. Feed it bytes with :meth:`Lexer.feed`, say the input is over
with :meth:`Lexer.close`, and pull tokens with :meth:`Lexer.tokens`. It reads each interchange's
delimiters from its ISA, so one stream may hold interchanges with different delimiters.

Text is decoded as ISO-8859-1: one character per byte, so offsets are byte offsets and every byte
survives a round trip. The input buffer is bounded: a segment longer than ``max_segment`` without
a terminator is refused (:class:`X12SyntaxError`), so a broken file cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate, count, repeat
from operator import add
from typing import TYPE_CHECKING

from ...errors import NotX12Error, X12SyntaxError
from .dialect import ISA_LENGTH, Dialect

if TYPE_CHECKING:
    from .schema import SegmentUsage

_LEADING_JUNK = " \t\r\n\x00\ufeff"
_BOM = "\xef\xbb\xbf"  # UTF-8 byte order mark, as ISO-8859-1 text


@dataclass(slots=True, eq=False)
class Segment:
    """One segment. ``elements[0]`` is the segment ID, so ``elements[n]`` is element *n*.

    ``position`` is its count from ST within a transaction set (0 outside sets). ``usage`` is the
    schema node it matched, once a validator placed it (``None`` when unplaced or not validated).
    """

    elements: list[str]
    offset: int
    line: int
    dialect: Dialect
    position: int = 0
    usage: SegmentUsage | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, n: int) -> str:
        """Element *n* (1-based) or ``""`` when absent."""
        els = self.elements
        return els[n] if n < len(els) else ""


@dataclass(frozen=True, slots=True)
class EndOfInput:
    """The input ended. ``incomplete`` holds trailing text that was not a whole segment."""

    offset: int
    line: int
    incomplete: str


Token = Segment | EndOfInput


#: characters kept before the read position when the buffer is compacted: the terminator (and
#: suffix) before the next segment, which the batch check looks behind for
_KEEP = 8


class Lexer:
    def __init__(self, *, max_segment: int = 1 << 20) -> None:
        self._buf = ""
        self._pos = 0  # read position in _buf
        self._base = 0  # absolute offset of _buf[0]
        self._line = 1
        self._closed = False
        self._finished = False
        self._dialect: Dialect | None = None
        self._max_segment = max_segment
        self._seen_isa = False
        self.segments_read = 0
        #: end every regular run after its first ST, so that the reader may check the set's body
        #: as text (:meth:`body_after`, :meth:`skip_to`) before any of it is split
        self.cut_at_st = False

    @property
    def dialect(self) -> Dialect | None:
        return self._dialect

    def feed(self, data: bytes) -> None:
        if self._closed:
            raise X12SyntaxError("cannot feed data after close()")
        if data:
            text = data.decode("latin-1")
            drop = self._pos - _KEEP  # keep a few characters before the read position (a terminator)
            if drop > 0:
                self._buf = self._buf[drop:] + text
                self._base += drop
                self._pos -= drop
            else:
                self._buf += text

    def close(self) -> None:
        self._closed = True

    def window(self) -> tuple[str, int, bool]:
        """The buffered text, the absolute offset of its first character, and whether input ended."""
        return self._buf, self._base, self._closed

    def body_after(self, st: Segment) -> int:
        """The absolute offset where the body of the set ``st`` starts, when the lexer stands just
        after that ST (its terminator and the dialect's suffix read, nothing after it split); else -1.
        """
        d = st.dialect
        at = st.offset + len(d.element.join(st.elements))  # where its terminator is
        i = at + 1 - self._base
        if i != self._pos or self._buf[i - 1 : i] != d.segment or not self._buf.startswith(d.suffix, i):
            return -1
        return at + 1 + len(d.suffix)

    @property
    def position(self) -> tuple[int, int]:
        """(index in the buffered text, line) where the next segment is read."""
        return self._pos, self._line

    def skip_to(self, offset: int, segments: int) -> None:
        """Move on to the absolute ``offset`` (a segment's start), over ``segments`` segments that
        were checked as text. Iterators made before this call must not be resumed."""
        i = offset - self._base
        self._line += self._buf.count("\n", self._pos, i)
        self._pos = i
        self.segments_read += segments

    def end_interchange(self) -> None:
        """Called after IEA: the next interchange may use other delimiters."""
        self._dialect = None

    def tokens(self) -> list[Token]:
        """All tokens that can be read from what was fed so far."""
        return list(self.iter_tokens())

    def iter_tokens(self) -> Iterator[Token]:
        """The tokens of :meth:`tokens`, made one at a time as they are pulled.

        Segments that are dropped as soon as they are used are freed at once, so the garbage
        collector never sees a megabyte's worth of them alive. The lexer's position moves on a
        whole run of segments at a time: a consumer that stops pulling loses the rest of that run
        (like the rest of a :meth:`tokens` list it would not read).
        """
        buf = self._buf
        n = len(buf)
        pos = self._pos
        line = self._line
        while not self._finished:
            if self._buf is not buf:
                return  # fed while this generator waited: a newer one reads on from the saved position
            dialect = self._dialect
            if dialect is None:
                # Between interchanges: skip a BOM and whitespace, then expect a whole ISA.
                while True:
                    if buf.startswith(_BOM, pos):
                        pos += 3
                    elif pos < n and buf[pos] in _LEADING_JUNK:
                        if buf[pos] == "\n":
                            line += 1
                        pos += 1
                    else:
                        break
                if pos >= n:
                    if self._closed:
                        if not self._seen_isa:
                            raise NotX12Error("input is empty: no ISA segment found")
                        self._finished = True
                        self._pos, self._line = pos, line
                        yield EndOfInput(self._base + pos, line, "")
                    break
                if n - pos < ISA_LENGTH + 2 and not self._closed:
                    break  # wait for the whole ISA and what follows its terminator
                if not buf.startswith("ISA", pos):
                    if not self._seen_isa:
                        raise NotX12Error(
                            f"input does not start with an ISA segment (found {buf[pos : pos + 20]!r})"
                        )
                    self._finished = True
                    self._pos, self._line = pos, line
                    yield EndOfInput(self._base + pos, line, buf[pos : pos + 200])
                    break
                try:
                    dialect = Dialect.from_isa(
                        buf[pos : pos + ISA_LENGTH], buf[pos + ISA_LENGTH : pos + ISA_LENGTH + 2]
                    )
                except NotX12Error:
                    if not self._seen_isa:
                        raise
                    self._finished = True
                    self._pos, self._line = pos, line
                    yield EndOfInput(self._base + pos, line, buf[pos : pos + 200])
                    break
                self._dialect = dialect
                self._seen_isa = True
                isa = Segment(
                    buf[pos : pos + ISA_LENGTH - 1].split(dialect.element), self._base + pos, line, dialect
                )
                self.segments_read += 1
                pos += ISA_LENGTH
                if dialect.segment == "\n":
                    line += 1
                while pos < n and buf[pos] in "\r\n":
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                self._pos, self._line = pos, line
                yield isa
                continue
            term = dialect.segment
            while pos < n and buf[pos] in "\r\n":
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            last = buf.rfind(term, pos)
            if last >= 0:
                run = _regular_run(buf, pos, last, dialect, self.cut_at_st)
                if run is not None:
                    texts, stop, ended = run
                    start, first_line = self._base + pos, line
                    sep = len(dialect.suffix) + 1
                    step = (term + dialect.suffix).count("\n")
                    lines = len(texts)
                    pos = stop + 1
                    line += (lines - 1) * step + (term == "\n")
                    self.segments_read += lines
                    if ended:
                        self._dialect = None
                    self._pos, self._line = pos, line
                    yield from map(
                        Segment,
                        map(str.split, texts, repeat(dialect.element)),
                        accumulate(map(add, map(len, texts), repeat(sep)), initial=start),
                        count(first_line, step) if step else repeat(first_line),
                        repeat(dialect),
                    )
                    continue
                segments, pos, line = self._irregular_run(buf, pos, line, dialect)
                self._pos, self._line = pos, line
                yield from segments
                continue
            # no terminator in the rest of the buffer
            if self._closed:
                self._finished = True
                self._pos, self._line = pos, line
                yield EndOfInput(self._base + pos, line, buf[pos:].strip(_LEADING_JUNK))
            elif n - pos > self._max_segment:
                raise X12SyntaxError(
                    f"no segment terminator {term!r} within {self._max_segment} bytes",
                    offset=self._base + pos,
                    line=line,
                )
            break
        self._pos = pos
        self._line = line
        if pos > (1 << 16) and pos > n // 2 and self._buf is buf:
            drop = pos - _KEEP
            self._buf = buf[drop:]
            self._base += drop
            self._pos = _KEEP

    def _irregular_run(
        self, buf: str, pos: int, line: int, dialect: Dialect
    ) -> tuple[list[Segment], int, int]:
        """Segments one by one, for text with line breaks other than one after each terminator.

        Reads up to the last terminator in ``buf`` or the first IEA, whichever comes first.
        """
        out: list[Segment] = []
        n = len(buf)
        term = dialect.segment
        sep = dialect.element
        base = self._base
        find = buf.find
        nl = term == "\n"
        while True:
            while pos < n and buf[pos] in "\r\n":
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            end = find(term, pos)
            if end < 0:
                break
            text = buf[pos:end]
            line_at = line
            if "\n" in text:  # a line break inside a segment: keep counting lines
                line += text.count("\n")
                text = text.rstrip("\r\n")
            elements = text.split(sep)
            out.append(Segment(elements, base + pos, line_at, dialect))
            pos = end + 1
            if nl:
                line += 1
            if elements[0] == "IEA":
                self._dialect = None
                break
        self.segments_read += len(out)
        return out, pos, line


def _regular_run(
    buf: str, pos: int, last: int, dialect: Dialect, cut_at_st: bool = False
) -> tuple[list[str], int, bool] | None:
    """The segment texts of ``buf[pos:last]`` when it is regular, else ``None``.

    Regular: every terminator is followed by exactly the dialect's suffix and there is no other
    CR or LF, so the texts are one C-level ``split`` away and each starts one line after the last.
    The run ends at the first IEA (its terminator's index is returned, with ``True``) or at ``last``;
    with ``cut_at_st``, at the first ST before either.
    """
    term = dialect.segment
    ts = term + dialect.suffix
    if cut_at_st:  # end the run with the first ST's terminator (``last`` is a terminator too)
        head = "ST" + dialect.element
        if buf.startswith(head, pos):
            st = pos
        else:
            st = buf.find(ts + head, pos, last)
            st = st + len(ts) if st >= 0 else -1
        if st >= 0:
            end = buf.find(term, st, last)
            if end >= 0:
                last = end
    region = buf[pos:last]
    k = region.count(ts)
    if (
        region.count(term) != k
        or region.count("\n") != k * ts.count("\n")
        or region.count("\r") != k * ts.count("\r")
    ):
        return None
    if term in "\r\n" and (ts + ts in region or region.endswith(ts) or region.startswith(ts)):
        return None  # blank lines between newline-terminated segments are skipped, not segments
    iea = _find_iea(region, ts, dialect.element)
    ended = iea >= 0
    if ended:
        end = region.find(ts, iea)
        if end >= 0:
            region = region[:end]
            last = pos + end
    return region.split(ts), last, ended


def _find_iea(region: str, ts: str, sep: str) -> int:
    """Index of the first IEA segment in a regular run, or -1."""
    size = len(region)

    def is_iea(at: int) -> bool:
        after = at + 3
        return after == size or region.startswith(sep, after) or region.startswith(ts, after)

    if region.startswith("IEA") and is_iea(0):
        return 0
    needle = ts + "IEA"
    hit = region.find(needle)
    while hit >= 0:
        if is_iea(hit + len(ts)):
            return hit + len(ts)
        hit = region.find(needle, hit + 1)
    return -1
