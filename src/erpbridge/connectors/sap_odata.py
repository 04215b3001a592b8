"""SAP S/4HANA over its OData V2 A2X APIs, with pyodata: sales orders, outbound deliveries, stock.

- ``API_SALES_ORDER_SRV``: :meth:`SapODataConnector.create_sales_order` makes a sales order from a
  canonical :class:`~erpbridge.model.PurchaseOrder` in one deep insert (header and ``to_Item``), the
  fields coming from a declarative mapping (``mappings/sap/purchase-order-to-sales-order.yaml``).
  It first looks the order up by ``PurchaseOrderByCustomer`` and ``SoldToParty``, so a retry (after a
  timeout, a crash, a replay) never creates a second order. :meth:`~SapODataConnector.deliver` is the
  same for the pipeline (:mod:`erpbridge.connectors.base`);
  :meth:`~SapODataConnector.sales_order_status` reads the order back for reconciliation.
- ``API_OUTBOUND_DELIVERY_SRV;v=0002``: :meth:`~SapODataConnector.deliveries_to_pick` (with items,
  page by page; :meth:`~SapODataConnector.work_records` gives them to an inbound flow as
  :func:`delivery_record` JSON), :meth:`~SapODataConnector.report_picked_quantity` (an update sent
  with the item's ETag in ``If-Match``; several items in one ``$batch``), and the function imports,
  each with the header's ETag: ``PostGoodsIssue`` (:meth:`~SapODataConnector.post_goods_issue`),
  ``PickAllItems`` (:meth:`~SapODataConnector.pick_all_items`) and ``ReverseGoodsIssue``
  (:meth:`~SapODataConnector.reverse_goods_issue`, the operator's remedy).
  :meth:`~SapODataConnector.confirm_picking` (the pipeline's ``deliver`` of a ShipNotice) is the
  warehouse's confirmation: the picked quantities, then goods issue, idempotently on SAP's statuses.
- ``API_MATERIAL_STOCK_SRV``: :meth:`~SapODataConnector.stock`, per material and plant, over all
  pages.

HTTP is one ``requests.Session`` (SAP's session cookies are kept), handed to pyodata as its
connection: every request gets the credentials (basic, or an OAuth 2.0 client-credentials bearer
token), ``sap-client`` and timeouts. Modifying requests carry the CSRF token, fetched when first needed
and fetched again when SAP answers 403 with ``x-csrf-token: Required`` (the request is then sent once
more). SAP's answers become erpbridge's errors here, and only here:

=======================================  ===================================================
timeout, connection refused or dropped   :class:`~erpbridge.errors.TransportError` (transient)
HTTP 5xx, 429                            :class:`~erpbridge.errors.RemoteUnavailableError`
                                         (transient; ``retry_after`` from Retry-After)
HTTP 401, 403; TLS certificate refused   :class:`~erpbridge.errors.AuthenticationError`
HTTP 412 (stale ETag)                    :class:`~erpbridge.errors.RemoteConflictError`
other HTTP 4xx (SAP's business errors)   :class:`~erpbridge.errors.RemoteRejectedError`
=======================================  ===================================================

Each keeps SAP's ``error.code``, ``error.message.value`` and ``innererror.errordetails`` and names what
it concerns (PO, sales order, delivery, item, plant). Secrets (password, client secret, bearer and
CSRF tokens, cookies) are never logged nor put in a message. pyodata and requests are imported only
in this module (an import-linter contract). Configuration and SAP-side setup: docs/sap.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import pyodata
import requests
from pyodata.exceptions import PyODataException
from pyodata.v2.model import Config as _PyODataConfig

from ..errors import (
    AuthenticationError,
    ConfigError,
    ErpBridgeError,
    MappingError,
    RemoteConflictError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransformError,
    TransportError,
    concerning,
)
from ..mapping import Mapping as LoadedMapping
from ..mapping import load_mapping
from ..model import PurchaseOrder, to_json
from ..observability.signals import set_rate_limit_headroom
from ..transports.base import Credential
from ._http import connection_reason, rate_limit_headroom, retry_after_seconds
from .base import Delivered

log = logging.getLogger(__name__)

SALES_ORDER_SERVICE: Final = "/sap/opu/odata/sap/API_SALES_ORDER_SRV"
DELIVERY_SERVICE: Final = "/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0002"
STOCK_SERVICE: Final = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV"

_MODIFYING: Final = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
_STOCK_KEYS: Final = (
    "Material",
    "Plant",
    "StorageLocation",
    "Batch",
    "Supplier",
    "Customer",
    "WBSElementInternalID",
    "SDDocument",
    "SDDocumentItem",
    "InventorySpecialStockType",
    "InventoryStockType",
)
_MATERIALS_PER_QUERY: Final = 40  # keeps a $filter of "Material eq ..." well inside URL limits


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BasicAuth:
    """SAP's communication user and its password (a secret reference: ``env:...`` or ``file:...``)."""

    user: str
    password: Credential


@dataclass(frozen=True, kw_only=True)
class OAuthClientCredentials:
    """OAuth 2.0 client credentials: a bearer token from ``token_url`` (SAP: ``/sap/bc/sec/oauth2/token``)."""

    token_url: str
    client_id: str
    client_secret: Credential
    scope: str | None = None


@dataclass(frozen=True, kw_only=True)
class SapODataSettings:
    """How to reach one S/4HANA system. Timeouts are in seconds.

    ``url`` is the system's API host (``https://my123456-api.s4hana.ondemand.com`` for S/4HANA Cloud,
    the Gateway host for on-premise), ``client`` the ``sap-client`` (three digits) or None for the
    system's default. ``verify`` is True, False (never in production) or a CA bundle file.
    ``page_size`` is ``$top`` for reads that go page by page. The service paths can be changed for a
    system that exposes another version of a service.
    """

    url: str
    auth: BasicAuth | OAuthClientCredentials
    sales_order_mapping: Path
    name: str = "sap"
    client: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    page_size: int = 500
    verify: bool | str = True
    sales_order_service: str = SALES_ORDER_SERVICE
    delivery_service: str = DELIVERY_SERVICE
    stock_service: str = STOCK_SERVICE

    def __post_init__(self) -> None:
        ctx = {"endpoint": self.name}
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"SAP url must be http(s)://host[:port], not {self.url!r}", **ctx)
        if parts.path.strip("/") or parts.query:
            raise ConfigError(
                f"SAP url is the host only ({parts.scheme}://{parts.netloc}); the service paths are "
                f"added by erpbridge, so drop {parts.path}{'?' + parts.query if parts.query else ''}",
                **ctx,
            )
        if self.client is not None and not re.fullmatch(r"\d{3}", self.client):
            raise ConfigError(f"SAP client must be three digits (sap-client), not {self.client!r}", **ctx)
        if not self.connect_timeout > 0 or not self.read_timeout > 0:
            raise ConfigError("SAP timeouts must be more than 0 seconds", **ctx)
        if not 1 <= self.page_size <= 5000:
            raise ConfigError(f"SAP page_size must be 1 to 5000, not {self.page_size}", **ctx)
        if isinstance(self.auth, BasicAuth) and not self.auth.user:
            raise ConfigError("SAP basic auth needs a user (the communication user)", **ctx)
        if isinstance(self.auth, OAuthClientCredentials):
            token = urlsplit(self.auth.token_url)
            if token.scheme not in ("http", "https") or not token.hostname or not self.auth.client_id:
                raise ConfigError("SAP OAuth needs a token_url (http(s)://...) and a client_id", **ctx)
        for service in (self.sales_order_service, self.delivery_service, self.stock_service):
            if not service.startswith("/"):
                raise ConfigError(f"SAP service path must start with '/', not {service!r}", **ctx)

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")


