"""The reconciliation checks, pure: what the ledger, the ERPs and the WMS say goes in (as the plain
records below, gathered by :mod:`erpbridge.reconcile.jobs`), discrepancies come out, each with its
owner, what to do, and the one command that fixes it (:class:`Remedies`).

* :func:`check_orders`: every inbound PO acknowledged (our 997/999, and an 855 where the partner gets
  them) and present in the ERP its flow delivers to;
* :func:`check_acks`: every outbound document acknowledged by a 997 within the partner's window;
* :func:`check_shipments`: every shipment the WMS confirmed has an 856 out and an ERP fulfillment;
* :func:`inventory_discrepancies`: the differences :func:`erpbridge.reconcile.inventory.compare` found.

Documents younger than the ``grace`` period are still in flight and not judged.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..config import RECONCILE_JOBS
from ..ledger import Discrepancy, Owner, State
from ..ledger.states import WORK_STATES, Direction
from .inventory import ANY_LOCATION, InventoryComparison

#: The reconciliation jobs, in the order they run.
JOBS = RECONCILE_JOBS

#: The prefix of the replay key the remedies use (``erpbridge replay --key``).
REMEDY_KEY = "reconcile"


def remedy_key(run_id: int | None) -> str:
    """The replay key of the remedies of reconciliation run ``run_id``: ``reconcile-<run>``. The
    same run's remedy applied twice sends once; a later run's remedy (the same document lost again)
    is a replay of its own."""
    return f"{REMEDY_KEY}-{run_id}" if run_id is not None else REMEDY_KEY


@dataclass(frozen=True)
class Remedies:
    """The commands a discrepancy's remedy names, for the configuration ``config`` (as it was given)
    and the job run ``run`` that found it (its replay key)."""

    config: str
    run: int | None = None

    def _cmd(self, *words: str) -> str:
        return shlex.join(["erpbridge", *words, "--config", self.config])

    def replay(self, doc_id: str) -> str:
        return self._cmd("replay", doc_id, "--key", remedy_key(self.run))

    def show(self, doc_id: str) -> str:
        return self._cmd("ledger", "show", doc_id)

    def dlq_retry(self, doc_id: str) -> str:
        return self._cmd("dlq", "retry", doc_id)

    def run_once(self) -> str:
        return self._cmd("run", "--once")

    def fix(self, job: str) -> str:
        return self._cmd("reconcile", job, "--fix")

    def check(self, job: str) -> str:
        return self._cmd("reconcile", job)

    def job_run(self, name: str) -> str:
        return self._cmd("job", "run", name)


def quantity(value: float | None) -> str:
    """A quantity as a person writes it (``12``, ``12.5``), ``not listed`` for NaN or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not listed"
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + quantity(value)


# -- orders -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InboundOrder:
    """One PO a partner sent us (a set 850 of an inbound interchange), as the ledger and the ERP see it.

    Fields:
        document_id: the inbound interchange's ledger ID
        partner: the partner
        po_number: the PO number (BEG03)
        state: the interchange's state
        received_at: when it was recorded
        ack_sent: whether our 997/999 for it went out
        wants_855: whether the partner gets 855s (an outbound flow sends them 855s)
        order_ack_sent: whether an 855 for this PO went out
        erp: the ERP endpoint the flow delivers to, when it can be read back (SAP OData, NetSuite)
        erp_reference: what that ERP holds for the PO (its sales order), ``None`` when it holds none
        erp_error: why the ERP could not be asked (the check then says so instead of guessing)
    """

    document_id: str
    partner: str
    po_number: str
    state: State
    received_at: datetime
    ack_sent: bool
    wants_855: bool = False
    order_ack_sent: bool = False
    erp: str | None = None
    erp_reference: str | None = None
    erp_error: str | None = None


