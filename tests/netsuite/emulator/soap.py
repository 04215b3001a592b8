"""The emulator's SOAP endpoint (``/services/NetSuitePort_2024_1``): upsert, upsertList, get, search and
searchMoreWithId over the same tables as REST, after checking the tokenPassport.

Shapes from NetSuite Help: "upsert" and "upsertList" (a writeResponse per record, in order, with
``platformCore:status isSuccess`` and ``statusDetail`` code/message, and a ``baseRef`` typed
``platformCore:RecordRef``), "TokenPassport Complex Type" (a bad passport is a SOAP fault
``invalidCredentialsFault`` with code INVALID_LOGIN_ATTEMPT), "Errors Related to Concurrency
Violations" (past the limit: ``exceededConcurrentRequestLimitFault``, WS_REQUEST_BLOCKED), "search"
and "searchMoreWithId" (searchResult with totalRecords, pageSize, totalPages, pageIndex, searchId).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .auth import AuthError
from .server import RestError

if TYPE_CHECKING:
    from .server import NetSuiteEmulator

V = "2024_1"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
MSGS = f"urn:messages_{V}.platform.webservices.netsuite.com"
CORE = f"urn:core_{V}.platform.webservices.netsuite.com"
FAULTS = f"urn:faults_{V}.platform.webservices.netsuite.com"
SALES = f"urn:sales_{V}.transactions.webservices.netsuite.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ORDER_STATUS = {
    "A": "_pendingApproval",
    "B": "_pendingFulfillment",
    "D": "_partiallyFulfilled",
    "F": "_pendingBilling",
}
STATUS_CODE = {v: k for k, v in ORDER_STATUS.items()}
SHIP_STATUS = {"_picked": "A", "_packed": "B", "_shipped": "C"}


def _envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="{XSI}"><soapenv:Header>'
        f'<platformMsgs:documentInfo xmlns:platformMsgs="{MSGS}"><platformMsgs:nsId>WEBSERVICES_{uuid.uuid4().hex[:12]}'
        f"</platformMsgs:nsId></platformMsgs:documentInfo></soapenv:Header><soapenv:Body>{body}</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def fault(name: str, code: str, message: str) -> tuple[int, bytes]:
    detail = (
        f'<platformFaults:{name} xmlns:platformFaults="{FAULTS}"><platformFaults:code>{escape(code)}'
        f"</platformFaults:code><platformFaults:message>{escape(message)}</platformFaults:message>"
        f'</platformFaults:{name}><ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">emulator</ns1:hostname>'
    )
    return 500, _envelope(
        f"<soapenv:Fault><faultcode>soapenv:Server.userException</faultcode><faultstring>{escape(message)}"
        f"</faultstring><detail>{detail}</detail></soapenv:Fault>"
    )


def _status(ok: bool, code: str | None = None, message: str | None = None, *, declare: bool = True) -> str:
    xmlns = f' xmlns:platformCore="{CORE}"' if declare else ""
    if ok:
        return f'<platformCore:status{xmlns} isSuccess="true"/>'
    return (
        f'<platformCore:status{xmlns} isSuccess="false"><platformCore:statusDetail type="ERROR">'
        f"<platformCore:code>{escape(code or 'USER_ERROR')}</platformCore:code>"
        f"<platformCore:message>{escape(message or '')}</platformCore:message></platformCore:statusDetail>"
        "</platformCore:status>"
    )


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _child(element: Any, name: str) -> Any:
    for child in element:
        if _local(child) == name:
            return child
    return None


def _text(element: Any, name: str) -> str | None:
    found = _child(element, name)
    return found.text.strip() if found is not None and found.text else None


def _ref(element: Any) -> dict[str, str]:
    return {k: v for k, v in element.attrib.items() if k in ("internalId", "externalId", "type")}


def handle_soap(owner: NetSuiteEmulator, raw: bytes, *, allowed: bool) -> tuple[int, bytes]:
    if not allowed:
        return fault(
            "exceededConcurrentRequestLimitFault",
            "WS_REQUEST_BLOCKED",
            "The request could not be processed because too many requests are running concurrently.",
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        envelope = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError:
        return fault("unexpectedErrorFault", "UNEXPECTED_ERROR", "The request is not well-formed XML.")
    header = _child(envelope, "Header")
    body = _child(envelope, "Body")
    passport = _child(header, "tokenPassport") if header is not None else None
    if passport is None:
        return fault("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt.")
    values = {_local(c): (c.text or "").strip() for c in passport}
    signature = _child(passport, "signature")
    values["algorithm"] = signature.get("algorithm", "") if signature is not None else ""
    try:
        with owner.lock:
            owner.verifier.check_passport(values)
    except AuthError:
        return fault("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt.")
    page_size = 1000
    prefs = _child(header, "searchPreferences")
    if prefs is not None and _text(prefs, "pageSize"):
        page_size = max(5, min(1000, int(_text(prefs, "pageSize") or 1000)))
    request = body[0] if body is not None and len(body) else None
    operation = _local(request) if request is not None else ""
    if operation == "upsert":
        record = _child(request, "record")
        return 200, _envelope(f'<upsertResponse xmlns="{MSGS}">{_write(owner, record)}</upsertResponse>')
    if operation == "upsertList":
        responses = "".join(_write(owner, r) for r in request if _local(r) == "record")
        return 200, _envelope(
            f'<upsertListResponse xmlns="{MSGS}"><writeResponseList>{_status(True)}{responses}'
            "</writeResponseList></upsertListResponse>"
        )
    if operation == "get":
        return 200, _envelope(
            f'<getResponse xmlns="{MSGS}">{_get(owner, _child(request, "baseRef"))}</getResponse>'
        )
    if operation == "search":
        ids = _search(owner, _child(request, "searchRecord"))
        search_id = f"WEBSERVICES_{owner.account}_{uuid.uuid4().hex[:20]}"
        with owner.lock:
            owner.soap_searches[search_id] = ids
        return 200, _envelope(
            f'<searchResponse xmlns="{MSGS}">{_page(owner, search_id, ids, 1, page_size)}</searchResponse>'
        )
    if operation == "searchMoreWithId":
        search_id = _text(request, "searchId") or ""
        index = int(_text(request, "pageIndex") or 1)
        with owner.lock:
            ids = owner.soap_searches.get(search_id)
        if ids is None:
            result = (
                f'<platformCore:searchResult xmlns:platformCore="{CORE}">'
                + _status(
                    False, "INVALID_SEARCH_ID", "The search ID is not valid or has expired.", declare=False
                )
                + "</platformCore:searchResult>"
            )
        else:
            result = _page(owner, search_id, ids, index, page_size)
        return 200, _envelope(f'<searchMoreWithIdResponse xmlns="{MSGS}">{result}</searchMoreWithIdResponse>')
    return fault(
        "unexpectedErrorFault",
        "UNEXPECTED_ERROR",
        f"The emulator does not serve {operation or 'this request'}.",
    )


def _write(owner: NetSuiteEmulator, record: Any) -> str:
    kind = record.get(f"{{{XSI}}}type", "").split(":")[-1]
    external = record.get("externalId")
    if not external:
        return f"<writeResponse>{_status(False, 'USER_ERROR', 'The upsert operation needs an externalId.')}</writeResponse>"
    try:
        if kind == "SalesOrder":
            record_id, record_type = _sales_order(owner, record, external), "salesOrder"
        elif kind == "ItemFulfillment":
            record_id, record_type = _fulfillment(owner, record, external), "itemFulfillment"
        else:
            raise RestError(
                400, "INVALID_RCRD_TYPE", f"The emulator does not upsert {kind or 'this'} records."
            )
    except RestError as error:
        code = (
            "INVALID_KEY_OR_REF"
            if "Invalid Field Value" in error.detail or "invalid reference" in error.detail
            else error.code
        )
        return f"<writeResponse>{_status(False, code, error.detail)}</writeResponse>"
    return (
        f'<writeResponse>{_status(True)}<baseRef xmlns:platformCore="{CORE}" internalId="{record_id}" '
        f'externalId={quoteattr(external)} type="{record_type}" xsi:type="platformCore:RecordRef"/></writeResponse>'
    )


def _resolve_ref(owner: NetSuiteEmulator, ref: dict[str, str], table: str) -> str | None:
    if ref.get("internalId"):
        return ref["internalId"]
    if ref.get("externalId"):
        rows = owner.query(f"SELECT id FROM {table} WHERE externalid = ?", ref["externalId"])
        return str(rows[0][0]) if rows else f"eid:{ref['externalId']}"
    return None


def _sales_order(owner: NetSuiteEmulator, record: Any, external: str) -> int:
    body: dict[str, Any] = {}
    entity = _child(record, "entity")
    if entity is not None:
        body["entity"] = {"id": _resolve_ref(owner, _ref(entity), "customer")}
    for name in ("otherRefNum", "memo"):
        if _text(record, name):
            body[name] = _text(record, name)
    for name in ("tranDate", "shipDate"):
        if _text(record, name):
            body[name] = (_text(record, name) or "")[:10]
    status = _text(record, "orderStatus")
    if status:
        body["orderStatus"] = {"id": STATUS_CODE.get(status, "A")}
    item_list = _child(record, "itemList")
    if item_list is not None:
        lines = []
        for line in item_list:
            item = _child(line, "item")
            quantity = _text(line, "quantity")
            rate = _text(line, "rate")
            lines.append(
                {
                    "item": {"id": _resolve_ref(owner, _ref(item), "item") if item is not None else None},
                    "quantity": float(quantity) if quantity else None,
                    **({"rate": float(rate)} if rate else {}),
                }
            )
        body["item"] = {"items": lines}
    return owner.rest_upsert("salesorder", external, body)


def _fulfillment(owner: NetSuiteEmulator, record: Any, external: str) -> int:
    existing = owner.query(
        "SELECT id FROM _record WHERE type = 'itemfulfillment' AND externalid = ?", external
    )
    if existing:  # an upsert of an existing fulfillment: the emulator keeps it as it is
        return int(existing[0][0])
    created = _child(record, "createdFrom")
    if created is None:
        raise RestError(400, "USER_ERROR", "Please enter value(s) for: Created From.")
    body: dict[str, Any] = {"externalId": external}
    ship = _text(record, "shipStatus")
    if ship:
        body["shipStatus"] = {"id": SHIP_STATUS.get(ship, "C")}
    items = _child(record, "itemList")
    if items is not None:
        body["item"] = {
            "items": [
                {
                    "orderLine": int(_text(i, "orderLine") or 0),
                    "quantity": float(_text(i, "quantity") or 0),
                    "itemReceive": (_text(i, "itemReceive") or "true") == "true",
                }
                for i in items
            ]
        }
    packages = _child(record, "packageList")
    if packages is not None:
        body["package"] = {
            "items": [
                {
                    "packageTrackingNumber": _text(p, "packageTrackingNumber"),
                    "packageWeight": _text(p, "packageWeight"),
                }
                for p in packages
            ]
        }
    ref = _ref(created)
    return owner.transform_fulfillment(ref.get("internalId") or f"eid:{ref.get('externalId')}", body)


def _record_xml(owner: NetSuiteEmulator, record_id: int) -> str:
    body = owner.record("salesorder", record_id) or {}
    row = owner.query("SELECT status, tranid, externalid FROM [transaction] WHERE id = ?", record_id)
    status, tran_id, external = row[0] if row else (None, None, None)
    parts = [f'<tranSales:entity internalId="{escape(str((body.get("entity") or {}).get("id")))}"/>']
    if body.get("tranDate"):
        parts.append(
            f"<tranSales:tranDate>{escape(body['tranDate'])}T00:00:00.000-07:00</tranSales:tranDate>"
        )
    parts.append(f"<tranSales:tranId>{escape(str(tran_id))}</tranSales:tranId>")
    if status in ORDER_STATUS:
        parts.append(f"<tranSales:orderStatus>{ORDER_STATUS[status]}</tranSales:orderStatus>")
    if body.get("otherRefNum"):
        parts.append(f"<tranSales:otherRefNum>{escape(body['otherRefNum'])}</tranSales:otherRefNum>")
    lines = owner.query(
        "SELECT linesequencenumber, item, quantity, quantityshiprecv FROM transactionline WHERE [transaction] = ? "
        "ORDER BY linesequencenumber",
        record_id,
    )
    items = "".join(
        f'<tranSales:item><tranSales:item internalId="{item}"/><tranSales:line>{seq}</tranSales:line>'
        f"<tranSales:quantity>{qty:g}</tranSales:quantity><tranSales:quantityFulfilled>{done:g}"
        "</tranSales:quantityFulfilled></tranSales:item>"
        for seq, item, qty, done in lines
    )
    parts.append(f'<tranSales:itemList replaceAll="true">{items}</tranSales:itemList>')
    return (
        f'<record xmlns:tranSales="{SALES}" internalId="{record_id}" externalId={quoteattr(str(external or ""))} '
        f'xsi:type="tranSales:SalesOrder">{"".join(parts)}</record>'
    )


def _get(owner: NetSuiteEmulator, ref_element: Any) -> str:
    ref = _ref(ref_element) if ref_element is not None else {}
    if ref.get("type") != "salesOrder":
        return f"<readResponse>{_status(False, 'INVALID_RCRD_TYPE', 'The emulator reads sales orders only.')}</readResponse>"
    found = None
    if ref.get("internalId"):
        found = int(ref["internalId"]) if owner.record("salesorder", int(ref["internalId"])) else None
    elif ref.get("externalId"):
        with owner.lock:
            found = owner.find_eid("salesorder", ref["externalId"])
    if found is None:
        key = ref.get("internalId") or ref.get("externalId")
        return (
            "<readResponse>"
            f"{_status(False, 'RCRD_DSNT_EXIST', f'That record does not exist. salesOrder id={key}')}"
            "</readResponse>"
        )
    return f"<readResponse>{_status(True)}{_record_xml(owner, found)}</readResponse>"


def _search(owner: NetSuiteEmulator, search: Any) -> list[int]:
    conditions = ["type = 'SalesOrd'"]
    args: list[Any] = []
    if search is not None:
        for field in search:
            name = _local(field)
            operator = field.get("operator", "is")
            values = [v.text or "" for v in field if _local(v) == "searchValue"]
            if name == "type":
                if "_salesOrder" not in values:
                    return []
            elif name in ("otherRefNum", "externalIdString", "tranId") and values:
                column = {"otherRefNum": "otherrefnum", "externalIdString": "externalid", "tranId": "tranid"}[
                    name
                ]
                if operator == "startsWith":
                    conditions.append(f"{column} LIKE ? || '%'")
                else:
                    conditions.append(f"{column} = ?")
                args.append(values[0])
    rows = owner.query(f"SELECT id FROM [transaction] WHERE {' AND '.join(conditions)} ORDER BY id", *args)
    return [int(r[0]) for r in rows]


def _page(owner: NetSuiteEmulator, search_id: str, ids: list[int], index: int, size: int) -> str:
    total = len(ids)
    pages = max(1, -(-total // size))
    chosen = ids[(index - 1) * size : index * size]
    records = "".join(
        _record_xml(owner, i)
        .replace("<record ", "<platformCore:record ", 1)
        .replace("</record>", "</platformCore:record>")
        for i in chosen
    )
    return (
        f'<platformCore:searchResult xmlns:platformCore="{CORE}">{_status(True, declare=False)}'
        f"<platformCore:totalRecords>{total}</platformCore:totalRecords><platformCore:pageSize>{size}</platformCore:pageSize>"
        f"<platformCore:totalPages>{pages}</platformCore:totalPages><platformCore:pageIndex>{index}</platformCore:pageIndex>"
        f"<platformCore:searchId>{search_id}</platformCore:searchId>"
        f"<platformCore:recordList>{records}</platformCore:recordList></platformCore:searchResult>"
    )
