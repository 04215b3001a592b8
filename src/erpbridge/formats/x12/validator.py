"""Schema-driven validation of one transaction set: loop structure, segments and elements.

:class:`SetValidator` is fed the set's segments in order (ST first, SE last). It places each one in
the schema tree, the way X12 loops are matched: search forward in the current loop, then in the
enclosing loops; the trigger segment of a loop starts a new iteration. It returns the loop events
and findings that placement produced. Nothing here raises on bad input.

Element checks (:func:`check_segment`) follow the 997 AK403 code list: 1 mandatory missing,
2 conditional required missing (syntax rules P, R, C, L), 3 too many elements, 4/5 too short/long,
6 invalid character, 7 invalid code, 8 invalid date, 9 invalid time, 10 exclusion violated (E),
12 too many repetitions, 13 too many components.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from .dialect import Dialect
from .events import LoopEnd, LoopStart
from .findings import Finding, Level, Location, Severity
from .lexer import Segment
from .schema import ElementUse, LoopNode, Rule, SegmentDef, SegmentUsage, SetSchema

_NUMERIC = re.compile(r"-?[0-9]+\Z")
_REAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:E-?[0-9]+)?\Z")
_TIME = re.compile(r"([01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9](?:[0-9]{1,2})?)?\Z")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def valid_date(value: str) -> bool:
    """CCYYMMDD or YYMMDD."""
    if not (value.isascii() and value.isdigit()):
        return False
    if len(value) == 8:
        year, month, day = int(value[:4]), int(value[4:6]), int(value[6:])
    elif len(value) == 6:
        year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    else:
        return False
    if not 1 <= month <= 12 or day < 1 or day > _DAYS[month - 1]:
        return False
    return not (month == 2 and day == 29 and (year % 4 or (year % 100 == 0 and year % 400)))


def ascii_number(text: str) -> int | None:
    """``text`` as a number when it is ASCII digits (at most 18 significant), else ``None``.

    For counts (IEA01, GE01, SE01) and HL numbers: ``str.isdigit`` alone accepts "²" (ISO-8859-1
    0xB2), which ``int`` refuses, and ``int`` refuses more than 4300 digits.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else None


def valid_time(value: str) -> bool:
    return _TIME.match(value) is not None


@dataclass(frozen=True, slots=True)
class ElementError:
    position: int
    component: int | None
    repetition: int | None
    ref: str
    code: str
    message: str
    value: str | None
    severity: Severity = "error"


def _label(seg_id: str, pos: int, comp: int | None) -> str:
    return f"{seg_id}{pos:02d}" + (f"-{comp:02d}" if comp else "")


def check_value(
    value: str, use: ElementUse, label: str | tuple[str, int, int | None]
) -> tuple[str, str] | None:
    """Check one simple value against its element; ``(code, message)`` or ``None`` when valid.

    ``label`` names the element in the message (``BEG03``), or is ``(segment ID, position,
    component)`` to build that name only when there is something to say.
    """
    el = use.element
    if el is None:
        return None
    typ = el.type
    size = len(value)
    code = ""
    if typ == "AN":
        if not value.isprintable():
            code, what = "6", "contains a control character"
    elif typ == "ID":
        if use.codes is not None and value not in use.codes:
            code, what = "7", f"has {value!r}, which is not one of its codes"
    elif typ == "DT":
        if not valid_date(value):
            code, what = "8", f"has {value!r}, which is not a valid date (CCYYMMDD)"
        elif size < use.min or size > use.max:
            code, what = "8", f"date {value!r} must be {use.min} digits"
        size = use.min
    elif typ == "TM":
        if not valid_time(value):
            code, what = "9", f"has {value!r}, which is not a valid time (HHMM[SS])"
        size = use.min
    elif typ == "R":
        if _REAL.match(value) is None:
            code, what = "6", f"has {value!r}, which is not a decimal number"
        else:
            size -= (value[0] == "-") + ("." in value)
    elif typ[0] == "N":
        if _NUMERIC.match(value) is None:
            code, what = "6", f"has {value!r}, which is not a whole number"
        elif value[0] == "-":
            size -= 1
    if not code:
        if size < use.min:
            code, what = "4", f"is {size} characters; it needs at least {use.min}"
        elif size > use.max:
            code, what = "5", f"is {size} characters; at most {use.max} are allowed"
        else:
            return None
    name = label if isinstance(label, str) else _label(*label)
    return code, f"{name} ({el.name}) {what}"


