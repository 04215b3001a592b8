"""Field expressions: JSONata, with the common cases compiled natively.

This is the only module that imports ``jsonata`` (jsonata-python); its exceptions become
:class:`ExpressionError`. A plain path (``BEG.BEG03``) and a literal (``"00"``) are compiled to
Python: they are most of a mapping, and jsonata-python spends about 100 µs on even the simplest
path. Everything else is JSONata, with erpbridge's functions (see functions.py) registered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonata

from ..errors import TransformError
from .functions import FUNCTIONS, MappingValueError

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_FUNCTION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*\(")
#: JSONata's own functions (https://docs.jsonata.org/overview), so unknown names can be refused early
JSONATA_BUILTINS = frozenset(
    [
        "string",
        "length",
        "substring",
        "substringBefore",
        "substringAfter",
        "uppercase",
        "lowercase",
        "trim",
        "pad",
        "contains",
        "split",
        "join",
        "match",
        "replace",
        "eval",
        "base64encode",
        "base64decode",
        "encodeUrlComponent",
        "encodeUrl",
        "decodeUrlComponent",
        "decodeUrl",
        "number",
        "abs",
        "floor",
        "ceil",
        "round",
        "power",
        "sqrt",
        "random",
        "formatNumber",
        "formatBase",
        "formatInteger",
        "parseInteger",
        "sum",
        "max",
        "min",
        "average",
        "boolean",
        "not",
        "exists",
        "count",
        "append",
        "sort",
        "reverse",
        "shuffle",
        "distinct",
        "zip",
        "keys",
        "lookup",
        "spread",
        "merge",
        "sift",
        "each",
        "error",
        "assert",
        "type",
        "map",
        "filter",
        "single",
        "reduce",
        "now",
        "millis",
        "fromMillis",
        "toMillis",
    ]
)


class ExpressionError(TransformError):
    """An expression that cannot be compiled, or that failed while evaluated."""


class _Call(jsonata.Jsonata.JFunctionCallable):  # type: ignore[misc]
    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def call(self, input: Any, args: Any) -> Any:
        return self.fn(*(args or ()))


#: JSONata's literal keywords, which look like paths but are not
_KEYWORDS = frozenset({"true", "false", "null"})
_ARRAYS = object()  # the walk met an array: JSONata's sequence rules decide, not us
_CALL = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\((.*)\)", re.S)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: switched off by the tests that prove native and JSONata evaluation agree
NATIVE = True


def _split_args(text: str) -> list[str] | None:
    """Top-level comma-separated arguments, or None when the text is not that simple."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == "\\":
                return None
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    if quote or depth:
        return None
    out.append(text[start:].strip())
    return [a for a in out if a] if text.strip() else []


def _native_call(
    text: str, functions: Mapping[str, Callable[..., Any]]
) -> tuple[Callable[..., Any], list[tuple[str, Any]]] | None:
    """``$fn(path, "literal", 2, $, $root.path, {"json": "literal"})`` with a function we can call directly."""
    m = _CALL.fullmatch(text)
    if not m:
        return None
    name, inner = m.group(1), m.group(2)
    fn: Callable[..., Any] | None = functions.get(name)
    if fn is None and name == "lookup":
        fn = _lookup
    if fn is None:
        fn = _NATIVE_BUILTINS.get(name)
    if fn is None:
        return None
    parts = _split_args(inner)
    if parts is None:
        return None
    if name == "exists" and fn is _exists and len(parts) == 1 and _PATH.fullmatch(parts[0]):
        return (lambda present: present), [("present", parts[0].split("."))]
    if name == "count" and fn is _count and len(parts) == 1 and _PATH.fullmatch(parts[0]):
        return (lambda n: n), [("count", parts[0].split("."))]
    args: list[tuple[str, Any]] = []
    for part in parts:
        nested = _native_call(part, functions) if part.startswith("$") and part != "$" else None
        if nested is not None:
            args.append(("call", nested))
        elif part.startswith("$root.") and _PATH.fullmatch(part[6:]):
            args.append(("root", part[6:].split(".")))
        elif part.startswith("$") and part != "$":
            return None
        elif part == "$":
            args.append(("context", None))
        elif part in _KEYWORDS:
            return None
        elif _PATH.fullmatch(part):
            args.append(("path", part.split(".")))
        elif (lit := _STRING.fullmatch(part)) is not None and lit.group(1) is not None and "\\" not in part:
            args.append(("value", lit.group(1)))
        elif _NUMBER.fullmatch(part):
            args.append(("value", int(part) if "." not in part else float(part)))
        elif _INDEXED.fullmatch(part):
            args.append(("indexed", _indexed(part)))
        elif (flt := _filtered(part)) is not None:
            args.append(("filtered", flt))
        elif part.startswith("{"):
            try:
                value = json.loads(part)
            except ValueError:
                return None
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                return None
            args.append(("value", value))
        else:
            return None
    return fn, args


