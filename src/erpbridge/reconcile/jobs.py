"""The reconciliation job runner: gathers what the checks compare (the ledger, the ERPs through their
connectors, the WMS's snapshots), runs the pure checks, records each run and its discrepancies in the
ledger, writes the report, and applies the remedies (``--fix``). The only I/O of ``reconcile/``.

Where each input comes from:

* **inbound POs**: the ledger's inbound interchanges (kind ``x12``) recorded within ``[reconcile]
  lookback``, their 850s' BEG03; our 997/999 is the outbound document linked ``acknowledges`` to the
  interchange, an 855 the outbound ``x12/855`` with the PO number as its business key; the ERP is the
  target of the partner's inbound flow, asked through its connector (SAP OData
  ``find_sales_order``, NetSuite REST ``sales_order_status`` by PO number);
* **outbound documents**: the ledger's outbound X12 in ``sent`` or ``ack_overdue`` (any age) or
  ``rejected`` (within lookback), judged against the partner's ``ack_window``;
* **shipments**: the ledger's outbound ``x12/856`` (business key: the shipment ID) within lookback,
  grouped per shipment (a replay is the same shipment); an ERP fulfillment is an ``also_deliver`` event
  or an IDoc linked ``derived_from`` the 856; a confirmation that never became an 856 is a quarantined
  or dead-lettered canonical ShipNotice;
* **the WMS's stock**: the newest InventoryAdvice per location the ledger holds as a canonical document
  (kind ``canonical/InventoryAdvice`` or ``InventoryAdvice``, of ``[reconcile.inventory] wms_partner``
  if set); when there is none, the newest 846 sent to any partner per location, read back with the
  846 mapping (the WMS's on-hand is what every 846 carries); **the ERP's** from each
  ``[reconcile.inventory.erp.<endpoint>]`` (SAP ``stock`` per plant, NetSuite ``on_hand`` per
  location); **the last 846** per partner and location from the ledger's outbound ``x12/846``.

Each job run is a job run in the ledger (``reconcile:<job>``) whose discrepancies are recorded with it;
``erpbridge status`` shows the last run of each job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..config import Config, Flow, ReconcileErp, build_connector
from ..errors import ErpBridgeError, InputError
from ..events.notify import Notification
from ..formats.x12 import decode
from ..ledger import Direction, Discrepancy, Document, JobRun, Ledger, Owner, Relation, State
from ..mapping.meta import x12_meta
from ..observability import signals
from ..pipeline import Runner, Summary
from ..pipeline.replay import ReplayRefusedError, redeliver, replay
from .catalog import catalog_job
from .checks import (
    JOBS,
    InboundOrder,
    InventoryContext,
    Remedies,
    SentDocument,
    Shipment,
    check_acks,
    check_orders,
    check_shipments,
    inventory_discrepancies,
    remedy_key,
)
from .inventory import StockTable, Tolerance, compare
from .report import report_csv, report_html
from .result import JobResult

log = logging.getLogger(__name__)

#: The prefix of a reconciliation job's name in the ledger's job runs.
JOB_PREFIX = "reconcile:"
#: States in which an outbound X12 document has left for the partner.
_GONE_OUT = (State.SENT, State.ACK_OVERDUE, State.ACKNOWLEDGED, State.ARCHIVED, State.REJECTED)
_ADVICE_KINDS = ("canonical/InventoryAdvice", "InventoryAdvice")
_SHIP_NOTICE_KINDS = ("canonical/ShipNotice", "ShipNotice")
_MANY = 100_000


@dataclass
class Reconciliation:
    """What ``erpbridge reconcile`` (or the nightly batch) did: each job's result, the report."""

    results: list[JobResult] = field(default_factory=list)
    report: tuple[Path, Path] | None = None  # (CSV, HTML)


