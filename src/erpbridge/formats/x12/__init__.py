"""erpbridge's X12 engine: a streaming, schema-driven reader, validator, acknowledgment builder and
writer, in pure Python with no I/O.

Public surface::

    X12Reader            sans-IO reader: feed(bytes), events(), close()
    read(data)           events of a whole input (bytes or an iterable of chunks)
    decode(data)         the JSON view and findings of a whole input
    encode(document)     the JSON view back to X12 bytes (validated first)
    envelope(sets, ...)  an ISA/GS envelope (JSON view) around outbound sets, one group per kind
    build_acks(events)   997/999/TA1 acknowledgments, one per interchange
    parse_overlay(text)  a partner implementation guide over a standard set
    Finding, Location, Level, Dialect, ControlNumbers

See docs/x12-schemas.md for the schema files and the JSON view, docs/x12.md for the engine.
"""

from .acks import AckBuilder, Acknowledgment, build_acks
from .dialect import Dialect
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
from .findings import Finding, Level, Location
from .lexer import Segment
from .reader import X12Reader, read
from .schema import Overlay, SetSchema, load_set, parse_overlay
from .view import DecodeResult, decode
from .writer import ControlNumbers, EnvelopeParty, encode, envelope

__all__ = [
    "AckBuilder",
    "Acknowledgment",
    "ControlNumbers",
    "DecodeResult",
    "Dialect",
    "EnvelopeParty",
    "Event",
    "Finding",
    "GroupEnd",
    "GroupStart",
    "InterchangeEnd",
    "InterchangeStart",
    "Level",
    "Location",
    "LoopEnd",
    "LoopStart",
    "Overlay",
    "Segment",
    "SetEnd",
    "SetSchema",
    "SetStart",
    "X12Reader",
    "build_acks",
    "decode",
    "encode",
    "envelope",
    "load_set",
    "parse_overlay",
    "read",
]
