"""A small, safe XML reader: bytes in, a tree of :class:`Node` out. No I/O, no network, no DTDs.

IDoc XML as SAP writes it has no document type declaration, no entities beyond the five predefined
ones, no namespaces that matter and no processing instructions but the XML declaration. This reader
accepts exactly that and refuses the rest *before* anything is expanded:

- a ``<!DOCTYPE ...>`` of any kind (an internal subset, an external DTD): :class:`IdocSecurityError`.
  This is what stops "billion laughs" (nested entity expansion) and external entities
  (``<!ENTITY x SYSTEM "file:///etc/passwd">``): they can only be declared in a DTD;
- an entity declaration or an external entity reference, should expat ever report one;
- a reference to an undeclared entity (``&x;``) is not well-formed XML: :class:`IdocSyntaxError`.

The parser is the standard library's expat (``xml.parsers.expat``), used directly with
``SetParamEntityParsing(XML_PARAM_ENTITY_PARSING_NEVER)``: nothing is ever fetched. Elements may not
nest deeper than :data:`MAX_DEPTH`, so a hostile file cannot exhaust the stack of whoever walks the tree.
"""

from __future__ import annotations

import pyexpat
from dataclasses import dataclass, field
from xml.parsers import expat

from ...errors import IdocSecurityError, IdocSyntaxError

#: IDoc XML nests root / IDOC / segment levels (at most 9 in SAP's types) / field: 16 is plenty.
MAX_DEPTH = 32


@dataclass
class Node:
    """One XML element: its tag (namespace prefix dropped), attributes, text and children."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return "".join(self.text)


class _Refused(Exception):
    """Raised inside an expat handler to stop the parse; turned into an erpbridge error outside."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _local(tag: str) -> str:
    return tag.rpartition(":")[2]


def parse(data: bytes, *, source: str | None = None) -> Node:
    """Parse ``data`` into a tree, refusing DTDs and entities. Raises only erpbridge errors."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise IdocSyntaxError("IDoc XML must be given as bytes", file=source)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    root: list[Node] = []

    def here() -> int:
        return int(parser.CurrentLineNumber)

    def doctype(name: str, *_: object) -> None:
        raise _Refused(
            f"the XML declares a document type (<!DOCTYPE {name}>); IDoc XML never has one, and DTDs and "
            "entities are refused so that nothing is expanded or fetched",
            here(),
        )

    def entity(name: str, *_: object) -> None:
        raise _Refused(f"the XML declares the entity {name!r}; entities are refused, never expanded", here())

    def external(*_: object) -> int:
        raise _Refused("the XML refers to an external entity; it is refused, never fetched", here())

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise _Refused(f"elements nest deeper than {MAX_DEPTH} levels; IDoc XML never does", here())
        node = Node(_local(tag), dict(attrs), here())
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text.append(text)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.NotationDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(bytes(data), True)
    except _Refused as refused:
        raise IdocSecurityError(
            f"line {refused.line}: {refused.message}", file=source, line=refused.line
        ) from None
    except pyexpat.ExpatError as exc:
        raise IdocSyntaxError(
            f"line {exc.lineno}, column {exc.offset + 1}: not well-formed XML: {expat.ErrorString(exc.code)}",
            file=source,
            line=exc.lineno,
        ) from None
    except (ValueError, LookupError, UnicodeError) as exc:  # an encoding expat cannot read
        raise IdocSyntaxError(f"the XML cannot be decoded: {exc}", file=source) from None
    if not root:
        raise IdocSyntaxError("the input holds no XML element", file=source)
    return root[0]


__all__ = ["MAX_DEPTH", "Node", "parse"]
