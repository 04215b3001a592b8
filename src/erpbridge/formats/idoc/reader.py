"""Read IDoc XML into the plain tree that mappings walk (bytes in, objects out; no I/O).

The tree, for a file with one or more IDocs::

    {"root": "ORDERS05",                         # the root element (the basic or extension type)
     "idocs": [
       {"EDI_DC40": {"TABNAM": "EDI_DC40", "DOCNUM": "0000000000004711", "IDOCTYP": "ORDERS05", ...},
        "E1EDK01": {"CURCY": "USD", "BELNR": "4500012345"},            # a segment that occurs once
        "E1EDK14": [{"QUALF": "008", "ORGID": "1000"}],                 # one that may repeat: a list
        "E1EDP01": [{"POSEX": "000010", "MENGE": "24.000",
                     "E1EDP19": [{"QUALF": "002", "IDTNR": "NW-TS-BLK-S"}]}]}]}   # children nested

Rules, as for the X12 JSON view: a segment whose schema allows one occurrence is an object, one that
may repeat is a list even when it occurs once; fields are text, keyed by their SAP name; empty fields
are left out; child segments sit inside their parent under their own name. Segments the schema does
not know (extension segments) are kept, as lists, wherever they occurred.

Unreadable input (not XML, not IDoc XML, a DTD or entity) raises an :class:`~erpbridge.errors.IdocError`;
everything else is an :class:`IdocFinding`: too long a field, a missing mandatory segment, a segment
too often, an unknown field or segment (a warning), segments out of the type's order (a warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import IdocSyntaxError
from .findings import IdocFinding
from .schema import CONTROL, KNOWN_TYPES, IdocType, SegmentDef, field_lengths, idoc_type
from .xmlsafe import Node, parse


@dataclass
class IdocDecoded:
    """The tree of a file's IDocs, and what is wrong with them."""

    document: dict[str, Any]
    findings: list[IdocFinding] = field(default_factory=list)

    @property
    def errors(self) -> list[IdocFinding]:
        return [f for f in self.findings if f.severity == "error"]


class _Ctx:
    def __init__(self, index: int, findings: list[IdocFinding]) -> None:
        self.index, self.docnum, self.findings = index, None, findings
        self.extension = False

    def add(
        self, severity: Any, message: str, segment: str | None, fld: str | None, line: int | None
    ) -> None:
        self.findings.append(IdocFinding(severity, message, self.index, self.docnum, segment, fld, line))


def _is_segment(node: Node, known: dict[str, SegmentDef]) -> bool:
    return node.tag in known or "SEGMENT" in node.attrs or bool(node.children)


def _read_segment(
    node: Node, sdef: SegmentDef | None, path: str, type_name: str, ctx: _Ctx
) -> dict[str, Any]:
    """A segment's fields (in order) and its child segments (by name, in schema order)."""
    known = sdef.children if sdef is not None else {}
    fields = sdef.fields if sdef is not None else None
    out: dict[str, Any] = {}
    kids: dict[str, list[tuple[Node, dict[str, Any]]]] = {}
    order = list(known)
    last_rank, warned = -1, False
    if node.value.strip():
        ctx.add("error", f"{node.tag} holds text outside its fields", path, None, node.line)
    for child in node.children:
        if _is_segment(child, known):
            name = child.tag
            n = len(kids.get(name, [])) + 1
            here = f"{path}/{name}[{n}]" if path else f"{name}[{n}]"
            child_def = known.get(name)
            if child_def is None:
                where = f"{node.tag}" if path else type_name
                ctx.add(
                    "warning",
                    f"{name} is not a segment of {where} in {type_name}; kept as read (an extension segment?)",
                    here,
                    None,
                    child.line,
                )
            else:
                rank = order.index(name)
                if rank < last_rank and not warned:
                    ctx.add(
                        "warning",
                        f"{name} comes after {order[last_rank]}, but {type_name} puts it before "
                        "(the writer puts segments in the type's order)",
                        here,
                        None,
                        child.line,
                    )
                    warned = True
                last_rank = max(last_rank, rank)
            kids.setdefault(name, []).append((child, _read_segment(child, child_def, here, type_name, ctx)))
            continue
        if child.tag in out:
            ctx.add("error", f"{child.tag} is given twice in {node.tag}", path, child.tag, child.line)
            continue
        value = child.value
        if value == "":
            continue
        if fields is not None:
            limit = fields.get(child.tag)
            if limit is None:
                ctx.add(
                    "warning",
                    f"{child.tag} is not a field of {node.tag} in erpbridge's schema (segments.yaml)",
                    path,
                    child.tag,
                    child.line,
                )
            elif len(value) > limit:
                ctx.add(
                    "error",
                    f"{child.tag} has {len(value)} characters, more than the {limit} that {node.tag}-{child.tag} holds",
                    path,
                    child.tag,
                    child.line,
                )
        out[child.tag] = value
    for name, child_def in known.items():
        found = kids.get(name, [])
        if len(found) < child_def.min:
            ctx.add(
                "error",
                f"{name} is missing; {type_name} needs {child_def.min} under {node.tag if path else 'the IDoc'}",
                path or None,
                None,
                node.line,
            )
        if len(found) > child_def.max:
            ctx.add(
                "error",
                f"{name} occurs {len(found)} times; {type_name} allows {child_def.max}",
                path or None,
                None,
                found[child_def.max][0].line,
            )
    ordered = [n for n in known if n in kids] + [n for n in kids if n not in known]
    for name in ordered:
        values = [v for _, v in kids[name]]
        child_def = known.get(name)
        out[name] = values[0] if child_def is not None and child_def.max == 1 and len(values) == 1 else values
    return out


