"""One pass over every flow of a configuration (``erpbridge run --once``; the daemon calls it per poll).

Inbound, per file in the partner's folder::

    fetch → record (ledger: received; deduplicated by content and ISA13) → validate → send our
    997/999/TA1 (recorded with control numbers from the ledger) → map each set → deliver canonical
    JSON to the target → archive the partner's file

Each arrow is a ledger transition with its event. Files are taken in chunks (:data:`CHUNK_FILES`):
one durable transaction records a chunk's files (received + validated + our 997 recorded with its
control numbers) before any I/O; each file's I/O then follows (997 put, delivery, archive), and the
moves that record it (sent, acknowledged, mapped, delivered, archived: steps whose effect is done
and idempotent) wait for the chunk's end, when the folders its renames touched are fsynced once
and one more transaction makes them all (docs/pipeline.md). The file is read once for validation,
acknowledgments and mapping. A 997 from the partner is matched to what it acknowledges: our
outbound document becomes ``acknowledged`` or ``rejected`` (with the partner's AK3/AK4 reasons).

Outbound, per canonical JSON file in the WMS/ERP folder (or CSV file, read by formats/csvrows.py and
made into canonical documents by the flow's ``csv_mapping``)::

    fetch → check against the model → map → record (ledger: control numbers allocated in the same
    transaction, the X12 written) → put into the partner's folder (sent; its 997 is now owed) →
    archive the source file

A transient error (a folder that is not there, a busy ledger) leaves the document for a retry with
backoff; a terminal one (bad X12, a mapping finding) quarantines it with the reason, and a copy of
the file and the reason go into the quarantine folder. Nothing is deleted that the ledger has not
recorded as done, so after a crash the next run resumes where the last one stopped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from ..config import (
    Config,
    Flow,
    Partner,
    Place,
    SapIdocEndpoint,
    SapODataEndpoint,
    build_connector,
    build_transport,
)
from ..connectors import Connector, Delivered, WorkSource
from ..connectors.base import FolderConnector
from ..errors import (
    AuthenticationError,
    ConfigError,
    CsvError,
    DocumentRejectedError,
    ErpBridgeError,
    FlatFileError,
    InputError,
    ModelError,
)
from ..formats.csvrows import read_csv
from ..formats.flatfile import Layout, load_layout
from ..formats.flatfile import read as read_flatfile
from ..formats.idoc import decode as decode_idoc
from ..formats.x12 import (
    Acknowledgment,
    ControlNumbers,
    DecodeResult,
    Finding,
    Overlay,
    build_acks,
    encode,
    envelope,
    read,
)
from ..formats.x12.lexer import Lexer, Segment
from ..formats.x12.schema import builtin_overlays
from ..formats.x12.view import build_view
from ..ledger import Allocation, Direction, Document, Ledger, Relation, State
from ..ledger.chain import canonical_json
from ..ledger.states import ATTENTION_STATES, FINAL_STATES, WORK_STATES
from ..mapping import Mapping as LoadedMapping
from ..mapping import MappingFinding, MappingResult, load_mapping
from ..mapping.inventory_rules import InventoryRules, load_rules
from ..mapping.meta import idoc_meta, x12_meta
from ..mapping.shipped import find_mappings, kind_stem
from ..model import KINDS, from_json, to_json
from ..transports import FolderSyncs, Session, Transport
from ..transports.local import LocalSession
from .pauses import credential_fingerprint, current_pause
from .warehouse import WarehouseConnector, link_confirmation, link_derived


def isa13_of(payload: bytes) -> str | None:
    """The first interchange's control number, as the lexer reads the ISA; ``None`` when there is none."""
    lexer = Lexer()
    try:
        lexer.feed(payload[:4096])  # the ISA is the first segment: the head is enough
        first = next((t for t in lexer.tokens() if isinstance(t, Segment)), None)
    except ErpBridgeError:
        return None
    if first is None or first.elements[0] != "ISA" or len(first.elements) < 14:
        return None
    value = first.elements[13].strip()
    return value.zfill(9) if value.isdigit() and len(value) <= 9 else None


@dataclass
class Summary:
    """What one pass did, per flow: counts of outcomes, and the problems a person must look at."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)  # what a batch found, for its job run

    def add(self, flow: str, outcome: str, n: int = 1) -> None:
        self.counts[(flow, outcome)] += n

    @property
    def failed(self) -> bool:
        """Whether anything was quarantined or dead-lettered (``run --once`` exits 1)."""
        return any(
            outcome in ("quarantined", "dead_lettered") and n for (_, outcome), n in self.counts.items()
        )

    def table(self) -> list[tuple[str, str, int]]:
        return sorted((flow, outcome, n) for (flow, outcome), n in self.counts.items() if n)


class Progress(str):
    """A file of a batch, for a progress display: the ``n``-th of ``total`` files of ``flow``.

    It is also the progress line itself (``"  flow: n/total file"``): a ``progress`` callback that
    prints the strings it receives needs no change, and one that draws a bar checks for this type.
    """

    flow: str
    n: int
    total: int
    file: str

    def __new__(cls, flow: str, n: int, total: int, file: str) -> Progress:
        line = super().__new__(cls, f"  {flow}: {n}/{total} {file}")
        line.flow, line.n, line.total, line.file = flow, n, total, file
        return line


#: A state move waiting to be made with others in one transaction: document, state, transition()'s keywords.
_Move = tuple[str, State, dict[str, Any]]


class _RecordedAck(NamedTuple):
    """One of our acknowledgments of an inbound interchange, recorded: its kind (``x12/997``), the
    ledger's document, and its bytes when they were written just now (else in the ledger)."""

    kind: str
    document: Document
    data: bytes | None


class _Interchange:
    """An inbound X12 file read once, with its partner's overlays: the reader's events, and from
    them (each built once, when asked) the JSON view to validate and map, and the acknowledgments."""

    def __init__(self, payload: bytes, partner: Partner, events: list[Any]) -> None:
        self.payload, self.partner, self.events = payload, partner, events

    @functools.cached_property
    def view(self) -> DecodeResult:
        return build_view(self.events)

    @functools.cached_property
    def acks(self) -> list[Acknowledgment]:
        return [a for a in build_acks(self.events, kind=self.partner.ack) if not a.is_empty()]


CHUNK_FILES = 64
"""Inbound files recorded in one ledger transaction (:meth:`Runner._receive_chunk`) at most."""
CHUNK_BYTES = 1 << 20
"""... and their bytes at most (a bigger file is a chunk of its own): the chunk's interchanges are
held, read, until its last file is done."""
CHUNK_MOVES = 6 * CHUNK_FILES
"""Moves waiting for a transaction (:meth:`Runner._defer`) after which they are made at once."""


