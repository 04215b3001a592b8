"""SAP IDoc XML: a pure codec (bytes in, objects out; objects in, bytes out; no I/O).

- :func:`decode` reads IDoc XML as SAP writes it to a file port (root element = the basic type,
  one ``<IDOC BEGIN="1">`` per IDoc, the ``EDI_DC40`` control record, data segments with
  ``SEGMENT="1"``) into a plain dict/list tree that mappings walk, with :class:`IdocFinding` values
  for content problems. The XML is parsed with DTDs, entities and network refused (xmlsafe.py).
- :func:`write` / :func:`encode` write that tree back, segments in the basic type's order, each field
  checked against the type's schema (schemas/*.yaml, data files).

See docs/idoc.md.
"""

from .findings import IdocFinding
from .reader import IdocDecoded, decode
from .schema import KNOWN_TYPES, IdocType, SegmentDef, idoc_type
from .writer import DOCNUM_WIDTH, IdocWritten, encode, write

__all__ = [
    "DOCNUM_WIDTH",
    "KNOWN_TYPES",
    "IdocDecoded",
    "IdocFinding",
    "IdocType",
    "IdocWritten",
    "SegmentDef",
    "decode",
    "encode",
    "idoc_type",
    "write",
]
