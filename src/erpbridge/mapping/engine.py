"""Declarative mappings: load once, check when loaded, apply many times.

A mapping file (YAML) says how to build a target document from a source document::

    mapping: x12-850-to-purchase-order
    source: x12/850               # the JSON view of one X12 set (docs/x12-schemas.md)
    target: PurchaseOrder         # a canonical document (docs/model.md), or x12/NNN
    extends: base.yaml            # optional: start from another mapping, override some fields
    fields:
      po_number: BEG.BEG03        # a target field and the expression that fills it
      order_date: $x12date(BEG.BEG05)
      lines:
        each: PO1_loop            # one list item per source item; the item is the context below
        fields:
          line_number: PO1.PO101
          quantity: $decimal(PO1.PO102)

Expressions are JSONata (expressions.py). A field spec is an expression, or a mapping with
``fields`` (a nested object), ``each`` + ``fields`` (a list of objects), ``each`` + ``value`` (a
list of values), and optionally ``when`` (skip when false). Empty results are left out.

Loading checks everything it can: unknown keys, bad expressions, unknown functions, and (for
canonical targets) field names the document does not have. Errors say file:line. Applying never
raises for bad data: a value a function cannot transform, or a document the model refuses, is a
:class:`MappingFinding` naming the mapping line and the target field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import MappingError, ModelError
from ..model import KINDS, from_json, json_schema
from .expressions import Expression, ExpressionError
from .functions import MappingValueError
from .tables import Tables

_INDEX = re.compile(r"\[\d+\]")
_TOP = {"mapping", "source", "target", "extends", "description", "each", "fields"}
_SPEC = {"each", "fields", "value", "when", "hierarchy", "merge", "items"}
_HL_NODE = {"level", "each", "when", "fields", "children"}


@dataclass
class _Node:
    value: Any
    line: int
    file: str = ""  # the file this node was read from (a base file, with ``extends``)


def _load_yaml(text: str, file: str) -> _Node:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise MappingError(f"{file}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        raise MappingError(f"{file}:1: the mapping file is empty")
    return _convert(root, file)


def _convert(node: yaml.Node, file: str) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for k, v in node.value:
            key = str(k.value)
            if key in out:
                raise MappingError(f"{file}:{k.start_mark.line + 1}: {key!r} is given twice")
            out[key] = _convert(v, file)
            out[key].line = k.start_mark.line + 1
        return _Node(out, line, file)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(v, file) for v in node.value], line, file)
    return _Node(str(node.value), line, file)


@dataclass
class FieldSpec:
    name: str
    line: int
    file: str = ""  # the file the spec was written in (a base file, with ``extends``)
    expr: Expression | None = None
    each: Expression | None = None
    value: Expression | None = None
    when: Expression | None = None
    fields: dict[str, FieldSpec] | None = None
    merge: Expression | None = None  # an object whose keys are added to what ``fields`` made
    level: str | None = None  # hierarchy nodes: the HL03 level code
    children: list[FieldSpec] | None = None  # hierarchy nodes: the levels below
    hierarchy: FieldSpec | None = None  # a flat HL loop built from nested nodes
    items: list[FieldSpec] | None = None  # a list made of parts, one after the other


@dataclass(frozen=True)
class MappingFinding:
    """A field that could not be filled, or a result the target refused."""

    file: str
    line: int
    target: str
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = f" (source {self.source})" if self.source else ""
        return f"{self.file}:{self.line}: {self.target}: {self.message}{where}"


@dataclass
class MappingResult:
    document: dict[str, Any] | None
    findings: list[MappingFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.findings


def _schema_node(schema: dict[str, Any], node: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow $ref and array items to the object schema whose properties a nested spec fills."""
    while node is not None:
        if "$ref" in node:
            node = schema.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[-1])
        elif node.get("type") == "array" or "items" in node:
            node = node.get("items")
        elif "anyOf" in node or "oneOf" in node:
            options = [o for o in node.get("anyOf", node.get("oneOf", [])) if o.get("type") != "null"]
            node = options[0] if options else None
        else:
            return node
    return None


