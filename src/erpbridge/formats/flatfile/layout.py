"""Flat-file layouts: what a CSV, fixed-width or XLSX file holds, declared in a YAML file.

A layout names the file's kind and how it is written (delimiter, quoting, encoding, header, column
positions, sheet) and its columns with a type each. It is data an analyst edits, like a mapping
(docs/flatfiles.md is the reference). :func:`load_layout` reads and checks one; every problem is a
:class:`~erpbridge.errors.LayoutError` whose message starts with the layout's ``file:line``.

Pure: :func:`parse_layout` takes the text; :func:`load_layout` only reads the file first.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import yaml

from ...errors import LayoutError

Kind: TypeAlias = Literal["csv", "fixed", "xlsx"]
ColumnType: TypeAlias = Literal["string", "integer", "decimal", "date", "datetime", "boolean", "code"]

KINDS: Final = ("csv", "fixed", "xlsx")
TYPES: Final = ("string", "integer", "decimal", "date", "datetime", "boolean", "code")
QUOTING: Final = ("minimal", "all", "nonnumeric", "none")
#: the key under which a row of a layout with record types says which record it is
RECORD_KEY: Final = "_record"
#: the key under which :meth:`FlatFileResult.view` gives each row's number (as CSV mappings read it)
LINE_KEY: Final = "_line"

_TRUE: Final = ("Y", "YES", "TRUE", "T", "1")
_FALSE: Final = ("N", "NO", "FALSE", "F", "0")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_LAYOUT_KEYS: Final = {
    "csv": {"layout", "kind", "description", "encoding", "delimiter", "quote_char", "quoting", "header",
            "skip_rows", "line_end", "extra_columns", "columns"},
    "fixed": {"layout", "kind", "description", "encoding", "skip_rows", "line_end", "pad", "record_type",
              "records", "columns"},
    "xlsx": {"layout", "kind", "description", "sheet", "header_row", "extra_columns", "columns"},
}  # fmt: skip
_COLUMN_KEYS: Final = {
    "name", "type", "required", "default", "description", "header", "position", "start", "width", "from",
    "to", "pad", "align", "strip", "max_length", "scale", "implied_decimal", "format", "values", "true",
    "false",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name (the key of each row's dict) and type, and where it is in the file."""

    name: str
    type: ColumnType
    line: int  # where the layout declares it
    required: bool = True
    default: Any = None  # already of the column's type
    header: str | None = None  # csv/xlsx with a header: the text that names it (default: name)
    position: int | None = None  # csv without a header: 1-based
    start: int | None = None  # fixed: 1-based first character
    width: int | None = None  # fixed: characters
    pad: str = " "  # fixed: the padding character
    align: Literal["left", "right"] = "left"  # fixed: where the value sits in its width
    strip: bool = False  # remove surrounding blanks before reading (always for fixed)
    max_length: int | None = None  # string
    scale: int | None = None  # decimal: digits after the point (at most; written with exactly these)
    implied_decimal: bool = False  # decimal: no point in the file, the last `scale` digits are decimals
    format: str | None = None  # date/datetime: a strftime format
    values: tuple[str, ...] = ()  # code: the allowed values
    true: tuple[str, ...] = _TRUE  # boolean: what reads as true (first: what is written)
    false: tuple[str, ...] = _FALSE

    @property
    def end(self) -> int:
        """fixed: the 1-based last character."""
        assert self.start is not None and self.width is not None
        return self.start + self.width - 1


@dataclass(frozen=True, slots=True)
class Record:
    """fixed with record types: one kind of line, told apart by its record-type code."""

    name: str
    code: str
    columns: tuple[Column, ...]
    line: int

    @property
    def length(self) -> int:
        return max((c.end for c in self.columns), default=0)


