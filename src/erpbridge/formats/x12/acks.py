"""Acknowledgments built from findings: 997 (004010 groups), 999 (005010 groups) and TA1.

:class:`AckBuilder` consumes reader events as they stream by and yields one
:class:`Acknowledgment` per interchange when its IEA (or the end of input) is reached, so memory
stays bounded by the errors it must report, not by the file.

Status rules:

- a set with an error finding is rejected (AK501/IK501 ``R``) with AK502 codes (``5`` when its
  segments had errors); a set with only warnings (from a partner overlay whose ``severity`` is
  ``warning``) is accepted with errors (``E``); otherwise ``A``.
- a group with a group-level error (AK905 codes) is rejected (``R``); otherwise ``A`` when every set
  is accepted, ``E`` when all are accepted but some with errors, ``P`` when some are rejected, ``R``
  when all are.
- a TA1 goes back when the envelope itself has an error (TA104 ``R``, or ``E`` for an invalid GS
  only) or when ISA14 asks for one (``A``/``000``). Acknowledgments (GS01 ``FA``) are never
  acknowledged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .dialect import Dialect
from .events import Event, GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, SetEnd, SetStart
from .findings import Finding, Level
from .lexer import Segment
from .schema import version_of
from .validator import valid_date, valid_time
from .writer import ControlNumbers, encode

AckKind = Literal["auto", "997", "999"]
MAX_SEGMENT_ERRORS = 1000  # per set; more are counted but not listed


@dataclass
class ElementNote:
    position: int
    component: int | None
    repetition: int | None
    ref: str | None
    code: str
    value: str | None


@dataclass
class SegmentNote:
    id: str
    position: int
    loop: str | None
    code: str
    elements: list[ElementNote] = field(default_factory=list)


@dataclass
class SetAck:
    set_id: str
    control: str
    convention: str | None
    status: str = "A"
    codes: list[str] = field(default_factory=list)
    segments: list[SegmentNote] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0


@dataclass
class GroupAck:
    header: Segment
    functional_id: str
    control: str
    version: str
    included: int = 0
    received: int = 0
    codes: list[str] = field(default_factory=list)
    sets: list[SetAck] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.sets if s.status in ("A", "E"))

    @property
    def status(self) -> str:
        if self.codes:
            return "R"
        statuses = {s.status for s in self.sets}
        if not statuses or statuses == {"A"}:
            return "A"
        if "R" not in statuses:
            return "E"
        return "P" if statuses - {"R"} else "R"


@dataclass
class Acknowledgment:
    """The acknowledgments owed for one inbound interchange."""

    header: Segment
    dialect: Dialect
    ta1: tuple[str, str] | None  # (TA104, TA105)
    groups: list[GroupAck]
    kind: AckKind = "auto"

    @property
    def interchange_control(self) -> str:
        return self.header.get(13)

    def ack_kind(self, group: GroupAck) -> str:
        if self.kind != "auto":
            return self.kind
        return "999" if group.version.startswith("005010") else "997"

    def is_empty(self) -> bool:
        return self.ta1 is None and not self.groups

    def document(self, now: datetime, control: ControlNumbers | None = None) -> dict[str, Any]:
        """The acknowledgment interchange as a JSON view (sender and receiver swapped).

        Every value copied from the inbound interchange is checked against the acknowledgment's own
        element rules first: a value that does not fit is replaced by a safe default (sender IDs, the
        release), left out (a bad-data copy, an unreadable segment ID), or, when the group or set it
        names cannot be identified at all, that group or set is not listed and the TA1 says why.
        Control numbers of the acknowledgment itself are ours (``control``), never the inbound ones.
        """
        isa = self.header
        date6, time4, date8 = now.strftime("%y%m%d"), now.strftime("%H%M"), now.strftime("%Y%m%d")
        sender, receiver = _id(isa.get(8)), _id(isa.get(6))
        groups = [(g, self.ack_kind(g)) for g in self.groups]
        dialect = _safe_dialect(
            self.dialect,
            [sender, receiver, *(v for g, _ in groups for v in (g.header.get(2), g.header.get(3)))],
        )
        clean = _Cleaner(dialect)
        release = isa.get(12) if clean.fits(isa.get(12), 5, 5) and isa.get(12).isdigit() else "00401"
        if any(kind == "999" for _, kind in groups) and release < "00501":
            release = "00501"
        isa13 = isa.get(13)
        isa13_ok = clean.digits(isa13, 9, 9)
        our_isa13 = control.interchange if control and control.interchange is not None else None
        if our_isa13 is None:
            our_isa13 = int(isa13) if isa13_ok else 1
        inter: dict[str, Any] = {
            "delimiters": dialect.to_json(),
            "ISA": {
                "ISA01": "00",
                "ISA02": "",
                "ISA03": "00",
                "ISA04": "",
                "ISA05": isa.get(7) if clean.fits(isa.get(7), 2, 2) else "ZZ",
                "ISA06": sender,
                "ISA07": isa.get(5) if clean.fits(isa.get(5), 2, 2) else "ZZ",
                "ISA08": receiver,
                "ISA09": date6,
                "ISA10": time4,
                "ISA11": dialect.repetition if release >= "00402" and dialect.repetition else "U",
                "ISA12": release,
                "ISA13": str(our_isa13),
                "ISA14": "0",
                "ISA15": isa.get(15) if isa.get(15) in ("P", "T", "I") else "P",
            },
            "groups": [],
        }
        ta1 = self.ta1
        listed: list[dict[str, Any]] = []
        for g, kind in groups:
            gs = g.header
            if not (g.functional_id in _FUNCTIONAL_IDS and clean.digits(g.control, 1, 9)):
                ta1 = ta1 if ta1 is not None and ta1[0] == "R" else ("E", "024")  # the group cannot be named
                continue
            if kind == "999":
                gs08 = "005010X231"
            else:
                gs08 = gs.get(8) if version_of(gs.get(8)) and clean.fits(gs.get(8), 1, 12) else "004010"
            listed.append(
                {
                    "GS": {
                        "GS01": "FA",
                        "GS02": gs.get(3) if clean.fits(gs.get(3), 2, 15) else sender,
                        "GS03": gs.get(2) if clean.fits(gs.get(2), 2, 15) else receiver,
                        "GS04": date8,
                        "GS05": time4,
                        "GS06": "1",
                        "GS07": "X",
                        "GS08": gs08,
                    },
                    "sets": [_functional_ack(g, kind, clean)],
                }
            )
        inter["groups"] = listed
        if ta1 is not None:
            inter["TA1"] = [
                {
                    "TA101": isa13 if isa13_ok else "000000000",
                    "TA102": isa.get(9) if len(isa.get(9)) == 6 and valid_date(isa.get(9)) else date6,
                    "TA103": isa.get(10) if len(isa.get(10)) == 4 and valid_time(isa.get(10)) else time4,
                    "TA104": ta1[0],
                    "TA105": ta1[1],
                }
            ]
        return {"interchanges": [inter]}

    def encode(self, now: datetime, control: ControlNumbers | None = None) -> bytes:
        """The acknowledgment interchange as X12 bytes (validated before it is returned).

        ``control`` gives the acknowledgment's own ISA13, first GS06 and first ST02 (the ledger
        allocates them); by default ISA13 repeats the inbound one and GS06/ST02 start at 1.
        """
        numbers = ControlNumbers(
            interchange=None,  # already chosen in document()
            group=control.group if control and control.group is not None else 1,
            transaction_set=control.transaction_set if control and control.transaction_set is not None else 1,
        )
        return encode(self.document(now, control), control=numbers)


_FUNCTIONAL_IDS = frozenset(
    ["PO", "PR", "SH", "IB", "IN", "OW", "SW", "FA", "QM", "PC", "RS", "AR", "AW", "RE", "SC", "IM", "GF"]
)
_CANDIDATES = (
    Dialect("*", ":", "^", "~", "\n"),
    Dialect("|", ">", "^", "~", "\n"),
    Dialect("!", "}", "{", "'", "\n"),
)


def _id(value: str) -> str:
    """A sender or receiver ID for our ISA: the inbound one without padding, or UNKNOWN."""
    v = value.strip()
    return v if v and v.isascii() and v.isprintable() and len(v) <= 15 else "UNKNOWN"


def _usable(d: Dialect, values: list[str]) -> bool:
    delims = [d.element, d.component, d.segment] + ([d.repetition] if d.repetition else [])
    if len(set(delims)) != len(delims) or any(c.isalnum() or c in " \t" for c in delims):
        return False
    return not any(c in v for v in values for c in delims)


def _safe_dialect(inbound: Dialect, values: list[str]) -> Dialect:
    """Answer with the partner's own delimiters when they can carry the answer, else a safe set."""
    for d in (inbound, *_CANDIDATES):
        if _usable(d, values):
            return d
    return _CANDIDATES[0]