class Reconciler:
    """Runs reconciliation jobs for ``config`` against ``ledger``, using ``runner``'s flows (mappings,
    transports and the replay machinery). ``connector`` builds a connector for an endpoint name (the
    configuration's by default; tests may hand their own)."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        runner: Runner,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[str], None] = lambda _: None,
        connector: Callable[[str], Any] | None = None,
    ) -> None:
        self.config, self.ledger, self.runner, self.now, self.progress = config, ledger, runner, now, progress
        self.settings = config.reconcile
        self.remedies = Remedies(config.source)
        self._given_connector = connector
        self._connector = connector or (lambda name: build_connector(config.endpoints[name]))

    # -- running --------------------------------------------------------------------------------

    def run(
        self, jobs: Sequence[str] | None = None, *, fix: bool = False, report: Path | None = None
    ) -> Reconciliation:
        """Run ``jobs`` (default: every enabled one), each recorded in the ledger; with ``fix``,
        apply their remedies, then run them again (the second run is the one the report shows and
        ``erpbridge status`` counts). The report goes to ``report`` or ``[reconcile] report``."""
        wanted = list(jobs) if jobs else [j for j in JOBS if self.settings.jobs[j].enabled]
        out = Reconciliation()
        for job in wanted:
            result = self.run_job(job)
            if fix and result.error is None and result.discrepancies:
                done = self.fix(job, result)
                if done:
                    result = self.run_job(job, fixed=done)
            out.results.append(result)
        out.report = self.write_report(out.results, report)
        return out

    def run_job(self, job: str, *, fixed: Sequence[str] = ()) -> JobResult:
        """One run of ``job``: checked, recorded in the ledger (job run and discrepancies); ``fixed``:
        what a ``--fix`` did just before (kept with the run)."""
        if job not in JOBS:
            raise InputError(f"no reconciliation job {job!r}: the jobs are {', '.join(JOBS)}")
        settings = self.settings.jobs[job]
        started = self.now()
        run = self.ledger.start_job(f"{JOB_PREFIX}{job}", self.runner.worker)
        self.remedies = Remedies(self.config.source, run=run.id)  # its replay key: reconcile-<run>
        self.progress(f"reconcile {job}")
        checked: dict[str, int] = {}
        notes: list[str] = []
        error: str | None = None
        found: list[Discrepancy] = []
        try:
            found = getattr(self, f"_{job}")(checked, notes)
        except ErpBridgeError as exc:
            error = str(exc)
            log.warning("reconciliation %s failed: %s", job, exc)
        result = JobResult(
            job=job,
            discrepancies=found,
            threshold=settings.threshold,
            checked=checked,
            started_at=started,
            finished_at=self.now(),
            error=error,
            notes=tuple(notes),
            run_id=run.id,
            fixed=tuple(fixed),
        )
        self.ledger.record_discrepancies(run.id, found)
        self.ledger.finish_job(run.id, "failed" if error else "ok", detail=job_detail(result))
        return result

    def write_report(self, results: Sequence[JobResult], folder: Path | None = None) -> tuple[Path, Path]:
        """The CSV and HTML report of ``results`` in ``folder`` (default: ``[reconcile] report``, else
        ``reports/`` beside the archive folder): ``reconciliation-<UTC time>.csv`` and ``.html``."""
        folder = folder or self.settings.report or self.config.folders.archive.parent / "reports"
        moment = self.now()
        stem = f"reconciliation-{moment.strftime('%Y%m%dT%H%M%SZ')}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            csv_path, html_path = folder / f"{stem}.csv", folder / f"{stem}.html"
            csv_path.write_bytes(report_csv(results))
            html_path.write_text(
                report_html(results, generated_at=moment, source=self.config.source), encoding="utf-8"
            )
        except OSError as exc:
            raise InputError(
                f"cannot write the reconciliation report into {folder}: {exc.strerror or exc}",
                file=str(folder),
            ) from None
        return csv_path, html_path

    @contextmanager
    def _erp(self, name: str) -> Iterator[Any]:
        with self._erps() as erp:
            yield erp(name)

    @contextmanager
    def _erps(self) -> Iterator[Callable[[str], Any]]:
        """A connector per ERP endpoint, built the first time it is asked for; all closed at the end."""
        opened: dict[str, Any] = {}

        def connector(name: str) -> Any:
            if name not in opened:
                opened[name] = self._connector(name)
            return opened[name]

        try:
            yield connector
        finally:
            for name, each in opened.items():
                try:
                    each.close()
                except ErpBridgeError as exc:  # what it read is read: only report it
                    log.warning("closing %s: %s", name, exc)

    def _since(self) -> datetime:
        return self.now() - self.settings.lookback

    # -- orders ---------------------------------------------------------------------------------

    def _order_flows(self) -> dict[str, Flow]:
        """Per partner, the inbound flow that takes its 850s."""
        out: dict[str, Flow] = {}
        for flow in self.config.flows.values():
            if flow.direction == "in" and any(d.x12_set == "850" for d in flow.documents):
                out.setdefault(flow.partner, flow)
        return out

    def _orders(self, checked: dict[str, int], notes: list[str]) -> list[Discrepancy]:
        flows = self._order_flows()
        wants_855 = {
            f.partner
            for f in self.config.flows.values()
            if f.direction == "out" and f.enabled and any(d.x12_set == "855" for d in f.documents)
        }
        orders: list[InboundOrder] = []
        with self._erps() as erp:
            for doc in self.ledger.find(
                direction=Direction.IN, kind="x12", created_since=self._since(), limit=_MANY
            ):
                flow = flows.get(doc.partner)
                if flow is None:
                    continue
                numbers = self._po_numbers(doc)
                if not numbers:
                    continue
                ack_sent = self._acknowledged(doc)
                endpoint = flow.target.endpoint
                ep_type = self.config.endpoints[endpoint].type
                readable = ep_type in ("sap_odata", "netsuite_rest")
                for po in numbers:
                    checked[doc.partner] = checked.get(doc.partner, 0) + 1
                    reference: str | None = None
                    problem: str | None = None
                    if readable and doc.state in (State.DELIVERED, State.ARCHIVED):
                        try:
                            reference = _sales_order(erp(endpoint), ep_type, po)
                        except ErpBridgeError as exc:
                            problem = exc.message
                    orders.append(
                        InboundOrder(
                            document_id=doc.id,
                            partner=doc.partner,
                            po_number=po,
                            state=doc.state,
                            received_at=doc.created_at,
                            ack_sent=ack_sent,
                            wants_855=doc.partner in wants_855,
                            order_ack_sent=doc.partner in wants_855 and self._order_acked(doc.partner, po),
                            erp=endpoint if readable else None,
                            erp_reference=reference,
                            erp_error=problem,
                        )
                    )
        if not flows:
            notes.append("no inbound flow takes 850s: no POs to check")
        return check_orders(orders, now=self.now(), grace=self.settings.grace, remedies=self.remedies)

    def _po_numbers(self, doc: Document) -> list[str]:
        """The PO numbers (BEG03) of the 850s in an inbound interchange; a payload that cannot be read
        stands for one PO named by its file."""
        try:
            decoded = decode(self.ledger.payload(doc.payload_sha256 or ""))
        except ErpBridgeError:
            return [f"(unreadable: {doc.file_name or doc.id})"] if doc.state != State.ARCHIVED else []
        return [
            str((tset.get("BEG") or {}).get("BEG03") or f"(no BEG03 in {doc.file_name or doc.id})")
            for inter in decoded.document["interchanges"]
            for group in inter["groups"]
            for tset in group["sets"]
            if str((tset.get("ST") or {}).get("ST01")) == "850"
        ]

    def _acknowledged(self, doc: Document) -> bool:
        for link in self.ledger.links(doc.id):
            if link.relation == Relation.ACKNOWLEDGES and link.to_document == doc.id:
                ack = self.ledger.get(link.from_document)
                if ack.state in _GONE_OUT:
                    return True
        return False

    def _order_acked(self, partner: str, po: str) -> bool:
        return any(
            d.state in _GONE_OUT
            for d in self.ledger.find(
                partner=partner, direction=Direction.OUT, kind="x12/855", business_key=po
            )
        )

    # -- acknowledgments ------------------------------------------------------------------------

    def _acks(self, checked: dict[str, int], notes: list[str]) -> list[Discrepancy]:
        docs = self.ledger.find(direction=Direction.OUT, states=[State.SENT, State.ACK_OVERDUE], limit=_MANY)
        docs += self.ledger.find(
            direction=Direction.OUT, states=[State.REJECTED], created_since=self._since(), limit=_MANY
        )
        sent: list[SentDocument] = []
        for doc in docs:
            partner = self.config.partners.get(doc.partner)
            if partner is None or not doc.kind.startswith("x12/"):
                continue
            checked[doc.partner] = checked.get(doc.partner, 0) + 1
            replayed = any(
                link.relation == Relation.REPLAYS and link.to_document == doc.id
                for link in self.ledger.links(doc.id)
            )
            reasons = None
            if doc.state == State.REJECTED:
                answer = [e for e in self.ledger.events(doc.id) if e.step == "ack_received"]
                if answer:
                    reasons = json.dumps(answer[-1].detail.get("reasons") or answer[-1].detail.get("status"))
            sent.append(
                SentDocument(
                    document_id=doc.id,
                    partner=doc.partner,
                    kind=doc.kind,
                    state=doc.state,
                    isa13=doc.isa13,
                    business_key=doc.business_key,
                    sent_at=doc.created_at,
                    window=partner.ack_window,
                    replayed=replayed,
                    reasons=reasons,
                )
            )
        return check_acks(sent, now=self.now(), remedies=self.remedies)

    # -- shipments ------------------------------------------------------------------------------

    def _shipments(self, checked: dict[str, int], notes: list[str]) -> list[Discrepancy]:
        flows = {
            f.partner: f
            for f in self.config.flows.values()
            if f.direction == "out" and any(d.x12_set == "856" for d in f.documents)
        }
        grouped: dict[tuple[str, str], list[Document]] = {}
        for doc in self.ledger.find(
            direction=Direction.OUT, kind="x12/856", created_since=self._since(), limit=_MANY
        ):
            grouped.setdefault((doc.partner, doc.business_key or doc.id), []).append(doc)
        shipments: list[Shipment] = []
        rank = {
            s: n for n, s in enumerate((State.ACKNOWLEDGED, State.ARCHIVED, State.ACK_OVERDUE, State.SENT))
        }
        with self._erps() as connector:
            for (partner, shipment_id), docs in grouped.items():
                checked[partner] = checked.get(partner, 0) + 1
                flow = flows.get(partner)
                best = min(docs, key=lambda d: (rank.get(d.state, 9), d.created_at))
                erp = flow.also_deliver[0].endpoint if flow is not None and flow.also_deliver else None
                netsuite = erp is not None and self.config.endpoints[erp].type == "netsuite_rest"
                fulfilled = erp is not None and any(self._fulfilled(d) for d in docs)
                missing: str | None = None
                if netsuite and fulfilled and best.state in _GONE_OUT:
                    assert erp is not None
                    missing = self._fulfillments_missing(connector(erp), erp, docs)
                shipments.append(
                    Shipment(
                        shipment_id=shipment_id,
                        partner=partner,
                        document_id=best.id,
                        asn_state=best.state,
                        wants_fulfillment=erp is not None,
                        erp=erp,
                        fulfilled=fulfilled,
                        erp_missing=missing,
                        redeliverable=netsuite,
                    )
                )
        # confirmations that never became an 856
        for doc in self.ledger.find(
            direction=Direction.OUT,
            kind="canonical",
            states=[State.QUARANTINED, State.DEAD_LETTERED],
            created_since=self._since(),
            limit=_MANY,
        ):
            body = self._json(doc)
            if isinstance(body, dict) and body.get("kind") == "ShipNotice":
                shipment_id = str(body.get("shipment_id") or doc.file_name or doc.id)
                if (doc.partner, shipment_id) in grouped:
                    continue
                checked[doc.partner] = checked.get(doc.partner, 0) + 1
                shipments.append(
                    Shipment(
                        shipment_id=shipment_id,
                        partner=doc.partner,
                        document_id=doc.id,
                        asn_state=None,
                        failure=doc.last_error,
                    )
                )
        for kind in _SHIP_NOTICE_KINDS:  # recorded by a WMS flow: each must have its 856
            for doc in self.ledger.find(kind=kind, created_since=self._since(), limit=_MANY):
                if doc.business_key and (doc.partner, doc.business_key) not in grouped:
                    if self.now() - doc.created_at < self.settings.grace:
                        continue
                    checked[doc.partner] = checked.get(doc.partner, 0) + 1
                    shipments.append(
                        Shipment(
                            shipment_id=doc.business_key,
                            partner=doc.partner,
                            document_id=doc.id,
                            asn_state=None,
                            failure="no 856 was recorded for it",
                        )
                    )
        return check_shipments(shipments, remedies=self.remedies)

    def _fulfillments_missing(self, netsuite: Any, erp: str, docs: Sequence[Document]) -> str | None:
        """Whether NetSuite still holds the item fulfillments the ledger says it made for a shipment:
        per 856 (and replay), the fulfillments of its last ``also_deliver`` to ``erp`` are read back
        by internal ID. ``None`` when one 856's are all there, else what is missing."""
        gone: list[str] = []
        for doc in docs:
            last = [e for e in self.ledger.events(doc.id) if e.step == "also_deliver" and e.outcome == "ok"]
            if not last:
                continue
            detail = last[-1].detail
            refs = [
                ref
                for to, made in zip(detail.get("to") or (), detail.get("references") or (), strict=False)
                if to == erp and made
                for ref in str(made).split(",")
            ]
            lost = [r for r in refs if netsuite.get_record("itemFulfillment", r, fields=("id",)) is None]
            if refs and not lost:
                return None
            gone += lost
        if not gone:
            return None  # no reference recorded to read back: the ledger's word stands
        return f"item fulfillment {', '.join(dict.fromkeys(gone))} not in {erp} (deleted?)"

    def _fulfilled(self, doc: Document) -> bool:
        if any(e.step == "also_deliver" and e.outcome == "ok" for e in self.ledger.events(doc.id)):
            return True
        return any(
            link.relation == Relation.DERIVED_FROM and link.to_document == doc.id
            for link in self.ledger.links(doc.id)
        )

    def _json(self, doc: Document) -> Any:
        try:
            return json.loads(self.ledger.payload(doc.payload_sha256 or ""))
        except (ErpBridgeError, ValueError):
            return None

    # -- inventory ------------------------------------------------------------------------------

    def _inventory(self, checked: dict[str, int], notes: list[str]) -> list[Discrepancy]:
        wms, source = self._wms_stock(notes)
        if wms is None:
            notes.append(
                "no WMS inventory snapshot in the ledger (no InventoryAdvice document, no 846 sent): "
                "nothing to compare"
            )
            return []
        settings = self.settings.jobs["inventory"]
        tolerance = Tolerance(units=settings.tolerance, percent=settings.tolerance_pct)
        sent, origins = self._last_846s()
        found: list[Discrepancy] = []
        for erp in self.settings.erps:
            self.progress(f"  reading on-hand from {erp.endpoint}")
            table = self._erp_stock(erp)
            comparison = compare(wms, erp=table, erp_locations=set(erp.locations), tolerance=tolerance)
            assert comparison.erp is not None
            checked[erp.endpoint] = comparison.erp.compared
            context = InventoryContext(erp=erp.endpoint, erp_adjustable=self._adjustable(erp))
            found += inventory_discrepancies(comparison, context=context, remedies=self.remedies)
        if not self.settings.erps:
            notes.append("no [reconcile.inventory.erp.<endpoint>]: the ERP's on-hand is not compared")
        if sent:
            comparison = compare(wms, sent=sent, tolerance=tolerance)
            for partner, diff in comparison.sent.items():
                checked[partner] = diff.compared
            found += inventory_discrepancies(
                comparison, context=InventoryContext(sent=origins), remedies=self.remedies
            )
        notes.append(f"the WMS's stock: {source}")
        return found

    def _adjustable(self, erp: ReconcileErp) -> bool:
        return (
            self.config.endpoints[erp.endpoint].type == "netsuite_rest" and erp.adjustment_account is not None
        )

    def _sku(self, item: Mapping[str, Any]) -> str | None:
        ids = item.get("product_ids") or {}
        return next((str(ids[k]) for k in self.settings.sku if ids.get(k)), None)

    def _advice_rows(self, advice: Mapping[str, Any]) -> Iterator[tuple[str, str | None, Decimal]]:
        for item in advice.get("items") or []:
            sku = self._sku(item)
            quantity = _decimal(item.get("on_hand"))
            if sku is not None and quantity is not None:
                yield sku, item.get("location") or advice.get("location"), quantity

    def _wms_stock(self, notes: list[str]) -> tuple[StockTable | None, str]:
        """The WMS's newest snapshot of each location (see the module)."""
        newest: dict[str | None, tuple[Document, Mapping[str, Any]]] = {}
        for kind in _ADVICE_KINDS:
            for doc in self.ledger.find(
                kind=kind, partner=self.settings.wms_partner, newest_first=True, limit=500
            ):
                body = self._json(doc)
                for advice in body if isinstance(body, list) else [body]:
                    if (
                        isinstance(advice, dict)
                        and advice.get("kind", "InventoryAdvice") == "InventoryAdvice"
                    ):
                        newest.setdefault(advice.get("location"), (doc, advice))
        if newest:
            rows = [r for _, advice in newest.values() for r in self._advice_rows(advice)]
            when = max(d.created_at for d, _ in newest.values())
            return StockTable.of(
                rows
            ), f"{len(newest)} InventoryAdvice snapshot(s), the newest of {when:%Y-%m-%d %H:%M} UTC"
        latest: dict[str | None, tuple[Document, Mapping[str, Any]]] = {}
        for doc in self.ledger.find(
            direction=Direction.OUT, kind="x12/846", states=_GONE_OUT, newest_first=True, limit=500
        ):
            for advice in self._advices_of_846(doc):
                latest.setdefault(advice.get("location"), (doc, advice))
        if not latest:
            return None, ""
        rows = [r for _, advice in latest.values() for r in self._advice_rows(advice)]
        docs = sorted({d.id: d for d, _ in latest.values()}.values(), key=lambda d: d.created_at)
        shown = ", ".join(f"ISA13 {d.isa13} to {d.partner}" for d in docs[:5])
        return StockTable.of(rows), f"no InventoryAdvice recorded: the newest 846 per location ({shown})"

    def _advices_of_846(self, doc: Document) -> list[Mapping[str, Any]]:
        partner = self.config.partners.get(doc.partner)
        if partner is None:
            return []
        mapping = self.runner._mapping_for(partner, "846-to-*.yaml")
        if mapping is None:
            return []
        try:
            decoded = decode(self.ledger.payload(doc.payload_sha256 or ""))
        except ErpBridgeError:
            return []
        out: list[Mapping[str, Any]] = []
        for inter in decoded.document["interchanges"]:
            for group in inter["groups"]:
                for tset in group["sets"]:
                    if str((tset.get("ST") or {}).get("ST01")) != "846":
                        continue
                    result = mapping.apply(tset, x12_meta(inter, group, tset, partner.id))
                    if result.document is not None:
                        out.append(result.document)
        return out

    def _last_846s(self) -> tuple[dict[str, StockTable], dict[str, str]]:
        """Per partner with an 846 flow, the stock its newest 846 of each location told it."""
        partners = {
            f.partner
            for f in self.config.flows.values()
            if f.direction == "out" and any(d.x12_set == "846" for d in f.documents)
        }
        tables: dict[str, StockTable] = {}
        origins: dict[str, str] = {}
        for partner in sorted(partners):
            latest: dict[str | None, tuple[Document, Mapping[str, Any]]] = {}
            for doc in self.ledger.find(
                partner=partner,
                direction=Direction.OUT,
                kind="x12/846",
                states=_GONE_OUT,
                newest_first=True,
                limit=200,
            ):
                for advice in self._advices_of_846(doc):
                    latest.setdefault(advice.get("location"), (doc, advice))
            if latest:
                tables[partner] = StockTable.of(r for _, a in latest.values() for r in self._advice_rows(a))
                docs = sorted({d.id: d for d, _ in latest.values()}.values(), key=lambda d: d.created_at)
                origins[partner] = (
                    "the last 846 ("
                    + ", ".join(f"ISA13 {d.isa13} of {d.created_at:%Y-%m-%d %H:%M}" for d in docs[:3])
                    + ")"
                )
        return tables, origins

    def _erp_stock(self, erp: ReconcileErp) -> StockTable:
        """The ERP's on-hand at the locations ``erp`` maps, under the WMS's location names."""
        ep_type = self.config.endpoints[erp.endpoint].type
        rows: list[tuple[str, str, Decimal]] = []
        with self._erp(erp.endpoint) as connector:
            for wms_location, erp_location in erp.locations.items():
                if ep_type == "sap_odata":
                    for level in connector.stock(erp_location):
                        qty = level.unrestricted if erp.stock == "unrestricted" else level.total
                        rows.append((level.material, wms_location, qty))
                else:
                    for on in connector.on_hand(location=erp_location):
                        rows.append((on.sku or f"(NetSuite item {on.item})", wms_location, on.on_hand))
        return StockTable.of(rows)

    # -- catalog --------------------------------------------------------------------------------

    def _catalog(self, checked: dict[str, int], notes: list[str]) -> list[Discrepancy]:
        return catalog_job(
            self.config,
            self.ledger,
            worker=self.runner.worker,
            checked=checked,
            notes=notes,
            remedies=self.remedies,
            connector=self._given_connector,
        )

    # -- remedies -------------------------------------------------------------------------------

    def fix(self, job: str, result: JobResult) -> list[str]:
        """Apply the remedies of ``result`` that erpbridge can apply itself; one line per action.

        orders and acks: ``erpbridge replay DOC --key reconcile-<run>`` for each PO missing in the
        ERP and each document without its 997 (the run that found it: the same run's remedy again
        replays nothing, a later run's is its own). shipments: each 856 whose NetSuite fulfillment is
        missing delivered to the flow's ``also_deliver`` again (:func:`redeliver`: no new 856).
        inventory: one NetSuite inventory adjustment per location with an ``adjustment_account`` (the
        WMS's quantities minus NetSuite's; external ID from the run, so a repeat posts nothing twice),
        and the WMS's snapshot sent again as an 846 to each partner whose last 846 differs."""
        done: list[str] = []
        key = remedy_key(result.run_id)
        if job in ("orders", "acks"):
            wanted = {"orders": "not_in_erp", "acks": "no_997"}[job]
            for doc_id in dict.fromkeys(d.document_id for d in result.discrepancies if d.check == wanted):
                if doc_id is None:
                    continue
                try:
                    made = replay(self.runner, doc_id, reason=f"erpbridge reconcile {job} --fix", key=key)
                except ReplayRefusedError as exc:
                    done.append(f"{doc_id}: not replayed: {exc.message}")
                    continue
                except ErpBridgeError as exc:  # the next ones are still tried; the check again shows it
                    done.append(f"{doc_id}: replay failed ({_why(exc)}): {exc}")
                    continue
                state = "replayed" if made.created else "replayed before"
                done.append(f"{doc_id}: {state} as {made.replay.id} to {made.target} (key {key})")
        elif job == "shipments":
            for d in result.discrepancies:
                if d.check != "no_fulfillment" or d.owner != Owner.ERPBRIDGE or d.document_id is None:
                    continue
                try:
                    made = redeliver(
                        self.runner, d.document_id, reason="erpbridge reconcile shipments --fix", key=key
                    )
                except ReplayRefusedError as exc:
                    done.append(f"{d.subject}: not delivered again: {exc.message}")
                    continue
                except ErpBridgeError as exc:
                    done.append(f"{d.subject}: delivering again failed ({_why(exc)}): {exc}")
                    continue
                state = "delivered again" if made.created else "nothing new to deliver"
                refs = ", ".join(made.files) or "-"
                done.append(f"{d.subject}: {state} to {made.target} ({refs}, key {key}); no new 856")
        elif job == "inventory":
            for remedy, what in ((self._fix_erp_stock, "posting adjustments"), (self._resend_846s, "846s")):
                try:
                    done += remedy(result)
                except ErpBridgeError as exc:  # what it did before is done: the check again shows it
                    done.append(f"{what} failed ({_why(exc)}): {exc}")
        return done

    def _fix_erp_stock(self, result: JobResult) -> list[str]:
        done: list[str] = []
        for erp in self.settings.erps:
            if not self._adjustable(erp):
                continue
            mine = [d for d in result.discrepancies if d.check == "erp_on_hand" and d.partner == erp.endpoint]
            if not mine:
                continue
            with self._erp(erp.endpoint) as ns:
                index = ns.items()
                for wms_location, erp_location in erp.locations.items():
                    changes: dict[str, Decimal] = {}
                    unknown: list[str] = []
                    for d in mine:
                        sku, location = _sku_of(d.subject)
                        if location != wms_location:
                            continue
                        item = index.lookup(sku, None)
                        wms_q = _decimal(d.sides.get("wms")) or Decimal(0)
                        erp_q = _decimal(d.sides.get(erp.endpoint)) or Decimal(0)
                        if item is None:
                            unknown.append(sku)
                        elif wms_q != erp_q:
                            changes[item] = changes.get(item, Decimal(0)) + wms_q - erp_q
                    if unknown:
                        done.append(
                            f"{erp.endpoint}: no NetSuite item for SKU {', '.join(sorted(unknown)[:20])}: the ERP "
                            "team creates the item, then run the fix again"
                        )
                    if not changes:
                        continue
                    external = f"erpbridge-reconcile-{result.run_id}-{wms_location}"[:100]
                    made = ns.adjust_inventory(
                        external,
                        account=erp.adjustment_account,
                        location=erp_location,
                        changes=changes,
                        memo=f"erpbridge reconcile inventory --fix: the WMS's count at {wms_location} (run {result.run_id})",
                    )
                    done.append(
                        f"{erp.endpoint}: inventory adjustment {made.id} ({external}) at location {erp_location}: "
                        f"{len(changes)} item(s)"
                    )
        return done

    def _resend_846s(self, result: JobResult) -> list[str]:
        partners = sorted({d.partner for d in result.discrepancies if d.check == "846_on_hand"})
        if not partners:
            return []
        advices = self._wms_advices()
        done: list[str] = []
        for partner_id in partners:
            flow = next(
                (
                    f
                    for f in self.config.flows.values()
                    if f.direction == "out"
                    and f.partner == partner_id
                    and any(d.x12_set == "846" for d in f.documents)
                ),
                None,
            )
            partner = self.config.partners.get(partner_id)
            if flow is None or partner is None:
                continue
            summary = Summary()
            with self.runner._transport(flow.target.endpoint, partner.id).session() as t:
                for source_id, advice in advices:
                    body = {k: v for k, v in advice.items() if k != "meta"}
                    key = f"reconcile:846:{source_id}:{advice.get('location') or '-'}"
                    self.runner._outbound_document(
                        flow, partner, t, f"reconcile-{source_id[:8]}.json", body, key, summary, []
                    )
            sent = sum(n for (_, outcome), n in summary.counts.items() if outcome == "sent")
            repeats = sum(n for (_, outcome), n in summary.counts.items() if outcome == "duplicate")
            line = f"{partner_id}: the WMS's snapshot sent again as {sent} 846(s) through flow {flow.name}"
            if repeats:
                line += f" ({repeats} sent by an earlier fix already)"
            done.append(line + "".join(f"; {p}" for p in summary.problems))
        return done

    def _wms_advices(self) -> list[tuple[str, Mapping[str, Any]]]:
        """The WMS's newest InventoryAdvice per location with the ledger document it comes from."""
        newest: dict[str | None, tuple[str, Mapping[str, Any]]] = {}
        for kind in _ADVICE_KINDS:
            for doc in self.ledger.find(
                kind=kind, partner=self.settings.wms_partner, newest_first=True, limit=500
            ):
                body = self._json(doc)
                for advice in body if isinstance(body, list) else [body]:
                    if isinstance(advice, dict):
                        newest.setdefault(advice.get("location"), (doc.id, advice))
        if not newest:
            for doc in self.ledger.find(
                direction=Direction.OUT, kind="x12/846", states=_GONE_OUT, newest_first=True, limit=500
            ):
                for advice in self._advices_of_846(doc):
                    newest.setdefault(advice.get("location"), (doc.id, advice))
        return list(newest.values())