def _chunks(files: Iterable[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    """``files`` in lists of at most :data:`CHUNK_FILES` files and :data:`CHUNK_BYTES` bytes (a
    bigger file alone)."""
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for name, data in files:
        if chunk and (len(chunk) >= CHUNK_FILES or size + len(data) > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((name, data))
        size += len(data)
    if chunk:
        yield chunk


class Runner:
    """Runs the flows of ``config`` against ``ledger``."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        *,
        mappings_root: Path,
        worker: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[str], None] = lambda _: None,
        settle: bool = False,
    ) -> None:
        self.config, self.ledger, self.now, self.progress = config, ledger, now, progress
        # claims in the ledger are per worker: two processes must never share a name
        self.worker = worker or default_worker()
        self.mappings_root = mappings_root
        # one pass only (--once): list each folder twice, so that files whose size and time did not
        # change between the two listings count as settled (stable_after) without waiting a poll
        self.settle = settle
        self.transports: dict[str, Transport] = {}
        self.connectors: dict[str, Connector] = {}
        self._mark = time.monotonic()  # when the step in hand started: events carry latencies
        self._target_down: set[str] = set()  # outbound flows whose target failed a put this pass
        self._paused: dict[str, bool] = {}  # endpoints found paused (True) or not this pass (pauses.py)
        self._held: set[str] = set()  # documents left waiting for a paused endpoint this pass
        self._mappings: dict[Path, LoadedMapping] = {}
        # the inbound interchanges in hand (a chunk's), each read once: by id of the payload
        self._reads: dict[int, _Interchange] = {}
        self._deferred: list[_Move] = []  # moves that wait for the next transaction (_defer)
        # folders' fsyncs held while inbound files are taken in chunks, made before the ledger
        # records what the renames did (_sync_owed)
        self._syncs = FolderSyncs()
        # the partner's server (an inbound flow's source session) failed a put or an archive: the
        # chunk's other files wait for the next pass instead of each failing the same way
        self._source_down: ErpBridgeError | None = None
        self._layouts: dict[Path, Layout] = {}  # flows' flat-file layouts, loaded once
        self._rules: dict[Path, InventoryRules] = {}  # flows' inventory rules, loaded once
        # set by the daemon on SIGTERM: the document in hand is finished, then the pass ends
        self.stopping = threading.Event()

    # -- plumbing -------------------------------------------------------------------------------

    def _transport(self, endpoint: str, partner: str | None) -> Transport:
        ep = self.config.endpoints[endpoint]
        if isinstance(ep, SapIdocEndpoint) and ep.transport:  # a file port: its folders' endpoint
            return self._transport(ep.transport, partner)
        if endpoint not in self.transports:
            self.transports[endpoint] = build_transport(ep, partner=partner)
        return self.transports[endpoint]

    def _connector(self, flow: Flow, place: Place | None = None, slot: str | None = None) -> Connector:
        """Where a flow's canonical documents go: its target (an inbound flow), or ``place`` (one of
        an outbound flow's ``also_deliver``), by the endpoint's type (a folder, SAP over OData or
        IDocs; config.build_connector). Kept open until the flow's pass ends."""
        slot = slot or flow.name
        if slot not in self.connectors:
            place = place or flow.target
            ep = self.config.endpoints[place.endpoint]
            # folders and IDoc file ports write through a transport; OData and XML HTTP speak HTTP
            has_files = ep.type in ("folder", "wms_flatfile") or (
                isinstance(ep, SapIdocEndpoint) and ep.port == "file"
            )
            transport = self._transport(place.endpoint, None) if has_files else None
            built = build_connector(
                ep,
                folder=place.folder,
                transport=transport,
                ledger=self.ledger,
                partner=flow.partner,
                worker=self.worker,
            )
            # pick requests and the confirmations answering them, kept in the ledger (warehouse.py)
            self.connectors[slot] = WarehouseConnector(
                built,
                self.ledger,
                partner=flow.partner,
                worker=self.worker,
                to_sap=isinstance(ep, SapIdocEndpoint | SapODataEndpoint),
                receipt=isinstance(ep, SapODataEndpoint),
            )
        return self.connectors[slot]

    def _link_delivered(self, doc: Document, delivered: Iterable[Delivered]) -> None:
        """What a connector recorded in the ledger for a delivery (an IDoc with its DOCNUM) is linked
        ``derived_from`` the document it was made from."""
        delivered = list(delivered)
        for d in delivered:
            made = d.detail.get("document_id")
            if isinstance(made, str) and made != doc.id:
                self.ledger.link(made, doc.id, Relation.DERIVED_FROM)
        link_confirmation(self.ledger, doc.id, delivered)  # a confirmation answers its pick request

    def _link_orders(self, doc: Document, delivered: Iterable[Delivered]) -> None:
        """A shipment a connector fulfilled orders with (NetSuite item fulfillments) *answers* the
        inbound documents those orders were delivered from, found by the order's external ID: the
        delivery key it was made of (``PurchaseOrder-<partner>-<ISA13>-<ST02>``, or ``-<DOCNUM>``)."""
        for d in delivered:
            for made in d.detail.get("fulfillments") or ():
                key = made.get("sales_order_external_id") if isinstance(made, Mapping) else None
                found = _DELIVERY_KEY.match(key) if isinstance(key, str) else None
                if found is None:
                    continue
                sources = self.ledger.find(
                    partner=found["partner"],
                    direction=Direction.IN,
                    isa13=found["isa13"],
                    docnum=found["docnum"],
                    limit=1,
                )
                for source in sources:
                    self.ledger.link(doc.id, source.id, Relation.ANSWERS)

    def _mapping_for(self, partner: Partner, pattern: str, standard: str = "x12") -> LoadedMapping | None:
        found = find_mappings(pattern, [partner.mappings, self.mappings_root / standard])
        if not found:
            return None
        if found[0] not in self._mappings:
            self._mappings[found[0]] = load_mapping(found[0])
        return self._mappings[found[0]]

    def _overlays_for(self, partner: Partner) -> list[Overlay]:
        return list(builtin_overlays(partner.overlay)) if partner.overlay else []

    def _quarantine_copy(self, flow: str, name: str | None, payload: bytes, reason: str) -> None:
        folder = self.config.folders.quarantine / flow
        folder.mkdir(parents=True, exist_ok=True)
        base = name or "document"
        (folder / base).write_bytes(payload)
        (folder / f"{base}.reason.txt").write_text(reason + "\n", encoding="utf-8")

    def _fetched(self, flow: Flow, s: Session, summary: Summary) -> Iterator[tuple[str, bytes]]:
        """The settled files of the flow's source folder, fetched one by one, with progress."""
        if self.settle:
            s.list(flow.source.folder)
        files = s.list(flow.source.folder)
        for n, f in enumerate(files, start=1):
            if self.stopping.is_set():
                break
            self.progress(Progress(flow.name, n, len(files), f.name))
            try:
                data = s.fetch(flow.source.folder, f.name)
            except InputError:  # gone since the listing (another worker took it)
                summary.add(flow.name, "vanished")
                continue
            self._mark = time.monotonic()
            yield f.name, data

    def write_x12(self, partner: Partner, sets: list[Mapping[str, Any]], alloc: Allocation) -> bytes:
        """One interchange to ``partner`` around ``sets``, with the control numbers of ``alloc``
        (from the ledger), in the partner's release and delimiters, checked against its overlay."""
        view = envelope(
            sets,
            sender=self.config.us.envelope_party(),
            receiver=partner.party.envelope_party(),
            now=self.now(),
            version=partner.version,
            test=partner.test,
        )
        return encode(
            view,
            dialect=partner.delimiters.dialect(partner.version),
            control=ControlNumbers(alloc.isa13, alloc.gs06, alloc.st02),
            overlays=self._overlays_for(partner),
        )

    def _make_local_folders(self) -> None:
        """The folders of local endpoints that flows use (the embedded default starts from nothing)."""
        for flow in self.config.flows.values():
            places = [flow.source, flow.target, *flow.also_deliver] + ([flow.acks] if flow.acks else [])
            for place in places:
                ep = self.config.endpoints[place.endpoint]
                folders = [place.folder, place.archive]
                if isinstance(ep, SapIdocEndpoint) and ep.transport:  # a file port's folders
                    folders = [place.archive, place.folder if place.archive else ep.folder]
                    ep = self.config.endpoints[ep.transport]
                root = getattr(ep, "root", None)
                if root is None:  # SFTP: the partner's server has its own folders
                    continue
                for folder in folders:
                    if folder:
                        (Path(root) / folder).mkdir(parents=True, exist_ok=True)

    def _sync_owed(self) -> None:
        """The folders' fsyncs held (:class:`FolderSyncs`), made now: before the ledger records a
        put, a delivery or an archive that renamed files in them."""
        if self._syncs.owed:
            self._syncs.sync()

    def _move(self, doc_id: str, to_state: State, **kw: Any) -> Document:
        """The one ledger transition of the pipeline: as this worker, so a lost claim is noticed,
        with the step's latency (since the previous step of this worker)."""
        kw.setdefault("latency_ms", int((time.monotonic() - self._mark) * 1000))
        self._sync_owed()
        moved = self.ledger.transition(doc_id, to_state, worker=self.worker, **kw)
        self._mark = time.monotonic()
        return moved

    def _lap(self) -> int:
        """The step in hand is done: its latency in ms (since the previous step), for a move made
        later with others (:meth:`_moves`)."""
        now = time.monotonic()
        latency, self._mark = int((now - self._mark) * 1000), now
        return latency

    def _moves(self, moves: list[_Move]) -> list[Document]:
        """Moves of steps with no I/O between them, in one ledger transaction (relaxed, as every
        move): each still checked, with its own event and latency. The documents after them."""
        if not moves:
            return []
        self._sync_owed()
        moved = self.ledger.transitions(moves, worker=self.worker)
        self._mark = time.monotonic()
        return moved

    def _defer(self, doc_id: str, to_state: State, **kw: Any) -> None:
        """A move that may wait for the chunk's end (or the pass's, or the next chunk's recording):
        one whose step is done and idempotent. If the process dies first, the document is still at
        its last recorded step, and resuming it does the steps after it again with the same effect
        (the same 997 and control numbers, the same delivery key, an archive that finds the file
        moved already) and moves it then."""
        self._deferred.append((doc_id, to_state, kw))

    def _flush_deferred(self, flow: str, summary: Summary) -> None:
        """The moves :meth:`_defer` left, in one transaction. A failure is reported: those documents
        are resumed from the ledger (their claims run out)."""
        moves, self._deferred = self._deferred, []
        try:
            self._moves(moves)
        except ErpBridgeError as exc:
            summary.problems.append(f"{flow}: {len(moves)} documents archived but not yet marked so: {exc}")

    def _x12(self, partner: Partner, payload: bytes) -> _Interchange:
        """An inbound interchange read once (with the partner's overlays) for validation, the
        acknowledgments and the mapping: kept while its document advances (those of a chunk, up
        to :data:`CHUNK_BYTES`, until the chunk is done)."""
        got = self._reads.get(id(payload))
        if got is None or got.payload is not payload or got.partner is not partner:
            got = _Interchange(payload, partner, list(read(payload, overlays=self._overlays_for(partner))))
            self._reads[id(payload)] = got
        return got

    def _validation(self, partner: Partner, payload: bytes) -> dict[str, Any]:
        """Validate an interchange (NotX12Error when it is not X12): the ``validate`` event's detail."""
        decoded = self._x12(partner, payload).view
        errors = [f for f in decoded.findings if f.severity == "error"]
        sets = sum(len(g["sets"]) for i in decoded.document["interchanges"] for g in i["groups"])
        return {"sets": sets, "errors": len(errors)}

    def _record_acks(
        self, partner: Partner, doc: Document, payload: bytes, *, new: bool = False
    ) -> list[_RecordedAck]:
        """Our 997/999/TA1s for ``doc``, built from its validation (the partner's overlay too), each
        recorded as an outbound document with control numbers from the ledger, ``written``; with the
        bytes when written now (idempotent: recorded before, the same document comes back).
        ``new``: ``doc`` was recorded in this same transaction, so none can have been recorded."""
        recorded: list[_RecordedAck] = []
        for i, ack in enumerate(self._x12(partner, payload).acks):
            kinds = {ack.ack_kind(g) for g in ack.groups} or {"TA1"}
            kind = "x12/" + "/".join(sorted(kinds))
            made: dict[str, bytes] = {}

            def build(alloc: Any, ack: Any = ack, made: dict[str, bytes] = made) -> bytes:
                made["x12"] = ack.encode(self.now(), ControlNumbers(alloc.isa13, alloc.gs06, alloc.st02))
                return made["x12"]

            out = self.ledger.record_outbound(
                partner.id,
                kind,
                payload=build,
                state=State.WRITTEN,
                idempotency_key=f"ack:{doc.id}:{i}",
                new_key=new,
                links=[(Relation.ACKNOWLEDGES, doc.id)],
                step="write_ack",
                worker=self.worker,
            )
            recorded.append(_RecordedAck(kind, out, made.get("x12")))
        return recorded

    def _credential(self, endpoint: str) -> str | None:
        """The name of the credential an endpoint's transport uses (for the events), if any."""
        return getattr(self.transports.get(endpoint), "credential_name", None) or None

    def _release_dead_claims(self) -> None:
        """Claims held by processes of this host that no longer run (killed, crashed) are released,
        so that this pass resumes their documents now instead of when the leases run out."""
        host = self.worker.rpartition(":")[0]
        for direction in Direction:
            for doc in self.ledger.find(direction=direction, states=WORK_STATES[direction], limit=10_000):
                owner = doc.claimed_by
                if owner and owner != self.worker and _dead_local_worker(owner, host):
                    self.ledger.release(doc.id, owner)

    def _fail(
        self, flow: str, doc: Document, exc: ErpBridgeError, step: str, payload: bytes, summary: Summary
    ) -> Document:
        after = self.ledger.fail(doc.id, exc, step=step, worker=self.worker)
        summary.add(flow, after.state.value)
        if after.state == State.RETRY_WAIT:
            summary.problems.append(f"{flow}: {doc.file_name or doc.id}: will retry {step}: {exc}")
        if after.state in (State.QUARANTINED, State.DEAD_LETTERED):
            self._quarantine_copy(flow, doc.file_name, payload, f"{step}: {exc}")
            summary.problems.append(
                f"{flow}: {doc.file_name or doc.id}: {after.state.value} at {step}: {exc}"
            )
        return after

    def _endpoint_paused(self, endpoint: str) -> bool:
        """Whether ``endpoint`` is paused (pipeline/pauses.py); one whose credential was replaced since
        is resumed here. Asked of the ledger once per endpoint and pass."""
        if endpoint not in self._paused:
            pause = current_pause(self.ledger, self.config, endpoint, worker=self.worker)
            self._paused[endpoint] = pause is not None
        return self._paused[endpoint]

    def _pause(
        self,
        endpoint: str,
        exc: AuthenticationError,
        summary: Summary,
        *,
        flow: str,
        doc: Document | None = None,
    ) -> None:
        """``endpoint`` refused the credentials: pause it in the ledger (an ``endpoint_pause`` event on
        ``doc``, which the notification job sends) until the credential is replaced or resumed."""
        _, created = self.ledger.pause_endpoint(
            endpoint,
            reason=str(exc),
            fingerprint=credential_fingerprint(self.config, endpoint),
            worker=self.worker,
            document_id=doc.id if doc is not None else None,
        )
        self._paused[endpoint] = True
        if created:
            summary.problems.append(
                f"{flow}: endpoint {endpoint} paused: {exc} (it resumes when its credential is replaced, "
                f"or with: erpbridge endpoint resume {endpoint})"
            )

    def _hold(self, flow: Flow, s: Session, doc: Document, summary: Summary) -> None:
        """Leave an inbound document in its work state for a paused target: released, no attempt
        spent; the partner's file is archived (its payload is in the ledger, where the document is
        taken up again once the endpoint resumes), so that polls do not record it again and again."""
        if flow.source.archive and doc.file_name:
            s.archive(flow.source.folder, doc.file_name, flow.source.archive)
        self.ledger.release(doc.id, self.worker)
        self._held.add(doc.id)
        summary.add(flow.name, "paused")

    # -- the pass -------------------------------------------------------------------------------

    def run_once(self, flows: Collection[str] | None = None, *, ack_overdue: bool = True) -> Summary:
        """One pass over the enabled ``flows`` (default: all), then the overdue-ack check."""
        summary = Summary()
        for folder in (
            self.config.folders.archive,
            self.config.folders.quarantine,
            self.config.folders.outbox,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        self._make_local_folders()
        self._target_down.clear()
        self._paused.clear()
        self._held.clear()
        self._release_dead_claims()
        for flow in self.config.flows.values():
            if not flow.enabled or (flows is not None and flow.name not in flows):
                continue
            if self.stopping.is_set():
                break
            self.progress(f"flow {flow.name} ({flow.direction})")
            try:
                if flow.direction == "in":
                    self._inbound(flow, summary)
                else:
                    self._outbound(flow, summary)
            except ErpBridgeError as exc:  # the flow's folder or peer: the next poll retries
                summary.add(flow.name, "flow_error")
                summary.problems.append(f"{flow.name}: {exc}")
            finally:
                self._flush_deferred(flow.name, summary)
                self._sync_owed()
                slots = [k for k in self.connectors if k == flow.name or k.startswith(f"{flow.name}:also:")]
                for connector in [self.connectors.pop(k) for k in slots]:
                    try:
                        connector.close()
                    except ErpBridgeError as exc:  # what it delivered is recorded: only report it
                        summary.problems.append(f"{flow.name}: closing {connector.name}: {exc}")
        if ack_overdue and not self.stopping.is_set():
            self._ack_overdue(summary)
        return summary

    # -- inbound --------------------------------------------------------------------------------

    def _inbound(self, flow: Flow, summary: Summary) -> None:
        partner = self.config.partners[flow.partner]
        if flow.reads_odata:
            self._inbound_work(flow, partner, summary)
            return
        source = self._transport(flow.source.endpoint, partner.id)
        with source.session() as s:
            if isinstance(s, LocalSession):  # a chunk's renames: one fsync per folder (_sync_owed)
                s.hold_syncs(self._syncs)
            self._source_down = None
            try:
                for chunk in _chunks(self._fetched(flow, s, summary)):
                    try:
                        for (name, payload), (doc, created, acks) in zip(
                            chunk, self._receive_chunk(flow, partner, chunk), strict=True
                        ):
                            if self._source_failed():
                                self._postpone(flow, doc, summary)
                                continue
                            self._take_inbound(flow, partner, s, name, payload, doc, created, acks, summary)
                    finally:
                        self._reads.clear()
                    self._flush_deferred(flow.name, summary)  # the chunk's last moves: one transaction
                    if self._source_failed():
                        return  # nothing more of this server this pass: the next poll tries again
                self._resume_inbound(flow, partner, s, summary)
            finally:
                self._flush_deferred(flow.name, summary)
                self._sync_owed()
                if isinstance(s, LocalSession):
                    s.hold_syncs(None)

    def _source_failed(self) -> bool:
        """Whether the inbound flow's source failed a put or an archive this pass."""
        return self._source_down is not None

    def _postpone(self, flow: Flow, doc: Document, summary: Summary) -> None:
        """A file of a chunk recorded (and its 997 written) while the partner's server went down
        before its turn: released as it is, no attempt spent; the next pass resumes it."""
        if doc.claimed_by == self.worker and doc.state in WORK_STATES[Direction.IN]:
            self.ledger.release(doc.id, self.worker)
            summary.add(flow.name, "postponed")
            summary.problems.append(
                f"{flow.name}: {doc.file_name}: postponed to the next pass, the partner's server "
                f"failed before its turn: {self._source_down}"
            )

    def _take_inbound(
        self,
        flow: Flow,
        partner: Partner,
        s: Session,
        name: str,
        payload: bytes,
        doc: Document,
        created: bool,
        acks: list[_RecordedAck] | None,
        summary: Summary,
    ) -> None:
        """A fetched file, as recorded: taken to the end when it is new (or a crashed worker's),
        else counted (and archived when the ledger has it done)."""
        if not created and (doc.state in FINAL_STATES or doc.state in ATTENTION_STATES):
            summary.add(flow.name, "duplicate")
            if flow.source.archive:
                s.archive(flow.source.folder, name, flow.source.archive)
            return
        if doc.state == State.RETRY_WAIT:  # failed before: resumed below when its time has come
            summary.add(flow.name, "waiting")
            return
        if doc.claimed_by != self.worker:  # another process has it in hand
            summary.add(flow.name, "busy_elsewhere")
            return
        if created:
            summary.add(flow.name, "received")
        self._advance_inbound(flow, partner, s, doc, payload, summary, acks)

    def _inbound_work(self, flow: Flow, partner: Partner, summary: Summary) -> None:
        """An inbound flow polling SAP over OData: each delivery to pick (its record, as
        connectors.sap_odata.delivery_record makes it) is recorded once per delivery number (kind
        ``odata``, business key the delivery) and taken through the steps a file goes through
        (validate, map by ``outbound-delivery-to-*.yaml``, deliver, archive). A delivery recorded
        before is not recorded again; one SAP changed since is reported, not sent again (docs/sap.md)."""
        endpoint = self.config.endpoints[flow.source.endpoint]
        source = build_connector(endpoint, ledger=self.ledger, partner=partner.id, worker=self.worker)
        if not isinstance(source, WorkSource):  # config.py allows sap_odata sources only
            raise ConfigError(f"[endpoints.{flow.source.endpoint}] cannot be polled for work", flow=flow.name)
        files = _NoFiles()
        try:
            for number, record in source.work_records(shipping_point=flow.source.shipping_point):
                if self.stopping.is_set():
                    break
                self._mark = time.monotonic()
                payload = (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
                doc = self._receive_work(flow, partner, number, payload, summary)
                if doc is not None:
                    self._advance_inbound(flow, partner, files, doc, payload, summary)
                if len(self._deferred) >= CHUNK_MOVES:
                    self._flush_deferred(flow.name, summary)
            self._resume_inbound(flow, partner, files, summary)
        finally:
            source.close()

    def _receive_work(
        self, flow: Flow, partner: Partner, number: str, payload: bytes, summary: Summary
    ) -> Document | None:
        """Record one delivery to pick, once: the document to take on, or None (seen before)."""
        found = self.ledger.find(
            partner=partner.id, direction=Direction.IN, kind=WORK_KIND, business_key=number, limit=1
        )
        if found:
            doc, sha = found[0], hashlib.sha256(payload).hexdigest()
            if doc.payload_sha256 == sha or any(e.payload_sha256 == sha for e in self.ledger.events(doc.id)):
                summary.add(flow.name, "duplicate")  # polled again while the warehouse works on it
                return None
        doc, created = self.ledger.record_inbound(
            partner.id,
            WORK_KIND,
            payload,
            file_name=f"{flow.documents[0].odata}-{number}.json",
            business_key=number,
            step="receive",
            credential=None,
            worker=self.worker,
        )
        if created:
            summary.add(flow.name, "received")
            return doc
        # SAP changed the delivery since: the duplicate event keeps the new content, once
        summary.add(flow.name, "changed")
        summary.problems.append(
            f"{flow.name}: SAP delivery {number} changed after erpbridge handed it to the warehouse "
            f"(document {doc.id[:8]}): the pick request is not sent again; tell the warehouse, or have "
            "SAP make a new delivery (docs/sap.md)"
        )
        return None

    def _record_file(self, flow: Flow, partner: Partner, name: str, payload: bytes) -> tuple[Document, bool]:
        """Record a fetched file (deduplicated by content and ISA13, or DOCNUM: ``received``)."""
        idoc = flow.reads_idoc
        return self.ledger.record_inbound(
            partner.id,
            "idoc" if idoc else "x12",
            payload,
            file_name=name,
            isa13=None if idoc else isa13_of(payload),
            docnum=docnum_of(payload) if idoc else None,
            step="receive",
            credential=self._credential(flow.source.endpoint),
            worker=self.worker,
        )

    def _receive_chunk(
        self, flow: Flow, partner: Partner, chunk: list[tuple[str, bytes]]
    ) -> list[tuple[Document, bool, list[_RecordedAck] | None]]:
        """Record a chunk of fetched files (:func:`_chunks`), each deduplicated by content and ISA13
        (``received``). New X12 files are validated first (pure work, no I/O) and each one's
        acknowledgments recorded with their control numbers, all in one ledger transaction that
        also makes the moves :meth:`_defer` left: one durable commit for the chunk. Per file: the
        document, whether it is new, and the acknowledgments recorded (None: not here).

        When the transaction is refused (an acknowledgment that cannot be written), each file is
        recorded on its own, so that the others go through; a refused file alone is recorded
        without its validation, and that step then fails on its own, with its reason."""
        checked: list[tuple[str, bytes, dict[str, Any] | None, int]] = []
        for name, payload in chunk:
            started, validation = time.monotonic(), None
            # not X12 (NotX12Error): recorded, then quarantined by _advance_inbound's validate
            if not flow.reads_idoc:
                with contextlib.suppress(ErpBridgeError):
                    validation = self._validation(partner, payload)
            checked.append((name, payload, validation, int((time.monotonic() - started) * 1000)))
        deferred = list(self._deferred)
        if deferred:
            self._sync_owed()

        def record_validate_acknowledge() -> list[tuple[Document, bool, list[_RecordedAck] | None]]:
            if len(checked) > 1:  # the chunk's possible duplicates, looked up at once
                payloads = [payload for _, payload, _, _ in checked]
                isa13s = [None if flow.reads_idoc else isa13_of(payload) for payload in payloads]
                self.ledger.preload_inbound(partner.id, payloads, isa13s)
                # the control numbers of their 997s in one statement (those not used given back)
                acks = sum(len(self._x12(partner, p).acks) for _, p, valid, _ in checked if valid is not None)
                self.ledger.reserve_numbers(partner.id, acks)
            found = [self._record_checked(flow, partner, *one) for one in checked]
            # the moves _defer left, made here, last: the ledger's order of locks (control numbers,
            # then documents, then the chain head) holds
            self.ledger.transitions(deferred, worker=self.worker)
            return found

        try:
            found = self.ledger.atomic(record_validate_acknowledge)
            del self._deferred[: len(deferred)]
        except ErpBridgeError as exc:
            if exc.transient:
                raise
            if len(chunk) > 1:
                return [got for one in chunk for got in self._receive_chunk(flow, partner, [one])]
            found = [(*self._record_file(flow, partner, *chunk[0]), None)]
        self._mark = time.monotonic()
        return found

    def _record_checked(
        self,
        flow: Flow,
        partner: Partner,
        name: str,
        payload: bytes,
        validation: dict[str, Any] | None,
        latency: int,
    ) -> tuple[Document, bool, list[_RecordedAck] | None]:
        """One file of :meth:`_receive_chunk`'s transaction: recorded, and when it is new, validated
        X12 and ours to take on, moved to ``validated`` and its acknowledgments recorded."""
        doc, created = self._record_file(flow, partner, name, payload)
        if validation is None or not created or doc.claimed_by != self.worker:
            return doc, created, None
        doc = self.ledger.transition(
            doc.id,
            State.VALIDATED,
            step="validate",
            detail=validation,
            latency_ms=latency,
            worker=self.worker,
        )
        return doc, created, self._record_acks(partner, doc, payload, new=True)

    def _resume_inbound(self, flow: Flow, partner: Partner, s: Session, summary: Summary) -> None:
        """Documents a crash or a transient failure left half done, whose retry time has come."""
        for doc in self.ledger.claim(
            WORK_STATES[Direction.IN],
            1000,
            self.worker,
            direction=Direction.IN,
            partner=partner.id,
            kind="idoc" if flow.reads_idoc else WORK_KIND if flow.reads_odata else "x12",
        ):  # (a replay is an inbound document too: its own command finishes it)
            if self.stopping.is_set():  # not started: give it back at once instead of at lease end
                self.ledger.release(doc.id, self.worker)
                continue
            if doc.id in self._held:  # waits for a paused endpoint: seen this pass already
                self.ledger.release(doc.id, self.worker)
                continue
            payload = self.ledger.payload(doc.payload_sha256 or "")
            summary.add(flow.name, "resumed")
            self._advance_inbound(flow, partner, s, doc, payload, summary)
            if len(self._deferred) >= CHUNK_MOVES:
                self._flush_deferred(flow.name, summary)

    def _advance_inbound(
        self,
        flow: Flow,
        partner: Partner,
        s: Session,
        doc: Document,
        payload: bytes,
        summary: Summary,
        acks: list[_RecordedAck] | None = None,
    ) -> None:
        """Take a document from its state to ``archived``. ``acks``: its acknowledgments, recorded
        with the document (:meth:`_receive_chunk`). The moves after them (the 997 sent, the
        document acknowledged, mapped, delivered and archived) are steps whose effect is done
        when they are made, and idempotent: they wait (:meth:`_defer`) for the chunk's end, or
        are made at once before a failure is recorded or the document is held for a paused
        target."""
        step = "validate"
        moves: list[_Move] = []  # steps done since the last commit, made with the next one's
        delivered_now = False
        try:
            if doc.state == State.RECEIVED and flow.reads_idoc:
                doc = self._move(doc.id, State.VALIDATED, step=step, detail=_validate_idoc(payload, doc))
            if doc.state == State.RECEIVED and flow.reads_odata:  # SAP's JSON, made by the connector
                doc = self._move(doc.id, State.VALIDATED, step=step, detail={"delivery": doc.business_key})
            if doc.state == State.RECEIVED:
                doc = self._move(
                    doc.id, State.VALIDATED, step=step, detail=self._validation(partner, payload)
                )
            step = "acknowledge"
            if doc.state == State.VALIDATED and not (
                flow.reads_idoc or flow.reads_odata
            ):  # (SAP gets no 997)
                moves = self._acknowledge(flow, partner, s, doc, payload, summary, acks)
                if moves[-1][1] == State.REJECTED:
                    doc = self._moves(moves)[-1]
                    moves = []
                    if flow.source.archive:
                        s.archive(flow.source.folder, doc.file_name or "", flow.source.archive)
                    self._move(doc.id, State.ARCHIVED, step="archive")
                    summary.add(flow.name, "rejected")
                    why = _error_findings(self._x12(partner, payload).events)
                    shown = "; ".join(why[:3]) + (f"; and {len(why) - 3} more" if len(why) > 3 else "")
                    summary.problems.append(
                        f"{flow.name}: {doc.file_name}: rejected by our acknowledgment: {shown}"
                    )
                    self._quarantine_copy(flow.name, doc.file_name, payload, _rejection(flow, why))
                    return
            step = "map"
            state = moves[-1][1] if moves else doc.state  # acknowledged, when that move waits in moves
            if state in (State.ACKNOWLEDGED, State.MAPPED) or (
                state == State.VALIDATED and (flow.reads_idoc or flow.reads_odata)
            ):
                if state == State.MAPPED and self._endpoint_paused(flow.target.endpoint):
                    self._hold(flow, s, doc, summary)  # mapped already: not again while it waits
                    return
                if flow.reads_idoc:
                    documents = self._canonical_idoc(flow, partner, payload, doc)
                elif flow.reads_odata:
                    documents = self._canonical_work(partner, payload, doc)
                else:
                    documents = self._canonical_inbound(flow, partner, payload, summary)
                if state in (State.ACKNOWLEDGED, State.VALIDATED):
                    detail = {"documents": len(documents)}
                    moves.append(
                        (doc.id, State.MAPPED, {"step": step, "detail": detail, "latency_ms": self._lap()})
                    )
                step = "deliver"
                if self._endpoint_paused(flow.target.endpoint):
                    doc = (self._moves(moves) or [doc])[-1]
                    moves = []
                    self._hold(flow, s, doc, summary)
                    return
                connector = self._connector(flow)
                inner = getattr(connector, "inner", None)
                if isinstance(inner, FolderConnector):  # its folder's fsyncs made with the chunk's
                    inner.hold_syncs(self._syncs)
                delivered = [connector.deliver(body, key=key) for key, body in documents]
                self._link_delivered(doc, delivered)
                done: dict[str, Any] = {
                    "to": connector.name,
                    "references": [d.reference for d in delivered],
                    "repeats": sum(not d.created for d in delivered),
                }
                moves.append(
                    (doc.id, State.DELIVERED, {"step": step, "detail": done, "latency_ms": self._lap()})
                )
                delivered_now = True
                summary.add(flow.name, "delivered", len(documents))
            step = "archive"
            if delivered_now or doc.state == State.DELIVERED:
                if flow.source.archive and doc.file_name:
                    s.archive(flow.source.folder, doc.file_name, flow.source.archive)
                for doc_id, to_state, kw in moves:
                    self._defer(doc_id, to_state, **kw)
                moves = []
                self._defer(doc.id, State.ARCHIVED, step=step, latency_ms=self._lap())
        except AuthenticationError as exc:
            self._moves(moves)  # the steps done before this one failed are recorded first
            if step != "deliver":
                self._fail(flow.name, doc, exc, step, payload, summary)
                return
            self._pause(flow.target.endpoint, exc, summary, flow=flow.name, doc=doc)
            self._hold(flow, s, doc, summary)
        except ErpBridgeError as exc:
            self._moves(moves)  # the steps done before this one failed are recorded first
            after = self._fail(flow.name, doc, exc, step, payload, summary)
            if exc.transient and step in ("acknowledge", "archive"):  # puts and renames on the source
                self._source_down = exc
            if (
                after.state in (State.QUARANTINED, State.DEAD_LETTERED)
                and flow.source.archive
                and doc.file_name
            ):
                # the payload is in the ledger and a copy in the quarantine folder: out of the inbox
                s.archive(flow.source.folder, doc.file_name, flow.source.archive)
        finally:
            self._reads.pop(id(payload), None)  # what was read of this file is not needed any more

    def _acknowledge(
        self,
        flow: Flow,
        partner: Partner,
        s: Session,
        doc: Document,
        payload: bytes,
        summary: Summary,
        recorded: list[_RecordedAck] | None,
    ) -> list[_Move]:
        """Put our 997/999/TA1s for a validated document into the acks folder (recorded first, unless
        ``recorded`` already holds them). Returns the moves that follow, for the caller to make with
        the next step's: each acknowledgment ``sent`` then ``archived``, and last the document
        ``acknowledged``, or ``rejected`` when our acknowledgment rejects every set."""
        interchange = self._x12(partner, payload)  # as validated: the partner's overlays too
        acks, errors = interchange.acks, _error_findings(interchange.events)
        rejected = (
            bool(acks)
            and all(g.status == "R" for a in acks for g in a.groups)
            and any(a.groups for a in acks)
        )
        place = flow.acks or flow.source
        moves: list[_Move] = []
        for kind, out, made in recorded if recorded is not None else self._record_acks(partner, doc, payload):
            if out.state == State.SENT:  # put before a crash that came before it was closed
                moves.append((out.id, State.ARCHIVED, {"step": "no_ack_expected", "latency_ms": self._lap()}))
            if out.state != State.WRITTEN:
                continue  # sent before a crash
            data = made or self.ledger.payload(out.payload_sha256 or "")
            name = f"{kind.split('/')[1].replace('/', '_')}_{out.isa13}.edi"
            s.put(place.folder, name, data)
            put = {"file": name, "folder": place.folder}
            credential = self._credential(place.endpoint)
            moves.append(
                (
                    out.id,
                    State.SENT,
                    {"step": "put", "detail": put, "credential": credential, "latency_ms": self._lap()},
                )
            )
            moves.append((out.id, State.ARCHIVED, {"step": "no_ack_expected", "latency_ms": 0}))
            summary.add(flow.name, "ack_sent")
        detail = {"acks": len(acks)} | ({"errors": len(errors), "findings": errors[:20]} if errors else {})
        state = State.REJECTED if rejected else State.ACKNOWLEDGED
        moves.append((doc.id, state, {"step": "acknowledge", "detail": detail, "latency_ms": self._lap()}))
        return moves

    def _canonical_inbound(
        self, flow: Flow, partner: Partner, payload: bytes, summary: Summary
    ) -> list[tuple[str, dict[str, Any]]]:
        """The canonical documents of the interchange's sets, each with its delivery key
        (``<kind>-<partner>-<ISA13>-<ST02>``: the same for a repeat of the same interchange);
        997s/999s are applied to what we sent instead."""
        decoded = self._x12(partner, payload).view
        wanted = {d.x12_set for d in flow.documents}
        out: list[tuple[str, dict[str, Any]]] = []
        problems: list[str] = []
        for inter in decoded.document["interchanges"]:
            for group in inter["groups"]:
                for tset in group["sets"]:
                    set_id = str(tset.get("ST", {}).get("ST01", "?"))
                    st02 = str(tset.get("ST", {}).get("ST02", "?"))
                    if set_id in ("997", "999"):
                        self._apply_ack(flow, partner, tset, summary)
                        continue
                    if set_id not in wanted:
                        problems.append(f"set {set_id} {st02}: this flow takes {', '.join(sorted(wanted))}")
                        continue
                    mapping = self._mapping_for(partner, f"{set_id}-to-*.yaml")
                    if mapping is None:
                        problems.append(f"set {set_id} {st02}: no mapping for {set_id}")
                        continue
                    meta = x12_meta(inter, group, tset, partner.id)
                    result = mapping.apply(tset, meta)
                    if result.document is None:
                        problems += [f"set {set_id} {st02}: {f}" for f in result.findings]
                        continue
                    isa13 = str(inter.get("ISA", {}).get("ISA13", "")).strip()
                    out.append((f"{result.document['kind']}-{partner.id}-{isa13}-{st02}", result.document))
        if problems:
            raise DocumentRejectedError("; ".join(problems), partner=partner.id)
        return out

    def _canonical_idoc(
        self, flow: Flow, partner: Partner, payload: bytes, doc: Document
    ) -> list[tuple[str, dict[str, Any]]]:
        """The canonical documents of an IDoc file (SAP's), each with its delivery key
        (``<kind>-<partner>-<DOCNUM>``), each IDoc mapped by ``<mestyp>.<idoctyp>-to-*.yaml``, else
        ``<idoctyp>-to-*.yaml`` (the partner's mappings first, then mappings/idoc/)."""
        decoded = decode_idoc(payload, source=doc.file_name or "")
        out: list[tuple[str, dict[str, Any]]] = []
        problems: list[str] = []
        for n, idoc in enumerate(decoded.document["idocs"], start=1):
            control = idoc.get("EDI_DC40") or {}
            mestyp, idoctyp = str(control.get("MESTYP", "")), str(control.get("IDOCTYP", ""))
            docnum = str(control.get("DOCNUM", "")).strip()
            where = f"IDoc {n} ({mestyp}.{idoctyp}, DOCNUM {docnum or '-'})"
            if not any(d.idoc_type == idoctyp and d.message_type in (None, mestyp) for d in flow.documents):
                takes = ", ".join(f"idoc/{d.idoc}" for d in flow.documents)
                problems.append(f"{where}: this flow takes {takes}")
                continue
            mapping = self._mapping_for(
                partner, f"{mestyp.lower()}.{idoctyp.lower()}-to-*.yaml", "idoc"
            ) or self._mapping_for(partner, f"{idoctyp.lower()}-to-*.yaml", "idoc")
            if mapping is None:
                problems.append(f"{where}: no mapping for {mestyp}.{idoctyp}")
                continue
            result = mapping.apply(idoc, idoc_meta(idoc, partner.id))
            if result.document is None:
                problems += [f"{where}: {f}" for f in result.findings]
                continue
            number = docnum or f"{(doc.payload_sha256 or '')[:12]}-{n}"
            out.append((f"{result.document['kind']}-{partner.id}-{number}", result.document))
        if problems:
            raise DocumentRejectedError("; ".join(problems), partner=partner.id, file=doc.file_name)
        return out

    def _canonical_work(
        self, partner: Partner, payload: bytes, doc: Document
    ) -> list[tuple[str, dict[str, Any]]]:
        """The pick request of a delivery polled from SAP over OData, delivered keyed
        ``<Kind>-<partner>-<delivery>``; mapped by ``outbound-delivery-to-*.yaml`` (the partner's
        mappings first, then mappings/sap/)."""
        mapping = self._mapping_for(partner, "outbound-delivery-to-*.yaml", "sap")
        number = doc.business_key or ""
        if mapping is None:
            raise DocumentRejectedError(
                "no mapping outbound-delivery-to-*.yaml in the partner's mappings or mappings/sap/",
                partner=partner.id,
                delivery=number,
            )
        meta = {"partner_id": partner.id, "set_control_number": number, "standard": "odata"}
        result = mapping.apply(json.loads(payload), meta)
        if result.document is None:
            raise DocumentRejectedError(
                f"SAP delivery {number}: " + "; ".join(str(f) for f in result.findings),
                partner=partner.id,
                delivery=number,
            )
        return [(f"{result.document['kind']}-{partner.id}-{number}", result.document)]

    def _apply_ack(self, flow: Flow, partner: Partner, tset: Mapping[str, Any], summary: Summary) -> None:
        """A partner's 997/999: our outbound document it answers becomes acknowledged or rejected."""
        ak1 = tset.get("AK1") or {}
        gs06 = str(ak1.get("AK102", "")).strip()
        ak9 = tset.get("AK9") or {}
        group_status = str(ak9.get("AK901", ""))
        set_status: dict[str, tuple[str, list[str]]] = {}
        for loop in _as_list(tset.get("AK2_loop")) + _as_list(tset.get("IK2_loop")):
            head = loop.get("AK2") or loop.get("IK2") or {}
            trailer = loop.get("AK5") or loop.get("IK5") or {}
            reasons = [
                json.dumps(x, sort_keys=True)
                for key in ("AK3_loop", "IK3_loop")
                for x in _as_list(loop.get(key))
            ]
            set_status[str(head.get("AK202", head.get("IK202", ""))).lstrip("0")] = (
                str(trailer.get("AK501", trailer.get("IK501", group_status))),
                reasons,
            )
        matched = self.ledger.find(partner=partner.id, direction=Direction.OUT, gs06=gs06, limit=50)
        if not matched:
            summary.add(flow.name, "ack_unmatched")
            summary.problems.append(
                f"{flow.name}: a {tset.get('ST', {}).get('ST01')} for group {gs06} we did not send"
            )
            return
        for doc in matched:
            status, reasons = set_status.get((doc.st02 or "").lstrip("0"), (group_status, []))
            if doc.state not in (State.SENT, State.ACK_OVERDUE):
                continue
            accepted = status in ("A", "E")
            self._move(
                doc.id,
                State.ACKNOWLEDGED if accepted else State.REJECTED,
                step="ack_received",
                outcome="ok" if accepted else "rejected",
                detail={"status": status, "reasons": reasons},
            )
            summary.add(flow.name, "ack_matched" if accepted else "ack_rejected")
            if not accepted:
                summary.problems.append(
                    f"{flow.name}: {partner.id} rejected {doc.kind} {doc.isa13}: {reasons or status}"
                )

    # -- outbound -------------------------------------------------------------------------------

    def _outbound(self, flow: Flow, summary: Summary) -> None:
        partner = self.config.partners[flow.partner]
        source = self._transport(flow.source.endpoint, None)
        if flow.delivers:  # into an ERP's connector: no X12, no partner folder
            with source.session() as s:
                for name, data in self._fetched(flow, s, summary):
                    if self._outbound_file(flow, partner, None, name, data, summary) and flow.source.archive:
                        s.archive(flow.source.folder, name, flow.source.archive)
            return
        target = self._transport(flow.target.endpoint, partner.id)
        with ExitStack() as stack:
            s = stack.enter_context(source.session())
            t = stack.enter_context(target.session())
            # retries first: a document sent now lets its file be archived when it is listed below
            self._resume_outbound(flow, partner, t, summary)
            for name, data in self._fetched(flow, s, summary):
                if self._outbound_file(flow, partner, t, name, data, summary) and flow.source.archive:
                    s.archive(flow.source.folder, name, flow.source.archive)

    def _resume_outbound(self, flow: Flow, partner: Partner, t: Session, summary: Summary) -> None:
        """Written X12 whose put failed or was cut short: put it (again; put replaces) and mark it sent."""
        kinds = {d.to for d in flow.documents}
        for doc in self.ledger.claim(
            [State.WRITTEN], 1000, self.worker, direction=Direction.OUT, partner=partner.id
        ):
            if doc.kind not in kinds or self.stopping.is_set() or flow.name in self._target_down:
                self.ledger.release(doc.id, self.worker)
                continue
            data = self.ledger.payload(doc.payload_sha256 or "")
            summary.add(flow.name, "resumed")
            self._put_and_mark_sent(flow, partner, t, doc, data, summary)

    def _outbound_file(
        self, flow: Flow, partner: Partner, t: Session | None, name: str, data: bytes, summary: Summary
    ) -> bool:
        """Send every document of one canonical JSON file, or of a CSV file (``.csv``) mapped by the
        flow's ``csv_mapping``, or of any other file read with the flow's ``layout`` and mapped so;
        with ``inventory_rules``, each InventoryAdvice advertises what the partner's rules allow.
        True when the file may be archived."""
        sha = hashlib.sha256(data).hexdigest()
        if flow.layout is not None and not name.lower().endswith(".json"):
            made = self._flatfile_documents(flow, partner, name, data, summary)
            if made is None:  # quarantined
                return True
            docs: list[Any] = made
        elif name.lower().endswith(".csv"):
            made = self._csv_documents(flow, partner, name, data, summary)
            if made is None:  # quarantined
                return True
            docs = made
        else:
            try:
                given = json.loads(data)
            except ValueError as exc:
                self._reject_file(flow, partner, name, data, f"not JSON: {exc}", summary)
                return True
            docs = given if isinstance(given, list) else [given]
        if flow.inventory_rules is not None:
            rules = self._inventory_rules(flow.inventory_rules)
            docs = [
                rules.apply(d, channel=partner.id)
                if isinstance(d, dict) and d.get("kind") == "InventoryAdvice"
                else d
                for d in docs
            ]
        done = True
        elsewhere: list[str] = []  # documents of this file that another process is sending
        if flow.delivers:
            checked = self._checked_deliveries(flow, partner, name, data, docs, sha, summary)
            if checked is None:
                return flow.name not in self._target_down and not any(
                    self._endpoint_paused(p.endpoint) for p in (flow.target, *flow.also_deliver)
                )
            for i, document in enumerate(checked):
                key = _delivery_key(flow, document, sha, i)
                done = self._deliver_document(flow, partner, name, document, key, summary, elsewhere) and done
            return done and all(self.ledger.get(d).state not in WORK_STATES[Direction.OUT] for d in elsewhere)
        assert t is not None
        for i, raw in enumerate(docs):
            key = f"{flow.name}:{sha}:{i}"  # the file's: until the document is checked (_sending_key)
            done = self._outbound_document(flow, partner, t, name, raw, key, summary, elsewhere) and done
        # a file whose documents two processes shared is archived by the one that finishes last
        return done and all(self.ledger.get(d).state not in WORK_STATES[Direction.OUT] for d in elsewhere)

    def _csv_documents(
        self, flow: Flow, partner: Partner, name: str, data: bytes, summary: Summary
    ) -> list[Any] | None:
        """The canonical documents of a CSV file: read (formats/csvrows.py), then mapped by the flow's
        ``csv_mapping``. ``None`` when the file is quarantined instead, with every reason naming the
        file and line (and column, for a file that cannot be read)."""
        if flow.csv_mapping is None:
            reason = f"{name}: a CSV file, but flow {flow.name} has no csv_mapping to read it with"
            self._reject_file(flow, partner, name, data, reason, summary)
            return None
        try:
            table = read_csv(data, file=name, encoding=flow.csv_encoding, delimiter=flow.csv_delimiter)
        except CsvError as exc:
            self._reject_file(flow, partner, name, data, str(exc), summary)
            return None
        return self._mapped_or_quarantined(
            flow, partner, name, data, self._mapping(flow).apply_all(table.view(name)), summary
        )

    def _mapping(self, flow: Flow) -> LoadedMapping:
        """The flow's ``csv_mapping``, loaded once (a broken mapping file: a flow error, the file stays)."""
        assert flow.csv_mapping is not None
        if flow.csv_mapping not in self._mappings:
            self._mappings[flow.csv_mapping] = load_mapping(flow.csv_mapping)
        return self._mappings[flow.csv_mapping]

    def _mapped_or_quarantined(
        self,
        flow: Flow,
        partner: Partner,
        name: str,
        data: bytes,
        results: list[MappingResult],
        summary: Summary,
    ) -> list[Any] | None:
        """The documents a flat file's rows were mapped to, or ``None`` when any row's finding
        quarantined the file (each naming the file's line and the mapping's)."""
        problems = [_csv_finding(name, f) for r in results for f in r.findings]
        if problems:
            more = [f"and {len(problems) - 20} more"] if len(problems) > 20 else []
            self._reject_file(flow, partner, name, data, "; ".join(problems[:20] + more), summary, "map")
            return None
        if not results:  # a header and no rows: nothing to send
            summary.add(flow.name, "empty")
        return [r.document for r in results]

    def _flatfile_documents(
        self, flow: Flow, partner: Partner, name: str, data: bytes, summary: Summary
    ) -> list[Any] | None:
        """The canonical documents of a file read with the flow's ``layout`` (formats/flatfile), then
        mapped by its ``csv_mapping``. Rejected rows quarantine the whole file (``rejects =
        "quarantine"``, the default), or (``"process"``) are quarantined on their own as
        ``<file>.rejects`` with every reason while the good rows go on. ``None``: quarantined."""
        assert flow.layout is not None
        try:
            result = read_flatfile(self._layout(flow.layout), data, file=name)
        except FlatFileError as exc:
            self._reject_file(flow, partner, name, data, str(exc), summary)
            return None
        if result.rejects:
            listed = [str(r) for r in result.rejects[:50]]
            if len(result.rejects) > 50:
                listed.append(f"and {len(result.rejects) - 50} more")
            rows = len(result.rejected_rows)
            if flow.rejects == "quarantine":
                reason = f'{rows} row(s) rejected, nothing sent (rejects = "quarantine"): ' + "; ".join(
                    listed
                )
                self._reject_file(flow, partner, name, data, reason, summary)
                return None
            reason = (
                f"{rows} row(s) rejected and not sent; the file's {len(result.rows)} other row(s) were "
                f'(rejects = "process"): ' + "; ".join(listed)
            )
            self._reject_file(flow, partner, f"{name}.rejects", data, reason, summary, what="rejects")
        results = self._mapping(flow).apply_all(result.view())
        return self._mapped_or_quarantined(flow, partner, name, data, results, summary)

    def _layout(self, path: Path) -> Layout:
        if path not in self._layouts:  # a broken layout file: a flow error, the file stays
            self._layouts[path] = load_layout(path)
        return self._layouts[path]

    def _inventory_rules(self, path: Path) -> InventoryRules:
        if path not in self._rules:
            self._rules[path] = load_rules(path)
        return self._rules[path]

    def _reject_file(
        self,
        flow: Flow,
        partner: Partner,
        name: str,
        data: bytes,
        reason: str,
        summary: Summary,
        step: str = "read",
        what: str = "file",
    ) -> None:
        doc = self.ledger.record_outbound(
            partner.id, "canonical", payload=data, levels=(), state=State.PICKED_UP,
            idempotency_key=f"{flow.name}:{hashlib.sha256(data).hexdigest()}:{what}", file_name=name,
            worker=self.worker,
        )  # fmt: skip
        if doc.state == State.PICKED_UP and doc.claimed_by == self.worker:
            self._fail(flow.name, doc, DocumentRejectedError(reason, file=name), step, data, summary)

    def _outbound_document(
        self,
        flow: Flow,
        partner: Partner,
        t: Session,
        name: str,
        raw: Any,
        key: str,
        summary: Summary,
        elsewhere: list[str],
    ) -> bool:
        if flow.name in self._target_down:  # a put failed this pass: leave the rest for the retry
            return False
        kind = raw.get("kind") if isinstance(raw, dict) else None
        spec = next((d for d in flow.documents if d.kind == kind), None)
        body = json.dumps(raw, sort_keys=True).encode()
        if spec is None or kind not in KINDS:
            takes = ", ".join(str(d.kind) for d in flow.documents)
            reason = f"document kind {kind!r}: this flow takes {takes}"
            self._reject_document(flow, partner, name, body, key, reason, summary)
            return True
        mapping = self._mapping_for(partner, f"{kind_stem(kind)}-to-{spec.x12_set}.yaml")
        try:
            if mapping is None:
                raise DocumentRejectedError(f"no mapping from {kind} to x12/{spec.x12_set}")
            checked = to_json(from_json(kind, raw))
            mapped = mapping.apply(checked)
            if mapped.document is None:
                raise DocumentRejectedError("; ".join(str(f) for f in mapped.findings))
        except (ModelError, DocumentRejectedError) as exc:
            self._reject_document(flow, partner, name, body, key, str(exc), summary)
            return True
        sending = self._sending_key(flow, partner, f"x12/{spec.x12_set}", checked, key)
        if isinstance(sending, _Refused):
            self._reject_document(flow, partner, name, body, key, sending.reason, summary)
            return True
        key = sending
        also: list[Delivered] = []
        if flow.also_deliver:  # the flow's connectors first (idempotent on the key): then the X12
            try:  # ... which must be writable before anything goes anywhere
                self.write_x12(partner, [mapped.document], Allocation(isa13=1, gs06=1, st02=1))
            except ErpBridgeError as exc:
                self._reject_document(flow, partner, name, body, key, f"cannot write the X12: {exc}", summary)
                return True
        if any(self._endpoint_paused(p.endpoint) for p in flow.also_deliver):
            summary.add(flow.name, "paused")  # the file stays: delivered and sent once resumed
            return False
        place = flow.target
        try:
            for n, place in enumerate(flow.also_deliver):
                connector = self._connector(flow, place, f"{flow.name}:also:{n}")
                also.append(connector.deliver(checked, key=f"{key}:{place.endpoint}"))
        except AuthenticationError as exc:  # the endpoint is paused; the file stays for its resumption
            self._pause(place.endpoint, exc, summary, flow=flow.name)
            summary.add(flow.name, "paused")
            return False
        except ErpBridgeError as exc:
            if not exc.transient:
                self._reject_document(flow, partner, name, body, key, f"deliver: {exc}", summary)
                return True
            self._target_down.add(flow.name)  # the file stays; the next pass delivers it again
            summary.add(flow.name, "waiting")
            summary.problems.append(f"{flow.name}: {name}: will retry deliver: {exc}")
            return False
        tset = mapped.document
        made: dict[str, bytes] = {}

        def build(alloc: Any) -> bytes:
            made["x12"] = self.write_x12(partner, [tset], alloc)
            return made["x12"]

        try:
            doc = self.ledger.record_outbound(
                partner.id,
                f"x12/{spec.x12_set}",
                payload=build,
                state=State.WRITTEN,
                idempotency_key=key,
                business_key=_business_key(checked),
                file_name=name,
                step="write",
                # the model check and the mapping, since the file was fetched (or the last step)
                latency_ms=int((time.monotonic() - self._mark) * 1000),
                worker=self.worker,
            )
            self._mark = time.monotonic()
        except ErpBridgeError as exc:
            if exc.transient:
                raise
            self._reject_document(flow, partner, name, body, key, f"cannot write the X12: {exc}", summary)
            return True
        link_derived(self.ledger, doc.id, checked)  # a 940 from a pick request
        if also:
            self._link_delivered(doc, also)
            self._link_orders(doc, also)
            if any(d.created for d in also):
                summary.add(flow.name, "delivered", sum(d.created for d in also))
                self.ledger.note(
                    doc.id,
                    step="also_deliver",
                    outcome="ok",
                    detail={
                        "to": [p.endpoint for p in flow.also_deliver],
                        "references": [d.reference for d in also],
                    },
                )
        if doc.state == State.RETRY_WAIT:  # its put failed: the file stays until it is sent
            summary.add(flow.name, "waiting")
            return False
        if doc.state != State.WRITTEN:
            summary.add(flow.name, "duplicate")
            return True
        if doc.claimed_by != self.worker:  # another process is sending it
            summary.add(flow.name, "busy_elsewhere")
            elsewhere.append(doc.id)
            return True
        data = made.get("x12") or self.ledger.payload(doc.payload_sha256 or "")
        return self._put_and_mark_sent(flow, partner, t, doc, data, summary)

    def _sending_key(
        self, flow: Flow, partner: Partner, x12_kind: str, checked: Mapping[str, Any], file_key: str
    ) -> str | _Refused:
        """The idempotency key an outbound document is sent under: its content, the canonical
        document as the model checked it (``<flow>:<Kind>:<SHA-256>``), whatever the bytes, the name
        of the file it came in or its place there, and without the fields that only say when the
        export was made (:data:`_WHEN_MADE`). The WMS exporting the same document again, in another
        file, reformatted or with a new notice time, sends nothing twice. A document recorded under
        the key of erpbridge before 2026-11-23 (the file's content and the place) keeps that key.

        A ShipNotice whose shipment went to the partner already with other content is refused: a
        second 856 for one shipment is a duplicate ASN at the retailer (chargebacks). It may go
        again once the first was rejected by the partner's 997, quarantined or dropped."""
        kind = str(checked.get("kind"))
        same = {k: v for k, v in checked.items() if k not in _WHEN_MADE.get(kind, ())}
        content = hashlib.sha256(canonical_json(same).encode()).hexdigest()
        key = f"{flow.name}:{kind}:{content}"
        number = _business_key(checked)
        if number is None:  # one lookup: a document of an earlier release under the file's key
            return file_key if self.ledger.find(idempotency_key=file_key, limit=1) else key
        # one lookup: the partner's documents of this kind and business key (an index), for both
        sent = self.ledger.find(
            partner=partner.id, direction=Direction.OUT, kind=x12_kind, business_key=number, limit=100
        )
        if any(d.idempotency_key == file_key for d in sent):  # recorded by an earlier release
            return file_key
        if kind not in _SENT_ONCE:
            return key
        for other in sent:
            if other.idempotency_key == key or other.state in _SENDABLE_AGAIN:
                continue
            control = f"ISA13 {other.isa13}" if other.isa13 else "no ISA13 yet"
            compared = (other.idempotency_key or "").startswith(f"{flow.name}:{kind}:")
            return _Refused(
                f"{kind} {number} went to {partner.id} already"
                + (" with other content" if compared else "")
                + f" (document {other.id[:8]}, {x12_kind} {control}, {other.state.value}): a second "
                f"{x12_kind.split('/')[-1]} for one shipment would be a duplicate at the partner. If the "
                "first one stands, drop this one (erpbridge dlq drop); if the partner must get the change, "
                "agree a replacement with them"
            )
        return key

    def _checked_deliveries(
        self,
        flow: Flow,
        partner: Partner,
        name: str,
        data: bytes,
        docs: list[Any],
        sha: str,
        summary: Summary,
    ) -> list[dict[str, Any]] | None:
        """The documents of a file for a flow into a connector, each checked against the model and
        by every connector it goes to (those that can check without changing anything: NetSuite's
        items and locations, an IDoc port's mapping) before the first is delivered, so that a file
        is delivered whole or not at all. ``None``: the file was quarantined (every reason in it),
        or a connector is paused or unreachable (the file stays)."""
        kinds = {d.kind for d in flow.documents}
        places = (flow.target, *flow.also_deliver)
        if any(self._endpoint_paused(p.endpoint) for p in places):
            summary.add(flow.name, "paused")
            return None
        checked: list[dict[str, Any]] = []
        problems: list[str] = []
        for i, raw in enumerate(docs):
            kind = raw.get("kind") if isinstance(raw, dict) else None
            try:
                if kind not in kinds or kind not in KINDS:
                    raise DocumentRejectedError(
                        f"document kind {kind!r}: this flow takes {', '.join(map(str, kinds))}"
                    )
                document = to_json(from_json(kind, raw))
            except (ModelError, DocumentRejectedError) as exc:
                problems.append(f"document {i + 1}: {exc}")
                continue
            checked.append(document)
        place = flow.target
        try:
            for n, place in enumerate(places):
                check = getattr(self._connector(flow, place, _slot(flow, n)), "check", None)
                if check is None:
                    continue
                for i, document in enumerate(checked):
                    try:
                        check(document, key=f"{_delivery_key(flow, document, sha, i)}:{place.endpoint}")
                    except ErpBridgeError as exc:
                        if exc.transient or isinstance(exc, AuthenticationError):
                            raise
                        problems.append(f"document {i + 1} for {place.endpoint}: {exc}")
        except AuthenticationError as exc:
            self._pause(place.endpoint, exc, summary, flow=flow.name)
            summary.add(flow.name, "paused")
            return None
        except ErpBridgeError as exc:
            if not exc.transient:
                raise
            self._target_down.add(flow.name)  # the file stays; the next pass delivers it
            summary.add(flow.name, "waiting")
            summary.problems.append(f"{flow.name}: {name}: will retry deliver: {exc}")
            return None
        if problems:
            more = [f"and {len(problems) - 20} more"] if len(problems) > 20 else []
            reason = "nothing delivered: " + "; ".join(problems[:20] + more)
            self._reject_file(flow, partner, name, data, reason, summary, "check")
            return None
        return checked

    def _deliver_document(
        self,
        flow: Flow,
        partner: Partner,
        name: str,
        document: dict[str, Any],
        key: str,
        summary: Summary,
        elsewhere: list[str],
    ) -> bool:
        """One checked document of a flow into a connector: recorded (``canonical/<Kind>``, the
        delivery key its idempotency key), delivered to the target and each ``also_deliver`` (each
        idempotent on ``<key>:<endpoint>``), then ``sent`` and ``archived`` with the references.
        A transient failure leaves it recorded and the file in place for the next pass."""
        if flow.name in self._target_down:
            return False
        body = json.dumps(document, sort_keys=True).encode()
        doc = self.ledger.record_outbound(
            partner.id,
            f"canonical/{document['kind']}"[:64],
            payload=body,
            levels=(),
            state=State.MAPPED,
            idempotency_key=key,
            business_key=_business_key(document),
            file_name=name,
            step="pick_up",
            worker=self.worker,
        )
        if doc.payload_sha256 != hashlib.sha256(body).hexdigest():  # the same ID, other content
            if doc.state == State.MAPPED and doc.claimed_by == self.worker:
                self.ledger.release(doc.id, self.worker)
            reason = (
                f"{document['kind']} {doc.business_key} was delivered before with other content (ledger "
                f"document {doc.id}, from {doc.file_name}); it is not delivered again. A new one needs "
                "an ID of its own in the WMS; a correction of the first is a new one for the difference"
            )
            self._reject_document(
                flow, partner, name, body, f"{key}:{hashlib.sha256(body).hexdigest()[:16]}", reason, summary
            )
            return True
        if doc.state != State.MAPPED:
            summary.add(flow.name, "duplicate")
            return True
        if doc.claimed_by != self.worker:
            summary.add(flow.name, "busy_elsewhere")
            elsewhere.append(doc.id)
            return True
        delivered: list[Delivered] = []
        places = (flow.target, *flow.also_deliver)
        place = flow.target
        try:
            for n, place in enumerate(places):
                connector = self._connector(flow, place, _slot(flow, n))
                delivered.append(connector.deliver(document, key=f"{key}:{place.endpoint}"))
        except AuthenticationError as exc:  # paused: the file stays for its resumption
            self.ledger.release(doc.id, self.worker)
            self._pause(place.endpoint, exc, summary, flow=flow.name, doc=doc)
            summary.add(flow.name, "paused")
            return False
        except ErpBridgeError as exc:
            if exc.transient:
                self.ledger.release(doc.id, self.worker)
                self._target_down.add(flow.name)
                summary.add(flow.name, "waiting")
                summary.problems.append(f"{flow.name}: {name}: will retry deliver: {exc}")
                return False
            exc.context.setdefault("endpoint", place.endpoint)
            self._fail(flow.name, doc, exc, "deliver", body, summary)
            return True
        self._link_delivered(doc, delivered)
        detail = {"to": [p.endpoint for p in places], "references": [d.reference for d in delivered]}
        self._move(doc.id, State.WRITTEN, step="deliver", detail=detail)
        self._move(doc.id, State.SENT, step="delivered")
        self._move(doc.id, State.ARCHIVED, step="no_ack_expected")
        summary.add(flow.name, "delivered" if any(d.created for d in delivered) else "duplicate")
        return True

    def _put_and_mark_sent(
        self, flow: Flow, partner: Partner, t: Session, doc: Document, data: bytes, summary: Summary
    ) -> bool:
        out_name = f"{doc.kind.split('/')[-1]}_{doc.isa13}.edi"
        try:
            t.put(flow.target.folder, out_name, data)
        except ErpBridgeError as exc:
            self._fail(flow.name, doc, exc, "put", data, summary)
            if exc.transient:  # the target is down: no more numbers spent and attempts used this pass
                self._target_down.add(flow.name)
            return False
        due = self.now() + partner.ack_window
        self._move(
            doc.id,
            State.SENT,
            step="put",
            detail={"file": out_name, "ack_due": due.isoformat(timespec="seconds")},
            credential=self._credential(flow.target.endpoint),
        )
        summary.add(flow.name, "sent")
        return True

    def _reject_document(
        self, flow: Flow, partner: Partner, name: str, body: bytes, key: str, reason: str, summary: Summary
    ) -> None:
        doc = self.ledger.record_outbound(
            partner.id, "canonical", payload=body, levels=(), state=State.PICKED_UP,
            idempotency_key=f"{key}:rejected", file_name=name, worker=self.worker,
        )  # fmt: skip
        if doc.state == State.PICKED_UP and doc.claimed_by == self.worker:
            self._fail(
                flow.name,
                doc,
                DocumentRejectedError(reason, partner=partner.id, file=name),
                "map",
                body,
                summary,
            )
        else:
            summary.add(flow.name, "duplicate")

    # -- acknowledgments owed to us -------------------------------------------------------------

    def check_ack_overdue(self) -> Summary:
        """Only the overdue-acknowledgment check (the daemon's ``ack_overdue`` batch)."""
        summary = Summary()
        self._ack_overdue(summary)
        return summary

    def _ack_overdue(self, summary: Summary) -> None:
        now = self.now()
        for partner in self.config.partners.values():
            cutoff = now - partner.ack_window
            for doc in self.ledger.find(
                partner=partner.id,
                direction=Direction.OUT,
                states=[State.SENT],
                updated_before=cutoff,
                limit=1000,
            ):
                self._move(
                    doc.id,
                    State.ACK_OVERDUE,
                    step="ack_overdue",
                    outcome="overdue",
                    detail={"window": str(partner.ack_window)},
                )
                summary.add(f"partner {partner.id}", "ack_overdue")
                summary.problems.append(
                    f"{partner.id}: no 997 for {doc.kind} ISA13 {doc.isa13} within {partner.ack_window}"
                )


#: The ledger kind of a delivery polled from SAP over OData (an inbound flow of sap/A_OutbDeliveryHeader).
WORK_KIND = "odata"


class _NoFiles:
    """The session of a source that is not a folder (SAP polled over OData): nothing to archive."""

    def list(self, folder: str) -> list[Any]:
        return []

    def fetch(self, folder: str, name: str) -> bytes:
        raise InputError(f"{folder}/{name}: a polled source has no files")

    def put(self, folder: str, name: str, data: bytes) -> None:
        raise InputError(f"{folder}/{name}: a polled source takes no files")

    def archive(self, folder: str, name: str, archive_folder: str) -> str | None:
        return None

    def delete(self, folder: str, name: str) -> bool:
        return False


def default_worker() -> str:
    """This process's worker name for ledger claims: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_worker(worker: str, host: str) -> bool:
    """Whether ``worker`` (``host:pid``) names a process of ``host`` (this one) that is gone."""
    other, _, pid = worker.rpartition(":")
    if other != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs as another user, or the PID is out of range for this system
        return False
    return False


_DOCNUM = re.compile(rb"<DOCNUM>\s*(\d{1,16})\s*</DOCNUM>")
#: An inbound document's delivery key, as _canonical_inbound and _canonical_idoc make it.
_DELIVERY_KEY = re.compile(r"\A[A-Za-z]+-(?P<partner>.+)-(?:(?P<isa13>\d{9})-[^-]+|(?P<docnum>\d{16}))\Z")


def docnum_of(payload: bytes) -> str | None:
    """The first IDoc's DOCNUM (16 digits), read without parsing the XML; ``None`` when there is none."""
    found = _DOCNUM.search(payload[:65536])
    return found.group(1).decode().zfill(16) if found else None


def _validate_idoc(payload: bytes, doc: Document) -> dict[str, Any]:
    """Read an IDoc file (XML with DTDs and entities refused); its errors quarantine it whole, with
    the reason naming each IDoc, segment and field. The detail for the ``validate`` event."""
    decoded = decode_idoc(payload, source=doc.file_name or "")  # IdocSyntaxError, IdocSecurityError
    errors = [str(f) for f in decoded.errors]
    if errors:
        more = [f"and {len(errors) - 20} more"] if len(errors) > 20 else []
        raise DocumentRejectedError("; ".join(errors[:20] + more), partner=doc.partner, file=doc.file_name)
    idocs = decoded.document["idocs"]
    types = sorted(
        {
            f"{(i.get('EDI_DC40') or {}).get('MESTYP')}.{(i.get('EDI_DC40') or {}).get('IDOCTYP')}"
            for i in idocs
        }
    )
    return {"idocs": len(idocs), "types": types, "warnings": len(decoded.findings)}


def _error_findings(events: Iterable[Any]) -> list[str]:
    """The errors among a file's validation findings, each as a person reads it (where, and what)."""
    return [str(e) for e in events if isinstance(e, Finding) and e.severity == "error"]


def _rejection(flow: Flow, errors: list[str]) -> str:
    """The reason beside a file our acknowledgment rejected: what is wrong, and what to do."""
    place = flow.acks or flow.source
    lines = [f"rejected: our 997/999 (in {place.folder} on {place.endpoint}) rejects every set of this file:"]
    lines += [f"- {e}" for e in errors[:100]] or ["- see the AK3/AK4/AK5 segments of that acknowledgment"]
    if len(errors) > 100:
        lines.append(f"- and {len(errors) - 100} more")
    lines.append("The partner must correct the file and send it again under a new ISA13.")
    return "\n".join(lines)


def _csv_finding(file: str, finding: MappingFinding) -> str:
    """A mapping finding on a CSV row as ``file:line: field: what (mapping file:line)``."""
    line = (finding.source or "").removeprefix("line ").rstrip(".")
    if finding.source and finding.source.startswith("line ") and line.isdigit():
        return f"{file}:{line}: {finding.target}: {finding.message} ({finding.file}:{finding.line})"
    return f"{file}: {finding}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _delivery_key(flow: Flow, document: Mapping[str, Any], sha: str, i: int) -> str:
    """The delivery key of a document of a flow into connectors: its business key (a GoodsMovement's
    movement ID), so that the WMS exporting the same adjustments again in a file of other bytes
    finds what the first delivered; without one, the file's content and the document's place."""
    business = _business_key(document)
    if business:
        return f"{flow.name}:{document.get('kind')}:{business}"[:160]
    return f"{flow.name}:{sha}:{i}"


def _slot(flow: Flow, n: int) -> str:
    """The connector slot of a flow into connectors: its target (0), then each ``also_deliver``."""
    return flow.name if n == 0 else f"{flow.name}:also:{n - 1}"


class _Refused(NamedTuple):
    """An outbound document refused before it is recorded, and why (:meth:`Runner._sending_key`)."""

    reason: str


#: Fields of a kind that say when the WMS made the export, not what it says: left out of its key.
_WHEN_MADE: Mapping[str, frozenset[str]] = {"ShipNotice": frozenset({"notice_date", "notice_time"})}
#: Kinds of which a second document with the same business key must not go to a partner.
_SENT_ONCE: frozenset[str] = frozenset({"ShipNotice"})
#: States of a sent document after which another with its business key may go.
_SENDABLE_AGAIN: frozenset[State] = frozenset(
    {State.REJECTED, State.QUARANTINED, State.DEAD_LETTERED, State.DROPPED}
)


def _business_key(doc: Mapping[str, Any]) -> str | None:
    for key in ("shipment_id", "po_number", "invoice_number", "advice_number", "order_number", "movement_id"):
        if isinstance(doc.get(key), str):
            return str(doc[key])[:128]
    return None


__all__ = ["Progress", "Runner", "Summary", "default_worker", "docnum_of", "isa13_of"]
