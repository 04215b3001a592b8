"""The ``catalog`` reconciliation job: catalog drift (weights, dimensions and HS codes of the ERP's
item master against the WMS's) as discrepancies with an owner, an action and a remedy.

The comparison is not made here: the primary is the ``[jobs.<name>]`` job of ``type =
"catalog_drift"`` (:func:`erpbridge.catalog.jobs.run_job`, which reads NetSuite and the WMS's item
export and calls :func:`erpbridge.catalog.drift.compare`). This job runs each configured
catalog_drift job through it, so each run is also recorded as ``job:<name>`` and sets
``erpbridge_catalog_drift`` exactly as the job's own cron does, then turns its drift into
discrepancies (:func:`drift_discrepancies`, pure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..errors import ErpBridgeError
from ..ledger import Discrepancy, Owner
from .checks import Remedies

if TYPE_CHECKING:
    from ..catalog import Drift
    from ..config import Config, ItemJob
    from ..ledger import Ledger

_FIELD_NAMES = {
    "weight_lb": "weight (lb)",
    "length_in": "length (in)",
    "width_in": "width (in)",
    "height_in": "height (in)",
    "hs_code": "HS code",
}


class CatalogDriftError(ErpBridgeError):
    """A catalog_drift job could not run (NetSuite did not answer, the WMS's export is missing)."""


def item_master_job(config: Config, drift_job: ItemJob) -> str | None:
    """The ``item_master`` job that sends ``drift_job``'s ERP items to the WMS (the same ERP, the
    same WMS endpoint first), whose run is the remedy for what the WMS lacks."""
    masters = [j for j in config.jobs.values() if j.type == "item_master" and j.erp == drift_job.erp]
    masters.sort(key=lambda j: (j.wms.endpoint != drift_job.wms.endpoint, j.name))
    return masters[0].name if masters else None


def drift_discrepancies(
    drift: Iterable[Drift], *, erp: str, item_master: str | None, remedies: Remedies
) -> list[Discrepancy]:
    """Each drift of ``erp``'s item master against the WMS's as a discrepancy. The ERP's item record
    is the master: its catalog team owns every drift but a SKU only the WMS has (the WMS team's).
    The remedy of what the ERP must fix or the WMS lacks is the ``item_master`` job's run (the ERP's
    items sent to the WMS again); without one, and for a WMS-only SKU, the check again."""
    again = remedies.job_run(item_master) if item_master else remedies.check("catalog")
    send = (
        f"then send the item master to the WMS again (job {item_master})"
        if item_master
        else f"then send the item master to the WMS again (no item_master job reads {erp}: configure one)"
    )
    out: list[Discrepancy] = []
    for d in drift:
        label = _FIELD_NAMES.get(d.field, d.field)
        owner, remedy = Owner.ERP, again
        if d.kind == "sku_missing_in_erp":
            subject, sides = f"SKU {d.sku}", {erp: "not listed", "wms": "listed"}
            owner, remedy = Owner.WMS, remedies.check("catalog")
            action = (
                f"{d.sku} is in the WMS's item master but not an active item in {erp}: the WMS team retires it, "
                f"or the ERP team creates (or reactivates) the item in {erp}"
            )
        elif d.kind == "sku_missing_in_wms":
            subject, sides = f"SKU {d.sku}", {erp: "listed", "wms": "not listed"}
            action = f"{d.sku} is an item in {erp} but not in the WMS's item master: {send}"
        else:
            subject = f"SKU {d.sku} {label}"
            sides = {erp: d.erp or "none", "wms": d.wms or "none"}
            if d.kind == "missing_in_wms":
                action = f"{erp} has the {label} of {d.sku} ({d.erp}), the WMS none: {send}"
            elif d.kind == "missing_in_erp":
                action = (
                    f"the WMS has the {label} of {d.sku} ({d.wms}), {erp}'s item record none: enter it in the "
                    f"item record in {erp}, {send}"
                )
            else:
                action = (
                    f"the {label} of {d.sku} is {d.erp} in {erp} and {d.wms} in the WMS: fix the {label} in "
                    f"{erp}'s item record (the ERP's is the master; if the WMS measured right, take its value), {send}"
                )
        out.append(
            Discrepancy(
                job="catalog",
                partner=erp,
                subject=subject,
                check=d.kind,
                sides=sides,
                owner=owner,
                action=action,
                remedy=remedy,
                delta=_delta(d.erp, d.wms),
            )
        )
    return out


def _delta(erp: str | None, wms: str | None) -> float:
    try:
        return float(abs(Decimal(erp or "") - Decimal(wms or "")))
    except (InvalidOperation, ValueError):
        return 1.0  # a code that differs, a value or SKU on one side only


def catalog_job(
    config: Config,
    ledger: Ledger,
    *,
    worker: str,
    checked: dict[str, int],
    notes: list[str],
    remedies: Remedies,
    connector: Callable[[str], Any] | None = None,
) -> list[Discrepancy]:
    """Run every ``catalog_drift`` job of ``config`` (enabled or not: ``enabled`` is about its own
    cron) through :func:`erpbridge.catalog.jobs.run_job` and return their drift as discrepancies;
    ``checked`` gets the SKUs compared per ERP endpoint. A job that fails raises
    :class:`CatalogDriftError` once the others have run (their runs are recorded as ``job:<name>``)."""
    from ..catalog.jobs import run_job

    jobs = [j for j in config.jobs.values() if j.type == "catalog_drift"]
    if not jobs:
        notes.append('no [jobs.<name>] with type = "catalog_drift": no item master to compare')
        return []
    found: list[Discrepancy] = []
    failed: list[str] = []
    for job in sorted(jobs, key=lambda j: j.name):
        result = run_job(
            config,
            ledger,
            job.name,
            worker=worker,
            connector=(lambda j: connector(j.erp)) if connector is not None else None,
        )
        if result.error is not None:
            failed.append(f"catalog_drift job {job.name}: {result.error}")
            continue
        d = result.detail
        only_in_wms = sum(1 for x in result.drift if x.kind == "sku_missing_in_erp")
        checked[job.erp] = checked.get(job.erp, 0) + int(d.get("erp_items", 0)) + only_in_wms
        notes.append(
            f"job {job.name}: {d.get('drifted_skus')} SKU(s) drifted, {d.get('erp_items')} item(s) in {job.erp}, "
            f"{d.get('wms_items')} in the WMS's {d.get('wms_file')}"
            + (f", {len(result.problems)} item(s) that could not be read" if result.problems else "")
        )
        found += drift_discrepancies(
            result.drift, erp=job.erp, item_master=item_master_job(config, job), remedies=remedies
        )
    if failed:
        raise CatalogDriftError("; ".join(failed))
    return found


__all__ = ["CatalogDriftError", "catalog_job", "drift_discrepancies", "item_master_job"]