def _read_control(node: Node, ctx: _Ctx) -> dict[str, Any]:
    lengths = field_lengths()[CONTROL]
    out: dict[str, Any] = {}
    for child in node.children:
        if child.children:
            ctx.add(
                "error",
                f"{child.tag} in EDI_DC40 holds elements; the control record has fields only",
                CONTROL,
                child.tag,
                child.line,
            )
            continue
        value = child.value
        if value == "":
            continue
        limit = lengths.get(child.tag)
        if limit is None:
            ctx.add(
                "warning",
                f"{child.tag} is not a field of the control record EDI_DC40",
                CONTROL,
                child.tag,
                child.line,
            )
        elif len(value) > limit:
            ctx.add(
                "error",
                f"{child.tag} has {len(value)} characters, more than the {limit} that EDI_DC40-{child.tag} holds",
                CONTROL,
                child.tag,
                child.line,
            )
        out[child.tag] = value
    return out


def _read_idoc(node: Node, root: str, index: int, findings: list[IdocFinding]) -> dict[str, Any]:
    ctx = _Ctx(index, findings)
    controls = [c for c in node.children if c.tag == CONTROL]
    control = _read_control(controls[0], ctx) if controls else {}
    ctx.docnum = control.get("DOCNUM")
    if not controls:
        ctx.add("error", "the IDoc has no control record EDI_DC40", None, None, node.line)
    elif len(controls) > 1:
        ctx.add(
            "error", "the IDoc has more than one control record EDI_DC40", CONTROL, None, controls[1].line
        )
    elif node.children[0] is not controls[0]:
        ctx.add("warning", "EDI_DC40 is not the first element of the IDoc", CONTROL, None, controls[0].line)
    type_name = str(control.get("IDOCTYP") or root)
    schema: IdocType | None = idoc_type(type_name)
    if schema is None:
        ctx.add(
            "error",
            f"erpbridge has no schema for the basic type {type_name!r} (it knows {', '.join(KNOWN_TYPES)})",
            CONTROL,
            "IDOCTYP",
            controls[0].line if controls else node.line,
        )
    elif control.get("MESTYP") and control["MESTYP"] not in schema.messages:
        ctx.add(
            "warning",
            f"message type {control['MESTYP']!r} is not one SAP sends as {type_name} ({', '.join(schema.messages)})",
            CONTROL,
            "MESTYP",
            controls[0].line,
        )
    body = Node(node.tag, node.attrs, node.line, [c for c in node.children if c.tag != CONTROL], node.text)
    top = SegmentDef("IDOC", {}, 1, 1, schema.segments if schema is not None else {})
    tree = _read_segment(body, top, "", type_name, ctx)
    return {CONTROL: control, **tree}


def decode(data: bytes, *, source: str | None = None) -> IdocDecoded:
    """Read an IDoc XML file (one or more IDocs) into its tree, with findings.

    Raises :class:`~erpbridge.errors.IdocSyntaxError` when the input is not XML or not IDoc XML, and
    :class:`~erpbridge.errors.IdocSecurityError` when it declares a DTD or entities.
    """
    root = parse(data, source=source)
    idocs = [c for c in root.children if c.tag == "IDOC"]
    if not idocs:
        raise IdocSyntaxError(
            f"not IDoc XML: the root element <{root.tag}> holds no <IDOC> element "
            '(IDoc XML is <BASICTYPE><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">...)',
            file=source,
            line=root.line,
        )
    findings: list[IdocFinding] = []
    for other in root.children:
        if other.tag != "IDOC":
            findings.append(
                IdocFinding(
                    "error",
                    f"<{other.tag}> under <{root.tag}> is not an IDOC; it was left out",
                    line=other.line,
                )
            )
    if root.value.strip():
        findings.append(IdocFinding("error", f"<{root.tag}> holds text outside its IDocs", line=root.line))
    out = [_read_idoc(node, root.tag, n, findings) for n, node in enumerate(idocs, 1)]
    return IdocDecoded({"root": root.tag, "idocs": out}, findings)


__all__ = ["IdocDecoded", "decode"]
