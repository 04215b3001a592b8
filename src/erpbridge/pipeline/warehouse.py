"""Pick requests and the confirmations that answer them, in the ledger.

SAP sends the warehouse a delivery to pick (a SHPORD IDoc); an inbound flow makes it a
WarehouseShippingOrder (the *pick request*) and hands it to the WMS (a folder) or, through a folder
and an outbound flow, to a 3PL as an X12 940. The warehouse answers with a confirmation (a ShipNotice:
a WMS file, or a 945) that becomes a SHPCON for SAP and an 856 for the retailer. This module keeps
that chain in the ledger and finds the pick request a confirmation answers:

* :class:`WarehouseConnector` wraps a flow's connector. A WarehouseShippingOrder it delivers is
  recorded as an outbound document of kind ``canonical/WarehouseShippingOrder`` (the pick request:
  its payload the JSON delivered, its business key the PO number, else the order number; ``sent``
  then ``archived`` once the connector has it), linked ``derived_from`` the document it came from by
  the runner. A ShipNotice it delivers to an SAP IDoc port is matched to its pick request first
  (:func:`resolve`): the delivery number SAP needs is filled in when the confirmation lacks it (the
  one *open* pick request of its PO), and the item numbers become the delivery's item numbers
  (POSNR) where the confirmation numbered them by PO line, LX01 or SKU; the IDoc the port records
  then ``answers`` the SHPORD.
* :func:`link_confirmation`: the confirmation's own document (the 856 recorded for it, or the
  inbound 945) ``answers`` the pick request, and an inbound 945 ``answers`` the 940 made from it.
* :func:`link_derived`: a document made from a pick request by an outbound flow (the 940)
  ``derived_from`` it.

A pick request is *open* while nothing answers the document it came from (the SHPORD). All of this
is bookkeeping around the connectors: the translation steps stay pure.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..connectors import Connector, Delivered
from ..errors import DocumentRejectedError
from ..ledger import Direction, Document, Ledger, Relation, State

#: The ledger kind of a pick request (a WarehouseShippingOrder handed to a warehouse).
PICK_REQUEST = "canonical/WarehouseShippingOrder"
#: The ledger kind of what SAP over OData did with a confirmation (picked quantities, goods issue).
GOODS_ISSUE = "odata/GoodsIssue"
#: The reference kinds that carry SAP's delivery number on a confirmation, in the order looked at.
DELIVERY_KINDS = ("delivery", "sales_order")


@dataclass(frozen=True, slots=True)
class PickRequest:
    """A pick request found in the ledger: its document, the JSON delivered, and where it came from
    (the SHPORD, or the inbound 940; through a replay to the document replayed)."""

    document: Document
    body: Mapping[str, Any]
    source: str | None

    @property
    def order_number(self) -> str:
        return str(self.body.get("order_number", ""))


class WarehouseConnector:
    """A flow's connector, with pick requests and confirmations kept in the ledger (see the module).
    ``to_sap``: the connector is SAP (an IDoc port: ShipNotices become SHPCONs there; or OData: they
    confirm the delivery's picking and post its goods issue); ``ledger_key``: the idempotency key
    that an IDoc connector records its IDoc under for a delivery key. ``receipt``: the connector
    records nothing itself (OData), so what it did with a confirmation is recorded here, as an
    outbound document of kind ``odata/GoodsIssue``."""

    def __init__(
        self,
        inner: Connector,
        ledger: Ledger,
        *,
        partner: str,
        worker: str | None,
        to_sap: bool,
        receipt: bool = False,
    ) -> None:
        self.inner, self.ledger, self.partner, self.worker, self.to_sap = (
            inner,
            ledger,
            partner,
            worker,
            to_sap,
        )
        self.receipt = receipt
        self.name = inner.name

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        kind = document.get("kind")
        if kind == "WarehouseShippingOrder":
            return self._pick_request(document, key)
        if kind == "ShipNotice" and self.to_sap:
            return self._confirmation(document, key)
        return self.inner.deliver(document, key=key)

    def check(self, document: Mapping[str, Any], *, key: str) -> None:
        """The connector's own check of a document before anything is delivered, if it has one
        (NetSuite's items and locations for a GoodsMovement, an IDoc port's mapping)."""
        check = getattr(self.inner, "check", None)
        if check is not None:
            check(document, key=key)

    def close(self) -> None:
        self.inner.close()

    def _pick_request(self, document: Mapping[str, Any], key: str) -> Delivered:
        delivered = self.inner.deliver(document, key=key)
        po, order = document.get("po_number"), document.get("order_number")
        return self._record_done(
            PICK_REQUEST,
            document,
            delivered,
            business_key=str(po or order or ""),
            idempotency_key=f"pick:{self.name}:{key}",
            step="pick_request",
            detail={"order_number": order, "po_number": po, "key": key},
        )

    def _record_done(
        self,
        kind: str,
        body: Mapping[str, Any],
        delivered: Delivered,
        *,
        business_key: str,
        idempotency_key: str,
        step: str,
        detail: Mapping[str, Any],
    ) -> Delivered:
        """What the connector did, recorded once (on ``idempotency_key``) as an outbound document of
        ``kind`` with ``body`` as JSON, ``written → sent → archived`` at once (nothing acknowledges
        it); ``delivered`` with its ``document_id``."""
        payload = (json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
        record = self.ledger.record_outbound(
            self.partner,
            kind,
            payload=payload,
            levels=(),
            state=State.WRITTEN,
            business_key=business_key[:128] or None,
            idempotency_key=idempotency_key[:200],
            file_name=delivered.reference,
            step=step,
            detail=detail,
            worker=self.worker,
        )
        if record.claimed_by == self.worker and record.state == State.WRITTEN:
            record = self.ledger.transition(
                record.id,
                State.SENT,
                step="deliver",
                detail={"to": self.name, "reference": delivered.reference},
                worker=self.worker,
            )
        if record.state == State.SENT:  # no acknowledgment: the confirmation answers it
            self.ledger.transition(record.id, State.ARCHIVED, step="no_ack_expected", worker=self.worker)
        return Delivered(
            delivered.reference, delivered.created, dict(delivered.detail) | {"document_id": record.id}
        )

    def _confirmation(self, document: Mapping[str, Any], key: str) -> Delivered:
        ours = getattr(self.inner, "ledger_key", None)
        mine = f"confirm:{self.name}:{key}"[:200] if self.receipt else ours(key) if callable(ours) else None
        pick = resolve(self.ledger, document, required=True, ours=mine)
        # no pick request: it names a delivery erpbridge never handed out, which SAP knows; goes as it is
        confirmation = document if pick is None else for_delivery(document, pick)
        delivered = self.inner.deliver(confirmation, key=key)
        if self.receipt:  # SAP over OData: what it did (quantities, goods issue), recorded here
            delivered = self._record_done(
                GOODS_ISSUE,
                dict(delivered.detail) | {"shipment_id": document.get("shipment_id")},
                delivered,
                business_key=delivered.reference,
                idempotency_key=f"confirm:{self.name}:{key}",
                step="confirm_delivery",
                detail={"delivery": delivered.reference, "key": key, "repeat": not delivered.created},
            )
        if pick is None:
            return delivered
        made = delivered.detail.get("document_id")
        if isinstance(made, str) and pick.source is not None:
            # the SHPCON answers the SHPORD; the goods issue the delivery polled from SAP
            self.ledger.link(made, pick.source, Relation.ANSWERS)
        if isinstance(made, str) and self.receipt:  # ... and the pick request it confirms
            self.ledger.link(made, pick.document.id, Relation.ANSWERS)
        return Delivered(
            delivered.reference,
            delivered.created,
            dict(delivered.detail) | {"pick_request": pick.document.id, "delivery": pick.order_number},
        )


# -- finding pick requests ----------------------------------------------------------------------


def delivery_numbers(ship_notice: Mapping[str, Any]) -> list[str]:
    """The delivery numbers a confirmation names (references of kind ``delivery``, then ``sales_order``)."""
    refs = [r for r in ship_notice.get("references") or [] if isinstance(r, Mapping)]
    return [
        str(r["value"]) for kind in DELIVERY_KINDS for r in refs if r.get("kind") == kind and r.get("value")
    ]


def po_numbers(ship_notice: Mapping[str, Any]) -> list[str]:
    """The PO numbers of a confirmation's orders, in order, once each."""
    found = [str(o["po_number"]) for o in ship_notice.get("orders") or [] if o.get("po_number")]
    return list(dict.fromkeys(found))


def pick_requests(ledger: Ledger, keys: Iterable[str]) -> list[PickRequest]:
    """The pick requests recorded under any of ``keys`` (PO or order numbers), newest last, the latest
    per order number only (SAP sends a changed delivery again: the last one counts)."""
    found: dict[str, Document] = {}
    for key in dict.fromkeys(k for k in keys if k):
        for doc in ledger.find(direction=Direction.OUT, kind=PICK_REQUEST, business_key=key[:128], limit=200):
            found[doc.id] = doc
    latest: dict[str, PickRequest] = {}
    for doc in sorted(found.values(), key=lambda d: (d.created_at, d.id)):
        if doc.state == State.DROPPED or doc.payload_sha256 is None:
            continue
        body = json.loads(ledger.payload(doc.payload_sha256))
        pick = PickRequest(doc, body, _source(ledger, doc.id))
        latest[pick.order_number] = pick
    return list(latest.values())


def is_open(ledger: Ledger, pick: PickRequest, ours: str | None = None) -> bool:
    """Whether nothing answers the document the pick request came from yet (``ours``: the
    idempotency key of an answer to ignore, the one a retry of the same delivery made)."""
    if pick.source is None:
        return not any(
            link.relation == Relation.ANSWERS and link.to_document == pick.document.id
            for link in ledger.links(pick.document.id)
        )
    for link in ledger.links(pick.source):
        answers = link.relation == Relation.ANSWERS and link.to_document == pick.source
        if answers and (ours is None or ledger.get(link.from_document).idempotency_key != ours):
            return False
    return True


def resolve(
    ledger: Ledger, ship_notice: Mapping[str, Any], *, required: bool, ours: str | None = None
) -> PickRequest | None:
    """The pick request a confirmation answers: the one of the delivery number it names (``None``
    when erpbridge recorded none for it); else, when it names none, the one open pick request of its
    PO. With ``required`` (the confirmation goes to SAP, which needs the delivery), a confirmation
    without a delivery number and with none or several open pick requests is a
    DocumentRejectedError saying what to do; without, ``None``."""
    deliveries, pos = delivery_numbers(ship_notice), po_numbers(ship_notice)
    shipment = ship_notice.get("shipment_id")
    if deliveries:  # a delivery erpbridge never saw (its SHPORD came another way) goes as it is
        picks = {p.order_number: p for p in pick_requests(ledger, pos + deliveries)}
        return next((picks[d] for d in deliveries if d in picks), None)
    if not pos:
        if not required:
            return None
        raise DocumentRejectedError(
            "the confirmation has neither SAP's delivery number (a reference of kind delivery) nor a PO "
            "number to find its pick request by: the WMS's file must carry one of them",
            shipment=shipment,
        )
    candidates = [p for p in pick_requests(ledger, pos) if p.body.get("po_number") in pos]
    open_ = [p for p in candidates if is_open(ledger, p, ours)]
    if len(open_) == 1:
        return open_[0]
    if not required:
        return None
    po = ", ".join(pos)
    if not open_:
        done = ", ".join(p.order_number for p in candidates)
        why = (
            f"the pick requests for it (deliveries {done}) are all confirmed already"
            if candidates
            else "no SHPORD for it came through erpbridge"
        )
        raise DocumentRejectedError(
            f"the confirmation has no delivery number and there is no open pick request for PO {po}: {why}; "
            "add the delivery number to the WMS's file (a reference of kind delivery), or replay the SHPORD",
            shipment=shipment,
            po_number=po,
        )
    raise DocumentRejectedError(
        f"the confirmation has no delivery number and PO {po} has {len(open_)} open pick requests "
        f"(deliveries {', '.join(p.order_number for p in open_)}): erpbridge cannot tell which one shipped; "
        "the WMS's file must name the delivery (a reference of kind delivery)",
        shipment=shipment,
        po_number=po,
    )


def for_delivery(ship_notice: Mapping[str, Any], pick: PickRequest) -> dict[str, Any]:
    """The confirmation as SAP needs it for ``pick``'s delivery: the delivery number as a reference
    of kind ``delivery`` (added when missing), and each item numbered by its delivery item (POSNR):
    an item whose number is not one of the delivery's is matched by the delivery item's PO line,
    by number (LX01 ``10`` is item ``000010``), or by vendor SKU, each only if exactly one matches."""
    out = copy.deepcopy(dict(ship_notice))
    refs = list(out.get("references") or [])
    if not any(r.get("kind") == "delivery" and r.get("value") == pick.order_number for r in refs):
        out["references"] = [{"kind": "delivery", "value": pick.order_number}] + [
            r for r in refs if r.get("kind") != "delivery"
        ]
    lines = [line for line in pick.body.get("lines") or [] if line.get("line_number")]
    numbers = {str(line["line_number"]) for line in lines}
    for order in out.get("orders") or []:
        for item in [i for pack in order.get("packs") or [] for i in pack.get("items") or []] + list(
            order.get("items") or []
        ):
            given = str(item.get("line_number") or "")
            if given in numbers:
                continue
            item["line_number"] = _delivery_item(item, given, lines, pick, ship_notice)
    return out


def _delivery_item(
    item: Mapping[str, Any],
    given: str,
    lines: list[Mapping[str, Any]],
    pick: PickRequest,
    notice: Mapping[str, Any],
) -> str:
    sku = (item.get("product_ids") or {}).get("vendor_sku")
    tries = [
        [line for line in lines if given and str(line.get("po_line_number") or "") == given],
        [line for line in lines if given.isdigit() and str(line["line_number"]).isdigit() and int(line["line_number"]) == int(given)],
        [line for line in lines if sku and (line.get("product_ids") or {}).get("vendor_sku") == sku],
    ]  # fmt: skip
    for matches in tries:
        if len(matches) == 1:
            return str(matches[0]["line_number"])
    raise DocumentRejectedError(
        f"item {given or '-'} (SKU {sku or '-'}) of the confirmation matches no single item of delivery "
        f"{pick.order_number} (items {', '.join(str(line['line_number']) for line in lines)}): SAP would "
        "refuse the SHPCON; number the items by the delivery's items or PO lines",
        shipment=notice.get("shipment_id"),
        delivery=pick.order_number,
    )


def _source(ledger: Ledger, pick_id: str) -> str | None:
    """The document a pick request was made from (a replay: the document it replays)."""
    for link in ledger.links(pick_id):
        if link.from_document == pick_id and link.relation == Relation.DERIVED_FROM:
            made_from = link.to_document
            for back in ledger.links(made_from):
                if back.from_document == made_from and back.relation == Relation.REPLAYS:
                    return back.to_document
            return made_from
    return None


# -- links the runner records -------------------------------------------------------------------


def link_confirmation(ledger: Ledger, doc_id: str, delivered: Iterable[Delivered]) -> None:
    """``doc_id`` (the 856 recorded for a confirmation, or an inbound 945) ``answers`` the pick
    requests its deliveries to SAP were matched to; an inbound one (the 945) also answers the
    outbound documents made from them (the 940)."""
    for d in delivered:
        pick = d.detail.get("pick_request")
        if not isinstance(pick, str):
            continue
        ledger.link(doc_id, pick, Relation.ANSWERS)
        if ledger.get(doc_id).direction != Direction.IN:
            continue
        for link in ledger.links(pick):  # a 945 answers the 940 made from the pick request too
            made = link.to_document == pick and link.relation == Relation.DERIVED_FROM
            if made and ledger.get(link.from_document).direction == Direction.OUT:
                ledger.link(doc_id, link.from_document, Relation.ANSWERS)


def link_derived(ledger: Ledger, doc_id: str, document: Mapping[str, Any]) -> None:
    """An outbound document made from a WarehouseShippingOrder (the 940 to a 3PL) ``derived_from``
    the pick request of the same order number, when there is one."""
    if document.get("kind") != "WarehouseShippingOrder" or not document.get("order_number"):
        return
    order = str(document["order_number"])
    keys = [str(document["po_number"])] if document.get("po_number") else []
    for pick in pick_requests(ledger, [*keys, order]):
        if pick.order_number == order and pick.document.id != doc_id:
            ledger.link(doc_id, pick.document.id, Relation.DERIVED_FROM)


__all__ = [
    "GOODS_ISSUE",
    "PICK_REQUEST",
    "PickRequest",
    "WarehouseConnector",
    "delivery_numbers",
    "for_delivery",
    "is_open",
    "link_confirmation",
    "link_derived",
    "pick_requests",
    "resolve",
]