def _check_rules(
    rules: tuple[Rule, ...], vals: list[str], seg_id: str, comp_of: int | None
) -> list[tuple[int, str, str]]:
    """Syntax rules over ``vals`` (``vals[p]`` is position *p*; index 0 is ignored).

    Returns (position, code, message) for each violation.
    """
    out: list[tuple[int, str, str]] = []
    size = len(vals)

    def present(p: int) -> bool:
        return p < size and vals[p] != ""

    def name(p: int) -> str:
        return f"{seg_id}{comp_of:02d}-{p:02d}" if comp_of else f"{seg_id}{p:02d}"

    def names(ps: tuple[int, ...]) -> str:
        return ", ".join(name(p) for p in ps)

    for rule in rules:
        ps = rule.positions
        kind = rule.kind
        if kind == "P":
            have = [p for p in ps if present(p)]
            if have and len(have) != len(ps):
                missing = next(p for p in ps if not present(p))
                out.append(
                    (
                        missing,
                        "2",
                        f"{name(missing)} is required: {names(ps)} are used together or not at all",
                    )
                )
        elif kind == "R":
            if not any(present(p) for p in ps):
                out.append((ps[0], "2", f"at least one of {names(ps)} is required"))
        elif kind == "E":
            have = [p for p in ps if present(p)]
            if len(have) > 1:
                out.append((have[1], "10", f"only one of {names(ps)} may be used"))
        elif kind == "C":
            if present(ps[0]):
                for p in ps[1:]:
                    if not present(p):
                        out.append((p, "2", f"{name(p)} is required when {name(ps[0])} is used"))
        elif kind == "L" and present(ps[0]) and not any(present(p) for p in ps[1:]):
            out.append((ps[1], "2", f"one of {names(ps[1:])} is required when {name(ps[0])} is used"))
    return out


def check_segment(
    elements: list[str], sdef: SegmentDef, dialect: Dialect, ig_severity: Severity = "error"
) -> list[ElementError]:
    """All element errors of one segment (``elements[0]`` is its ID)."""
    if segment_is_valid(elements, sdef, dialect):
        return []
    return element_errors(elements, sdef, dialect, ig_severity)


def element_errors(
    elements: list[str], sdef: SegmentDef, dialect: Dialect, ig_severity: Severity = "error"
) -> list[ElementError]:
    """The detailed path: every element error of a segment, each with its code and message."""
    errors: list[ElementError] = []
    defs = sdef.elements
    sid = sdef.id
    n = len(elements) - 1
    if n > len(defs) and any(elements[len(defs) + 1 :]):
        extra = len(defs) + 1
        errors.append(
            ElementError(
                extra,
                None,
                None,
                "",
                "3",
                f"{sid} has {n} elements; the standard defines {len(defs)}",
                elements[extra],
            )
        )
    comp_sep = dialect.component
    rep_sep = dialect.repetition
    for use in defs:
        pos = use.position
        value = elements[pos] if pos <= n else ""
        if value and use.plain and comp_sep not in value and (rep_sep is None or rep_sep not in value):
            bad = check_value(value, use, (sid, pos, None))
            if bad is not None:
                errors.append(ElementError(pos, None, None, use.ref, bad[0], bad[1], value))
            continue
        if not value:
            if use.req == "M":
                errors.append(
                    ElementError(
                        pos,
                        None,
                        None,
                        use.ref,
                        "1",
                        f"{sid}{pos:02d} ({use.name}) is mandatory and missing",
                        None,
                    )
                )
            elif use.ig_required:
                errors.append(
                    ElementError(
                        pos,
                        None,
                        None,
                        use.ref,
                        "1",
                        f"{sid}{pos:02d} ({use.name}) is required by the partner's guide",
                        None,
                        ig_severity,
                    )
                )
            continue
        if use.ig_forbidden:
            errors.append(
                ElementError(
                    pos,
                    None,
                    None,
                    use.ref,
                    "10",
                    f"{sid}{pos:02d} is not used in the partner's guide",
                    value,
                    ig_severity,
                )
            )
        reps = [value]
        if rep_sep is not None and rep_sep in value:
            reps = value.split(rep_sep)
            if use.repeat != 0 and len(reps) > max(use.repeat, 1):
                errors.append(
                    ElementError(
                        pos,
                        None,
                        None,
                        use.ref,
                        "12",
                        f"{sid}{pos:02d} repeats {len(reps)} times; at most {use.repeat} allowed",
                        value,
                    )
                )
                continue
        for r, rep in enumerate(reps, start=1):
            repno = r if len(reps) > 1 else None
            comp = use.composite
            if comp is None:
                if comp_sep in rep:
                    errors.append(
                        ElementError(
                            pos,
                            None,
                            repno,
                            use.ref,
                            "6",
                            f"{sid}{pos:02d} contains the component separator {comp_sep!r} but is not a composite",
                            rep,
                        )
                    )
                    continue
                bad = check_value(rep, use, (sid, pos, None))
                if bad is not None:
                    errors.append(ElementError(pos, None, repno, use.ref, bad[0], bad[1], rep))
                    continue
                errors.extend(_ig_value(rep, use, sid, pos, None, repno, ig_severity))
                continue
            parts = rep.split(comp_sep)
            if len(parts) > len(comp.components) and any(parts[len(comp.components) :]):
                errors.append(
                    ElementError(
                        pos,
                        None,
                        repno,
                        use.ref,
                        "13",
                        f"{sid}{pos:02d} has {len(parts)} components; at most {len(comp.components)}",
                        rep,
                    )
                )
                continue
            for cu in comp.components:
                cv = parts[cu.position - 1] if cu.position <= len(parts) else ""
                if not cv:
                    if cu.req == "M":
                        errors.append(
                            ElementError(
                                pos,
                                cu.position,
                                repno,
                                cu.ref,
                                "1",
                                f"{sid}{pos:02d}-{cu.position:02d} ({cu.name}) is mandatory and missing",
                                None,
                            )
                        )
                    continue
                bad = check_value(cv, cu, (sid, pos, cu.position))
                if bad is not None:
                    errors.append(ElementError(pos, cu.position, repno, cu.ref, bad[0], bad[1], cv))
            if comp.rules:
                for p, code, msg in _check_rules(comp.rules, ["", *parts], sid, pos):
                    errors.append(
                        ElementError(
                            pos,
                            p,
                            repno,
                            comp.components[p - 1].ref if p <= len(comp.components) else "",
                            code,
                            msg,
                            None,
                        )
                    )
    if sdef.rules:
        for p, code, msg in _check_rules(sdef.rules, elements, sid, None):
            ref = defs[p - 1].ref if p <= len(defs) else ""
            errors.append(
                ElementError(p, None, None, ref, code, msg, elements[p] if p <= n and elements[p] else None)
            )
    return errors


