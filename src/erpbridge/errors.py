"""The one exception tree of erpbridge.

Every error says whether retrying can help. ``transient`` errors are retried with backoff
(a timeout, a 503, a lock held by another worker); ``terminal`` errors are not: the document
is quarantined with the error's message as the reason, and someone is alerted.

::

    ErpBridgeError                    .transient: bool, .context: dict (partner, file, control numbers...)
    ├── TransientError                retry with backoff
    │   ├── TransportError            a peer did not answer, a connection dropped
    │   └── LedgerBusyError           the ledger is unreachable, locked or asked us to retry
    └── TerminalError                 quarantine and alert; retrying cannot help
        ├── AuthenticationError       a peer refused our credentials, or its host key is not the pinned one
        ├── LedgerError               the ledger refuses an operation
        │   ├── IllegalTransitionError    a document state change the state table does not allow
        │   └── LedgerIntegrityError      the event log's hash chain is broken (tampering, corruption)
        ├── ConfigError               a configuration or schema file is wrong (names file and key)
        │   └── MappingError          a mapping file is wrong; the message starts with file:line
        ├── TransformError            a mapping expression or function cannot transform a source value
        ├── SchemaError               an X12 schema or overlay data file is wrong
        ├── X12Error                  X12 input or output is unusable
        │   ├── NotX12Error           the input is not an X12 interchange at all (no readable ISA)
        │   ├── X12SyntaxError        the envelope cannot be followed (reader refuses further input)
        │   └── X12WriteError         a document to write is invalid; names the field, nothing written
        ├── ModelError                a canonical document (or its JSON) is invalid; names the JSON path
        └── InputError                a file cannot be read (missing, unreadable)

Validation problems in otherwise readable X12 are *not* exceptions: they are
:class:`erpbridge.formats.x12.findings.Finding` values, which acknowledgments are built from.
"""

from __future__ import annotations

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


class TransformError(TerminalError):
    """A mapping expression or function cannot transform a source value (becomes a finding)."""


class SchemaError(TerminalError):
    """An X12 schema or overlay data file is wrong."""


class InputError(TerminalError):
    """An input file cannot be read."""


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


class AuthenticationError(TerminalError):
    """A peer refused our credentials, or presented a host key other than the pinned one."""


class LedgerError(TerminalError):
    """The ledger refuses an operation."""


class IllegalTransitionError(LedgerError):
    """A document state change that the state table does not allow."""


class LedgerIntegrityError(LedgerError):
    """The event log's hash chain does not verify: an event was changed, removed or inserted."""
