"""Transaction set schemas: data files compiled once into a tree the validator walks.

The files are described in docs/x12-schemas.md. This module only reads the package's own data
files (and overlay text handed to it); it never touches user input or the network.

Compiled shapes::

    SetSchema ── root: LoopNode ── children: [SegmentUsage | LoopNode, ...]
                                     SegmentUsage.segment: SegmentDef ── elements: [ElementUse]
                                                                          ElementUse.element: ElementDef
                                                                          ElementUse.composite: CompositeDef

Implementation-guide (overlay) constraints are kept apart from the standard's (``ig_*`` fields),
so that a violation can be reported with the overlay's own severity.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import yaml

from ...errors import SchemaError
from .findings import Severity

UNBOUNDED = 1 << 30
_SCHEMA_PACKAGE = "erpbridge.formats.x12.schemas"
_USAGE_RE = re.compile(r"^([A-Z0-9]{2,3})(?:\s+(loop))?\s+([MO])\s+(>1|\d+)$")
_RULE_RE = re.compile(r"^([PRECL])((?:\d\d){2,})$")
_TYPES = {"AN", "ID", "R", "DT", "TM", "B"} | {f"N{i}" for i in range(10)} | {"N"}
SUPPORTED_VERSIONS = ("004010", "005010")

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class ElementDef:
    ref: str
    name: str
    type: str
    min: int
    max: int
    codes: frozenset[str] | None = None

    @property
    def decimals(self) -> int | None:
        """Implied decimal places of an ``Nn`` element, else ``None``."""
        if self.type.startswith("N"):
            return int(self.type[1:] or "0")
        return None


@dataclass(frozen=True, slots=True)
class Rule:
    """An X12 syntax note: P paired, R required, E exclusion, C conditional, L list conditional."""

    kind: str
    positions: tuple[int, ...]

    @property
    def text(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class ElementUse:
    """An element (or a composite's component) at a position, with its requirement here."""

    position: int
    ref: str
    req: str
    element: ElementDef | None = None
    composite: CompositeDef | None = None
    repeat: int = 1
    codes: frozenset[str] | None = None
    min: int = 0
    max: int = 0
    # implementation-guide (overlay) tightening
    ig_codes: frozenset[str] | None = None
    ig_required: bool = False
    ig_max: int | None = None
    ig_forbidden: bool = False
    #: a simple element with no partner tightening: the validator's fast path
    plain: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        plain = (
            self.composite is None and self.ig_codes is None and self.ig_max is None and not self.ig_forbidden
        )
        object.__setattr__(self, "plain", plain)

    @property
    def name(self) -> str:
        if self.element is not None:
            return self.element.name
        return self.composite.name if self.composite is not None else self.ref


@dataclass(frozen=True, slots=True)
class CompositeDef:
    ref: str
    name: str
    components: tuple[ElementUse, ...]
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentDef:
    id: str
    name: str
    elements: tuple[ElementUse, ...]
    rules: tuple[Rule, ...] = ()
    #: the validator's compiled fast path by dialect (a fresh one for every copy of a definition)
    fast: dict[tuple[str, str, str | None, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )


@dataclass(slots=True, eq=False)
class IgRule:
    """A partner guide's tightening of one segment use, optionally only ``when`` the enclosing
    loop's trigger segment has given values (for example ``HL03`` = ``P``)."""

    when: tuple[tuple[int, frozenset[str]], ...] = ()
    segment: SegmentDef | None = None
    req: bool = False
    max: int | None = None
    severity: Severity = "error"

    def applies(self, trigger: list[str] | None) -> bool:
        for pos, values in self.when:
            if trigger is None or pos >= len(trigger) or trigger[pos] not in values:
                return False
        return True


@dataclass(slots=True, eq=False)
class SegmentUsage:
    """A segment at one place in a transaction set."""

    id: str
    key: str
    req: str
    max: int
    segment: SegmentDef
    loop: LoopNode | None = None
    ig: list[IgRule] = field(default_factory=list)

    def rule_for(self, trigger: list[str] | None) -> IgRule | None:
        """The guide's rule in force here: a matching conditional rule, else the unconditional one."""
        found = None
        for rule in self.ig:
            if rule.applies(trigger):
                if rule.when:
                    return rule
                found = found or rule
        return found

    @property
    def path(self) -> str:
        parts = [self.id]
        node = self.loop
        while node is not None and node.parent is not None:
            parts.append(f"{node.id} loop")
            node = node.parent
        return "/".join(reversed(parts))


@dataclass(slots=True, eq=False)
class LoopNode:
    """A loop (or the set's root). ``id`` is its trigger segment's ID; ``key`` its JSON key."""

    id: str
    key: str
    req: str
    max: int
    children: list[SegmentUsage | LoopNode] = field(default_factory=list)
    parent: LoopNode | None = None
    ig_req: bool = False
    ig_max: int | None = None
    ig_severity: Severity = "error"
    #: child indices by segment ID (a loop counts under its trigger's ID), for fast placement
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: indices of children that can be missing (mandatory, or required by a partner guide)
    required: tuple[int, ...] = ()
    #: for each child index i, the first index in ``required`` at or after i (``len(children)``
    #: when none, and one more entry for i = ``len(children)``): the validator's quick test
    next_required: tuple[int, ...] = ()

    @property
    def trigger(self) -> SegmentUsage:
        first = self.children[0]
        assert isinstance(first, SegmentUsage)
        return first


@dataclass(frozen=True, slots=True)
class Hierarchy:
    loop: str
    parents: Mapping[str, frozenset[str]]


@dataclass(slots=True, eq=False)
class SetSchema:
    version: str
    id: str
    name: str
    functional_group: str
    root: LoopNode
    hierarchy: Hierarchy | None
    dictionary: Mapping[str, SegmentDef]
    overlay: str | None = None
    #: every segment ID used anywhere in the set
    ids: frozenset[str] = frozenset()
    #: compiled checks by dialect, built by the validator as it meets each segment use
    plans: dict[tuple[str, str, str | None, str], Any] = field(default_factory=dict, repr=False)
    #: the batch check's state: segment IDs seen, compiled plans by dialect (formats/x12/batch.py)
    batch: dict[Any, Any] = field(default_factory=dict, repr=False)


def _index(node: LoopNode) -> frozenset[str]:
    """Fill ``positions`` of a loop and its sub-loops; return every segment ID below it."""
    found: dict[str, list[int]] = {}
    ids: set[str] = set()
    for i, child in enumerate(node.children):
        found.setdefault(child.id, []).append(i)
        ids.add(child.id)
        if isinstance(child, LoopNode):
            ids |= _index(child)
    node.positions = {k: tuple(v) for k, v in found.items()}
    node.required = tuple(
        i
        for i, c in enumerate(node.children)
        if c.req == "M" or (c.ig_req if isinstance(c, LoopNode) else any(r.req for r in c.ig))
    )
    size = len(node.children)
    node.next_required = tuple(next((k for k in node.required if k >= i), size) for i in range(size + 1))
    return frozenset(ids)


@dataclass(frozen=True, slots=True)
class Dictionary:
    elements: Mapping[str, ElementDef]
    composites: Mapping[str, CompositeDef]
    segments: Mapping[str, SegmentDef]


# ---------------------------------------------------------------------------------------- loading


#: the package's schema files already read, as JSON (``scripts/gen_x12_cache.py`` writes it): JSON
#: reads about 50 times as fast as YAML, which took 100 ms of every process's first set
_CACHE = "compiled.json"


@functools.cache
def _cached() -> dict[str, Any]:
    try:
        text = resources.files(_SCHEMA_PACKAGE).joinpath(_CACHE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (FileNotFoundError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(name: str) -> Any:
    """A schema file's data. The YAML file is the source; its JSON copy in :data:`_CACHE` is used
    only while its digest matches the YAML text, so an edited file is never read stale."""
    try:
        text = resources.files(_SCHEMA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    entry = _cached().get(name)
    if (
        isinstance(entry, dict)
        and entry.get("sha256") == _digest(text)
        and isinstance(entry.get("json"), str)
    ):
        return json.loads(entry["json"])  # held as text: the data lives only as long as its user
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SchemaError(f"schema file is not valid YAML: {exc}", file=name) from exc


def _yaml_files(folder: Any = None, prefix: str = "") -> list[str]:
    folder = folder or resources.files(_SCHEMA_PACKAGE)
    out: list[str] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            out += _yaml_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".yaml"):
            out.append(prefix + entry.name)
    return out


def cache_text() -> str:
    """The text of :data:`_CACHE` for the schema files as they are: each file's data (as JSON
    text) with the digest of its YAML text. A file whose data JSON cannot hold unchanged is left
    out (read as YAML)."""
    files: dict[str, Any] = {}
    for name in _yaml_files():
        text = resources.files(_SCHEMA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_Loader)
        copy = json.dumps(data, separators=(",", ":"))  # in the YAML order, which the loader keeps
        if json.loads(copy) == data:
            files[name] = {"sha256": _digest(text), "json": copy}
    return json.dumps({"format": 2, "files": files}, sort_keys=True, indent=0) + "\n"


def _int(value: Any, what: str, file: str) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip() == ">1":
        return UNBOUNDED
    try:
        return int(str(value))
    except ValueError:
        raise SchemaError(f"{what}: {value!r} is not a number", file=file) from None


def _parse_rules(rules: Iterable[str] | None, where: str, file: str) -> tuple[Rule, ...]:
    out = []
    for text in rules or ():
        m = _RULE_RE.match(str(text))
        if not m:
            raise SchemaError(f"{where}: syntax rule {text!r} is not like P0203 or C040506", file=file)
        digits = m.group(2)
        out.append(Rule(m.group(1), tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2))))
    return tuple(out)


@functools.cache
def dictionary(version: str) -> Dictionary:
    """The element, composite and segment dictionaries of a release (``004010`` or ``005010``)."""
    raw_elements: dict[str, Any] = dict(_read("elements.yaml") or {})
    raw_elements.update(_read(f"{version}/elements.yaml") or {})
    elements: dict[str, ElementDef] = {}
    for ref, data in raw_elements.items():
        ref = str(ref)
        try:
            typ = str(data["type"])
            if typ not in _TYPES:
                raise SchemaError(f"element {ref}: unknown type {typ!r}", file="elements.yaml")
            codes = data.get("codes")
            elements[ref] = ElementDef(
                ref=ref,
                name=str(data.get("name", ref)),
                type="N0" if typ == "N" else typ,
                min=int(data["min"]),
                max=int(data["max"]),
                codes=frozenset(str(c) for c in codes) if codes else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"element {ref}: missing or bad {exc}", file="elements.yaml") from None

    def use(pos: int, data: Any, where: str, file: str, comps: Mapping[str, CompositeDef]) -> ElementUse:
        if not isinstance(data, dict) or "ref" not in data:
            raise SchemaError(f"{where}: element {pos} needs a 'ref'", file=file)
        ref = str(data["ref"])
        req = str(data.get("req", "O"))
        if req not in ("M", "O", "X"):
            raise SchemaError(f"{where}: element {pos} req must be M, O or X, not {req!r}", file=file)
        repeat = _int(data.get("repeat", 1), f"{where} element {pos} repeat", file)
        if ref in elements:
            el = elements[ref]
            return ElementUse(
                pos, ref, req, element=el, repeat=repeat, codes=el.codes, min=el.min, max=el.max
            )
        if ref in comps:
            return ElementUse(pos, ref, req, composite=comps[ref], repeat=repeat)
        raise SchemaError(f"{where}: element {pos} refers to unknown element or composite {ref!r}", file=file)

    raw_comps: dict[str, Any] = dict(_read("composites.yaml") or {})
    raw_comps.update(_read(f"{version}/composites.yaml") or {})
    composites: dict[str, CompositeDef] = {}
    for ref, data in raw_comps.items():
        ref = str(ref)
        comps = tuple(
            use(i, d, f"composite {ref}", "composites.yaml", {})
            for i, d in enumerate(data.get("elements", []), start=1)
        )
        composites[ref] = CompositeDef(
            ref,
            str(data.get("name", ref)),
            comps,
            _parse_rules(data.get("rules"), f"composite {ref}", "composites.yaml"),
        )

    raw_segments: dict[str, Any] = dict(_read("segments.yaml") or {})
    raw_segments.update(_read(f"{version}/segments.yaml") or {})
    segments: dict[str, SegmentDef] = {}
    for sid, data in raw_segments.items():
        sid = str(sid)
        els = tuple(
            use(i, d, f"segment {sid}", "segments.yaml", composites)
            for i, d in enumerate(data.get("elements", []), start=1)
        )
        segments[sid] = SegmentDef(
            sid,
            str(data.get("name", sid)),
            els,
            _parse_rules(data.get("rules"), f"segment {sid}", "segments.yaml"),
        )
    return Dictionary(elements, composites, segments)


def _apply_options(
    seg: SegmentDef, options: Mapping[str, Any], *, ig: bool, where: str, file: str
) -> SegmentDef:
    """Tighten a segment's elements with per-use options (codes, require, max_length, forbid)."""
    known = {"codes", "require", "max_length", "forbid", "req", "max", "path", "severity", "when"}
    unknown = set(options) - known
    if unknown:
        raise SchemaError(
            f"{where}: unknown option(s) {sorted(unknown)}; expected {sorted(known)}", file=file
        )
    els = list(seg.elements)

    def index(name: str) -> int:
        m = re.fullmatch(re.escape(seg.id) + r"(\d\d)", str(name))
        if not m or not 1 <= int(m.group(1)) <= len(els):
            raise SchemaError(f"{where}: {name!r} is not an element of {seg.id} (like {seg.id}01)", file=file)
        return int(m.group(1)) - 1

    for name, codes in (options.get("codes") or {}).items():
        i = index(name)
        cs = frozenset(str(c) for c in codes)
        els[i] = replace(els[i], ig_codes=cs) if ig else replace(els[i], codes=cs)
    for name in options.get("require") or ():
        i = index(name)
        els[i] = replace(els[i], ig_required=True) if ig else replace(els[i], req="M")
    for name, mx in (options.get("max_length") or {}).items():
        i = index(name)
        els[i] = replace(els[i], ig_max=int(mx)) if ig else replace(els[i], max=int(mx))
    for name in options.get("forbid") or ():
        i = index(name)
        els[i] = replace(els[i], ig_forbidden=True)
    return replace(seg, elements=tuple(els))


def _compile(entries: list[Any], parent: LoopNode, dic: Dictionary, file: str, where: str) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        options: Any = None
        if isinstance(entry, str):
            head = entry
        elif isinstance(entry, dict) and len(entry) == 1:
            head, options = next(iter(entry.items()))
        else:
            raise SchemaError(
                f"{where}: entry {entry!r} is neither 'ID REQ MAX' nor a one-key mapping", file=file
            )
        m = _USAGE_RE.match(str(head).strip())
        if not m:
            raise SchemaError(f"{where}: {head!r} is not like 'REF O >1' or 'N1 loop O 200'", file=file)
        sid, is_loop, req, mx = m.group(1), m.group(2), m.group(3), _int(m.group(4), str(head), file)
        n = seen.get(sid + ("/loop" if is_loop else ""), 0) + 1
        seen[sid + ("/loop" if is_loop else "")] = n
        suffix = "" if n == 1 else f"_{n}"
        if is_loop:
            if not isinstance(options, list) or not options:
                raise SchemaError(f"{where}: loop {sid} needs a list of its segments", file=file)
            loop = LoopNode(sid, f"{sid}_loop{suffix}", req, mx, parent=parent)
            _compile(options, loop, dic, file, f"{where}/{sid} loop")
            if loop.children[0].id != sid or not isinstance(loop.children[0], SegmentUsage):
                raise SchemaError(f"{where}: loop {sid} must start with segment {sid}", file=file)
            parent.children.append(loop)
            continue
        if sid not in dic.segments:
            raise SchemaError(f"{where}: segment {sid} is not in segments.yaml", file=file)
        seg = dic.segments[sid]
        if options is not None:
            if not isinstance(options, dict):
                raise SchemaError(f"{where}: options of {sid} must be a mapping", file=file)
            seg = _apply_options(seg, options, ig=False, where=f"{where}/{sid}", file=file)
        parent.children.append(SegmentUsage(sid, f"{sid}{suffix}", req, mx, seg, loop=parent))


def _set_data(version: str, set_id: str, depth: int = 0) -> dict[str, Any] | None:
    data = _read(f"{version}/{set_id}.yaml")
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SchemaError("a set schema must be a mapping", file=f"{version}/{set_id}.yaml")
    base = data.get("extends")
    if base:
        if depth > 3:
            raise SchemaError("'extends' nests too deep", file=f"{version}/{set_id}.yaml")
        bver, _, bset = str(base).partition("/")
        parent = _set_data(bver, bset, depth + 1)
        if parent is None:
            raise SchemaError(f"extends {base!r}, which does not exist", file=f"{version}/{set_id}.yaml")
        merged = dict(parent)
        merged.update({k: v for k, v in data.items() if k != "extends"})
        return merged
    return data


@functools.lru_cache(maxsize=64)
def builtin_overlays(partner: str) -> tuple[Overlay, ...]:
    """The partner implementation-guide overlays shipped with erpbridge (``schemas/overlays/``)."""
    folder = resources.files(_SCHEMA_PACKAGE).joinpath("overlays")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            overlay = parse_overlay(entry.read_text(encoding="utf-8"), entry.name)
            if overlay.partner.upper() == partner.upper():
                found.append(overlay)
    return tuple(found)


def version_of(gs08: str) -> str | None:
    """The schema release for a GS08 version code (``004010VICS`` → ``004010``), or ``None``."""
    for v in SUPPORTED_VERSIONS:
        if gs08.startswith(v):
            return v
    return None


@functools.lru_cache(maxsize=256)  # bounded: ST01 comes from the input
def load_set(version: str, set_id: str) -> SetSchema | None:
    """The compiled schema for a set in a release, or ``None`` when erpbridge has none."""
    # ST01 comes from the input: a long one would be a file name the OS refuses (OSError)
    if version not in SUPPORTED_VERSIONS or not (set_id.isascii() and set_id.isalnum()) or len(set_id) > 10:
        return None
    data = _set_data(version, set_id)
    if data is None:
        return None
    return compile_set(version, set_id, data)


def compile_set(
    version: str,
    set_id: str,
    data: Mapping[str, Any],
    overlay: Mapping[str, Any] | None = None,
    overlay_name: str | None = None,
    overlay_file: str | None = None,
) -> SetSchema:
    file = f"{version}/{set_id}.yaml"
    dic = dictionary(version)
    entries = data.get("segments")
    if not isinstance(entries, list) or not entries:
        raise SchemaError("a set schema needs a 'segments' list", file=file)
    root = LoopNode(set_id, set_id, "M", 1)
    _compile(entries, root, dic, file, set_id)
    if root.children[0].id != "ST" or root.children[-1].id != "SE":
        raise SchemaError("a set schema must start with ST and end with SE", file=file)
    hierarchy = None
    if data.get("hierarchy"):
        h = data["hierarchy"]
        levels = h.get("levels") or {}
        hierarchy = Hierarchy(
            str(h.get("loop", "HL")),
            {str(k): frozenset(str(p) for p in (v or {}).get("parents", [])) for k, v in levels.items()},
        )
    schema = SetSchema(
        version=version,
        id=set_id,
        name=str(data.get("name", set_id)),
        functional_group=str(data.get("functional_group", "")),
        root=root,
        hierarchy=hierarchy,
        dictionary=dic.segments,
        overlay=overlay_name,
    )
    if overlay is not None:
        _apply_overlay(schema, overlay, overlay_file or overlay_name or "overlay")
    schema.ids = _index(root)
    return schema


# --------------------------------------------------------------------------------------- overlays


@dataclass(frozen=True, slots=True)
class Overlay:
    """A partner's implementation guide over one standard set."""

    name: str
    partner: str
    version: str
    set_id: str
    data: Mapping[str, Any]
    file: str

    def apply(self) -> SetSchema:
        base = _set_data(self.version, self.set_id)
        if base is None:
            raise SchemaError(f"overlay base {self.version}/{self.set_id} has no schema", file=self.file)
        return compile_set(self.version, self.set_id, base, self.data, self.name, self.file)


def parse_overlay(text: str, file: str = "<overlay>") -> Overlay:
    """Read an overlay's text (see docs/x12-schemas.md). Errors name the file and the rule."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SchemaError(f"overlay is not valid YAML: {exc}", file=file) from exc
    if not isinstance(data, dict):
        raise SchemaError("an overlay must be a mapping with 'base' and 'rules'", file=file)
    unknown = set(data) - {"partner", "base", "description", "severity", "rules"}
    if unknown:
        raise SchemaError(f"unknown key(s) {sorted(unknown)}", file=file)
    base = str(data.get("base", ""))
    version, _, set_id = base.partition("/")
    if version not in SUPPORTED_VERSIONS or not set_id:
        raise SchemaError(f"'base' must be like 004010/856, not {base!r}", file=file)
    if data.get("severity", "error") not in ("error", "warning"):
        raise SchemaError("'severity' must be 'error' or 'warning'", file=file)
    ov = Overlay(str(data.get("partner", "")), str(data.get("partner", "")), version, set_id, data, file)
    ov.apply()  # check it now, so errors surface at load time
    return ov


def _find(root: LoopNode, path: str, file: str) -> SegmentUsage | LoopNode:
    node: LoopNode = root
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if not parts:
        raise SchemaError("empty 'path'", file=file)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        name, _, nth = part.partition("#")
        is_loop = name.endswith(" loop")
        sid = name[: -len(" loop")].strip() if is_loop else name
        want = int(nth) if nth else 1
        hits = [c for c in node.children if c.id == sid and isinstance(c, LoopNode) == is_loop]
        if len(hits) < want:
            kind = "loop" if is_loop else "segment"
            have = ", ".join(f"{c.id} loop" if isinstance(c, LoopNode) else c.id for c in node.children)
            raise SchemaError(f"path {path!r}: no {kind} {part!r} here (have: {have})", file=file)
        hit = hits[want - 1]
        if last:
            return hit
        if not isinstance(hit, LoopNode):
            raise SchemaError(f"path {path!r}: {part!r} is a segment, not a loop", file=file)
        node = hit
    raise AssertionError("unreachable")


def _parse_when(when: Any, target: SegmentUsage, n: int, file: str) -> tuple[tuple[int, frozenset[str]], ...]:
    if when is None:
        return ()
    loop = target.loop
    if not isinstance(when, dict) or not when:
        raise SchemaError(
            f"rule {n}: 'when' must map trigger elements to values, like {{HL03: P}}", file=file
        )
    if loop is None or loop.parent is None:
        raise SchemaError(
            f"rule {n}: 'when' needs a segment inside a loop (it tests the loop's first segment)", file=file
        )
    out = []
    for name, values in when.items():
        m = re.fullmatch(re.escape(loop.id) + r"(\d\d)", str(name))
        if not m:
            raise SchemaError(
                f"rule {n}: 'when' tests {name!r}, but the loop starts with {loop.id} (like {loop.id}03)",
                file=file,
            )
        vals = values if isinstance(values, list) else [values]
        out.append((int(m.group(1)), frozenset(str(v) for v in vals)))
    return tuple(sorted(out))


def _apply_overlay(schema: SetSchema, overlay: Mapping[str, Any], file: str) -> None:
    severity = str(overlay.get("severity", "error"))
    rules = overlay.get("rules") or []
    if not isinstance(rules, list):
        raise SchemaError("'rules' must be a list", file=file)
    for n, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or "path" not in rule:
            raise SchemaError(f"rule {n} needs a 'path'", file=file)
        target = _find(schema.root, str(rule["path"]), file)
        sev: Severity = "warning" if str(rule.get("severity", severity)) == "warning" else "error"
        if rule.get("req") not in (None, "M", "O"):
            raise SchemaError(f"rule {n}: req must be M or O", file=file)
        structural = ("path", "req", "max", "severity", "when")
        if isinstance(target, LoopNode):
            if set(rule) - {"path", "req", "max", "severity"}:
                raise SchemaError(
                    f"rule {n}: a loop takes only req, max and severity (element options need a segment path)",
                    file=file,
                )
            target.ig_severity = sev
            target.ig_req = target.ig_req or rule.get("req") == "M"
            if "max" in rule:
                target.ig_max = _int(rule["max"], f"rule {n} max", file)
            continue
        when = _parse_when(rule.get("when"), target, n, file)
        ig = next((r for r in target.ig if r.when == when), None)
        if ig is None:
            base = next((r.segment for r in target.ig if not r.when and r.segment is not None), None)
            ig = IgRule(when=when, segment=base)
            target.ig.append(ig)
        ig.severity = sev
        ig.req = ig.req or rule.get("req") == "M"
        if "max" in rule:
            ig.max = _int(rule["max"], f"rule {n} max", file)
        opts = {k: v for k, v in rule.items() if k not in structural}
        if opts:
            ig.segment = _apply_options(
                ig.segment or target.segment, opts, ig=True, where=f"rule {n}", file=file
            )
