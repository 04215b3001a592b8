"""Validation findings: what is wrong, where, and the acknowledgment code that says so.

A finding is a value, never an exception. Its ``level`` says which acknowledgment code list its
``code`` comes from:

========== ======================= ==========================================
level      code list               example
========== ======================= ==========================================
interchange TA1 TA105              ``001`` control numbers do not match
group       997/999 AK905          ``5`` set count in GE01 is wrong
set         997 AK502 / 999 IK502  ``3`` ST02 and SE02 do not match
segment     997 AK304 / 999 IK304  ``3`` mandatory segment missing
element     997 AK403 / 999 IK403  ``7`` invalid code value
========== ======================= ==========================================

Segment and element findings also mark their set in error (AK502 ``5``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Level(StrEnum):
    INTERCHANGE = "interchange"
    GROUP = "group"
    SET = "set"
    SEGMENT = "segment"
    ELEMENT = "element"


Severity = Literal["error", "warning"]

#: TA1 TA105 interchange note codes.
TA105 = {
    "000": "No error",
    "001": "The interchange control number in the header and trailer do not match",
    "002": "This standard as noted in the control standards identifier is not supported",
    "003": "This version of the controls is not supported",
    "004": "The segment terminator is invalid",
    "005": "Invalid interchange ID qualifier for sender",
    "006": "Invalid interchange sender ID",
    "007": "Invalid interchange ID qualifier for receiver",
    "008": "Invalid interchange receiver ID",
    "010": "Invalid authorization information qualifier value",
    "011": "Invalid authorization information value",
    "012": "Invalid security information qualifier value",
    "013": "Invalid security information value",
    "014": "Invalid interchange date value",
    "015": "Invalid interchange time value",
    "016": "Invalid interchange standards identifier value",
    "017": "Invalid interchange version ID value",
    "018": "Invalid interchange control number value",
    "019": "Invalid acknowledgment requested value",
    "020": "Invalid test indicator value",
    "021": "Invalid number of included groups value",
    "022": "Invalid control structure",
    "023": "Improper (premature) end-of-file (transmission)",
    "024": "Invalid interchange content (e.g., invalid GS segment)",
    "025": "Duplicate interchange control number",
    "026": "Invalid data element separator",
    "027": "Invalid component element separator",
}

#: 997/999 AK905 functional group error codes.
AK905 = {
    "1": "Functional group not supported",
    "2": "Functional group version not supported",
    "3": "Functional group trailer missing",
    "4": "Group control number in the functional group header and trailer do not agree",
    "5": "Number of included transaction sets does not match actual count",
    "6": "Group control number violates syntax",
    "19": "Functional group control number not unique within interchange",
}

#: 997 AK502 / 999 IK502 transaction set error codes.
AK502 = {
    "1": "Transaction set not supported",
    "2": "Transaction set trailer missing",
    "3": "Transaction set control number in header and trailer do not match",
    "4": "Number of included segments does not match actual count",
    "5": "One or more segments in error",
    "6": "Missing or invalid transaction set identifier",
    "7": "Missing or invalid transaction set control number",
    "23": "Transaction set control number not unique within the functional group",
}

#: 997 AK304 / 999 IK304 segment syntax error codes.
AK304 = {
    "1": "Unrecognized segment ID",
    "2": "Unexpected segment",
    "3": "Mandatory segment missing",
    "4": "Loop occurs over maximum times",
    "5": "Segment exceeds maximum use",
    "6": "Segment not in defined transaction set",
    "7": "Segment not in proper sequence",
    "8": "Segment has data element errors",
}

#: 997 AK403 / 999 IK403 data element syntax error codes.
AK403 = {
    "1": "Mandatory data element missing",
    "2": "Conditional required data element missing",
    "3": "Too many data elements",
    "4": "Data element too short",
    "5": "Data element too long",
    "6": "Invalid character in data element",
    "7": "Invalid code value",
    "8": "Invalid date",
    "9": "Invalid time",
    "10": "Exclusion condition violated",
    "12": "Too many repetitions",
    "13": "Too many components",
}

CODE_LISTS: dict[Level, dict[str, str]] = {
    Level.INTERCHANGE: TA105,
    Level.GROUP: AK905,
    Level.SET: AK502,
    Level.SEGMENT: AK304,
    Level.ELEMENT: AK403,
}


@dataclass(frozen=True, slots=True)
class Location:
    """EDI coordinates of a finding, plus where it sits in the file.

    ``segment_position`` counts from ST (ST = 1), as AK302 does. ``element_position``,
    ``component_position`` and ``repetition`` are 1-based. ``offset`` is the byte offset of the
    segment in the input and ``line`` its 1-based line.
    """

    interchange: str | None = None
    group: str | None = None
    set_control: str | None = None
    set_id: str | None = None
    segment_position: int | None = None
    segment_id: str | None = None
    loop_id: str | None = None
    element_position: int | None = None
    component_position: int | None = None
    repetition: int | None = None
    element_ref: str | None = None
    line: int | None = None
    offset: int | None = None

    def describe(self) -> str:
        """Where, in words: ``interchange 000003438, group 1421, set 850 0001, segment 4 BEG, BEG03``."""
        parts: list[str] = []
        if self.interchange is not None:
            parts.append(f"interchange {self.interchange}")
        if self.group is not None:
            parts.append(f"group {self.group}")
        if self.set_control is not None:
            parts.append(f"set {self.set_id or '?'} {self.set_control}")
        if self.segment_id is not None:
            seg = f"segment {self.segment_id}"
            if self.segment_position is not None:
                seg = f"segment {self.segment_position} {self.segment_id}"
            parts.append(seg)
        if self.element_position is not None and self.segment_id is not None:
            el = f"{self.segment_id}{self.element_position:02d}"
            if self.component_position is not None:
                el += f"-{self.component_position}"
            if self.repetition is not None and self.repetition > 1:
                el += f" (repeat {self.repetition})"
            parts.append(el)
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the input, with the acknowledgment code that reports it."""

    level: Level
    code: str
    message: str
    location: Location
    value: str | None = None
    severity: Severity = "error"

    @property
    def code_text(self) -> str:
        return CODE_LISTS[self.level].get(self.code, "")

    def __str__(self) -> str:
        where = self.location.describe()
        return f"{where}: {self.message} [{self.level.value} code {self.code}]"

    def to_json(self) -> dict[str, object]:
        loc = {
            k: getattr(self.location, k) for k in Location.__slots__ if getattr(self.location, k) is not None
        }
        out: dict[str, object] = {
            "level": self.level.value,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "location": loc,
        }
        if self.value is not None:
            out["value"] = self.value
        return out