class Mapping:
    """A loaded, checked and compiled mapping.

    ``each`` (a top-level key of the file) makes one document per item it gives: :meth:`apply_all`.
    """

    def __init__(
        self,
        name: str,
        source: str,
        target: str,
        fields: dict[str, FieldSpec],
        file: str,
        each: Expression | None = None,
        each_line: int = 1,
    ) -> None:
        self.name, self.source, self.target, self.fields, self.file = name, source, target, fields, file
        self.each, self.each_line = each, each_line
        self._lines: dict[str, tuple[str, int]] = {}  # target path -> (file, line), for model findings
        self._index(fields, "")

    def _index(self, fields: dict[str, FieldSpec], prefix: str) -> None:
        for name, spec in fields.items():
            path = f"{prefix}.{name}" if prefix else name
            self._lines[path] = (spec.file or self.file, spec.line)
            if spec.fields:
                self._index(spec.fields, path)

    def apply(self, source: Any, meta: dict[str, Any] | None = None) -> MappingResult:
        """Map one source document. ``meta`` (where it came from) is added to a canonical result
        unless the mapping fills ``meta`` itself."""
        if self.each is not None:
            message = "this mapping makes one document per item of its top-level 'each' (apply_all)"
            return MappingResult(None, [MappingFinding(self.file, self.each_line, "each", message)])
        return self._apply_one(source, source, "", meta)

    def apply_all(self, source: Any, meta: dict[str, Any] | None = None) -> list[MappingResult]:
        """Map one source document into the documents it makes: one per item of the top-level
        ``each`` (each item is the context of ``fields``, the source is ``$root``), or else one."""
        if self.each is None:
            return [self._apply_one(source, source, "", meta)]
        findings: list[MappingFinding] = []
        spec = FieldSpec("each", self.each_line, self.file)
        items = self._items(self.each, source, source, spec, "each", "", findings)
        if findings:
            return [MappingResult(None, findings)]
        return [
            self._apply_one(item, source, _source_label(item, f"{self.each.text}[{i}]."), meta)
            for i, item in enumerate(items)
        ]

    def _apply_one(self, ctx: Any, root: Any, src: str, meta: dict[str, Any] | None) -> MappingResult:
        findings: list[MappingFinding] = []
        doc = self._object(self.fields, ctx, root, "", src, findings)
        if findings:
            return MappingResult(None, findings)
        if self.target in KINDS:
            doc = {"kind": self.target, **doc}
            if meta and "meta" not in doc:
                doc["meta"] = meta
            try:
                from_json(self.target, doc)
            except ModelError as exc:
                path = str(getattr(exc, "path", "") or "")
                findings.append(MappingFinding(*self._line_for(path), path or self.target, exc.message))
                return MappingResult(None, findings)
        return MappingResult(doc, findings)

    def _line_for(self, path: str) -> tuple[str, int]:
        plain = _INDEX.sub("", path)
        while plain:
            if plain in self._lines:
                return self._lines[plain]
            plain = plain.rpartition(".")[0]
        return self.file, 1

    def _items(
        self,
        expr: Expression,
        ctx: Any,
        root: Any,
        spec: FieldSpec,
        target: str,
        src: str,
        findings: list[MappingFinding],
    ) -> list[Any]:
        items = self._eval(expr, ctx, root, spec, target, src, findings, each=True)
        return items if isinstance(items, list) else []

    def _eval(
        self,
        expr: Expression,
        ctx: Any,
        root: Any,
        spec: FieldSpec,
        target: str,
        src: str,
        findings: list[MappingFinding],
        each: bool = False,
    ) -> Any:
        try:
            return expr.evaluate_each(ctx, root) if each else expr.evaluate(ctx, root)
        except (MappingValueError, ExpressionError) as exc:
            findings.append(MappingFinding(spec.file or self.file, spec.line, target, str(exc), src or None))
            return None

    def _object(
        self,
        fields: dict[str, FieldSpec],
        ctx: Any,
        root: Any,
        prefix: str,
        src: str,
        findings: list[MappingFinding],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in fields.items():
            target = f"{prefix}.{name}" if prefix else name
            if spec.when is not None and not self._eval(spec.when, ctx, root, spec, target, src, findings):
                continue
            value: Any
            if spec.items is not None:
                value = self._parts(spec.items, ctx, root, target, src, findings)
            elif spec.hierarchy is not None:
                loops: list[dict[str, Any]] = []
                self._hl(spec.hierarchy, ctx, root, target, src, findings, loops, None)
                value = loops
            elif spec.expr is not None:
                value = self._eval(spec.expr, ctx, root, spec, target, src, findings)
            elif spec.each is not None:
                items = self._items(spec.each, ctx, root, spec, target, src, findings)
                value = []
                for i, item in enumerate(items):
                    here = _source_label(item, f"{src}{spec.each.text}[{i}].")
                    if spec.fields is not None:
                        obj = self._object(spec.fields, item, root, f"{target}[{i}]", here, findings)
                        if spec.merge is not None:
                            self._merge(obj, spec, item, root, f"{target}[{i}]", here, findings)
                        if obj:
                            value.append(obj)
                    elif spec.value is not None:
                        v = self._eval(spec.value, item, root, spec, f"{target}[{i}]", here, findings)
                        if v not in (None, "", []):
                            value.append(v)
            else:
                assert spec.fields is not None
                value = self._object(spec.fields, ctx, root, target, src, findings)
                if spec.merge is not None:
                    self._merge(value, spec, ctx, root, target, src, findings)
            if value not in (None, "", [], {}):
                out[name] = value
        return out

    def _parts(
        self,
        parts: list[FieldSpec],
        ctx: Any,
        root: Any,
        target: str,
        src: str,
        findings: list[MappingFinding],
    ) -> list[Any]:
        """``items``: each part gives one item (or, with ``each``, several); empty ones are left out."""
        out: list[Any] = []
        for part in parts:
            made = self._object({"_": part}, ctx, root, target, src, findings).get("_")
            if made is None:
                continue
            if part.each is not None:
                out.extend(made)
            else:
                out.append(made)
        return out

    def _merge(
        self,
        obj: dict[str, Any],
        spec: FieldSpec,
        ctx: Any,
        root: Any,
        target: str,
        src: str,
        findings: list[MappingFinding],
    ) -> None:
        assert spec.merge is not None
        extra = self._eval(spec.merge, ctx, root, spec, target, src, findings)
        if isinstance(extra, dict):
            obj.update({k: v for k, v in extra.items() if v not in (None, "", [], {})})
        elif extra not in (None, "", [], {}):
            findings.append(
                MappingFinding(
                    self.file, spec.line, target, f"'merge' must give an object, not {extra!r}", src or None
                )
            )

    def _hl(
        self,
        spec: FieldSpec,
        ctx: Any,
        root: Any,
        target: str,
        src: str,
        findings: list[MappingFinding],
        out: list[dict[str, Any]],
        parent: str | None,
    ) -> None:
        """Append one level's HL loops, then their children's, numbering HL01/HL02/HL04 as it goes."""
        if spec.each is None:
            items: list[Any] = [ctx]
            here_src = src
        else:
            items = self._items(spec.each, ctx, root, spec, target, src, findings)
            here_src = f"{src}{spec.each.text}"
        for i, item in enumerate(items):
            where = f"{target}[{len(out)}]"
            if spec.when is not None and not self._eval(
                spec.when, item, root, spec, where, here_src, findings
            ):
                continue
            number = str(len(out) + 1)
            head = {"HL01": number, "HL02": parent, "HL03": spec.level, "HL04": "0"}
            if parent is None:
                del head["HL02"]
            at = len(out)
            out.append({"HL": head})
            out[at].update(self._object(spec.fields or {}, item, root, where, f"{here_src}[{i}].", findings))
            for child in spec.children or []:
                self._hl(child, item, root, target, f"{here_src}[{i}].", findings, out, number)
            if len(out) > at + 1:
                head["HL04"] = "1"


def _source_label(item: Any, path: str) -> str:
    """How findings name a source item: by its line when it says where it came from (a CSV row
    carries ``_line``), else by its path in the source document."""
    line = item.get("_line") if isinstance(item, dict) else None
    return f"line {line}." if isinstance(line, int) and not isinstance(line, bool) else path


def _compile_fields(
    node: _Node,
    file: str,
    schema: dict[str, Any] | None,
    obj: dict[str, Any] | None,
    where: str,
    tables: Tables,
) -> dict[str, FieldSpec]:
    if not isinstance(node.value, dict):
        raise MappingError(f"{file}:{node.line}: 'fields' must map target fields to expressions")
    props = obj.get("properties") if obj is not None else None
    out: dict[str, FieldSpec] = {}
    for name, sub in node.value.items():
        if props is not None and name not in props:
            close = difflib.get_close_matches(name, list(props), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MappingError(f"{file}:{sub.line}: {where or 'the target'} has no field {name!r}{hint}")
        child = _schema_node(schema, props.get(name)) if (schema is not None and props is not None) else None
        out[name] = _compile_spec(
            name, sub, file, schema, child, f"{where}.{name}" if where else name, tables
        )
    return out


def _expr(node: _Node, file: str, what: str, tables: Tables) -> Expression:
    file = node.file or file
    if not isinstance(node.value, str):
        raise MappingError(f"{file}:{node.line}: {what} must be an expression (text)")
    tables.require(node.value, file, node.line, Path(file))
    try:
        return Expression(node.value, tables.functions())
    except ExpressionError as exc:
        raise MappingError(f"{file}:{node.line}: {what}: {exc}") from None


def _compile_hl(name: str, node: _Node, file: str, tables: Tables, top: bool) -> FieldSpec:
    """One level of a ``hierarchy``: ``level``, ``fields``, ``each`` (below the top), ``when``, ``children``."""
    if not isinstance(node.value, dict):
        raise MappingError(
            f"{file}:{node.line}: {name}: a hierarchy level is a mapping with 'level' and 'fields'"
        )
    keys = node.value
    unknown = set(keys) - _HL_NODE
    if unknown:
        bad = sorted(unknown)[0]
        raise MappingError(
            f"{file}:{keys[bad].line}: {name}: unknown key {bad!r} (a hierarchy level takes {', '.join(sorted(_HL_NODE))})"
        )
    level = keys.get("level")
    if level is None or not isinstance(level.value, str) or not level.value.strip():
        raise MappingError(
            f"{file}:{node.line}: {name}: a hierarchy level needs 'level' (the HL03 code, e.g. S, O, P, I)"
        )
    if not top and "each" not in keys:
        raise MappingError(
            f"{file}:{node.line}: {name}: a child level needs 'each' (the items it is made from)"
        )
    spec = FieldSpec(name, node.line, node.file, level=level.value.strip())
    if "each" in keys:
        spec.each = _expr(keys["each"], file, f"{name}.each", tables)
    if "when" in keys:
        spec.when = _expr(keys["when"], file, f"{name}.when", tables)
    spec.fields = _compile_fields(keys["fields"], file, None, None, "", tables) if "fields" in keys else {}
    if "children" in keys:
        kids = keys["children"]
        if not isinstance(kids.value, list):
            raise MappingError(f"{file}:{kids.line}: {name}.children: a list of hierarchy levels")
        spec.children = [
            _compile_hl(
                f"{name}.{k.value.get('level', _Node('?', 0)).value if isinstance(k.value, dict) else '?'}",
                k,
                file,
                tables,
                False,
            )
            for k in kids.value
        ]
    return spec


def _compile_spec(
    name: str,
    node: _Node,
    file: str,
    schema: dict[str, Any] | None,
    obj: dict[str, Any] | None,
    where: str,
    tables: Tables,
) -> FieldSpec:
    if isinstance(node.value, str):
        return FieldSpec(name, node.line, node.file, expr=_expr(node, file, name, tables))
    if not isinstance(node.value, dict):
        raise MappingError(f"{file}:{node.line}: {name} must be an expression or a mapping with 'fields'")
    keys = node.value
    unknown = set(keys) - _SPEC
    if unknown:
        bad = sorted(unknown)[0]
        raise MappingError(
            f"{file}:{keys[bad].line}: {name}: unknown key {bad!r} (a field spec takes {', '.join(sorted(_SPEC))})"
        )
    spec = FieldSpec(name, node.line, node.file)
    if "items" in keys:
        if len(keys) != 1:
            raise MappingError(
                f"{file}:{node.line}: {name}: 'items' stands alone (put 'when' and 'each' on its parts)"
            )
        parts = keys["items"]
        if not isinstance(parts.value, list) or not parts.value:
            raise MappingError(f"{file}:{parts.line}: {name}.items: a list of parts (each a field spec)")
        spec.items = [
            _compile_spec(f"{name}[{i}]", part, file, schema, obj, where, tables)
            for i, part in enumerate(parts.value)
        ]
        return spec
    if "hierarchy" in keys:
        if len(keys) != 1:
            raise MappingError(
                f"{file}:{node.line}: {name}: 'hierarchy' stands alone (put 'when' and 'each' on its levels)"
            )
        spec.hierarchy = _compile_hl(name, keys["hierarchy"], file, tables, True)
        return spec
    if "when" in keys:
        spec.when = _expr(keys["when"], file, f"{name}.when", tables)
    if "each" in keys:
        spec.each = _expr(keys["each"], file, f"{name}.each", tables)
        if ("fields" in keys) == ("value" in keys):
            raise MappingError(f"{file}:{node.line}: {name}: 'each' needs either 'fields' or 'value'")
    elif "value" in keys:
        spec.expr = _expr(keys["value"], file, f"{name}.value", tables)
        return spec
    elif "fields" not in keys:
        raise MappingError(f"{file}:{node.line}: {name}: needs 'fields', 'each' or 'value'")
    if "merge" in keys:
        if "fields" not in keys:
            raise MappingError(
                f"{file}:{keys['merge'].line}: {name}: 'merge' adds to 'fields'; give 'fields' too"
            )
        spec.merge = _expr(keys["merge"], file, f"{name}.merge", tables)
    if "fields" in keys:
        spec.fields = _compile_fields(keys["fields"], file, schema, obj, where, tables)
    if "value" in keys:
        spec.value = _expr(keys["value"], file, f"{name}.value", tables)
    return spec


def _merge(base: _Node, child: _Node) -> _Node:
    """``extends``: the child's fields replace the base's; nested field specs merge key by key."""
    if isinstance(base.value, dict) and isinstance(child.value, dict):
        merged = dict(base.value)
        for k, v in child.value.items():
            merged[k] = _merge(merged[k], v) if k in merged else v
        return _Node(merged, child.line, child.file)
    if isinstance(base.value, list) and isinstance(child.value, list) and _levels(base) and _levels(child):
        # hierarchy ``children``: levels merge by their ``level`` code, new levels are added
        by_level = {_levels(child)[i]: item for i, item in enumerate(child.value)}
        out = [
            _merge(item, by_level.pop(lvl)) if lvl in by_level else item
            for lvl, item in zip(_levels(base), base.value, strict=True)
        ]
        out += [item for item in child.value if _level_of(item) in by_level]
        return _Node(out, child.line, child.file)
    return child


def _level_of(node: _Node) -> str | None:
    if isinstance(node.value, dict) and isinstance(node.value.get("level"), _Node):
        return str(node.value["level"].value)
    return None


def _levels(node: _Node) -> list[str]:
    """The level codes of a list of hierarchy levels, or [] when it is not one (or repeats a level)."""
    levels = [_level_of(item) for item in node.value]
    if not levels or any(lvl is None for lvl in levels) or len(set(levels)) != len(levels):
        return []
    return [str(lvl) for lvl in levels]


def _read(path: Path, depth: int = 0) -> _Node:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}:1: cannot read the mapping: {exc.strerror or exc}") from None
    node = _load_yaml(text, str(path))
    if not isinstance(node.value, dict):
        raise MappingError(f"{path}:{node.line}: a mapping file is a YAML mapping with 'fields'")
    unknown = set(node.value) - _TOP
    if unknown:
        bad = sorted(unknown)[0]
        raise MappingError(
            f"{path}:{node.value[bad].line}: unknown key {bad!r} (a mapping takes {', '.join(sorted(_TOP))})"
        )
    if "extends" in node.value:
        if depth > 5:
            raise MappingError(f"{path}:{node.value['extends'].line}: 'extends' nests too deep")
        base = _read(path.parent / str(node.value["extends"].value), depth + 1)
        merged = _merge(base, _Node({k: v for k, v in node.value.items() if k != "extends"}, node.line))
        return merged
    return node


def load_mapping(path: str | Path) -> Mapping:
    """Load, check and compile a mapping file. Raises :class:`MappingError` naming file:line."""
    p = Path(path)
    node = _read(p)
    top: dict[str, _Node] = node.value
    for key in ("source", "target", "fields"):
        if key not in top:
            raise MappingError(f"{p}:{node.line}: the mapping needs {key!r}")
    target = str(top["target"].value)
    source = str(top["source"].value)
    schema: dict[str, Any] | None = None
    if target in KINDS:
        schema = json_schema(target)
    elif "/" not in target:  # x12/<set>, or a connector's record such as sap/A_SalesOrder (plain JSON)
        raise MappingError(
            f"{p}:{top['target'].line}: target {target!r} is neither a canonical document ({', '.join(sorted(KINDS))}) nor x12/<set> nor a connector's record such as sap/A_SalesOrder"
        )
    tables = Tables(p)
    fields = _compile_fields(top["fields"], str(p), schema, schema, "" if schema is None else target, tables)
    each = _expr(top["each"], str(p), "each", tables) if "each" in top else None
    name = str(top["mapping"].value) if "mapping" in top else p.stem
    return Mapping(name, source, target, fields, str(p), each, top["each"].line if "each" in top else 1)


__all__ = ["FieldSpec", "Mapping", "MappingError", "MappingFinding", "MappingResult", "load_mapping"]