def check_orders(
    orders: Iterable[InboundOrder], *, now: datetime, grace: timedelta, remedies: Remedies
) -> list[Discrepancy]:
    """Every inbound PO acknowledged and present in the ERP (see the module)."""
    out: list[Discrepancy] = []
    for o in orders:
        if now - o.received_at < grace:
            continue

        def found(
            check: str, sides: Mapping[str, str], owner: Owner, action: str, remedy: str, o: InboundOrder = o
        ) -> None:
            out.append(
                Discrepancy(
                    job="orders",
                    partner=o.partner,
                    subject=f"PO {o.po_number}",
                    check=check,
                    sides=dict(sides),
                    owner=owner,
                    action=action,
                    remedy=remedy,
                    document_id=o.document_id,
                )
            )

        state = o.state.value
        if o.state == State.REJECTED:
            found(
                "rejected",
                {"ledger": "rejected by our 997/999", "erp": "not delivered"},
                Owner.PARTNER,
                f"our acknowledgment rejected the interchange holding PO {o.po_number}: {o.partner} must correct "
                "it and send it again under a new ISA13 (the reasons are in the ledger)",
                remedies.show(o.document_id),
            )
            continue
        if o.state in (State.QUARANTINED, State.DEAD_LETTERED):
            found(
                "not_delivered",
                {"ledger": state, "erp": "not delivered"},
                Owner.ERPBRIDGE,
                f"PO {o.po_number} stopped at {state}: fix the cause named by erpbridge dlq list, then retry it",
                remedies.dlq_retry(o.document_id),
            )
            continue
        if o.state in WORK_STATES[Direction.IN] or o.state == State.RETRY_WAIT:
            found(
                "stuck",
                {"ledger": state, "erp": "not delivered yet"},
                Owner.ERPBRIDGE,
                f"PO {o.po_number} is still {state} after {grace}: run the flows (a daemon that is down, "
                "or an ERP that keeps failing: erpbridge ledger show names the error)",
                remedies.run_once(),
            )
            continue
        if o.state == State.DROPPED:
            continue  # an operator gave it up on purpose
        if not o.ack_sent:
            found(
                "no_997",
                {"ledger": f"{state}, no 997/999 sent", "partner": "owed a 997/999"},
                Owner.ERPBRIDGE,
                f"no acknowledgment went to {o.partner} for PO {o.po_number}: the interchange was never "
                "acknowledged; see its events",
                remedies.show(o.document_id),
            )
        if o.wants_855 and not o.order_ack_sent:
            found(
                "no_855",
                {"ledger": "no 855 sent", "partner": "gets 855s"},
                Owner.ERP,
                f"{o.partner} gets an 855 for every PO and none went out for PO {o.po_number}: the ERP must "
                "export its order acknowledgment (an OrderAck into the 855 flow's source folder)",
                remedies.show(o.document_id),
            )
        if o.erp is None:
            continue
        if o.erp_error is not None:
            found(
                "erp_unreadable",
                {"ledger": state, o.erp: f"could not be read: {o.erp_error}"},
                Owner.ERPBRIDGE,
                f"{o.erp} could not be asked whether it holds PO {o.po_number}: check the endpoint, then "
                "run the check again",
                remedies.check("orders"),
            )
        elif o.erp_reference is None:
            found(
                "not_in_erp",
                {"ledger": state, o.erp: "no sales order"},
                Owner.ERPBRIDGE,
                f"PO {o.po_number} was delivered but {o.erp} holds no sales order for it (deleted, or lost "
                "on the way): post it again",
                remedies.replay(o.document_id),
            )
    return out


# -- acknowledgments --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SentDocument:
    """An outbound X12 document that owes us a 997 (``sent``, ``ack_overdue``) or was rejected by one.

    Fields:
        document_id, partner, kind, state, isa13, business_key: as in the ledger
        sent_at: when it was put into the partner's folder
        window: the partner's ``ack_window``
        replayed: a later replay (``erpbridge replay``) sent it again: that one is judged instead
        reasons: for a rejected document, what the partner's 997 said
    """

    document_id: str
    partner: str
    kind: str
    state: State
    isa13: str | None
    business_key: str | None
    sent_at: datetime
    window: timedelta
    replayed: bool = False
    reasons: str | None = None