class _Cleaner:
    """Checks values copied from the input against the acknowledgment's delimiters."""

    def __init__(self, dialect: Dialect) -> None:
        self.delims = {dialect.element, dialect.component, dialect.segment} | (
            {dialect.repetition} if dialect.repetition else set()
        )

    def fits(self, value: str, lo: int, hi: int) -> bool:
        return (
            lo <= len(value) <= hi
            and value.isascii()
            and value.isprintable()
            and not any(c in self.delims for c in value)
        )

    def digits(self, value: str, lo: int, hi: int) -> bool:
        return lo <= len(value) <= hi and value.isascii() and value.isdigit()

    def copy(self, value: str | None) -> str | None:
        """A bad-data copy (AK404): printable, without delimiters, at most 99 characters."""
        if not value:
            return None
        kept = "".join(c for c in value if c.isprintable() and c not in self.delims)[:99]
        return kept or None

    def segment_id(self, value: str) -> str | None:
        if 2 <= len(value) <= 3 and value.isascii() and value.isalnum():
            return value
        alnum = "".join(c for c in value if c.isascii() and c.isalnum())[:3]
        return alnum if len(alnum) >= 2 else None


def _functional_ack(g: GroupAck, kind: str, clean: _Cleaner) -> dict[str, Any]:
    is999 = kind == "999"
    body: dict[str, Any] = {"ST": {"ST01": kind, "ST02": "0001"}}
    if is999:
        body["ST"]["ST03"] = "005010X231"
        body["AK1"] = {"AK101": g.functional_id, "AK102": g.control}
        if clean.fits(g.version, 1, 12):
            body["AK1"]["AK103"] = g.version
    else:
        body["AK1"] = {"AK101": g.functional_id, "AK102": g.control}
    loops = []
    if "2" not in g.codes and "1" not in g.codes:
        for s in g.sets:
            if not (clean.fits(s.set_id, 3, 3) and s.set_id.isalnum() and clean.fits(s.control, 4, 9)):
                continue  # a set whose header cannot be named is counted in AK9 only
            ak2: dict[str, Any] = {"AK201": s.set_id, "AK202": s.control}
            if is999 and s.convention and clean.fits(s.convention, 1, 35):
                ak2["AK203"] = s.convention
            loop: dict[str, Any] = {"AK2": ak2}
            notes = []
            for seg in s.segments:
                seg_id = clean.segment_id(seg.id)
                if seg_id is None:
                    continue
                s3 = "IK3" if is999 else "AK3"
                s4 = "IK4" if is999 else "AK4"
                note: dict[str, Any] = {
                    s3: {f"{s3}01": seg_id, f"{s3}02": str(seg.position), f"{s3}04": seg.code}
                }
                if seg.loop and clean.fits(seg.loop, 1, 4):
                    note[s3][f"{s3}03"] = seg.loop
                elements = []
                for e in seg.elements:
                    pos: Any = str(e.position)
                    if e.component or (is999 and e.repetition):
                        pos = [str(e.position), str(e.component or "")]
                        if is999 and e.repetition:
                            pos.append(str(e.repetition))
                    el: dict[str, Any] = {f"{s4}01": pos, f"{s4}03": e.code}
                    if e.ref and clean.digits(e.ref, 1, 4):
                        el[f"{s4}02"] = e.ref
                    bad = clean.copy(e.value)
                    if bad:
                        el[f"{s4}04"] = bad
                    elements.append({s4: el})
                if elements:
                    note[f"{s4}_loop" if is999 else s4] = [e[s4] for e in elements] if not is999 else elements
                notes.append(note)
            if notes:
                loop[("IK3" if is999 else "AK3") + "_loop"] = notes
            s5 = "IK5" if is999 else "AK5"
            ak5: dict[str, Any] = {f"{s5}01": s.status}
            for i, code in enumerate(s.codes[:5], start=2):
                ak5[f"{s5}{i:02d}"] = code
            loop[s5] = ak5
            loops.append(loop)
    if loops:
        body["AK2_loop"] = loops
    ak9: dict[str, Any] = {
        "AK901": g.status,
        "AK902": str(g.included),
        "AK903": str(g.received),
        "AK904": str(g.accepted),
    }
    for i, code in enumerate(g.codes[:5], start=5):
        ak9[f"AK9{i:02d}"] = code
    body["AK9"] = ak9
    return body