_INDEXED = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\[([0-9]+)\]\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)


_FILTERED = re.compile(
    r'([A-Za-z_][A-Za-z0-9_]*)\[\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!?=)\s*"([^"\\]*)"\s*\]'
    r"(?:\[([0-9]+)\])?((?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)


def _filtered(text: str) -> tuple[str, str, str, int | None, list[str]] | None:
    """``REF[REF01 = "DP"].REF02`` or ``TD5[TD502 = "2"][0].TD503``: a qualifier filter, compiled."""
    m = _FILTERED.fullmatch(text)
    if m is None:
        return None
    rest = m.group(6).lstrip(".")
    literal = m.group(4) if m.group(3) == "=" else "\0!=" + m.group(4)  # a leading NUL marks !=
    return (
        m.group(1),
        m.group(2),
        literal,
        int(m.group(5)) if m.group(5) else None,
        rest.split(".") if rest else [],
    )


def _filter_items(context: Any, spec: tuple[str, str, str, int | None, list[str]]) -> Any:
    """The items a qualifier filter keeps (before its index and rest), or ``_ARRAYS``."""
    name, key, literal, _, _ = spec
    if not isinstance(context, dict):
        return _ARRAYS
    value = context.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return _ARRAYS
    negated = literal.startswith("\0!=")
    wanted = literal[3:] if negated else literal
    chosen = []
    for item in value:
        got = item.get(key)
        if got is not None and not isinstance(got, str):
            return _ARRAYS  # a composite or repeated element: JSONata's comparison rules decide
        if (got is not None and got != wanted) if negated else got == wanted:  # undefined != "x" is false
            chosen.append(item)
    return chosen


def _walk_filtered(context: Any, spec: tuple[str, str, str, int | None, list[str]]) -> Any:
    chosen = _filter_items(context, spec)
    if chosen is _ARRAYS:
        return _ARRAYS
    _, _, _, index, rest = spec
    if index is not None:
        chosen = chosen[index : index + 1]
    if not rest:
        return chosen[0] if len(chosen) == 1 else (None if not chosen else _ARRAYS)
    return _walk({"_": chosen}, ["_", *rest])


def _indexed(text: str) -> tuple[str, int, list[str]]:
    m = _INDEXED.fullmatch(text)
    assert m is not None
    return m.group(1), int(m.group(2)), m.group(3).split(".")


def _walk_indexed(context: Any, spec: tuple[str, int, list[str]]) -> Any:
    """``NAME[n].rest`` on an object context: item *n* of an array of objects, then a plain path."""
    name, n, rest = spec
    if not isinstance(context, dict):
        return _ARRAYS
    value = context.get(name)
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value]  # JSONata treats a single value as a sequence of one
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return _ARRAYS
    if n >= len(value):
        return None
    return _walk(value[n], rest)


_INTEGER = re.compile(r"-?[0-9]{1,15}")


def _exists(value: Any) -> Any:
    """JSONata's ``$exists`` for a value a native path found (arrays are left to JSONata)."""
    return _ARRAYS if isinstance(value, list) else value is not None


def _number(value: Any) -> Any:
    """JSONata's ``$number`` for a missing value or a string of digits; anything else is JSONata's."""
    if value is None:
        return None
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return _ARRAYS


