"""XLSX through pandas (and openpyxl under it): the one module of erpbridge that imports pandas.

Both work on in-memory buffers only (``io.BytesIO``): no file is opened here. Whatever pandas or
openpyxl raise becomes a :class:`~erpbridge.errors.FlatFileError` naming the file (and the sheet).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any
from xml.parsers.expat import ExpatError

import pandas as pd

from ...errors import FlatFileError

#: what opening or reading a workbook raises for a file that is not one, or a damaged one (openpyxl,
#: zipfile and zlib for a garbled part, XML parsing: ElementTree's ParseError is a SyntaxError)
_UNREADABLE = (
    ValueError, KeyError, OSError, zipfile.BadZipFile, TypeError, IndexError, AttributeError,
    SyntaxError, ExpatError, zlib.error, EOFError,
)  # fmt: skip


def read_cells(data: bytes, *, file: str, sheet: str | int) -> tuple[list[list[Any]], str]:
    """Every row of ``sheet`` as a list of cell values (None for an empty cell; str, int, float,
    bool, datetime as openpyxl gives them), and the sheet's name."""
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
    except _UNREADABLE as exc:
        raise FlatFileError(
            f"not an XLSX workbook ({type(exc).__name__}: {exc}); save it as .xlsx (Excel 2007 or later)",
            file=file,
            row=1,
            column="A",
        ) from None
    with book:
        names = [str(n) for n in book.sheet_names]
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise FlatFileError(
                    f"the workbook has {len(names)} sheet(s); the layout reads sheet number {sheet} (0-based)",
                    file=file,
                    row=1,
                    column="A",
                )
            name = names[sheet]
        elif sheet not in names:
            raise FlatFileError(
                f"the workbook has no sheet {sheet!r}; it has {', '.join(map(repr, names))}",
                file=file,
                row=1,
                column="A",
            )
        else:
            name = sheet
        try:
            frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object)
        except _UNREADABLE as exc:
            raise FlatFileError(
                f"sheet {name!r} cannot be read: {type(exc).__name__}: {exc}", file=file, row=1, column="A"
            ) from None
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return rows, name


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.time):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return value.item()
    return value


def write_cells(header: Sequence[str], rows: Sequence[Sequence[Any]], *, sheet: str) -> bytes:
    """A workbook with one sheet: the header in row 1, then the rows (str, int, float, bool, date,
    datetime or None cells)."""
    frame = pd.DataFrame(list(rows), columns=list(header), dtype=object)
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet, index=False)
    return out.getvalue()


__all__ = ["read_cells", "write_cells"]