# -- what the connector returns ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SalesOrderItemStatus:
    """One item of a sales order as SAP holds it (A_SalesOrderItem)."""

    item: str
    material: str
    quantity: Decimal | None
    unit: str
    po_item: str | None
    process_status: str  # SDProcessStatus: A open, B in process, C completed
    delivery_status: str  # DeliveryStatus: A not delivered, B partly, C completely
    net_amount: Decimal | None


@dataclass(frozen=True, kw_only=True)
class SalesOrderStatus:
    """A sales order found by the customer's PO number, for reconciliation (A_SalesOrder)."""

    sales_order: str
    po_number: str
    sold_to: str
    overall_status: str  # OverallSDProcessStatus: A open, B in process, C completed
    delivery_status: str  # OverallTotalDeliveryStatus
    rejection_status: str  # OverallSDDocumentRejectionSts
    net_amount: Decimal | None
    currency: str
    items: tuple[SalesOrderItemStatus, ...]
    others: tuple[str, ...] = ()  # further sales orders with the same PO number (should be none)


@dataclass(frozen=True, kw_only=True)
class DeliveryItem:
    """One item of an outbound delivery. ``etag`` is what an update of it must send in If-Match."""

    item: str
    material: str
    description: str
    quantity: Decimal | None  # ActualDeliveryQuantity
    ordered_quantity: Decimal | None  # OriginalDeliveryQuantity
    unit: str
    plant: str
    storage_location: str
    batch: str
    sales_order: str
    sales_order_item: str
    picking_status: str
    etag: str | None


@dataclass(frozen=True, kw_only=True)
class OutboundDelivery:
    """An outbound delivery to pick (A_OutbDeliveryHeader with to_DeliveryDocumentItem)."""

    delivery: str
    delivery_type: str
    shipping_point: str
    sold_to: str
    ship_to: str
    delivery_date: dt.date | None
    planned_goods_issue_date: dt.date | None
    picking_status: str  # OverallPickingStatus: A not picked, B partly, C completely
    goods_movement_status: str  # OverallGoodsMovementStatus: A not yet, C posted
    etag: str | None
    items: tuple[DeliveryItem, ...]


@dataclass(frozen=True, kw_only=True)
class GoodsIssue:
    """The result of posting goods issue for a delivery."""

    delivery: str
    posted_on: dt.date | None
    already_posted: bool  # True when SAP had it posted before (a retry): nothing was changed


@dataclass(frozen=True, kw_only=True)
class PickConfirmation:
    """What :meth:`SapODataConnector.confirm_picking` did with a warehouse's confirmation of a delivery."""

    delivery: str
    picked: Mapping[str, Decimal]  # item -> the picked quantity SAP now holds
    reported: str  # "PickAllItems", "$batch", "PATCH", or "" (SAP had these quantities already)
    goods_issue: GoodsIssue


@dataclass(frozen=True, kw_only=True)
class GoodsIssueReversal:
    """The result of reversing a delivery's goods issue (:meth:`SapODataConnector.reverse_goods_issue`)."""

    delivery: str
    reversed_on: dt.date | None  # the posting date of the reversal; None when nothing was reversed
    reversed: bool  # False: SAP showed no goods issue posted, so nothing was changed


@dataclass(frozen=True, kw_only=True)
class StockLevel:
    """Stock of one material in one plant, summed over storage locations, batches and special stock,
    by SAP's stock type (``01`` unrestricted-use, ``02`` quality inspection, ``07`` blocked, ...)."""

    material: str
    plant: str
    unit: str
    by_stock_type: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def unrestricted(self) -> Decimal:
        return self.by_stock_type.get("01", Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum(self.by_stock_type.values(), Decimal(0))


# -- SAP's error answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class _SapError:
    code: str | None
    message: str
    details: tuple[str, ...]


_XML_CODE = re.compile(r"<(?:\w+:)?code>([^<]*)</(?:\w+:)?code>")
_XML_MESSAGE = re.compile(r"<(?:\w+:)?message[^>]*>([^<]*)</(?:\w+:)?message>")
_TAGS = re.compile(r"<[^>]+>")


def _sap_error(response: requests.Response) -> _SapError:
    """SAP Gateway's error body (JSON ``error.code`` / ``error.message.value`` /
    ``innererror.errordetails``, or its XML form), or the start of whatever else came back."""
    text = response.text or ""
    try:
        body = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "") or None
        message = error.get("message")
        value = str(message.get("value") if isinstance(message, dict) else message or "").strip()
        details: list[str] = []
        inner = error.get("innererror")
        raw = inner.get("errordetails") if isinstance(inner, dict) else None
        for detail in raw if isinstance(raw, list) else []:
            if not isinstance(detail, dict):
                continue
            d_code, d_text = str(detail.get("code") or ""), str(detail.get("message") or "").strip()
            if not d_text or (d_text == value and (d_code or None) == code):
                continue
            severity = str(detail.get("severity") or "")
            prefix = f"{severity}: " if severity and severity != "error" else ""
            details.append(f"{prefix}{d_text}" + (f" [{d_code}]" if d_code else ""))
        return _SapError(code, value or response.reason or "no message", tuple(details))
    if "<" in text and _XML_MESSAGE.search(text):
        code_match, message_match = _XML_CODE.search(text), _XML_MESSAGE.search(text)
        return _SapError(
            code_match.group(1).strip() or None if code_match else None,
            message_match.group(1).strip() if message_match else "",
            (),
        )
    plain = " ".join(_TAGS.sub(" ", text).split())
    return _SapError(None, plain[:300] or response.reason or "no message", ())