@dataclass(frozen=True, slots=True)
class Layout:
    """A whole layout. ``columns`` holds the columns of a layout without record types."""

    name: str
    kind: Kind
    file: str
    columns: tuple[Column, ...] = ()
    description: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    quote_char: str = '"'
    quoting: Literal["minimal", "all", "nonnumeric", "none"] = "minimal"
    header: bool = True
    skip_rows: int = 0
    line_end: str = "\n"
    extra_columns: Literal["ignore", "reject"] = "ignore"
    sheet: str | int = 0
    header_row: int = 1
    record_type: tuple[int, int] | None = None  # fixed: (start, width) of the record-type code
    records: tuple[Record, ...] = ()
    column_lines: Mapping[str, int] = field(default_factory=dict)

    def record(self, code: str) -> Record | None:
        return next((r for r in self.records if r.code == code), None)

    def all_columns(self) -> tuple[Column, ...]:
        return self.columns if not self.records else tuple(c for r in self.records for c in r.columns)


# -- YAML with line numbers ------------------------------------------------------------------------


@dataclass
class YamlNode:
    """A YAML value with the line it is on: a dict of nodes, a list of nodes, or a typed scalar."""

    value: Any
    line: int


_N = YamlNode


def compose_yaml(
    text: str, file: str, error: type[Exception] = LayoutError, what: str = "layout"
) -> YamlNode:
    """Parse YAML keeping each value's line (scalars typed as YAML types them: 10, true, null, "x").
    Problems raise ``error`` with a message starting ``file:line:``; a key given twice is one."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise error(f"{file}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        raise error(f"{file}:1: the {what} file is empty")
    constructor = yaml.SafeLoader("")

    def convert(node: yaml.Node) -> _N:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, _N] = {}
            for k, v in node.value:
                key = str(k.value)
                if key in out:
                    raise error(f"{file}:{k.start_mark.line + 1}: {key!r} is given twice")
                out[key] = convert(v)
                out[key].line = k.start_mark.line + 1
            return _N(out, line)
        if isinstance(node, yaml.SequenceNode):
            return _N([convert(v) for v in node.value], line)
        return _N(constructor.construct_object(node), line)  # typed scalars: 10, true, "x", null

    return convert(root)


# -- checking ---------------------------------------------------------------------------------------


class _Table:
    """A YAML mapping of the layout, with its keys checked and typed getters naming file:line."""

    def __init__(self, node: _N, file: str, allowed: set[str], what: str) -> None:
        if not isinstance(node.value, dict):
            raise LayoutError(f"{file}:{node.line}: {what} must be a mapping of keys to values")
        self.node, self.file, self.what = node, file, what
        for key, sub in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise LayoutError(
                    f"{file}:{sub.line}: unknown key {key!r} in {what}{hint}; known: {', '.join(sorted(allowed))}"
                )

    def has(self, key: str) -> bool:
        return key in self.node.value

    def line(self, key: str | None = None) -> int:
        return self.node.value[key].line if key is not None and key in self.node.value else self.node.line

    def bad(self, key: str | None, message: str) -> LayoutError:
        return LayoutError(f"{self.file}:{self.line(key)}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        if key not in self.node.value:
            if default is _REQUIRED:
                raise self.bad(None, f"{self.what} needs {key!r} ({what})")
            return default
        value = self.node.value[key].value
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise self.bad(key, f"{key!r} must be {what}, not {value!r}")
        return value

    def integer(self, key: str, default: Any, low: int, what: str) -> Any:
        value = self.get(key, int, default, what)
        if isinstance(value, int) and value < low:
            raise self.bad(key, f"{key!r} must be {what} ({low} or more), not {value}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value: str = self.get(key, str, default, f"one of {', '.join(choices)}")
        if value not in choices:
            raise self.bad(key, f"{key!r} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if key not in self.node.value:
            return default
        items = self.node.value[key].value
        if not isinstance(items, list) or not items:
            raise self.bad(key, f"{key!r} must be a list of values such as [EA, CA]")
        out = []
        for item in items:
            if isinstance(item.value, list | dict) or item.value is None:
                raise LayoutError(f"{self.file}:{item.line}: {key!r} holds text values, not {item.value!r}")
            out.append(str(item.value))
        return tuple(out)


_REQUIRED: Final[Any] = object()


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def load_layout(path: str | Path) -> Layout:
    """Read and check a layout file. Raises :class:`LayoutError` (``file:line: what``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{p}:1: cannot read the layout: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_layout(text, file=str(p))


def parse_layout(text: str, *, file: str = "<layout>") -> Layout:
    """Check a layout given as YAML text (``file`` names it in messages)."""
    root = compose_yaml(text, file)
    if not isinstance(root.value, dict):
        raise LayoutError(f"{file}:{root.line}: a layout is a YAML mapping with 'kind' and 'columns'")
    kind_node = root.value.get("kind")
    if kind_node is None:
        raise LayoutError(f"{file}:{root.line}: the layout needs 'kind' (one of {', '.join(KINDS)})")
    kind = kind_node.value
    if kind not in KINDS:
        raise LayoutError(f"{file}:{kind_node.line}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    t = _Table(root, file, _LAYOUT_KEYS[kind], "the layout")
    name = t.get("layout", str, Path(file).stem, "the layout's name")
    settings: dict[str, Any] = {"description": t.get("description", str, "", "text")}
    if kind in ("csv", "fixed"):
        encoding = t.get("encoding", str, "utf-8", "an encoding such as utf-8 or cp1252")
        try:
            settings["encoding"] = codecs.lookup(encoding).name
        except LookupError:
            raise t.bad("encoding", f"{encoding!r} is not an encoding Python knows, such as cp1252") from None
        settings["skip_rows"] = t.integer("skip_rows", 0, 0, "a number of lines")
        settings["line_end"] = {"lf": "\n", "crlf": "\r\n"}[t.choice("line_end", ("lf", "crlf"), "lf")]
    if kind == "csv":
        for key, default in (("delimiter", ","), ("quote_char", '"')):
            value = t.get(key, str, default, "one character")
            if len(value) != 1 or value in "\r\n":
                raise t.bad(key, f"{key!r} must be one character (not a line end), not {value!r}")
            settings[key] = value
        if settings["delimiter"] == settings["quote_char"]:
            raise t.bad("quote_char", "the quote character cannot be the delimiter")
        settings["quoting"] = t.choice("quoting", QUOTING, "minimal")
        settings["header"] = t.get("header", bool, True, "true or false")
    if kind in ("csv", "xlsx"):
        settings["extra_columns"] = t.choice("extra_columns", ("ignore", "reject"), "ignore")
    if kind == "xlsx":
        sheet = t.get("sheet", (str, int), 0, "a sheet name, or its 0-based number")
        settings["sheet"] = sheet
        settings["header_row"] = t.integer("header_row", 1, 1, "the 1-based row of the header")
        settings["header"] = True
    if kind == "fixed":
        return _fixed(t, file, name, settings)
    columns = _columns(t, file, kind, bool(settings.get("header", True)), pad=" ")
    return Layout(name=name, kind=kind, file=file, columns=columns, **settings)


def _fixed(t: _Table, file: str, name: str, settings: dict[str, Any]) -> Layout:
    pad = t.get("pad", str, " ", "one padding character")
    if len(pad) != 1:
        raise t.bad("pad", f"'pad' must be one character, not {pad!r}")
    if t.has("records") == t.has("columns"):
        raise t.bad(None, "a fixed-width layout has 'columns', or 'record_type' and 'records' (not both)")
    if not t.has("records"):
        if t.has("record_type"):
            raise t.bad("record_type", "'record_type' goes with 'records'")
        columns = _columns(t, file, "fixed", False, pad=pad)
        return Layout(name=name, kind="fixed", file=file, columns=columns, **settings)
    rt = (
        _Table(t.node.value["record_type"], file, {"start", "width"}, "record_type")
        if t.has("record_type")
        else None
    )
    if rt is None:
        raise t.bad(
            None, "'records' needs 'record_type: {start: 1, width: 2}': where the record-type code is"
        )
    start = rt.integer("start", _REQUIRED, 1, "the 1-based first character")
    width = rt.integer("width", _REQUIRED, 1, "a number of characters")
    items = t.node.value["records"]
    if not isinstance(items.value, list) or not items.value:
        raise LayoutError(
            f"{file}:{items.line}: 'records' is a list of records with 'name', 'code', 'columns'"
        )
    records: list[Record] = []
    for item in items.value:
        r = _Table(item, file, {"name", "code", "columns", "description"}, "a record")
        rname = r.get("name", str, _REQUIRED, "the record's name")
        code = str(r.get("code", (str, int), _REQUIRED, "the record-type code in the file"))
        if len(code) != width:
            raise r.bad("code", f"the code {code!r} is not {width} character(s) wide (record_type width)")
        if any(x.code == code or x.name == rname for x in records):
            raise r.bad("code", f"a record named {rname!r} or coded {code!r} is declared twice")
        columns = _columns(r, file, "fixed", False, pad=pad)
        for c in columns:
            if c.start is not None and c.start < start + width and c.end >= start:
                raise LayoutError(f"{file}:{c.line}: column {c.name!r} overlaps the record-type code")
        records.append(Record(rname, code, columns, r.line()))
    return Layout(
        name=name, kind="fixed", file=file, record_type=(start, width), records=tuple(records), **settings
    )


def _columns(t: _Table, file: str, kind: str, header: bool, *, pad: str) -> tuple[Column, ...]:
    node = t.node.value.get("columns")
    if node is None or not isinstance(node.value, list) or not node.value:
        raise t.bad("columns", "'columns' is a list of columns, each with a name and a type")
    columns: list[Column] = []
    for n, item in enumerate(node.value, start=1):
        c = _column(_Table(item, file, _COLUMN_KEYS, "a column"), kind, header, n, pad)
        if any(x.name == c.name for x in columns):
            raise LayoutError(f"{file}:{c.line}: column {c.name!r} is declared twice")
        if c.name in (RECORD_KEY, LINE_KEY):
            raise LayoutError(f"{file}:{c.line}: {c.name!r} is reserved; name the column otherwise")
        if kind == "fixed":
            for x in columns:
                if c.start is not None and x.start is not None and c.start <= x.end and x.start <= c.end:
                    raise LayoutError(
                        f"{file}:{c.line}: column {c.name!r} ({c.start}-{c.end}) overlaps {x.name!r} ({x.start}-{x.end})"
                    )
        columns.append(c)
    if kind in ("csv", "xlsx") and header:
        headers = [c.header or c.name for c in columns]
        for c in columns:
            if headers.count(c.header or c.name) > 1:
                raise LayoutError(
                    f"{file}:{c.line}: two columns are read from header {(c.header or c.name)!r}"
                )
    if kind == "csv" and not header:
        positions = [c.position for c in columns]
        for c in columns:
            if positions.count(c.position) > 1:
                raise LayoutError(f"{file}:{c.line}: two columns at position {c.position}")
    return tuple(columns)


def _column(t: _Table, kind: str, header: bool, n: int, layout_pad: str) -> Column:
    name = t.get("name", str, _REQUIRED, "the column's name")
    if not _NAME.match(name):
        raise t.bad("name", f"column name {name!r}: letters, digits and _, starting with a letter")
    ctype = t.get("type", str, "string", f"one of {', '.join(TYPES)}")
    if ctype not in TYPES:
        close = difflib.get_close_matches(ctype, TYPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise t.bad("type", f"unknown type {ctype!r}{hint}; known: {', '.join(TYPES)}")
    own: dict[str, Any] = {"name": name, "type": ctype, "line": t.line()}
    own["required"] = t.get("required", bool, True, "true or false")
    allowed = {
        "string": {"max_length"},
        "decimal": {"scale", "implied_decimal"},
        "date": {"format"},
        "datetime": {"format"},
        "boolean": {"true", "false"},
        "code": {"values"},
        "integer": set(),
    }[ctype]
    for key in ("max_length", "scale", "implied_decimal", "format", "values", "true", "false"):
        if t.has(key) and key not in allowed:
            raise t.bad(key, f"{key!r} does not apply to a {ctype} column")
    if ctype == "string":
        own["max_length"] = t.integer("max_length", None, 1, "a number of characters")
    if ctype == "decimal":
        own["scale"] = t.integer("scale", None, 0, "a number of digits after the point")
        own["implied_decimal"] = t.get("implied_decimal", bool, False, "true or false")
        if own["implied_decimal"] and own["scale"] is None:
            raise t.bad(
                "implied_decimal", "an implied decimal point needs 'scale' (how many digits follow it)"
            )
    if ctype in ("date", "datetime"):
        default_format = "%Y-%m-%d" if ctype == "date" else "%Y-%m-%dT%H:%M:%S"
        fmt = t.get("format", str, default_format, "a strftime format such as %Y%m%d")
        if "%" not in fmt:
            raise t.bad("format", f"{fmt!r} is not a strftime format such as %Y%m%d or %m/%d/%Y")
        own["format"] = fmt
    if ctype == "code":
        if not t.has("values"):
            raise t.bad(None, "a code column needs 'values': the codes it may hold")
        own["values"] = t.strings("values", ())
    if ctype == "boolean":
        own["true"] = t.strings("true", _TRUE)
        own["false"] = t.strings("false", _FALSE)
        if {v.upper() for v in own["true"]} & {v.upper() for v in own["false"]}:
            raise t.bad("true", "a value cannot be both true and false")
    if kind in ("csv", "xlsx") and header:
        own["header"] = t.get("header", str, None, "the header text naming the column")
    elif t.has("header"):
        raise t.bad("header", "'header' names a column in a header row; this layout has none")
    if kind == "csv" and not header:
        own["position"] = t.integer("position", n, 1, "the column's 1-based position")
    elif t.has("position"):
        raise t.bad("position", "'position' is for CSV files without a header")
    if kind == "fixed":
        _fixed_place(t, own, layout_pad)
    else:
        for key in ("start", "width", "from", "to", "pad", "align"):
            if t.has(key):
                raise t.bad(key, f"{key!r} is for fixed-width columns")
        own["strip"] = t.get("strip", bool, False, "true or false")
    column = Column(**own)
    if t.has("default"):
        raw = t.node.value["default"].value
        if own["required"] and "required" in t.node.value:
            raise t.bad("default", "a required column has no default; say required: false")
        problem, value = parse_value(
            column, str(raw) if not isinstance(raw, bool) else ("true" if raw else "false")
        )
        if problem is not None:
            raise t.bad("default", f"default {raw!r}: {problem}")
        column = Column(**{**own, "default": value, "required": False})
    return column


def _fixed_place(t: _Table, own: dict[str, Any], layout_pad: str) -> None:
    if t.has("start") or t.has("width"):
        if t.has("from") or t.has("to"):
            raise t.bad("from", "give start and width, or from and to, not both")
        own["start"] = t.integer("start", _REQUIRED, 1, "the 1-based first character")
        own["width"] = t.integer("width", _REQUIRED, 1, "a number of characters")
    else:
        first = t.integer("from", _REQUIRED, 1, "the 1-based first character")
        last = t.integer("to", _REQUIRED, 1, "the 1-based last character")
        if last < first:
            raise t.bad("to", f"'to' ({last}) comes before 'from' ({first})")
        own["start"], own["width"] = first, last - first + 1
    numeric = own["type"] in ("integer", "decimal")
    pad = t.get("pad", str, layout_pad, "one padding character")
    if len(pad) != 1:
        raise t.bad("pad", f"'pad' must be one character, not {pad!r}")
    own["pad"] = pad
    own["align"] = t.choice("align", ("left", "right"), "right" if numeric else "left")
    own["strip"] = True
    if pad == "0" and not numeric:
        raise t.bad("pad", "zero padding is for integer and decimal columns")


# -- values ------------------------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+")
_DEC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_value(c: Column, text: str) -> tuple[str | None, Any]:
    """``(problem, value)``: the typed value of ``text`` (not empty) in column ``c``, or what is wrong
    with it in words."""
    return _PARSERS[c.type](c, text)


def _string(c: Column, text: str) -> tuple[str | None, Any]:
    if c.max_length is not None and len(text) > c.max_length:
        return f"{len(text)} characters; the column holds at most {c.max_length}", None
    return None, text


def _integer(c: Column, text: str) -> tuple[str | None, Any]:
    if _INT.fullmatch(text):
        return None, int(text)
    return "not an integer (digits only, an optional sign, no separators)", None


def _decimal(c: Column, text: str) -> tuple[str | None, Any]:
    if c.implied_decimal:
        if not _INT.fullmatch(text):
            return f"not a number with {c.scale} implied decimal place(s) (digits only, no point)", None
        return None, Decimal(text).scaleb(-(c.scale or 0))
    if not _DEC.fullmatch(text):
        return "not a decimal number (digits, an optional sign and point, no separators)", None
    value = Decimal(text)
    if c.scale is not None:
        places = len(text.partition(".")[2])
        if places > c.scale and Decimal(text).quantize(Decimal(1).scaleb(-c.scale)) != value:
            return f"{places} decimal places; the column allows {c.scale}", None
    return None, value


def _date(c: Column, text: str) -> tuple[str | None, Any]:
    try:
        when = dt.datetime.strptime(text, c.format or "%Y-%m-%d")
    except ValueError:
        return f"not a date as {c.format} ({dt.date(2026, 3, 16).strftime(c.format or '')} is one)", None
    return None, when if c.type == "datetime" else when.date()


def _boolean(c: Column, text: str) -> tuple[str | None, Any]:
    upper = text.upper()
    if upper in {v.upper() for v in c.true}:
        return None, True
    if upper in {v.upper() for v in c.false}:
        return None, False
    return f"not a yes/no value ({'/'.join(c.true)} or {'/'.join(c.false)})", None


def _code(c: Column, text: str) -> tuple[str | None, Any]:
    if text in c.values:
        return None, text
    shown = ", ".join(c.values[:12]) + (", ..." if len(c.values) > 12 else "")
    return f"not one of the column's codes ({shown})", None


_PARSERS: Final[dict[str, Callable[[Column, str], tuple[str | None, Any]]]] = {
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "datetime": _date,
    "boolean": _boolean,
    "code": _code,
}


def _finite(value: Any) -> Decimal | None:
    """A finite number given as int, Decimal or text (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def format_value(c: Column, value: Any) -> str | None:
    """``value`` as the column writes it, or None when it is not of the column's type. Values may be
    Python's (int, Decimal, date, datetime, bool, str) or their JSON forms (numbers as text, dates and
    times as ISO 8601 text), so the rows a mapping makes can be written as they are."""
    if value is None:
        return ""
    t = c.type
    if t in ("string", "code"):
        return value if isinstance(value, str) else None
    if t in ("integer", "decimal"):
        number = _finite(value)
        if number is None:
            return None
        if t == "integer":
            return str(int(number)) if number == number.to_integral_value() else None
        if c.scale is not None:
            q = number.quantize(Decimal(1).scaleb(-c.scale))
            if q != number:
                return None
            number = q
        if c.implied_decimal:
            return str(int(number.scaleb(c.scale or 0)))
        return format(number, "f")
    if t in ("date", "datetime") and isinstance(value, str):  # ISO 8601, as JSON (and view()) has it
        try:
            value = dt.date.fromisoformat(value) if t == "date" else dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if t == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            return None
        return value.strftime(c.format or "%Y-%m-%d")
    if t == "datetime":
        return value.strftime(c.format or "") if isinstance(value, dt.datetime) else None
    if t == "boolean":
        return (c.true[0] if value else c.false[0]) if isinstance(value, bool) else None
    return None  # pragma: no cover


__all__ = [
    "KINDS",
    "LINE_KEY",
    "RECORD_KEY",
    "TYPES",
    "Column",
    "Layout",
    "Record",
    "YamlNode",
    "compose_yaml",
    "format_value",
    "load_layout",
    "parse_layout",
    "parse_value",
]
