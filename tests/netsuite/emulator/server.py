"""The NetSuite emulator: SuiteTalk REST (record service, SuiteQL, the OAuth 2.0 token endpoint) and
SuiteTalk SOAP on one stdlib HTTP server, over SQLite tables in memory. What it does and does not do,
and where each behaviour comes from: README.md beside this file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import suiteql
from .auth import AuthError, Integration, Verifier

REST = "/services/rest"
RECORD = f"{REST}/record/v1"
TOKEN = f"{REST}/auth/oauth2/v1/token"
SUITEQL = f"{REST}/query/v1/suiteql"
SOAP_PATH = re.compile(r"^/services/NetSuitePort_(\d{4}_\d)$")

INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > "
    "Users/Roles > User Management > View Login Audit Trail."
)
RFC = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15"
_TYPES = {"400": "5.1", "401": "5.2", "403": "5.4", "404": "5.5", "405": "5.6", "429": "5.29", "500": "6.1"}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
SCHEMA = """
CREATE TABLE item (id INTEGER PRIMARY KEY, itemid TEXT, upccode TEXT, displayname TEXT, itemtype TEXT,
                   isinactive TEXT DEFAULT 'F', externalid TEXT, description TEXT, weight REAL,
                   weightunit INTEGER, countryofmanufacture TEXT, manufacturertariff TEXT);
CREATE TABLE customer (id INTEGER PRIMARY KEY, entityid TEXT, companyname TEXT, externalid TEXT,
                       isinactive TEXT DEFAULT 'F');
