"""Sans-IO tokenizer: bytes in, segments out.

The lexer owns no file or socket. Feed it bytes with :meth:`Lexer.feed`, say the input is over
with :meth:`Lexer.close`, and pull tokens with :meth:`Lexer.tokens`. It reads each interchange's
delimiters from its ISA, so one stream may hold interchanges with different delimiters.

Text is decoded as ISO-8859-1: one character per byte, so offsets are byte offsets and every byte
survives a round trip. The input buffer is bounded: a segment longer than ``max_segment`` without
a terminator is refused (:class:`X12SyntaxError`), so a broken file cannot exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def dialect(self) -> Dialect | None:
        return self._dialect

    def feed(self, data: bytes) -> None:
        if self._closed:
            raise X12SyntaxError("cannot feed data after close()")
        if data:
            text = data.decode("latin-1")
            if self._pos:
                self._buf = self._buf[self._pos :] + text
                self._base += self._pos
                self._pos = 0
            else:
                self._buf += text

    def close(self) -> None:
        self._closed = True

    def end_interchange(self) -> None:
        """Called after IEA: the next interchange may use other delimiters."""
        self._dialect = None

    def tokens(self) -> list[Token]:
        """All tokens that can be read from what was fed so far."""
        out: list[Token] = []
        buf = self._buf
        n = len(buf)
        pos = self._pos
        line = self._line
        while not self._finished:
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
                        out.append(EndOfInput(self._base + pos, line, ""))
                    break
                if n - pos < ISA_LENGTH + 2 and not self._closed:
                    break  # wait for the whole ISA and what follows its terminator
                if not buf.startswith("ISA", pos):
                    if not self._seen_isa:
                        raise NotX12Error(
                            f"input does not start with an ISA segment (found {buf[pos : pos + 20]!r})"
                        )
                    self._finished = True
                    out.append(EndOfInput(self._base + pos, line, buf[pos : pos + 200]))
                    break
                try:
                    dialect = Dialect.from_isa(
                        buf[pos : pos + ISA_LENGTH], buf[pos + ISA_LENGTH : pos + ISA_LENGTH + 2]
                    )
                except NotX12Error:
                    if not self._seen_isa:
                        raise
                    self._finished = True
                    out.append(EndOfInput(self._base + pos, line, buf[pos : pos + 200]))
                    break
                self._dialect = dialect
                self._seen_isa = True
                isa_text = buf[pos : pos + ISA_LENGTH - 1]
                out.append(Segment(isa_text.split(dialect.element), self._base + pos, line, dialect))
                self.segments_read += 1
                pos += ISA_LENGTH
                if dialect.segment == "\n":
                    line += 1
                while pos < n and buf[pos] in "\r\n":
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                continue
            term = dialect.segment
            sep = dialect.element
            base = self._base
            find = buf.find
            count = 0
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
                count += 1
                pos = end + 1
                if nl:
                    line += 1
                if elements[0] == "IEA":
                    self._dialect = None
                    break
            self.segments_read += count
            if self._dialect is not None:
                # no terminator in the rest of the buffer
                rest = n - pos
                if self._closed:
                    self._finished = True
                    tail = buf[pos:]
                    out.append(EndOfInput(self._base + pos, line, tail.strip(_LEADING_JUNK)))
                elif rest > self._max_segment:
                    raise X12SyntaxError(
                        f"no segment terminator {term!r} within {self._max_segment} bytes",
                        offset=self._base + pos,
                        line=line,
                    )
                break
        self._pos = pos
        self._line = line
        if pos > (1 << 16) and pos > n // 2:
            self._buf = buf[pos:]
            self._base += pos
            self._pos = 0
        return out
