"""Findings: what is wrong with a readable IDoc, said so that someone can fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class IdocFinding:
    """One problem in one IDoc: which IDoc (its place in the file and its DOCNUM), segment and field.

    ``segment`` is a path such as ``E1EDP01[2]/E1EDP19[1]`` (1-based positions among segments of
    that name); ``line`` is the XML line for findings of the reader.
    """

    severity: Literal["error", "warning"]
    message: str
    idoc: int | None = None
    docnum: str | None = None
    segment: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = []
        if self.idoc is not None:
            where.append(f"IDoc {self.idoc}" + (f" (DOCNUM {self.docnum})" if self.docnum else ""))
        if self.segment:
            where.append(f"segment {self.segment}")
        if self.field:
            where.append(f"field {self.field}")
        if self.line:
            where.append(f"line {self.line}")
        return (", ".join(where) + ": " if where else "") + self.message


__all__ = ["IdocFinding"]
