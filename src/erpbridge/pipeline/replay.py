"""Replaying a document on an operator's request (``erpbridge replay DOC``): sending it again, on purpose.

* An **inbound** partner interchange (kind ``x12``) or IDoc file from SAP (kind ``idoc``: ORDERS05,
  SHPORD, WMMBXY...) the daemon is done with (``archived``, ``rejected``, ``quarantined``,
  ``dead_lettered``, ``dropped``) is mapped again from its stored payload, and its canonical documents
  are delivered again to its flow's target, each under a new name
  (``<Kind>-<partner>-<ISA13>-<ST02>.replay-<id>.json``, ``<Kind>-<partner>-<DOCNUM>.replay-<id>.json``),
  so the first delivery is not overwritten. No 997 is sent: the partner was answered when the
  interchange came. An IDoc whose flow delivers to SAP (an ``sap_idoc`` or ``sap_odata`` target) is
  refused: SAP would get the same business document again under a new key. The replay is a
  document of its own (inbound, kind ``replay``, its payload what was delivered), linked
  ``replays`` to the original, going ``received → validated → mapped → delivered → archived``.
* An **outbound** X12 document (``sent``, ``ack_overdue``, ``rejected``, ``acknowledged``,
  ``archived``...) is sent again as a **new interchange**: its transaction sets, decoded from the
  stored X12, are enveloped again with new ISA13/GS06/ST02 from the ledger (allocated in the
  transaction that records the new document, as the runner does), put into the flow's target folder
  and marked ``sent``: the partner owes a 997 for it. The new document is linked ``replays`` to the
  original.

A document in a work state, or waiting for a retry, is refused: the daemon is working on it. Each
replay is a deliberate resend; with a ``key``, a second replay of the same document with the same key
returns the first replay and does nothing (and finishes it, if it was cut short before its put).

The runner's own steps do the work (mapping, writing X12, putting and marking sent), so a replay is
processed exactly as the flow would process it today, with today's mappings and partner settings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Flow, Partner, SapIdocEndpoint, SapODataEndpoint
from ..errors import ErpBridgeError, LedgerError, TerminalError
from ..formats.idoc import decode as decode_idoc
from ..formats.x12 import decode
from ..ledger import Allocation, Direction, Document, Relation, State
from ..ledger.states import WORK_STATES
from ..mapping.meta import x12_meta
from ..model import from_json, to_json
from .runner import Runner, Summary

#: The kind of the document that records an inbound replay.
REPLAY_KIND = "replay"
#: Acknowledgment kinds we write (``x12/997``, ``x12/999``, ``x12/TA1``, ``x12/997/TA1``): not replayed.
_ACK_SETS = frozenset({"997", "999", "TA1"})
_MAX_KEY = 80
_NAMESPACE = uuid.UUID("5b0d6f6e-8f0a-4c53-9d7e-2f1f5c3a9e10")


class ReplayRefusedError(LedgerError):
    """A replay that cannot be done as asked: the document is in work, or of a kind not replayed."""


class ReplayFailedError(TerminalError):
    """A replay that started but could not finish; the message says what became of it."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay did.

    Fields:
        original: the document replayed, as it was before
        replay: the new document (or, when ``created`` is false, the one an earlier replay with the
            same key made)
        created: false when the key was used before and nothing was sent this time
        files: the files delivered (inbound) or put (outbound)
        target: where to, ``endpoint:folder``
        notes: what else the flow's steps reported (e.g. a 997 in the interchange applied again)
    """

    original: Document
    replay: Document
    created: bool
    files: tuple[str, ...]
    target: str
    notes: tuple[str, ...] = ()


def replay(runner: Runner, doc_id: str, *, reason: str | None = None, key: str | None = None) -> Replayed:
    """Replay the document ``doc_id`` through ``runner``'s flows (see the module).

    Raises :class:`ReplayRefusedError` when the document may not be replayed (in work, an
    acknowledgment, no flow for it), :class:`ReplayFailedError` when a replay that was recorded
    could not be delivered, and other :class:`~erpbridge.errors.ErpBridgeError` s (a mapping finding,
    a transport error) when it failed before anything was recorded.
    """
    original = runner.ledger.get(doc_id)
    if key is not None and (not key.strip() or len(key) > _MAX_KEY or not key.isprintable()):
        raise ReplayRefusedError(
            f"--key must be 1 to {_MAX_KEY} printable characters, got {key!r}", document=original.id
        )
    _check_replayable(original)
    if original.direction == Direction.IN:
        return _replay_inbound(runner, original, reason, key)
    return _replay_outbound(runner, original, reason, key)


def _check_replayable(doc: Document) -> None:
    where = {"document": doc.id, "partner": doc.partner, "kind": doc.kind}
    if doc.state in WORK_STATES[doc.direction]:
        claim = f", claimed by {doc.claimed_by}" if doc.claimed_by else ""
        raise ReplayRefusedError(
            f"the daemon is still working on this document (it is {doc.state.value}{claim}): wait until it is "
            "done (erpbridge ledger show), then replay it if it still needs sending",
            **where,
        )
    if doc.state == State.RETRY_WAIT:
        when = doc.next_attempt_at.isoformat(timespec="seconds") if doc.next_attempt_at else "soon"
        raise ReplayRefusedError(
            f"the daemon is still working on this document: {doc.resume_state or 'a step'} failed "
            f"({doc.last_error}) and is retried at {when}; if that keeps failing it becomes a dead letter "
            "(erpbridge dlq list)",
            **where,
        )
    if doc.kind == REPLAY_KIND:
        raise ReplayRefusedError(
            "this document records a replay: replay the original document (the one it replays, see "
            "erpbridge ledger show)",
            **where,
        )
    if doc.payload_sha256 is None:
        raise ReplayRefusedError("the document has no stored payload to replay", **where)
    if doc.direction == Direction.IN and doc.kind not in ("x12", "idoc"):
        raise ReplayRefusedError(
            "only partner interchanges (kind x12) and IDocs received from SAP (kind idoc) are replayed inbound",
            **where,
        )
    if doc.direction == Direction.OUT:
        parts = doc.kind.split("/")
        if parts[0] == "idoc":
            raise ReplayRefusedError(
                "IDocs we sent to SAP are not replayed on their own: replay the document it was made from "
                "(the 850 or the 856, see erpbridge ledger show), which sends a new IDoc with a new DOCNUM, "
                "or have SAP reprocess the IDoc it holds (transaction BD87)",
                **where,
            )
        if parts[0] != "x12" or len(parts) < 2:
            raise ReplayRefusedError(
                "this outbound document was never written as X12 (it failed before): fix the cause, drop it "
                "(erpbridge dlq drop) and put a corrected file into the flow's source folder",
                **where,
            )
        if _ACK_SETS.intersection(parts[1:]):
            raise ReplayRefusedError(
                "this is an acknowledgment we sent: acknowledgments are not replayed", **where
            )


def _request(original: Document, key: str | None) -> uuid.UUID:
    """The replay's request ID: random, or derived from the key (the same key, the same request)."""
    return uuid.uuid5(_NAMESPACE, f"{original.id}:{key}") if key is not None else uuid.uuid4()


