"""The sans-IO X12 reader: feed bytes, pull events.

::

    reader = X12Reader()
    for chunk in chunks:            # the caller owns the file or socket
        reader.feed(chunk)
        for event in reader.events():
            ...
    reader.close()
    for event in reader.events():
        ...

The reader follows the envelope (ISA/GS/ST ... SE/GE/IEA), checks control numbers and counts, and
hands each transaction set to a :class:`~erpbridge.formats.x12.validator.SetValidator` built from
its schema. Problems are :class:`~erpbridge.formats.x12.findings.Finding` events. Memory stays flat:
nothing is kept from one set to the next but control numbers and counters.

Only input that is not X12 at all (:class:`NotX12Error`) or that cannot be followed
(:class:`X12SyntaxError`, e.g. a segment with no terminator for a megabyte) raises; after that the
reader refuses more input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from ...errors import X12Error, X12SyntaxError
from .batch import DONE, FALLBACK, WAIT, SetCheck, batchable, first_of, plan_for
from .events import Event, GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, SetEnd, SetStart
from .findings import Finding, Level, Location
from .lexer import EndOfInput, Lexer, Segment
from .schema import Overlay, SetSchema, dictionary, load_set, version_of
from .validator import SetValidator, ascii_number, check_segment

#: TA105 code for an ISA element error, by ISA element position.
_ISA_ELEMENT_CODES = {
    1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008",
    9: "014", 10: "015", 11: "016", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027",
}  # fmt: skip
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
#: how many control numbers are remembered to detect duplicates; beyond it, memory stays flat and
#: only the first ones are checked (a group of more sets than this is rare)
MAX_REMEMBERED = 100_000
_Where = tuple[str | None, str | None, str | None, str | None]


class X12Reader:
    """Streaming X12 reader and validator (see the module docstring).

    ``validate=False`` follows the envelope only (no schema checks, no loops): the fast path for
    routing and counting. ``segments=False`` hands out no body segments and no loop events, only
    the envelope events and the findings: what acknowledgments and reports need. With validation
    on, it lets the batch check (:mod:`.batch`) take a valid set's body as text, several times
    faster; the findings are the same. ``overlays`` are partner implementation guides that replace
    the standard schema for their release and set.
    """

    def __init__(
        self,
        *,
        validate: bool = True,
        segments: bool = True,
        overlays: Iterable[Overlay] = (),
        max_segment: int = 1 << 20,
    ) -> None:
        self._lexer = Lexer(max_segment=max_segment)
        self._validate = validate
        self._segments = segments
        #: the batch check (validation without segment events): see formats/x12/batch.py
        self._batch = validate and not segments
        self._lexer.cut_at_st = self._batch
        self._check: SetCheck | None = None
        self._checked = False  # the current set's body passed the batch check
        self._skipped = 0  # body segments of the current set the lexer skipped as checked text
        self._schemas: dict[tuple[str, str], SetSchema] = {(o.version, o.set_id): o.apply() for o in overlays}
        self._pending: list[Event] = []
        self._failed: X12Error | None = None
        self._isa: Segment | None = None
        self._gs: Segment | None = None
        self._st: Segment | None = None
        self._version: str | None = None
        self._validator: SetValidator | None = None
        #: interchange, group, set control number and set ID of what is being read
        self._where: _Where = (None, None, None, None)
        self._located: tuple[_Where, Location] = (self._where, Location())
        self._groups = 0
        self._sets = 0
        self._set_segments = 0
        self._isa13s: set[str] = set()
        self._gs06s: set[str] = set()
        self._st02s: set[str] = set()
        self._stray = False
        self.findings_count = 0
        #: sets whose body the batch check took as valid text (segments=False)
        self.checked_sets = 0

    @property
    def segments_read(self) -> int:
        return self._lexer.segments_read

    # -------------------------------------------------------------------------------- input side
    def feed(self, data: bytes) -> None:
        if self._failed is not None:
            raise self._failed
        self._lexer.feed(data)

    def close(self) -> None:
        self._lexer.close()

    def events(self) -> Iterator[Event]:
        """Yield every event that the input fed so far allows."""
        if self._failed is not None:
            raise self._failed
        # The body segments of a set take the inline path below; everything else (envelope
        # segments, segments outside sets, the end of input) goes through _segment and _pending.
        # With segments=False, a set whose body the batch check can take is checked as text
        # (_check) before its segments are split, and only findings leave the inline path.
        keep = self._segments
        in_set = self._st is not None
        validator = self._validator
        count = self._set_segments
        try:
            while True:
                if self._check is not None:
                    self._set_segments = count
                    verdict = self._run_check()
                    if verdict == DONE:
                        self._run_sets()
                    validator = self._validator
                    count = self._set_segments
                    if self._pending:
                        yield from self._take_pending()
                    if verdict == WAIT:
                        return
                restart = False
                for tok in self._lexer.iter_tokens():
                    if in_set and tok.__class__ is Segment:
                        sid = tok.elements[0]
                        if sid not in _ENVELOPE:
                            count += 1
                            tok.position = count
                            if validator is not None:
                                found = validator.segment(tok)
                                if found:
                                    for ev in found:
                                        if ev.__class__ is Finding:
                                            self.findings_count += 1
                                            if not keep:
                                                yield ev
                                    if keep:
                                        yield from found  # type: ignore[misc]
                            if keep:
                                yield tok
                            continue
                    self._set_segments = count
                    if isinstance(tok, EndOfInput):
                        self._end_of_input(tok)
                    else:
                        self._segment(tok)
                    in_set = self._st is not None
                    validator = self._validator
                    count = self._set_segments
                    if self._pending:
                        yield from self._take_pending()
                    if self._check is not None:
                        restart = True  # a set's body is to be checked as text: leave this run
                        break
                if not restart:
                    return
        except X12Error as exc:
            self._failed = exc
            raise
        finally:
            self._set_segments = count

    def _take_pending(self) -> list[Event]:
        pending, self._pending = self._pending, []
        return pending

    def _run_check(self) -> str:
        """Advance the batch check of the current set's body and move the lexer past what it took."""
        check = self._check
        assert check is not None
        lexer = self._lexer
        buf, base, closed = lexer.window()
        verdict = check.advance(buf, base, closed)
        if verdict == DONE:
            lexer.skip_to(check.end, check.segments - self._skipped)
            self._set_segments = 1 + check.segments
            self._checked = True
            self._check = None
            self.checked_sets += 1
            return verdict
        lexer.skip_to(check.clean, check.clean_segments - self._skipped)
        self._skipped = check.clean_segments
        self._set_segments = 1 + check.clean_segments
        if verdict == FALLBACK:
            if check.clean_state is not None and self._validator is not None:
                self._validator.resume(*check.clean_state, check.clean_levels)
            self._check = None
        return verdict

    def _run_sets(self) -> None:
        """After a body the batch check took: while its SE, the next ST (of the same set ID) and
        that set's body are valid and in the buffer, close and open the sets here, from the text,
        with the events and the bookkeeping of _end_set and _start_set (they would report nothing).
        Anything else stops the run, and the lexer goes on from the SE as usual."""
        st, validator = self._st, self._validator
        if st is None or validator is None:
            return
        schema, dialect = validator.schema, st.dialect
        plan = plan_for(schema, dialect)
        if plan is None:
            return
        lexer = self._lexer
        buf, base, closed = lexer.window()
        pos, line = lexer.position
        esep, set_id, ts = dialect.element, st.get(1), plan.ts
        se_st, whole, needles = plan.se_st.match, plan.whole.fullmatch, plan.se_needles
        st02s, pending, count_in = self._st02s, self._pending, buf.count
        where = self._where
        skipped = 0
        while True:
            m = se_st(buf, pos)
            if m is None:
                break
            se_els = m.group(1).split(esep)
            st_els = m.group(2).split(esep)
            count = self._set_segments + 1  # with the SE
            control = st_els[2] if len(st_els) > 2 else ""
            if (
                len(se_els) < 3
                or se_els[2] != st.get(2)
                or se_els[1] != str(count)  # the usual spelling; others go the usual way
                or st_els[1] != set_id
                or not control
                or control in st02s
            ):
                break
            body = m.end()
            if plan.hl is None:  # the body, as SetCheck.advance does it for a whole set
                hit = first_of(buf, needles, body - len(ts))
                if hit < 0 or whole(buf, body, hit + len(ts)) is None:
                    break
                end, segments = hit + len(ts), count_in(ts, body, hit + len(ts))
            else:
                check = SetCheck(schema, dialect, base + body)
                if check.advance(buf, base, closed) != DONE:
                    break
                end, segments = check.end - base, check.segments
            # the SE: as _end_set
            pending.append(SetEnd(st, Segment(se_els, base + pos, line, dialect, count), count))
            # the ST: as _start_set
            at = m.start(2)
            line += count_in("\n", pos, at)
            st = Segment(st_els, base + at, line, dialect, 1)
            self._sets += 1
            where = (where[0], where[1], control, set_id)
            pending.append(SetStart(st, schema))
            if len(st02s) < MAX_REMEMBERED:
                st02s.add(control)
            self._set_segments = 1 + segments
            self.checked_sets += 1
            skipped += 2 + segments
            line += count_in("\n", at, end)
            pos = end
        if skipped:
            lexer.skip_to(base + pos, skipped)
            self._st, self._where = st, where
            self._validator = SetValidator(schema, self._base, dialect)

    # ------------------------------------------------------------------------------- internals
    def _emit(self, ev: Event) -> None:
        if isinstance(ev, Finding):
            self.findings_count += 1
        self._pending.append(ev)

    def _emit_all(self, events: Iterable[object]) -> None:
        """Validator events: all of them, or only the findings when segments are not handed out."""
        for ev in events:
            if self._segments or ev.__class__ is Finding:
                self._emit(ev)  # type: ignore[arg-type]

    def _base(self) -> Location:
        """The location of what is being read, built when a finding needs it."""
        where, loc = self._located
        if where is not self._where:
            loc = Location(*self._where)
            self._located = (self._where, loc)
        return loc

    def _finding(
        self, level: Level, code: str, message: str, seg: Segment | None = None, **loc: object
    ) -> None:
        where = self._base()
        if seg is not None:
            where = replace(where, segment_id=seg.id, line=seg.line, offset=seg.offset)
        if loc:
            where = replace(where, **loc)  # type: ignore[arg-type]
        self._emit(Finding(level, code, message, where))

    def _segment(self, seg: Segment) -> None:
        sid = seg.elements[0]
        if self._st is not None:
            if sid == "SE":
                self._end_set(seg)
                return
            if sid not in _ENVELOPE:
                self._set_segments += 1
                seg.position = self._set_segments
                if self._validator is not None:
                    self._emit_all(self._validator.segment(seg))
                if self._segments:
                    self._emit(seg)
                return
            self._end_set(None, at=seg)
        if self._gs is not None:
            if sid == "ST":
                self._start_set(seg)
                return
            if sid == "GE":
                self._end_group(seg)
                return
            if sid in ("IEA", "GS", "ISA"):
                self._end_group(None, at=seg)
            else:
                self._stray_segment(seg)
                return
        if self._isa is not None:
            if sid == "GS":
                self._start_group(seg)
            elif sid == "IEA":
                self._end_interchange(seg)
            elif sid == "TA1":
                self._emit(seg)
            else:
                self._stray_segment(seg)
            return
        if sid == "ISA":
            self._start_interchange(seg)
        else:  # pragma: no cover - the lexer only starts interchanges with an ISA
            self._stray_segment(seg)

    def _stray_segment(self, seg: Segment) -> None:
        """A segment outside any transaction set: reported once per interchange, and kept."""
        if not self._stray:
            self._stray = True
            self._finding(
                Level.INTERCHANGE,
                "022",
                f"segment {seg.id} is outside any transaction set (envelope out of order)",
                seg,
            )
        self._emit(seg)

    # interchange ------------------------------------------------------------------------------
    def _start_interchange(self, isa: Segment) -> None:
        self._isa = isa
        self._groups = 0
        self._gs06s = set()
        self._stray = False
        isa13 = isa.get(13)
        self._where = (isa13, None, None, None)
        dialect = isa.dialect
        self._emit(InterchangeStart(isa, dialect))
        version = isa.get(12)
        els = list(isa.elements)
        if version >= "00402":
            els[11] = "U"  # ISA11 is the repetition separator, checked by the dialect
        if len(els) > 16:
            els[16] = "U"  # ISA16 is the component separator, checked (027) just below
        isa_def = dictionary("004010").segments.get("ISA")
        for err in check_segment(els, isa_def, dialect) if isa_def is not None else ():
            code = _ISA_ELEMENT_CODES.get(err.position, "022")
            self._finding(
                Level.INTERCHANGE,
                code,
                err.message,
                isa,
                element_position=err.position,
                element_ref=err.ref or None,
            )
        if dialect.component == dialect.element or dialect.component.isalnum():
            self._finding(
                Level.INTERCHANGE,
                "027",
                f"ISA16 component separator {dialect.component!r} is not usable",
                isa,
            )
        if dialect.segment in (dialect.element, dialect.component) or dialect.segment.isalnum():
            self._finding(
                Level.INTERCHANGE, "004", f"segment terminator {dialect.segment!r} is not usable", isa
            )
        if isa13 in self._isa13s:
            self._finding(
                Level.INTERCHANGE,
                "025",
                f"interchange control number {isa13} was already used in this input",
                isa,
            )
        if len(self._isa13s) < MAX_REMEMBERED:
            self._isa13s.add(isa13)

    def _end_interchange(self, iea: Segment | None, at: Segment | EndOfInput | None = None) -> None:
        isa = self._isa
        assert isa is not None
        if iea is None:
            where = at if isinstance(at, Segment) else None
            self._finding(
                Level.INTERCHANGE,
                "023",
                "the interchange ends without its IEA trailer",
                where,
                line=getattr(at, "line", None),
                offset=getattr(at, "offset", None),
            )
        else:
            if iea.get(2) != isa.get(13):
                self._finding(
                    Level.INTERCHANGE,
                    "001",
                    f"IEA02 {iea.get(2)!r} does not match ISA13 {isa.get(13)!r}",
                    iea,
                )
            if ascii_number(iea.get(1)) != self._groups:
                self._finding(
                    Level.INTERCHANGE,
                    "021",
                    f"IEA01 says {iea.get(1)!r} groups; the interchange has {self._groups}",
                    iea,
                )
        self._emit(InterchangeEnd(isa, iea, self._groups))
        self._isa = None
        self._where = (None, None, None, None)
        if iea is None:
            self._lexer.end_interchange()

    # group ------------------------------------------------------------------------------------
    def _start_group(self, gs: Segment) -> None:
        self._gs = gs
        self._groups += 1
        self._sets = 0
        self._st02s = set()
        gs06 = gs.get(6)
        self._where = (self._where[0], gs06, None, None)
        version = version_of(gs.get(8))
        self._version = version
        self._emit(GroupStart(gs, version))
        # an unsupported release is rejected as a whole (AK905 2); its GS is not judged by our dictionary
        gs_def = dictionary(version).segments.get("GS") if version is not None else None
        for err in check_segment(gs.elements, gs_def, gs.dialect) if gs_def is not None else ():
            if err.position == 6:
                self._finding(Level.GROUP, "6", err.message, gs, element_position=6)
            else:
                self._finding(
                    Level.INTERCHANGE,
                    "024",
                    f"invalid GS segment: {err.message}",
                    gs,
                    element_position=err.position,
                )
        if version is None:
            self._finding(
                Level.GROUP,
                "2",
                f"functional group version {gs.get(8)!r} is not supported (004010 and 005010 are)",
                gs,
            )
        if gs06 in self._gs06s:
            self._finding(
                Level.GROUP, "19", f"group control number {gs06} is used twice in this interchange", gs
            )
        if len(self._gs06s) < MAX_REMEMBERED:
            self._gs06s.add(gs06)

    def _end_group(self, ge: Segment | None, at: Segment | EndOfInput | None = None) -> None:
        gs = self._gs
        assert gs is not None
        if ge is None:
            self._finding(
                Level.GROUP,
                "3",
                "the functional group ends without its GE trailer",
                at if isinstance(at, Segment) else None,
            )
        else:
            ge01, ge02 = ge.get(1), ge.get(2)
            if ge02 != gs.get(6):
                self._finding(Level.GROUP, "4", f"GE02 {ge02!r} does not match GS06 {gs.get(6)!r}", ge)
            if not (ge02.isascii() and ge02.isdigit()) or len(ge02) > 9:
                self._finding(
                    Level.GROUP, "6", f"GE02 {ge02!r} is not a group control number (1-9 digits)", ge
                )
            if ascii_number(ge01) != self._sets:
                self._finding(
                    Level.GROUP, "5", f"GE01 says {ge01!r} transaction sets; the group has {self._sets}", ge
                )
        self._emit(GroupEnd(gs, ge, self._sets))
        self._gs = None
        self._where = (self._where[0], None, None, None)

    # set --------------------------------------------------------------------------------------
    def _start_set(self, st: Segment) -> None:
        self._st = st
        self._sets += 1
        self._set_segments = 1
        st.position = 1
        set_id, control = st.get(1), st.get(2)
        self._where = (self._where[0], self._where[1], control, set_id)
        schema: SetSchema | None = None
        if self._validate and self._version is not None:
            schema = self._schemas.get((self._version, set_id)) or load_set(self._version, set_id)
        self._pending.append(SetStart(st, schema))
        if not set_id or not set_id.isalnum():
            self._finding(Level.SET, "6", f"ST01 {set_id!r} is not a transaction set identifier", st)
        elif self._validate and self._version is not None and schema is None:
            self._finding(
                Level.SET,
                "1",
                f"transaction set {set_id} ({self._version}) is not supported: erpbridge has no schema for it",
                st,
            )
        if not control:
            self._finding(Level.SET, "7", "ST02 transaction set control number is missing", st)
        elif control in self._st02s:
            self._finding(
                Level.SET, "23", f"transaction set control number {control} is used twice in this group", st
            )
        if len(self._st02s) < MAX_REMEMBERED:
            self._st02s.add(control)
        self._validator = SetValidator(schema, self._base, st.dialect) if schema is not None else None
        self._checked = False
        self._skipped = 0
        if self._validator is not None:
            self._emit_all(self._validator.segment(st))
            if self._batch and schema is not None and batchable(schema):
                start = self._lexer.body_after(st)
                if start >= 0:
                    self._check = SetCheck(schema, st.dialect, start)

    def _end_set(self, se: Segment | None, at: Segment | EndOfInput | None = None) -> None:
        st = self._st
        assert st is not None
        if se is None:
            self._finding(
                Level.SET,
                "2",
                "the transaction set ends without its SE trailer",
                at if isinstance(at, Segment) else None,
            )
        else:
            self._set_segments += 1
            se.position = self._set_segments
            if self._validator is not None:
                if not self._checked:  # a body the batch check took has no loop left open
                    self._emit_all(self._validator.end(se))
                for err in self._validator.trailer_errors(se):
                    self._finding(
                        Level.ELEMENT,
                        err.code,
                        err.message,
                        se,
                        segment_position=se.position,
                        element_position=err.position,
                        element_ref=err.ref or None,
                    )
            els = se.elements
            se01, se02 = (els[1] if len(els) > 1 else ""), (els[2] if len(els) > 2 else "")
            if se02 != st.get(2):
                self._finding(Level.SET, "3", f"SE02 {se02!r} does not match ST02 {st.get(2)!r}", se)
            if ascii_number(se01) != self._set_segments:
                self._finding(
                    Level.SET,
                    "4",
                    f"SE01 says {se01!r} segments; the set has {self._set_segments} (ST to SE)",
                    se,
                )
        if se is None and self._validator is not None:
            # close open loops so that consumers see balanced events
            for ev in self._validator.end(at if isinstance(at, Segment) else st):
                if not isinstance(ev, Finding) and self._segments:
                    self._emit(ev)  # type: ignore[arg-type]
        self._pending.append(SetEnd(st, se, self._set_segments))
        self._st = None
        self._validator = None
        self._check = None
        self._checked = False
        self._where = (self._where[0], self._where[1], None, None)

    def _end_of_input(self, tok: EndOfInput) -> None:
        if self._st is not None:
            self._end_set(None, at=tok)
        if self._gs is not None:
            self._end_group(None, at=tok)
        if self._isa is not None:
            self._end_interchange(None, at=tok)
        elif tok.incomplete:
            self._finding(
                Level.INTERCHANGE,
                "022",
                f"unreadable data after the last interchange: {tok.incomplete[:40]!r}",
                line=tok.line,
                offset=tok.offset,
            )


def read(
    data: bytes | Iterable[bytes],
    *,
    validate: bool = True,
    segments: bool = True,
    overlays: Iterable[Overlay] = (),
) -> Iterator[Event]:
    """Events of a whole input: ``bytes``, or an iterable of chunks (read lazily)."""
    reader = X12Reader(validate=validate, segments=segments, overlays=overlays)
    chunks: Iterable[bytes] = [data] if isinstance(data, bytes | bytearray) else data
    for chunk in chunks:
        reader.feed(bytes(chunk))
        yield from reader.events()
    reader.close()
    yield from reader.events()


def collect_findings(events: Iterable[Event]) -> list[Finding]:
    return [ev for ev in events if isinstance(ev, Finding)]


__all__ = ["X12Reader", "X12SyntaxError", "collect_findings", "read"]