def _string(value: Any) -> Any:
    """JSONata's ``$string`` for a missing value, a string or an integer; anything else is JSONata's."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _ARRAYS


_NOTHING = object()  # the path stopped before its last step


def _last_step(context: Any, names: list[str]) -> Any:
    """The raw value at the end of a plain path (a list stays a list), ``_NOTHING`` when the path
    stops before it, or ``_ARRAYS`` when JSONata must decide."""
    holder = _walk(context, names[:-1]) if len(names) > 1 else context
    if holder is None:
        return _NOTHING
    if not isinstance(holder, dict):
        return _ARRAYS
    return holder.get(names[-1])


def _present(context: Any, names: list[str]) -> Any:
    """``$exists(path)``: whether a plain path finds anything, a repeating segment included."""
    value = _last_step(context, names)
    if value is _ARRAYS or value is _NOTHING:
        return _ARRAYS if value is _ARRAYS else False
    if isinstance(value, list) and not value:
        return _ARRAYS
    return value is not None


def _count(value: Any) -> Any:
    return _ARRAYS  # only the plain-path form below is compiled


def _count_path(context: Any, names: list[str]) -> Any:
    """``$count(lines)``: how many items a plain path to a list (or one object) finds."""
    value = _last_step(context, names)
    if value is _ARRAYS:
        return _ARRAYS
    if value is _NOTHING or value is None:
        return 0
    if isinstance(value, list):
        return len(value) if all(isinstance(v, dict) for v in value) and value else _ARRAYS
    return 1 if isinstance(value, dict) else _ARRAYS


#: JSONata built-ins evaluated natively when their arguments are simple (tested against JSONata)
_NATIVE_BUILTINS: dict[str, Callable[..., Any]] = {
    "exists": _exists,
    "number": _number,
    "string": _string,
    "count": _count,
}


def _lookup(obj: Any, key: Any) -> Any:
    """JSONata's ``$lookup`` for an object of strings and a string key."""
    if not isinstance(obj, dict) or not isinstance(key, str):
        return None
    return obj.get(key)


def _walk(value: Any, names: list[str]) -> Any:
    """A plain path with JSONata's sequence rules (see :func:`_walk_general`), fast when it meets
    only objects, which is most of the time."""
    v = value
    for name in names:
        if v.__class__ is not dict:
            return _walk_general(value, names)
        v = v.get(name)
        if v is None:
            return None
    if v.__class__ is list:
        return _walk_general(value, names)
    return v


def _walk_general(value: Any, names: list[str]) -> Any:
    """A plain path with JSONata's sequence rules, or ``_ARRAYS`` where we leave it to JSONata.

    Arrays of objects met before the last step are mapped over, and a single result is a value,
    not a one-item list (``N4.N401`` when N4 is a list of one). An array as the last value, or an
    array of anything but objects, is JSONata's to decide.
    """
    found = _walk_items(value, names, each=False)
    if found is _ARRAYS or not found:
        return _ARRAYS if found is _ARRAYS else None
    return found[0] if len(found) == 1 else found


def _walk_each(value: Any, names: list[str]) -> Any:
    """A plain path as the list of items ``each`` iterates over (a list, possibly empty), or ``_ARRAYS``.

    Like :func:`_walk`, but an array at the last step is the list of its items; arrays of arrays are
    JSONata's to decide.
    """
    return _walk_items(value, names, each=True)


def _walk_items(value: Any, names: list[str], *, each: bool) -> Any:
    """What a plain path finds, as a list, or ``_ARRAYS``. Arrays of objects before the last step
    are mapped over; an array at the last step is its items with ``each`` (unless it holds arrays),
    and JSONata's to decide without."""
    current = [value]
    last = len(names) - 1
    for i, name in enumerate(names):
        found: list[Any] = []
        for item in current:
            if isinstance(item, list):
                return _ARRAYS
            if not isinstance(item, dict):
                continue
            got = item.get(name)
            if got is None:
                continue
            if isinstance(got, list):
                if i == last:
                    if not each or any(isinstance(sub, list) for sub in got):
                        return _ARRAYS
                elif not all(isinstance(sub, dict) for sub in got):
                    return _ARRAYS
                found.extend(got)
            else:
                found.append(got)
        current = found
        if not current:
            return []
    return current


def _run_call(call: tuple[Callable[..., Any], list[tuple[str, Any]]], context: Any, root: Any) -> Any:
    """Evaluate a compiled call, or return ``_ARRAYS`` when JSONata must decide."""
    fn, specs = call
    args: list[Any] = []
    for kind, spec in specs:
        if kind == "path":
            value = _walk(context, spec)
        elif kind == "root":
            value = _walk_root(root, spec)
        elif kind == "indexed":
            value = _walk_indexed(context, spec)
        elif kind == "filtered":
            value = _walk_filtered(context, spec)
        elif kind == "present":
            value = _present(context, spec)
        elif kind == "count":
            value = _count_path(context, spec)
        elif kind == "call":
            value = _run_call(spec, context, root)
        elif kind == "context":
            value = _ARRAYS if isinstance(context, list) else context
        else:
            value = spec
        if value is _ARRAYS:
            return _ARRAYS  # JSONata's sequence rules decide
        args.append(value)
    return fn(*args)  # a native built-in may itself answer _ARRAYS: then JSONata decides


def _walk_root(root: Any, names: list[str]) -> Any:
    """``$root.HL_loop``: a path from the document root, whose last step may be an array of objects."""
    if root is None:
        return _ARRAYS
    value = _walk(root, names[:-1]) if len(names) > 1 else root
    if value is _ARRAYS or not isinstance(value, dict):
        return _ARRAYS if value is not None else None
    last = value.get(names[-1])
    if isinstance(last, list) and not all(isinstance(v, dict) for v in last):
        return _ARRAYS
    return last