# -- inbound ------------------------------------------------------------------------------------


def _inbound_flow(runner: Runner, doc: Document, sets: set[str]) -> tuple[Flow, Partner]:
    partner = runner.config.partners.get(doc.partner)
    flows = [f for f in runner.config.flows.values() if f.direction == "in" and f.partner == doc.partner]
    if partner is None or not flows:
        raise ReplayRefusedError(
            f"{runner.config.source} has no inbound flow for partner {doc.partner!r}: a replay delivers "
            "to the flow's target",
            document=doc.id,
            partner=doc.partner,
        )
    takes = [f for f in flows if sets <= {d.x12_set for d in f.documents}]
    return (takes or flows)[0], partner


def _idoc_flow(runner: Runner, doc: Document, payload: bytes) -> tuple[Flow, Partner, dict[str, Any]]:
    """The inbound IDoc flow that takes every IDoc of the file (the one it came through), and the
    ``validate`` detail; refused when that flow delivers to SAP, where a replay could duplicate."""
    decoded = decode_idoc(payload, source=doc.file_name or "")
    types = [
        (str(c.get("MESTYP", "")), str(c.get("IDOCTYP", "")))
        for c in ((i.get("EDI_DC40") or {}) for i in decoded.document["idocs"])
    ]
    partner = runner.config.partners.get(doc.partner)
    flows = [
        f
        for f in runner.config.flows.values()
        if f.direction == "in"
        and f.partner == doc.partner
        and f.reads_idoc
        and all(
            any(d.idoc_type == idoctyp and d.message_type in (None, mestyp) for d in f.documents)
            for mestyp, idoctyp in types
        )
    ]
    shown = ", ".join(sorted({f"{m}.{t}" for m, t in types})) or "no IDoc"
    if partner is None or not flows:
        raise ReplayRefusedError(
            f"{runner.config.source} has no inbound IDoc flow for partner {doc.partner!r} that takes {shown}: a "
            "replay delivers to the flow's target",
            document=doc.id,
            partner=doc.partner,
        )
    flow = sorted(flows, key=lambda f: not f.enabled)[0]
    target = runner.config.endpoints[flow.target.endpoint]
    if isinstance(target, SapIdocEndpoint | SapODataEndpoint):
        raise ReplayRefusedError(
            f"flow {flow.name} delivers this IDoc ({shown}) to SAP (endpoint {flow.target.endpoint}): a replay "
            "would give SAP the same business document a second time under a new key, which SAP could post "
            "twice; have SAP send it again instead (BD87 for the IDoc, or the application's output)",
            document=doc.id,
            partner=doc.partner,
        )
    return (
        flow,
        partner,
        {"idocs": len(types), "types": shown.split(", "), "errors": len(decoded.errors)},
    )


