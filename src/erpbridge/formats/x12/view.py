"""The JSON view of an interchange (documented in docs/x12-schemas.md), built from reader events.

The view is what mappings read and what the writer writes. Building it keeps the whole input in
memory; for large files consume :class:`~erpbridge.formats.x12.reader.X12Reader` events instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import (
    Event,
    GroupEnd,
    GroupStart,
    InterchangeEnd,
    InterchangeStart,
    LoopEnd,
    LoopStart,
    SetEnd,
    SetStart,
)
from .findings import Finding
from .lexer import Segment
from .reader import read
from .schema import LoopNode, Overlay

JSON = dict[str, Any]


def element_value(raw: str, component: str, repetition: str | None) -> Any:
    """One element's JSON value: a string, a list of components, or a list of repetitions."""
    if repetition is not None and repetition in raw:
        return [r.split(component) for r in raw.split(repetition)]
    if component in raw:
        return raw.split(component)
    return raw


def segment_json(seg: Segment) -> JSON:
    d = seg.dialect
    sid = seg.elements[0]
    out: JSON = {}
    comp, rep = d.component, d.repetition
    for i, raw in enumerate(seg.elements[1:], start=1):
        if raw:
            out[f"{sid}{i:02d}"] = (
                element_value(raw, comp, rep) if (comp in raw or (rep and rep in raw)) else raw
            )
    return out


def envelope_json(seg: Segment) -> JSON:
    """Envelope segments keep every element, even blank fixed-width ones (ISA02 is ten spaces)."""
    sid = seg.elements[0]
    if sid == "ISA":
        return {f"ISA{i:02d}": v for i, v in enumerate(seg.elements[1:], start=1)}
    return segment_json(seg)


@dataclass
class _Container:
    node: LoopNode | None
    data: JSON = field(default_factory=dict)


def _put(container: JSON, key: str, value: JSON, repeats: bool) -> None:
    if repeats:
        container.setdefault(key, []).append(value)
    elif key in container:
        # a second occurrence of a max-1 segment/loop: keep it rather than lose it
        existing = container[key]
        container[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
    else:
        container[key] = value


@dataclass
class DecodeResult:
    """What :func:`decode` returns: the JSON view and every finding."""

    document: JSON
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def build_view(events: Iterable[Event]) -> DecodeResult:
    doc: JSON = {"interchanges": []}
    findings: list[Finding] = []
    inter: JSON | None = None
    group: JSON | None = None
    stack: list[_Container] = []
    for ev in events:
        if isinstance(ev, Segment):
            if not stack:  # outside a set: a TA1 between ISA and GS, or a stray segment (kept, not lost)
                if inter is not None and ev.id == "TA1" and group is None:
                    inter.setdefault("TA1", []).append(segment_json(ev))
                elif group is not None:
                    group.setdefault("_unexpected", []).append({ev.id: segment_json(ev)})
                elif inter is not None:
                    inter.setdefault("_unexpected", []).append({ev.id: segment_json(ev)})
                continue
            top = stack[-1]
            usage = ev.usage
            if usage is None:
                if top.node is None:
                    top.data.setdefault("segments", []).append({ev.id: segment_json(ev)})
                else:
                    top.data.setdefault("_unexpected", []).append({ev.id: segment_json(ev)})
            else:
                _put(top.data, usage.key, segment_json(ev), usage.max > 1)
        elif isinstance(ev, LoopStart):
            stack.append(_Container(ev.node))
        elif isinstance(ev, LoopEnd):
            done = stack.pop()
            node = done.node
            assert node is not None
            _put(stack[-1].data, node.key, done.data, node.max > 1)
        elif isinstance(ev, Finding):
            findings.append(ev)
        elif isinstance(ev, SetStart):
            root = _Container(ev.schema.root if ev.schema is not None else None)
            root.data["ST"] = segment_json(ev.header)
            stack = [root]
        elif isinstance(ev, SetEnd):
            if stack:
                data = stack[0].data
                if ev.trailer is not None:
                    data["SE"] = segment_json(ev.trailer)
                if group is not None:
                    group["sets"].append(data)
            stack = []
        elif isinstance(ev, GroupStart):
            group = {"GS": envelope_json(ev.header), "sets": []}
        elif isinstance(ev, GroupEnd):
            if group is not None:
                if ev.trailer is not None:
                    group["GE"] = segment_json(ev.trailer)
                if inter is not None:
                    inter["groups"].append(group)
            group = None
        elif isinstance(ev, InterchangeStart):
            inter = {"delimiters": ev.dialect.to_json(), "ISA": envelope_json(ev.header), "groups": []}
        elif isinstance(ev, InterchangeEnd):
            if inter is not None:
                if ev.trailer is not None:
                    inter["IEA"] = segment_json(ev.trailer)
                doc["interchanges"].append(inter)
            inter = None
    return DecodeResult(doc, findings)


def decode(data: bytes, *, validate: bool = True, overlays: Iterable[Overlay] = ()) -> DecodeResult:
    """Parse (and validate) a whole input into its JSON view and findings.

    Raises :class:`~erpbridge.errors.NotX12Error` when the input is not X12 at all.
    """
    return build_view(read(data, validate=validate, overlays=overlays))


__all__ = ["DecodeResult", "build_view", "decode", "element_value", "segment_json"]