class Expression:
    """A compiled field expression. ``evaluate(context, root)`` returns a JSON value or ``None``.

    ``functions`` adds functions for this expression only (the code list and cross-reference
    functions of one mapping, bound to its tables).
    """

    def __init__(self, text: str, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.text = text.strip()
        fns = {**FUNCTIONS, **(functions or {})}
        self._path: list[str] | None = None
        self._literal: str | None = None
        self._call: tuple[Callable[..., Any], list[tuple[str, Any]]] | None = None
        self._indexed: tuple[str, int, list[str]] | None = None
        self._filtered: tuple[str, str, str, int | None, list[str]] | None = None
        self._jsonata: Any = None
        self._context = False  # the expression is ``$``, the context itself
        t = self.text
        if not t:
            raise ExpressionError("the expression is empty")
        if _PATH.fullmatch(t) and t not in _KEYWORDS:
            self._path = t.split(".")
            return
        self._context = t == "$"
        m = _STRING.fullmatch(t)
        if m:
            self._literal = bytes(m.group(1) if m.group(1) is not None else m.group(2), "utf-8").decode(
                "unicode_escape"
            )
            return
        unknown = sorted({n for n in _FUNCTION.findall(t) if n not in fns and n not in JSONATA_BUILTINS})
        if unknown:
            known = ", ".join(f"${n}" for n in sorted(fns))
            raise ExpressionError(
                f"unknown function(s) {', '.join('$' + n for n in unknown)} (erpbridge adds: {known})"
            )
        try:
            self._jsonata = jsonata.Jsonata(t)
        except jsonata.JException as exc:
            raise ExpressionError(f"not a valid JSONata expression: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - jsonata-python raises assorted errors on bad input
            raise ExpressionError(f"not a valid JSONata expression: {exc}") from None
        # inputs are JSON views and canonical JSON that erpbridge built itself; re-checking the whole
        # input on every evaluation was three quarters of the mapping time
        self._jsonata.set_validate_input(False)
        for name, fn in fns.items():
            self._jsonata.register_function(name, jsonata.Jsonata.JFunction(_Call(fn), None))
        self._call = _native_call(t, fns)
        if _INDEXED.fullmatch(t):
            self._indexed = _indexed(t)
        self._filtered = _filtered(t)

    @property
    def is_native(self) -> bool:
        """Compiled to Python (a plain path, a literal, or a simple function call)."""
        return self._context or any(
            x is not None for x in (self._path, self._literal, self._call, self._indexed, self._filtered)
        )

    def evaluate_each(self, context: Any, root: Any = None) -> list[Any]:
        """The items an ``each`` iterates over: the result as a list (``[]`` when there is none)."""
        if self._path is not None and NATIVE:
            items = _walk_each(context, self._path)
            if items is not _ARRAYS:
                return list(items)
        if self._filtered is not None and NATIVE and self._filtered[3] is None and not self._filtered[4]:
            items = _filter_items(context, self._filtered)
            if items is not _ARRAYS:
                return list(items)
        value = self.evaluate(context, root)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def evaluate(self, context: Any, root: Any = None) -> Any:
        if self._context and not isinstance(context, list):
            return context
        if self._path is not None:
            value = _walk(context, self._path)
            if value is not _ARRAYS:
                return value
            if self._jsonata is None:
                self._jsonata = jsonata.Jsonata(self.text)
                self._jsonata.set_validate_input(False)
        if self._literal is not None:
            return self._literal
        if NATIVE:
            if self._call is not None:
                value = _run_call(self._call, context, root)
                if value is not _ARRAYS:
                    return value
            elif self._indexed is not None:
                value = _walk_indexed(context, self._indexed)
                if value is not _ARRAYS:
                    return value
            elif self._filtered is not None:
                value = _walk_filtered(context, self._filtered)
                if value is not _ARRAYS:
                    return value
        try:
            bindings = {"root": root} if root is not None else None
            return self._jsonata.evaluate(context, bindings)
        except MappingValueError:
            raise
        except jsonata.JException as exc:
            inner = exc.__cause__ or exc.__context__
            if isinstance(inner, MappingValueError):
                raise inner from None
            raise ExpressionError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - translate whatever the library raises
            if isinstance(exc.__cause__, MappingValueError):
                raise exc.__cause__ from None
            raise ExpressionError(f"{type(exc).__name__}: {exc}") from None