def _ig_value(
    value: str, use: ElementUse, sid: str, pos: int, comp: int | None, rep: int | None, sev: Severity
) -> list[ElementError]:
    out = []
    if use.ig_codes is not None and value not in use.ig_codes:
        allowed = ", ".join(sorted(use.ig_codes))
        out.append(
            ElementError(
                pos,
                comp,
                rep,
                use.ref,
                "7",
                f"{_label(sid, pos, comp)} has {value!r}; the partner's guide allows {allowed}",
                value,
                sev,
            )
        )
    if use.ig_max is not None and len(value) > use.ig_max:
        out.append(
            ElementError(
                pos,
                comp,
                rep,
                use.ref,
                "5",
                f"{_label(sid, pos, comp)} is {len(value)} characters; the partner's guide allows {use.ig_max}",
                value,
                sev,
            )
        )
    return out


# ------------------------------------------------------------------------------ compiled fast path
#
# For each segment definition and dialect, one regular expression accepts exactly the segments that
# check_segment() would find no error in (types, lengths, code lists, mandatory elements, separators);
# dates and R digit counts get a small post-check, syntax rules a boolean pass. A segment that does
# not match goes through the detailed path, which says what is wrong. The fast path may only accept
# what the detailed path accepts; when a definition uses something it cannot express (partner guide
# tightening, repeats, binary), there is no fast path for it. Optional parts are possessive (``?+``):
# separators delimit every value, so backtracking into them could not find another match, and
# possessive groups cost the regular expression engine about a third less; they can only make the
# pattern reject more, never accept more.

#: printable ISO-8859-1 (str.isprintable) minus the delimiters, as a negated class body
_NON_PRINTABLE = "\\x00-\\x1f\\x7f-\\xa0\\xad"

#: month and day of a valid date other than 29 February
_MMDD = (
    "(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)"
    "|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
#: CCYYMMDD as valid_date() accepts it: 29 February only in a leap year of the Gregorian calendar
_CCYYMMDD = (
    f"(?:[0-9]{{4}}{_MMDD}"
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)"
)
#: YYMMDD as valid_date() reads it (20YY): 29 February when YY is a multiple of 4
_YYMMDD = f"(?:[0-9]{{2}}{_MMDD}|(?:[02468][048]|[13579][26])0229)"
#: the numbers _REAL accepts, with possessive parts: a digit first (after the point, if it starts
#: with one)
_REAL_FAST = "-?+(?=\\.?[0-9])[0-9]*+(?:\\.[0-9]*+)?+(?:E-?[0-9]++)?+"


@dataclass(frozen=True, slots=True)
class _Fast:
    pattern: re.Pattern[str]
    #: what the pattern cannot say (syntax rules, composites' rules), over the elements; None if nothing
    post: Callable[[list[str]], object] | None


def _presence(ps: tuple[int, ...], term: Callable[[int], str]) -> str:
    return ", ".join(term(p) for p in ps)


def _rules_source(rules: tuple[Rule, ...], term: Callable[[int], str]) -> list[str]:
    """One boolean expression per syntax rule, over the presence terms ``term(position)``."""
    out = []
    for rule in rules:
        ps = rule.positions
        t = [term(int(p)) for p in ps]
        if rule.kind == "P":  # all or none: every term is as absent as the first
            out.append("(" + " == ".join(f"(not {x})" for x in t) + ")")
        elif rule.kind == "R":
            out.append("(" + " or ".join(t) + ")")
        elif rule.kind == "E":  # at most one present: at least len - 1 absent
            out.append("(" + " + ".join(f"(not {x})" for x in t) + f" >= {len(t) - 1})")
        elif rule.kind == "C":
            out.append(f"(not {t[0]} or (" + " and ".join(t[1:]) + "))")
        else:  # L
            out.append(f"(not {t[0]} or " + " or ".join(t[1:]) + ")")
    return out


