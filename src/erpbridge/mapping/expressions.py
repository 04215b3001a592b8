"""Field expressions: JSONata, with the common cases compiled natively.

This is the only module that imports ``jsonata`` (jsonata-python); its exceptions become
:class:`ExpressionError`. A plain path (``BEG.BEG03``) and a literal (``"00"``) are compiled to
Python: they are most of a mapping, and jsonata-python spends about 100 µs on even the simplest
path. Everything else is JSONata, with erpbridge's functions (see functions.py) registered.
"""

from __future__ import annotations

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


_ARRAYS = object()  # the walk met an array: JSONata's sequence rules decide, not us


def _walk(value: Any, names: list[str]) -> Any:
    """A plain path over objects only; ``_ARRAYS`` as soon as an array is involved."""
    for name in names:
        if isinstance(value, list):
            return _ARRAYS
        if not isinstance(value, dict):
            return None
        value = value.get(name)
        if value is None:
            return None
    return _ARRAYS if isinstance(value, list) else value


class Expression:
    """A compiled field expression. ``evaluate(context, root)`` returns a JSON value or ``None``."""

    def __init__(self, text: str, tables: Mapping[str, Any] | None = None) -> None:
        self.text = text.strip()
        self._path: list[str] | None = None
        self._literal: str | None = None
        self._jsonata: Any = None
        t = self.text
        if not t:
            raise ExpressionError("the expression is empty")
        if _PATH.fullmatch(t):
            self._path = t.split(".")
            return
        m = _STRING.fullmatch(t)
        if m:
            self._literal = bytes(m.group(1) if m.group(1) is not None else m.group(2), "utf-8").decode(
                "unicode_escape"
            )
            return
        unknown = sorted(
            {n for n in _FUNCTION.findall(t) if n not in FUNCTIONS and n not in JSONATA_BUILTINS}
        )
        if unknown:
            known = ", ".join(f"${n}" for n in sorted(FUNCTIONS))
            raise ExpressionError(
                f"unknown function(s) {', '.join('$' + n for n in unknown)} (erpbridge adds: {known})"
            )
        try:
            self._jsonata = jsonata.Jsonata(t)
        except jsonata.JException as exc:
            raise ExpressionError(f"not a valid JSONata expression: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - jsonata-python raises assorted errors on bad input
            raise ExpressionError(f"not a valid JSONata expression: {exc}") from None
        for name, fn in FUNCTIONS.items():
            self._jsonata.register_function(name, jsonata.Jsonata.JFunction(_Call(fn), None))

    @property
    def is_native(self) -> bool:
        """Compiled to Python (a plain path over objects, or a literal)."""
        return self._path is not None or self._literal is not None

    def evaluate(self, context: Any, root: Any = None) -> Any:
        if self._path is not None:
            value = _walk(context, self._path)
            if value is not _ARRAYS:
                return value
            if self._jsonata is None:
                self._jsonata = jsonata.Jsonata(self.text)
        if self._literal is not None:
            return self._literal
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
