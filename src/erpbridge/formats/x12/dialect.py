"""Delimiters of one interchange, read from its fixed-width ISA segment.

The ISA is always 106 characters: the element separator is character 3, the repetition separator
(ISA11, releases 00402 and later) character 82, the component separator (ISA16) character 104 and
the segment terminator character 105. Nothing is assumed; everything is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import NotX12Error

ISA_LENGTH = 106
#: fixed widths of ISA01..ISA16: the one statement of the ISA layout (the writer pads to them)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
#: 0-based offsets of the 16 element separators in a well-formed ISA, derived from the widths
ISA_SEPARATOR_OFFSETS = tuple(3 + i + sum(ISA_WIDTHS[:i]) for i in range(len(ISA_WIDTHS)))


@dataclass(frozen=True, slots=True)
class Dialect:
    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"
    #: what follows each terminator in the file (``"\n"``, ``"\r\n"`` or ``""``); the writer reuses it
    suffix: str = "\n"

    def delimiters(self) -> str:
        return self.element + self.component + (self.repetition or "") + self.segment

    def to_json(self) -> dict[str, str | None]:
        return {
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment": self.segment,
            "suffix": self.suffix,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> Dialect:
        return cls(
            element=data.get("element") or "*",
            component=data.get("component") or ":",
            repetition=data.get("repetition"),
            segment=data.get("segment") or "~",
            suffix=data.get("suffix") or "",
        )

    @classmethod
    def from_isa(cls, isa: str, following: str = "") -> Dialect:
        """Read the delimiters from a 106-character ISA (text decoded as ISO-8859-1).

        ``following`` is whatever comes after the terminator, used to remember the line ending.
        Raises :class:`NotX12Error` when the text is not a well-formed ISA.
        """
        if len(isa) < ISA_LENGTH or not isa.startswith("ISA"):
            raise NotX12Error("input does not start with a 106-character ISA segment")
        element = isa[3]
        # str.isspace() would also refuse the ASCII information separators \x1c-\x1f, which are
        # common X12 delimiters; only layout whitespace is refused.
        if element.isalnum() or element in " \t\r\n\x0b\x0c":
            raise NotX12Error(f"ISA element separator {element!r} is a letter, digit or space")
        misplaced = [i for i in ISA_SEPARATOR_OFFSETS if isa[i] != element]
        if misplaced or isa[4:105].count(element) != len(ISA_SEPARATOR_OFFSETS) - 1:
            raise NotX12Error(
                "ISA is not 106 characters with fixed-width fields: the element separator "
                f"{element!r} is not at every fixed position (first off at character {misplaced[0] + 1 if misplaced else '?'}); "
                "pad ISA02, ISA04, ISA06 and ISA08 to their full widths"
            )
        component = isa[104]
        terminator = isa[105]
        version = isa[84:89]
        rep = isa[82]
        repetition = None if version < "00402" or rep.isalnum() or rep == " " else rep
        suffix = ""
        if terminator not in "\r\n":
            if following.startswith("\r\n"):
                suffix = "\r\n"
            elif following[:1] in ("\n", "\r"):
                suffix = following[:1]
        elif terminator == "\r" and following.startswith("\n"):
            suffix = "\n"
        return cls(
            element=element, component=component, repetition=repetition, segment=terminator, suffix=suffix
        )