def _compile_post(sdef: SegmentDef, component: str) -> Callable[[list[str]], bool] | None:
    """The syntax rules of a segment and of its composites as one generated function.

    The rules come from our schema files and their positions are integers, so the generated source
    holds nothing but ``e[<int>]`` and ``c[<int>]`` terms; the component separator is passed in.
    """
    lines = ["def post(e, sep=SEP):", "    n = len(e)"]
    for use in sdef.elements:
        comp = use.composite
        if comp is None or not comp.rules:
            continue
        p = int(use.position)
        lines += [
            f"    v = e[{p}] if n > {p} else ''",
            "    if v:",
            "        c = v.split(sep)",
            "        m = len(c)",
            "        if not ("
            + " and ".join(_rules_source(comp.rules, lambda q: f"(m > {q - 1} and c[{q - 1}])"))
            + "):",
            "            return False",
        ]
    if not sdef.rules and len(lines) == 2:
        return None
    # A rule holds whatever its values when the segment ends before its threshold (P: no position
    # present, E: at most one, C and L: not the first); R rules never do. The rules are checked in
    # threshold order and the function returns as soon as the segment is too short for the rest.
    always = [r for r in sdef.rules if r.kind == "R"]
    if always:
        terms = _rules_source(tuple(always), lambda q: f"(n > {q} and e[{q}])")
        lines += ["    if not (" + " and ".join(terms) + "):", "        return False"]
    by_threshold: dict[int, list[Rule]] = {}
    for rule in sdef.rules:
        if rule.kind != "R":
            ps = rule.positions
            t = min(ps) if rule.kind == "P" else sorted(ps)[1] if rule.kind == "E" else ps[0]
            by_threshold.setdefault(int(t), []).append(rule)
    for t in sorted(by_threshold):

        def term(q: int, t: int = t) -> str:
            return f"e[{q}]" if q <= t else f"(n > {q} and e[{q}])"  # n > t here: e[t] exists

        terms = _rules_source(tuple(by_threshold[t]), term)
        lines += [f"    if n <= {t}:", "        return True"]
        lines += ["    if not (" + " and ".join(terms) + "):", "        return False"]
    lines.append("    return True")
    namespace: dict[str, Callable[[list[str]], bool]] = {}
    exec("\n".join(lines), {"__builtins__": {"len": len}, "SEP": component}, namespace)
    return namespace["post"]


def _codes_pattern(codes: Iterable[str]) -> str:
    """A code list as a prefix tree: each alternative starts with its own character, which the
    regular expression engine tests before entering it, so a code costs a few characters' tests
    rather than one per code in the list. A code that begins a longer one is an optional tail,
    which gives back when the longer code is not followed by the end of the value."""

    def node(tails: list[str]) -> str:
        ends = "" in tails
        by_first: dict[str, list[str]] = {}
        for t in tails:
            if t:
                by_first.setdefault(t[0], []).append(t[1:])
        leaves = sorted(c for c, rest in by_first.items() if rest == [""])
        alts = []
        if leaves:
            alts.append(
                re.escape(leaves[0]) if len(leaves) == 1 else "[" + "".join(map(re.escape, leaves)) + "]"
            )
        alts += [re.escape(c) + node(rest) for c, rest in sorted(by_first.items()) if rest != [""]]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and len(alts[0]) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if ends else body

    return node(sorted(set(codes))) or "(?!)"


def _simple_pattern(use: ElementUse, cls: str, after: str) -> str | None:
    """A regular expression for one simple value, or None when it needs the detailed path.

    ``after`` is a class of the characters that may follow the value (separators, the end).
    """
    el = use.element
    if el is None or not use.plain or use.ig_required or use.repeat != 1:
        return None
    typ = el.type
    lo = max(use.min, 1)  # never let a pattern match an empty (missing) value
    if typ == "AN" or (typ == "ID" and use.codes is None):
        return f"{cls}{{{lo},{use.max}}}"
    if typ == "ID":
        assert use.codes is not None
        return _codes_pattern(use.codes)
    if typ == "DT":
        forms = [f for size, f in ((8, _CCYYMMDD), (6, _YYMMDD)) if use.min <= size <= use.max]
        return "(?:" + "|".join(forms) + ")" if forms else "(?!)"
    if typ == "TM":
        return _TIME.pattern.removesuffix("\\Z")
    if typ == "R":
        # The digit count (all but a leading minus and the point) in a lookahead, then the number.
        # The value's length L is the count, plus one with a point, so L in lo+1..hi proves the
        # count right either way; what is left is a count of lo without a point (L = lo) and of
        # hi with one (L = hi + 1).
        lo, hi = use.min, use.max
        ways = [f"[0-9.E-]{{{lo + 1},{hi}}}{after}"] if lo < hi else []
        ways.append(f"[0-9E-]{{{lo}}}{after}")
        ways.append(f"(?=[0-9E-]*\\.)[0-9.E-]{{{hi + 1}}}{after}")
        return "(?=-?+(?:" + "|".join(ways) + "))" + _REAL_FAST
    if typ[0] == "N":
        return f"-?[0-9]{{{lo},{use.max}}}"
    return None


