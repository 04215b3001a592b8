"""Sample cases kept beside a mapping, and the check that runs them (``erpbridge map test``).

For ``mappings/x12/856-to-ship-notice.yaml`` the cases live in ``856-to-ship-notice.samples/``:

- inbound (X12 → canonical): ``CASE.input.edi`` and ``CASE.expected.json``, the list of documents the
  mapping must make from the sets of the interchange, in order;
- outbound (canonical → X12): ``CASE.input.json`` (a document or a list) and ``CASE.expected.edi``.
  The output sets are put in the expected file's envelope (its ISA, GS and each set's ST02), written by
  the validating writer and compared segment by segment;
- canonical → a connector's record (``target: sap/A_SalesOrder``): ``CASE.input.json`` (a document or
  a list) and ``CASE.expected.json``, the list of records, compared as JSON.

A failing case says why in a readable unified diff (JSON lines, or one X12 segment per line).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ErpBridgeError, ModelError
from ..formats.csvrows import read_csv
from ..formats.x12 import decode, encode
from ..formats.x12.lexer import Lexer, Segment
from ..model import KINDS, from_json, to_json
from .engine import Mapping
from .meta import x12_meta

SAMPLES_SUFFIX = ".samples"


@dataclass(frozen=True)
class SampleCase:
    name: str
    input: Path
    expected: Path


@dataclass
class CaseResult:
    case: SampleCase
    problems: list[str] = field(default_factory=list)  # findings, unreadable files
    diff: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.diff


def samples_dir(mapping_file: Path) -> Path:
    return mapping_file.with_name(mapping_file.stem + SAMPLES_SUFFIX)


def sample_cases(mapping_file: Path) -> tuple[list[SampleCase], list[str]]:
    """The cases beside a mapping, and complaints about files that do not pair up."""
    folder = samples_dir(mapping_file)
    if not folder.is_dir():
        return [], []
    cases, complaints = [], []
    inputs = sorted(p for p in folder.iterdir() if ".input." in p.name)
    for inp in inputs:
        name = inp.name.split(".input.", 1)[0]
        expected = [p for p in folder.iterdir() if p.name.startswith(name + ".expected.")]
        if len(expected) != 1:
            complaints.append(
                f"{inp}: needs exactly one {name}.expected.json or {name}.expected.edi beside it"
            )
            continue
        cases.append(SampleCase(name, inp, expected[0]))
    names = {i.name.split(".input.", 1)[0] for i in inputs}
    for p in sorted(folder.iterdir()):
        if ".expected." in p.name and p.name.split(".expected.", 1)[0] not in names:
            complaints.append(f"{p}: no {p.name.split('.expected.', 1)[0]}.input.* beside it")
    return cases, complaints


def _normal(kind: str, doc: Any) -> Any:
    """A canonical document as the model writes it (so ``"9.5"`` and ``"9.50"`` compare as they should)."""
    return to_json(from_json(kind, doc)) if kind in KINDS else doc


def _json_lines(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def _segments(data: bytes) -> list[str]:
    lx = Lexer()
    lx.feed(data)
    lx.close()
    return ["*".join(t.elements) for t in lx.tokens() if isinstance(t, Segment)]


def _envelopes(view: dict[str, Any], source: str) -> list[tuple[Any, Any, dict[str, Any]]]:
    want = source.split("/", 1)[1]
    return [
        (inter, group, tset)
        for inter in view["interchanges"]
        for group in inter["groups"]
        for tset in group["sets"]
        if str(tset.get("ST", {}).get("ST01")) == want
    ]


def run_case(mapping: Mapping, case: SampleCase) -> CaseResult:
    result = CaseResult(case)
    try:
        if case.input.name.lower().endswith(".csv"):
            _csv(mapping, case, result)
        elif mapping.source.startswith("idoc/") or mapping.target.startswith("idoc/"):
            from .idoc_samples import run_idoc_case  # IDoc XML cases (docs/idoc.md)

            run_idoc_case(mapping, case, result)
        elif mapping.source.startswith("x12/"):
            _inbound(mapping, case, result)
        elif mapping.target.startswith("x12/"):
            _outbound(mapping, case, result)
        else:
            _records(mapping, case, result)
    except (OSError, ValueError) as exc:  # unreadable sample files, bad JSON
        result.problems.append(f"{case.name}: cannot read a sample file: {exc}")
    except ErpBridgeError as exc:
        result.problems.append(f"{case.name}: {exc}")
    return result


def _inbound(mapping: Mapping, case: SampleCase, result: CaseResult) -> None:
    decoded = decode(case.input.read_bytes())
    for f in decoded.findings:
        if f.severity == "error":
            result.problems.append(f"{case.input}:{f.location.line or '?'}: {f}")
    produced: list[Any] = []
    for n, (inter, group, tset) in enumerate(_envelopes(decoded.document, mapping.source)):
        applied = mapping.apply(tset, x12_meta(inter, group, tset))
        for finding in applied.findings:
            result.problems.append(f"{case.input}: set {n + 1}: {finding}")
        produced.append(applied.document)
    _compare_documents(mapping, case, result, produced)


def _csv(mapping: Mapping, case: SampleCase, result: CaseResult) -> None:
    """``CASE.input.csv`` (UTF-8, delimiter sniffed: :mod:`erpbridge.formats.csvrows`) and
    ``CASE.expected.json``: the documents the mapping makes from ``{"file": ..., "rows": [...]}`` (one
    per item of a top-level ``each``), compared as the model writes them."""
    table = read_csv(case.input.read_bytes(), file=str(case.input))
    produced: list[Any] = []
    for n, applied in enumerate(mapping.apply_all(table.view(case.input.name))):
        for finding in applied.findings:
            result.problems.append(f"{case.input}: document {n + 1}: {finding}")
        produced.append(applied.document)
    _compare_documents(mapping, case, result, produced)


def _compare_documents(mapping: Mapping, case: SampleCase, result: CaseResult, produced: list[Any]) -> None:
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    if not isinstance(expected, list):
        expected = [expected]
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


def _outbound(mapping: Mapping, case: SampleCase, result: CaseResult) -> None:
    given = json.loads(case.input.read_text(encoding="utf-8"))
    docs = given if isinstance(given, list) else [given]
    expected_bytes = case.expected.read_bytes()
    view = decode(expected_bytes, validate=False).document
    slots = [tset for inter in view["interchanges"] for group in inter["groups"] for tset in group["sets"]]
    if len(slots) != len(docs):
        result.problems.append(
            f"{case.name}: {case.input.name} holds {len(docs)} document(s) but {case.expected.name} has {len(slots)} set(s)"
        )
        return
    made: list[dict[str, Any]] = []
    for n, doc in enumerate(docs):
        applied = mapping.apply(doc)
        for finding in applied.findings:
            result.problems.append(f"{case.input}: document {n + 1}: {finding}")
        if applied.document is None:
            return
        made.append(applied.document)
    i = 0
    for inter in view["interchanges"]:
        for group in inter["groups"]:
            for s, tset in enumerate(group["sets"]):
                group["sets"][s] = {
                    **made[i],
                    "ST": {**made[i].get("ST", {}), "ST02": tset["ST"].get("ST02")},
                }
                i += 1
    produced = _segments(encode(view))
    wanted = _segments(expected_bytes)
    if produced != wanted:
        result.diff = list(
            difflib.unified_diff(wanted, produced, str(case.expected), "mapping output", lineterm="")
        )


def _records(mapping: Mapping, case: SampleCase, result: CaseResult) -> None:
    """Canonical documents to a connector's records (JSON), compared as JSON."""
    given = json.loads(case.input.read_text(encoding="utf-8"))
    produced: list[Any] = []
    for n, doc in enumerate(given if isinstance(given, list) else [given]):
        applied = mapping.apply(doc)
        for finding in applied.findings:
            result.problems.append(f"{case.input}: document {n + 1}: {finding}")
        produced.append(applied.document)
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    expected = expected if isinstance(expected, list) else [expected]
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


__all__ = ["CaseResult", "SampleCase", "run_case", "sample_cases", "samples_dir"]
