"""Write IDoc XML from the tree the reader makes (objects in, bytes out; no I/O).

The writer puts segments in the basic type's order (whatever order the dicts hold them in) and
fields in each segment's order, checks every field against the type's schema and every segment's
occurrences, and writes nothing when something is wrong: each problem is an :class:`IdocFinding`
that names the IDoc, the segment and the field, so that a mapping that makes a bad IDoc is told
here, not by SAP later. :func:`encode` raises :class:`~erpbridge.errors.IdocWriteError` instead.

DOCNUMs: give ``docnums`` (one per IDoc: the ledger allocates them, so they never repeat); they are
written as 16 digits. Without it, each control record's DOCNUM is written as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from ...errors import IdocWriteError
from .findings import IdocFinding
from .schema import CONTROL, KNOWN_TYPES, SegmentDef, field_lengths, idoc_type

_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
DOCNUM_WIDTH = 16


@dataclass
class IdocWritten:
    """The XML (None when there were errors) and the findings."""

    data: bytes | None
    findings: list[IdocFinding] = field(default_factory=list)

    @property
    def errors(self) -> list[IdocFinding]:
        return [f for f in self.findings if f.severity == "error"]


class _Out:
    def __init__(self, index: int, docnum: str | None, findings: list[IdocFinding]) -> None:
        self.index, self.docnum, self.findings = index, docnum, findings
        self.lines: list[str] = []
        self.extension = False

    def add(self, severity: Any, message: str, segment: str | None, fld: str | None = None) -> None:
        self.findings.append(IdocFinding(severity, message, self.index, self.docnum, segment, fld))


def _text(value: Any, seg: str, name: str, path: str, out: _Out) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool | float):
        out.add("error", f"{name} is {value!r}; IDoc fields are text (give a string)", path, name)
        return None
    if isinstance(value, int | Decimal):
        value = format(value, "f") if isinstance(value, Decimal) else str(value)
    if not isinstance(value, str):
        out.add("error", f"{name} is {type(value).__name__}; IDoc fields are text", path, name)
        return None
    if _BAD_CHAR.search(value):
        out.add("error", f"{name} holds a control character that XML cannot carry", path, name)
        return None
    return value


def _fields(
    seg: str, lengths: dict[str, int] | None, values: Mapping[str, Any], path: str, depth: int, out: _Out
) -> None:
    pad = "  " * depth
    names = list(lengths or {}) + [k for k in values if lengths is None or k not in lengths]
    for name in names:
        if name not in values or isinstance(values[name], dict | list):
            continue
        if lengths is not None and name not in lengths:
            out.add(
                "error",
                f"{seg} has no field {name} in erpbridge's schema (segments.yaml); check the name",
                path,
                name,
            )
            continue
        if not _NAME.match(name):
            out.add("error", f"{name!r} is not a name XML can carry", path, name)
            continue
        value = _text(values[name], seg, name, path, out)
        if value is None:
            continue
        if lengths is not None and len(value) > lengths[name]:
            out.add(
                "error",
                f"{name} has {len(value)} characters ({value!r}); {seg}-{name} holds at most {lengths[name]}",
                path,
                name,
            )
            continue
        out.lines.append(f"{pad}<{name}>{escape(value)}</{name}>")


def _items(value: Any, name: str, path: str, out: _Out) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    good = []
    for n, item in enumerate(items, 1):
        if isinstance(item, Mapping):
            good.append(item)
        else:
            out.add(
                "error",
                f"{name} must be an object of fields (or a list of them), not {item!r}",
                f"{path}{name}[{n}]",
            )
    return good


def _segment(
    name: str,
    sdef: SegmentDef | None,
    values: Mapping[str, Any],
    path: str,
    depth: int,
    type_name: str,
    out: _Out,
) -> None:
    pad = "  " * depth
    if not _NAME.match(name):
        out.add("error", f"{name!r} is not a segment name XML can carry", path)
        return
    out.lines.append(f'{pad}<{name} SEGMENT="1">')
    _fields(name, sdef.fields if sdef is not None else None, values, path, depth + 1, out)
    _children(
        sdef.children if sdef is not None else {}, sdef is None, name, values, path, depth + 1, type_name, out
    )
    out.lines.append(f"{pad}</{name}>")


def _children(
    known: dict[str, SegmentDef],
    generic: bool,
    parent: str,
    values: Mapping[str, Any],
    path: str,
    depth: int,
    type_name: str,
    out: _Out,
) -> None:
    prefix = f"{path}/" if path else ""
    for name, child in known.items():
        items = _items(values[name], name, prefix, out) if values.get(name) not in (None, [], {}) else []
        if len(items) < child.min:
            out.add("error", f"{name} is missing; {type_name} needs it under {parent}", path or None)
        if len(items) > child.max:
            out.add(
                "error",
                f"{name} occurs {len(items)} times; {type_name} allows {child.max} under {parent}",
                path or None,
            )
        for n, item in enumerate(items, 1):
            _segment(name, child, item, f"{prefix}{name}[{n}]", depth, type_name, out)
    for name, value in values.items():
        if name in known or not isinstance(value, dict | list) or value in ([], {}):
            continue
        if isinstance(value, list) and not any(isinstance(v, Mapping) for v in value):
            out.add(
                "error",
                f"{name} holds several values {value!r}; a field takes one (check the mapping's expression)",
                path or None,
                name,
            )
            continue
        if not generic and not out.extension:
            out.add(
                "error",
                f"{name} is not a segment of {parent} in {type_name}; name an extension type in "
                "EDI_DC40-CIMTYP to write extension segments",
                f"{prefix}{name}",
            )
            continue
        for n, item in enumerate(_items(value, name, prefix, out), 1):
            _segment(name, None, item, f"{prefix}{name}[{n}]", depth, type_name, out)


def _docnum(value: Any, out: _Out) -> str | None:
    text = str(value)
    if not text.isdigit() or len(text) > DOCNUM_WIDTH:
        out.add(
            "error", f"DOCNUM {value!r} is not a number of at most {DOCNUM_WIDTH} digits", CONTROL, "DOCNUM"
        )
        return None
    return text.zfill(DOCNUM_WIDTH)


def _idocs(document: Any) -> tuple[str | None, list[Any]]:
    if isinstance(document, Mapping) and "idocs" in document:
        return document.get("root"), list(document["idocs"] or [])
    if isinstance(document, Mapping):
        return None, [document]
    if isinstance(document, list):
        return None, list(document)
    return None, [document]


def write(document: Any, *, docnums: Sequence[int | str] | None = None) -> IdocWritten:
    """Write ``document`` (``{"root": ..., "idocs": [...]}``, a list of IDocs, or one IDoc) as IDoc XML."""
    root, idocs = _idocs(document)
    findings: list[IdocFinding] = []
    if not idocs:
        findings.append(IdocFinding("error", "there is no IDoc to write"))
        return IdocWritten(None, findings)
    if docnums is not None and len(docnums) != len(idocs):
        findings.append(IdocFinding("error", f"{len(docnums)} DOCNUM(s) given for {len(idocs)} IDoc(s)"))
        return IdocWritten(None, findings)
    body: list[str] = []
    types: list[str] = []
    for index, idoc in enumerate(idocs, 1):
        out = _Out(index, None, findings)
        if not isinstance(idoc, Mapping) or not isinstance(idoc.get(CONTROL), Mapping):
            out.add("error", "an IDoc needs its control record EDI_DC40 (an object of fields)", CONTROL)
            continue
        control = dict(idoc[CONTROL])
        if docnums is not None:
            control["DOCNUM"] = _docnum(docnums[index - 1], out)
        elif control.get("DOCNUM") not in (None, ""):
            control["DOCNUM"] = _docnum(control["DOCNUM"], out)
        out.docnum = control.get("DOCNUM")
        control.setdefault("TABNAM", CONTROL)
        type_name = str(control.get("IDOCTYP") or "")
        schema = idoc_type(type_name) if type_name else None
        if schema is None:
            out.add(
                "error",
                f"EDI_DC40-IDOCTYP must name a basic type erpbridge writes ({', '.join(KNOWN_TYPES)}), not {type_name!r}",
                CONTROL,
                "IDOCTYP",
            )
            continue
        types.append(type_name)
        out.extension = bool(control.get("CIMTYP")) or (root is not None and root != type_name)
        out.lines.append('  <IDOC BEGIN="1">')
        out.lines.append(f'    <{CONTROL} SEGMENT="1">')
        _fields(CONTROL, field_lengths()[CONTROL], control, CONTROL, 3, out)
        out.lines.append(f"    </{CONTROL}>")
        body_values = {k: v for k, v in idoc.items() if k != CONTROL}
        for k, v in body_values.items():
            if not isinstance(v, dict | list) and v not in (None, ""):
                out.add("error", f"{k} sits directly in the IDoc; fields belong in a segment", k)
        _children(schema.segments, False, type_name, body_values, "", 2, type_name, out)
        out.lines.append("  </IDOC>")
        body.extend(out.lines)
    if len(set(types)) > 1:
        findings.append(
            IdocFinding(
                "error", f"one file holds one basic type; these IDocs are {', '.join(sorted(set(types)))}"
            )
        )
    if any(f.severity == "error" for f in findings):
        return IdocWritten(None, findings)
    first = dict(idocs[0][CONTROL])
    root_name = root or str(first.get("CIMTYP") or first["IDOCTYP"])
    text = "\n".join(
        ['<?xml version="1.0" encoding="UTF-8"?>', f"<{root_name}>", *body, f"</{root_name}>", ""]
    )
    return IdocWritten(text.encode("utf-8"), findings)


def encode(document: Any, *, docnums: Sequence[int | str] | None = None) -> bytes:
    """Like :func:`write`, but raise :class:`~erpbridge.errors.IdocWriteError` listing the errors."""
    result = write(document, docnums=docnums)
    if result.data is None:
        errors = result.errors
        shown = "; ".join(str(f) for f in errors[:5]) + (
            f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        )
        raise IdocWriteError(f"the IDoc is not written: {shown}", findings=errors)
    return result.data


__all__ = ["DOCNUM_WIDTH", "IdocWritten", "encode", "write"]