class AckBuilder:
    """Streams events in, yields an :class:`Acknowledgment` per interchange."""

    def __init__(self, *, kind: AckKind = "auto") -> None:
        self.kind = kind
        self._isa: Segment | None = None
        self._dialect: Dialect | None = None
        self._inter_codes: list[tuple[str, str]] = []
        self._groups: list[GroupAck] = []
        self._group: GroupAck | None = None
        self._set: SetAck | None = None
        self._seg_index: dict[tuple[int, str], SegmentNote] = {}

    def feed(self, ev: Event) -> Acknowledgment | None:
        if isinstance(ev, Finding):
            self._finding(ev)
        elif isinstance(ev, SetStart):
            if self._group is not None:
                st = ev.header
                self._set = SetAck(st.get(1), st.get(2), st.get(3) or None)
                self._seg_index = {}
        elif isinstance(ev, SetEnd):
            s, g = self._set, self._group
            if s is not None and g is not None:
                if s.errors:
                    s.status = "R"
                    if s.segments and "5" not in s.codes:
                        s.codes.append("5")
                elif s.warnings:
                    s.status = "E"
                    if s.segments and "5" not in s.codes:
                        s.codes.append("5")
                g.sets.append(s)
                g.received += 1
            self._set = None
        elif isinstance(ev, GroupStart):
            gs = ev.header
            if gs.get(1) == "FA":  # acknowledgments are not acknowledged
                self._group = None
            else:
                self._group = GroupAck(gs, gs.get(1), gs.get(6), gs.get(8))
        elif isinstance(ev, GroupEnd):
            g = self._group
            if g is not None:
                ge01 = ev.trailer.get(1) if ev.trailer is not None else ""
                g.included = int(ge01) if ge01.isascii() and ge01.isdigit() and len(ge01) <= 6 else g.received
                self._groups.append(g)
            self._group = None
        elif isinstance(ev, InterchangeStart):
            self._isa, self._dialect = ev.header, ev.dialect
            self._inter_codes, self._groups = [], []
        elif isinstance(ev, InterchangeEnd):
            return self._finish()
        return None

    def _finding(self, f: Finding) -> None:
        if f.level is Level.INTERCHANGE:
            if self._isa is not None:
                self._inter_codes.append((f.code, f.severity))
            return
        g = self._group
        if g is None:
            return
        if f.level is Level.GROUP:
            if f.severity == "error" and f.code not in g.codes:
                g.codes.append(f.code)
            return
        s = self._set
        if s is None:
            return
        if f.severity == "error":
            s.errors += 1
        else:
            s.warnings += 1
        loc = f.location
        if f.level is Level.SET:
            if f.code not in s.codes:
                s.codes.append(f.code)
            return
        pos = loc.segment_position or 0
        sid = loc.segment_id or "?"
        if f.level is Level.SEGMENT:
            if len(s.segments) < MAX_SEGMENT_ERRORS:
                s.segments.append(SegmentNote(sid, pos, loc.loop_id, f.code))
            return
        key = (pos, sid)
        note = self._seg_index.get(key)
        if note is None:
            if len(s.segments) >= MAX_SEGMENT_ERRORS:
                return
            note = SegmentNote(sid, pos, loc.loop_id, "8")
            s.segments.append(note)
            self._seg_index[key] = note
        if len(note.elements) < 99:
            note.elements.append(
                ElementNote(
                    loc.element_position or 0,
                    loc.component_position,
                    loc.repetition,
                    loc.element_ref,
                    f.code,
                    f.value,
                )
            )

    def _finish(self) -> Acknowledgment | None:
        isa, dialect = self._isa, self._dialect
        self._isa = None
        if isa is None or dialect is None:
            return None
        errors = [c for c, sev in self._inter_codes if sev == "error"]
        ta1: tuple[str, str] | None = None
        if errors:
            ta1 = ("E" if all(c == "024" for c in errors) else "R", errors[0])
        elif isa.get(14) == "1":
            ta1 = ("A", "000")
        return Acknowledgment(isa, dialect, ta1, self._groups, self.kind)


def build_acks(events: Iterable[Event], *, kind: AckKind = "auto") -> Iterator[Acknowledgment]:
    """One :class:`Acknowledgment` per interchange in the event stream."""
    builder = AckBuilder(kind=kind)
    for ev in events:
        ack = builder.feed(ev)
        if ack is not None:
            yield ack


__all__ = ["AckBuilder", "Acknowledgment", "GroupAck", "SetAck", "build_acks"]