def check_acks(docs: Iterable[SentDocument], *, now: datetime, remedies: Remedies) -> list[Discrepancy]:
    """Every outbound document acknowledged within its partner's window (see the module)."""
    out: list[Discrepancy] = []
    for d in docs:
        if d.replayed:
            continue
        what = f"{d.kind} ISA13 {d.isa13 or '-'}" + (f" ({d.business_key})" if d.business_key else "")
        due = d.sent_at + d.window
        if d.state == State.REJECTED:
            out.append(
                Discrepancy(
                    job="acks",
                    partner=d.partner,
                    subject=what,
                    check="rejected",
                    sides={
                        "ledger": "sent",
                        "partner": f"997 rejected it{': ' + d.reasons if d.reasons else ''}",
                    },
                    owner=Owner.ERPBRIDGE,
                    action=f"{d.partner} rejected {what}: correct the source document or the mapping named by "
                    "the 997's reasons, then send it again",
                    remedy=remedies.show(d.document_id),
                    document_id=d.document_id,
                )
            )
        elif d.state in (State.SENT, State.ACK_OVERDUE) and now >= due:
            late = now - due
            out.append(
                Discrepancy(
                    job="acks",
                    partner=d.partner,
                    subject=what,
                    check="no_997",
                    sides={
                        "ledger": f"sent {d.sent_at.isoformat(timespec='minutes')}",
                        "partner": f"no 997 within {d.window} (late by {_age(late)})",
                    },
                    owner=Owner.PARTNER,
                    action=f"{d.partner} has not acknowledged {what}: ask them whether it arrived; resend it "
                    "as a new interchange",
                    remedy=remedies.replay(d.document_id),
                    document_id=d.document_id,
                )
            )
    return out


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


# -- shipments --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Shipment:
    """A shipment the WMS confirmed, and what became of it.

    Fields:
        shipment_id: the WMS's shipment ID (BSN02 of the 856)
        partner: the partner it ships to
        document_id: the ledger document that carries it: the 856, or the WMS's confirmation when no
            856 was made
        asn_state: the 856's state, ``None`` when no 856 was written
        failure: why no 856 could be written (the confirmation's error), if that is the case
        wants_fulfillment: whether the flow also delivers it to an ERP (``also_deliver``)
        erp: that ERP endpoint
        fulfilled: whether the ledger shows the ERP took it (an also_deliver event, an IDoc linked)
        erp_missing: what the ERP lacks although the ledger shows it took it (NetSuite read back: an
            item fulfillment deleted since)
        redeliverable: whether erpbridge can deliver the shipment to that ERP again itself (``--fix``)
    """

    shipment_id: str
    partner: str
    document_id: str
    asn_state: State | None
    failure: str | None = None
    wants_fulfillment: bool = False
    erp: str | None = None
    fulfilled: bool = False
    erp_missing: str | None = None
    redeliverable: bool = False


_ASN_OUT = frozenset({State.SENT, State.ACK_OVERDUE, State.ACKNOWLEDGED, State.ARCHIVED, State.REJECTED})


def check_shipments(shipments: Iterable[Shipment], *, remedies: Remedies) -> list[Discrepancy]:
    """Every confirmed shipment has an 856 out and, where the flow delivers it to an ERP, a fulfillment."""
    out: list[Discrepancy] = []
    for s in shipments:
        subject = f"shipment {s.shipment_id}"
        if s.asn_state is None or s.asn_state in (State.QUARANTINED, State.DEAD_LETTERED):
            failed = s.asn_state is not None
            out.append(
                Discrepancy(
                    job="shipments",
                    partner=s.partner,
                    subject=subject,
                    check="no_856",
                    sides={
                        "wms": "confirmed",
                        "ledger": f"856 {s.asn_state.value}" if failed and s.asn_state else "no 856",
                    },
                    owner=Owner.ERPBRIDGE if failed else Owner.WMS,
                    action=(
                        f"the 856 for {subject} failed: fix the cause and retry it"
                        if failed
                        else f"no 856 could be made of {subject} ({s.failure or 'see the ledger'}): the WMS "
                        "team corrects the confirmation and drops it again"
                    ),
                    remedy=remedies.dlq_retry(s.document_id) if failed else remedies.show(s.document_id),
                    document_id=s.document_id,
                )
            )
            continue
        if s.asn_state not in _ASN_OUT:
            continue  # still on its way
        if s.wants_fulfillment and (not s.fulfilled or s.erp_missing):
            erp = s.erp or "the ERP"
            said = s.erp_missing or "no fulfillment recorded"
            if s.redeliverable:
                owner, remedy = Owner.ERPBRIDGE, remedies.fix("shipments")
                action = (
                    f"the 856 for {subject} went out but {erp} has no fulfillment for it ({said}): deliver the "
                    f"shipment to {erp} again (the fulfillment is made once; {s.partner} gets no second 856)"
                )
            else:
                owner, remedy = Owner.ERP, remedies.show(s.document_id)
                action = (
                    f"the 856 for {subject} went out but {erp} has no fulfillment for it: post the "
                    "fulfillment in the ERP from the 856 (erpbridge ledger show has its lines)"
                )
            out.append(
                Discrepancy(
                    job="shipments",
                    partner=s.partner,
                    subject=subject,
                    check="no_fulfillment",
                    sides={"ledger": f"856 {s.asn_state.value}", s.erp or "erp": said},
                    owner=owner,
                    action=action,
                    remedy=remedy,
                    document_id=s.document_id,
                )
            )
    return out


