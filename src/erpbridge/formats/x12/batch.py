"""Batch validation: a transaction set's body checked by compiled expressions, not segment by segment.

The streaming validator (:mod:`.validator`) places every segment with Python code and hands out
an event for each. When a consumer wants only the verdict (findings and envelope events, as the
acknowledgments and ``erpbridge x12 validate`` do), the reader asks this module first:

- **One expression per set schema and dialect** says whether a whole set body (every segment
  from after ST to before SE, terminators included) is valid: the loop structure (order,
  requirement, maximum use, loop repetition, the validator's placement rule), every element (the
  validator's own compiled value forms: types, lengths, code lists, dates, times, decimals) and
  the segments' and composites' syntax rules (P, R, E, C, L). A set that matches, with SE01
  counted and the HL hierarchy checked, has no finding: nothing else is done for its body.
- **Anything else goes to the streaming validator**, which finds and words the findings. The
  batch never reports a finding itself, so the findings are exactly the streaming validator's.
- **A set too large to hold** (more than :data:`HOLD` characters before its SE arrives) is checked
  in steps: the runs of segments between top-level loops, and each top-level loop's iterations in
  bulk. The reader keeps the text from the last *clean point* on: the start of an iteration of a
  top-level loop after at least one other (or the set's start), where the streaming validator's
  state is known exactly. Should a later step fail, the streaming validator takes over from there.

The reader also closes and opens consecutive sets of one kind from the text while their SE, the
next ST and its body are valid (``X12Reader._run_sets``), so a group of small sets costs no segment
and no lexer run per set.

Proof: ``tests/unit/test_x12_batch.py`` runs both paths over every corpus and sample file and more
than a thousand mutants, whole and in chunks, and over large generated sets with defects deep
inside, and requires the same findings and events; the batch must never accept what the streaming
validator rejects. Plans are shared by every reader of a schema: any plan, whatever IDs it has
learned, only ever accepts valid sets, so two threads learning at once can only cost a recompile.

Syntax rules become part of the expression. Rules whose positions lie close together (a *block*
of at most :data:`MAX_BLOCK` positions, after merging overlapping rules) are written as the
alternatives of present and absent values they allow; wider ones (TD5's R0204050612) as
lookaheads at the start of the segment.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .dialect import Dialect
from .schema import UNBOUNDED, ElementUse, LoopNode, Rule, SegmentDef, SegmentUsage, SetSchema
from .validator import _NON_PRINTABLE, _simple_pattern

#: the widest block of syntax rules written as alternatives (2**MAX_BLOCK combinations at most)
MAX_BLOCK = 8
#: characters of a set body held before it is checked in steps rather than whole
HOLD = 1 << 20
#: characters held after a clean point before the streaming validator takes over (a set whose
#: top-level loops give no clean point, or a run of segments this long outside loops)
MAX_HELD = 32 << 20

DONE, WAIT, FALLBACK = "done", "wait", "fallback"


# ----------------------------------------------------------------------------- compiled forms
class _Unbatchable(Exception):
    """The schema has something the batch cannot say: the streaming validator does it all."""


def _rule_ok(rule: Rule, present: dict[int, bool]) -> bool:
    ps = rule.positions
    bits = [present[p] for p in ps]
    if rule.kind == "P":
        return all(bits) or not any(bits)
    if rule.kind == "R":
        return any(bits)
    if rule.kind == "E":
        return sum(bits) <= 1
    if rule.kind == "C":
        return not bits[0] or all(bits[1:])
    return not bits[0] or any(bits[1:])  # L


class _Forms:
    """Regular-expression text for one dialect: separators, value classes, segments."""

    def __init__(self, d: Dialect) -> None:
        seps = {d.element, d.component, d.segment} | ({d.repetition} if d.repetition else set())
        self.cls = "[^" + "".join(re.escape(c) for c in sorted(seps)) + _NON_PRINTABLE + "]"
        self.esep = re.escape(d.element)
        self.csep = re.escape(d.component)
        self.term = re.escape(d.segment)
        self.ts = re.escape(d.segment + d.suffix)
        #: any character of an element's text (its components included)
        self.elt = "[^" + re.escape(d.element) + re.escape(d.segment) + "]"
        self._segments: dict[int, str] = {}

    # values ------------------------------------------------------------------------------------
    def _value(self, use: ElementUse) -> str:
        if use.composite is None:
            pat = _simple_pattern(use, self.cls, f"[{self.esep}{self.term}]")
            if pat is None:
                raise _Unbatchable(use.ref)
            return _plain_groups(pat)
        comp = use.composite
        if use.ig_codes is not None or use.ig_max is not None or use.ig_forbidden or use.ig_required:
            raise _Unbatchable(use.ref)
        if use.repeat != 1:
            raise _Unbatchable(use.ref)
        after = f"[{self.esep}{self.csep}{self.term}]"

        def component(cu: ElementUse) -> str:
            pat = _simple_pattern(cu, self.cls, after)
            if pat is None:
                raise _Unbatchable(cu.ref)
            return _plain_groups(pat)

        body = _sequence(
            comp.components,
            comp.rules,
            component,
            sep=self.csep,
            first_sep="",
            end=f"{self.esep}{self.term}",
            wide=lambda rules: _lookaheads(rules, self._component_present, self._component_reach),
        )
        # a present composite is never empty; trailing component separators are allowed
        return f"(?=[^{self.esep}{self.term}]){body}(?:{self.csep})*+"

    # segments ----------------------------------------------------------------------------------
    def segment(self, sdef: SegmentDef) -> str:
        """The text of one segment of ``sdef``, terminator excluded (cached per definition)."""
        key = id(sdef)
        if key in self._segments:
            return self._segments[key]
        body = _sequence(
            sdef.elements,
            sdef.rules,
            self._value,
            sep=self.esep,
            first_sep=self.esep,
            end=self.term,
            wide=lambda rules: _lookaheads(rules, self._present, self._reach),
        )
        pat = re.escape(sdef.id) + body + f"(?:{self.esep})*+"
        self._segments[key] = pat
        return pat

    def _present(self, p: int) -> str:
        """Element ``p`` is present, read from just after the segment ID."""
        skip = f"(?:{self.esep}{self.elt}*){{{p - 1}}}" if p > 1 else ""
        return f"{skip}{self.esep}{self.elt}"

    def _reach(self, p: int) -> str:
        """The segment has a position ``p`` (empty or not), read from just after its ID."""
        return f"(?:{self.elt}*{self.esep}){{{p}}}"

    def _component_reach(self, q: int) -> str:
        c = f"[^{self.csep}{self.esep}{self.term}]"
        return f"(?:{c}*{self.csep}){{{q - 1}}}"

    def _component_present(self, q: int) -> str:
        """Component ``q`` is present, read from the start of its composite."""
        c = f"[^{self.csep}{self.esep}{self.term}]"
        skip = f"(?:{c}*{self.csep}){{{q - 1}}}" if q > 1 else ""
        return f"{skip}{c}"


def _lookaheads(rules: list[Rule], present: Callable[[int], str], reach: Callable[[int], str]) -> str:
    """Syntax rules as lookaheads, in the order of the position from which each can fail (the
    validator's thresholds): a value that ends before it skips the rest with one short test."""
    by: dict[int, list[str]] = {}
    for rule in rules:
        ps = rule.positions
        t = (
            0
            if rule.kind == "R"
            else min(ps)
            if rule.kind == "P"
            else sorted(ps)[1]
            if rule.kind == "E"
            else ps[0]
        )
        by.setdefault(t, []).append(_lookahead(rule, present))
    out = ""
    for t in sorted(by, reverse=True):
        inner = "".join(by[t]) + out
        out = inner if t <= 1 else f"(?:(?!{reach(t)})|{inner})"
    return out


def _lookahead(rule: Rule, present: Callable[[int], str]) -> str:
    """A syntax rule as lookaheads over the presence of its positions."""
    pre = [present(p) for p in rule.positions]
    if rule.kind == "P":
        return "(?:" + "".join(f"(?={x})" for x in pre) + "|" + "".join(f"(?!{x})" for x in pre) + ")"
    if rule.kind == "R":
        return "(?=(?:" + "|".join(pre) + "))"
    if rule.kind == "E":
        return "".join(f"(?!(?={a}){b})" for a, b in itertools.combinations(pre, 2))
    if rule.kind == "C":
        return f"(?:(?!{pre[0]})|" + "".join(f"(?={x})" for x in pre[1:]) + ")"
    return f"(?:(?!{pre[0]})|(?=(?:" + "|".join(pre[1:]) + ")))"  # L


_CAPTURE = re.compile(r"(?<!\\)\((?!\?)")


def _plain_groups(pattern: str) -> str:
    """The pattern with its capturing groups made non-capturing."""
    return _CAPTURE.sub("(?:", pattern)


def _sequence(
    uses: Sequence[ElementUse],
    rules: Sequence[Rule],
    value: Callable[[ElementUse], str],
    *,
    sep: str,
    first_sep: str,
    end: str,
    wide: Callable[[list[Rule]], str] | None,
) -> str:
    """Positions 1..n of a segment (or a composite): present values, empty ones, truncation.

    ``sep`` comes before every position but the first, which has ``first_sep``; ``end`` is the
    characters that may follow the last value, as the body of a class (the terminator, and for
    components the element separator too). All three are escaped.
    """
    if [u.position for u in uses] != list(range(1, len(uses) + 1)):
        raise _Unbatchable("positions")
    vals = [value(u) for u in uses]
    required = [u.req == "M" for u in uses]
    n = len(uses)
    # merge overlapping rules into blocks; wide blocks become lookaheads
    spans = sorted(((min(r.positions), max(r.positions), r) for r in rules), key=lambda t: (t[0], t[1]))
    merged: list[tuple[int, int, list[Rule]]] = []
    for lo, hi, rule in spans:
        if hi > n:
            raise _Unbatchable("rule beyond the elements")
        if merged and lo <= merged[-1][1]:
            plo, phi, prs = merged[-1]
            merged[-1] = (plo, max(phi, hi), [*prs, rule])
        else:
            merged.append((lo, hi, [rule]))
    blocks: dict[int, tuple[int, list[Rule]]] = {}
    wide_rules: list[Rule] = []
    for lo, hi, rs in merged:
        if hi - lo + 1 <= MAX_BLOCK:
            blocks[lo] = (hi, rs)
        else:
            wide_rules += rs
    ahead = ""
    if wide_rules:
        if wide is None:
            raise _Unbatchable("wide rule")
        ahead = wide(wide_rules)

    def lead(p: int) -> str:
        return first_sep if p == 1 else sep

    def present(p: int) -> str:
        return f"{lead(p)}(?:{vals[p - 1]})"

    def absent(p: int) -> str:
        s = lead(p)
        return f"(?:{s}(?=[{sep}{end}])|(?=[{end}]))" if s else f"(?=[{sep}{end}])"

    def all_absent_ok(lo: int) -> bool:
        hi, rs = blocks[lo]
        pres = {q: False for q in range(lo, hi + 1)}
        return all(_rule_ok(r, pres) for r in rs)

    # truncatable[p]: the segment may end before position p (nothing required from p on)
    truncatable = [True] * (n + 2)
    for p in range(n, 0, -1):
        ok = truncatable[p + 1] and not required[p - 1]
        if p in blocks:
            ok = ok and all_absent_ok(p)
        truncatable[p] = ok

    def build(p: int) -> str:
        """Positions p..n. Where the segment may end, the rest is one optional group that fails
        at once on the terminator, so a short segment does not walk its absent positions."""
        if p > n:
            return ""
        if p in blocks:
            hi, rs = blocks[p]
            combos = []
            for bits in itertools.product((True, False), repeat=hi - p + 1):
                pres = {p + k: b for k, b in enumerate(bits)}
                if any(required[q - 1] and not pres[q] for q in pres):
                    continue
                if all(_rule_ok(r, pres) for r in rs):
                    combos.append(bits)
            if not combos:
                raise _Unbatchable("no value combination satisfies the rules")
            body = _trie(combos, 0, p, present, absent, first) + build(hi + 1)
            return f"(?:{body})?+" if truncatable[p] else body
        if required[p - 1]:
            return present(p) + build(p + 1)
        body = f"{lead(p)}(?:{vals[p - 1]})?+{build(p + 1)}"
        return f"(?:{body})?+" if truncatable[p] and lead(p) else body

    def first(p: int) -> str:
        """Empty at the start of a block: the segment goes on (ending here is the group's skip)."""
        s = lead(p)
        return f"{s}(?=[{sep}{end}])" if s else f"(?=[{sep}{end}])"

    return ahead + build(1)


def _trie(
    combos: list[tuple[bool, ...]],
    k: int,
    start: int,
    present: Callable[[int], str],
    absent: Callable[[int], str],
    first: Callable[[int], str],
) -> str:
    """The allowed present/absent combinations of a block, as a prefix tree of alternatives."""
    if not combos or k == len(combos[0]):
        return ""
    alts = []
    for flag in (True, False):
        sub = [c for c in combos if c[k] is flag]
        if sub:
            step = present(start + k) if flag else (first if k == 0 else absent)(start + k)
            alts.append(step + _trie(sub, k + 1, start, present, absent, first))
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


# ------------------------------------------------------------------------------------- plans
@dataclass(frozen=True, slots=True)
class _Step:
    """One step of the stepwise check: a run of segments, or a top-level loop's iterations."""

    pattern: re.Pattern[str]
    #: the top-level loop (its index in the root, its limits, its trigger's needles), or None
    loop: LoopNode | None = None
    index: int = 0
    needles: tuple[str, str] = ("", "")


class BatchPlan:
    """Everything the batch check of one set schema in one dialect needs.

    Only the places of segment IDs that sets of this schema were seen to hold (and the mandatory
    ones) are written out; every other one is at most a guard that fails the check where the
    validator would place such a segment (:func:`learn`).
    """

    __slots__ = (
        "_grammar",
        "_steps",
        "hl",
        "hl_any",
        "hl_bare",
        "hl_sep",
        "pairs",
        "se_needles",
        "se_st",
        "ts",
        "whole",
    )

    def __init__(self, grammar: _Grammar, d: Dialect) -> None:
        schema = grammar.schema
        root = schema.root
        self._grammar: _Grammar | None = grammar
        self._steps: tuple[_Step, ...] | None = None
        self.whole = re.compile(grammar.children(root, 1, len(root.children) - 1))
        f = grammar.forms
        st, se = root.children[0], root.children[-1]
        assert isinstance(st, SegmentUsage) and isinstance(se, SegmentUsage)
        #: a valid SE and the next ST, each a group: where one set ends and the next begins
        self.se_st = re.compile(f"({f.segment(se.segment)}){f.ts}({f.segment(st.segment)}){f.ts}")
        self.ts = d.segment + d.suffix
        self.se_needles = (self.ts + "SE" + d.element, self.ts + "SE" + d.segment)
        #: the HL hierarchy: "HL01*HL02*HL03" of every HL, and the parent levels each level allows
        self.hl: re.Pattern[str] | None = None
        self.hl_any = ""
        self.hl_bare = ""
        self.hl_sep = ""
        #: the (level, parent's level) byte pairs the hierarchy allows, any number of them; a top
        #: level's parent is byte 0
        self.pairs: re.Pattern[bytes] = re.compile(b"")
        h = schema.hierarchy
        if h is not None:
            for node in _usages(root):
                if isinstance(node, SegmentUsage) and node.id == h.loop:
                    lp = node.loop
                    if lp is None or lp.id != h.loop or lp.children[0] is not node:
                        raise _Unbatchable("hierarchy segment outside its loop")
            e = f"[^{f.esep}{f.term}]*"
            self.hl = re.compile(f"{f.ts}{re.escape(h.loop)}{f.esep}({e}{f.esep}{e}{f.esep}{e})")
            self.hl_any = d.segment + d.suffix + h.loop + d.element
            self.hl_bare = d.segment + d.suffix + h.loop + d.segment
            self.hl_sep = d.element
            allowed_pairs = [
                re.escape(bytes([ord(level) & 0xFF, ord(p) & 0xFF if p else 0]))
                for level, ups in h.parents.items()
                if len(level) == 1
                for p in (sorted(ups) or [""])
                if len(p) <= 1
            ]
            self.pairs = re.compile(b"(?:" + b"|".join(allowed_pairs or [b"(?!)"]) + b")*+")

    @property
    def steps(self) -> tuple[_Step, ...]:
        """The stepwise check (compiled when a set first needs it), or empty when a top-level
        loop's trigger recurs inside it (its iterations could not be counted)."""
        if self._steps is None:
            g = self._grammar
            assert g is not None
            try:
                self._steps = _stepwise(g)
            except (_Unbatchable, re.error, RecursionError, OverflowError):
                self._steps = ()
            self._grammar = None
        return self._steps


def _stepwise(g: _Grammar) -> tuple[_Step, ...]:
    root = g.schema.root
    d = g.d
    last = len(root.children) - 1  # SE
    steps: list[_Step] = []
    run_start = 1
    after: str | None = None  # the trigger of the loop just before a run, which must not follow it
    for i in range(1, last + 1):
        c = root.children[i] if i < last else None
        if c is None or (isinstance(c, LoopNode) and g.kept(c)):
            guard = g.not_next(after) if after else ""
            steps.append(_Step(re.compile(guard + g.children(root, run_start, i))))
            if c is None:
                break
            if c.id in [n.id for n in _usages(c)[1:]]:
                return ()
            ts = d.segment + d.suffix
            steps.append(
                _Step(
                    re.compile(f"(?:(?P<it>{g.iteration(c)}))*+"),
                    c,
                    i,
                    (ts + c.id + d.element, ts + c.id + d.segment),
                )
            )
            after = c.id
            run_start = i + 1
    return tuple(steps)


def _usages(node: LoopNode) -> list[SegmentUsage | LoopNode]:
    out: list[SegmentUsage | LoopNode] = []
    for child in node.children:
        out.append(child)
        if isinstance(child, LoopNode):
            out.extend(_usages(child))
    return out


def _repeat(lo: int, hi: int) -> str:
    if hi >= UNBOUNDED:
        return "*+" if lo == 0 else "++"
    if hi == 1:
        return "?+" if lo == 0 else ""
    return f"{{{lo},{hi}}}+"


class _Grammar:
    def __init__(self, schema: SetSchema, forms: _Forms, d: Dialect, seen: frozenset[str]) -> None:
        self.forms = forms
        self.d = d
        self.schema = schema
        self.seen = seen
        #: written-out places of each segment ID (a loop counts under its trigger's)
        self.places: dict[str, int] = {}
        for node in _usages(schema.root):
            trigger = (
                isinstance(node, SegmentUsage) and node.loop is not None and node.loop.children[0] is node
            )
            if not trigger and self.kept(node):  # a loop's trigger counts as its loop's place
                self.places[node.id] = self.places.get(node.id, 0) + 1

    def kept(self, c: SegmentUsage | LoopNode) -> bool:
        """Whether a child is written out: mandatory, or its ID seen in a set of this schema."""
        return c.req == "M" or c.id in self.seen

    def not_next(self, sid: str) -> str:
        f = self.forms
        return f"(?!{re.escape(sid)}[{f.esep}{f.term}])"

    def usage(self, u: SegmentUsage) -> str:
        return self.forms.segment(u.segment) + self.forms.ts

    def iteration(self, loop: LoopNode) -> str:
        return self.usage(loop.trigger) + self.children(loop, 1, len(loop.children))

    def child(self, c: SegmentUsage | LoopNode) -> str:
        """One child of a loop: its segment or its loop's iterations, and the guards it needs.

        The expression places a segment at the first written-out place with its ID, in the order
        the validator searches (on in this loop, a new iteration, on in the enclosing loops). It
        only differs when the validator would take a place that is not written out, or the same
        place once more than its maximum use: a guard (``(?!ID)``) stands there, needed only when
        the ID has a written-out place that the expression could take instead.
        """
        places = self.places.get(c.id, 0)
        if not self.kept(c):  # never seen: a segment that would be placed here fails the check
            return self.not_next(c.id) if places else ""
        lo = 1 if c.req == "M" else 0
        body = self.usage(c) if isinstance(c, SegmentUsage) else self.iteration(c)
        return f"(?:{body}){_repeat(lo, c.max)}" + (self.not_next(c.id) if places > 1 else "")

    def children(self, node: LoopNode, start: int, stop: int) -> str:
        return "".join(self.child(c) for c in node.children[start:stop])


def batchable(schema: SetSchema) -> bool:
    """Whether the batch can check sets of this schema at all (a partner guide's tightening is
    left to the streaming validator)."""
    key = "able"
    plans = schema.batch
    if key not in plans:
        able = True
        for node in _usages(schema.root):
            if isinstance(node, LoopNode):
                able = able and not node.ig_req and node.ig_max is None
            else:
                able = able and not node.ig
        plans[key] = able
    return bool(plans[key])


def _build(schema: SetSchema, d: Dialect, seen: frozenset[str]) -> BatchPlan | None:
    try:
        return BatchPlan(_Grammar(schema, _Forms(d), d, seen), d)
    except (_Unbatchable, re.error, RecursionError, OverflowError):
        return None


#: how many times a schema's plans are rebuilt with newly seen segment IDs, at most
MAX_LEARN = 32
#: how many times one set's check may learn new IDs and try again
MAX_RELEARN = 3
#: characters of a schema's first set read for the IDs to expect (a failure later reads the rest)
FIRST_LEARN = 256 << 10


def _seen(schema: SetSchema) -> frozenset[str]:
    """The segment IDs met in sets of a schema so far, kept with its compiled plans."""
    return schema.batch.get("seen", frozenset())  # type: ignore[no-any-return]


def learn(schema: SetSchema, ids: set[str]) -> bool:
    """Segment IDs found in a set of ``schema``: later plans write out their places. True when
    that changes the plans."""
    state = schema.batch
    seen = _seen(schema)
    new = {i for i in ids if i in schema.ids} - seen
    if not new or state.get("rebuilds", 0) >= MAX_LEARN:
        return False
    state["seen"] = seen | new
    state["rebuilds"] = state.get("rebuilds", 0) + 1
    return True


def plan_for(schema: SetSchema, d: Dialect) -> BatchPlan | None:
    """The batch plan of ``schema`` in dialect ``d`` for the segment IDs seen so far, or None
    (nothing seen yet, or a schema the batch cannot check)."""
    seen = _seen(schema)
    if not seen or not batchable(schema):
        return None
    key = (d.element, d.component, d.repetition, d.segment, d.suffix)
    plans = schema.batch
    got = plans.get(key)
    if got is not None and got[0] == seen:  # compiled for these IDs
        return got[1]  # type: ignore[no-any-return]
    plan = _build(schema, d, seen)
    plans[key] = (seen, plan)
    return plan


# ------------------------------------------------------------------------------------ runtime
class SetCheck:
    """The batch check of one set body as its text arrives (see the module docstring).

    Offsets are absolute (from the start of the input), so the reader may drop text before
    :attr:`clean`. After :meth:`advance`:

    - ``DONE``: the body is valid and ends at :attr:`end` (where SE starts); :attr:`segments`
      body segments.
    - ``WAIT``: more text is needed; everything before :attr:`clean` is checked.
    - ``FALLBACK``: the streaming validator takes over at :attr:`clean`, with
      :attr:`clean_segments` body segments before it, the root loop's index and count
      :attr:`clean_state` (None at the set's start) and :attr:`clean_levels` (HL levels by number).

    A set whose check fails at its start, holding segment IDs its schema's plan has not seen, is
    checked once more with a plan that has (:func:`learn`).
    """

    __slots__ = (
        "clean",
        "clean_hl",
        "clean_segments",
        "clean_state",
        "count",
        "dialect",
        "end",
        "learned",
        "levels",
        "plan",
        "scan",
        "schema",
        "se_needles",
        "segments",
        "step",
        "ts",
    )  # fmt: skip

    def __init__(self, schema: SetSchema, dialect: Dialect, start: int) -> None:
        self.schema = schema
        self.dialect = dialect
        self.plan = plan_for(schema, dialect)
        d = dialect
        self.ts = ts = d.segment + d.suffix
        self.se_needles = (ts + "SE" + d.element, ts + "SE" + d.segment)
        self.clean = start
        self.clean_segments = 0
        self.clean_state: tuple[int, int] | None = None
        self.clean_hl = 0
        self.scan = start
        self.step = 0
        self.count = 0  # iterations of the current step's loop so far
        self.segments = 0  # body segments before scan
        self.levels = bytearray()
        self.end = -1
        self.learned = 0  # times the IDs of this set were learned

    def advance(self, buf: str, base: int, closed: bool) -> str:
        ts = self.ts
        scan = self.scan - base
        if buf[scan - len(ts) : scan] != ts:
            return FALLBACK
        se = first_of(buf, self.se_needles, scan - len(ts))
        held = self.clean - base
        if se >= 0:
            end, final = se + len(ts), True
        elif closed:
            return FALLBACK
        else:
            last = buf.rfind(ts)
            end, final = (last + len(ts) if last >= scan else scan), False
            if end - held < HOLD:
                return WAIT
        verdict = self._advance(buf, base, scan, end, final)
        while verdict == FALLBACK and self.learned < MAX_RELEARN and self._relearn(buf, base, end, final):
            # IDs the plan had not seen: check again from the clean point with a plan that has
            verdict = self._advance(buf, base, self.scan - base, end, final)
        if verdict == WAIT and end - (self.clean - base) > MAX_HELD:
            return FALLBACK
        return verdict

    def _relearn(self, buf: str, base: int, end: int, final: bool) -> bool:
        """Learn the segment IDs from the clean point on; when new, rewind there with a new plan."""
        self.learned += 1
        start = self.clean - base
        if self.plan is None and not final:  # the schema's first set, not whole yet: its start
            end = min(end, start + FIRST_LEARN)
        if not learn(self.schema, _new_ids(buf, start, end, self.dialect, _seen(self.schema))):
            return False
        plan = self.plan = plan_for(self.schema, self.dialect)
        if plan is None:
            return False
        self.scan, self.segments, self.count = self.clean, self.clean_segments, 0
        del self.levels[self.clean_hl :]
        if self.clean_state is None:
            self.step = 0
            return True
        index, count = self.clean_state
        steps = [i for i, st in enumerate(plan.steps) if st.loop is not None and st.index == index]
        if not steps:
            return False
        self.step, self.count = steps[0], count
        return True

    def _advance(self, buf: str, base: int, scan: int, end: int, final: bool) -> str:
        plan = self.plan
        if plan is None:
            return FALLBACK
        if final and self.step == 0 and self.scan == self.clean and self.clean_state is None:
            if plan.whole.fullmatch(buf, scan, end) is None or not self._levels(buf, scan, end):
                return FALLBACK
            self.segments = buf.count(self.ts, scan, end)
            self.end = base + end
            return DONE
        if not plan.steps:
            return FALLBACK if final or end - (self.clean - base) > MAX_HELD else WAIT
        return self._steps(buf, base, scan, end, final)

    @property
    def clean_levels(self) -> bytes:
        return bytes(self.levels[: self.clean_hl])

    def _steps(self, buf: str, base: int, scan: int, end: int, final: bool) -> str:
        plan = self.plan
        assert plan is not None
        ts = self.ts
        steps = plan.steps
        while self.step < len(steps):
            step = steps[self.step]
            m = step.pattern.match(buf, scan, end)
            if m is None:
                return FALLBACK
            q = m.end()
            loop = step.loop
            if loop is None:  # a run of segments between top-level loops (the last one ends at SE)
                if q == end and not final:
                    return WAIT  # the next segment decides where the run ends
                if self.step == len(steps) - 1 and q != end:
                    return FALLBACK
                if not self._levels(buf, scan, q):
                    return FALLBACK
                self.segments += buf.count(ts, scan, q)
                scan = q
                self.scan = base + q
                self.step += 1
                self.count = 0
                continue
            a, b = step.needles
            new = buf.count(a, scan - len(ts), q) + buf.count(b, scan - len(ts), q) if q > scan else 0
            more = q == end and not final  # the last iteration may go on in text not yet here
            confirmed = m.start("it") if more and new else q
            if more and new:
                new -= 1
            total = self.count + new
            if total > loop.max:
                return FALLBACK
            if confirmed > scan:
                if not self._levels(buf, scan, confirmed):
                    return FALLBACK
                self.segments += buf.count(ts, scan, confirmed)
                self.count = total
                self.scan = base + confirmed
                self._clean(base, m, scan, confirmed, total, more, step.index)
                scan = confirmed
            if more:
                return WAIT
            if total == 0 and loop.req == "M":
                return FALLBACK
            self.step += 1
            self.count = 0
        if scan != end:
            return FALLBACK
        self.end = base + end
        return DONE

    def _clean(
        self, base: int, m: re.Match[str], scan: int, confirmed: int, total: int, more: bool, index: int
    ) -> None:
        """Move the clean point to the start of the last iteration that follows another one.

        There the streaming validator's state is known: the root loop at this loop, ``n``
        iterations done, every inner loop closed.
        """
        if more:  # confirmed is the start of an iteration, with ``total`` before it
            if total >= 1:
                self.clean, self.clean_segments = base + confirmed, self.segments
                self.clean_state, self.clean_hl = (index, total), len(self.levels)
            return
        last = m.start("it")  # every iteration here is complete: the last one starts here
        if total < 2 or last < scan:
            return
        assert self.plan is not None
        hl = self.plan.hl
        self.clean = base + last
        self.clean_segments = self.segments - m.string.count(self.ts, last, confirmed)
        self.clean_state = (index, total - 1)
        self.clean_hl = len(self.levels) - (
            m.string.count(self.plan.hl_any, last - len(self.ts), confirmed) if hl else 0
        )

    def _levels(self, buf: str, start: int, stop: int) -> bool:
        """Check the HL segments in ``buf[start:stop]`` the way the validator's fast path does:
        HL01 counts 1, 2, 3 ..., HL03 is one character, HL02 names an earlier HL of a level that
        HL03's level may sit under (or is empty for a top level). Anything else: False."""
        assert self.plan is not None
        hl = self.plan.hl
        if hl is None:
            return True
        at = start - len(self.ts)
        found = hl.findall(buf, at, stop)  # "HL01*HL02*HL03" of each HL with three elements or more
        if not found:
            return not (buf.count(self.plan.hl_any, at, stop) or buf.count(self.plan.hl_bare, at, stop))
        k = len(found)
        if buf.count(self.plan.hl_any, at, stop) != k or buf.count(self.plan.hl_bare, at, stop):
            return False  # an HL with fewer than three elements: the validator says what is wrong
        fields = self.plan.hl_sep.join(found).split(self.plan.hl_sep)
        hids, ups, lvs = fields[0::3], fields[1::3], fields[2::3]
        levels = self.levels
        n = len(levels)
        numbers = range(n + 1, n + k + 1)
        text = "".join(lvs)
        joined = "".join(ups)
        if (
            ",".join(hids) != ",".join(map(str, numbers))
            or len(text) != k
            or not (joined.isascii() and (joined.isdigit() or not joined))
            or max(map(len, ups)) > 18
        ):
            return False
        if ",0," in f",{','.join(ups)},":
            return False  # HL02 0 names no HL
        # HL02 as numbers, 0 for none; the level code of each parent from a table with 0 first
        ints = list(map(int, f",{','.join(ups)},".replace(",,", ",0,").replace(",,", ",0,")[1:-1].split(",")))
        if not all(map(operator.lt, ints, numbers)):
            return False
        codes = text.encode("latin-1")
        levels.extend(codes)
        table = b"\x00" + levels
        # each HL as two bytes, its level and its parent's, matched against the allowed pairs
        pairs = bytearray(2 * k)
        pairs[0::2] = codes
        pairs[1::2] = bytes(map(table.__getitem__, ints))
        return self.plan.pairs.fullmatch(pairs) is not None


def _new_ids(buf: str, start: int, end: int, d: Dialect, seen: frozenset[str]) -> set[str]:
    """The segment IDs in ``buf[start:end]`` (segments from ``start`` on) that are not in ``seen``:
    one scan, which builds nothing for the IDs already seen."""
    ts = re.escape(d.segment + d.suffix)
    after = f"[{re.escape(d.element)}{re.escape(d.segment)}]"
    known = f"(?!(?:{'|'.join(sorted(seen))}){after})" if seen else ""
    pattern = re.compile(f"{ts}{known}([A-Z0-9]{{2,3}})(?={after})")  # a literal first: a fast scan
    return set(pattern.findall(buf, start - len(d.segment + d.suffix), end))


def first_of(buf: str, needles: tuple[str, str], start: int) -> int:
    """Where the first of ``needles`` is in ``buf`` from ``start`` (index of its segment), or -1."""
    a = buf.find(needles[0], start)
    b = buf.find(needles[1], start, a if a >= 0 else len(buf))
    hit = b if b >= 0 else a
    return hit


__all__ = ["DONE", "FALLBACK", "HOLD", "WAIT", "BatchPlan", "SetCheck", "batchable", "learn", "plan_for"]
