"""The reader's event vocabulary (frozen values, in document order).

::

    InterchangeStart
      GroupStart
        SetStart
          Segment | LoopStart | LoopEnd | Finding   (body segments, loops by schema, findings)
        SetEnd
      GroupEnd
    InterchangeEnd

:class:`~erpbridge.formats.x12.lexer.Segment` values are events themselves (body segments, and TA1
segments between ISA and GS). Findings come right after the segment they concern, or with the
envelope event that revealed them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dialect import Dialect
from .findings import Finding
from .lexer import Segment
from .schema import LoopNode, SetSchema


@dataclass(frozen=True, slots=True)
class InterchangeStart:
    header: Segment
    dialect: Dialect


@dataclass(frozen=True, slots=True)
class InterchangeEnd:
    header: Segment
    trailer: Segment | None
    group_count: int


@dataclass(frozen=True, slots=True)
class GroupStart:
    header: Segment
    version: str | None  # schema release (004010/005010) or None when unsupported


@dataclass(frozen=True, slots=True)
class GroupEnd:
    header: Segment
    trailer: Segment | None
    set_count: int


@dataclass(frozen=True, slots=True)
class SetStart:
    header: Segment
    schema: SetSchema | None


@dataclass(frozen=True, slots=True)
class SetEnd:
    header: Segment
    trailer: Segment | None
    segment_count: int


@dataclass(frozen=True, slots=True)
class LoopStart:
    node: LoopNode
    segment: Segment


@dataclass(frozen=True, slots=True)
class LoopEnd:
    node: LoopNode


Event = (
    InterchangeStart
    | InterchangeEnd
    | GroupStart
    | GroupEnd
    | SetStart
    | SetEnd
    | LoopStart
    | LoopEnd
    | Segment
    | Finding
)
