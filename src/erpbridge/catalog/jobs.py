"""The item master jobs of ``[jobs.<name>]``: run by the daemon on their cron (the process holding
the scheduler lock) or by hand (``erpbridge job run NAME``), each run recorded in the ledger's job
runs as ``job:<name>`` with what it did.

``item_master`` (:func:`item_master`): the ERP's active items (NetSuite SuiteQL, page by page)
become the WMS item file: converted to pounds and inches, sorted by SKU, written with the layout
(``item-master``) and put into the WMS's folder atomically (a temporary name, then a rename). When
the folder already holds the same bytes, nothing is written (``written: false``): the WMS does not
import an unchanged catalog again. Items the file cannot take (a weight in an unknown unit, a SKU
longer than the layout allows) are left out and listed in the run.

``catalog_drift`` (:func:`catalog_drift`): the ERP's items against the WMS's own item export (the
job's ``file``, or the newest file in the folder) read with its layout (``wms-items``), compared per
SKU by :func:`erpbridge.catalog.drift.compare`; the number of SKUs with drift is the
``erpbridge_catalog_drift`` gauge (labelled with the ERP endpoint) and the drift is in the run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from ..errors import ConfigError, ErpBridgeError, FlatFileError, InputError
from ..formats.flatfile import Layout, load_layout, read, write
from ..observability import signals
from .drift import Drift, Tolerance, compare, drifted_skus
from .items import (
    CatalogItem,
    DimensionFields,
    ItemProblem,
    convert_all,
    from_netsuite,
    from_wms,
    item_master_rows,
)

if TYPE_CHECKING:
    from ..config import Config, ItemJob
    from ..connectors.netsuite_rest import NetSuiteRestConnector
    from ..ledger import Ledger
    from ..transports import Transport

log = logging.getLogger(__name__)

#: At most this many problems and drift records are kept in a run's detail (the counts are whole).
DETAIL_LIMIT: Final = 1000


@dataclass
class JobResult:
    """What one run did: ``outcome`` ok or failed, the counts and findings (the ledger's detail)."""

    job: str
    type: str
    outcome: Literal["ok", "failed"] = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    problems: list[ItemProblem] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    error: str | None = None


def job_name(name: str) -> str:
    """The job run's name in the ledger."""
    return f"job:{name}"


def run_job(
    config: Config,
    ledger: Ledger,
    name: str,
    *,
    worker: str,
    connector: Callable[[ItemJob], NetSuiteRestConnector] | None = None,
    transport: Callable[[ItemJob], Transport] | None = None,
) -> JobResult:
    """Run ``[jobs.<name>]`` once, recorded in the ledger (``job:<name>``). An error reaching
    NetSuite or the WMS's folder ends the run ``failed`` with the error's message (no secrets:
    erpbridge's errors carry none) and is not raised."""
    job = config.jobs.get(name)
    if job is None:
        raise ConfigError(
            f"no job {name!r} in {config.source} ([jobs.<name>]: {', '.join(sorted(config.jobs)) or 'none'})"
        )
    make_connector = connector or _connector(config)
    make_transport = transport or _transport(config)
    run = ledger.start_job(job_name(name), worker, detail={"type": job.type})
    result = JobResult(name, job.type)
    try:
        with make_connector(job) as erp:
            if job.type == "item_master":
                item_master(job, erp, make_transport(job), result)
            else:
                catalog_drift(job, erp, make_transport(job), result)
    except ErpBridgeError as exc:
        result.outcome, result.error = "failed", str(exc)
        result.detail["error"] = str(exc)
        log.warning("job %s failed: %s", name, exc)
    result.detail["problem_count"] = len(result.problems)
    if result.problems:
        result.detail["problems"] = [vars(p) for p in result.problems[:DETAIL_LIMIT]]
    ledger.finish_job(run.id, result.outcome, detail=result.detail)
    return result


def _connector(config: Config) -> Callable[[ItemJob], NetSuiteRestConnector]:
    def make(job: ItemJob) -> NetSuiteRestConnector:
        from ..config import build_connector
        from ..connectors.netsuite_rest import NetSuiteRestConnector

        made = build_connector(config.endpoints[job.erp])
        assert isinstance(made, NetSuiteRestConnector)  # the configuration checked its type
        return made

    return make


def _transport(config: Config) -> Callable[[ItemJob], Transport]:
    def make(job: ItemJob) -> Transport:
        from ..config import build_transport

        return build_transport(config.endpoints[job.wms.endpoint])

    return make


def erp_items(job: ItemJob, erp: NetSuiteRestConnector) -> tuple[list[CatalogItem], list[ItemProblem]]:
    """The ERP's items of the job's types, converted (and the problems of those that could not be)."""
    dims = DimensionFields(*job.dimensions) if job.dimensions else None
    rows = erp.item_master(types=job.item_types, custom=dims.fields() if dims else ())
    return convert_all(rows, from_netsuite, dims)


def item_master(job: ItemJob, erp: NetSuiteRestConnector, transport: Transport, result: JobResult) -> None:
    """The ``item_master`` job (see the module)."""
    items, problems = erp_items(job, erp)
    layout = load_layout(job.layout)
    file = job.file or "items.txt"
    body, refused = render(layout, items, file=file)
    problems += refused
    folder = job.wms.folder
    with transport.session() as session:
        present = {f.name for f in session.list(folder)}
        same = file in present and session.fetch(folder, file) == body
        if not same:
            session.put(folder, file, body)
    result.problems = problems
    result.detail.update(
        {
            "items": len(items) - len(refused),
            "problem_count": len(problems),
            "without_weight": sum(1 for i in items if i.weight_lb is None),
            "file": f"{folder}/{file}" if folder else file,
            "written": not same,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
        }
    )
    log.info(
        "item master %s: %d items %s %s (%d problems)",
        job.name,
        result.detail["items"],
        "written to" if not same else "unchanged in",
        result.detail["file"],
        len(problems),
    )


def render(layout: Layout, items: Sequence[CatalogItem], *, file: str) -> tuple[bytes, list[ItemProblem]]:
    """The item file's bytes, and the items the layout refused (left out, each with the reason)."""
    description = next((c for c in layout.all_columns() if c.name == "description"), None)
    rows = item_master_rows(items, description_length=description.max_length if description else None)
    try:
        return write(layout, rows, file=file), []
    except FlatFileError:
        pass  # find which rows, one by one, and write the others
    good: list[dict[str, Any]] = []
    refused: list[ItemProblem] = []
    for row in rows:
        try:
            write(layout, [row], file=file)
        except FlatFileError as exc:
            refused.append(ItemProblem(str(row.get("sku")), "row", f"layout {layout.name} refuses it: {exc}"))
            continue
        good.append(row)
    return write(layout, good, file=file), refused


def catalog_drift(job: ItemJob, erp: NetSuiteRestConnector, transport: Transport, result: JobResult) -> None:
    """The ``catalog_drift`` job (see the module)."""
    items, problems = erp_items(job, erp)
    name, data = _wms_export(job, transport)
    wms, wms_problems = wms_items(load_layout(job.layout), data, file=name)
    tolerance = Tolerance(
        weight_lb=Decimal(str(job.weight_tolerance)),
        length_in=Decimal(str(job.dimension_tolerance)),
        pct=Decimal(str(job.tolerance_pct)),
    )
    drift = compare(items, wms, tolerance)
    count = drifted_skus(drift)
    signals.set_catalog_drift(job.erp, count)
    by_field: dict[str, int] = {}
    for d in drift:
        by_field[d.field] = by_field.get(d.field, 0) + 1
    result.problems = problems + [
        ItemProblem(p.sku, p.field, f"in the WMS's export {name}: {p.reason}") for p in wms_problems
    ]
    result.drift = drift
    result.detail.update(
        {
            "erp_items": len(items),
            "wms_items": len(wms),
            "wms_file": f"{job.wms.folder}/{name}" if job.wms.folder else name,
            "drifted_skus": count,
            "drift_count": len(drift),
            "by_field": dict(sorted(by_field.items())),
            "drift": [vars(d) for d in drift[:DETAIL_LIMIT]],
        }
    )
    log.info("catalog drift %s: %d SKUs drifted (%d differences)", job.name, count, len(drift))


def wms_items(layout: Layout, data: bytes, *, file: str) -> tuple[list[CatalogItem], list[ItemProblem]]:
    """The WMS's export read with its layout: the items, and the problems (rejected rows named
    file:row:column, values that cannot be converted)."""
    found = read(layout, data, file=file)
    items, problems = convert_all((r.values for r in found.rows), from_wms)
    for reject in found.rejects:
        problems.append(
            ItemProblem(f"row {reject.row}", reject.field or f"column {reject.column}", str(reject))
        )
    return items, problems


def _wms_export(job: ItemJob, transport: Transport) -> tuple[str, bytes]:
    with transport.session() as session:
        files = session.list(job.wms.folder)
        if job.file is not None:
            chosen = next((f for f in files if f.name == job.file), None)
        else:
            chosen = max(files, key=lambda f: (f.mtime, f.name), default=None)
        if chosen is None:
            raise InputError(
                f"the WMS's item export {job.file or '(any file)'} is not in {job.wms.folder or '.'} of "
                f"{transport.label}: export the item master from the WMS there, or set file in [jobs.{job.name}]",
                endpoint=job.wms.endpoint,
            )
        return chosen.name, session.fetch(job.wms.folder, chosen.name)


def last_drift(ledger: Ledger, config: Config) -> Mapping[str, int]:
    """The drifted SKU count of each catalog_drift job's last good run, by ERP endpoint."""
    out: dict[str, int] = {}
    for job in config.jobs.values():
        if job.type != "catalog_drift":
            continue
        for run in ledger.job_runs(job_name(job.name), limit=5):
            count = (run.detail or {}).get("drifted_skus")
            if run.outcome == "ok" and isinstance(count, int):
                out[job.erp] = out.get(job.erp, 0) + count
                break
    return out


def publish_last(ledger: Ledger, config: Config) -> None:
    """Set the ``catalog_drift`` gauge from the ledger's last runs (a restarted daemon shows last
    night's figure, not nothing)."""
    for erp, count in last_drift(ledger, config).items():
        signals.set_catalog_drift(erp, count)


__all__ = [
    "DETAIL_LIMIT",
    "JobResult",
    "catalog_drift",
    "item_master",
    "job_name",
    "last_drift",
    "publish_last",
    "render",
    "run_job",
    "wms_items",
]
