"""NetSuite over SuiteTalk REST web services, with requests: the record service and SuiteQL.

- **Sales orders** from canonical PurchaseOrders (:meth:`NetSuiteRestConnector.deliver`): the
  declarative mapping ``mappings/netsuite/purchase-order-to-sales-order.yaml`` makes the
  ``salesOrder`` record; item references written ``{"itemId": SKU}`` or ``{"upc": UPC}`` are
  resolved to internal IDs through the item cross-reference (SuiteQL, read once per connector, so
  once per run). The order is **upserted by external ID** (``PUT /record/v1/salesOrder/eid:{id}``,
  NetSuite Help "Using the Upsert Operation"), the external ID derived from the delivery key; it is
  looked up by that external ID first, so a retry, a replay or a crash between NetSuite's answer and
  the ledger never makes a second order nor changes the first.
- **Customers** (:meth:`~NetSuiteRestConnector.upsert_customer`) and **inventory adjustments**
  (:meth:`~NetSuiteRestConnector.adjust_inventory`), upserted by external ID the same way; a
  warehouse's GoodsMovement becomes inventory adjustments (:meth:`~NetSuiteRestConnector.deliver_goods_movement`,
  planned in connectors/netsuite_adjustments.py) at the locations and account the endpoint names.
- **Item fulfillments** from a sales order (:meth:`~NetSuiteRestConnector.fulfill`):
  ``POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`` ("Transforming Records") with the
  lines, packages and tracking numbers, under an external ID looked up first.
- **SuiteQL** (:meth:`~NetSuiteRestConnector.suiteql`): ``POST /query/v1/suiteql`` with
  ``Prefer: transient``, page after page (``limit``/``offset`` until ``hasMore`` is false): the item
  cross-reference (:meth:`~NetSuiteRestConnector.items`), order status
  (:meth:`~NetSuiteRestConnector.sales_order_status`) and on-hand quantities
  (:meth:`~NetSuiteRestConnector.on_hand`).

**Governance**: every request takes a slot of the account's concurrency gate
(:class:`~erpbridge.connectors.netsuite_common.AccountGate`, ``concurrency`` at once per account in
this process); an HTTP 429 (or 503, or one of NetSuite's concurrency error codes) is retried up to
``max_attempts`` times, waiting what ``Retry-After`` asks or an exponential backoff with jitter, and
then raised as :class:`~erpbridge.errors.RemoteUnavailableError` (transient) with ``retry_after``.

**Errors**: NetSuite's error body (``o:errorDetails`` with ``detail`` and ``o:errorCode``, "Error
Handling in REST Web Services") is kept in the error:

=======================================  ===================================================
timeout, connection refused or dropped   :class:`~erpbridge.errors.TransportError` (transient)
HTTP 429, 5xx, concurrency error codes   :class:`~erpbridge.errors.RemoteUnavailableError`
HTTP 401 (INVALID_LOGIN: an expired or   :class:`~erpbridge.errors.AuthenticationError`, naming the
revoked token), 403, TLS refused         credentials by their names only
other HTTP 4xx                           :class:`~erpbridge.errors.RemoteRejectedError`
=======================================  ===================================================

Authentication is TBA (OAuth 1.0a, :func:`~erpbridge.connectors.netsuite_auth.tba_authorization`) or
OAuth 2.0 client credentials (a bearer token from the token endpoint, fetched with a signed JWT and
renewed before it expires). Secrets are never logged nor put in messages. requests is imported only
here and in the SAP OData and NetSuite SOAP modules (import-linter). Setup in NetSuite and
configuration: docs/netsuite.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import requests

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
from ..model.common import finite_decimal
from ..observability.signals import set_rate_limit_headroom
from ._http import connection_reason, rate_limit_headroom, retry_after_seconds
from .base import Delivered
from .netsuite_adjustments import AdjustmentPlan, adjustment_plans
from .netsuite_auth import (
    JWT_BEARER,
    TOKEN_PATH,
    ClientCredentialsAuth,
    TokenAuth,
    client_assertion,
    tba_authorization,
)
from .netsuite_common import (
    AUTH_CODES,
    TRANSIENT_CODES,
    AccountGate,
    external_id,
    order_key,
    resolve_item_refs,
    rest_url,
)
from .netsuite_shipping import OrderLine, Package, fulfillment_lines, fulfillment_plans

log = logging.getLogger(__name__)

RECORD_PATH: Final = "/services/rest/record/v1"
SUITEQL_PATH: Final = "/services/rest/query/v1/suiteql"
_RETRYABLE_STATUS: Final = frozenset({429, 503})
#: What :meth:`NetSuiteRestConnector.item_master` reads of each item (the item record's field IDs).
ITEM_MASTER_COLUMNS: Final = (
    "id", "itemid", "upccode", "displayname", "description", "itemtype",
    "weight", "weightunit", "countryofmanufacture", "manufacturertariff",
)  # fmt: skip
#: The item types a warehouse stocks: inventory items and assemblies (not services, kits, charges).
ITEM_MASTER_TYPES: Final = ("InvtPart", "Assembly")
_CUSTOM_FIELD: Final = re.compile(r"custitem[a-z0-9_]{1,40}")


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NetSuiteRestSettings:
    """How to reach one NetSuite account over REST. Timeouts and waits are in seconds.

    ``account`` is the account ID (``1234567`` or ``1234567_SB1``); ``url`` defaults to the
    account's ``https://<account>.suitetalk.api.netsuite.com`` and is set only for a proxy or a test
    server. ``page_size`` is SuiteQL's ``limit`` (1 to 1000). ``concurrency`` is this process's cap
    of requests at once to the account, below the account's governance limit. A 429 is tried
    ``max_attempts`` times in all, waiting ``backoff`` seconds at first (or what Retry-After asks),
    doubling up to ``max_backoff``.
    """

    account: str
    auth: TokenAuth | ClientCredentialsAuth
    sales_order_mapping: Path
    name: str = "netsuite"
    url: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    page_size: int = 1000
    concurrency: int = 4
    max_attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    verify: bool | str = True
    external_id_prefix: str = ""
    adjustment_account: str | None = None  # GoodsMovements: the adjustment account's internal ID
    locations: Mapping[str, str] = field(default_factory=dict)  # WMS warehouse -> location internal ID
    subsidiary: str | None = None  # GoodsMovements: the adjustments' subsidiary (OneWorld)

    def __post_init__(self) -> None:
        ctx = {"endpoint": self.name}
        base = rest_url(self.account) if self.url is None else self.url
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ConfigError(f"NetSuite url must be http(s)://host[:port], not {base!r}", **ctx)
        if not self.connect_timeout > 0 or not self.read_timeout > 0:
            raise ConfigError("NetSuite timeouts must be more than 0 seconds", **ctx)
        if not 1 <= self.page_size <= 1000:
            raise ConfigError(f"NetSuite page_size (SuiteQL limit) is 1 to 1000, not {self.page_size}", **ctx)
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ConfigError("NetSuite concurrency and max_attempts must be 1 or more", **ctx)
        if self.backoff < 0 or self.max_backoff < self.backoff:
            raise ConfigError("NetSuite backoff must be 0 or more and at most max_backoff", **ctx)

    @property
    def base_url(self) -> str:
        return (rest_url(self.account) if self.url is None else self.url).rstrip("/")


# -- what the connector returns ------------------------------------------------------------------


@dataclass(frozen=True)
class Upserted:
    """A record NetSuite holds under an external ID: its internal ID, and whether this call made it."""

    id: str
    external_id: str
    created: bool


@dataclass(frozen=True)
class FulfillmentLine:
    """A sales order line to fulfil: its ``orderLine`` (the line number NetSuite gave it) and quantity."""

    order_line: int
    quantity: Decimal
    location: str | None = None


@dataclass(frozen=True)
class Item:
    """One row of the item cross-reference."""

    id: str
    sku: str
    upc: str | None
    name: str | None
    type: str | None


@dataclass(frozen=True)
class ItemIndex:
    """SKU and UPC to internal ID, and back."""

    items: tuple[Item, ...]
    by_sku: Mapping[str, Item] = field(default_factory=dict)
    by_upc: Mapping[str, Item] = field(default_factory=dict)
    by_id: Mapping[str, Item] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Sequence[Item]) -> ItemIndex:
        return cls(
            tuple(items),
            {i.sku.casefold(): i for i in items if i.sku},
            {i.upc: i for i in items if i.upc},
            {i.id: i for i in items},
        )

    def lookup(self, sku: str | None, upc: str | None) -> str | None:
        found = self.by_sku.get(sku.casefold()) if sku else None
        if found is None and upc:
            found = self.by_upc.get(upc)
        return found.id if found else None


@dataclass(frozen=True)
class SalesOrderStatus:
    """A sales order as SuiteQL reads it back, for reconciliation."""

    id: str
    tran_id: str | None
    external_id: str | None
    po_number: str | None
    status: str | None  # SuiteQL's one-letter status: B pending fulfillment, D partially fulfilled, ...
    status_text: str | None
    lines: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class OnHand:
    """On-hand and available quantity of one item in one location."""

    item: str
    sku: str | None
    location: str
    on_hand: Decimal
    available: Decimal | None


@dataclass(frozen=True)
class _OpenOrder:
    """A sales order an item fulfillment is transformed from: internal ID, external ID, lines."""

    id: str
    external_id: str | None
    lines: tuple[OrderLine, ...]


# -- NetSuite's error answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class NetSuiteError:
    """The codes and details of a NetSuite REST error body."""

    codes: tuple[str, ...]
    details: tuple[str, ...]
    title: str

    @property
    def code(self) -> str | None:
        return self.codes[0] if self.codes else None

    @property
    def message(self) -> str:
        return self.details[0] if self.details else self.title


def parse_error(response: requests.Response) -> NetSuiteError:
    """NetSuite's error body (``o:errorDetails``), or the start of whatever else came back."""
    text = response.text or ""
    try:
        body = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw = body.get("o:errorDetails")
        codes: list[str] = []
        details: list[str] = []
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict):
                if item.get("o:errorCode"):
                    codes.append(str(item["o:errorCode"]))
                if item.get("detail"):
                    where = (
                        item.get("o:errorPath") or item.get("o:errorQueryParam") or item.get("o:errorHeader")
                    )
                    details.append(str(item["detail"]).strip() + (f" (at {where})" if where else ""))
        title = str(body.get("title") or response.reason or "")
        return NetSuiteError(tuple(codes), tuple(details), title or "no message")
    plain = " ".join(text.split())[:300]
    return NetSuiteError((), (plain,) if plain else (), response.reason or "no message")


