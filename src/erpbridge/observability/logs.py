"""Structured JSON logs, and a redaction filter that keeps secrets out of every log line.

::

    from erpbridge.observability.logs import configure_logging, log_context, secrets_of

    configure_logging(json=True, level="INFO", secrets=secrets_of(config))
    log = logging.getLogger("erpbridge.pipeline")
    with log_context(flow="megamart_orders_in", partner="megamart"):
        log.info("received %s", name, extra={"file": name, "document": doc.id})

prints one JSON object per line on standard error::

    {"time": "2026-11-23T13:53:27.412Z", "level": "INFO", "logger": "erpbridge.pipeline",
     "message": "received po.edi", "flow": "megamart_orders_in", "partner": "megamart",
     "file": "po.edi", "document": "3f2a..."}

(on one line). ``exception`` holds the traceback when there is one. Context fields come from
:func:`log_context` (kept in a context variable: per thread, and per task) and from ``extra``.

**Redaction.** A filter on the handler rewrites every record before any formatter sees it: each
known secret value (registered from the configuration's secret references when logging is
configured, and with :meth:`Redactor.add` later, e.g. after a rotation), also as it appears
percent-encoded in a URL or escaped in ``repr()`` or JSON, is replaced by ``***`` in the message,
its arguments, the exception text and stack, and every context field. Then obvious patterns are
masked too, whoever logged them: ``Authorization:`` header values, ``password=``/``token=``/
``secret=``/``api_key=``-style pairs (also as JSON keys), the password in a URL
(``scheme://user:***@host``) and PEM private key blocks. The formatted line goes through the same
redaction once more before it is written, so a secret cannot come back through a formatter.
Uncaught exceptions (main thread and other threads) are logged through the same handler.
"""

from __future__ import annotations

import contextlib
import contextvars
import json as _json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any, Protocol
from urllib.parse import quote, quote_plus

MASK = "***"

_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "erpbridge_log_context", default=None
)

# what every LogRecord has: anything else on a record is a context field (``extra``)
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)

_KEYS = r"pass(?:word|wd|phrase)|pwd|secret|client_secret|token|access_token|refresh_token|api[_-]?key|apikey|private_key"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, whole blocks (also an unterminated one, to the end)
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL),
        r"-----BEGIN \1-----" + MASK + r"-----END \1-----",
    ),
    # Authorization / Proxy-Authorization header values (as a header line, a dict repr or JSON)
    (
        re.compile(
            r"""(?i)((?:proxy-)?authorization['"]?\s*[:=]\s*['"]?(?:(?:basic|bearer|digest|token|negotiate|ntlm)\s+)?)[^\s'",}]+"""
        ),
        r"\1" + MASK,
    ),
    # key=value, key: value, "key": "value", 'key': 'value' for secret-looking keys
    (
        re.compile(rf"""(?i)(\b(?:{_KEYS})\b['"]?\s*[:=]\s*)(['"]?)[^\s'"&,;}}]+"""),
        r"\1\2" + MASK,
    ),
    # the password in a URL: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + MASK + "@"),
)


class SecretSource(Protocol):
    """A configured secret: a ``transports.base.Credential`` (``reveal()``) or a
    ``config.SecretRef`` (``credential()``)."""

    @property
    def name(self) -> str: ...


class Redactor:
    """Replaces known secret values and secret-looking patterns by ``***``. Thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in secrets:
            self.add(value)

    def add(self, secret: str) -> None:
        """Redact ``secret`` from now on, and its forms in URLs, ``repr()`` and JSON."""
        if not isinstance(secret, str) or not secret:
            return
        forms = {
            secret,
            quote(secret, safe=""),
            quote_plus(secret, safe=""),
            repr(secret)[1:-1],
            _json.dumps(secret)[1:-1],
            _json.dumps(secret, ensure_ascii=False)[1:-1],
        }
        with self._lock:
            self._values |= {f for f in forms if f}
            # longest first: a secret that contains another is masked whole
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def __len__(self) -> int:
        return len(self._values)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and secret-looking pattern masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for regex, replacement in _PATTERNS:
            text = regex.sub(replacement, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """A context field's value with secrets masked: strings, and the strings inside mappings,
        lists and tuples; numbers, booleans and ``None`` as they are; anything else as its
        redacted ``str()``."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v) for v in value]
        return self.redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites a record with its secrets masked: the message (arguments merged in), the exception
    and stack text, and every context field. Attach it to handlers: a logger's filter does not see
    records that child loggers pass up."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception as exc:  # bad arguments for the format: show what was given  # noqa: BLE001
            message = f"{record.msg!r} % {record.args!r} ({type(exc).__name__})"
        record.msg, record.args = r.redact(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None  # formatters use exc_text, redacted below
        if record.exc_text:
            record.exc_text = r.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = r.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, r.redact_value(value))
        return True


