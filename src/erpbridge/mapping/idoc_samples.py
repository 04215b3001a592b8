"""Sample cases of IDoc mappings (``erpbridge map test``), beside the mapping like the X12 ones:

- inbound (``source: idoc/ORDERS05``, or ``idoc/SHPORD.DELVRY07`` for one message type only):
  ``CASE.input.xml``, an IDoc XML file, and ``CASE.expected.json``, the documents the mapping must
  make from its IDocs of that type, in order (with ``meta``);
- outbound (``target: idoc/ORDERS05``): ``CASE.input.json`` (a document or a list) and
  ``CASE.expected.xml``. Each output IDoc takes the expected file's control record (DOCNUM, ports,
  partners) under the fields the mapping fills itself, is written by the validating writer, and is
  compared segment by segment: one line per segment, its fields in order.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ..errors import ModelError
from ..formats.idoc import decode, write
from .engine import Mapping
from .meta import idoc_meta


def idoc_kind(spec: str) -> tuple[str | None, str]:
    """``idoc/SHPORD.DELVRY07`` -> ("SHPORD", "DELVRY07"); ``idoc/ORDERS05`` -> (None, "ORDERS05")."""
    name = spec.split("/", 1)[1] if "/" in spec else spec
    mestyp, _, idoctyp = name.rpartition(".")
    return (mestyp or None), idoctyp


def matches(spec: str, idoc: dict[str, Any]) -> bool:
    """Whether an IDoc is of the type (and message type) a mapping's ``source`` names."""
    mestyp, idoctyp = idoc_kind(spec)
    control = idoc.get("EDI_DC40") or {}
    return control.get("IDOCTYP") == idoctyp and (mestyp is None or control.get("MESTYP") == mestyp)


def segment_lines(tree: dict[str, Any]) -> list[str]:
    """An IDoc file's segments, one line each (indented by depth), with their fields in order."""
    out: list[str] = []

    def walk(name: str, seg: dict[str, Any], depth: int) -> None:
        fields = " ".join(f"{k}={v}" for k, v in seg.items() if not isinstance(v, dict | list))
        out.append(f"{'  ' * depth}{name} {fields}".rstrip())
        for k, v in seg.items():
            for child in v if isinstance(v, list) else [v] if isinstance(v, dict) else []:
                walk(k, child, depth + 1)

    for n, idoc in enumerate(tree["idocs"], 1):
        out.append(f"IDOC {n}")
        for k, v in idoc.items():
            for seg in v if isinstance(v, list) else [v]:
                walk(k, seg, 1)
    return out


def run_idoc_case(mapping: Mapping, case: Any, result: Any) -> None:
    from .samples import _json_lines, _normal

    if mapping.source.startswith("idoc/"):
        decoded = decode(case.input.read_bytes(), source=str(case.input))
        for f in decoded.errors:
            result.problems.append(f"{case.input}: {f}")
        produced: list[Any] = []
        idocs = [i for i in decoded.document["idocs"] if matches(mapping.source, i)]
        for n, idoc in enumerate(idocs, 1):
            applied = mapping.apply(idoc, idoc_meta(idoc))
            for finding in applied.findings:
                result.problems.append(f"{case.input}: IDoc {n}: {finding}")
            produced.append(applied.document)
        expected = json.loads(case.expected.read_text(encoding="utf-8"))
        expected = expected if isinstance(expected, list) else [expected]
        try:
            expected = [_normal(mapping.target, d) for d in expected]
        except ModelError as exc:
            result.problems.append(f"{case.expected}: not a valid {mapping.target}: {exc}")
            return
        produced = [_normal(mapping.target, d) if d is not None else None for d in produced]
        if produced != expected:
            result.diff = list(
                difflib.unified_diff(
                    _json_lines(expected),
                    _json_lines(produced),
                    str(case.expected),
                    "mapping output",
                    lineterm="",
                )
            )
        return
    given = json.loads(case.input.read_text(encoding="utf-8"))
    docs = given if isinstance(given, list) else [given]
    wanted = decode(case.expected.read_bytes(), source=str(case.expected)).document
    if len(wanted["idocs"]) != len(docs):
        result.problems.append(
            f"{case.name}: {case.input.name} holds {len(docs)} document(s) but {case.expected.name} has "
            f"{len(wanted['idocs'])} IDoc(s)"
        )
        return
    made: list[dict[str, Any]] = []
    for n, (doc, slot) in enumerate(zip(docs, wanted["idocs"], strict=True), 1):
        applied = mapping.apply(doc)
        for finding in applied.findings:
            result.problems.append(f"{case.input}: document {n}: {finding}")
        if applied.document is None:
            return
        control = {**slot["EDI_DC40"], **(applied.document.get("EDI_DC40") or {})}
        made.append({**applied.document, "EDI_DC40": control})
    written = write({"root": wanted["root"], "idocs": made})
    for f in written.errors:
        result.problems.append(f"{case.name}: the writer refuses the output: {f}")
    if written.data is None:
        return
    produced_lines = segment_lines(decode(written.data).document)
    normal = write(wanted)  # the expected file as the writer puts it: segments and fields in the type's order
    for f in normal.errors:
        result.problems.append(f"{case.expected}: {f}")
    if normal.data is None:
        return
    wanted_lines = segment_lines(decode(normal.data).document)
    if produced_lines != wanted_lines:
        result.diff = list(
            difflib.unified_diff(
                wanted_lines, produced_lines, str(case.expected), "mapping output", lineterm=""
            )
        )


__all__ = ["idoc_kind", "matches", "run_idoc_case", "segment_lines"]
