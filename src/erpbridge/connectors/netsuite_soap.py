"""NetSuite over SuiteTalk SOAP web services, with zeep.

The WSDL (``netsuite.wsdl`` of a SuiteTalk version, its XSDs beside it) is loaded from a file or a
URL given in the settings; the operations erpbridge uses are ``upsert`` and ``upsertList`` (records
identified by their ``externalId``: an upsert never makes a second record), ``get``, ``search`` and
``searchMoreWithId`` (paging through a search's pages). Every request carries a fresh
``tokenPassport`` header (:func:`~erpbridge.connectors.netsuite_auth.token_passport`: token-based
authentication; SOAP endpoints since 2020.2 take no other) and takes a slot of the account's
concurrency gate shared with the REST connector.

- :meth:`NetSuiteSoapConnector.deliver`: a canonical PurchaseOrder becomes a ``SalesOrder``
  (mapping ``mappings/netsuite/purchase-order-to-soap-sales-order.yaml``), looked up by external ID
  first (``get``), then upserted.
- :meth:`~NetSuiteSoapConnector.upsert_list`: several records in one request; each gets its own
  result (NetSuite answers a ``writeResponse`` per record, in order).
- :meth:`~NetSuiteSoapConnector.fulfill`: an ``ItemFulfillment`` created from a sales order
  (``createdFrom``) with its lines and packages, upserted by external ID.
- :meth:`~NetSuiteSoapConnector.search_sales_orders`: a ``TransactionSearchBasic`` read page after
  page with ``searchMoreWithId``.

NetSuite's answers become erpbridge's errors here, and only here:

======================================================  ==========================================
SOAP fault ``invalidCredentialsFault`` /                :class:`~erpbridge.errors.AuthenticationError`
``invalidSessionFault``, or a code such as
INVALID_LOGIN_ATTEMPT
``exceededConcurrentRequestLimitFault``                 :class:`~erpbridge.errors.RemoteUnavailableError`
(WS_REQUEST_BLOCKED), ``exceededRequestLimitFault``     (transient; retried first with backoff)
(WS_CONCUR_SESSION_DISALLWD), ``unexpectedErrorFault``,
HTTP 429 / 5xx without a fault
a ``statusDetail`` with a concurrency code              :class:`~erpbridge.errors.RemoteUnavailableError`
any other ``statusDetail`` (validation: USER_ERROR,     :class:`~erpbridge.errors.RemoteRejectedError`
INVALID_KEY_OR_REF, ...) and other faults
timeout, connection refused                             :class:`~erpbridge.errors.TransportError`
======================================================  ==========================================

zeep is imported only in this module (import-linter); its request and response logging
(``zeep.transports`` at DEBUG, which would show the tokenPassport) is filtered out.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from zeep.transports import Transport

from ..errors import (
    AuthenticationError,
    ConfigError,
    ErpBridgeError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransformError,
    TransportError,
    concerning,
)
from ..mapping import Mapping as LoadedMapping
from ..mapping import load_mapping
from ..observability.signals import set_rate_limit_headroom
from .base import Delivered
from .netsuite_auth import TokenAuth, token_passport
from .netsuite_common import AUTH_CODES, TRANSIENT_CODES, AccountGate, external_id, order_key, rest_url

log = logging.getLogger(__name__)

_AUTH_FAULTS: Final = frozenset({"invalidCredentialsFault", "invalidSessionFault"})
_BUSY_FAULTS: Final = frozenset(
    {"exceededConcurrentRequestLimitFault", "exceededRequestLimitFault", "unexpectedErrorFault"}
)
_DATE_FIELDS: Final = frozenset({"tranDate", "shipDate", "createdDate", "lastModifiedDate"})


@dataclass(frozen=True, kw_only=True)
class NetSuiteSoapSettings:
    """How to reach one NetSuite account over SOAP. ``wsdl`` is a file or URL of SuiteTalk's
    ``netsuite.wsdl`` (its XSDs beside it); ``url`` defaults to the account's
    ``https://<account>.suitetalk.api.netsuite.com/services/NetSuitePort_<version>``. ``page_size``
    is the searchPreferences pageSize (5 to 1000)."""

    account: str
    auth: TokenAuth
    wsdl: str
    sales_order_mapping: Path
    name: str = "netsuite"
    url: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 180.0
    page_size: int = 100
    concurrency: int = 4
    max_attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    verify: bool | str = True

    def __post_init__(self) -> None:
        ctx = {"endpoint": self.name}
        if not isinstance(self.auth, TokenAuth):
            raise ConfigError(
                "NetSuite SOAP authenticates with token-based authentication (TokenAuth)", **ctx
            )
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"NetSuite SOAP url must be http(s)://..., not {self.url!r}", **ctx)
        if not 5 <= self.page_size <= 1000:
            raise ConfigError(f"NetSuite SOAP page_size is 5 to 1000, not {self.page_size}", **ctx)
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ConfigError("NetSuite concurrency and max_attempts must be 1 or more", **ctx)
        if not self.connect_timeout > 0 or not self.read_timeout > 0:
            raise ConfigError("NetSuite timeouts must be more than 0 seconds", **ctx)


@dataclass(frozen=True)
class WriteResult:
    """One record's result in an upsert or upsertList: its internal ID when NetSuite took it, or the
    error (NetSuite's ``statusDetail`` code and message) when it did not."""

    external_id: str
    internal_id: str | None
    error: ErpBridgeError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Detail:
    code: str | None
    message: str
    kind: str | None


class _NoEnvelopesInLogs(logging.Filter):
    """zeep logs whole envelopes at DEBUG: they hold the tokenPassport."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("HTTP Post to", "HTTP Response from", "Adding header"))


for _name in ("zeep.transports", "zeep.wsdl.bindings.soap"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _NoEnvelopesInLogs) for f in _logger.filters):
        _logger.addFilter(_NoEnvelopesInLogs())


def _plain(value: Any) -> Any:
    """zeep objects as plain dicts and lists."""
    return zeep.helpers.serialize_object(value, dict)  # type: ignore[no-untyped-call]


def _local(tag: Any) -> str:
    """The local name of an XML element's tag (``{namespace}name``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class NetSuiteSoapConnector:
    """One NetSuite account over SOAP (see the module). Use it in a ``with`` block, or call :meth:`close`."""

    def __init__(self, settings: NetSuiteSoapSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.sleep: Callable[[float], None] = time.sleep
        self._mapping: LoadedMapping = load_mapping(settings.sales_order_mapping)
        if not self._mapping.target.startswith("netsuite/soap/SalesOrder"):
            raise ConfigError(
                f"{self._mapping.file}: a NetSuite SOAP sales order mapping has target netsuite/soap/SalesOrder, "
                f"not {self._mapping.target!r}",
                endpoint=self.name,
            )
        self.gate = AccountGate.of(settings.account, settings.concurrency)
        self._session = requests.Session()
        self._session.verify = settings.verify
        self._session.headers["User-Agent"] = "erpbridge"
        transport = Transport(  # type: ignore[no-untyped-call]
            session=self._session, timeout=settings.connect_timeout, operation_timeout=settings.read_timeout
        )
        zeep_settings = zeep.Settings(
            forbid_dtd=True, forbid_entities=True, forbid_external=True, strict=False
        )
        try:
            self._client = zeep.Client(settings.wsdl, transport=transport, settings=zeep_settings)  # type: ignore[no-untyped-call]
        except (OSError, SyntaxError, requests.RequestException, zeep.exceptions.Error) as exc:
            raise ConfigError(
                f"cannot load the SuiteTalk WSDL {settings.wsdl}: {type(exc).__name__}: {exc}",
                endpoint=self.name,
            ) from None
        binding = next((b for b in self._client.wsdl.bindings if b.endswith("}NetSuiteBinding")), None)
        match = re.match(r"\{urn:platform_(\d{4}_\d)\.webservices\.netsuite\.com\}", binding or "")
        if binding is None or match is None:
            raise ConfigError(
                f"{settings.wsdl} is not a SuiteTalk WSDL (no NetSuiteBinding in urn:platform_<version>)",
                endpoint=self.name,
            )
        self.version = match.group(1)
        address = settings.url or f"{rest_url(settings.account)}/services/NetSuitePort_{self.version}"
        self._service = self._client.create_service(binding, address)  # type: ignore[no-untyped-call]

    def __enter__(self) -> NetSuiteSoapConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- types

    def _ns(self, kind: str) -> str:
        return {
            "core": f"urn:core_{self.version}.platform.webservices.netsuite.com",
            "common": f"urn:common_{self.version}.platform.webservices.netsuite.com",
            "sales": f"urn:sales_{self.version}.transactions.webservices.netsuite.com",
        }[kind]

    def _type(self, kind: str, name: str) -> Any:
        return self._client.get_type(f"{{{self._ns(kind)}}}{name}")  # type: ignore[no-untyped-call]

    def _record(self, record_type: str, external: str, fields: Mapping[str, Any]) -> Any:
        values = {k: _soap_value(k, v) for k, v in fields.items() if k not in ("externalId", "internalId")}
        try:
            return self._type("sales", record_type)(externalId=external, **values)
        except (TypeError, zeep.exceptions.Error) as exc:
            raise TransformError(
                f"{record_type} does not fit the SuiteTalk schema ({self.version}): {exc}",
                record_type=record_type,
            ) from None

    # -- calls

    _concerning = staticmethod(concerning)  # errors inside say what was being done

    def _call(self, operation: str, *, search: bool = False, **kwargs: Any) -> Any:
        """One SOAP operation with a fresh tokenPassport, inside the account gate, retried on
        concurrency faults."""
        settings = self.settings
        delay = settings.backoff
        for attempt in range(1, settings.max_attempts + 1):
            passport = token_passport(settings.auth, account=settings.account)
            headers: dict[str, Any] = {
                "tokenPassport": {
                    "account": passport.account,
                    "consumerKey": passport.consumer_key,
                    "token": passport.token,
                    "nonce": passport.nonce,
                    "timestamp": passport.timestamp,
                    "signature": {"_value_1": passport.signature, "algorithm": passport.algorithm},
                }
            }
            if search:
                headers["searchPreferences"] = {"bodyFieldsOnly": True, "pageSize": settings.page_size}
            try:
                with self.gate:
                    set_rate_limit_headroom(self.name, self.gate.headroom)
                    return getattr(self._service, operation)(**kwargs, _soapheaders=headers)
            except zeep.exceptions.Fault as fault:
                error = self._fault(fault, operation)
            except zeep.exceptions.TransportError as exc:
                error = self._http_error(exc, operation)
            except requests.Timeout:
                raise TransportError(
                    f"NetSuite did not answer {operation} within the timeouts (connect "
                    f"{settings.connect_timeout:g} s, read {settings.read_timeout:g} s)",
                    endpoint=self.name,
                ) from None
            except requests.exceptions.SSLError as exc:
                raise AuthenticationError(
                    f"the TLS certificate of NetSuite cannot be verified ({type(exc).__name__})",
                    endpoint=self.name,
                ) from None
            except requests.RequestException as exc:
                raise TransportError(
                    f"cannot reach NetSuite for {operation}: {type(exc).__name__}", endpoint=self.name
                ) from None
            except (zeep.exceptions.Error, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
                raise RemoteRejectedError(
                    f"NetSuite's answer to {operation} does not fit the WSDL ({type(exc).__name__}: {exc})",
                    endpoint=self.name,
                ) from None
            if not error.transient or attempt == settings.max_attempts:
                if error.transient:
                    error.message += f"; tried {attempt} time(s), erpbridge retries later"
                    error.args = (error.message,)
                raise error
            wait = min(settings.max_backoff, delay) * (0.5 + random.random() / 2)
            delay = min(settings.max_backoff, delay * 2)
            log.info(
                "NetSuite SOAP %s: %s; attempt %d in %.2f s", operation, error.message, attempt + 1, wait
            )
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _fault(self, fault: zeep.exceptions.Fault, operation: str) -> ErpBridgeError:
        name, code, message = None, None, str(fault.message or "")
        detail = fault.detail
        if detail is not None:
            for child in detail:
                local = _local(child.tag)
                if local.endswith("Fault"):
                    name = local
                    for part in child:
                        if _local(part.tag) == "code":
                            code = (part.text or "").strip() or None
                        elif _local(part.tag) == "message":
                            message = (part.text or "").strip() or message
        said = message + (f" [{code}]" if code else "")
        ctx: dict[str, Any] = {"endpoint": self.name, "operation": operation}
        if code:
            ctx["netsuite_code"] = code
        if name in _AUTH_FAULTS or (code in AUTH_CODES):
            return AuthenticationError(
                f"NetSuite refused the tokenPassport ({self.settings.auth.names()}): {said}. An expired or "
                "revoked token, a wrong account or consumer key: replace the token (Setup > Users/Roles > "
                "Access Tokens) and erpbridge resumes",
                **ctx,
            )
        if name in _BUSY_FAULTS or (code in TRANSIENT_CODES):
            return RemoteUnavailableError(
                f"NetSuite is busy ({name or 'SOAP fault'}): {said}",
                remote_code=code,
                remote_message=message,
                **ctx,
            )
        return RemoteRejectedError(
            f"NetSuite refused {operation} ({name or fault.code or 'SOAP fault'}): {said}",
            remote_code=code,
            remote_message=message,
            **ctx,
        )

    def _http_error(self, exc: zeep.exceptions.TransportError, operation: str) -> ErpBridgeError:
        status = int(exc.status_code or 0)
        ctx: dict[str, Any] = {"endpoint": self.name, "operation": operation}
        if status in (401, 403):
            return AuthenticationError(f"NetSuite refused {operation} with HTTP {status}", **ctx)
        if status == 429 or status >= 500:
            return RemoteUnavailableError(f"NetSuite is unavailable (HTTP {status})", status=status, **ctx)
        return RemoteRejectedError(f"NetSuite refused {operation} (HTTP {status})", status=status, **ctx)

    def _status_error(self, status: Any, what: str, **context: Any) -> ErpBridgeError | None:
        """None for a successful status; else the error its statusDetail codes say."""
        plain = _plain(status) or {}
        if plain.get("isSuccess"):
            return None
        details = [
            _Detail(d.get("code"), str(d.get("message") or "").strip(), d.get("type"))
            for d in plain.get("statusDetail") or []
        ]
        errors = [d for d in details if d.kind in (None, "ERROR")] or details
        first = errors[0] if errors else _Detail(None, "no status detail", None)
        said = first.message + (f" [{first.code}]" if first.code else "")
        if len(errors) > 1:
            said += "; also: " + "; ".join(d.message + (f" [{d.code}]" if d.code else "") for d in errors[1:])
        ctx: dict[str, Any] = {"endpoint": self.name, **{k: v for k, v in context.items() if v is not None}}
        if first.code:
            ctx["netsuite_code"] = first.code
        also = [d.message for d in errors[1:]]
        if first.code in TRANSIENT_CODES:
            return RemoteUnavailableError(
                f"NetSuite could not take {what} now: {said}",
                remote_code=first.code,
                remote_message=first.message,
                details=also,
                **ctx,
            )
        if first.code in AUTH_CODES:
            return AuthenticationError(f"NetSuite refused {what}: {said}", **ctx)
        return RemoteRejectedError(
            f"NetSuite refused {what}: {said}",
            remote_code=first.code,
            remote_message=first.message,
            details=also,
            **ctx,
        )

    # -- operations

    def get(
        self, record_type: str, *, internal: str | None = None, external: str | None = None
    ) -> dict[str, Any] | None:
        """A record by internal or external ID (``get``), as a plain dict; None when there is none."""
        ref = self._type("core", "RecordRef")(type=record_type, internalId=internal, externalId=external)
        answer = self._call("get", baseRef=ref)
        read = _plain(answer)
        status = read.get("status") or {}
        if not status.get("isSuccess"):
            codes = {d.get("code") for d in status.get("statusDetail") or []}
            if codes & {"RCRD_DSNT_EXIST", "INVALID_KEY_OR_REF"}:
                return None
            error = self._status_error(answer.status, f"get {record_type}", external_id=external)
            assert error is not None
            raise error
        record = read.get("record")
        return dict(record) if isinstance(record, Mapping) else None

    def upsert(self, record_type: str, external: str, fields: Mapping[str, Any]) -> WriteResult:
        """One record by external ID; a refused record raises its error."""
        answer = self._call("upsert", record=self._record(record_type, external, fields))
        result = self._write_result(answer, external, record_type)
        if result.error is not None:
            raise result.error
        return result

    def upsert_list(self, records: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[WriteResult]:
        """Several records (record type, external ID, fields) in one ``upsertList``; the results come
        back in the same order, each with its own error (a bad record does not stop the others)."""
        built = [self._record(t, e, f) for t, e, f in records]
        answer = self._call("upsertList", record=built)
        responses = list(answer.writeResponse or [])
        if len(responses) != len(records):
            raise RemoteRejectedError(
                f"NetSuite answered {len(responses)} results for {len(records)} records", endpoint=self.name
            )
        return [self._write_result(r, e, t) for r, (t, e, _) in zip(responses, records, strict=True)]

    def _write_result(self, response: Any, external: str, record_type: str) -> WriteResult:
        error = self._status_error(response.status, f"{record_type} {external}", external_id=external)
        ref = _plain(response.baseRef) or {}
        return WriteResult(external, ref.get("internalId") if error is None else None, error)

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """The pipeline's :class:`~erpbridge.connectors.base.Connector` call: a canonical PurchaseOrder
        becomes a NetSuite SalesOrder, once; ``reference`` is its internal ID."""
        kind = document.get("kind")
        if kind != "PurchaseOrder":
            raise ConfigError(
                f"NetSuite endpoint {self.name} (netsuite_soap) takes PurchaseOrder documents, not {kind}",
                endpoint=self.name,
                key=key,
            )
        po = str(document.get("po_number") or "")
        meta = document.get("meta")
        partner = meta.get("partner_id") if isinstance(meta, Mapping) else None
        external = external_id(order_key(key))
        with self._concerning(
            f"creating the NetSuite sales order for PO {po}",
            po_number=po,
            partner=partner,
            external_id=external,
        ):
            existing = self.get("salesOrder", external=external)
            if existing is not None:
                log.info(
                    "NetSuite has sales order %s (%s) already: not changing it",
                    existing.get("internalId"),
                    external,
                )
                return Delivered(
                    str(existing.get("internalId")), created=False, detail={"external_id": external}
                )
            applied = self._mapping.apply(dict(document))
            if applied.document is None or applied.findings:
                raise TransformError(
                    "the mapping cannot make the sales order: "
                    + "; ".join(str(f) for f in applied.findings)
                    + " (fix the document or the mapping's tables, then replay)"
                )
            done = self.upsert("SalesOrder", external, applied.document)
            log.info("created NetSuite sales order %s (%s) for PO %s", done.internal_id, external, po)
            return Delivered(
                str(done.internal_id), created=True, detail={"external_id": external, "po_number": po}
            )

    def fulfill(
        self,
        sales_order: str,
        *,
        external: str,
        lines: Sequence[tuple[int, Decimal]] = (),
        packages: Sequence[tuple[str, Decimal | None]] = (),
        ship_status: str = "_shipped",
    ) -> WriteResult:
        """An ItemFulfillment from sales order ``sales_order`` (internal ID), by external ID: lines as
        (order line, quantity), packages as (tracking number, weight)."""
        fields: dict[str, Any] = {
            "createdFrom": {"internalId": sales_order, "type": "salesOrder"},
            "shipStatus": ship_status,
        }
        if lines:
            fields["itemList"] = {
                "item": [{"orderLine": n, "quantity": float(q), "itemReceive": True} for n, q in lines]
            }
        if packages:
            fields["packageList"] = {
                "package": [
                    {"packageTrackingNumber": t, **({"packageWeight": float(w)} if w is not None else {})}
                    for t, w in packages
                ]
            }
        with self._concerning(
            f"fulfilling NetSuite sales order {sales_order}", sales_order=sales_order, external_id=external
        ):
            return self.upsert("ItemFulfillment", external, fields)

    def search_sales_orders(
        self, *, po_number: str | None = None, external_prefix: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Sales orders (``TransactionSearchBasic``, type ``_salesOrder``), page after page
        (``search``, then ``searchMoreWithId`` with the search's ID until the last page)."""
        fields: dict[str, Any] = {"type": {"operator": "anyOf", "searchValue": ["_salesOrder"]}}
        if po_number is not None:
            fields["otherRefNum"] = {"operator": "is", "searchValue": po_number}
        if external_prefix is not None:
            fields["externalIdString"] = {"operator": "startsWith", "searchValue": external_prefix}
        search = self._type("common", "TransactionSearchBasic")(**fields)
        with self._concerning("searching NetSuite sales orders", po_number=po_number):
            result = self._call("search", search=True, searchRecord=search)
            while True:
                error = self._status_error(result.status, "the search")
                if error is not None:
                    raise error
                records = _plain(result.recordList) or {}
                for record in records.get("record") or []:
                    yield dict(record)
                page, pages = int(result.pageIndex or 1), int(result.totalPages or 1)
                if page >= pages or not result.searchId:
                    return
                result = self._call(
                    "searchMoreWithId", search=True, searchId=result.searchId, pageIndex=page + 1
                )


def _soap_value(name: str, value: Any) -> Any:
    """Mapped JSON as zeep takes it: ISO dates for dateTime fields become datetimes."""
    if name in _DATE_FIELDS and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise TransformError(f"{name}: {value!r} is not an ISO date", field=name) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, Mapping):
        return {k: _soap_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_soap_value(name, v) for v in value]
    return value


__all__ = ["NetSuiteSoapConnector", "NetSuiteSoapSettings", "WriteResult"]
