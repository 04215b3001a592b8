"""The connector interface: the systems that take canonical documents from the pipeline (an ERP, a
WMS) and give documents to it.

A connector is the last step of an inbound flow (``deliver``) and, for systems that push work to
partners, the first step of an outbound one. It is where I/O with the system happens, so it is
also where that system's library is imported, and where its errors become erpbridge's
(:class:`~erpbridge.errors.TransientError` for what a retry can fix, a
:class:`~erpbridge.errors.TerminalError` for what a person must fix), naming the document.

Contract of :meth:`Connector.deliver`:

* **Idempotent on ``key``.** The pipeline delivers at least once: after a crash between the
  delivery and the ledger's ``delivered`` the same document comes again with the same key. The
  connector must then change nothing and return the same reference, with ``created=False`` (look
  the key up first: an external ID, a ``PurchaseOrderByCustomer``, a file name).
* **Raise, do not return, failures.** A transient error leaves the document for a retry with
  backoff; a terminal one quarantines it with the message.
* Nothing is logged that holds a secret.

Connectors in this package: :class:`FolderConnector` (canonical JSON files in a folder, the
``folder`` endpoint type: the stand-in for an ERP or WMS, and an SAP file port's shape). The SAP
and NetSuite connectors implement the same protocol.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..transports import Session, Transport
from ..transports.local import FolderSyncs, LocalSession


@dataclass(frozen=True)
class Delivered:
    """What a connector did with one document.

    Fields:
        reference: the system's own key for what it now holds: a file name, a sales order number,
            an internal ID. Kept in the ledger's event, shown by ``erpbridge ledger show``.
        created: ``False`` when the document was already there (a repeat of the same key)
        detail: anything else worth keeping in the ledger (JSON-ready)
    """

    reference: str
    created: bool = True
    detail: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    """A system that takes canonical documents. See the module for the contract."""

    name: str

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """Hand one canonical document to the system, idempotently on ``key``."""
        ...

    def close(self) -> None:
        """Let go of connections; the connector may be used again afterwards."""
        ...


@runtime_checkable
class WorkSource(Protocol):
    """A system that hands the warehouse its work by being polled (SAP's outbound deliveries over
    OData): an inbound flow whose source is such an endpoint records each record it yields."""

    name: str

    def work_records(self, *, shipping_point: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(number, record)`` for each piece of work open now: its number (the delivery) and the
        record as JSON (the same record for the same work: only what the warehouse acts on)."""
        ...

    def close(self) -> None:
        """Let go of connections; the source may be used again afterwards."""
        ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FolderConnector:
    """Canonical documents as JSON files in ``folder`` of a transport: ``<key>.json``.

    A repeat of a key replaces the file with the same bytes (the transport's put is atomic), so
    the folder holds each document once. One transport session is kept open across deliveries
    until :meth:`close`."""

    def __init__(self, name: str, transport: Transport, folder: str) -> None:
        self.name, self.transport, self.folder = name, transport, folder
        self._context: AbstractContextManager[Session] | None = None
        self._session: Session | None = None
        self._syncs: FolderSyncs | None = None

    def hold_syncs(self, syncs: FolderSyncs | None) -> None:
        """The folder's fsyncs after each delivery are owed to ``syncs`` (a local folder's; see
        :meth:`erpbridge.transports.local.LocalSession.hold_syncs`) until this is called with None:
        whoever holds them syncs before it records the deliveries."""
        self._syncs = syncs
        if isinstance(self._session, LocalSession):
            self._session.hold_syncs(syncs)

    @staticmethod
    def file_name(key: str) -> str:
        """The file a key is delivered as (characters a file name cannot hold become ``_``)."""
        return _UNSAFE.sub("_", key).strip("._")[:200] + ".json"

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        body = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
        name = self.file_name(key)
        try:
            self._open().put(self.folder, name, body)
        except BaseException:
            self.close()  # a broken session is not reused
            raise
        return Delivered(name, detail={"folder": self.folder})

    def _open(self) -> Session:
        if self._session is None:
            self._context = self.transport.session()
            self._session = self._context.__enter__()
            if isinstance(self._session, LocalSession):
                self._session.hold_syncs(self._syncs)
        return self._session

    def close(self) -> None:
        context, self._context, self._session = self._context, None, None
        if context is not None:
            context.__exit__(None, None, None)


__all__ = ["Connector", "Delivered", "FolderConnector", "WorkSource"]
