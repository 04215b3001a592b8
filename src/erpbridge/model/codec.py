"""Canonical documents to and from their JSON form (plain dicts, lists and strings).

``to_json(doc)`` gives a dict ready for :func:`json.dumps`: ``"kind"`` first, then the fields in
declaration order; fields that are None or empty are left out; decimals are strings ("9.50", scale
kept), dates ``YYYY-MM-DD``, times ``HH:MM:SS``. ``from_json(kind, data)`` is strict: unknown keys,
missing required keys and wrong types are :class:`~erpbridge.errors.ModelError` s whose message
starts with the JSON path (``lines[2].quantity: expected a decimal string, got 'abc'``). ``null`` is
accepted for optional fields and means "absent". Numbers are not accepted where decimals are
expected: JSON numbers are binary floats, and 0.1 + 0.2 is not 0.3 in them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, TypeVar, overload

from erpbridge.errors import ModelError

from ._spec import (
    CODE_PATTERN_RE,
    DATE_PATTERN,
    DECIMAL_PATTERN,
    TIME_PATTERN,
    EnumNode,
    Ids,
    Node,
    Opt,
    Prim,
    Ref,
    Seq,
    spec,
)
from .common import ProductIds
from .registry import DOCUMENT_TYPES, Document

D = TypeVar("D", bound=Document)

_DECIMAL_RE: Final = re.compile(DECIMAL_PATTERN)
_DATE_RE: Final = re.compile(DATE_PATTERN)
_TIME_RE: Final = re.compile(TIME_PATTERN)
_PATTERNS: dict[str, re.Pattern[str]] = {}

Path = tuple[str | int, ...]


def render_path(path: Path) -> str:
    """``("lines", 2, "quantity")`` as ``lines[2].quantity``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _show(value: Any) -> str:
    """A value as an error message shows it: strings quoted, everything else as JSON."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=repr, ensure_ascii=False)
        except (TypeError, ValueError):  # circular structures
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: Path, message: str) -> ModelError:
    return ModelError(message, path=render_path(path))


def _kind_of(kind: str | type[Any]) -> type[Document]:
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))
    cls = DOCUMENT_TYPES.get(name)
    if cls is None or (not isinstance(kind, str) and kind is not cls):
        raise ModelError(f"unknown document kind {name!r}; the kinds are: {', '.join(DOCUMENT_TYPES)}")
    return cls


# ----------------------------------------------------------------------------------------------- to JSON


def to_json(doc: Document) -> dict[str, Any]:
    """The JSON form of a canonical document (a dict with ``"kind"`` first). Checks types as it goes."""
    cls = _kind_of(type(doc).__name__)
    if type(doc) is not cls:
        raise ModelError(f"not a canonical document: {type(doc).__name__}")
    return {"kind": cls.__name__, **_encode_obj(doc, ())}


def _encode_obj(obj: Any, path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in spec(type(obj)).fields:
        value = getattr(obj, f.name)
        if value is None or (isinstance(value, tuple | ProductIds) and len(value) == 0):
            if f.required:
                raise _fail((*path, f.name), "is required" if value is None else "must not be empty")
            continue
        out[f.name] = _encode(f.node, value, (*path, f.name))
    return out


def _encode(node: Node, value: Any, path: Path) -> Any:
    if isinstance(node, Opt):
        return None if value is None else _encode(node.inner, value, path)
    if isinstance(node, Seq):
        if not isinstance(value, tuple):
            raise _fail(path, f"expected a tuple, got {type(value).__name__}")
        return [_encode(node.inner, v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(node, Ref):
        if type(value) is not node.cls:
            raise _fail(path, f"expected a {node.cls.__name__}, got {type(value).__name__}")
        return _encode_obj(value, path)
    if isinstance(node, Ids):
        if not isinstance(value, ProductIds):
            raise _fail(path, f"expected ProductIds, got {type(value).__name__}")
        return dict(value.items())
    if isinstance(node, EnumNode):
        if not isinstance(value, node.cls):
            raise _fail(path, f"expected a {node.cls.__name__}, got {_show(value)}")
        return value.value
    return _encode_prim(node, value, path)


def _encode_prim(node: Prim, value: Any, path: Path) -> Any:
    kind = node.kind
    if kind == "decimal":
        if not isinstance(value, Decimal) or not value.is_finite():
            raise _fail(path, f"expected a finite Decimal, got {_show(value)} ({type(value).__name__})")
        return format(value, "f")
    if kind == "date":
        if type(value) is not dt.date:
            raise _fail(path, f"expected a date, got {_show(value)} ({type(value).__name__})")
        return value.isoformat()
    if kind == "time":
        if not isinstance(value, dt.time) or value.tzinfo is not None:
            raise _fail(path, f"expected a time without time zone, got {_show(value)}")
        return value.isoformat()
    # str, int, bool: the JSON value is the value; decoding checks it the same way.
    return _decode_prim(node, value, path)


# --------------------------------------------------------------------------------------------- from JSON


@overload
def from_json(kind: type[D], data: Any) -> D: ...
@overload
def from_json(kind: str | None, data: Any) -> Document: ...
def from_json(kind: str | type[Any] | None, data: Any) -> Document:
    """Read a canonical document from its JSON form.

    ``kind`` is the expected kind (``"PurchaseOrder"`` or the class); the data's ``"kind"`` key must
    name it. With ``kind=None`` the data's ``"kind"`` key decides. Raises :class:`ModelError`.
    """
    if not isinstance(data, dict):
        raise ModelError(f"expected a JSON object, got {_show(data)}")
    if "kind" not in data:
        raise ModelError("missing required key 'kind'")
    found = data["kind"]
    if kind is None:
        if not isinstance(found, str) or found not in DOCUMENT_TYPES:
            raise _fail(
                ("kind",), f"expected one of {', '.join(map(repr, DOCUMENT_TYPES))}, got {_show(found)}"
            )
        cls = DOCUMENT_TYPES[found]
    else:
        cls = _kind_of(kind)
        if found != cls.__name__:
            raise _fail(("kind",), f"expected {cls.__name__!r}, got {_show(found)}")
    body = {k: v for k, v in data.items() if k != "kind"}
    doc: Document = _decode_obj(cls, body, ())
    return doc


def _decode_obj(cls: type[Any], data: Any, path: Path) -> Any:
    if not isinstance(data, dict):
        raise _fail(path, f"expected an object, got {_show(data)}")
    s = spec(cls)
    fields = s.by_name()
    for key in data:
        if key not in fields:
            allowed = [*fields, "kind"] if not path else list(fields)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(path, f"unknown key {_show(key)}{hint}")
    kwargs: dict[str, Any] = {}
    for f in s.fields:
        if f.name not in data:
            if f.required:
                raise _fail(path, f"missing required key {f.name!r}")
            continue
        value = data[f.name]
        if value is None and f.required:
            raise _fail((*path, f.name), "is required, got null")
        if value is None and not isinstance(f.node, Opt):
            raise _fail((*path, f.name), f"expected {_expected(f.node)}, got null")
        kwargs[f.name] = _decode(f.node, value, (*path, f.name))
        if f.required and isinstance(f.node, Ids) and not kwargs[f.name]:
            raise _fail((*path, f.name), "expected at least one product ID, got {}")
    return cls(**kwargs)


def _expected(node: Node) -> str:
    if isinstance(node, Seq):
        return "an array"
    if isinstance(node, Ref | Ids):
        return "an object"
    if isinstance(node, Opt):
        return _expected(node.inner)
    if isinstance(node, EnumNode):
        return "one of " + ", ".join(repr(m.value) for m in node.cls)
    return _PRIM_EXPECTED[node.kind] if node.pattern is None else f"{node.pattern.description}"


_PRIM_EXPECTED: Final = {
    "str": "a non-empty string",
    "int": "a non-negative integer",
    "bool": "true or false",
    "decimal": "a decimal string",
    "date": "a date string (YYYY-MM-DD)",
    "time": "a time string (HH:MM or HH:MM:SS)",
}


def _decode(node: Node, value: Any, path: Path) -> Any:
    if isinstance(node, Opt):
        return None if value is None else _decode(node.inner, value, path)
    if isinstance(node, Seq):
        if not isinstance(value, list | tuple):
            raise _fail(path, f"expected an array, got {_show(value)}")
        return tuple(_decode(node.inner, v, (*path, i)) for i, v in enumerate(value))
    if isinstance(node, Ref):
        return _decode_obj(node.cls, value, path)
    if isinstance(node, Ids):
        return _decode_ids(value, path)
    if isinstance(node, EnumNode):
        return _decode_enum(node.cls, value, path)
    return _decode_prim(node, value, path)


def _decode_ids(value: Any, path: Path) -> ProductIds:
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object of product IDs by kind, got {_show(value)}")
    for kind, v in value.items():
        if not isinstance(kind, str) or not CODE_PATTERN_RE.fullmatch(kind):
            raise _fail(path, f"product ID kind must be a snake_case code, got {_show(kind)}")
        if not isinstance(v, str) or not v:
            raise _fail((*path, kind), f"expected a non-empty string, got {_show(v)}")
    return ProductIds(value)


def _decode_enum(cls: type[StrEnum], value: Any, path: Path) -> StrEnum:
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
    raise _fail(path, f"expected one of {', '.join(repr(m.value) for m in cls)}, got {_show(value)}")


def _decode_prim(node: Prim, value: Any, path: Path) -> Any:
    kind = node.kind
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise _fail(path, f"expected a non-empty string, got {_show(value)}")
        if node.pattern is not None:
            rx = _PATTERNS.get(node.pattern.regex) or _PATTERNS.setdefault(
                node.pattern.regex, re.compile(node.pattern.regex)
            )
            if not rx.fullmatch(value):
                raise _fail(path, f"expected {node.pattern.description}, got {_show(value)}")
        return value
    if kind == "int":
        if isinstance(value, float) and value.is_integer():  # JSON Schema's view: 3.0 is an integer
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _fail(path, f"expected a non-negative integer, got {_show(value)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(path, f"expected true or false, got {_show(value)}")
        return value
    if not isinstance(value, str):
        raise _fail(path, f"expected {_PRIM_EXPECTED[kind]}, got {_show(value)}")
    if kind == "decimal":
        if not _DECIMAL_RE.fullmatch(value):
            raise _fail(path, f"expected a decimal string, got {_show(value)}")
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise _fail(path, f"expected a decimal string, got {_show(value)}") from None
    try:
        if kind == "date" and _DATE_RE.fullmatch(value):
            return dt.date.fromisoformat(value)
        if kind == "time" and _TIME_RE.fullmatch(value):
            return dt.time.fromisoformat(value)
    except ValueError:
        pass
    raise _fail(path, f"expected {_PRIM_EXPECTED[kind]}, got {_show(value)}")


def dumps(doc: Document, *, indent: int | None = 2) -> str:
    """``json.dumps(to_json(doc))``, UTF-8 friendly (no ``\\u`` escapes)."""
    return json.dumps(to_json(doc), indent=indent, ensure_ascii=False)


def loads(text: str | bytes, kind: str | type[Document] | None = None) -> Document:
    """Parse JSON text and read the document in it (see :func:`from_json`)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"not valid JSON: {exc}") from None
    return from_json(kind, data)


__all__ = ["dumps", "from_json", "loads", "render_path", "to_json"]
