"""The one exception tree of erpbridge.

Every error says whether retrying can help. ``transient`` errors are retried with backoff
(a timeout, a 503, a lock held by another worker); ``terminal`` errors are not: the document
is quarantined with the error's message as the reason, and someone is alerted.

::

    ErpBridgeError                    .transient: bool, .context: dict (partner, file, control numbers...)
    ├── TransientError                retry with backoff
    │   ├── TransportError            a peer did not answer, a connection dropped
    │   ├── LedgerBusyError           the ledger is unreachable, locked or asked us to retry
    │   └── RemoteUnavailableError    an ERP answered busy or failed on its side (HTTP 5xx, 429); .retry_after
    └── TerminalError                 quarantine and alert; retrying cannot help
        ├── AuthenticationError       a peer refused our credentials, or its host key is not the pinned one
        ├── RemoteRejectedError       an ERP refused a request (HTTP 4xx): keeps its code, message and details
        │   └── RemoteConflictError   the record changed in the ERP since it was read (HTTP 412, stale ETag)
        ├── LedgerError               the ledger refuses an operation
        │   ├── IllegalTransitionError    a document state change the state table does not allow
        │   └── LedgerIntegrityError      the event log's hash chain is broken (tampering, corruption)
        ├── ConfigError               a configuration or schema file is wrong (names file and key)
        │   ├── MappingError          a mapping file is wrong; the message starts with file:line
        │   └── LayoutError           a flat-file layout is wrong; the message starts with file:line
        ├── TransformError            a mapping expression or function cannot transform a source value
        │   └── DocumentRejectedError a flow cannot take a document: wrong kind, no mapping, mapping findings
        ├── SchemaError               an X12 schema or overlay data file is wrong
        ├── X12Error                  X12 input or output is unusable
        │   ├── NotX12Error           the input is not an X12 interchange at all (no readable ISA)
        │   ├── X12SyntaxError        the envelope cannot be followed (reader refuses further input)
        │   └── X12WriteError         a document to write is invalid; names the field, nothing written
        ├── IdocError                 SAP IDoc XML input or output is unusable
        │   ├── IdocSyntaxError       not well-formed XML, or not IDoc XML (no <IDOC>); names the line
        │   ├── IdocSecurityError     the XML declares a DTD or entities: refused, never expanded
        │   └── IdocWriteError        an IDoc to write is invalid; names IDoc, segment and field
        ├── ModelError                a canonical document (or its JSON) is invalid; names the JSON path
        └── InputError                a file cannot be read (missing, unreadable)
            ├── CsvError              a CSV file is malformed: names file:line:column
            └── FlatFileError         a flat file (CSV, fixed-width, XLSX) cannot be read or written
                                      against its layout at all: names file:row:column

Validation problems in otherwise readable X12 are *not* exceptions: they are
:class:`erpbridge.formats.x12.findings.Finding` values, which acknowledgments are built from.
Likewise for IDocs: a readable IDoc with a bad field gives
:class:`erpbridge.formats.idoc.IdocFinding` values, not exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ErpBridgeError(Exception):
    """Base of every erpbridge error. ``context`` names what the error concerns."""

    transient: bool = False

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        if not self.context:
            return self.message
        where = ", ".join(f"{k}={v}" for k, v in self.context.items())
        return f"{self.message} ({where})"


@contextmanager
def concerning(action: str, **context: Any) -> Iterator[None]:
    """An :class:`ErpBridgeError` raised inside says what was being done: its message starts with
    ``action`` (once), and ``context`` fills what its own context does not name yet."""
    try:
        yield
    except ErpBridgeError as exc:
        if not exc.message.startswith(action):
            exc.message = f"{action}: {exc.message}"
            exc.args = (exc.message, *exc.args[1:])
        for key, value in context.items():
            if value is not None:
                exc.context.setdefault(key, value)
        raise


class TransientError(ErpBridgeError):
    """Retrying later may succeed."""

    transient = True


class TransportError(TransientError):
    """A peer did not answer or a connection dropped."""


class LedgerBusyError(TransientError):
    """The ledger database is unreachable, locked, or failed a transaction that may succeed on retry."""


class TerminalError(ErpBridgeError):
    """Retrying cannot help: quarantine the document and alert."""

    transient = False


class ConfigError(TerminalError):
    """A configuration file is wrong."""


class MappingError(ConfigError):
    """A mapping file is wrong; the message starts with file:line."""


class LayoutError(ConfigError):
    """A flat-file layout (formats/flatfile) is wrong: bad YAML, an unknown type, overlapping
    fixed-width columns. The message starts with the layout's file:line."""


class TransformError(TerminalError):
    """A mapping expression or function cannot transform a source value (becomes a finding)."""


