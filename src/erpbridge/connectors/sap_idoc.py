"""SAP over IDocs: canonical documents become IDoc XML for an SAP port (a file port or XML HTTP).

:meth:`SapIdocConnector.deliver` (the pipeline's :class:`~erpbridge.connectors.base.Connector`
call) takes one canonical document and:

1. maps it with the endpoint's IDoc mapping for its kind (``mappings/idoc/purchase-order-to-orders05.yaml``
   for a PurchaseOrder, ``ship-notice-to-shpcon.delvry07.yaml`` for a ShipNotice...), after checking
   it against the canonical model;
2. fills the control record (EDI_DC40) where the mapping left it empty: the endpoint's sender and
   receiver ports and partners and client (``control``), ``DIRECT`` 2 (inbound to SAP), ``CREDAT``
   and ``CRETIM``;
3. records the IDoc in the ledger as an outbound document of the partner (kind
   ``idoc/<MESTYP>.<IDOCTYP>``) with a DOCNUM allocated in the same transaction
   (:attr:`~erpbridge.ledger.Level.DOCNUM`: 16 digits, never repeated), the XML written by the
   validating IDoc writer (:mod:`erpbridge.formats.idoc`) inside that transaction; the delivery's
   ``key`` is the document's idempotency key, so the same key always finds the same IDoc;
4. sends it: a file port gets ``<MESTYP>_<DOCNUM>.xml`` in its folder, written atomically through the
   transport (a temporary name, then a rename, so SAP never reads half a file); an XML HTTP port
   gets one POST (:mod:`erpbridge.connectors.sap_idoc_http`);
5. marks the IDoc ``sent`` and ``archived`` (SAP sends no 997).

Idempotent on ``key``: an IDoc already sent is not sent again (``created=False``, the same
reference and DOCNUM); one recorded but not sent (the put or the POST failed, the process died) is
sent again with the same bytes, under the same name. A crash after SAP took it and before the ledger
recorded ``sent`` therefore sends the same file (same name, same DOCNUM) once more: at least once,
never a second DOCNUM.

Errors: a document without a mapping for its kind, one the model or the mapping refuses, or an IDoc
the writer refuses is a :class:`~erpbridge.errors.DocumentRejectedError` naming the kind, key and
findings; the transport's and SAP's errors come as they are (transient or terminal). Another
process sending the same IDoc at that moment is a transient error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, DocumentRejectedError, ErpBridgeError, ModelError, TransientError
from ..formats.idoc import write
from ..ledger import Allocation, Ledger, Level, State
from ..mapping import Mapping as LoadedMapping
from ..mapping import load_mapping
from ..model import KINDS, from_json, to_json
from ..transports import Session, Transport
from ..transports.base import Credential
from .base import Delivered

log = logging.getLogger(__name__)

#: States of an IDoc in the ledger that mean SAP has it.
_DONE = (State.SENT, State.ACKNOWLEDGED, State.ARCHIVED)


@dataclass(frozen=True, kw_only=True)
class SapIdocSettings:
    """One SAP port. ``control``: EDI_DC40 fields written where the mapping leaves them empty
    (SNDPOR, SNDPRT, SNDPRN, RCVPOR, RCVPRT, RCVPRN, MANDT). ``mappings``: canonical kind -> IDoc
    mapping file. A file port writes into ``folder`` of the transport it is given; an XML HTTP port
    POSTs to ``url`` (``client``: sap-client) as ``user``. Timeouts in seconds."""

    name: str
    port: Literal["file", "xml_http"]
    control: Mapping[str, str] = field(default_factory=dict)
    mappings: Mapping[str, Path] = field(default_factory=dict)
    folder: str = ""
    url: str | None = None
    client: str | None = None
    user: str | None = None
    password: Credential | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    verify: bool | str = True


class SapIdocConnector:
    """An SAP IDoc port that takes canonical documents (see the module). One transport session or
    HTTP session is kept open across deliveries until :meth:`close`."""

    def __init__(
        self,
        settings: SapIdocSettings,
        *,
        ledger: Ledger,
        partner: str,
        worker: str | None = None,
        transport: Transport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.name = settings, settings.name
        self.ledger, self.partner, self.worker, self.now = ledger, partner, worker, now
        self.transport = transport
        self._mappings: dict[str, LoadedMapping] = {}
        self._context: AbstractContextManager[Session] | None = None
        self._session: Session | None = None
        self._http: Any = None
        if settings.port == "file" and transport is None:
            raise ConfigError("an IDoc file port needs a transport", endpoint=settings.name)
        if settings.port == "xml_http":
            from .sap_idoc_http import IdocHttpPort, IdocHttpSettings

            if not settings.url or not settings.user or settings.password is None:
                raise ConfigError("an IDoc XML HTTP port needs url, user and password", endpoint=self.name)
            self._http = IdocHttpPort(
                IdocHttpSettings(
                    url=settings.url,
                    user=settings.user,
                    password=settings.password,
                    name=settings.name,
                    client=settings.client,
                    connect_timeout=settings.connect_timeout,
                    read_timeout=settings.read_timeout,
                    verify=settings.verify,
                )
            )

    # -- the Connector protocol

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        kind = str(document.get("kind"))
        where = {"endpoint": self.name, "partner": self.partner, "key": key}
        idoc = self._idoc(kind, document, where)
        control = idoc["EDI_DC40"]
        doc_kind = f"idoc/{control['MESTYP']}.{control['IDOCTYP']}"
        made: dict[str, bytes] = {}

        def build(alloc: Allocation) -> bytes:
            made["xml"] = _xml(idoc, alloc.docnum or 0, kind, where)
            return made["xml"]

        record = self.ledger.record_outbound(
            self.partner,
            doc_kind[:64],
            payload=build,
            levels=[Level.DOCNUM],
            state=State.WRITTEN,
            idempotency_key=self.ledger_key(key),
            business_key=_business_key(document),
            step="write_idoc",
            detail={"to": self.name, "port": self.settings.port, "key": key},
            worker=self.worker,
        )
        docnum = record.docnum or ""
        name = f"{control['MESTYP']}_{docnum}.xml"
        reference = name if self.settings.port == "file" else f"DOCNUM {docnum}"
        detail = {"docnum": docnum, "document_id": record.id, "idoc": doc_kind}
        if record.state in _DONE:
            return Delivered(reference, created=False, detail=detail)
        if record.state != State.WRITTEN:
            raise DocumentRejectedError(
                f"IDoc {docnum} ({doc_kind}) for this document is {record.state.value} in the ledger: "
                "deliver it under a new key (erpbridge replay) or retry that IDoc (erpbridge dlq retry)",
                docnum=docnum,
                **where,
            )
        if record.claimed_by != self.worker:
            raise TransientError(
                f"IDoc {docnum} is being sent by {record.claimed_by}", docnum=docnum, **where
            )
        data = made.get("xml") or self.ledger.payload(record.payload_sha256 or "")
        sent: dict[str, Any]
        try:
            if self.settings.port == "file":
                self._open().put(self.settings.folder, name, data)
                step, sent = "put", {"file": name, "folder": self.settings.folder}
            else:
                answer = self._http.post(data, docnum=docnum, partner=self.partner, key=key)
                step, sent = "post", {"url": self.settings.url, "answer": answer}
        except BaseException:
            self._close_session()  # a broken session is not reused
            self.ledger.release(record.id, self.worker or "")
            raise
        self.ledger.transition(record.id, State.SENT, step=step, detail=sent, worker=self.worker)
        self.ledger.transition(record.id, State.ARCHIVED, step="no_ack_expected", worker=self.worker)
        log.info("sent IDoc %s (%s) to %s for %s", docnum, doc_kind, self.name, key)
        return Delivered(reference, detail=detail | sent)

    def check(self, document: Mapping[str, Any], *, key: str) -> None:
        """Raises what :meth:`deliver` would refuse of a document (no mapping for its kind, the model
        or the mapping refuses it, an IDoc the writer refuses) without recording or sending it."""
        where = {"endpoint": self.name, "partner": self.partner, "key": key}
        kind = str(document.get("kind"))
        _xml(self._idoc(kind, document, where), 1, kind, where)

    def ledger_key(self, key: str) -> str:
        """The idempotency key the IDoc for the delivery key ``key`` is recorded under."""
        return f"{self.name}:{key}"[:200]

    def close(self) -> None:
        self._close_session()
        if self._http is not None:
            self._http.close()

    # -- the parts

    def _idoc(self, kind: str, document: Mapping[str, Any], where: dict[str, Any]) -> dict[str, Any]:
        """The IDoc tree for a canonical document: checked, mapped, control record filled."""
        path = self.settings.mappings.get(kind)
        if kind not in KINDS or path is None:
            takes = ", ".join(sorted(self.settings.mappings)) or "nothing (no mappings)"
            raise DocumentRejectedError(
                f"SAP endpoint {self.name} (sap_idoc) has no IDoc mapping for {kind}; it takes {takes}",
                **where,
            )
        if kind not in self._mappings:
            self._mappings[kind] = load_mapping(path)
        try:
            checked = to_json(from_json(kind, dict(document)))
        except ModelError as exc:
            raise DocumentRejectedError(f"not a valid {kind}: {exc}", **where) from None
        applied = self._mappings[kind].apply(checked)
        if applied.document is None or applied.findings:
            raise DocumentRejectedError(
                f"the IDoc mapping for {kind} cannot map it: " + "; ".join(str(f) for f in applied.findings),
                **where,
            )
        idoc = dict(applied.document)
        given = {k: v for k, v in dict(idoc.get("EDI_DC40") or {}).items() if v not in (None, "")}
        now = self.now()
        control = {
            **self.settings.control,
            "DIRECT": "2",
            "CREDAT": now.strftime("%Y%m%d"),
            "CRETIM": now.strftime("%H%M%S"),
            **given,
        }
        if not control.get("MESTYP") or not control.get("IDOCTYP"):
            raise DocumentRejectedError(
                f"the IDoc mapping for {kind} names no MESTYP and IDOCTYP in EDI_DC40", **where
            )
        idoc["EDI_DC40"] = control
        return idoc

    def _open(self) -> Session:
        if self._session is None:
            assert self.transport is not None
            self._context = self.transport.session()
            self._session = self._context.__enter__()
        return self._session

    def _close_session(self) -> None:
        context, self._context, self._session = self._context, None, None
        if context is not None:
            try:
                context.__exit__(None, None, None)
            except ErpBridgeError as exc:  # the session was broken already
                log.debug("closing the session of %s: %s", self.name, exc)


def _xml(idoc: dict[str, Any], docnum: int, kind: str, where: dict[str, Any]) -> bytes:
    """The IDoc XML of one IDoc tree with this DOCNUM, or what the writer refuses as our error."""
    written = write({"idocs": [idoc]}, docnums=[docnum])
    if written.data is None:
        problems = "; ".join(str(f) for f in written.errors[:20])
        raise DocumentRejectedError(
            f"the IDoc mapping for {kind} makes an IDoc SAP would refuse: {problems}", **where
        )
    return written.data


def _business_key(document: Mapping[str, Any]) -> str | None:
    for key in ("po_number", "shipment_id", "invoice_number", "order_number", "movement_id"):
        if isinstance(document.get(key), str) and document[key]:
            return str(document[key])[:128]
    return None


__all__ = ["SapIdocConnector", "SapIdocSettings"]
