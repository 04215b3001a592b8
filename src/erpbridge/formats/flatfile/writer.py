"""Writing rows as a flat file in a declared layout: rows in, bytes out. Pure, no I/O.

Writing is strict: a value that is not of its column's type, a required value that is missing, a
value wider than its fixed-width column or a character the encoding cannot hold raises
:class:`~erpbridge.errors.FlatFileError` naming the row (1-based, in the order given) and column;
nothing is truncated or replaced, and no partial file is returned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from ...errors import FlatFileError
from .layout import RECORD_KEY, Column, Layout, format_value


def write(layout: Layout, rows: Iterable[Mapping[str, Any]], *, file: str = "<output>") -> bytes:
    """``rows`` (dicts by column name; a layout with record types needs ``_record`` in each, the
    record's name) as the bytes of a file in ``layout``. ``file`` names it in errors."""
    if layout.kind == "xlsx":
        return _xlsx(layout, rows, file)
    lines: list[str] = []
    if layout.kind == "csv":
        lines = _csv(layout, rows, file)
    else:
        for n, row in enumerate(rows, start=1):
            lines.append(_fixed_line(layout, row, n, file))
    text = "".join(line + layout.line_end for line in lines) if layout.kind == "fixed" else "".join(lines)
    try:
        return text.encode(layout.encoding)
    except UnicodeEncodeError as exc:
        head = text[: exc.start]
        line = head.count(layout.line_end) + 1 - (1 if layout.kind == "csv" and layout.header else 0)
        column = (
            exc.start
            - (head.rfind(layout.line_end) + len(layout.line_end) if layout.line_end in head else 0)
            + 1
        )
        raise FlatFileError(
            f"{text[exc.start : exc.end]!r} cannot be written in {layout.encoding} (layout {layout.name}: "
            "change the value, or the layout's encoding)",
            file=file,
            row=line,
            column=column,
        ) from None


def _value(c: Column, row: Mapping[str, Any], n: int, file: str, column: int | str) -> str:
    value = row.get(c.name)
    if value is None or value == "":
        if c.default is not None:
            value = c.default
        elif c.required:
            raise FlatFileError(
                f"{c.name}: required, but the row has no value", file=file, row=n, column=column
            )
        else:
            return ""
    text = format_value(c, value)
    if text is None:
        raise FlatFileError(
            f"{c.name}: {value!r} is not a {c.type}{_what(c)}", file=file, row=n, column=column
        )
    if c.type == "code" and text not in c.values:
        raise FlatFileError(
            f"{c.name}: {text!r} is not one of the column's codes ({', '.join(c.values)})",
            file=file,
            row=n,
            column=column,
        )
    if c.max_length is not None and len(text) > c.max_length:
        raise FlatFileError(
            f"{c.name}: {len(text)} characters; the column holds at most {c.max_length}",
            file=file,
            row=n,
            column=column,
        )
    return text


def _what(c: Column) -> str:
    if c.type == "decimal" and c.scale is not None:
        return f" with at most {c.scale} decimal place(s)"
    if c.type in ("date", "datetime"):
        return f" ({'datetime.datetime' if c.type == 'datetime' else 'datetime.date'})"
    return ""


_QUOTING: dict[str, Literal[0, 1, 2, 3]] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


def _csv(layout: Layout, rows: Iterable[Mapping[str, Any]], file: str) -> list[str]:
    out = io.StringIO()
    quoting: Literal[0, 1, 2, 3] = _QUOTING[layout.quoting]
    writer = csv.writer(
        out,
        delimiter=layout.delimiter,
        quotechar=layout.quote_char,
        quoting=csv.QUOTE_MINIMAL if quoting == csv.QUOTE_NONNUMERIC else quoting,
        lineterminator=layout.line_end,
        doublequote=True,
    )
    columns = layout.columns
    if not layout.header:
        columns = tuple(sorted(columns, key=lambda c: c.position or 0))
    if layout.header:
        writer.writerow([c.header or c.name for c in columns])
    numeric = {"integer", "decimal"}
    for n, row in enumerate(rows, start=1):
        values = [_value(c, row, n, file, c.header or c.name) for c in columns]
        if quoting == csv.QUOTE_NONNUMERIC:  # text quoted, numbers bare
            q = layout.quote_char
            values = [
                v if c.type in numeric or v == "" else q + v.replace(q, q + q) + q
                for c, v in zip(columns, values, strict=True)
            ]
            out.write(layout.delimiter.join(values) + layout.line_end)
            continue
        try:
            writer.writerow(values)
        except csv.Error as exc:
            raise FlatFileError(
                f"cannot be written without quoting ({exc}); use quoting: minimal", file=file, row=n, column=1
            ) from None
    return [out.getvalue()]


def _fixed_line(layout: Layout, row: Mapping[str, Any], n: int, file: str) -> str:
    columns = layout.columns
    code = ""
    if layout.record_type is not None:
        name = row.get(RECORD_KEY)
        record = next((r for r in layout.records if r.name == name), None)
        if record is None:
            known = ", ".join(r.name for r in layout.records)
            raise FlatFileError(
                f"{RECORD_KEY} {name!r} is not a record of layout {layout.name} ({known})",
                file=file,
                row=n,
                column=1,
            )
        columns, code = record.columns, record.code
    length = max(c.end for c in columns)
    line = [" "] * length
    if layout.record_type is not None:
        start, width = layout.record_type
        line[start - 1 : start - 1 + width] = list(code)
    for c in columns:
        assert c.start is not None and c.width is not None
        text = _value(c, row, n, file, c.start)
        if len(text) > c.width:
            raise FlatFileError(
                f"{c.name}: {text!r} is {len(text)} characters; the column is {c.width} wide",
                file=file,
                row=n,
                column=c.start,
            )
        if c.pad == "0" and text.startswith("-"):
            field = "-" + text[1:].rjust(c.width - 1, "0")
        elif not text and c.pad == "0":
            field = " " * c.width  # empty stays empty (zeros would read back as 0)
        else:
            field = text.rjust(c.width, c.pad) if c.align == "right" else text.ljust(c.width, c.pad)
        line[c.start - 1 : c.end] = list(field)
    return "".join(line)


def _xlsx(layout: Layout, rows: Iterable[Mapping[str, Any]], file: str) -> bytes:
    from ._excel import write_cells

    if layout.header_row != 1:
        raise FlatFileError(
            f"layout {layout.name} has its header in row {layout.header_row}; erpbridge writes XLSX with the header in row 1",
            file=file,
            row=layout.header_row,
            column="A",
        )
    cells: list[list[Any]] = []
    for n, row in enumerate(rows, start=1):
        out: list[Any] = []
        for c in layout.columns:
            text = _value(c, row, n + 1, file, c.header or c.name)  # checked as text would be
            value = row.get(c.name)
            out.append(_cell(c, c.default if value is None or value == "" else value, text))
        cells.append(out)
    sheet = layout.sheet if isinstance(layout.sheet, str) else "Sheet1"
    return write_cells([c.header or c.name for c in layout.columns], cells, sheet=sheet)


def _cell(c: Column, value: Any, text: str) -> Any:
    """A spreadsheet cell: numbers as numbers (a decimal that a float cannot hold exactly, as text),
    dates as dates, the rest as the text the column writes."""
    if value is None or text == "":
        return None
    if c.type == "integer":
        return int(text)
    if c.type == "decimal":
        number = Decimal(value)
        as_float = float(number)
        return as_float if Decimal(repr(as_float)) == number else format(number, "f")
    if c.type == "date" and isinstance(value, dt.date):
        return value
    if c.type == "datetime" and isinstance(value, dt.datetime):
        return value
    return text


__all__ = ["write"]
