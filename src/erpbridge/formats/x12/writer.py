"""The writer: the JSON view (docs/x12-schemas.md) back to X12 bytes.

It walks each set's schema in order, so segments come out where the standard puts them. It
computes the counts (SE01, GE01, IEA01) and copies the control numbers into the trailers. Control
numbers themselves come from the caller (:class:`ControlNumbers`; the ledger allocates them).
Before returning, it reads its own output back through the same validator as inbound files: if
anything is wrong it raises :class:`X12WriteError` naming the field, and nothing is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...errors import X12WriteError
from .dialect import ISA_WIDTHS, Dialect
from .findings import Finding
from .reader import read
from .schema import LoopNode, Overlay, SegmentUsage, load_set, version_of


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """Control numbers handed to the writer: ISA13, the first GS06 and the first ST02.

    Each further group and set takes the next number. ``None`` keeps what the document says.
    """

    interchange: int | None = None
    group: int | None = None
    transaction_set: int | None = None


#: GS01 functional identifier code (479) of each transaction set erpbridge writes
FUNCTIONAL_IDS = {
    "810": "IN",
    "846": "IB",
    "850": "PO",
    "855": "PR",
    "856": "SH",
    "940": "OW",
    "945": "SW",
    "997": "FA",
    "999": "FA",
}


@dataclass(frozen=True, slots=True)
class EnvelopeParty:
    """An interchange sender or receiver: ISA05/ISA07 qualifier (``ZZ``, ``01``, ``12``...), ID, and the
    GS02/GS03 application ID (the interchange ID unless given)."""

    qualifier: str
    id: str
    gs_id: str | None = None  # GS02/GS03 application ID, when it is not the interchange ID

    @classmethod
    def parse(cls, text: str) -> EnvelopeParty:
        """``ZZ:MEGAMART`` (or ``MEGAMART``, which means ``ZZ``)."""
        qual, sep, ident = text.partition(":")
        if not sep:
            qual, ident = "ZZ", text
        qual, ident = qual.strip(), ident.strip()
        if not (1 <= len(qual) <= 2) or not qual.isalnum():
            raise X12WriteError(
                f"{text!r}: the ID qualifier must be 1-2 letters or digits (e.g. ZZ:MEGAMART)"
            )
        if not (2 <= len(ident) <= 15):
            raise X12WriteError(f"{text!r}: the interchange ID must be 2 to 15 characters (ISA06/GS02)")
        return cls(qual.upper(), ident)


def envelope(
    sets: Sequence[Mapping[str, Any]],
    *,
    sender: EnvelopeParty,
    receiver: EnvelopeParty,
    now: datetime,
    version: str = "004010",
    test: bool = False,
) -> dict[str, Any]:
    """One interchange (a JSON view for :func:`encode`) around transaction sets, one group per kind.

    Sets are grouped by their GS01 functional identifier in the order they first appear. Control
    numbers are placeholders (``1``): pass :class:`ControlNumbers` to :func:`encode`.
    """
    if version not in ("004010", "005010"):
        raise X12WriteError(f"version {version!r}: erpbridge writes 004010 and 005010")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for n, tset in enumerate(sets):
        st01 = str((tset.get("ST") or {}).get("ST01", ""))
        fid = FUNCTIONAL_IDS.get(st01)
        if fid is None:
            raise X12WriteError(f"sets[{n}]/ST/ST01: no functional group is known for set {st01!r}")
        groups.setdefault(fid, []).append(tset)
    release = version[:5]
    isa = {
        "ISA01": "00",
        "ISA02": "",
        "ISA03": "00",
        "ISA04": "",
        "ISA05": sender.qualifier,
        "ISA06": sender.id,
        "ISA07": receiver.qualifier,
        "ISA08": receiver.id,
        "ISA09": now.strftime("%y%m%d"),
        "ISA10": now.strftime("%H%M"),
        "ISA11": "^" if release >= "00501" else "U",
        "ISA12": release,
        "ISA13": "1",
        "ISA14": "0",
        "ISA15": "T" if test else "P",
        "ISA16": ">",
    }
    delimiters = {"element": "*", "component": ">", "segment": "~", "suffix": "\n"}
    if release >= "00501":
        delimiters["repetition"] = "^"
    return {
        "interchanges": [
            {
                "delimiters": delimiters,
                "ISA": isa,
                "groups": [
                    {
                        "GS": {
                            "GS01": fid,
                            "GS02": sender.gs_id or sender.id,
                            "GS03": receiver.gs_id or receiver.id,
                            "GS04": now.strftime("%Y%m%d"),
                            "GS05": now.strftime("%H%M"),
                            "GS06": "1",
                            "GS07": "X",
                            "GS08": version,
                        },
                        "sets": [{**tset, "ST": {**tset["ST"], "ST02": "0001"}} for tset in group],
                    }
                    for fid, group in groups.items()
                ],
            }
        ]
    }


class _Out:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self.segments: list[str] = []
        self.specials = {dialect.element, dialect.component, dialect.segment} | (
            {dialect.repetition} if dialect.repetition else set()
        )

    def value(self, where: str, v: Any) -> str:
        d = self.d
        if isinstance(v, str):
            self._check(where, v)
            return v
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        if isinstance(v, list) and v and all(isinstance(x, list) for x in v):
            if d.repetition is None:
                raise X12WriteError(
                    f"{where} has repetitions, but this interchange's release has no repetition separator"
                )
            return d.repetition.join(d.component.join(self.value(where, c) for c in rep) for rep in v)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return d.component.join(self.value(where, c) for c in v)
        raise X12WriteError(
            f"{where} must be a string, a list of components or a list of repetitions, not {v!r}"
        )

    def _check(self, where: str, v: str) -> None:
        for ch in self.specials:
            if ch in v:
                raise X12WriteError(f"{where} contains the delimiter {ch!r}: {v!r}")

    def segment(self, sid: str, obj: Any, where: str) -> None:
        if not isinstance(obj, Mapping):
            raise X12WriteError(
                f"{where}: segment {sid} must be an object of elements, not {type(obj).__name__}"
            )
        values: dict[int, str] = {}
        for key, v in obj.items():
            suffix = key[len(sid) :] if isinstance(key, str) and key.startswith(sid) else ""
            if not (suffix.isascii() and suffix.isdigit() and len(suffix) <= 3):
                raise X12WriteError(
                    f"{where}: {key!r} is not an element of {sid} (expected {sid}01, {sid}02, ...)"
                )
            values[int(suffix)] = self.value(f"{where}/{key}", v)
        last = max((i for i, v in values.items() if v != ""), default=0)
        els = [sid] + [values.get(i, "") for i in range(1, last + 1)]
        self.segments.append(self.d.element.join(els))


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _write_container(out: _Out, data: Mapping[str, Any], node: LoopNode, where: str, top: bool) -> None:
    known = {c.key for c in node.children}
    for key in data:
        if key not in known and key != "_unexpected" and not (top and key in ("ST", "SE")):
            expected = ", ".join(sorted(known - {"ST", "SE"}))
            raise X12WriteError(
                f"{where}: {key!r} is not a segment or loop of this {'set' if top else node.id + ' loop'} (expected one of: {expected})"
            )
    for child in node.children:
        if top and child.id in ("ST", "SE") and isinstance(child, SegmentUsage):
            continue
        value = data.get(child.key)
        if value is None:
            continue
        items = _as_list(value)
        for i, item in enumerate(items):
            here = f"{where}/{child.key}" + (f"[{i}]" if len(items) > 1 else "")
            if isinstance(child, SegmentUsage):
                out.segment(child.id, item, here)
            else:
                if not isinstance(item, Mapping):
                    raise X12WriteError(f"{here}: a loop must be an object (or a list of objects)")
                _write_container(out, item, child, here, False)
    for extra in data.get("_unexpected", []) or []:
        for sid, obj in extra.items():
            out.segment(sid, obj, f"{where}/_unexpected")


def encode(
    document: Mapping[str, Any],
    *,
    dialect: Dialect | None = None,
    control: ControlNumbers | None = None,
    validate: bool = True,
    overlays: Iterable[Overlay] = (),
) -> bytes:
    """Write the JSON view as X12. ``dialect`` overrides each interchange's own delimiters."""
    parts: list[str] = []
    inters = document.get("interchanges")
    if not isinstance(inters, list) or not inters:
        raise X12WriteError("document has no 'interchanges' list")
    isa_no = control.interchange if control else None
    gs_no = control.group if control else None
    st_no = control.transaction_set if control else None
    for n, inter in enumerate(inters):
        where = f"interchanges[{n}]"
        d = dialect or Dialect.from_json(inter.get("delimiters") or {})
        delims = [d.element, d.component, d.segment] + ([d.repetition] if d.repetition else [])
        if any(len(c) != 1 or c.isalnum() or c == " " for c in delims) or len(set(delims)) != len(delims):
            raise X12WriteError(
                f"{where}: delimiters {delims!r} must be distinct single characters, not letters, digits or spaces"
            )
        out = _Out(d)
        isa = dict(inter.get("ISA") or {})
        if not isa:
            raise X12WriteError(f"{where}: ISA is missing")
        if isa_no is not None:
            isa["ISA13"] = str(isa_no)
            isa_no += 1
        version = str(isa.get("ISA12", "00401"))
        isa["ISA11"] = d.repetition if (version >= "00402" and d.repetition) else isa.get("ISA11", "U")
        isa["ISA16"] = d.component
        isa_els = ["ISA"]
        for i in range(1, 17):
            v = str(isa.get(f"ISA{i:02d}", ""))
            w = ISA_WIDTHS[i - 1]
            if i == 13:
                if not (v.isascii() and v.isdigit()) or len(v) > 9:
                    raise X12WriteError(f"{where}/ISA/ISA13: control number {v!r} must be 1 to 9 digits")
                v = v.zfill(9)
            elif len(v) > w:
                raise X12WriteError(f"{where}/ISA/ISA{i:02d}: {v!r} is longer than its fixed width {w}")
            isa_els.append(v.ljust(w))
        out.segments.append(d.element.join(isa_els))
        for ta1 in inter.get("TA1", []) or []:
            out.segment("TA1", ta1, f"{where}/TA1")
        groups = inter.get("groups") or []
        for g, group in enumerate(groups):
            gwhere = f"{where}/groups[{g}]"
            gs = dict(group.get("GS") or {})
            if not gs:
                raise X12WriteError(f"{gwhere}: GS is missing")
            if gs_no is not None:
                gs["GS06"] = str(gs_no)
                gs_no += 1
            out.segment("GS", gs, f"{gwhere}/GS")
            version_code = version_of(str(gs.get("GS08", "")))
            sets = group.get("sets") or []
            for s, tset in enumerate(sets):
                swhere = f"{gwhere}/sets[{s}]"
                st = dict(tset.get("ST") or {})
                if not st.get("ST01"):
                    raise X12WriteError(f"{swhere}/ST/ST01: the transaction set identifier is missing")
                if st_no is not None:
                    st["ST02"] = str(st_no).zfill(4)
                    st_no += 1
                start = len(out.segments)
                out.segment("ST", st, f"{swhere}/ST")
                schema = load_set(version_code, str(st["ST01"])) if version_code else None
                if schema is not None:
                    _write_container(out, tset, schema.root, swhere, True)
                else:
                    for item in tset.get("segments", []) or []:
                        for sid, obj in item.items():
                            out.segment(sid, obj, f"{swhere}/segments")
                count = len(out.segments) - start + 1
                out.segment("SE", {"SE01": str(count), "SE02": str(st.get("ST02", ""))}, f"{swhere}/SE")
            out.segment("GE", {"GE01": str(len(sets)), "GE02": str(gs.get("GS06", ""))}, f"{gwhere}/GE")
        out.segment("IEA", {"IEA01": str(len(groups)), "IEA02": isa_els[13]}, f"{where}/IEA")
        term = d.segment + d.suffix
        parts.append(term.join(out.segments) + term)
    try:
        data = "".join(parts).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise X12WriteError(
            f"text {exc.object[exc.start : exc.end]!r} cannot be written as ISO-8859-1"
        ) from None
    if validate:
        errors = [
            f for f in read(data, overlays=overlays) if isinstance(f, Finding) and f.severity == "error"
        ]
        if errors:
            shown = "; ".join(str(f) for f in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise X12WriteError(f"refusing to write invalid X12: {shown}{more}", findings=len(errors))
    return data


__all__ = ["ControlNumbers", "encode"]
