"""Flat files in declared layouts: CSV, fixed-width and XLSX, typed, with rejects that name
file:row:column. Pure: bytes in, objects out (and back). docs/flatfiles.md is the reference::

    layout = load_layout("mappings/wms/layouts/inventory-snapshot.yaml")
    result = read(layout, data, file="STOCK_20260316.csv")
    result.rows[0].number, result.rows[0].values     # 2, {"sku": "NW-TS-BLK-S", "on_hand": 480, ...}
    result.rejects                                   # [Reject(file, row, column, field, value, reason)]
    data = write(layout, [{"sku": "NW-TS-BLK-S", "on_hand": 480, ...}])

A row with a bad value is never dropped silently: it is in ``rejects`` (the flow decides whether the
file is quarantined or its good rows go on, docs/flatfiles.md). A file that cannot be read at all
raises :class:`~erpbridge.errors.FlatFileError`; a layout that is wrong raises
:class:`~erpbridge.errors.LayoutError` naming its file and line.
"""

from __future__ import annotations

from ...errors import FlatFileError, LayoutError
from .layout import (
    KINDS,
    LINE_KEY,
    RECORD_KEY,
    TYPES,
    Column,
    Layout,
    Record,
    load_layout,
    parse_layout,
)
from .reader import FlatFileResult, Reject, Row, read
from .writer import write

__all__ = [
    "KINDS",
    "LINE_KEY",
    "RECORD_KEY",
    "TYPES",
    "Column",
    "FlatFileError",
    "FlatFileResult",
    "Layout",
    "LayoutError",
    "Record",
    "Reject",
    "Row",
    "load_layout",
    "parse_layout",
    "read",
    "write",
]
