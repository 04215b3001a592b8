"""Catalog drift as the ``catalog`` reconciliation job, end to end against the NetSuite emulator
(seeded as in test_item_jobs): ``erpbridge reconcile catalog`` runs the ``[jobs]`` catalog_drift job
(recorded as ``job:catalog_drift`` too), finds exactly the seeded drift as discrepancies with owner,
action and remedy, writes them in the report, shows them in ``erpbridge status`` and sets
``erpbridge_catalog_drift``; once NetSuite and the WMS's export agree, a run finds none."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from erpbridge.catalog.jobs import job_name
from erpbridge.cli.main import main
from erpbridge.config import load_config
from erpbridge.ledger import Ledger, Owner
from erpbridge.observability.metrics import MetricsServer
from tests.catalog.test_item_jobs import WMS_EXPORT, emulator, secrets, site  # noqa: F401
from tests.netsuite.emulator import NetSuiteEmulator
from tests.observability.conftest import scrape, value


def test_reconcile_catalog_reports_the_drift_with_owner_and_remedy_and_none_once_fixed(
    tmp_path: Path,
    emulator: NetSuiteEmulator,  # noqa: F811
) -> None:
    erp = "ns-recon-" + tmp_path.name[-12:].replace("_", "-")  # this test's own gauge label
    config_file = site(tmp_path / "site", emulator, erp=erp)
    export = tmp_path / "site/var/wms/exports/items/ITEMS_20260316.csv"
    export.parent.mkdir(parents=True)
    export.write_bytes(WMS_EXPORT)
    config = load_config(config_file)
    cli = CliRunner()
    rerun = f"erpbridge job run items_to_wms --config {config_file}"
    check = f"erpbridge reconcile catalog --config {config_file}"
    with Ledger.open(config.ledger.reveal_url()) as ledger, MetricsServer("127.0.0.1", 0, ledger) as server:
        found = cli.invoke(main, ["reconcile", "catalog", "--config", str(config_file)])
        assert found.exit_code == 1, found.output  # over the default threshold of 0
        assert "catalog: over threshold, 4 discrepancies" in found.output
        run = ledger.last_job_runs()["reconcile:catalog"]
        got = {
            (d.partner, d.subject, d.check, tuple(sorted(d.sides.items())), d.owner, d.remedy)
            for d in ledger.discrepancies(run_id=run.id)
        }
        assert got == {
            (
                erp,
                "SKU NW-CAP-RED weight (lb)",
                "missing_in_wms",
                ((erp, "0.219"), ("wms", "none")),
                Owner.ERP,
                rerun,
            ),
            (
                erp,
                "SKU NW-JK-GRN-M HS code",
                "differs",
                ((erp, "6201933511"), ("wms", "6201933599")),
                Owner.ERP,
                rerun,
            ),
            (
                erp,
                "SKU NW-OLD-SKU",
                "sku_missing_in_erp",
                ((erp, "not listed"), ("wms", "listed")),
                Owner.WMS,
                check,
            ),
            (
                erp,
                "SKU NW-SK-WHT-3P weight (lb)",
                "differs",
                ((erp, "0.441"), ("wms", "0.469")),
                Owner.ERP,
                rerun,
            ),
        }
        socks = next(d for d in ledger.discrepancies(run_id=run.id) if d.subject.startswith("SKU NW-SK"))
        assert "fix the weight (lb) in" in socks.action and "(job items_to_wms)" in socks.action
        assert abs(socks.delta - 0.028) < 1e-9
        assert run.detail["checked"] == {erp: 6} and run.detail["by_partner"] == {erp: 4}
        # the catalog_drift job ran underneath, recorded as itself, and set the gauge
        [drift_run] = ledger.job_runs(job_name("catalog_drift"))
        assert drift_run.outcome == "ok" and drift_run.detail["drifted_skus"] == 4
        assert value(scrape(server.url), "erpbridge_catalog_drift", connector=erp) == 4
        # the report lists them; erpbridge status shows the job's open discrepancies
        csv_path = Path(found.output.strip().splitlines()[-1].strip())
        rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
        assert sorted(r["subject"] for r in rows if r["job"] == "catalog") == sorted(s for _, s, *_ in got)
        assert "<svg" in csv_path.with_suffix(".html").read_text(encoding="utf-8")
        status = cli.invoke(main, ["status", "--config", str(config_file)])
        section = status.output[status.output.index("last reconciliation") :]
        assert "catalog" in section and "over threshold" in section and f"{erp} 4" in section, status.output

        # NetSuite and the WMS's export fixed (as in test_item_jobs): a run finds none
        emulator.set_item(505, manufacturertariff="6201.93.3599")
        emulator.set_item(502, weight=7.5, weightunit=2)
        lines = WMS_EXPORT.decode().split("\r\n")
        lines[3] = "NW-CAP-RED,Cap,061414110020,EA,0.219,LB,,,,IN,,US"
        del lines[6]
        export.write_text("\r\n".join(lines), encoding="utf-8")
        clean = cli.invoke(main, ["reconcile", "catalog", "--config", str(config_file)])
        assert clean.exit_code == 0 and "catalog: clean, 0 discrepancies" in clean.output, clean.output
        run = ledger.last_job_runs()["reconcile:catalog"]
        assert ledger.discrepancies(run_id=run.id) == [] and run.detail["checked"] == {erp: 5}
        assert value(scrape(server.url), "erpbridge_catalog_drift", connector=erp) == 0


def test_reconcile_catalog_fails_when_the_drift_job_cannot_run(
    tmp_path: Path,
    emulator: NetSuiteEmulator,  # noqa: F811
) -> None:
    config_file = site(tmp_path / "site", emulator)
    (tmp_path / "site/var/wms/exports/items").mkdir(parents=True)  # no export in it
    Ledger.open(load_config(config_file).ledger.reveal_url()).close()  # the ledger exists
    done = CliRunner().invoke(main, ["reconcile", "catalog", "--config", str(config_file)])
    assert done.exit_code == 2, done.output
    assert "could not run: catalog_drift job catalog_drift:" in done.output
    assert "is not in exports/items" in done.output
