"""Reading a flat file against its layout: bytes in, typed rows and rejects out. Pure, no I/O.

A row whose values do not all fit their columns is a :class:`Reject` (file, row, column, the value
and what is wrong in words); it is never dropped silently and never half-read: a row is either in
``rows`` with every value typed, or in ``rejects`` (one reject per bad value). What makes the whole
file unreadable (undecodable bytes, no header, a header without a column the layout needs, an XLSX
that is not one) raises :class:`~erpbridge.errors.FlatFileError` instead.

CSV goes through the standard library's :mod:`csv` reader in strict mode: pandas' C parser pads a
short row with empty values and reads ``"3"x`` as ``3x`` without a word, which would hide exactly
the rows this module exists to report. Fixed-width lines are sliced in Python. XLSX goes through
pandas and openpyxl (:mod:`._excel`, the one module that imports pandas).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ...errors import CsvError, FlatFileError
from ..csvrows import _codec_name, _decode, _position
from .layout import LINE_KEY, RECORD_KEY, Column, Layout, parse_value


@dataclass(frozen=True, slots=True)
class Row:
    """One good row: its number in the file and its typed values by column name.

    ``number`` is the line a CSV record starts on or a fixed-width line's number (1-based, counting
    every line of the file), or an XLSX row's number as the spreadsheet shows it. ``record`` is the
    record name of a fixed-width layout with record types."""

    number: int
    values: dict[str, Any]
    record: str | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """One value (or a whole row, ``field`` None) that could not be read, and why.

    ``column`` is 1-based: the value's position in a CSV record, the first character of a
    fixed-width column, or an XLSX column (shown as its letter)."""

    file: str
    row: int
    column: int
    field: str | None
    value: str
    reason: str
    sheet: str | None = None

    def where(self) -> str:
        if self.sheet is not None:
            return f"{self.file}[{self.sheet}]:{self.row}:{column_letter(self.column)}"
        return f"{self.file}:{self.row}:{self.column}"

    def __str__(self) -> str:
        what = f"{self.field}: " if self.field else ""
        shown = f" (value {self.value!r})" if self.field else ""
        return f"{self.where()}: {what}{self.reason}{shown}"


@dataclass(frozen=True, slots=True)
class FlatFileResult:
    """What :func:`read` made of a file: the good rows, the rejects, and the rows in all."""

    file: str
    layout: str
    rows: list[Row]
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        """The numbers of the rows with at least one reject, in file order."""
        return sorted({r.row for r in self.rejects})

    def view(self) -> dict[str, Any]:
        """What a ``source: csv`` mapping reads: ``{"file": ..., "rows": [{column: value, ...,
        "_line": number}]}`` with JSON values (decimals, dates and times as text, ISO 8601)."""
        return {
            "file": self.file,
            "rows": [
                {
                    **{k: _json(v) for k, v in row.values.items()},
                    **({RECORD_KEY: row.record} if row.record is not None else {}),
                    LINE_KEY: row.number,
                }
                for row in self.rows
            ],
        }


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def column_letter(n: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def read(layout: Layout, data: bytes, *, file: str) -> FlatFileResult:
    """Read ``data`` (a whole file) with ``layout``; ``file`` names it in rejects and errors."""
    if layout.kind == "xlsx":
        from ._excel import read_cells

        cells, sheet = read_cells(data, file=file, sheet=layout.sheet)
        return _Typed(layout, file, sheet).from_cells(cells)
    text = _text(layout, data, file)
    if layout.kind == "fixed":
        return _Typed(layout, file).from_fixed(text)
    return _Typed(layout, file).from_csv(text)


def _text(layout: Layout, data: bytes, file: str) -> str:
    try:
        text = _decode(data, file, layout.encoding, _codec_name(layout.encoding, file))
    except CsvError as exc:
        raise FlatFileError(
            exc.message.split(": ", 1)[1], file=file, row=exc.line, column=exc.column
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _position(text, nul)
        raise FlatFileError(
            f"a NUL character: this is not a text file in {layout.encoding} (a UTF-16 export? declare "
            "its encoding in the layout)",
            file=file,
            row=line,
            column=column,
        )
    return text


class _Typed:
    """Typed rows and rejects of one file."""

    def __init__(self, layout: Layout, file: str, sheet: str | None = None) -> None:
        self.layout, self.file, self.sheet = layout, file, sheet
        self.rows: list[Row] = []
        self.rejects: list[Reject] = []
        self._seen: dict[int, dict[str, tuple[str | None, Any]]] = {
            id(c): {} for c in layout.all_columns() if c.type in _CACHED
        }

    def result(self) -> FlatFileResult:
        return FlatFileResult(self.file, self.layout.name, self.rows, self.rejects)

    def reject(self, row: int, column: int, name: str | None, value: str, reason: str) -> None:
        self.rejects.append(Reject(self.file, row, column, name, value, reason, self.sheet))

    def typed(self, number: int, raws: list[tuple[Column, int, Any]], record: str | None = None) -> None:
        """One row from its raw values: text, None (empty, or the column is not in the file) or an
        XLSX cell's number, date or boolean. A row with any bad value becomes rejects only."""
        values: dict[str, Any] = {}
        bad = False
        for c, column, raw in raws:
            if raw is not None and not isinstance(raw, str):
                problem, value = _from_cell(c, raw)
                if problem is not None:
                    self.reject(number, column, c.name, str(raw), problem)
                    bad = True
                values[c.name] = value
                continue
            text = raw.strip() if raw is not None and c.strip else raw
            if not text:
                if c.required:
                    self.reject(number, column, c.name, raw or "", "required, but empty")
                    bad = True
                values[c.name] = c.default
                continue
            if c.type == "integer" and text.isdigit() and text.isascii():  # the common case, fast
                values[c.name] = int(text)
                continue
            cache = self._seen.get(id(c))
            hit = cache.get(text) if cache is not None else None
            if hit is None:
                hit = parse_value(c, text)
                if cache is not None and len(cache) < 4096:  # dates, codes, yes/no repeat: parse once
                    cache[text] = hit
            problem, value = hit
            if problem is not None:
                self.reject(number, column, c.name, text, problem)
                bad = True
            values[c.name] = value
        if not bad:
            self.rows.append(Row(number, values, record))

    # -- CSV ---------------------------------------------------------------------------------------

    def from_csv(self, text: str) -> FlatFileResult:
        layout = self.layout
        lines = _Lines(text)
        for _ in range(layout.skip_rows):
            if next(lines.iterator, None) is None:
                break
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_NONE if layout.quoting == "none" else csv.QUOTE_MINIMAL
        reader = csv.reader(
            lines.iterator,
            delimiter=layout.delimiter,
            quotechar=layout.quote_char,
            doublequote=True,
            strict=True,
            quoting=quoting,
        )
        places: list[tuple[Column, int | None]] | None = None
        width = 0
        if not layout.header:
            places = [(c, (c.position or 1) - 1) for c in layout.columns]
            width = max((c.position or 1) for c in layout.columns)
        while True:
            lines.start()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.reject(lines.first, 1, None, lines.raw(), f"not readable as CSV: {exc}")
                continue
            if not any(fields):  # an empty line, or only delimiters: nothing in it
                continue
            number = lines.first
            if places is None:
                places, width = self._header(fields, number)
                continue
            if len(fields) != width:
                more = len(fields) > width
                self.reject(
                    number,
                    width + 1 if more else len(fields),
                    None,
                    lines.raw(),
                    f"{len(fields)} values, but the {'header names' if layout.header else 'layout has'} "
                    f"{width} columns: {'too many' if more else 'some are missing'}",
                )
                continue
            self.typed(number, [(c, (i or 0) + 1, fields[i] if i is not None else None) for c, i in places])
        if places is None and layout.header:
            raise FlatFileError(
                "the file is empty: the layout expects a header row naming its columns",
                file=self.file,
                row=1 + layout.skip_rows,
                column=1,
            )
        return self.result()

    def _header(self, fields: list[str], number: int) -> tuple[list[tuple[Column, int | None]], int]:
        names = [f.strip() for f in fields]
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen and name:
                raise FlatFileError(
                    f"the header names {name!r} twice (columns {seen[name] + 1} and {i + 1})",
                    file=self.file,
                    row=number,
                    column=i + 1,
                )
            seen[name] = i
        return self._match(seen, number), len(fields)

    def _match(self, seen: dict[str, int], number: int) -> list[tuple[Column, int | None]]:
        """Each declared column's 0-based index in the header (None: optional and absent)."""
        places: list[tuple[Column, int | None]] = []
        for c in self.layout.columns:
            index = seen.get(c.header or c.name)
            if index is None and c.required:
                raise FlatFileError(
                    f"the header has no column {(c.header or c.name)!r}, which layout {self.layout.name} "
                    f"requires ({self.layout.file}:{c.line}); it has: {', '.join(n for n in seen if n)}",
                    file=self.file,
                    row=number,
                    column=1,
                )
            places.append((c, index))
        if self.layout.extra_columns == "reject":
            known = {c.header or c.name for c in self.layout.columns}
            extra = [n for n in seen if n not in known]
            if extra:
                raise FlatFileError(
                    f"the header has columns layout {self.layout.name} does not declare: {', '.join(map(repr, extra))} "
                    "(extra_columns: reject)",
                    file=self.file,
                    row=number,
                    column=seen[extra[0]] + 1,
                )
        return places

    # -- fixed width -------------------------------------------------------------------------------

    def from_fixed(self, text: str) -> FlatFileResult:
        layout = self.layout
        for number, line in enumerate(text.splitlines(), start=1):
            if number <= layout.skip_rows or not line.strip():
                continue
            columns = layout.columns
            record = None
            if layout.record_type is not None:
                start, width = layout.record_type
                code = line[start - 1 : start - 1 + width]
                found = layout.record(code)
                if found is None:
                    known = ", ".join(repr(r.code) for r in layout.records)
                    self.reject(number, start, None, line, f"unknown record type {code!r} (known: {known})")
                    continue
                columns, record = found.columns, found.name
            length = max(c.end for c in columns)
            if len(line) > length and line[length:].strip():
                self.reject(
                    number, length + 1, None, line,
                    f"{len(line)} characters, but the {'record' if record else 'layout'} ends at {length}: "
                    f"{line[length:].strip()!r} is beyond it",
                )  # fmt: skip
                continue
            raws: list[tuple[Column, int, str | None]] = []
            cut_short = False
            for c in columns:
                assert c.start is not None and c.width is not None
                raw = line[c.start - 1 : c.start - 1 + c.width]
                cut = raw.lstrip(c.pad) if c.align == "right" else raw.rstrip(c.pad)
                if c.align == "right" and 0 < len(raw) < c.width and raw.strip():
                    # a right-aligned value ends where its column ends: a line stopping inside the
                    # column has lost its last digits ("   48" of "   480"), not trailing blanks
                    self.reject(
                        number, c.start, c.name, cut.strip(),
                        f"the line ends at character {len(line)}, inside the column ({c.start}-{c.end}): "
                        "the value may be cut short",
                    )  # fmt: skip
                    cut_short = True
                    continue
                if c.pad == "0" and raw and not cut:
                    cut = "0"  # all zeros: zero, not empty
                raws.append((c, c.start, cut if cut.strip() else ""))
            if not cut_short:
                self.typed(number, raws, record)
        return self.result()

    # -- XLSX --------------------------------------------------------------------------------------

    def from_cells(self, cells: list[list[Any]]) -> FlatFileResult:
        layout = self.layout
        head = layout.header_row - 1
        if len(cells) <= head:
            raise FlatFileError(
                f"the sheet has no row {layout.header_row}: the layout expects the header there",
                file=self.file,
                row=layout.header_row,
                column="A",
            )
        header = ["" if v is None else str(v).strip() for v in cells[head]]
        seen: dict[str, int] = {}
        for i, name in enumerate(header):
            if name and name in seen:
                raise FlatFileError(
                    f"the header names {name!r} twice (columns {column_letter(seen[name] + 1)} and {column_letter(i + 1)})",
                    file=self.file,
                    row=layout.header_row,
                    column=column_letter(i + 1),
                )
            if name:
                seen[name] = i
        places = self._match(seen, layout.header_row)
        for number, values in enumerate(cells[head + 1 :], start=head + 2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            self.typed(
                number,
                [
                    (c, (i or 0) + 1, values[i] if i is not None and i < len(values) else None)
                    for c, i in places
                ],
            )
        return self.result()


#: column types whose parsed values are kept per distinct text while one file is read
_CACHED = frozenset({"date", "datetime", "code", "boolean"})


def _from_cell(c: Column, cell: Any) -> tuple[str | None, Any]:
    """A typed spreadsheet cell (a number, a date, a boolean) as the column's value."""
    if isinstance(cell, bool):
        if c.type == "boolean":
            return None, cell
        return parse_value(c, str(cell).upper())
    if isinstance(cell, dt.datetime):
        if c.type == "datetime":
            return None, cell
        if c.type == "date":
            if cell.time() != dt.time(0):
                return "a date and time; the column holds a date", None
            return None, cell.date()
        return f"a date cell; the column holds a {c.type}", None
    if isinstance(cell, dt.date):
        return (None, cell) if c.type == "date" else (f"a date cell; the column holds a {c.type}", None)
    if isinstance(cell, int | float | Decimal):
        # a float at the 15 significant digits a spreadsheet holds and shows: Excel stores =0.1+0.2
        # as 0.30000000000000004, which would otherwise have more decimals than the column allows
        number = Decimal(format(cell, ".15g")) if isinstance(cell, float) else Decimal(cell)
        if c.type in ("integer", "decimal"):
            if c.type == "integer" and number != number.to_integral_value():
                return "not an integer (digits only, an optional sign, no separators)", None
            text = str(int(number)) if number == number.to_integral_value() else format(number, "f")
            if c.type == "decimal" and c.implied_decimal:
                return None, number
            return parse_value(c, text)
        text = str(int(number)) if number == number.to_integral_value() else format(number, "f")
        if c.type in ("date", "datetime"):
            return (
                f"a number cell ({text}); the column holds a {c.type} (format the cells as dates or text)",
                None,
            )
        return parse_value(c, text)  # a SKU or code typed as a number
    return f"a cell of type {type(cell).__name__}", None


class _Lines:
    """The physical lines a :mod:`csv` reader consumes, so each record knows where it started."""

    def __init__(self, text: str) -> None:
        self.consumed: list[str] = []
        self.count = 0  # lines consumed so far
        self.first = 1
        self._mark = 0
        self.iterator: Iterator[str] = self._lines(text)

    def _lines(self, text: str) -> Iterator[str]:
        for line in io.StringIO(text, newline=""):  # splits at CRLF, LF and CR; keeps the ends
            self.count += 1
            self.consumed.append(line)
            yield line

    def start(self) -> None:
        self.first = self.count + 1
        self.consumed.clear()

    def raw(self) -> str:
        return "".join(self.consumed).rstrip("\r\n")


__all__ = ["FlatFileResult", "Reject", "Row", "column_letter", "read"]
