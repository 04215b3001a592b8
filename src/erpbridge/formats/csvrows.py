"""CSV files as rows: bytes in, rows out, every problem naming file:line:column. Pure, no I/O.

A WMS or ERP that drops flat files into a folder (issue 4: inventory snapshots, ship
confirmations) writes CSV. This module reads it with the standard library's :mod:`csv`::

    table = read_csv(data, file="inventory.csv")                      # UTF-8, delimiter sniffed
    table = read_csv(data, file="stock.csv", encoding="cp1252", delimiter=";")
    table.header             # ("warehouse", "sku", "on_hand", ...)
    table.rows[0].line       # 2: the line the row starts on
    table.rows[0].values     # {"warehouse": "BRL-LOU1", "sku": "NW-TS-BLK-S", "on_hand": "480", ...}
    table.view("inventory.csv")   # {"file": ..., "rows": [{..., "_line": 2}]}: what CSV mappings read

The rules:

- **Encoding**: UTF-8 unless another encoding Python knows is declared (``cp1252`` for
  spreadsheet exports on Windows). A UTF-8 byte order mark is dropped. A byte that is not valid in
  the encoding is an error at its line and column; so is a NUL character (a binary file, or UTF-16
  read as UTF-8).
- **Line ends**: CRLF, LF or CR, mixed in one file too. A line with no value at all (empty, or only
  delimiters) is not a row: it holds nothing.
- **Header**: the first row names the columns. Names are stripped of surrounding blanks; an empty
  name, a name given twice, and ``_line`` (the name under which :meth:`CsvTable.view` gives each
  row's line) are errors.
- **Delimiter**: given, or sniffed from the header among ``,`` ``;`` ``|`` and TAB: the one that
  occurs most often outside quotes (none at all: one column). A tie is an error that asks for it to
  be declared.
- **Quoting** (RFC 4180): a value that starts with ``"`` is quoted and may hold delimiters, line
  breaks and ``""`` for a quote; after its closing quote comes a delimiter or the end of the line.
  A quote inside an unquoted value is kept as it is (``12" RULER``).
- **Rows**: every row has exactly as many values as the header has names; a ragged row is an error
  naming the column where the extra value starts or the names of the values missing. Values are
  kept as written (not stripped, nothing converted): mappings decide what they mean.
- A value longer than :func:`csv.field_size_limit` (128 KiB by default) is an error.

Every problem is a :class:`~erpbridge.errors.CsvError` (terminal) whose message starts with
``file:line:column:``; nothing is dropped or repaired silently.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import CsvError

#: the delimiters that are sniffed from the header (any single character may be given)
DELIMITERS = (",", ";", "|", "\t")
#: the key under which :meth:`CsvTable.view` gives each row's line number
LINE_KEY = "_line"

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_UTF16_32 = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One row: the line it starts on (1-based) and its values by column name."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A whole CSV file: its column names, its rows, and how it was read."""

    header: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    delimiter: str
    encoding: str

    def view(self, file: str) -> dict[str, Any]:
        """What a CSV mapping reads: ``{"file": file, "rows": [{column: value, ..., "_line": n}]}``."""
        return {"file": file, "rows": [{**row.values, LINE_KEY: row.line} for row in self.rows]}


def read_csv(
    data: bytes, *, file: str = "<csv>", encoding: str = "utf-8", delimiter: str | None = None
) -> CsvTable:
    """Read a whole CSV file. Raises :class:`CsvError` (``file:line:column: what``) for any problem."""
    name = _codec_name(encoding, file)
    text = _decode(data, file, encoding, name)
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _position(text, nul)
        raise CsvError(
            "a NUL character: this is not a text file (a UTF-16 export? declare its encoding)",
            file=file,
            line=line,
            column=column,
        )
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise CsvError(f"{delimiter!r} cannot be a delimiter (one character, not a quote or line end)",
                       file=file, line=1, column=1)  # fmt: skip
    return _Reader(text, file, name).read(delimiter)