def _nest(parts: list[tuple[str, bool]], sep: str) -> str:
    """``a(?:*b(?:*c)?)?`` from the end, keeping separators mandatory up to the last mandatory part."""
    tail = ""
    must = False
    for pat, required in reversed(parts):
        must = must or required
        group = f"{sep}{pat}{tail}"
        tail = group if must else f"(?:{group})?+"
    return tail


def _build_fast(sdef: SegmentDef, d: Dialect) -> _Fast | None:
    seps = {d.element, d.component, d.segment} | ({d.repetition} if d.repetition else set())
    cls = "[^" + "".join(re.escape(c) for c in sorted(seps)) + _NON_PRINTABLE + "]"
    esep, csep = re.escape(d.element), re.escape(d.component)
    end_of_element = f"(?:{esep}|\\Z)"
    end_of_component = f"(?:{esep}|{csep}|\\Z)"
    parts: list[tuple[str, bool]] = []
    for use in sdef.elements:
        required = use.req == "M"
        if use.composite is not None:
            comp = use.composite
            tightened = (
                use.ig_codes is not None or use.ig_max is not None or use.ig_forbidden or use.ig_required
            )
            if tightened or use.repeat != 1:
                return None
            inner: list[tuple[str, bool]] = []
            for cu in comp.components:
                cp = _simple_pattern(cu, cls, end_of_component)
                if cp is None:
                    return None
                inner.append((f"(?:{cp})" if cu.req == "M" else f"(?:{cp})?+", cu.req == "M"))
            first, *rest = inner
            body = first[0] + _nest(rest, csep) + f"(?:{csep})*"
            if not first[1]:  # an optional first component: the whole value must still be non-empty
                body = f"(?=[^{esep}])" + body
            parts.append((f"(?:{body})" if required else f"(?:{body})?+", required))
            continue
        pat = _simple_pattern(use, cls, end_of_element)
        if pat is None:
            return None
        parts.append((f"(?:{pat})" if required else f"(?:{pat})?+", required))
    regex = re.escape(sdef.id) + _nest(parts, esep) + f"(?:{esep})*"
    return _Fast(re.compile(regex), _compile_post(sdef, d.component))


def _fast_for(sdef: SegmentDef, dialect: Dialect) -> _Fast | None:
    key = (dialect.element, dialect.component, dialect.repetition, dialect.segment)
    cache = sdef.fast
    try:
        return cache[key]  # type: ignore[no-any-return]
    except KeyError:
        fast = cache[key] = _build_fast(sdef, dialect)
        return fast


def segment_is_valid(elements: list[str], sdef: SegmentDef, dialect: Dialect) -> bool:
    """True when the compiled fast path proves the segment has no element error."""
    fast = _fast_for(sdef, dialect)
    if fast is None or fast.pattern.fullmatch(dialect.element.join(elements)) is None:
        return False
    return fast.post is None or bool(fast.post(elements))


@dataclass(slots=True)
class _Plan:
    """What every set of one schema and dialect shares, built as segments are met."""

    #: the compiled check of each segment use (None: no fast path, always the detailed checks)
    checks: dict[SegmentUsage, _Fast | None] = field(default_factory=dict)
    #: one LoopEnd value per loop (events are immutable values, so one serves every iteration)
    ends: dict[LoopNode, LoopEnd] = field(default_factory=dict)


@dataclass(slots=True)
class _Frame:
    node: LoopNode
    index: int
    counts: list[int]
    trigger: list[str] | None = None  # elements of the loop's first segment, for guide conditions