# -- inventory --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InventoryContext:
    """Who is who in an inventory comparison, for the discrepancies' wording.

    Fields:
        erp: the ERP endpoint compared with
        erp_adjustable: whether erpbridge can post an inventory adjustment there (NetSuite REST)
        sent: per partner, which 846 their quantities come from (``ISA13 000000123 of 2026-03-16``)
    """

    erp: str | None = None
    erp_adjustable: bool = False
    sent: Mapping[str, str] | None = None


def inventory_discrepancies(
    comparison: InventoryComparison, *, context: InventoryContext, remedies: Remedies
) -> list[Discrepancy]:
    """The differences of ``comparison`` as discrepancies (the WMS owns inventory truth)."""
    out: list[Discrepancy] = []
    erp = context.erp or "erp"
    if comparison.erp is not None:
        for sku, location, wms, other, delta in comparison.erp.rows.itertuples(index=False, name=None):
            fix = -delta
            action = (
                f"{erp} shows {quantity(other)} where the WMS counts {quantity(wms)}: post an inventory "
                f"adjustment of {_signed(fix)} in {erp} (the WMS owns inventory truth; if its count is in "
                "doubt, the WMS team recounts first)"
            )
            if not context.erp_adjustable:
                action += f"; erpbridge cannot post to {erp}: the ERP team posts it"
            out.append(
                Discrepancy(
                    job="inventory",
                    partner=erp,
                    subject=_sku(sku, location),
                    check="erp_on_hand",
                    sides={"wms": quantity(wms), erp: quantity(other)},
                    owner=Owner.ERPBRIDGE if context.erp_adjustable else Owner.ERP,
                    action=action,
                    remedy=remedies.fix("inventory")
                    if context.erp_adjustable
                    else remedies.check("inventory"),
                    delta=abs(float(delta)),
                )
            )
    for partner, diff in comparison.sent.items():
        source = (context.sent or {}).get(partner, "the last 846")
        for sku, location, wms, other, delta in diff.rows.itertuples(index=False, name=None):
            out.append(
                Discrepancy(
                    job="inventory",
                    partner=partner,
                    subject=_sku(sku, location),
                    check="846_on_hand",
                    sides={"wms": quantity(wms), "846": quantity(other)},
                    owner=Owner.ERPBRIDGE,
                    action=f"{source} told {partner} {quantity(other)} where the WMS counts {quantity(wms)}: "
                    "send the WMS's snapshot to them again as an 846",
                    remedy=remedies.fix("inventory"),
                    delta=abs(float(delta)),
                )
            )
    return out


def _sku(sku: Any, location: Any) -> str:
    return f"SKU {sku} at {location}" if location != ANY_LOCATION else f"SKU {sku} (all locations)"


__all__ = [
    "JOBS",
    "REMEDY_KEY",
    "InboundOrder",
    "InventoryContext",
    "Remedies",
    "SentDocument",
    "Shipment",
    "check_acks",
    "check_orders",
    "check_shipments",
    "inventory_discrepancies",
    "quantity",
    "remedy_key",
]
