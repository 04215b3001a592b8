"""The model's types, read once from the dataclasses: what the codec and the schema generator walk.

Both :mod:`.codec` and :mod:`.schema` work from the same :class:`ObjSpec` tree, so the JSON that
``from_json`` accepts and the JSON Schema that is published cannot disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Literal, TypeAlias

from .common import CODE_PATTERN, Pattern, ProductIds

DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"
DATE_PATTERN: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TIME_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
CODE_PATTERN_RE: Final = re.compile(CODE_PATTERN)

PrimKind: TypeAlias = Literal["str", "int", "bool", "decimal", "date", "time"]


@dataclass(frozen=True, slots=True)
class Prim:
    kind: PrimKind
    pattern: Pattern | None = None


@dataclass(frozen=True, slots=True)
class EnumNode:
    cls: type[StrEnum]


@dataclass(frozen=True, slots=True)
class Ids:
    """A :class:`ProductIds` mapping."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A nested model dataclass; its fields come from :func:`spec`."""

    cls: type


@dataclass(frozen=True, slots=True)
class Opt:
    inner: Node


@dataclass(frozen=True, slots=True)
class Seq:
    inner: Node


Node: TypeAlias = Prim | EnumNode | Ids | Ref | Opt | Seq

_PRIMS: Final[dict[Any, PrimKind]] = {
    str: "str",
    int: "int",
    bool: "bool",
    Decimal: "decimal",
    dt.date: "date",
    dt.time: "time",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    node: Node
    required: bool
    default: Any
    doc: str


@dataclass(frozen=True, slots=True)
class ObjSpec:
    cls: type
    fields: tuple[FieldSpec, ...]
    summary: str

    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}


def node_for(hint: Any) -> Node:
    """The node for one type hint of a model field."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(hint)
        patterns = [e for e in extras if isinstance(e, Pattern)]
        if base is not str or len(patterns) != 1:
            raise TypeError(f"unsupported annotated type {hint!r}")
        return Prim("str", patterns[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(hint)) != 2:
            raise TypeError(f"only 'X | None' unions are supported, got {hint!r}")
        return Opt(node_for(args[0]))
    if origin is tuple:
        items = typing.get_args(hint)
        if len(items) != 2 or items[1] is not Ellipsis:
            raise TypeError(f"only 'tuple[X, ...]' is supported, got {hint!r}")
        return Seq(node_for(items[0]))
    if hint in _PRIMS:
        return Prim(_PRIMS[hint])
    if hint is ProductIds:
        return Ids()
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return EnumNode(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Ref(hint)
    raise TypeError(f"unsupported field type {hint!r}")


_FIELD_LINE: Final = re.compile(r"^(\s*)([a-z_][a-z0-9_]*): (.*)$")


def field_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the ``Fields:`` section of a class docstring."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    lines = doc.splitlines()
    try:
        start = lines.index("Fields:") + 1
    except ValueError:
        return {}
    docs: dict[str, str] = {}
    indent: int | None = None
    current: str | None = None
    for line in lines[start:]:
        if not line.strip():
            break
        m = _FIELD_LINE.match(line)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            current = m.group(2)
            docs[current] = m.group(3).strip()
        elif current is not None:
            docs[current] += " " + line.strip()
    return docs


_SPECS: dict[type, ObjSpec] = {}


def spec(cls: type) -> ObjSpec:
    """The fields of a model dataclass, with their nodes, defaults and descriptions (cached)."""
    found = _SPECS.get(cls)
    if found is None:
        found = _SPECS[cls] = _read_spec(cls)
    return found


def _read_spec(cls: type) -> ObjSpec:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a model dataclass")
    hints = typing.get_type_hints(cls, include_extras=True)
    docs = field_docs(cls)
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if f.default is dataclasses.MISSING else f.default
        out.append(FieldSpec(f.name, node_for(hints[f.name]), required, default, docs.get(f.name, "")))
    summary = inspect.cleandoc(cls.__doc__ or cls.__name__).split("\n\n")[0].replace("\n", " ")
    return ObjSpec(cls, tuple(out), summary)