class ContextFilter(logging.Filter):
    """Adds the fields of :func:`log_context` to each record (``extra`` fields win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Within the ``with`` block, every record logged (in this thread or task) carries ``fields``
    (e.g. ``partner``, ``flow``, ``document``, ``file``); blocks nest, the inner value wins."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (UTC, ISO 8601 with milliseconds),
    ``level``, ``logger``, ``message``, the context fields, and ``exception``/``stack`` text."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return _json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value...`` for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD]
        if not fields:
            return line
        head, sep, rest = line.partition("\n")
        return f"{head} {' '.join(fields)}{sep}{rest}"


class _RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that redacts the formatted line once more before writing it."""

    erpbridge = True  # what configure_logging looks for to replace its own handler

    def __init__(self, stream: IO[str], redactor: Redactor) -> None:
        super().__init__(stream)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


def secrets_of(config: Any) -> list[str]:
    """The values of every secret the configuration refers to (``config.secrets()``: the ledger's
    password, SFTP passwords and passphrases, and whatever later sections add), read now. A secret
    that cannot be read is skipped: ``check_environment`` reports it, never its value."""
    from ..errors import ErpBridgeError

    values: list[str] = []
    for _key, ref in config.secrets():
        try:
            values.append(ref.credential().reveal())
        except ErpBridgeError:
            continue
    return values


def _reveal(source: str | Any) -> str | None:
    from ..errors import ErpBridgeError

    if isinstance(source, str):
        return source
    try:
        if hasattr(source, "reveal"):
            return str(source.reveal())
        if hasattr(source, "credential"):
            return str(source.credential().reveal())
    except ErpBridgeError:
        return None
    raise TypeError(f"a secret is a string, a Credential or a SecretRef, not {type(source).__name__}")


def configure_logging(
    json: bool = True,
    level: int | str = "INFO",
    secrets: Iterable[str | SecretSource] = (),
    *,
    stream: IO[str] | None = None,
    excepthooks: bool = True,
) -> Redactor:
    """Send every log record (the root logger's) to ``stream`` (standard error by default), as one
    JSON object per line (``json``) or as text, at ``level`` and above, with the redaction filter.

    ``secrets`` are secret values, or ``Credential``/``SecretRef`` objects that are read now (one
    that cannot be read is skipped); :func:`secrets_of` gives a configuration's. Returns the
    :class:`Redactor`: ``.add(value)`` registers a secret later (a rotated one). Calling it again
    replaces the handler it installed before. With ``excepthooks``, uncaught exceptions of the main
    thread and of other threads are logged (redacted) instead of printed raw."""
    redactor = Redactor()
    for source in secrets:
        value = _reveal(source)
        if value:
            redactor.add(value)
    handler = _RedactingHandler(stream if stream is not None else sys.stderr, redactor)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "erpbridge", False)]:
        root.removeHandler(old)
        old.close()
    # first of the root's handlers: the filter rewrites the record itself, so a handler that
    # someone else added (a test runner's capture, a library's) sees the redacted record too
    root.addHandler(handler)
    root.handlers.remove(handler)
    root.handlers.insert(0, handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    logging.captureWarnings(True)
    if excepthooks:
        _install_excepthooks()
    return redactor


def _install_excepthooks() -> None:
    crash = logging.getLogger("erpbridge.crash")

    def on_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crash.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        crash.critical(
            "uncaught %s in thread %s",
            args.exc_type.__name__,
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception


__all__ = [
    "MASK",
    "ContextFilter",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "log_context",
    "secrets_of",
]