def _replay_inbound(runner: Runner, original: Document, reason: str | None, key: str | None) -> Replayed:
    ledger = runner.ledger
    payload = ledger.payload(original.payload_sha256 or "")
    summary = Summary()
    if original.kind == "idoc":  # SAP's IDoc file: mapped again by the flow it came through
        flow, partner, checked = _idoc_flow(runner, original, payload)
        documents = runner._canonical_idoc(flow, partner, payload, original)
    else:
        decoded = decode(payload)
        sets = {
            str(t.get("ST", {}).get("ST01", "?"))
            for i in decoded.document["interchanges"]
            for g in i["groups"]
            for t in g["sets"]
        }
        checked = {"sets": len(sets), "errors": sum(1 for f in decoded.findings if f.severity == "error")}
        flow, partner = _inbound_flow(runner, original, sets)
        documents = runner._canonical_inbound(flow, partner, payload, summary)  # the flow's mapping step
    if not documents:
        raise ReplayRefusedError(
            "the interchange holds no documents to deliver (only acknowledgments, applied again)",
            document=original.id,
            partner=original.partner,
        )
    request = _request(original, key)
    # a delivery key of its own: the first delivery is not overwritten, and a connector that
    # dedupes on the key (an ERP's external ID) takes the replay as the new document it is
    keyed = [(f"{k}.replay-{request.hex[:8]}", document) for k, document in documents]
    record = {
        "replay_of": original.id,
        "request": str(request),
        "key": key,
        "documents": [{"key": k, "document": document} for k, document in keyed],
    }
    info = {"replay_of": original.id, "reason": reason, "key": key, "flow": flow.name}
    doc, created = ledger.record_inbound(
        partner.id,
        REPLAY_KIND,
        (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode(),
        business_key=f"{original.id}:{key}" if key is not None else None,
        links=[(Relation.REPLAYS, original.id)],
        step="replay",
        detail={k: v for k, v in info.items() if v is not None},
        worker=runner.worker,
    )
    connector = runner._connector(flow)
    if not created:
        return Replayed(original, doc, False, (), connector.name)
    doc = runner._move(doc.id, State.VALIDATED, step="validate", detail=checked)
    doc = runner._move(doc.id, State.MAPPED, step="map", detail={"documents": len(keyed)})
    try:
        delivered = [connector.deliver(document, key=k) for k, document in keyed]
    except ErpBridgeError as exc:
        runner._move(
            doc.id,
            State.QUARANTINED,
            step="deliver",
            outcome="quarantined",
            reason=f"deliver: {exc}",
            detail={"error": str(exc), "to": connector.name},
        )
        raise ReplayFailedError(
            f"the replay could not be delivered to {connector.name}: {exc}; the replay {doc.id} is "
            f"quarantined: fix the cause, replay {original.id} again and drop {doc.id} (erpbridge dlq drop)",
            document=original.id,
            partner=original.partner,
        ) from exc
    finally:
        connector.close()
    runner._link_delivered(doc, delivered)  # an IDoc the connector recorded: derived from the replay
    references = [d.reference for d in delivered]
    doc = runner._move(
        doc.id,
        State.DELIVERED,
        step="deliver",
        detail={
            "to": connector.name,
            "references": references,
            "repeats": sum(not d.created for d in delivered),
        },
    )
    doc = runner._move(doc.id, State.ARCHIVED, step="archive")
    ledger.note(
        original.id, step="replay", outcome="replayed", detail={"replay": doc.id, "references": references}
    )
    return Replayed(original, doc, True, tuple(references), connector.name, tuple(summary.problems))


# -- outbound -----------------------------------------------------------------------------------


def _outbound_flow(runner: Runner, doc: Document) -> tuple[Flow, Partner]:
    partner = runner.config.partners.get(doc.partner)
    flows = [
        f
        for f in runner.config.flows.values()
        if f.direction == "out" and f.partner == doc.partner and any(d.to == doc.kind for d in f.documents)
    ]
    if partner is None or not flows:
        raise ReplayRefusedError(
            f"{runner.config.source} has no outbound flow sending {doc.kind} to partner {doc.partner!r}: a "
            "replay is put into the flow's target folder",
            document=doc.id,
            partner=doc.partner,
        )
    return sorted(flows, key=lambda f: not f.enabled)[0], partner


def _replay_outbound(runner: Runner, original: Document, reason: str | None, key: str | None) -> Replayed:
    ledger = runner.ledger
    flow, partner = _outbound_flow(runner, original)
    decoded = decode(ledger.payload(original.payload_sha256 or ""))
    sets: list[Mapping[str, Any]] = [
        t for i in decoded.document["interchanges"] for g in i["groups"] for t in g["sets"]
    ]
    if not sets:
        raise ReplayRefusedError(
            "the stored X12 holds no transaction sets", document=original.id, partner=original.partner
        )
    made: dict[str, bytes] = {}

    def build(alloc: Allocation) -> bytes:
        made["x12"] = runner.write_x12(partner, sets, alloc)
        return made["x12"]

    info = {"replay_of": original.id, "reason": reason, "key": key, "flow": flow.name}
    doc = ledger.record_outbound(
        partner.id,
        original.kind,
        payload=build,
        sets=len(sets),
        state=State.WRITTEN,
        business_key=original.business_key,
        idempotency_key=f"replay:{original.id}:{key}" if key is not None else None,
        file_name=original.file_name,
        links=[(Relation.REPLAYS, original.id)],
        step="replay",
        detail={k: v for k, v in info.items() if v is not None},
        worker=runner.worker,
    )
    created = "x12" in made
    target = f"{flow.target.endpoint}:{flow.target.folder}"
    if doc.state != State.WRITTEN or doc.claimed_by != runner.worker:
        return Replayed(original, doc, created, (), target)  # sent by an earlier replay with this key
    data = made.get("x12") or ledger.payload(doc.payload_sha256 or "")
    summary = Summary()
    try:
        with runner._transport(flow.target.endpoint, partner.id).session() as t:
            sent = runner._put_and_mark_sent(flow, partner, t, doc, data, summary)
    except ErpBridgeError as exc:  # the session could not be opened: the same as a failed put
        runner._fail(flow.name, doc, exc, "put", data, summary)
        sent = False
    after = ledger.get(doc.id)
    if not sent:
        raise ReplayFailedError(
            f"the new interchange ISA13 {doc.isa13} (document {doc.id}) could not be put into {target}: "
            f"{'; '.join(summary.problems)}; it is {after.state.value}"
            + (" and the next erpbridge run retries it" if after.state == State.RETRY_WAIT else ""),
            document=original.id,
            partner=original.partner,
        )
    put = [e for e in ledger.events(doc.id) if e.step == "put" and e.to_state == State.SENT]
    files = tuple(str(e.detail.get("file")) for e in put[-1:])
    ledger.note(original.id, step="replay", outcome="replayed", detail={"replay": doc.id, "isa13": doc.isa13})
    return Replayed(original, after, True, files, target, tuple(summary.problems))


# -- the flow's connectors only ----------------------------------------------------------------


def redeliver(runner: Runner, doc_id: str, *, reason: str | None = None, key: str | None = None) -> Replayed:
    """Deliver an outbound X12 document again to its flow's ``also_deliver`` connectors only (an
    856's NetSuite item fulfillments, deleted in NetSuite or never made): the stored X12 is mapped
    back to its canonical documents with the partner's ``<set>-to-*.yaml`` mapping and delivered
    under the delivery key the flow used (``<key>:<endpoint>``). No new interchange goes to the
    partner. What the connector has already it does not make again (NetSuite: the fulfillment's
    external ID per shipment and PO), so this is idempotent by itself; with ``key``, a second call
    with the same key does nothing (``created`` false). Recorded as an ``also_deliver`` event on
    the document (``redelivered``, the key and the reason)."""
    ledger = runner.ledger
    original = ledger.get(doc_id)
    _check_replayable(original)
    if original.direction != Direction.OUT:
        raise ReplayRefusedError("only an outbound document is delivered again to its flow's connectors")
    flow, partner = _outbound_flow(runner, original)
    target = ",".join(p.endpoint for p in flow.also_deliver)
    if not flow.also_deliver:
        raise ReplayRefusedError(
            f"flow {flow.name} delivers {original.kind} to no connector (no also_deliver)",
            document=original.id,
            partner=original.partner,
        )
    if key is not None:
        for event in ledger.events(original.id):
            if event.step == "also_deliver" and event.detail.get("key") == key:
                return Replayed(
                    original, original, False, tuple(event.detail.get("references") or ()), target
                )
    x12_set = original.kind.split("/")[1]
    mapping = runner._mapping_for(partner, f"{x12_set}-to-*.yaml")
    if mapping is None:
        raise ReplayRefusedError(
            f"no mapping from x12/{x12_set} back to a canonical document for partner {partner.id}",
            document=original.id,
        )
    decoded = decode(ledger.payload(original.payload_sha256 or ""))
    documents: list[dict[str, Any]] = []
    for inter in decoded.document["interchanges"]:
        for group in inter["groups"]:
            for tset in group["sets"]:
                mapped = mapping.apply(tset, x12_meta(inter, group, tset, partner.id))
                if mapped.document is None:
                    raise ReplayFailedError(
                        "the stored X12 does not map back: " + "; ".join(str(f) for f in mapped.findings),
                        document=original.id,
                    )
                kind = str(mapped.document.get("kind"))
                documents.append(to_json(from_json(kind, mapped.document)))
    base = original.idempotency_key or original.id
    delivered = []
    slots = [f"{flow.name}:also:{n}" for n in range(len(flow.also_deliver))]
    try:
        for document in documents:
            for slot, place in zip(slots, flow.also_deliver, strict=True):
                connector = runner._connector(flow, place, slot)
                delivered.append(connector.deliver(document, key=f"{base}:{place.endpoint}"))
    finally:
        for slot in slots:
            made = runner.connectors.pop(slot, None)
            if made is not None:
                made.close()
    runner._link_delivered(original, delivered)
    runner._link_orders(original, delivered)
    references = tuple(d.reference for d in delivered)
    detail = {
        "to": [p.endpoint for p in flow.also_deliver],
        "references": list(references),
        "redelivered": True,
        "created": any(d.created for d in delivered),
    }
    ledger.note(
        original.id,
        step="also_deliver",
        outcome="ok",
        detail=detail | {k: v for k, v in (("key", key), ("reason", reason)) if v is not None},
    )
    return Replayed(original, original, any(d.created for d in delivered), references, target)


__all__ = ["REPLAY_KIND", "ReplayFailedError", "ReplayRefusedError", "Replayed", "redeliver", "replay"]
