"""IDoc type schemas, read from data files: which segments a basic type has, in which order, under
which parent, how often; and how long each field may be.

``schemas/segments.yaml`` gives each segment's fields and their maximum lengths; ``schemas/<TYPE>.yaml``
gives a basic type's structure as nested ``segments`` with ``min``/``max`` occurrences. Both are
plain YAML (see docs/idoc.md). A wrong data file raises :class:`~erpbridge.errors.SchemaError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ...errors import SchemaError

_PACKAGE = "erpbridge.formats.idoc.schemas"
CONTROL = "EDI_DC40"


@dataclass(frozen=True)
class SegmentDef:
    """A segment in a basic type: its fields (name -> max length), occurrences and child segments."""

    name: str
    fields: dict[str, int]
    min: int = 0
    max: int = 1
    children: dict[str, SegmentDef] = field(default_factory=dict)


@dataclass(frozen=True)
class IdocType:
    """A basic type (``ORDERS05``): its top-level segments in order, and the message types it carries."""

    name: str
    messages: tuple[str, ...]
    segments: dict[str, SegmentDef]
    control: dict[str, int]


def _read(name: str) -> Any:
    try:
        text = resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise SchemaError(f"cannot read the IDoc schema {name}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemaError(f"the IDoc schema {name} is not valid YAML: {exc}") from None


@cache
def field_lengths() -> dict[str, dict[str, int]]:
    """Every segment's fields and their maximum lengths (``segments.yaml``)."""
    data = _read("segments.yaml")
    if not isinstance(data, dict):
        raise SchemaError("segments.yaml: expected a mapping of segment name to fields")
    out: dict[str, dict[str, int]] = {}
    for seg, fields in data.items():
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in fields.items()
        ):
            raise SchemaError(f"segments.yaml: {seg}: expected field names with positive lengths")
        out[str(seg)] = dict(fields)
    return out


def _segments(spec: Any, where: str) -> dict[str, SegmentDef]:
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise SchemaError(f"{where}: 'segments' must map segment names to their definitions")
    lengths = field_lengths()
    out: dict[str, SegmentDef] = {}
    for name, body in spec.items():
        body = body or {}
        if not isinstance(body, dict) or set(body) - {"min", "max", "segments"}:
            raise SchemaError(f"{where}/{name}: a segment takes min, max and segments")
        if name not in lengths:
            raise SchemaError(f"{where}/{name}: segments.yaml does not define {name}")
        lo, hi = body.get("min", 0), body.get("max", 1)
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi and hi >= 1):
            raise SchemaError(f"{where}/{name}: min and max must be integers with 0 <= min <= max, max >= 1")
        out[name] = SegmentDef(
            name, lengths[name], lo, hi, _segments(body.get("segments"), f"{where}/{name}")
        )
    return out


@cache
def idoc_type(name: str) -> IdocType | None:
    """The schema of basic type ``name``, or None when erpbridge has none."""
    if name not in KNOWN_TYPES:
        return None
    data = _read(f"{name}.yaml")
    if not isinstance(data, dict) or data.get("basic_type") != name:
        raise SchemaError(f"{name}.yaml: 'basic_type' must be {name}")
    messages = data.get("messages") or []
    return IdocType(
        name, tuple(str(m) for m in messages), _segments(data.get("segments"), name), field_lengths()[CONTROL]
    )


#: The basic types erpbridge has schemas for.
KNOWN_TYPES = ("ORDERS05", "DELVRY07", "INVOIC02", "WMMBID02")

__all__ = ["CONTROL", "KNOWN_TYPES", "IdocType", "SegmentDef", "field_lengths", "idoc_type"]