def _codec_name(encoding: str, file: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise CsvError(f"{encoding!r} is not an encoding Python knows", file=file, line=1, column=1) from None


def _decode(data: bytes, file: str, encoding: str, name: str) -> str:
    if name == "utf-8":
        if data.startswith(_BOM_UTF8):
            data = data[len(_BOM_UTF8) :]
        elif data.startswith(_BOMS_UTF16_32):
            raise CsvError(
                "the file starts with a UTF-16 or UTF-32 byte order mark: export it as UTF-8, or declare "
                "its encoding (utf-16)",
                file=file,
                line=1,
                column=1,
            )
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode(name, errors="replace")
        line, column = _position(before, len(before))
        bad = data[exc.start : max(exc.end, exc.start + 1)].hex(" ")
        raise CsvError(
            f"byte(s) {bad} are not valid {encoding} (declare the file's encoding, such as cp1252)",
            file=file,
            line=line,
            column=column,
        ) from None


def _position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[offset]``; CRLF, LF and CR each end a line."""
    head = text[:offset]
    line = 1 + head.count("\n") + head.count("\r") - head.count("\r\n")
    last = max(head.rfind("\n"), head.rfind("\r"))
    return line, offset - last


def _scan(raw: str, delimiter: str) -> tuple[list[int], tuple[int, str] | None]:
    """Where the values of one row's raw text start, and the first quoting problem (offset, what).

    The same RFC 4180 rules as the ``csv`` reader in strict mode, for pointing at a column only.
    """
    starts = [0]
    i, n = 0, len(raw)
    fresh, quoted, opened = True, False, 0
    while i < n:
        c = raw[i]
        if quoted:
            if c == '"':
                if i + 1 < n and raw[i + 1] == '"':
                    i += 2
                    continue
                quoted = False
                i += 1
                if i < n and raw[i] not in (delimiter, "\r", "\n"):
                    return starts, (
                        i,
                        f'{raw[i]!r} after the closing quote of a quoted value (a quote inside a quoted value is written "")',
                    )
                continue
        elif c == '"' and fresh:
            quoted, opened = True, i
        elif c == delimiter:
            starts.append(i + 1)
            fresh = True
            i += 1
            continue
        elif c in "\r\n":
            break
        fresh = False
        i += 1
    if quoted:
        return starts, (opened, "this quoted value is never closed (a missing closing quote)")
    return starts, None


class _Reader:
    """One pass of :mod:`csv` over the text, keeping the raw lines of the row in hand for messages."""

    def __init__(self, text: str, file: str, encoding: str) -> None:
        self.text, self.file, self.encoding = text, file, encoding
        self.consumed: list[str] = []  # the physical lines of the row being read
        self.lines_before = 0  # physical lines before that row

    def _lines(self) -> Iterator[str]:
        for line in io.StringIO(self.text, newline=""):  # splits at CRLF, LF and CR; keeps the ends
            self.consumed.append(line)
            yield line

    def _error(self, what: str, row_offset: int) -> CsvError:
        """An error at ``row_offset`` in the raw text of the row in hand."""
        line, column = _position("".join(self.consumed), row_offset)
        return CsvError(what, file=self.file, line=self.lines_before + line, column=column)

    def _sniff(self) -> str:
        first = next((ln for ln in io.StringIO(self.text, newline="") if ln.strip("\r\n")), "")
        unquoted, quoted = [], False
        for c in first:
            if c == '"':
                quoted = not quoted
            elif not quoted:
                unquoted.append(c)
        counts = {d: unquoted.count(d) for d in DELIMITERS}
        most = max(counts.values())
        if most == 0:
            return ","  # one column
        best = [d for d, k in counts.items() if k == most]
        if len(best) > 1:
            line = 1 + next(i for i, ln in enumerate(io.StringIO(self.text, newline="")) if ln == first)
            shown = " and ".join(f"{most} {d!r}" for d in best)
            raise CsvError(
                f"cannot tell the delimiter: the header has {shown}; declare it",
                file=self.file,
                line=line,
                column=1,
            )
        return best[0]

    def read(self, delimiter: str | None) -> CsvTable:
        d = delimiter if delimiter is not None else self._sniff()
        reader = csv.reader(self._lines(), delimiter=d, quotechar='"', doublequote=True, strict=True)
        header: tuple[str, ...] | None = None
        rows: list[CsvRow] = []
        while True:
            self.lines_before = reader.line_num
            self.consumed.clear()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise self._csv_error(exc, d) from None
            if not any(fields):  # an empty line, or only delimiters: nothing in it
                continue
            raw = "".join(self.consumed)
            if header is None:
                header = self._header(fields, raw, d)
                continue
            if len(fields) != len(header):
                raise self._ragged(fields, header, raw, d)
            rows.append(CsvRow(self.lines_before + 1, dict(zip(header, fields, strict=True))))
        if header is None:
            raise CsvError(
                "the file is empty: a CSV file needs a header row naming its columns",
                file=self.file,
                line=1,
                column=1,
            )
        return CsvTable(header, tuple(rows), d, self.encoding)

    def _csv_error(self, exc: csv.Error, d: str) -> CsvError:
        raw = "".join(self.consumed)
        starts, problem = _scan(raw, d)
        if problem is not None:
            return self._error(problem[1], problem[0])
        if "field limit" in str(exc):
            return self._error(
                f"a value longer than {csv.field_size_limit()} characters (a runaway quote, or not a CSV file)",
                starts[-1],
            )
        return self._error(f"not readable as CSV: {exc}", starts[-1])

    def _header(self, fields: list[str], raw: str, d: str) -> tuple[str, ...]:
        starts, _ = _scan(raw, d)
        names = [f.strip() for f in fields]
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if not name:
                raise self._error(f"column {i + 1} of the header has no name", starts[i])
            if name == LINE_KEY:
                raise self._error(
                    f"{LINE_KEY!r} cannot be a column name: erpbridge gives each row's line under it",
                    starts[i],
                )
            if name in seen:
                raise self._error(
                    f"column {name!r} is named twice (columns {seen[name] + 1} and {i + 1})", starts[i]
                )
            seen[name] = i
        return tuple(names)

    def _ragged(self, fields: list[str], header: tuple[str, ...], raw: str, d: str) -> CsvError:
        starts, _ = _scan(raw, d)
        if len(fields) > len(header):
            at = starts[len(header)] if len(starts) > len(header) else len(raw.rstrip("\r\n"))
            return self._error(
                f"{len(fields)} values, but the header names {len(header)} columns: "
                f"{len(fields) - len(header)} value(s) too many from here on",
                at,
            )
        missing = ", ".join(header[len(fields) :])
        return self._error(
            f"{len(fields)} values, but the header names {len(header)} columns: no value for {missing}",
            len(raw.rstrip("\r\n")),
        )


__all__ = ["DELIMITERS", "LINE_KEY", "CsvError", "CsvRow", "CsvTable", "read_csv"]