class DocumentRejectedError(TransformError):
    """A flow cannot take a document: a kind it does not carry, no mapping for it, or the mapping's
    findings. The message is the reason a person reads (it goes into the quarantine's .reason.txt)."""


class SchemaError(TerminalError):
    """An X12 schema or overlay data file is wrong."""


class InputError(TerminalError):
    """An input file cannot be read."""


class CsvError(InputError):
    """A CSV file cannot be read as rows: undecodable, ragged, no header, bad quoting.

    The message starts with ``file:line:column:`` (1-based; the column counts characters, not
    bytes); ``file``, ``line`` and ``column`` hold them alone.
    """

    def __init__(self, what: str, *, file: str, line: int, column: int) -> None:
        super().__init__(f"{file}:{line}:{column}: {what}")
        self.file, self.line, self.column = file, line, column


class FlatFileError(InputError):
    """A flat file cannot be read or written against its layout at all (not one bad row: those are
    rejects): undecodable bytes, a header without a column the layout needs, a sheet that is not
    there, a value that does not fit its column when writing.

    The message starts with ``file:row:column:`` (``column`` may be a header name or a letter);
    ``file``, ``row`` and ``column`` hold them alone.
    """

    def __init__(self, what: str, *, file: str, row: int, column: int | str) -> None:
        super().__init__(f"{file}:{row}:{column}: {what}")
        self.file, self.row, self.column = file, row, column


class ModelError(TerminalError):
    """A canonical document, or the JSON it is read from, is invalid.

    The message starts with the JSON path of the offending value (``lines[2].quantity: expected a
    decimal string, got 'abc'``); ``path`` holds that path alone ("" for the document itself).
    """

    def __init__(self, message: str, *, path: str = "", **context: Any) -> None:
        super().__init__(f"{path}: {message}" if path else message, **context)
        self.path = path


class X12Error(TerminalError):
    """X12 input or output is unusable."""


class NotX12Error(X12Error):
    """The input is not an X12 interchange (no readable 106-character ISA)."""


class X12SyntaxError(X12Error):
    """The envelope cannot be followed any further."""


class X12WriteError(X12Error):
    """A document handed to the writer is invalid; nothing was written."""


class IdocError(TerminalError):
    """SAP IDoc XML input or output is unusable."""


class IdocSyntaxError(IdocError):
    """The input is not well-formed XML, or not IDoc XML; the message names the line."""


class IdocSecurityError(IdocError):
    """The XML declares a DTD or entities (billion laughs, external entities): refused, never expanded."""


class IdocWriteError(IdocError):
    """An IDoc handed to the writer is invalid; nothing was written. ``findings`` lists why."""

    def __init__(self, message: str, findings: Any = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.findings = tuple(findings)


class AuthenticationError(TerminalError):
    """A peer refused our credentials, or presented a host key other than the pinned one."""


class LedgerError(TerminalError):
    """The ledger refuses an operation."""


class IllegalTransitionError(LedgerError):
    """A document state change that the state table does not allow."""


class LedgerIntegrityError(LedgerError):
    """The event log's hash chain does not verify: an event was changed, removed or inserted."""


class _RemoteReply:
    """What an ERP said when it refused or failed a request: HTTP status, its own error code, its
    message and the details it gave (SAP's ``innererror.errordetails``), kept for the person who reads
    the error. ``retry_after`` is the wait in seconds the ERP asked for (also in ``context``, where the
    retry policy reads it)."""

    status: int | None
    remote_code: str | None
    remote_message: str | None
    details: tuple[str, ...]
    retry_after: float | None

    def _reply(
        self,
        status: int | None,
        remote_code: str | None,
        remote_message: str | None,
        details: Any,
        retry_after: float | None,
    ) -> None:
        self.status = status
        self.remote_code = remote_code
        self.remote_message = remote_message
        self.details = tuple(str(d) for d in details)
        self.retry_after = retry_after


class RemoteUnavailableError(_RemoteReply, TransientError):
    """An ERP or WMS answered that it is busy or failed on its side (HTTP 5xx, 429); retry later."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        remote_code: str | None = None,
        remote_message: str | None = None,
        details: Any = (),
        retry_after: float | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self._reply(status, remote_code, remote_message, details, retry_after)


class RemoteRejectedError(_RemoteReply, TerminalError):
    """An ERP or WMS refused a request for a reason in the data (HTTP 4xx): its code, message and
    details are kept, and retrying the same request cannot help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        remote_code: str | None = None,
        remote_message: str | None = None,
        details: Any = (),
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self._reply(status, remote_code, remote_message, details, None)


class RemoteConflictError(RemoteRejectedError):
    """The record changed in the ERP since erpbridge read it (HTTP 412: the ETag sent in If-Match is
    stale). Read it again and decide; sending the same request again cannot help."""