class SetValidator:
    """Places the segments of one set in its schema and checks them."""

    def __init__(self, schema: SetSchema, base: Location | Callable[[], Location], dialect: Dialect) -> None:
        """``base`` is where the set is (interchange, group, set), or a function that says it; it
        is only called when there is a finding to locate."""
        self.schema = schema
        self._base = base
        self.dialect = dialect
        self.frames = [_Frame(schema.root, 0, [0] * len(schema.root.children))]
        h = schema.hierarchy
        self._hier_loop = h.loop if h else None
        self._hl_levels: dict[str, str] = {}
        self._hl_seq = bytearray()  # fast path: HL01 = 1, 2, 3, ... stores the level by number
        key = (dialect.element, dialect.component, dialect.repetition, dialect.segment)
        plans = schema.plans
        plan: _Plan = plans[key] if key in plans else plans.setdefault(key, _Plan())
        self._checks = plan.checks
        self._ends = plan.ends
        self._join = dialect.element.join

    def resume(self, index: int, count: int, levels: bytes) -> None:
        """Continue as if the set's root loop stood at child ``index``, used ``count`` times, every
        loop inside it closed, the HL levels so far ``levels`` (by HL01 number): where the batch
        check hands a set back (formats/x12/batch.py)."""
        root = self.schema.root
        counts = [1] * index + [count] + [0] * (len(root.children) - index - 1)
        self.frames = [_Frame(root, index, counts)]
        self._hl_seq = bytearray(levels)

    @property
    def base(self) -> Location:
        base = self._base
        if not isinstance(base, Location):
            base = self._base = base()
        return base

    # --------------------------------------------------------------------------- findings helpers
    def _loc(self, seg: Segment, **kw: object) -> Location:
        loop = (
            seg.usage.loop.id
            if seg.usage is not None and seg.usage.loop is not None and seg.usage.loop.parent
            else None
        )
        return replace(
            self.base,
            segment_position=seg.position,
            segment_id=seg.id,
            loop_id=loop,
            line=seg.line,
            offset=seg.offset,
            **kw,  # type: ignore[arg-type]
        )

    def _seg_finding(
        self, seg: Segment, sid: str, code: str, msg: str, severity: Severity = "error"
    ) -> Finding:
        loc = replace(
            self.base, segment_position=seg.position, segment_id=sid, line=seg.line, offset=seg.offset
        )
        return Finding(Level.SEGMENT, code, msg, loc, severity=severity)

    # ------------------------------------------------------------------------------- placement
    def segment(self, seg: Segment) -> Sequence[object]:
        """Place and check one segment. Sets ``seg.usage``; returns loop events and findings.

        The common case (a plain segment use in the current loop, nothing missing before it, under
        its maximum use, passing its compiled check) returns an empty tuple without building
        anything; everything else goes through :meth:`_place`.
        """
        els = seg.elements
        sid = els[0]
        frames = self.frames
        fr = frames[-1]
        node = fr.node
        places = node.positions.get(sid)
        if places is not None:
            idx = fr.index
            start = idx if idx or len(frames) == 1 else 1
            for j in places:
                if j >= start:
                    usage = node.children[j]
                    if usage.__class__ is not SegmentUsage or usage.ig:
                        break
                    counts = fr.counts
                    if j == idx and counts[j]:
                        used = counts[j] + 1
                    else:
                        after = node.next_required
                        k = after[idx]
                        while k < j and counts[k]:
                            k = after[k + 1]
                        if k < j:
                            break  # something required before it is missing: _place reports it
                        used = 1
                    counts[j] = used
                    fr.index = j
                    seg.usage = usage
                    checks = self._checks
                    fast = checks[usage] if usage in checks else self._compile(usage)
                    if (
                        used <= usage.max
                        and fast is not None
                        and fast.pattern.fullmatch(self._join(els)) is not None
                        and (fast.post is None or fast.post(els))
                    ):
                        return ()
                    out: list[object] = []
                    if used > usage.max:
                        msg = f"{sid} is used {used} times here; at most {usage.max} allowed"
                        out.append(self._seg_finding(seg, sid, "5", msg))
                    self._check(seg, usage, usage.segment, "error", out)
                    return out
        return self._place(seg, sid)

    def _errors(
        self, usage: SegmentUsage, elements: list[str], severity: Severity = "error"
    ) -> list[ElementError]:
        """Element errors of a segment against its use's own definition (fast path first)."""
        checks = self._checks
        fast = checks[usage] if usage in checks else self._compile(usage)
        if (
            fast is not None
            and fast.pattern.fullmatch(self._join(elements)) is not None
            and (fast.post is None or fast.post(elements))
        ):
            return []
        return element_errors(elements, usage.segment, self.dialect, severity)

    def trailer_errors(self, trailer: Segment) -> list[ElementError]:
        """Element errors of the SE segment (placed and counted by the envelope, not here)."""
        usage = self.schema.root.children[-1]
        assert isinstance(usage, SegmentUsage)
        return self._errors(usage, trailer.elements)

    def _compile(self, usage: SegmentUsage) -> _Fast | None:
        fast = self._checks[usage] = _fast_for(usage.segment, self.dialect)
        return fast

    def _place(self, seg: Segment, sid: str) -> list[object]:
        """The general placement: loops, frames to close, missing segments, partner guide rules."""
        frames = self.frames
        depth = len(frames) - 1
        j = -1
        while depth >= 0:
            places = frames[depth].node.positions.get(sid)
            if places is not None:
                idx = frames[depth].index
                start = idx if depth == 0 or idx > 0 else 1
                for j in places:
                    if j >= start:
                        break
                else:
                    j = -1
                if j >= 0:
                    break
            depth -= 1
        if j < 0:
            return self._unplaced(seg, sid)
        out: list[object] = []
        closed = None
        while len(frames) - 1 > depth:
            closed = frames.pop()
            self._close_frame(closed, len(closed.node.children), seg, out)
        fr = frames[-1]
        counts = fr.counts
        after = fr.node.next_required
        k = after[fr.index] if fr.index < j else j
        while k < j and counts[k]:
            k = after[k + 1]
        if k < j:  # the quick test of _missing, without the call when nothing is missing
            self._missing(fr, fr.index, j, seg, out)
        child = fr.node.children[j]
        if isinstance(child, LoopNode):
            used = counts[j] = counts[j] + 1
            fr.index = j
            if used > child.max:
                msg = f"the {sid} loop occurs {used} times; at most {child.max} allowed"
                out.append(self._seg_finding(seg, sid, "4", msg))
            elif child.ig_max is not None and used > child.ig_max:
                msg = f"the {sid} loop occurs {used} times; the partner's guide allows {child.ig_max}"
                out.append(self._seg_finding(seg, sid, "4", msg, child.ig_severity))
            inner = [0] * len(child.children)
            inner[0] = 1
            if closed is not None and closed.node is child:  # the next iteration of the loop just closed
                closed.index, closed.counts, closed.trigger = 0, inner, seg.elements
                frames.append(closed)
            else:
                frames.append(_Frame(child, 0, inner, seg.elements))
            usage: SegmentUsage = child.children[0]  # type: ignore[assignment]  # the loop's trigger
            out.append(LoopStart(child, seg))
            used = 1
        else:
            usage = child
            used = counts[j] = counts[j] + 1 if fr.index == j and counts[j] > 0 else 1
            fr.index = j
            if used > usage.max:
                msg = f"{sid} is used {used} times here; at most {usage.max} allowed"
                out.append(self._seg_finding(seg, sid, "5", msg))
        seg.usage = usage
        if usage.ig:
            sdef: SegmentDef = usage.segment
            severity: Severity = "error"
            rule = usage.rule_for(frames[-1].trigger)
            if rule is not None:
                sdef, severity = rule.segment or sdef, rule.severity
                if rule.max is not None and used > rule.max:
                    msg = f"{sid} is used {used} times; the partner's guide allows {rule.max}"
                    out.append(self._seg_finding(seg, sid, "5", msg, rule.severity))
            self._check(seg, usage, sdef, severity, out)
            return out
        checks = self._checks
        fast = checks[usage] if usage in checks else self._compile(usage)
        els = seg.elements
        if (
            fast is None
            or fast.pattern.fullmatch(self._join(els)) is None
            or (fast.post is not None and not fast.post(els))
        ):
            self._check(seg, usage, usage.segment, "error", out)
        elif self._hier_loop == sid and usage.loop is not None and usage.loop.id == sid:
            errors = self._hierarchy(seg)
            if errors:
                self._report(seg, errors, out)
        return out

    def _unplaced(self, seg: Segment, sid: str) -> list[object]:
        """A segment that fits nowhere from here: unknown, out of place, or not of this set."""
        seg.usage = None
        schema = self.schema
        if sid not in schema.dictionary:
            return [self._seg_finding(seg, sid, "1", f"{sid} is not a known X12 segment")]
        if sid in schema.ids:
            where = self.frames[-1].node
            ctx = f"in the {where.id} loop" if where.parent is not None else "here"
            msg = f"{sid} is not expected {ctx}: it belongs elsewhere in the {schema.id}"
            return [self._seg_finding(seg, sid, "7", msg)]
        msg = f"{sid} is not part of a {schema.id} ({schema.name})"
        return [self._seg_finding(seg, sid, "2", msg)]

    def _check(
        self, seg: Segment, usage: SegmentUsage, sdef: SegmentDef, severity: Severity, out: list[object]
    ) -> None:
        """Element findings of a placed segment (and the HL hierarchy's) into ``out``."""
        sid = seg.elements[0]
        if sdef is usage.segment:
            errors = self._errors(usage, seg.elements, severity)
        else:
            errors = check_segment(seg.elements, sdef, self.dialect, severity)
        if self._hier_loop == sid and usage.loop is not None and usage.loop.id == sid:
            errors.extend(self._hierarchy(seg))
        self._report(seg, errors, out)

    def _report(self, seg: Segment, errors: list[ElementError], out: list[object]) -> None:
        for e in errors:
            out.append(
                Finding(
                    Level.ELEMENT,
                    e.code,
                    e.message,
                    self._loc(
                        seg,
                        element_position=e.position,
                        component_position=e.component,
                        repetition=e.repetition,
                        element_ref=e.ref or None,
                    ),
                    e.value,
                    e.severity,
                )
            )

    def end(self, trailer: Segment) -> list[object]:
        """Close every open loop at SE (or where the set was cut off)."""
        out: list[object] = []
        frames = self.frames
        while len(frames) > 1:
            fr = frames.pop()
            self._close_frame(fr, len(fr.node.children), trailer, out)
        root = frames[0]
        last = len(root.node.children) - 1  # SE is checked by the envelope, not here
        self._missing(root, root.index, last, trailer, out)
        return out

    def _close_frame(self, fr: _Frame, upto: int, seg: Segment, out: list[object]) -> None:
        counts = fr.counts
        after = fr.node.next_required
        k = after[fr.index]
        while k < upto and counts[k]:
            k = after[k + 1]
        if k < upto:  # the quick test of _missing, without the call when nothing is missing
            self._missing(fr, fr.index, upto, seg, out)
        ends = self._ends
        node = fr.node
        out.append(ends[node] if node in ends else ends.setdefault(node, LoopEnd(node)))

    def _missing(self, fr: _Frame, start: int, stop: int, seg: Segment, out: list[object]) -> None:
        counts = fr.counts
        after = fr.node.next_required
        k = after[start] if start < stop else stop
        while k < stop and counts[k]:
            k = after[k + 1]
        if k >= stop:
            return  # nothing that can be missing is missing
        children = fr.node.children
        for k in fr.node.required:
            if k < start or counts[k]:
                continue
            if k >= stop:
                break
            c = children[k]
            what = f"the {c.id} loop" if isinstance(c, LoopNode) else c.id
            if c.req == "M":
                out.append(self._seg_finding(seg, c.id, "3", f"mandatory {what} is missing"))
            elif isinstance(c, LoopNode):
                if c.ig_req:
                    out.append(
                        self._seg_finding(
                            seg,
                            c.id,
                            "3",
                            f"{what} is required by the partner's guide and missing",
                            c.ig_severity,
                        )
                    )
            else:
                rule = c.rule_for(fr.trigger)
                if rule is not None and rule.req:
                    cond = (
                        " here"
                        + "".join(
                            f" ({c.loop.id if c.loop else ''}{p:02d} {'/'.join(sorted(v))})"
                            for p, v in rule.when
                        )
                        if rule.when
                        else ""
                    )
                    out.append(
                        self._seg_finding(
                            seg,
                            c.id,
                            "3",
                            f"{what} is required by the partner's guide{cond} and missing",
                            rule.severity,
                        )
                    )

    # ---------------------------------------------------------------------------- HL hierarchy
    def _hierarchy(self, seg: Segment) -> list[ElementError]:
        h = self.schema.hierarchy
        assert h is not None
        els = seg.elements
        n = len(els)
        hl_id = els[1] if n > 1 else ""
        parent = els[2] if n > 2 else ""
        level = els[3] if n > 3 else ""
        errs: list[ElementError] = []
        if not hl_id:
            return errs
        seq = self._hl_seq
        known = self._hl_levels
        # ascii_number() without the call for the usual short numbers
        hl_no = (
            int(hl_id) if len(hl_id) <= 18 and hl_id.isdigit() and hl_id.isascii() else ascii_number(hl_id)
        )
        if len(level) == 1 and hl_no == len(seq) + 1 and not known:
            seq.append(ord(level) & 0xFF)
        elif (hl_no is not None and 0 < hl_no <= len(seq) and not known) or hl_id in known:
            errs.append(
                ElementError(
                    1,
                    None,
                    None,
                    "628",
                    "7",
                    f"HL01 {hl_id!r} is used by an earlier HL; each HL needs its own number",
                    hl_id,
                )
            )
            return errs
        else:
            if seq and not known:
                known.update({str(i + 1): chr(c) for i, c in enumerate(seq)})
                seq.clear()
            known[hl_id] = level or "?"
        allowed = h.parents.get(level)
        if not parent:
            parent_level = None
        else:
            if known:
                parent_level = known.get(parent)
            else:
                parent_no = (
                    int(parent)
                    if len(parent) <= 18 and parent.isdigit() and parent.isascii()
                    else ascii_number(parent)
                )
                parent_level = (
                    chr(seq[parent_no - 1])
                    if parent_no is not None and 0 < parent_no <= len(seq) - 1
                    else None
                )
            if parent_level is None:
                errs.append(
                    ElementError(
                        2,
                        None,
                        None,
                        "734",
                        "7",
                        f"HL02 {parent!r} refers to no earlier HL01 in this set",
                        parent,
                    )
                )
                return errs
        if allowed is None:
            if level and h.parents:
                errs.append(
                    ElementError(
                        3,
                        None,
                        None,
                        "735",
                        "7",
                        f"HL03 level {level!r} is not a level of this hierarchy",
                        level,
                    )
                )
        elif parent_level is None and allowed:
            errs.append(
                ElementError(
                    2,
                    None,
                    None,
                    "734",
                    "2",
                    f"an HL of level {level!r} needs a parent (HL02) of level {'/'.join(sorted(allowed))}",
                    None,
                )
            )
        elif parent_level is not None and parent_level not in allowed:
            want = "/".join(sorted(allowed)) or "none (top level)"
            errs.append(
                ElementError(
                    3,
                    None,
                    None,
                    "735",
                    "7",
                    f"HL level {level!r} cannot sit under level {parent_level!r} (allowed parents: {want})",
                    level,
                )
            )
        return errs


__all__ = [
    "ElementError",
    "SegmentUsage",
    "SetValidator",
    "check_segment",
    "check_value",
    "valid_date",
    "valid_time",
]
