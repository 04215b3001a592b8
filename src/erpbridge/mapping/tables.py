"""Code lists and cross-reference tables: CSV files that mappings name, loaded with the mapping.

A **code list** translates an X12 code to a canonical code and back. ``codes/party_role.csv``::

    x12,canonical,description
    ST,ship_to,Ship To
    BT,bill_to,Bill To
    VN,vendor,Vendor
    SU,vendor,Supplier/Manufacturer

``$code("party_role", N1.N101)`` gives ``ship_to`` for ``ST``; ``$x12code("party_role", role)`` gives
the first X12 code of a canonical one (``vendor`` → ``VN``). Lists of other standards' codes (SAP's
IDoc qualifiers) name their first column ``code`` instead of ``x12``; ``$tocode`` is ``$x12code``
under a name that reads right for them. A code that is not in the list is a
finding that names the list's file, unless a third argument gives the value to use instead.

A **cross-reference table** maps a partner's values to ours: ``xref/bigbox_skus.csv`` with a header
row, ``$xref("bigbox_skus", VN, "partner_sku", "our_sku")`` (columns by name; without them, the first
column to the second). A value that is not in the table is a finding, unless a fifth argument gives
the value to use instead.

Tables are found by name in ``codes/`` (code lists) or ``xref/`` (cross references) beside the
mapping file, then in each folder above it: ``mappings/x12/850-to-purchase-order.yaml`` finds
``mappings/codes/party_role.csv``, and a partner folder can hold its own ``codes/`` that wins. They are
read once, when the mapping is loaded; names must be quoted literals so that loading can check them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MappingError
from .functions import MappingValueError

_USE = re.compile(r"\$(code|x12code|tocode|xref)\s*\(\s*([^,)]*)")
_NAME = re.compile(r"""^(["'])([A-Za-z0-9_.-]+)\1$""")
_MISSING = object()


def _shown(path: Path) -> Path:
    """A table's path as messages show it: relative to the working folder when it is below it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


@dataclass
class Table:
    """One CSV file: its header and rows, and the file it came from (for messages)."""

    name: str
    path: Path
    header: list[str]
    rows: list[list[str]]
    _index: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)

    def column(self, name: str) -> int:
        try:
            return self.header.index(name)
        except ValueError:
            raise MappingValueError(
                f"{self.path} has no column {name!r} (its columns: {', '.join(self.header)})"
            ) from None

    def index(self, src: int, dst: int) -> dict[str, str]:
        """``src`` column value -> ``dst`` column value; the first row wins when a key repeats."""
        key = (src, dst)
        if key not in self._index:
            out: dict[str, str] = {}
            for row in self.rows:
                if len(row) > max(src, dst) and row[src] not in out and row[dst] != "":
                    out[row[src]] = row[dst]
            self._index[key] = out
        return self._index[key]


def _read_table(name: str, path: Path, file: str, line: int) -> Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"{file}:{line}: cannot read {path}: {exc.strerror or exc}") from None
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise MappingError(f"{file}:{line}: {path} needs a header row and at least one row of two columns")
    header = rows[0]
    if len(set(header)) != len(header):
        raise MappingError(f"{file}:{line}: {path}: a column name is given twice in {header}")
    for n, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise MappingError(f"{path}:{n}: {len(row)} values but the header has {len(header)} columns")
    return Table(name, path, header, rows[1:])


class Tables:
    """The code lists and cross-reference tables of one mapping, and the functions that read them."""

    def __init__(self, mapping_file: Path) -> None:
        self.base = mapping_file.resolve().parent
        self.loaded: dict[tuple[str, str], Table] = {}

    def _find(self, folder: str, name: str, written_in: Path) -> Path | None:
        """The mapping's own folder and those above it first, then those of the file (a base) the
        expression was written in."""
        for start in dict.fromkeys([self.base, written_in.resolve().parent]):
            here = start
            for _ in range(4):
                candidate = here / folder / f"{name}.csv"
                if candidate.is_file():
                    return candidate
                if here.parent == here:
                    break
                here = here.parent
        return None

    def require(self, text: str, file: str, line: int, written_in: Path) -> None:
        """Load every table an expression names; raise :class:`MappingError` naming file:line."""
        for fn, arg in _USE.findall(text):
            m = _NAME.match(arg.strip())
            if not m:
                raise MappingError(
                    f"{file}:{line}: ${fn}: the first argument must be a quoted table name, like "
                    f'${fn}("party_role", ...), so that the table can be checked when the mapping loads'
                )
            name = m.group(2)
            folder = "xref" if fn == "xref" else "codes"
            if (folder, name) in self.loaded:
                continue
            path = self._find(folder, name, written_in)
            if path is None:
                raise MappingError(
                    f"{file}:{line}: ${fn}: no {folder}/{name}.csv beside the mapping or in a folder above it"
                )
            table = _read_table(name, _shown(path), file, line)
            if folder == "codes" and table.header[:2] not in (["x12", "canonical"], ["code", "canonical"]):
                raise MappingError(
                    f"{file}:{line}: {path}: a code list's header starts with x12,canonical or code,canonical "
                    f"(found {','.join(table.header)})"
                )
            self.loaded[(folder, name)] = table

    def _table(self, folder: str, name: Any) -> Table:
        table = self.loaded.get((folder, str(name)))
        if table is None:  # an expression built its table name at run time
            raise MappingValueError(f"table {name!r} was not named literally in the mapping")
        return table

    def code(self, name: Any, value: Any, fallback: Any = _MISSING) -> Any:
        return self._translate(self._table("codes", name), value, 0, 1, fallback)

    def x12code(self, name: Any, value: Any, fallback: Any = _MISSING) -> Any:
        return self._translate(self._table("codes", name), value, 1, 0, fallback)

    def xref(self, name: Any, value: Any, src: Any = None, dst: Any = None, fallback: Any = _MISSING) -> Any:
        table = self._table("xref", name)
        s = table.column(str(src)) if src is not None else 0
        d = table.column(str(dst)) if dst is not None else 1
        return self._translate(table, value, s, d, fallback)

    @staticmethod
    def _translate(table: Table, value: Any, src: int, dst: int, fallback: Any) -> Any:
        if isinstance(value, list):
            value = value[0] if value else None
        if value in (None, ""):
            return None
        found = table.index(src, dst).get(str(value))
        if found is not None:
            return found
        if fallback is not _MISSING:
            return fallback
        raise MappingValueError(
            f"{value!r} is not in the {table.header[src]} column of {table.path} (add a row for it)"
        )

    def functions(self) -> dict[str, Callable[..., Any]]:
        return {"code": self.code, "x12code": self.x12code, "tocode": self.x12code, "xref": self.xref}


__all__ = ["Table", "Tables"]
