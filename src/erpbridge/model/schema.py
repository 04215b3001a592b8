"""JSON Schemas (draft 2020-12) of the canonical documents, generated from the dataclasses.

The published copies live in ``schemas/canonical/<Kind>.schema.json`` at the top of the repository;
``scripts/gen_schemas.py`` rewrites them from :func:`schema_text`, and a test fails when they drift.
Each schema is self-contained: nested parts (Party, Address...) are in its ``$defs``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ._spec import (
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
from .common import CODE_PATTERN
from .registry import DOCUMENT_TYPES, Document

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX: Final = "urn:erpbridge:canonical:"


def json_schema(kind: str | type[Document]) -> dict[str, Any]:
    """The JSON Schema of one document kind (``"PurchaseOrder"`` or the class)."""
    name = kind if isinstance(kind, str) else kind.__name__
    if name not in DOCUMENT_TYPES:
        raise KeyError(f"unknown document kind {name!r}; the kinds are: {', '.join(DOCUMENT_TYPES)}")
    cls = DOCUMENT_TYPES[name]
    defs: dict[str, Any] = {}
    body = _object(cls, defs)
    body["properties"] = {
        "kind": {"const": name, "description": "the document kind (the discriminator)"},
        **body["properties"],
    }
    body["required"] = ["kind", *body.get("required", [])]
    return {
        "$schema": DRAFT,
        "$id": f"{ID_PREFIX}{name}",
        "title": name,
        **body,
        "$defs": dict(sorted(defs.items())),
    }


def schema_text(kind: str | type[Document]) -> str:
    """The schema as the published file holds it: 2-space indented JSON and a final newline."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


def _object(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    s = spec(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in s.fields:
        prop = _node(f.node, defs)
        if f.required and isinstance(f.node, Ids):
            prop["minProperties"] = 1
        if f.doc:
            prop = {**prop, "description": f.doc}
        if f.default is not None and not f.required:
            default = _default(f.node, f.default)
            if default is not None:
                prop["default"] = default
        props[f.name] = prop
        if f.required:
            required.append(f.name)
    out: dict[str, Any] = {"description": s.summary, "type": "object", "properties": props}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _default(node: Node, value: Any) -> Any:
    if isinstance(node, Seq):
        return [] if value == () else None
    if isinstance(node, Ids):
        return {} if len(value) == 0 else None
    if isinstance(node, EnumNode | Opt):
        return getattr(value, "value", None)
    return None


def _node(node: Node, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(node, Opt):
        inner = _node(node.inner, defs)
        if "enum" in inner:
            return {**inner, "type": [inner["type"], "null"], "enum": [*inner["enum"], None]}
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if isinstance(node, Seq):
        return {"type": "array", "items": _node(node.inner, defs)}
    if isinstance(node, Ref):
        name = node.cls.__name__
        if name not in defs:
            defs[name] = {}  # placeholder: stops recursion, keeps the slot
            defs[name] = _object(node.cls, defs)
        return {"$ref": f"#/$defs/{name}"}
    if isinstance(node, Ids):
        return {
            "type": "object",
            "propertyNames": {"pattern": CODE_PATTERN},
            "additionalProperties": {"type": "string", "minLength": 1},
        }
    if isinstance(node, EnumNode):
        return {"type": "string", "enum": [m.value for m in node.cls]}
    return _prim(node)


def _prim(node: Prim) -> dict[str, Any]:
    kind = node.kind
    if kind == "str":
        out: dict[str, Any] = {"type": "string", "minLength": 1}
        if node.pattern is not None:
            out["pattern"] = node.pattern.regex
        return out
    if kind == "int":
        return {"type": "integer", "minimum": 0}
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "decimal":
        return {"type": "string", "pattern": DECIMAL_PATTERN}
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    return {"type": "string", "pattern": TIME_PATTERN}