def job_detail(result: JobResult) -> dict[str, Any]:
    """What a reconciliation job run keeps in the ledger's job runs (``erpbridge status`` shows it)."""
    return {
        "verdict": result.verdict,
        "discrepancies": len(result.discrepancies),
        "threshold": result.threshold,
        "by_partner": dict(result.by_partner),
        "over_threshold": result.over_threshold,
        "checked": dict(result.checked),
        "notes": list(result.notes),
        "fixed": list(result.fixed),
    } | ({"error": result.error} if result.error else {})


def last_reconciliations(ledger: Ledger) -> dict[str, JobRun]:
    """The last run of each reconciliation job, by job name (``orders``, ...)."""
    return {
        name.removeprefix(JOB_PREFIX): run
        for name, run in ledger.last_job_runs().items()
        if name.startswith(JOB_PREFIX)
    }


def _sales_order(connector: Any, ep_type: str, po: str) -> str | None:
    if ep_type == "sap_odata":
        found: str | None = connector.find_sales_order(po)
        return found
    status = connector.sales_order_status(po_number=po)
    return str(status.id) if status is not None else None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _why(exc: ErpBridgeError) -> str:
    """How a remedy failed, in a word for the operator: worth another --fix later, or not."""
    return "transient: run the fix again later" if exc.transient else type(exc).__name__