def _csrf_required(response: requests.Response) -> bool:
    return response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required"


# -- HTTP: the connection pyodata uses -----------------------------------------------------------


class _SapHttp:
    """What pyodata calls its connection (``request`` and ``get``, as on a ``requests.Session``):
    credentials, ``sap-client``, timeouts, the CSRF token and SAP's errors."""

    def __init__(self, settings: SapODataSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.verify = settings.verify
        self.session.headers["User-Agent"] = "erpbridge"
        self._csrf: str | None = None
        self._bearer: str | None = None
        self._bearer_until = 0.0
        self._services = sorted(
            (settings.sales_order_service, settings.delivery_service, settings.stock_service),
            key=len,
            reverse=True,
        )

    def close(self) -> None:
        self.session.close()
        self.session.cookies.clear()
        self._csrf = None

    # pyodata's interface

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        data: Any = None,
        **_: Any,
    ) -> requests.Response:
        method = method.upper()
        url = self._with_client(url)
        service = self._service_of(url)
        response = self._send(method, url, dict(headers or {}), params, data, service)
        if method in _MODIFYING and _csrf_required(response):
            log.info(
                "SAP asked for a new CSRF token (%s %s): fetching one and sending again", method, service
            )
            self._csrf = None
            response = self._send(method, url, dict(headers or {}), params, data, service)
            if _csrf_required(response):
                raise AuthenticationError(
                    "SAP refused a freshly fetched CSRF token: the session cookie is not reaching the same "
                    "SAP server (check for a proxy or load balancer without session affinity)",
                    endpoint=self.settings.name,
                    service=service,
                )
        if (
            response.status_code == 401
            and isinstance(self.settings.auth, OAuthClientCredentials)
            and self._bearer
        ):
            self._bearer = None  # the token may have been revoked early: one more try with a new one
            response = self._send(method, url, dict(headers or {}), params, data, service)
        if response.status_code >= 400:
            raise self._error(response, method, service)
        return response

    # the parts

    def _with_client(self, url: str) -> str:
        if self.settings.client is None or "sap-client=" in url:
            return url
        return f"{url}{'&' if '?' in url else '?'}sap-client={self.settings.client}"

    def _service_of(self, url: str) -> str:
        path = urlsplit(url).path
        for service in self._services:
            if path.startswith(service):
                return service
        return path

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Any,
        data: Any,
        service: str,
    ) -> requests.Response:
        if method in _MODIFYING:
            if self._csrf is None:
                self._csrf = self._fetch_csrf(service)
            if self._csrf:
                headers["x-csrf-token"] = self._csrf
        return self._http(method, url, headers=headers, params=params, data=data, service=service)

    def _http(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        service: str,
        params: Any = None,
        data: Any = None,
        authorize: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        settings = self.settings
        if authorize:
            if isinstance(settings.auth, BasicAuth):
                auth = (settings.auth.user, settings.auth.password.reveal())
            else:
                headers["Authorization"] = f"Bearer {self._bearer_token()}"
        where = {"endpoint": settings.name, "service": service}
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                auth=auth,
                timeout=(settings.connect_timeout, settings.read_timeout),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise AuthenticationError(
                f"the TLS certificate of {urlsplit(url).hostname} cannot be verified ({type(exc).__name__}): "
                "set verify to the CA bundle that signs it",
                **where,
            ) from None
        except requests.Timeout:
            raise TransportError(
                f"SAP did not answer {method} {urlsplit(url).path} within the timeouts "
                f"(connect {settings.connect_timeout:g} s, read {settings.read_timeout:g} s)",
                **where,
            ) from None
        except requests.ConnectionError as exc:
            raise TransportError(
                f"cannot reach SAP at {urlsplit(url).netloc}: {connection_reason(exc)}",
                **where,
            ) from None
        except requests.RequestException as exc:
            raise TransportError(f"HTTP to SAP failed: {type(exc).__name__}", **where) from None
        log.debug(
            "SAP %s %s -> %d in %.0f ms",
            method,
            urlsplit(response.url).path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        headroom = rate_limit_headroom(response.status_code, response.headers)
        if headroom is not None:  # SAP sends rate-limit headers only behind API Management
            set_rate_limit_headroom(settings.name, headroom)
        if 300 <= response.status_code < 400:
            raise AuthenticationError(
                f"SAP answered {method} {urlsplit(url).path} with a redirect (HTTP {response.status_code}) "
                "to a logon page or another host: check the url and the authentication method",
                **where,
            )
        return response

    def part_error(self, part: Any, method: str, service: str) -> ErpBridgeError:
        """SAP's answer to one part of a ``$batch`` (pyodata's parsed response) as erpbridge's error,
        the same as for a request of its own."""
        response = requests.Response()
        response.status_code = int(getattr(part, "status_code", 500) or 500)
        response.headers = requests.structures.CaseInsensitiveDict(getattr(part, "headers", None) or {})
        content = getattr(part, "content", b"") or b""
        response._content = content if isinstance(content, bytes) else str(content).encode()
        response.encoding = "utf-8"
        return self._error(response, method, service)

    def _fetch_csrf(self, service: str) -> str:
        url = self._with_client(f"{self.settings.base_url}{service}/")
        response = self._http("GET", url, headers={"x-csrf-token": "Fetch"}, service=service)
        if response.status_code >= 400:
            raise self._error(response, "GET", service)
        token = response.headers.get("x-csrf-token", "")
        if not token:
            log.warning("SAP sent no CSRF token for %s: modifying requests go without one", service)
        return token

    def _bearer_token(self) -> str:
        if self._bearer and time.monotonic() < self._bearer_until:
            return self._bearer
        oauth = self.settings.auth
        assert isinstance(oauth, OAuthClientCredentials)
        form = {"grant_type": "client_credentials"}
        if oauth.scope:
            form["scope"] = oauth.scope
        response = self._http(
            "POST",
            oauth.token_url,
            headers={"Accept": "application/json"},
            data=form,
            service="oauth token",
            authorize=False,
            auth=(oauth.client_id, oauth.client_secret.reveal()),
        )
        ctx = {"endpoint": self.settings.name, "oauth_client": oauth.client_id}
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"the OAuth server refused client {oauth.client_id} (HTTP {response.status_code}, "
                f"{_sap_error(response).message}): check the client ID and its secret "
                f"({oauth.client_secret.name}) in the communication arrangement",
                **ctx,
            )
        if response.status_code >= 400:
            raise self._error(response, "POST", "oauth token")
        try:
            answer = response.json()
            token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError(
                "the OAuth server's answer has no access_token: check token_url", **ctx
            ) from None
        self._bearer, self._bearer_until = token, time.monotonic() + max(0.0, lifetime - 60)
        return token

    def _error(self, response: requests.Response, method: str, service: str) -> ErpBridgeError:
        status = response.status_code
        sap = _sap_error(response)
        name = service.rsplit("/", 1)[-1]
        said = f"{sap.message}" + (f" [{sap.code}]" if sap.code else "")
        if sap.details:
            said += "; also: " + "; ".join(sap.details)
        ctx: dict[str, Any] = {"endpoint": self.settings.name, "service": name}
        if sap.code:
            ctx["sap_code"] = sap.code
        if status == 401:
            who = (
                f"user {self.settings.auth.user} ({self.settings.auth.password.name})"
                if isinstance(self.settings.auth, BasicAuth)
                else f"OAuth client {self.settings.auth.client_id}"
            )
            return AuthenticationError(
                f"SAP refused the credentials of {who} (HTTP 401): check the communication user and its "
                "password in SAP's communication arrangement and in erpbridge's secret",
                **ctx,
            )
        if status == 403:
            return AuthenticationError(
                f"SAP refused {method} on {name} (HTTP 403): {said}: the communication user needs the "
                f"communication arrangement that includes {name} (docs/sap.md)",
                **ctx,
            )
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return RemoteUnavailableError(
                f"SAP is unavailable (HTTP {status}): {said}; erpbridge retries later"
                + (f" (SAP asked to wait {wait:g} s)" if wait is not None else ""),
                retry_after=wait,
                status=status,
                remote_code=sap.code,
                remote_message=sap.message,
                details=sap.details,
                **ctx,
            )
        if status == 412:
            return RemoteConflictError(
                f"SAP refused the change (HTTP 412): {said}: the record changed in SAP after erpbridge "
                "read it; read it again and send the change anew",
                status=status,
                remote_code=sap.code,
                remote_message=sap.message,
                details=sap.details,
                **ctx,
            )
        return RemoteRejectedError(
            f"SAP refused it (HTTP {status}): {said}",
            status=status,
            remote_code=sap.code,
            remote_message=sap.message,
            details=sap.details,
            **ctx,
        )


class _NoHeadersInLogs(logging.Filter):
    """pyodata logs request and response headers at DEBUG; they hold CSRF tokens and session cookies."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return "headers" not in text and "Retrieved the response" not in text


for _name in ("pyodata.service", "pyodata.client"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _NoHeadersInLogs) for f in _logger.filters):
        _logger.addFilter(_NoHeadersInLogs())


# -- values ---------------------------------------------------------------------------------------


def _literal(value: str) -> str:
    """An OData string literal: quoted, single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _order_number_key(number: str) -> tuple[int, str]:
    return (int(number), number) if number.isdigit() else (1 << 62, number)


def _to_edm(entity_type: Any, record: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A mapped record (JSON values) as the Python values pyodata serializes: ISO dates become
    datetimes, decimals strings, navigation properties lists of records of their type."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        try:
            prop = entity_type.proprty(key)
        except KeyError:
            try:
                nav = entity_type.nav_proprty(key)
            except KeyError:
                raise TransformError(
                    f"{where}: {entity_type.name} has no property {key!r}", field=key
                ) from None
            items = value if isinstance(value, list) else [value]
            target = nav.to_role.entity_type
            out[key] = [_to_edm(target, item, f"{where}.{key}[{n}]") for n, item in enumerate(items)]
            continue
        edm = prop.typ.name
        if value is None:
            out[key] = None
        elif edm in ("Edm.DateTime", "Edm.DateTimeOffset"):
            try:
                parsed = dt.datetime.fromisoformat(str(value))
            except ValueError:
                raise TransformError(f"{where}.{key}: {value!r} is not an ISO date", field=key) from None
            out[key] = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
        elif edm == "Edm.Decimal":
            if _decimal(value) is None:
                raise TransformError(f"{where}.{key}: {value!r} is not a decimal number", field=key)
            out[key] = str(value)
        elif edm in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"):
            out[key] = int(value)
        elif edm == "Edm.Boolean":
            out[key] = value if isinstance(value, bool) else str(value).lower() == "true"
        else:
            out[key] = str(value)
    return out


# -- the connector --------------------------------------------------------------------------------


class SapODataConnector:
    """One S/4HANA system over OData (see the module). Use it in a ``with`` block, or call :meth:`close`."""

    def __init__(self, settings: SapODataSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._http = _SapHttp(settings)
        self._services: dict[str, Any] = {}
        self._mapping: LoadedMapping = load_mapping(settings.sales_order_mapping)
        if not self._mapping.target.startswith("sap/A_SalesOrder"):
            raise ConfigError(
                f"{self._mapping.file}: a sales order mapping has target sap/A_SalesOrder, not {self._mapping.target!r}",
                endpoint=self.name,
            )
        self._mapping_checked = False

    def __enter__(self) -> SapODataConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ends the HTTP session (cookies and CSRF token); the connector may be used again."""
        self._http.close()

    # -- plumbing

    @contextmanager
    def _concerning(self, action: str, **context: Any) -> Iterator[None]:
        """Errors inside say what was being done and what it concerns; pyodata's become ours."""
        with concerning(action, **context):
            try:
                yield
            except PyODataException as exc:  # pyodata's own checks of a request or of SAP's answer
                raise RemoteRejectedError(
                    f"{action}: the request or SAP's answer does not fit the service's $metadata "
                    f"({type(exc).__name__}: {exc})",
                    endpoint=self.name,
                    **{k: v for k, v in context.items() if v is not None},
                ) from None

    def _service(self, path: str) -> Any:
        if path not in self._services:
            with self._concerning(f"reading the $metadata of {path.rsplit('/', 1)[-1]}"):
                self._services[path] = pyodata.Client(
                    f"{self.settings.base_url}{path}",
                    self._http,
                    config=_PyODataConfig(retain_null=True),
                )
        return self._services[path]

    def _pages(self, service: str, query: Callable[[], Any]) -> Iterator[Any]:
        """Every entity of a query, ``page_size`` at a time ($top/$skip), or following SAP's ``__next``
        (absolute, or relative to the service) when SAP pages on its own."""
        size, skip, next_url = self.settings.page_size, 0, None
        while True:
            request = query()
            request = request.next_url(next_url) if next_url else request.top(size).skip(skip)
            page = request.execute()
            yield from page
            if page.next_url:
                next_url = urljoin(f"{self.settings.base_url}{service}/", page.next_url)
                continue
            if len(page) < size:
                return
            skip += len(page)

    # -- API_SALES_ORDER_SRV

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """The pipeline's :class:`~erpbridge.connectors.base.Connector` call: a canonical PurchaseOrder
        (JSON) becomes a sales order, once (``reference`` the sales order number); a ShipNotice
        naming SAP's delivery (a reference of kind ``delivery``, its items numbered by the delivery's
        items) confirms that delivery's picking and posts its goods issue, once (:meth:`confirm_picking`;
        ``reference`` the delivery number)."""
        kind = document.get("kind")
        if kind == "ShipNotice":
            number, picked, units = picked_quantities(document)
            done = self.confirm_picking(number, picked, units=units)
            return Delivered(
                number,
                created=not done.goods_issue.already_posted,
                detail={
                    "delivery": number,
                    "picked": {n: str(q) for n, q in done.picked.items()},
                    "reported": done.reported,
                    "goods_issue_date": done.goods_issue.posted_on.isoformat()
                    if done.goods_issue.posted_on
                    else None,
                    "already_posted": done.goods_issue.already_posted,
                },
            )
        if kind != "PurchaseOrder":
            raise ConfigError(
                f"SAP endpoint {self.name} (sap_odata) takes PurchaseOrder and ShipNotice documents, not "
                f"{kind}: route this flow to another endpoint",
                endpoint=self.name,
                key=key,
            )
        number, created, record = self._sales_order(document)
        return Delivered(
            number,
            created=created,
            detail={"sold_to": record.get("SoldToParty"), "po_number": document.get("po_number")},
        )

    def create_sales_order(self, order: PurchaseOrder) -> str:
        """The sales order for ``order``, created with its items in one deep insert, or the existing one
        when SAP already has an order with this PO number for this sold-to party. Returns its number."""
        return self._sales_order(to_json(order))[0]

    def _sales_order(self, document: Mapping[str, Any]) -> tuple[str, bool, dict[str, Any]]:
        po = str(document.get("po_number") or "")
        meta = document.get("meta")
        partner = meta.get("partner_id") if isinstance(meta, Mapping) else None
        with self._concerning(f"creating the SAP sales order for PO {po}", po_number=po, partner=partner):
            srv = self._service(self.settings.sales_order_service)
            self._check_mapping(srv)
            applied = self._mapping.apply(dict(document))
            if applied.document is None or applied.findings:
                raise TransformError(
                    "the mapping cannot make the sales order: "
                    + "; ".join(str(f) for f in applied.findings)
                    + " (fix the document or the mapping's tables, then replay)"
                )
            record = applied.document
            sold_to = record.get("SoldToParty")
            existing = self._find_sales_orders(srv, po, sold_to)
            if existing:
                log.info("SAP already has sales order %s for PO %s: not creating another", existing[0], po)
                return existing[0], False, record
            entity_set = srv.entity_sets.A_SalesOrder
            values = _to_edm(srv.schema.entity_set("A_SalesOrder").entity_type, record, "A_SalesOrder")
            created = entity_set.create_entity().set(**values).execute()
            number = str(created.SalesOrder)
            log.info(
                "created SAP sales order %s for PO %s (%d items)",
                number,
                po,
                len(record.get("to_Item") or []),
            )
            return number, True, record

    def _check_mapping(self, srv: Any) -> None:
        """The mapping's field names against the service's $metadata, once: a typo is a MappingError
        naming file:line before anything is sent."""
        if self._mapping_checked:
            return
        header = srv.schema.entity_set("A_SalesOrder").entity_type
        problems: list[str] = []

        def check(fields: Mapping[str, Any], entity_type: Any) -> None:
            properties = {p.name for p in entity_type.proprties()}
            navigation = {n.name: n for n in entity_type.nav_proprties}
            for name, spec in fields.items():
                if name in navigation:
                    if spec.fields:
                        check(spec.fields, navigation[name].to_role.entity_type)
                elif name not in properties:
                    problems.append(
                        f"{spec.file or self._mapping.file}:{spec.line}: {entity_type.name} has no property "
                        f"{name!r} (API_SALES_ORDER_SRV $metadata)"
                    )

        check(self._mapping.fields, header)
        if problems:
            raise MappingError("; ".join(problems), endpoint=self.name)
        self._mapping_checked = True

    def _find_sales_orders(self, srv: Any, po: str, sold_to: Any) -> list[str]:
        condition = f"PurchaseOrderByCustomer eq {_literal(po)}"
        if sold_to:
            condition += f" and SoldToParty eq {_literal(str(sold_to))}"
        rows = srv.entity_sets.A_SalesOrder.get_entities().filter(condition).select("SalesOrder").execute()
        return sorted((str(r.SalesOrder) for r in rows), key=_order_number_key)

    def find_sales_order(self, po_number: str, *, sold_to: str | None = None) -> str | None:
        """The number of the sales order SAP holds for a customer's PO number, or None."""
        with self._concerning(f"looking up the SAP sales order for PO {po_number}", po_number=po_number):
            found = self._find_sales_orders(
                self._service(self.settings.sales_order_service), po_number, sold_to
            )
        return found[0] if found else None

    def sales_order_status(self, po_number: str, *, sold_to: str | None = None) -> SalesOrderStatus | None:
        """The sales order for a customer's PO number with its items and statuses, or None."""
        with self._concerning(f"reading the SAP sales order for PO {po_number}", po_number=po_number):
            srv = self._service(self.settings.sales_order_service)
            condition = f"PurchaseOrderByCustomer eq {_literal(po_number)}"
            if sold_to:
                condition += f" and SoldToParty eq {_literal(sold_to)}"
            rows = list(
                self._pages(
                    self.settings.sales_order_service,
                    lambda: srv.entity_sets.A_SalesOrder.get_entities().filter(condition).expand("to_Item"),
                )
            )
        if not rows:
            return None
        rows.sort(key=lambda r: _order_number_key(str(r.SalesOrder)))
        head = rows[0]
        if len(rows) > 1:
            log.warning(
                "SAP holds %d sales orders for PO %s: %s",
                len(rows),
                po_number,
                ", ".join(str(r.SalesOrder) for r in rows),
            )
        items = tuple(
            SalesOrderItemStatus(
                item=_text(i.SalesOrderItem),
                material=_text(i.Material),
                quantity=_decimal(i.RequestedQuantity),
                unit=_text(i.RequestedQuantityUnit),
                po_item=i.UnderlyingPurchaseOrderItem or None,
                process_status=_text(i.SDProcessStatus),
                delivery_status=_text(i.DeliveryStatus),
                net_amount=_decimal(i.NetAmount),
            )
            for i in sorted(head.to_Item, key=lambda i: _order_number_key(_text(i.SalesOrderItem)))
        )
        return SalesOrderStatus(
            sales_order=_text(head.SalesOrder),
            po_number=_text(head.PurchaseOrderByCustomer),
            sold_to=_text(head.SoldToParty),
            overall_status=_text(head.OverallSDProcessStatus),
            delivery_status=_text(head.OverallTotalDeliveryStatus),
            rejection_status=_text(head.OverallSDDocumentRejectionSts),
            net_amount=_decimal(head.TotalNetAmount),
            currency=_text(head.TransactionCurrency),
            items=items,
            others=tuple(_text(r.SalesOrder) for r in rows[1:]),
        )

    # -- API_OUTBOUND_DELIVERY_SRV

    def deliveries_to_pick(self, *, shipping_point: str | None = None) -> Iterator[OutboundDelivery]:
        """Outbound deliveries not completely picked and not goods-issued, with their items, oldest
        number first, read page by page (a delivery picked meanwhile may move the pages: the next
        poll finds what this one missed)."""
        condition = "OverallGoodsMovementStatus eq 'A' and (OverallPickingStatus eq 'A' or OverallPickingStatus eq 'B')"
        if shipping_point:
            condition += f" and ShippingPoint eq {_literal(shipping_point)}"
        with self._concerning("reading the SAP deliveries to pick", shipping_point=shipping_point):
            srv = self._service(self.settings.delivery_service)
            for header in self._pages(
                self.settings.delivery_service,
                lambda: (
                    srv.entity_sets.A_OutbDeliveryHeader.get_entities()
                    .filter(condition)
                    .expand("to_DeliveryDocumentItem")
                    .order_by("DeliveryDocument")
                ),
            ):
                yield _delivery(header)

    def delivery(self, delivery: str) -> OutboundDelivery:
        """One outbound delivery with its items and their ETags."""
        with self._concerning(f"reading SAP delivery {delivery}", delivery=delivery):
            srv = self._service(self.settings.delivery_service)
            header = (
                srv.entity_sets.A_OutbDeliveryHeader.get_entity(delivery)
                .expand("to_DeliveryDocumentItem")
                .execute()
            )
            return _delivery(header)

    def report_picked_quantity(
        self, delivery: str, item: str, quantity: Decimal, *, etag: str | None
    ) -> None:
        """Sets the picked quantity of one delivery item (``ActualDeliveryQuantity``, in the item's
        unit), sending ``etag`` (from :meth:`deliveries_to_pick` or :meth:`delivery`) in If-Match: a
        change made in SAP since then is a :class:`~erpbridge.errors.RemoteConflictError`."""
        with self._concerning(
            f"reporting the picked quantity of SAP delivery {delivery} item {item}",
            delivery=delivery,
            item=item,
        ):
            if quantity < 0:
                raise TransformError(f"a picked quantity cannot be negative ({quantity})")
            srv = self._service(self.settings.delivery_service)
            request = srv.entity_sets.A_OutbDeliveryItem.update_entity(
                DeliveryDocument=delivery, DeliveryDocumentItem=item, method="PATCH"
            )
            request.set(ActualDeliveryQuantity=str(quantity))
            request.add_headers({"If-Match": etag or "*"})
            request.execute()
            log.info("reported %s picked for SAP delivery %s item %s", quantity, delivery, item)

    def report_picked(self, delivery: OutboundDelivery, picked: Mapping[str, Decimal]) -> None:
        """Picked quantities by item number for a delivery read with :meth:`deliveries_to_pick`.

        Several items go in one ``$batch`` request holding one changeset (one round trip; SAP applies
        the changeset whole or not at all), each item's PATCH with its own ETag in If-Match; one item
        is a plain PATCH. A part SAP refuses raises as a single request would (a stale ETag
        :class:`~erpbridge.errors.RemoteConflictError`, a business error RemoteRejectedError), naming
        the delivery."""
        items = {i.item: i for i in delivery.items}
        unknown = sorted(set(picked) - set(items))
        if unknown:
            raise TransformError(
                f"SAP delivery {delivery.delivery} has no item {', '.join(unknown)} (its items: {', '.join(items)})",
                delivery=delivery.delivery,
            )
        negative = sorted(n for n, q in picked.items() if q < 0)
        if negative:
            raise TransformError(
                f"a picked quantity cannot be negative (items {', '.join(negative)})",
                delivery=delivery.delivery,
            )
        if len(picked) == 1:
            [(number, quantity)] = picked.items()
            self.report_picked_quantity(delivery.delivery, number, quantity, etag=items[number].etag)
            return
        shown = ", ".join(f"{n}: {q}" for n, q in picked.items())
        with self._concerning(
            f"reporting the picked quantities of SAP delivery {delivery.delivery} in one $batch ({shown})",
            delivery=delivery.delivery,
        ):
            srv = self._service(self.settings.delivery_service)
            batch, changeset = srv.create_batch(), srv.create_changeset()
            for number, quantity in picked.items():
                request = srv.entity_sets.A_OutbDeliveryItem.update_entity(
                    DeliveryDocument=delivery.delivery, DeliveryDocumentItem=number, method="PATCH"
                )
                request.set(ActualDeliveryQuantity=str(quantity))
                request.add_headers({"If-Match": items[number].etag or "*"})
                changeset.add_request(request)
            batch.add_request(changeset)
            try:
                batch.execute()
            except pyodata.exceptions.HttpError as exc:  # a part SAP refused: SAP's answer, as ours
                raise self._http.part_error(exc.response, "PATCH", self.settings.delivery_service) from None
            log.info(
                "reported the picked quantities of SAP delivery %s in one $batch: %s",
                delivery.delivery,
                shown,
            )

    def _delivery_action(self, srv: Any, name: str, delivery: str, header: Any, **parameters: Any) -> Any:
        """Calls the function import ``name`` for one delivery (``sap:action-for`` its header) with the
        header's ETag in If-Match; SAP's answer (the header), or the header read again when none came."""
        request = getattr(srv.functions, name).parameter("DeliveryDocument", delivery)
        for key, value in parameters.items():
            request = request.parameter(key, value)
        request.add_headers({"If-Match": header.etag or "*"})
        result = request.execute()
        return (
            result
            if result is not None
            else srv.entity_sets.A_OutbDeliveryHeader.get_entity(delivery).execute()
        )

    def post_goods_issue(self, delivery: str) -> GoodsIssue:
        """Posts goods issue for a completely picked delivery (the ``PostGoodsIssue`` function import,
        with the header's ETag). A delivery SAP shows as posted already is left alone (a retry)."""
        with self._concerning(f"posting goods issue for SAP delivery {delivery}", delivery=delivery):
            srv = self._service(self.settings.delivery_service)
            header = srv.entity_sets.A_OutbDeliveryHeader.get_entity(delivery).execute()
            if header.OverallGoodsMovementStatus == "C":
                log.info("goods issue for SAP delivery %s was posted before: nothing to do", delivery)
                return GoodsIssue(
                    delivery=delivery, posted_on=_date(header.ActualGoodsMovementDate), already_posted=True
                )
            posted = self._delivery_action(srv, "PostGoodsIssue", delivery, header)
            log.info("posted goods issue for SAP delivery %s", delivery)
            return GoodsIssue(
                delivery=delivery, posted_on=_date(posted.ActualGoodsMovementDate), already_posted=False
            )

    def pick_all_items(self, delivery: str) -> OutboundDelivery:
        """Picks every item of a delivery in full (the ``PickAllItems`` function import, with the
        header's ETag): one call instead of a quantity per item. Returns the delivery as SAP then
        holds it."""
        with self._concerning(
            f"picking every item of SAP delivery {delivery} (PickAllItems)", delivery=delivery
        ):
            srv = self._service(self.settings.delivery_service)
            header = srv.entity_sets.A_OutbDeliveryHeader.get_entity(delivery).execute()
            self._delivery_action(srv, "PickAllItems", delivery, header)
            log.info("picked every item of SAP delivery %s (PickAllItems)", delivery)
        return self.delivery(delivery)

    def reverse_goods_issue(self, delivery: str, *, on: dt.date | None = None) -> GoodsIssueReversal:
        """Reverses a delivery's posted goods issue (the ``ReverseGoodsIssue`` function import, SAP's
        VL09, posted on ``on``, default today in UTC): the remedy for a goods issue posted in error.
        The delivery stays picked. A delivery SAP shows no goods issue for is left alone."""
        day = on or dt.datetime.now(dt.UTC).date()
        with self._concerning(f"reversing the goods issue of SAP delivery {delivery}", delivery=delivery):
            srv = self._service(self.settings.delivery_service)
            header = srv.entity_sets.A_OutbDeliveryHeader.get_entity(delivery).execute()
            if header.OverallGoodsMovementStatus != "C":
                log.info("SAP delivery %s has no goods issue posted: nothing to reverse", delivery)
                return GoodsIssueReversal(delivery=delivery, reversed_on=None, reversed=False)
            posting_date = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            self._delivery_action(
                srv, "ReverseGoodsIssue", delivery, header, ActualGoodsMovementDate=posting_date
            )
            log.warning("reversed the goods issue of SAP delivery %s (posting date %s)", delivery, day)
            return GoodsIssueReversal(delivery=delivery, reversed_on=day, reversed=True)

    def confirm_picking(
        self,
        delivery: str,
        picked: Mapping[str, Decimal],
        *,
        units: Mapping[str, str] | None = None,
    ) -> PickConfirmation:
        """The warehouse's confirmation of a delivery: the picked quantity of each item (an item it
        does not name: 0) reported, then goods issue posted. Idempotent: the delivery is read first;
        goods issue posted already means nothing is sent (a retry after a crash, or SAP posted it),
        quantities SAP holds already (item picked, same quantity) are not sent again. Everything
        picked as ordered on a delivery not picked yet is one ``PickAllItems``; otherwise the
        quantities go in one ``$batch`` (:meth:`report_picked`). ``units``: the unit each item was
        confirmed in, which must be the delivery item's (erpbridge converts no units)."""
        current = self.delivery(delivery)
        items = {i.item: i for i in current.items}
        unknown = sorted(set(picked) - set(items))
        if unknown:
            raise TransformError(
                f"SAP delivery {delivery} has no item {', '.join(unknown)} (its items: {', '.join(items)}): "
                "the confirmation must number its items by the delivery's items",
                delivery=delivery,
                endpoint=self.name,
            )
        wrong = [
            f"item {n} in {u} (SAP: {items[n].unit})"
            for n, u in (units or {}).items()
            if n in items and u and items[n].unit and u != items[n].unit
        ]
        if wrong:
            raise TransformError(
                f"the confirmation of SAP delivery {delivery} gives quantities in other units than the "
                f"delivery's: {', '.join(wrong)}; erpbridge converts no units: have the WMS confirm in SAP's unit",
                delivery=delivery,
                endpoint=self.name,
            )
        wanted = {n: picked.get(n, Decimal(0)) for n in items}
        reported = ""
        if current.goods_movement_status != "C":
            todo = {
                n: q
                for n, q in wanted.items()
                if not (items[n].picking_status == "C" and items[n].quantity == q)
            }
            full = all(
                i.ordered_quantity is not None and wanted[n] == i.ordered_quantity for n, i in items.items()
            )
            if not todo:
                log.info("SAP delivery %s holds the picked quantities already: not sent again", delivery)
            elif full and current.picking_status == "A":
                self.pick_all_items(delivery)
                reported = "PickAllItems"
            else:
                self.report_picked(current, todo)
                reported = "$batch" if len(todo) > 1 else "PATCH"
        issued = self.post_goods_issue(delivery)
        return PickConfirmation(delivery=delivery, picked=wanted, reported=reported, goods_issue=issued)

    def work_records(self, *, shipping_point: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """The deliveries to pick as records for an inbound flow (:class:`~erpbridge.connectors.base.WorkSource`):
        ``(delivery number, delivery_record(...))``."""
        for found in self.deliveries_to_pick(shipping_point=shipping_point):
            yield found.delivery, delivery_record(found)

    # -- API_MATERIAL_STOCK_SRV

    def stock(self, plant: str, materials: Iterable[str] | None = None) -> list[StockLevel]:
        """Stock per material in ``plant`` (all materials, or those given), read over all pages and
        summed by stock type; sorted by material."""
        wanted = sorted(set(materials)) if materials is not None else None
        if wanted == []:
            return []
        chunks: list[list[str] | None] = (
            [wanted[i : i + _MATERIALS_PER_QUERY] for i in range(0, len(wanted), _MATERIALS_PER_QUERY)]
            if wanted
            else [None]
        )
        totals: dict[tuple[str, str, str], dict[str, Decimal]] = {}
        with self._concerning(f"reading SAP stock in plant {plant}", plant=plant):
            srv = self._service(self.settings.stock_service)
            for chunk in chunks:
                condition = f"Plant eq {_literal(plant)}"
                if chunk:
                    condition += " and (" + " or ".join(f"Material eq {_literal(m)}" for m in chunk) + ")"

                def query(condition: str = condition) -> Any:
                    return (
                        srv.entity_sets.A_MatlStkInAcctMod.get_entities()
                        .filter(condition)
                        .select(",".join((*_STOCK_KEYS, "MaterialBaseUnit", "MatlWrhsStkQtyInMatlBaseUnit")))
                        .order_by(",".join(_STOCK_KEYS))
                    )

                for row in self._pages(self.settings.stock_service, query):
                    key = (_text(row.Material), _text(row.Plant), _text(row.MaterialBaseUnit))
                    by_type = totals.setdefault(key, {})
                    stock_type = _text(row.InventoryStockType)
                    quantity = _decimal(row.MatlWrhsStkQtyInMatlBaseUnit) or Decimal(0)
                    by_type[stock_type] = by_type.get(stock_type, Decimal(0)) + quantity
        return [
            StockLevel(material=m, plant=p, unit=u, by_stock_type=dict(sorted(t.items())))
            for (m, p, u), t in sorted(totals.items())
        ]


def _delivery(header: Any) -> OutboundDelivery:
    items = tuple(
        DeliveryItem(
            item=_text(i.DeliveryDocumentItem),
            material=_text(i.Material),
            description=_text(i.DeliveryDocumentItemText),
            quantity=_decimal(i.ActualDeliveryQuantity),
            ordered_quantity=_decimal(i.OriginalDeliveryQuantity),
            unit=_text(i.DeliveryQuantityUnit),
            plant=_text(i.Plant),
            storage_location=_text(i.StorageLocation),
            batch=_text(i.Batch),
            sales_order=_text(i.ReferenceSDDocument),
            sales_order_item=_text(i.ReferenceSDDocumentItem),
            picking_status=_text(i.PickingStatus),
            etag=i.etag,
        )
        for i in sorted(
            header.to_DeliveryDocumentItem, key=lambda i: _order_number_key(_text(i.DeliveryDocumentItem))
        )
    )
    return OutboundDelivery(
        delivery=_text(header.DeliveryDocument),
        delivery_type=_text(header.DeliveryDocumentType),
        shipping_point=_text(header.ShippingPoint),
        sold_to=_text(header.SoldToParty),
        ship_to=_text(header.ShipToParty),
        delivery_date=_date(header.DeliveryDate),
        planned_goods_issue_date=_date(header.PlannedGoodsIssueDate),
        picking_status=_text(header.OverallPickingStatus),
        goods_movement_status=_text(header.OverallGoodsMovementStatus),
        etag=header.etag,
        items=items,
    )


# The properties of a delivery an inbound flow records (delivery_record): what the warehouse acts on.
# Statuses, the picked quantities and ETags are left out, so that the same delivery is the same record
# while it is being picked.
def delivery_record(delivery: OutboundDelivery) -> dict[str, Any]:
    """A delivery to pick as the JSON record an inbound flow maps (SAP's property names, as
    ``A_OutbDeliveryHeader`` with ``to_DeliveryDocumentItem``; dates ISO, quantities decimal
    strings, empty values left out). Pure."""

    def kept(values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v not in (None, "")}

    return kept(
        {
            "DeliveryDocument": delivery.delivery,
            "DeliveryDocumentType": delivery.delivery_type,
            "ShippingPoint": delivery.shipping_point,
            "SoldToParty": delivery.sold_to,
            "ShipToParty": delivery.ship_to,
            "DeliveryDate": delivery.delivery_date.isoformat() if delivery.delivery_date else None,
            "PlannedGoodsIssueDate": delivery.planned_goods_issue_date.isoformat()
            if delivery.planned_goods_issue_date
            else None,
        }
    ) | {
        "to_DeliveryDocumentItem": [
            kept(
                {
                    "DeliveryDocumentItem": i.item,
                    "Material": i.material,
                    "DeliveryDocumentItemText": i.description,
                    "OriginalDeliveryQuantity": str(i.ordered_quantity)
                    if i.ordered_quantity is not None
                    else None,
                    "DeliveryQuantityUnit": i.unit,
                    "Plant": i.plant,
                    "StorageLocation": i.storage_location,
                    "Batch": i.batch,
                    "ReferenceSDDocument": i.sales_order,
                    "ReferenceSDDocumentItem": i.sales_order_item,
                }
            )
            for i in delivery.items
        ]
    }


def picked_quantities(ship_notice: Mapping[str, Any]) -> tuple[str, dict[str, Decimal], dict[str, str]]:
    """The SAP delivery a canonical ShipNotice (JSON) confirms (its one reference of kind
    ``delivery``), the quantity shipped per delivery item (``line_number``, summed over packs and
    orders) and the unit each item was given in. Pure; a TransformError says what is missing."""
    shipment = ship_notice.get("shipment_id")
    numbers = list(
        dict.fromkeys(
            str(r["value"])
            for r in ship_notice.get("references") or []
            if isinstance(r, Mapping) and r.get("kind") == "delivery" and r.get("value")
        )
    )
    if len(numbers) != 1:
        raise TransformError(
            f"a confirmation for SAP over OData names one delivery (a reference of kind delivery), not "
            f"{len(numbers)} ({', '.join(numbers) or 'none'}): the WMS's file must name the delivery it shipped",
            shipment=shipment,
        )
    picked: dict[str, Decimal] = {}
    units: dict[str, str] = {}
    for order in ship_notice.get("orders") or []:
        items = [i for pack in order.get("packs") or [] for i in pack.get("items") or []]
        for item in items + list(order.get("items") or []):
            number = str(item.get("line_number") or "")
            quantity = _decimal(item.get("quantity"))
            if not number or quantity is None:
                sku = (item.get("product_ids") or {}).get("vendor_sku") or "-"
                raise TransformError(
                    f"an item of the confirmation (SKU {sku}) has no delivery item number or no quantity: "
                    "SAP needs both for each item",
                    shipment=shipment,
                    delivery=numbers[0],
                )
            picked[number] = picked.get(number, Decimal(0)) + quantity
            if item.get("unit"):
                units[number] = str(item["unit"])
    return numbers[0], picked, units


__all__ = [
    "DELIVERY_SERVICE",
    "SALES_ORDER_SERVICE",
    "STOCK_SERVICE",
    "BasicAuth",
    "DeliveryItem",
    "GoodsIssue",
    "GoodsIssueReversal",
    "OAuthClientCredentials",
    "OutboundDelivery",
    "PickConfirmation",
    "SalesOrderItemStatus",
    "SalesOrderStatus",
    "SapODataConnector",
    "SapODataSettings",
    "StockLevel",
    "delivery_record",
    "picked_quantities",
]