# -- HTTP ------------------------------------------------------------------------------------------


class _NetSuiteHttp:
    """Signing, the account gate, retries of 429s and NetSuite's errors."""

    def __init__(self, settings: NetSuiteRestSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.verify = settings.verify
        self.session.headers["User-Agent"] = "erpbridge"
        self.gate = AccountGate.of(settings.account, settings.concurrency)
        self.sleep: Callable[[float], None] = time.sleep
        self._bearer: str | None = None
        self._bearer_until = 0.0
        self._bearer_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Sequence[int] = (),
    ) -> requests.Response:
        """One request to ``path`` (after the base URL). Answers with a status in ``allow`` are
        returned; other 4xx/5xx become erpbridge errors; 429/503 are retried first."""
        settings = self.settings
        url = settings.base_url + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        delay = settings.backoff
        attempt = 0
        while True:
            attempt += 1
            response = self._send(method, url, data, headers, path)
            if (
                response.status_code == 401
                and isinstance(settings.auth, ClientCredentialsAuth)
                and attempt == 1
            ):
                self._bearer = None  # revoked early, or expired in flight: one more try with a new token
                response = self._send(method, url, data, headers, path)
            if response.status_code in allow:
                return response
            if response.status_code < 400:
                return response
            problem = parse_error(response)
            retryable = response.status_code in _RETRYABLE_STATUS or (
                response.status_code < 500 and bool(set(problem.codes) & TRANSIENT_CODES)
            )
            if retryable and attempt < settings.max_attempts:
                wait = retry_after_seconds(response.headers.get("Retry-After"), fractions=True)
                if wait is None:
                    wait = min(settings.max_backoff, delay) * (0.5 + random.random() / 2)
                    delay = min(settings.max_backoff, delay * 2)
                wait = min(wait, settings.max_backoff)
                log.info(
                    "NetSuite %s %s: HTTP %d %s; attempt %d of %d in %.2f s",
                    method,
                    _shown(path),
                    response.status_code,
                    problem.code or "",
                    attempt + 1,
                    settings.max_attempts,
                    wait,
                )
                self.sleep(wait)
                continue
            raise self._error(response, problem, method, path, attempts=attempt)

    def _send(
        self, method: str, url: str, data: bytes | None, extra: Mapping[str, str] | None, path: str
    ) -> requests.Response:
        settings = self.settings
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        where = {"endpoint": settings.name}
        with self.gate:
            headers["Authorization"] = self._authorization(method, url)
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=(settings.connect_timeout, settings.read_timeout),
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise AuthenticationError(
                    f"the TLS certificate of {urlsplit(url).hostname} cannot be verified "
                    f"({type(exc).__name__}): set verify to the CA bundle that signs it",
                    **where,
                ) from None
            except requests.Timeout:
                raise TransportError(
                    f"NetSuite did not answer {method} {_shown(path)} within the timeouts (connect "
                    f"{settings.connect_timeout:g} s, read {settings.read_timeout:g} s)",
                    **where,
                ) from None
            except requests.ConnectionError as exc:
                raise TransportError(
                    f"cannot reach NetSuite at {urlsplit(url).netloc}: {connection_reason(exc)}", **where
                ) from None
            except requests.RequestException as exc:
                raise TransportError(f"HTTP to NetSuite failed: {type(exc).__name__}", **where) from None
        log.debug(
            "NetSuite %s %s -> %d in %.0f ms",
            method,
            _shown(path),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        headroom = rate_limit_headroom(response.status_code, response.headers)
        set_rate_limit_headroom(settings.name, self.gate.headroom if headroom is None else headroom)
        if 300 <= response.status_code < 400:
            raise AuthenticationError(
                f"NetSuite answered {method} {_shown(path)} with a redirect (HTTP {response.status_code}): "
                "check the account ID and url (a request sent to another data center is redirected)",
                **where,
            )
        return response

    def _authorization(self, method: str, url: str) -> str:
        auth = self.settings.auth
        if isinstance(auth, TokenAuth):
            return tba_authorization(auth, account=self.settings.account, method=method, url=url)
        return f"Bearer {self._bearer_token()}"

    def _bearer_token(self) -> str:
        with self._bearer_lock:
            if self._bearer and time.monotonic() < self._bearer_until:
                return self._bearer
            auth = self.settings.auth
            assert isinstance(auth, ClientCredentialsAuth)
            token_url = auth.token_url or self.settings.base_url + TOKEN_PATH
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": client_assertion(auth, audience=token_url),
            }
            ctx = {"endpoint": self.settings.name}
            try:
                response = self.session.post(
                    token_url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise TransportError(
                    f"cannot reach NetSuite's token endpoint {urlsplit(token_url).netloc}: {type(exc).__name__}",
                    **ctx,
                ) from None
            if response.status_code in (400, 401, 403):
                said = _oauth_error(response)
                raise AuthenticationError(
                    f"NetSuite's token endpoint refused the M2M credentials ({auth.names()}): HTTP "
                    f"{response.status_code} {said}: check the integration's client ID, the certificate "
                    "mapping (Setup > Integration > OAuth 2.0 Client Credentials Setup) and its expiry",
                    **ctx,
                )
            if response.status_code >= 400:
                raise self._error(response, parse_error(response), "POST", TOKEN_PATH, attempts=1)
            try:
                answer = response.json()
                token = str(answer["access_token"])
                lifetime = float(answer.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                raise AuthenticationError(
                    "NetSuite's token endpoint answered without an access_token: check the token URL", **ctx
                ) from None
            self._bearer, self._bearer_until = token, time.monotonic() + max(0.0, lifetime - 120)
            return token

    def _error(
        self, response: requests.Response, problem: NetSuiteError, method: str, path: str, *, attempts: int
    ) -> ErpBridgeError:
        status = response.status_code
        said = problem.message + (f" [{problem.code}]" if problem.code else "")
        if len(problem.details) > 1:
            said += "; also: " + "; ".join(problem.details[1:])
        ctx: dict[str, Any] = {"endpoint": self.settings.name}
        if problem.code:
            ctx["netsuite_code"] = problem.code
        if status == 401 or (status in (400, 403) and set(problem.codes) & AUTH_CODES):
            return AuthenticationError(
                f"NetSuite refused the credentials ({self.settings.auth.names()}) with HTTP {status}: {said}. "
                "An expired or revoked token, a role without the permission, or a wrong account: replace "
                "the token (Setup > Users/Roles > Access Tokens) and erpbridge resumes",
                **ctx,
            )
        if status == 403:
            return AuthenticationError(
                f"NetSuite refused {method} {_shown(path)} (HTTP 403): {said}: the role of the token lacks a "
                "permission (docs/netsuite.md lists them)",
                **ctx,
            )
        if status in _RETRYABLE_STATUS or status >= 500 or set(problem.codes) & TRANSIENT_CODES:
            wait = retry_after_seconds(response.headers.get("Retry-After"), fractions=True)
            return RemoteUnavailableError(
                f"NetSuite is busy or failing (HTTP {status}): {said}; tried {attempts} time(s), erpbridge "
                "retries later" + (f" (NetSuite asked to wait {wait:g} s)" if wait is not None else ""),
                retry_after=wait,
                status=status,
                remote_code=problem.code,
                remote_message=problem.message,
                details=problem.details,
                **ctx,
            )
        return RemoteRejectedError(
            f"NetSuite refused it (HTTP {status}): {said}",
            status=status,
            remote_code=problem.code,
            remote_message=problem.message,
            details=problem.details,
            **ctx,
        )


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return parse_error(response).message
    if isinstance(body, dict) and "error" in body:
        return str(body.get("error")) + (
            f": {body['error_description']}" if body.get("error_description") else ""
        )
    return parse_error(response).message


def _shown(path: str) -> str:
    return path.split("?")[0]


def _quoted(value: str) -> str:
    """A SuiteQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _record_id(response: requests.Response) -> str:
    location = response.headers.get("Location", "")
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    if not tail:
        raise RemoteRejectedError(
            f"NetSuite answered HTTP {response.status_code} without the record's Location header",
            status=response.status_code,
        )
    return tail


# -- the connector --------------------------------------------------------------------------------


class NetSuiteRestConnector:
    """One NetSuite account over REST (see the module). Use it in a ``with`` block, or call :meth:`close`.
    It may be used from several threads: requests share the account's concurrency gate."""

    def __init__(self, settings: NetSuiteRestSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._http = _NetSuiteHttp(settings)
        self._mapping: LoadedMapping = load_mapping(settings.sales_order_mapping)
        if not self._mapping.target.startswith("netsuite/salesOrder"):
            raise ConfigError(
                f"{self._mapping.file}: a NetSuite REST sales order mapping has target netsuite/salesOrder, "
                f"not {self._mapping.target!r}",
                endpoint=self.name,
            )
        self._items: ItemIndex | None = None
        self._items_lock = threading.Lock()

    def __enter__(self) -> NetSuiteRestConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ends the HTTP session and forgets the item cross-reference (read again on next use)."""
        self._http.close()
        self._items = None

    _concerning = staticmethod(concerning)  # errors inside say what was being done

    # -- the record service

    def get_record(self, record_type: str, ref: str, *, fields: Sequence[str] = ()) -> dict[str, Any] | None:
        """A record by internal ID, or by external ID as ``eid:<id>``; None when NetSuite has none."""
        path = f"{RECORD_PATH}/{record_type}/{quote(ref, safe=':')}"
        params = {"fields": ",".join(fields)} if fields else None
        response = self._http.request("GET", path, params=params, allow=(404,))
        if response.status_code == 404:
            return None
        body = response.json()
        return dict(body) if isinstance(body, dict) else None

    def find_by_external_id(self, record_type: str, external: str) -> str | None:
        """The internal ID of the record of this type with this external ID, or None."""
        found = self.get_record(record_type, f"eid:{external}", fields=("id",))
        return str(found["id"]) if found and found.get("id") is not None else None

    def upsert(
        self, record_type: str, external: str, record: Mapping[str, Any], *, update_existing: bool = True
    ) -> Upserted:
        """Upserts a record by external ID (``PUT .../{type}/eid:{external}``). It is looked up first:
        ``created`` says whether this call made it; with ``update_existing=False`` an existing
        record is left unchanged."""
        existing = self.find_by_external_id(record_type, external)
        if existing is not None and not update_existing:
            return Upserted(existing, external, False)
        body = {k: v for k, v in record.items() if k not in ("id", "externalId")}
        path = f"{RECORD_PATH}/{record_type}/eid:{quote(external, safe='')}"
        response = self._http.request("PUT", path, body=body)
        record_id = _record_id(response) if response.headers.get("Location") else existing
        if record_id is None:
            record_id = self.find_by_external_id(record_type, external)
        if record_id is None:
            raise RemoteRejectedError(
                f"NetSuite accepted the {record_type} {external} but cannot find it by its external ID",
                status=response.status_code,
            )
        return Upserted(record_id, external, existing is None)

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """The pipeline's :class:`~erpbridge.connectors.base.Connector` call: a canonical PurchaseOrder
        becomes a NetSuite sales order, once; ``reference`` is its internal ID."""
        kind = document.get("kind")
        if kind == "ShipNotice":
            return self.deliver_ship_notice(document, key=key)
        if kind == "GoodsMovement":
            return self.deliver_goods_movement(document, key=key)
        if kind != "PurchaseOrder":
            raise ConfigError(
                f"NetSuite endpoint {self.name} (netsuite_rest) takes PurchaseOrder, ShipNotice and "
                f"GoodsMovement documents, not {kind}",
                endpoint=self.name,
                key=key,
            )
        done, _ = self.upsert_sales_order(document, key=order_key(key))
        return Delivered(
            done.id,
            created=done.created,
            detail={"external_id": done.external_id, "po_number": document.get("po_number")},
        )

    def deliver_ship_notice(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """A canonical ShipNotice becomes one item fulfillment per order (PO), transformed from the
        sales order with that PO number, with its lines, packages and tracking numbers, once per
        shipment and PO (connectors/netsuite_shipping.py); ``reference`` is the fulfillments'
        internal IDs (comma-separated), ``detail["fulfillments"]`` says which order each came from."""
        done = []
        for plan in fulfillment_plans(document, prefix=self.settings.external_id_prefix):
            with self._concerning(
                f"fulfilling PO {plan.po_number} of shipment {plan.shipment_id} in NetSuite",
                po_number=plan.po_number,
                shipment_id=plan.shipment_id,
                external_id=plan.external_id,
            ):
                order = self._sales_order_for(plan.po_number)
                made = self.find_by_external_id("itemFulfillment", plan.external_id)
                if made is not None:
                    log.info("NetSuite has item fulfillment %s (%s) already", made, plan.external_id)
                    fulfilled = Upserted(made, plan.external_id, False)
                else:
                    lines = fulfillment_lines(plan, order.lines, self.items().lookup)
                    fulfilled = self.fulfill(
                        order.id,
                        external=plan.external_id,
                        lines=[FulfillmentLine(n, q) for n, q in lines],
                        packages=plan.packages,
                        date=dt.date.fromisoformat(plan.ship_date) if plan.ship_date else None,
                        memo=f"EDI ship notice {plan.shipment_id}",
                    )
            done.append((plan, order, fulfilled))
        return Delivered(
            ",".join(f.id for _, _, f in done),
            created=any(f.created for _, _, f in done),
            detail={
                "fulfillments": [
                    {
                        "po_number": plan.po_number,
                        "sales_order": order.id,
                        "sales_order_external_id": order.external_id,
                        "fulfillment": f.id,
                        "external_id": f.external_id,
                        "created": f.created,
                    }
                    for plan, order, f in done
                ]
            },
        )

    def adjustment_plans(self, document: Mapping[str, Any], *, key: str) -> list[AdjustmentPlan]:
        """The inventory adjustments a GoodsMovement becomes (connectors/netsuite_adjustments.py),
        items resolved through the cross-reference; nothing is posted."""
        if self.settings.adjustment_account is None:
            raise ConfigError(
                f"NetSuite endpoint {self.name} has no adjustment_account and locations: it cannot post "
                "GoodsMovements as inventory adjustments",
                endpoint=self.name,
            )
        return adjustment_plans(
            document,
            key=key,
            locations=self.settings.locations,
            lookup=self.items().lookup,
            prefix=self.settings.external_id_prefix,
        )

    def check(self, document: Mapping[str, Any], *, key: str) -> None:
        """Raises what :meth:`deliver` would refuse of a GoodsMovement before posting anything (an
        unknown item or warehouse, a kind that is not an adjustment), so that a file whose second
        movement is refused does not post its first. Other kinds are not checked here."""
        if document.get("kind") == "GoodsMovement":
            self.adjustment_plans(document, key=key)

    def deliver_goods_movement(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        """A canonical GoodsMovement (the WMS's adjustments) becomes one inventory adjustment per
        NetSuite location, each once per external ID (derived from ``key``): every line is checked
        and resolved before the first is posted. ``reference``: the adjustments' internal IDs."""
        movement = str(document.get("movement_id") or "")
        plans = self.adjustment_plans(document, key=key)
        done = []
        for plan in plans:
            made = self.adjust_inventory(
                plan.external_id,
                account=str(self.settings.adjustment_account),
                location=plan.location,
                changes=plan.changes,
                subsidiary=self.settings.subsidiary,
                memo=plan.memo,
                date=plan.date,
            )
            log.info(
                "%s NetSuite inventory adjustment %s (%s) for %s at %s: %d item(s)",
                "posted" if made.created else "found",
                made.id,
                plan.external_id,
                movement,
                plan.warehouse,
                len(plan.changes),
            )
            done.append((plan, made))
        return Delivered(
            ",".join(m.id for _, m in done),
            created=any(m.created for _, m in done),
            detail={
                "adjustments": [
                    {
                        "movement_id": movement,
                        "warehouse": plan.warehouse,
                        "location": plan.location,
                        "adjustment": m.id,
                        "external_id": m.external_id,
                        "created": m.created,
                        "changes": {item: str(q) for item, q in plan.changes.items()},
                    }
                    for plan, m in done
                ]
            },
        )

    def _sales_order_for(self, po_number: str) -> _OpenOrder:
        """The one sales order with ``otherRefNum`` = PO number, and its lines (SuiteQL)."""
        heads = list(
            self.suiteql(
                "SELECT t.id, t.externalid, t.status FROM transaction t "
                f"WHERE t.type = 'SalesOrd' AND t.otherrefnum = {_quoted(po_number)} ORDER BY t.id"
            )
        )
        if not heads:
            raise RemoteRejectedError(
                f"NetSuite has no sales order with PO # {po_number}: deliver the retailer's 850 first (or "
                "fix the PO number in the warehouse's shipment), then retry"
            )
        if len(heads) > 1:
            ids = ", ".join(str(h["id"]) for h in heads)
            raise RemoteRejectedError(
                f"NetSuite has {len(heads)} sales orders with PO # {po_number} (internal IDs {ids}): "
                "erpbridge cannot tell which one the shipment fulfils; fulfil it in NetSuite by hand"
            )
        head = heads[0]
        rows = self.suiteql(
            "SELECT l.linesequencenumber, l.item, l.quantity, l.quantityshiprecv FROM transactionline l "
            f"WHERE l.transaction = {int(head['id'])} AND l.mainline = 'F' ORDER BY l.linesequencenumber"
        )
        # NetSuite keeps a sales order's quantities negative in transactionline: sizes are what count
        lines = tuple(
            OrderLine(
                int(r["linesequencenumber"]),
                str(r["item"]),
                abs(finite_decimal(r.get("quantity")) or Decimal(0)),
                abs(finite_decimal(r.get("quantityshiprecv")) or Decimal(0)),
            )
            for r in rows
            if r.get("item") is not None
        )
        external = head.get("externalid")
        return _OpenOrder(str(head["id"]), str(external) if external else None, lines)

    def sales_order_record(self, document: Mapping[str, Any], *, key: str) -> dict[str, Any]:
        """The salesOrder record the mapping makes of a PurchaseOrder, items resolved."""
        applied = self._mapping.apply(dict(document))
        if applied.document is None or applied.findings:
            raise TransformError(
                "the mapping cannot make the sales order: "
                + "; ".join(str(f) for f in applied.findings)
                + " (fix the document or the mapping's tables, then replay)"
            )
        record = dict(applied.document)
        record["externalId"] = external_id(key, self.settings.external_id_prefix)
        resolved: dict[str, Any] = resolve_item_refs(record, self.items().lookup, where="salesOrder")
        return resolved

    def upsert_sales_order(self, document: Mapping[str, Any], *, key: str) -> tuple[Upserted, dict[str, Any]]:
        po = str(document.get("po_number") or "")
        meta = document.get("meta")
        partner = meta.get("partner_id") if isinstance(meta, Mapping) else None
        external = external_id(key, self.settings.external_id_prefix)
        with self._concerning(
            f"creating the NetSuite sales order for PO {po}",
            po_number=po,
            partner=partner,
            external_id=external,
        ):
            existing = self.find_by_external_id("salesOrder", external)
            if existing is not None:
                log.info("NetSuite has sales order %s (%s) already: not changing it", existing, external)
                return Upserted(existing, external, False), {}
            record = self.sales_order_record(document, key=key)
            done = self.upsert("salesOrder", external, record)
            log.info(
                "%s NetSuite sales order %s (%s) for PO %s",
                "created" if done.created else "found",
                done.id,
                external,
                po,
            )
            return done, record

    def upsert_customer(self, external: str, record: Mapping[str, Any]) -> Upserted:
        """Creates or updates a customer by external ID (``companyName``, ``subsidiary``, ...)."""
        with self._concerning(f"upserting NetSuite customer {external}", external_id=external):
            return self.upsert("customer", external, record)

    def adjust_inventory(
        self,
        external: str,
        *,
        account: str,
        location: str,
        changes: Mapping[str, Decimal],
        subsidiary: str | None = None,
        memo: str | None = None,
        date: dt.date | None = None,
    ) -> Upserted:
        """An inventory adjustment (``inventoryAdjustment``), once per external ID: ``changes`` maps
        item internal IDs to the quantity to add (negative to remove) in ``location``; ``account``
        is the adjustment account's internal ID. A repeat of the external ID changes nothing."""
        with self._concerning(f"adjusting NetSuite inventory ({external})", external_id=external):
            if not changes:
                raise TransformError("an inventory adjustment needs at least one item")
            record: dict[str, Any] = {
                "account": {"id": account},
                "adjLocation": {"id": location},
                "inventory": {
                    "items": [
                        {"item": {"id": item}, "location": {"id": location}, "adjustQtyBy": float(qty)}
                        for item, qty in changes.items()
                    ]
                },
            }
            if subsidiary:
                record["subsidiary"] = {"id": subsidiary}
            if memo:
                record["memo"] = memo
            if date:
                record["tranDate"] = date.isoformat()
            return self.upsert("inventoryAdjustment", external, record, update_existing=False)

    def fulfill(
        self,
        sales_order: str,
        *,
        external: str,
        lines: Sequence[FulfillmentLine] = (),
        packages: Sequence[Package] = (),
        ship_status: str = "C",
        date: dt.date | None = None,
        memo: str | None = None,
    ) -> Upserted:
        """An item fulfillment transformed from sales order ``sales_order`` (internal ID), once per
        external ID: the lines given (all open lines when none are), and the packages with their
        tracking numbers. ``ship_status`` is A picked, B packed or C shipped."""
        with self._concerning(
            f"fulfilling NetSuite sales order {sales_order}", sales_order=sales_order, external_id=external
        ):
            existing = self.find_by_external_id("itemFulfillment", external)
            if existing is not None:
                log.info(
                    "NetSuite has item fulfillment %s (%s) already: not making another", existing, external
                )
                return Upserted(existing, external, False)
            body: dict[str, Any] = {"externalId": external, "shipStatus": {"id": ship_status}}
            if lines:
                body["item"] = {
                    "items": [
                        {
                            "orderLine": line.order_line,
                            "itemReceive": True,
                            "quantity": float(line.quantity),
                            **({"location": {"id": line.location}} if line.location else {}),
                        }
                        for line in lines
                    ]
                }
            if packages:
                body["package"] = {
                    "items": [
                        {
                            "packageTrackingNumber": p.tracking_number,
                            **({"packageWeight": float(p.weight)} if p.weight is not None else {}),
                            **({"packageDescr": p.description} if p.description else {}),
                        }
                        for p in packages
                    ]
                }
            if date:
                body["tranDate"] = date.isoformat()
            if memo:
                body["memo"] = memo
            path = f"{RECORD_PATH}/salesOrder/{quote(sales_order, safe='')}/!transform/itemFulfillment"
            response = self._http.request("POST", path, body=body)
            made = _record_id(response)
            log.info(
                "NetSuite item fulfillment %s (%s) from sales order %s, %d package(s)",
                made,
                external,
                sales_order,
                len(packages),
            )
            return Upserted(made, external, True)

    # -- SuiteQL

    def suiteql(self, query: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every row of a SuiteQL query, page by page (``limit``/``offset`` until ``hasMore`` is
        false), without NetSuite's ``links``. Columns NetSuite leaves out (nulls) are missing."""
        size = page_size or self.settings.page_size
        offset = 0
        while True:
            response = self._http.request(
                "POST",
                SUITEQL_PATH,
                params={"limit": size, "offset": offset},
                body={"q": query},
                headers={"Prefer": "transient"},
            )
            page = response.json()
            rows = page.get("items") if isinstance(page, dict) else None
            if not isinstance(rows, list):
                raise RemoteRejectedError(
                    "NetSuite's SuiteQL answer has no items", status=response.status_code
                )
            for row in rows:
                if isinstance(row, dict):
                    yield {k: v for k, v in row.items() if k != "links"}
            if not page.get("hasMore") or not rows:
                return
            offset += len(rows)

    def items(self) -> ItemIndex:
        """The item cross-reference (SKU = ``itemid``, UPC = ``upccode``), read with SuiteQL once
        and kept until :meth:`close` or :meth:`refresh_items`."""
        with self._items_lock:
            if self._items is None:
                with self._concerning("reading the NetSuite item cross-reference"):
                    rows = self.suiteql(
                        "SELECT id, itemid, upccode, displayname, itemtype FROM item "
                        "WHERE isinactive = 'F' ORDER BY id"
                    )
                    self._items = ItemIndex.of(
                        [
                            Item(
                                id=str(r["id"]),
                                sku=str(r.get("itemid") or ""),
                                upc=str(r["upccode"]) if r.get("upccode") else None,
                                name=str(r["displayname"]) if r.get("displayname") else None,
                                type=str(r["itemtype"]) if r.get("itemtype") else None,
                            )
                            for r in rows
                        ]
                    )
                log.info("NetSuite item cross-reference: %d items", len(self._items.items))
            return self._items

    def item_master(
        self, *, types: Sequence[str] = ITEM_MASTER_TYPES, custom: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The active items of ``types`` (SuiteQL ``itemtype``) with what a warehouse needs of them,
        read with SuiteQL page by page in internal-ID order: ``id``, ``itemid`` (the SKU),
        ``upccode``, ``displayname``, ``description`` (the sales description), ``itemtype``,
        ``weight`` and ``weightunit`` (the Weight Unit list's internal ID: 1 lb, 2 oz, 3 kg, 4 g),
        ``countryofmanufacture`` (ISO country code), ``manufacturertariff`` (the HS tariff number),
        and the ``custom`` item fields (``custitem_...``, such as dimensions: NetSuite's item has no
        standard ones). Rows as SuiteQL answers them: strings, empty fields left out."""
        for name in custom:
            if not _CUSTOM_FIELD.fullmatch(name):
                raise ConfigError(
                    f"{name!r} is not a NetSuite custom item field ID (custitem_...)", endpoint=self.name
                )
        for kind in types:
            if not kind.isalnum():
                raise ConfigError(f"{kind!r} is not a NetSuite item type", endpoint=self.name)
        columns = ", ".join((*ITEM_MASTER_COLUMNS, *dict.fromkeys(custom)))
        kinds = ", ".join(_quoted(k) for k in types)
        with self._concerning("reading the NetSuite item master"):
            rows = list(
                self.suiteql(
                    f"SELECT {columns} FROM item WHERE isinactive = 'F' AND itemtype IN ({kinds}) ORDER BY id"
                )
            )
        log.info("NetSuite item master: %d items", len(rows))
        return rows

    def refresh_items(self) -> ItemIndex:
        with self._items_lock:
            self._items = None
        return self.items()

    def sales_order_status(
        self, *, external: str | None = None, po_number: str | None = None
    ) -> SalesOrderStatus | None:
        """A sales order by external ID or by PO number (``otherrefnum``), with its lines, or None."""
        if (external is None) == (po_number is None):
            raise ValueError("give external or po_number")
        condition = (
            f"t.externalid = {_quoted(external)}"
            if external is not None
            else f"t.otherrefnum = {_quoted(po_number or '')}"
        )
        with self._concerning("reading a NetSuite sales order", external_id=external, po_number=po_number):
            heads = list(
                self.suiteql(
                    "SELECT t.id, t.tranid, t.externalid, t.otherrefnum, t.status, "
                    "BUILTIN.DF(t.status) AS statustext FROM transaction t "
                    f"WHERE t.type = 'SalesOrd' AND {condition} ORDER BY t.id"
                )
            )
            if not heads:
                return None
            head = heads[0]
            lines = tuple(
                self.suiteql(
                    "SELECT l.linesequencenumber, l.item, l.quantity, l.quantityshiprecv FROM transactionline l "
                    f"WHERE l.transaction = {int(head['id'])} AND l.mainline = 'F' ORDER BY l.linesequencenumber"
                )
            )
        return SalesOrderStatus(
            id=str(head["id"]),
            tran_id=head.get("tranid"),
            external_id=head.get("externalid"),
            po_number=head.get("otherrefnum"),
            status=head.get("status"),
            status_text=head.get("statustext"),
            lines=lines,
        )

    def on_hand(self, *, location: str | None = None) -> list[OnHand]:
        """On-hand and available quantities per item and location (``inventoryitemlocations``), for
        the nightly comparison; SKUs from the item cross-reference."""
        where = f" WHERE location = {int(location)}" if location is not None else ""
        with self._concerning("reading NetSuite on-hand quantities", location=location):
            rows = list(
                self.suiteql(
                    "SELECT item, location, quantityonhand, quantityavailable FROM inventoryitemlocations"
                    f"{where} ORDER BY item, location"
                )
            )
            index = self.items()
        out = []
        for row in rows:
            item = str(row["item"])
            known = index.by_id.get(item)
            out.append(
                OnHand(
                    item=item,
                    sku=known.sku if known else None,
                    location=str(row["location"]),
                    on_hand=finite_decimal(row.get("quantityonhand")) or Decimal(0),
                    available=finite_decimal(row.get("quantityavailable")),
                )
            )
        return out


__all__ = [
    "ITEM_MASTER_COLUMNS",
    "ITEM_MASTER_TYPES",
    "RECORD_PATH",
    "SUITEQL_PATH",
    "FulfillmentLine",
    "Item",
    "ItemIndex",
    "NetSuiteError",
    "NetSuiteRestConnector",
    "NetSuiteRestSettings",
    "OnHand",
    "Package",
    "SalesOrderStatus",
    "Upserted",
    "parse_error",
]