def _sku_of(subject: str) -> tuple[str, str]:
    """``SKU A-1 at WH1`` -> (``A-1``, ``WH1``); the subject :func:`checks._sku` wrote."""
    text = subject.removeprefix("SKU ")
    sku, _, location = text.rpartition(" at ")
    return (sku, location) if sku else (text.removesuffix(" (all locations)"), "")


def publish(
    results: Sequence[JobResult],
    *,
    notify: Callable[[Notification], object] | None = None,
    remedies: Remedies | None = None,
) -> list[str]:
    """After a run: each job's discrepancies per partner to the ``reconciler_delta`` metric, and a
    notification (``reconciliation_delta``) per job and partner over its threshold, through
    ``notify``; returns one line per partner over its threshold."""
    lines: list[str] = []
    for result in results:
        for partner, n in result.by_partner.items():
            signals.set_reconciler_delta(result.job, partner, n)
        for partner, n in result.over_threshold.items():
            mine = [d for d in result.discrepancies if d.partner == partner]
            owners = sorted({d.owner.value for d in mine})
            command = (
                mine[0].remedy
                if len({d.remedy for d in mine}) == 1
                else (
                    remedies.check(result.job)
                    if remedies is not None
                    else f"erpbridge reconcile {result.job}"
                )
            )
            lines.append(
                f"reconcile {result.job}: {n} discrepancies for {partner} (threshold {result.threshold})"
            )
            if notify is not None:
                notify(
                    Notification.reconciliation_delta(
                        partner=partner,
                        check=result.job,
                        delta=n,
                        threshold=result.threshold,
                        command=command,
                        advice="the report lists each discrepancy with its owner and remedy: erpbridge reconcile "
                        f"{result.job} shows them again",
                        details={
                            "owners": ", ".join(owners),
                            "examples": "; ".join(f"{d.subject}: {d.check}" for d in mine[:5]),
                        },
                    )
                )
    return lines


def publish_last(ledger: Ledger) -> None:
    """The ``reconciler_delta`` metric from the last recorded run of each job (a daemon that starts
    shows what the last night found, not nothing)."""
    for job, run in last_reconciliations(ledger).items():
        for partner, n in (run.detail.get("by_partner") or {}).items():
            signals.set_reconciler_delta(job, str(partner), float(n))


__all__ = [
    "JOB_PREFIX",
    "Reconciler",
    "Reconciliation",
    "job_detail",
    "last_reconciliations",
    "publish",
    "publish_last",
]