CREATE TABLE location (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE account (id INTEGER PRIMARY KEY, acctname TEXT);
CREATE TABLE [transaction] (id INTEGER PRIMARY KEY, type TEXT, tranid TEXT, externalid TEXT, entity INTEGER,
                            status TEXT, otherrefnum TEXT, trandate TEXT, shipdate TEXT, memo TEXT,
                            createdfrom INTEGER);
CREATE TABLE transactionline ([transaction] INTEGER, linesequencenumber INTEGER, mainline TEXT, item INTEGER,
                              quantity REAL, rate REAL, quantityshiprecv REAL DEFAULT 0, location INTEGER,
                              orderline INTEGER, memo TEXT);
CREATE TABLE inventoryitemlocations (item INTEGER, location INTEGER, quantityonhand REAL,
                                     quantityavailable REAL, PRIMARY KEY (item, location));
CREATE TABLE _record (type TEXT, id INTEGER, externalid TEXT, body TEXT, PRIMARY KEY (type, id));
"""
#: REST record types the emulator serves (lower case, as NetSuite matches them), and their SuiteQL type.
RECORD_TYPES = {
    "salesorder": "SalesOrd",
    "itemfulfillment": "ItemShip",
    "inventoryadjustment": "InvAdjst",
    "customer": None,
    "inventoryitem": None,
}
CANONICAL_NAME = {
    "salesorder": "salesOrder",
    "itemfulfillment": "itemFulfillment",
    "inventoryadjustment": "inventoryAdjustment",
    "customer": "customer",
    "inventoryitem": "inventoryItem",
}


class RestError(Exception):
    """An error answered the way NetSuite's REST service answers it."""

    def __init__(self, status: int, code: str, detail: str, *, path: str | None = None, headers: Any = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"detail": self.detail, "o:errorCode": self.code}
        if self.path:
            item["o:errorPath"] = self.path
        return {
            "type": f"{RFC}.{_TYPES.get(str(self.status), '5.1')}",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "o:errorDetails": [item],
        }


@dataclass
class Injected:
    """An answer the next requests get instead of their own (a 429 with Retry-After, a 503...)."""

    status: int
    code: str
    detail: str
    times: int
    retry_after: str | None = None


@dataclass
class Stats:
    requests: int = 0
    in_flight: int = 0
    peak: int = 0
    rejected: int = 0  # answered 429 / a concurrency fault because of the limit
    by_path: dict[str, int] = field(default_factory=dict)


class NetSuiteEmulator:
    """One NetSuite account. Start it with :meth:`start` (a free port on 127.0.0.1) and stop it with
    :meth:`stop`. ``concurrency_limit`` requests may run at once (more get HTTP 429, or the SOAP
    concurrency fault); ``latency`` is how long each accepted request takes (seconds)."""

    def __init__(
        self,
        *,
        account: str,
        integration: Integration,
        concurrency_limit: int = 5,
        latency: float = 0.0,
    ) -> None:
        self.account = account  # realm form: 1234567_SB1
        self.verifier = Verifier(account, integration)
        self.concurrency_limit = concurrency_limit
        self.latency = latency
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.db.create_function("ns_df", 1, suiteql.display)
        self.lock = threading.RLock()
        self.stats = Stats()
        self.injected: list[Injected] = []
        self.soap_searches: dict[str, list[int]] = {}
        self.log: list[tuple[str, str, int]] = []  # method, path, status
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = 100

    # -- lifecycle

    def start(self) -> NetSuiteEmulator:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="netsuite-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def soap_url(self) -> str:
        return f"{self.url}/services/NetSuitePort_2024_1"

    # -- test helpers

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def add_item(
        self,
        sku: str,
        *,
        upc: str | None = None,
        name: str | None = None,
        item_id: int | None = None,
        item_type: str = "InvtPart",
        inactive: bool = False,
        **fields: Any,
    ) -> int:
        """An item; ``fields`` are more of its columns (``description``, ``weight``, ``weightunit``
        as the list's internal ID: 1 lb, 2 oz, 3 kg, 4 g; ``countryofmanufacture``,
        ``manufacturertariff``), or custom fields (``custitem_*``) the account defines."""
        with self.lock:
            new = item_id or self.next_id()
            self.db.execute(
                "INSERT INTO item (id, itemid, upccode, displayname, itemtype, isinactive, externalid) "
                "VALUES (?,?,?,?,?,?,?)",
                (new, sku, upc, name or sku, item_type, "T" if inactive else "F", sku),
            )
            self.set_item(new, **fields)
            return new

    def set_item(self, item: int, **fields: Any) -> None:
        """Changes columns of an item (a user editing the item record); a ``custitem_*`` field the
        account has not defined yet is defined first (Customization > Lists, Records, & Fields >
        Item Fields)."""
        with self.lock:
            known = {row[1] for row in self.db.execute("PRAGMA table_info(item)")}
            for name, value in fields.items():
                if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                    raise ValueError(f"not a field name: {name!r}")
                if name not in known:
                    if not name.startswith("custitem"):
                        raise ValueError(f"the item record has no field {name}")
                    self.db.execute(f"ALTER TABLE item ADD COLUMN {name}")
                    known.add(name)
                self.db.execute(f"UPDATE item SET {name} = ? WHERE id = ?", (value, item))

    def add_customer(self, name: str, *, customer_id: int | None = None, external: str | None = None) -> int:
        with self.lock:
            new = customer_id or self.next_id()
            self.db.execute(
                "INSERT INTO customer (id, entityid, companyname, externalid) VALUES (?,?,?,?)",
                (new, name, name, external),
            )
            return new

    def add_location(self, name: str, *, location_id: int) -> int:
        with self.lock:
            self.db.execute("INSERT INTO location (id, name) VALUES (?,?)", (location_id, name))
            return location_id

    def add_account(self, name: str, *, account_id: int) -> int:
        with self.lock:
            self.db.execute("INSERT INTO account (id, acctname) VALUES (?,?)", (account_id, name))
            return account_id

    def set_on_hand(self, item: int, location: int, quantity: float) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO inventoryitemlocations VALUES (?,?,?,?)",
                (item, location, quantity, quantity),
            )

    def inject(
        self, status: int, code: str, detail: str, *, times: int = 1, retry_after: str | None = None
    ) -> None:
        with self.lock:
            self.injected.append(Injected(status, code, detail, times, retry_after))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.db.execute(suiteql.quote_keywords(sql), args).fetchall())

    def record(self, record_type: str, record_id: int) -> dict[str, Any] | None:
        rows = self.query("SELECT body FROM _record WHERE type = ? AND id = ?", record_type, record_id)
        return json.loads(rows[0][0]) if rows else None

    # -- governance

    @contextmanager
    def admitted(self) -> Iterator[bool]:
        """Counts a request in flight; yields False when it is over the concurrency limit."""
        with self.lock:
            self.stats.requests += 1
            self.stats.in_flight += 1
            self.stats.peak = max(self.stats.peak, self.stats.in_flight)
            allowed = self.stats.in_flight <= self.concurrency_limit
            if not allowed:
                self.stats.rejected += 1
        try:
            if allowed and self.latency:
                time.sleep(self.latency)  # the request's processing time, while it holds its slot
            yield allowed
        finally:
            with self.lock:
                self.stats.in_flight -= 1

    def take_injected(self) -> Injected | None:
        with self.lock:
            if not self.injected:
                return None
            first = self.injected[0]
            first.times -= 1
            if first.times <= 0:
                self.injected.pop(0)
            return first

    # -- REST: authentication

    def authenticate(self, method: str, url: str, header: str) -> None:
        if header.startswith("Bearer "):
            self.verifier.check_bearer(header)
        else:
            with self.lock:
                self.verifier.check_oauth1(method, url, header)

    # -- REST: records

    def _ref_exists(self, table: str, value: Any) -> int | None:
        try:
            wanted = int(value)
        except (TypeError, ValueError):
            return None
        rows = self.db.execute(f'SELECT id FROM "{table}" WHERE id = ?', (wanted,)).fetchall()
        return wanted if rows else None

    def find_eid(self, record_type: str, external: str) -> int | None:
        rows = self.db.execute(
            "SELECT id FROM _record WHERE type = ? AND externalid = ?", (record_type, external)
        ).fetchall()
        return int(rows[0][0]) if rows else None

    def rest_get(self, record_type: str, ref: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            record_id = self._resolve(record_type, ref)
            body = self.record(record_type, record_id)
            assert body is not None
            if record_type == "salesorder":
                status = self.db.execute(
                    "SELECT status FROM [transaction] WHERE id = ?", (record_id,)
                ).fetchone()
                if status:
                    body["status"] = {"id": status[0], "refName": suiteql.display(status[0]).split(" : ")[-1]}
        out = {"links": [{"rel": "self", "href": f"{RECORD}/{CANONICAL_NAME[record_type]}/{record_id}"}]}
        if fields:
            wanted = {f.strip() for f in fields.split(",")}
            out.update({k: v for k, v in body.items() if k in wanted})
        else:
            out.update(body)
        return out

    def _resolve(self, record_type: str, ref: str) -> int:
        if ref.startswith("eid:"):
            found = self.find_eid(record_type, ref[4:])
        else:
            try:
                found = int(ref)
            except ValueError:
                found = None
            if found is not None and self.record(record_type, found) is None:
                found = None
        if found is None:
            raise RestError(
                404,
                "NONEXISTENT_ID",
                "The record instance does not exist. Provide a valid record instance ID.",
            )
        return found

    def rest_upsert(self, record_type: str, external: str, body: dict[str, Any]) -> int:
        with self.lock:
            existing = self.find_eid(record_type, external)
            if record_type == "salesorder":
                return self._sales_order(existing, external, body)
            if record_type == "customer":
                return self._customer(existing, external, body)
            if record_type == "inventoryadjustment":
                return self._adjustment(existing, external, body)
            raise RestError(405, "INVALID_REQUEST", f"The emulator does not upsert {record_type} records.")

    def _store(self, record_type: str, record_id: int, external: str | None, body: dict[str, Any]) -> None:
        stored = dict(body, id=str(record_id))
        if external is not None:
            stored["externalId"] = external
        self.db.execute(
            "INSERT OR REPLACE INTO _record (type, id, externalid, body) VALUES (?,?,?,?)",
            (record_type, record_id, external, json.dumps(stored)),
        )

    def _sales_order(self, existing: int | None, external: str, body: dict[str, Any]) -> int:
        previous = self.record("salesorder", existing) if existing is not None else {}
        merged = {**(previous or {}), **body}
        entity = (merged.get("entity") or {}).get("id")
        if entity is None:
            raise RestError(400, "USER_ERROR", "Please enter value(s) for: Customer.", path="entity")
        if self._ref_exists("customer", entity) is None:
            raise RestError(
                400,
                "USER_ERROR",
                f"Error while accessing a resource. Invalid Field Value {entity} for the following field: entity.",
                path="entity",
            )
        lines = (merged.get("item") or {}).get("items") or []
        if not lines:
            raise RestError(
                400, "USER_ERROR", "You must enter at least one line item for this transaction.", path="item"
            )
        for n, line in enumerate(lines):
            item = (line.get("item") or {}).get("id")
            if item is None or self._ref_exists("item", item) is None:
                raise RestError(
                    400,
                    "USER_ERROR",
                    f"Error while accessing a resource. Invalid Field Value {item} for the following field: item.",
                    path=f"item.items[{n}].item",
                )
            if not isinstance(line.get("quantity"), (int, float)) or line["quantity"] <= 0:
                raise RestError(
                    400, "USER_ERROR", "Invalid number (must be positive).", path=f"item.items[{n}].quantity"
                )
        status = ((merged.get("orderStatus") or {}).get("id")) or "A"
        if existing is None:
            record_id = self.next_id()
            self.db.execute(
                "INSERT INTO [transaction] (id, type, tranid, externalid, entity, status, otherrefnum, trandate, "
                "shipdate, memo) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    record_id,
                    "SalesOrd",
                    f"SO{record_id}",
                    external,
                    int(entity),
                    status,
                    merged.get("otherRefNum"),
                    merged.get("tranDate"),
                    merged.get("shipDate"),
                    merged.get("memo"),
                ),
            )
        else:
            record_id = existing
            self.db.execute(
                "UPDATE [transaction] SET entity = ?, otherrefnum = ?, trandate = ?, shipdate = ?, memo = ? "
                "WHERE id = ?",
                (
                    int(entity),
                    merged.get("otherRefNum"),
                    merged.get("tranDate"),
                    merged.get("shipDate"),
                    merged.get("memo"),
                    record_id,
                ),
            )
            self.db.execute("DELETE FROM transactionline WHERE [transaction] = ?", (record_id,))
        for n, line in enumerate(lines, start=1):
            self.db.execute(
                "INSERT INTO transactionline ([transaction], linesequencenumber, mainline, item, quantity, rate) "
                "VALUES (?,?,?,?,?,?)",
                (record_id, n, "F", int(line["item"]["id"]), float(line["quantity"]), line.get("rate")),
            )
        merged["tranId"] = f"SO{record_id}"
        self._store("salesorder", record_id, external, merged)
        return record_id

    def _customer(self, existing: int | None, external: str, body: dict[str, Any]) -> int:
        name = body.get("companyName") or body.get("entityId")
        if existing is None and not name:
            raise RestError(400, "USER_ERROR", "Please enter value(s) for: Company Name.", path="companyName")
        if existing is None:
            record_id = self.next_id()
            self.db.execute(
                "INSERT INTO customer (id, entityid, companyname, externalid) VALUES (?,?,?,?)",
                (record_id, body.get("entityId") or name, name, external),
            )
        else:
            record_id = existing
            if name:
                self.db.execute("UPDATE customer SET companyname = ? WHERE id = ?", (name, record_id))
        previous = self.record("customer", record_id) or {}
        self._store("customer", record_id, external, {**previous, **body})
        return record_id

    def _adjustment(self, existing: int | None, external: str, body: dict[str, Any]) -> int:
        account = (body.get("account") or {}).get("id")
        location = (body.get("adjLocation") or {}).get("id")
        if account is None or self._ref_exists("account", account) is None:
            raise RestError(
                400, "USER_ERROR", "Please enter value(s) for: Adjustment Account.", path="account"
            )
        lines = (body.get("inventory") or {}).get("items") or []
        if not lines:
            raise RestError(400, "USER_ERROR", "You must enter at least one line item for this transaction.")
        if existing is not None:  # a repeat replaces the adjustment: undo its lines first
            for item, loc, qty in self.db.execute(
                "SELECT item, location, quantity FROM transactionline WHERE [transaction] = ?", (existing,)
            ).fetchall():
                self._move(item, loc, -qty)
            self.db.execute("DELETE FROM transactionline WHERE [transaction] = ?", (existing,))
            record_id = existing
        else:
            record_id = self.next_id()
            self.db.execute(
                "INSERT INTO [transaction] (id, type, tranid, externalid, memo, trandate) VALUES (?,?,?,?,?,?)",
                (record_id, "InvAdjst", f"ADJ{record_id}", external, body.get("memo"), body.get("tranDate")),
            )
        for n, line in enumerate(lines, start=1):
            item = (line.get("item") or {}).get("id")
            loc = (line.get("location") or {}).get("id") or location
            if self._ref_exists("item", item) is None or self._ref_exists("location", loc) is None:
                raise RestError(
                    400,
                    "USER_ERROR",
                    f"Error while accessing a resource. Invalid Field Value {item} for the following field: item.",
                    path=f"inventory.items[{n - 1}]",
                )
            qty = float(line.get("adjustQtyBy") or 0)
            self.db.execute(
                "INSERT INTO transactionline ([transaction], linesequencenumber, mainline, item, quantity, location) "
                "VALUES (?,?,?,?,?,?)",
                (record_id, n, "F", int(item), qty, int(loc)),
            )
            self._move(int(item), int(loc), qty)
        self._store("inventoryadjustment", record_id, external, body)
        return record_id

    def _move(self, item: int, location: int, qty: float) -> None:
        self.db.execute(
            "INSERT INTO inventoryitemlocations VALUES (?,?,?,?) ON CONFLICT (item, location) DO UPDATE SET "
            "quantityonhand = quantityonhand + excluded.quantityonhand, "
            "quantityavailable = quantityavailable + excluded.quantityavailable",
            (item, location, qty, qty),
        )

    def transform_fulfillment(self, order_ref: str, body: dict[str, Any]) -> int:
        with self.lock:
            order = self._resolve("salesorder", order_ref)
            status = self.db.execute(
                "SELECT status, entity FROM [transaction] WHERE id = ?", (order,)
            ).fetchone()
            if status[0] not in ("B", "D", "E"):
                raise RestError(
                    400,
                    "USER_ERROR",
                    f"You can not initialize itemfulfillment: invalid reference {order}.",
                )
            external = body.get("externalId")
            if external and self.find_eid("itemfulfillment", external) is not None:
                raise RestError(
                    400, "DUP_RCRD", "A record with the same external ID already exists.", path="externalId"
                )
            lines = {
                seq: (item, qty, done)
                for seq, item, qty, done in self.db.execute(
                    "SELECT linesequencenumber, item, quantity, quantityshiprecv FROM transactionline "
                    "WHERE [transaction] = ? AND mainline = 'F'",
                    (order,),
                ).fetchall()
            }
            wanted = (body.get("item") or {}).get("items")
            chosen: list[tuple[int, float]] = []
            if wanted:
                for n, line in enumerate(wanted):
                    seq = line.get("orderLine")
                    if seq not in lines:
                        raise RestError(
                            400,
                            "USER_ERROR",
                            f"Invalid Field Value {seq} for the following field: orderLine.",
                            path=f"item.items[{n}].orderLine",
                        )
                    if line.get("itemReceive") is False:
                        continue
                    _item, qty, done = lines[seq]
                    take = float(line.get("quantity", qty - done))
                    if take <= 0 or take > qty - done + 1e-9:
                        raise RestError(
                            400,
                            "USER_ERROR",
                            f"You cannot fulfill more than the remaining quantity ({qty - done:g}) of line {seq}.",
                            path=f"item.items[{n}].quantity",
                        )
                    chosen.append((seq, take))
            else:
                chosen = [
                    (seq, qty - done) for seq, (_, qty, done) in sorted(lines.items()) if qty - done > 0
                ]
            if not chosen:
                raise RestError(
                    400, "USER_ERROR", "You must enter at least one line item for this transaction."
                )
            record_id = self.next_id()
            ship_status = (body.get("shipStatus") or {}).get("id") or "C"
            self.db.execute(
                "INSERT INTO [transaction] (id, type, tranid, externalid, entity, status, trandate, memo, "
                "createdfrom) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record_id,
                    "ItemShip",
                    f"IF{record_id}",
                    external,
                    status[1],
                    ship_status,
                    body.get("tranDate"),
                    body.get("memo"),
                    order,
                ),
            )
            for n, (seq, take) in enumerate(chosen, start=1):
                self.db.execute(
                    "INSERT INTO transactionline ([transaction], linesequencenumber, mainline, item, quantity, "
                    "orderline) VALUES (?,?,?,?,?,?)",
                    (record_id, n, "F", lines[seq][0], take, seq),
                )
                self.db.execute(
                    "UPDATE transactionline SET quantityshiprecv = quantityshiprecv + ? "
                    "WHERE [transaction] = ? AND linesequencenumber = ?",
                    (take, order, seq),
                )
            remaining = self.db.execute(
                "SELECT SUM(quantity - quantityshiprecv) FROM transactionline WHERE [transaction] = ? AND mainline = 'F'",
                (order,),
            ).fetchone()[0]
            self.db.execute(
                "UPDATE [transaction] SET status = ? WHERE id = ?", ("F" if remaining <= 1e-9 else "D", order)
            )
            stored = dict(body, createdFrom={"id": str(order)}, tranId=f"IF{record_id}")
            self._store("itemfulfillment", record_id, external, stored)
            return record_id

    def run_suiteql(self, query: str, limit: int, offset: int) -> dict[str, Any]:
        with self.lock:
            try:
                rows = suiteql.run(self.db, query)
            except suiteql.SuiteQLError as exc:
                raise RestError(
                    400,
                    "INVALID_PARAMETER",
                    f"Invalid search query. Detailed unprocessed description follows. Search error occurred: {exc}",
                    path="q",
                ) from None
        page = rows[offset : offset + limit]
        total = len(rows)
        has_more = offset + len(page) < total

        def link(rel: str, at: int) -> dict[str, str]:
            return {"rel": rel, "href": f"{self.url}{SUITEQL}?limit={limit}&offset={at}"}

        links = []
        if offset > 0:
            links.append(link("previous", max(0, offset - limit)))
        links.append(link("first", 0))
        if has_more:
            links.append(link("next", offset + limit))
        links.append(link("last", max(0, ((total - 1) // limit) * limit) if total else 0))
        links.append(link("self", offset))
        return {
            "links": links,
            "count": len(page),
            "hasMore": has_more,
            "items": [{"links": [], **row} for row in page],
            "offset": offset,
            "totalResults": total,
        }


class _Handler(BaseHTTPRequestHandler):
    owner: NetSuiteEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read emulator.log instead
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        with self.owner.lock:
            self.owner.log.append((self.command, self.path.split("?")[0], status))

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send(
            status,
            data,
            "application/vnd.oracle.resource+json; type=error"
            if status >= 400
            else "application/vnd.oracle.resource+json; type=collection",
            headers,
        )

    def _error(self, error: RestError) -> None:
        self._json(error.status, error.body(), error.headers)

    def _handle(self, method: str) -> None:
        owner = self.owner
        parts = urlsplit(self.path)
        path = parts.path
        body = self._body()
        soap = SOAP_PATH.match(path)
        with owner.admitted() as allowed:
            if soap is not None:
                from .soap import handle_soap

                status, data = handle_soap(owner, body, allowed=allowed)
                self._send(status, data, "text/xml; charset=utf-8")
                return
            if not allowed:
                self._error(
                    RestError(
                        429,
                        "CONCURRENCY_LIMIT_EXCEEDED",
                        "Concurrent request limit exceeded. Request blocked.",
                    )
                )
                return
            try:
                self._rest(method, path, parts.query, body)
            except RestError as error:
                self._error(error)

    def _rest(self, method: str, path: str, query: str, raw: bytes) -> None:
        owner = self.owner
        if path == TOKEN and method == "POST":
            form = dict(parse_qsl(raw.decode()))
            try:
                token, lifetime = owner.verifier.issue_bearer(form, owner.url + TOKEN)
            except AuthError as exc:
                self._json(400 if exc.code != "invalid_client" else 401, {"error": exc.code})
                return
            self._json(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})
            return
        injected = owner.take_injected()
        if injected is not None:
            headers = {"Retry-After": injected.retry_after} if injected.retry_after else {}
            raise RestError(injected.status, injected.code, injected.detail, headers=headers)
        url = f"http://{self.headers.get('Host')}{self.path}"
        try:
            owner.authenticate(method, url, self.headers.get("Authorization") or "")
        except AuthError:
            raise RestError(401, "INVALID_LOGIN", INVALID_LOGIN) from None
        params = dict(parse_qsl(query))
        if path == SUITEQL:
            if method != "POST":
                raise RestError(405, "INVALID_REQUEST", "Use POST to run SuiteQL queries.")
            if (self.headers.get("Prefer") or "").strip().lower() != "transient":
                raise RestError(
                    400,
                    "INVALID_HEADER",
                    "The request must have the header Prefer: transient.",
                    path="Prefer",
                )
            try:
                limit = int(params.get("limit", "1000"))
                offset = int(params.get("offset", "0"))
            except ValueError:
                raise RestError(400, "INVALID_PARAMETER", "limit and offset must be integers.") from None
            if not 1 <= limit <= 1000 or offset < 0:
                raise RestError(400, "INVALID_PARAMETER", "The limit must be between 1 and 1000.")
            query_text = _json_body(raw).get("q")
            if not isinstance(query_text, str):
                raise RestError(400, "INVALID_CONTENT", "The request body has no query (q).", path="q")
            self._json(200, owner.run_suiteql(query_text, limit, offset))
            return
        if not path.startswith(RECORD + "/"):
            raise RestError(404, "NONEXISTENT_ID", f"The resource {path} does not exist.")
        segments = [unquote(s) for s in path[len(RECORD) + 1 :].split("/")]
        record_type = segments[0].lower()
        if record_type not in RECORD_TYPES:
            raise RestError(404, "INVALID_RCRD_TYPE", f"The record type {segments[0]} is not supported.")
        if len(segments) == 2 and method == "GET":
            self._json(200, owner.rest_get(record_type, segments[1], params.get("fields")))
            return
        if len(segments) == 2 and method == "PUT" and segments[1].startswith("eid:"):
            record_id = owner.rest_upsert(record_type, segments[1][4:], _json_body(raw))
            self._send(
                204, b"", "", {"Location": f"{owner.url}{RECORD}/{CANONICAL_NAME[record_type]}/{record_id}"}
            )
            return
        if (
            len(segments) == 4
            and method == "POST"
            and record_type == "salesorder"
            and segments[2] == "!transform"
            and segments[3].lower() == "itemfulfillment"
        ):
            record_id = owner.transform_fulfillment(segments[1], _json_body(raw))
            self._send(204, b"", "", {"Location": f"{owner.url}{RECORD}/itemFulfillment/{record_id}"})
            return
        raise RestError(405, "INVALID_REQUEST", f"The emulator does not serve {method} {path}.")


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise RestError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise RestError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
    return body
