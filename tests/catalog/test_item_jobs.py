"""The item master jobs end to end: NetSuite (the emulator, over TBA) to the WMS item file in a
local folder and over SFTP, and catalog drift against a WMS item export, through the
configuration, ``erpbridge job run`` and the daemon's job, recorded in the ledger, the drift
scraped from ``/metrics``."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from erpbridge.catalog.jobs import job_name, run_job
from erpbridge.cli.main import main
from erpbridge.config import load_config
from erpbridge.formats.flatfile import load_layout, read
from erpbridge.ledger import Ledger
from erpbridge.observability.metrics import MetricsServer
from tests.conftest import ROOT
from tests.integration.sites import ERPBRIDGE, sftp_endpoint
from tests.netsuite.conftest import CONSUMER_KEY, CONSUMER_SECRET, TOKEN_ID, TOKEN_SECRET, make_emulator
from tests.netsuite.emulator import NetSuiteEmulator
from tests.observability.conftest import scrape, value
from tests.transports.conftest import Area, SshServer, area, sftp_root, ssh_keys, sshd  # noqa: F401

CONFIG = (
    ERPBRIDGE
    + """
[endpoints.{erp}]
type = "netsuite_rest"
account = "1234567_SB1"
url = "{rest_url}"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
page_size = 2                                   # three pages for five items
backoff = "10ms"
max_backoff = "50ms"
auth = {{ consumer_key = {{ env = "NS_CONSUMER_KEY" }}, consumer_secret = {{ env = "NS_CONSUMER_SECRET" }}, token_id = {{ env = "NS_TOKEN_ID" }}, token_secret = {{ env = "NS_TOKEN_SECRET" }} }}

[endpoints.wms]
type = "local"
root = "var/wms"
{sftp}
[jobs.items_to_wms]
type = "item_master"
erp = "{erp}"
wms = {{ endpoint = "{item_target}", folder = "{item_folder}" }}
cron = "0 3 * * *"
dimensions = {{ length = "custitem_length", width = "custitem_width", height = "custitem_height", unit = "cm" }}

[jobs.catalog_drift]
type = "catalog_drift"
erp = "{erp}"
wms = {{ endpoint = "wms", folder = "exports/items" }}
layout = "wms-items"
cron = "30 3 * * *"
weight_tolerance = 0.01
dimension_tolerance = 0.1
dimensions = {{ length = "custitem_length", width = "custitem_width", height = "custitem_height", unit = "cm" }}
"""
)

SFTP = sftp_endpoint("wms_sftp")

# (sku, upc, weight, weightunit, length, width, height cm, HS code, country); 504 is a service
ITEMS = [
    (501, "NW-TS-BLK-S", "061414110013", 0.45, 1, 30.48, 20.32, 2.54, "6109.10.0012", "CN"),
    (502, "NW-SK-WHT-3P", None, 200, 4, 20, 10, 3, "6115.95.9000", "PK"),
    (503, "NW-CAP-RED", "061414110020", 3.5, 2, None, None, None, None, "US"),
    (505, "NW-JK-GRN-M", "061414110037", 1.2, 3, 60, 40, 8, "6201.93.3511", "VN"),
    (506, "NW-BAG-TOTE", None, None, None, 45, 35, 2, "4202.22.8050", "IN"),
]

WMS_HEADER = "ITEM_NUMBER,DESCRIPTION,UPC,BASE_UOM,UNIT_WEIGHT,WEIGHT_UOM,LENGTH,WIDTH,HEIGHT,DIM_UOM,HTS_CODE,COUNTRY_OF_ORIGIN"
# The WMS's export, in its own units: the tee and the tote as NetSuite has them (12 x 8 x 1 in is
# 30.48 x 20.32 x 2.54 cm), socks weighing 7.5 oz (0.469 lb) instead of 200 g (0.441 lb), a cap
# without its weight, a jacket 0.004 lb off (within tolerance) with another HS code, and a SKU
# NetSuite does not have.
WMS_EXPORT = "\r\n".join(
    [
        WMS_HEADER,
        "NW-TS-BLK-S,Tee,061414110013,EA,0.45,LB,12,8,1,IN,6109100012,CN",
        "NW-SK-WHT-3P,Socks,,PK,7.5,OZ,200,100,30,MM,6115.95.9000,PK",
        "NW-CAP-RED,Cap,061414110020,EA,,LB,,,,IN,,US",
        "NW-JK-GRN-M,Jacket,061414110037,EA,2.65,LB,60,40,8,CM,6201.93.3599,VN",
        "NW-BAG-TOTE,Tote,,EA,,LB,17.72,13.78,0.79,IN,4202228050,IN",
        "NW-OLD-SKU,Discontinued,,EA,1,LB,1,1,1,IN,,",
        "",
    ]
).encode()


@pytest.fixture
def emulator() -> Iterator[NetSuiteEmulator]:
    emulator = make_emulator()  # items 501-503 exist: give them the item master's fields
    for item_id, sku, upc, weight, unit, length, width, height, hs, country in ITEMS:
        fields = {
            "weight": weight,
            "weightunit": unit,
            "custitem_length": length,
            "custitem_width": width,
            "custitem_height": height,
            "manufacturertariff": hs,
            "countryofmanufacture": country,
            "description": f"{sku} sales description",
        }
        if emulator.query("SELECT id FROM item WHERE id = ?", item_id):
            emulator.set_item(item_id, **fields)
        else:
            emulator.add_item(sku, upc=upc, item_id=item_id, **fields)
    emulator.add_item("SVC-GIFTWRAP", item_type="Service", item_id=504)
    emulator.add_item("NW-TS-OLD", item_id=507, inactive=True, weight=1, weightunit=1)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NS_CONSUMER_KEY", CONSUMER_KEY)
    monkeypatch.setenv("NS_CONSUMER_SECRET", CONSUMER_SECRET)
    monkeypatch.setenv("NS_TOKEN_ID", TOKEN_ID)
    monkeypatch.setenv("NS_TOKEN_SECRET", TOKEN_SECRET)


def site(
    root: Path,
    emulator: NetSuiteEmulator,
    *,
    erp: str = "netsuite",
    sftp: str = "",
    target: str = "wms",
    folder: str = "inbound/items",
) -> Path:
    (root / "var" / "wms" / "inbound" / "items").mkdir(parents=True)  # the WMS's folders exist
    (root / "config.toml").write_text(
        CONFIG.format(erp=erp, rest_url=emulator.url, sftp=sftp, item_target=target, item_folder=folder),
        encoding="utf-8",
    )
    return root / "config.toml"


def item_file_rows(data: bytes) -> list[dict[str, object]]:
    found = read(load_layout(ROOT / "mappings/wms/layouts/item-master.yaml"), data, file="items.txt")
    assert not found.rejects
    return [r.values for r in found.rows]


def suiteql_pages(emulator: NetSuiteEmulator) -> int:
    return sum(1 for method, path, status in emulator.log if path.endswith("/suiteql") and status == 200)


def test_the_item_master_job_writes_the_wms_item_file_once_from_paged_suiteql(
    tmp_path: Path, emulator: NetSuiteEmulator
) -> None:
    config = load_config(site(tmp_path / "site", emulator))
    target = tmp_path / "site/var/wms/inbound/items/items.txt"
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        first = run_job(config, ledger, "items_to_wms", worker="test:1")
        assert first.outcome == "ok", first.error
        assert suiteql_pages(emulator) == 3  # five active stocked items, two per page
        body = target.read_bytes()
        rows = item_file_rows(body)
        # sorted by SKU; weights in pounds (200 g = 0.441 lb, 1.2 kg = 2.646 lb, 3.5 oz = 0.219 lb),
        # centimetres in inches; no service, no inactive item; the HS code without dots
        assert [r["sku"] for r in rows] == [
            "NW-BAG-TOTE",
            "NW-CAP-RED",
            "NW-JK-GRN-M",
            "NW-SK-WHT-3P",
            "NW-TS-BLK-S",
        ]
        by_sku = {r["sku"]: r for r in rows}
        assert str(by_sku["NW-SK-WHT-3P"]["weight_lb"]) == "0.441"
        assert str(by_sku["NW-JK-GRN-M"]["weight_lb"]) == "2.646"
        assert str(by_sku["NW-CAP-RED"]["weight_lb"]) == "0.219"
        assert "weight_lb" not in by_sku["NW-BAG-TOTE"] or by_sku["NW-BAG-TOTE"]["weight_lb"] is None
        assert [str(by_sku["NW-TS-BLK-S"][k]) for k in ("length_in", "width_in", "height_in")] == [
            "12.00",
            "8.00",
            "1.00",
        ]
        assert by_sku["NW-TS-BLK-S"]["hs_code"] == "6109100012"
        assert by_sku["NW-TS-BLK-S"]["country_of_origin"] == "CN"
        assert by_sku["NW-TS-BLK-S"]["upc"] == "061414110013"
        assert by_sku["NW-TS-BLK-S"]["description"] == "NW-TS-BLK-S sales description"
        assert first.detail["items"] == 5 and first.detail["written"] is True
        assert first.detail["without_weight"] == 1
        mtime = target.stat().st_mtime_ns

        # the same catalog again: the same bytes, nothing written
        second = run_job(config, ledger, "items_to_wms", worker="test:1")
        assert second.outcome == "ok" and second.detail["written"] is False
        assert second.detail["sha256"] == first.detail["sha256"]
        assert target.read_bytes() == body and target.stat().st_mtime_ns == mtime

        # a change in NetSuite: written again, only that item differs
        emulator.set_item(501, weight=0.5)
        third = run_job(config, ledger, "items_to_wms", worker="test:1")
        assert third.detail["written"] is True
        changed = {r["sku"]: r for r in item_file_rows(target.read_bytes())}
        assert str(changed["NW-TS-BLK-S"]["weight_lb"]) == "0.500"
        runs = ledger.job_runs(job_name("items_to_wms"))
        assert [r.outcome for r in runs] == ["ok", "ok", "ok"]
        assert [r.detail["written"] for r in runs] == [True, False, True]
        assert not list(target.parent.glob(".*"))  # no temporary file left behind


EXPECTED = [
    ("NW-CAP-RED", "weight_lb", "missing_in_wms", "0.219", None),
    ("NW-JK-GRN-M", "hs_code", "differs", "6201933511", "6201933599"),
    ("NW-OLD-SKU", "sku", "sku_missing_in_erp", None, "NW-OLD-SKU"),
    ("NW-SK-WHT-3P", "weight_lb", "differs", "0.441", "0.469"),
]


def test_catalog_drift_finds_exactly_the_seeded_differences_and_none_once_fixed(
    tmp_path: Path, emulator: NetSuiteEmulator
) -> None:
    erp = "ns-drift-" + tmp_path.name[-12:].replace("_", "-")  # this test's own gauge label
    config_file = site(tmp_path / "site", emulator, erp=erp)
    export = tmp_path / "site/var/wms/exports/items/ITEMS_20260316.csv"
    export.parent.mkdir(parents=True)
    export.write_bytes(WMS_EXPORT)
    config = load_config(config_file)
    with Ledger.open(config.ledger.reveal_url()) as ledger, MetricsServer("127.0.0.1", 0, ledger) as server:
        cli = CliRunner()
        found = cli.invoke(main, ["job", "run", "catalog_drift", "--config", str(config_file)])
        assert found.exit_code == 1, found.output  # drift found
        assert (
            "4 SKUs drifted (5 in the ERP, 6 in the WMS's exports/items/ITEMS_20260316.csv)" in found.output
        )
        assert "NW-JK-GRN-M: hs_code ERP 6201933511, WMS 6201933599" in found.output
        run = ledger.job_runs(job_name("catalog_drift"))[0]
        assert run.outcome == "ok" and run.detail["drifted_skus"] == 4
        assert [
            (d["sku"], d["field"], d["kind"], d["erp"], d["wms"]) for d in run.detail["drift"]
        ] == EXPECTED
        assert run.detail["by_field"] == {"hs_code": 1, "sku": 1, "weight_lb": 2}
        assert value(scrape(server.url), "erpbridge_catalog_drift", connector=erp) == 4

        # NetSuite fixed (the jacket's HS code, the socks' weight: 7.5 oz), the WMS's export too
        # (the cap's weight imported from the item file, the old SKU deleted): no drift
        emulator.set_item(505, manufacturertariff="6201.93.3599")
        emulator.set_item(502, weight=7.5, weightunit=2)
        lines = WMS_EXPORT.decode().split("\r\n")
        lines[3] = "NW-CAP-RED,Cap,061414110020,EA,0.219,LB,,,,IN,,US"
        del lines[6]
        export.write_text("\r\n".join(lines), encoding="utf-8")
        clean = cli.invoke(main, ["job", "run", "catalog_drift", "--config", str(config_file), "--json"])
        assert clean.exit_code == 0, clean.output
        run = ledger.job_runs(job_name("catalog_drift"))[0]
        assert run.detail["drifted_skus"] == 0 and run.detail["drift"] == []
        assert value(scrape(server.url), "erpbridge_catalog_drift", connector=erp) == 0


def test_a_missing_wms_export_fails_the_run_and_says_where_to_put_it(
    tmp_path: Path, emulator: NetSuiteEmulator
) -> None:
    config = load_config(site(tmp_path / "site", emulator))
    (tmp_path / "site/var/wms/exports/items").mkdir(parents=True)  # the folder, but no export in it
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        result = run_job(config, ledger, "catalog_drift", worker="test:1")
        assert result.outcome == "failed"
        assert "is not in exports/items" in (result.error or "")
        assert ledger.job_runs(job_name("catalog_drift"))[0].outcome == "failed"


def test_the_item_file_goes_over_sftp_atomically(
    tmp_path: Path,
    emulator: NetSuiteEmulator,
    sshd: SshServer,  # noqa: F811
    area: Area,  # noqa: F811
) -> None:
    sftp = SFTP.format(
        port=sshd.port,
        user=getpass.getuser(),
        known_hosts=sshd.known_hosts("known_hosts"),
        private_key=sshd.keys.client,
    )
    folder = f"{area.prefix}/items"
    (area.disk / "items").mkdir()
    config = load_config(site(tmp_path / "site", emulator, sftp=sftp, target="wms_sftp", folder=folder))
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        done = run_job(config, ledger, "items_to_wms", worker="test:1")
        assert done.outcome == "ok", done.error
        on_server = area.disk / "items" / "items.txt"
        assert len(item_file_rows(on_server.read_bytes())) == 5
        again = run_job(config, ledger, "items_to_wms", worker="test:1")
        assert again.detail["written"] is False
        assert sorted(p.name for p in on_server.parent.iterdir()) == ["items.txt"]


def test_the_daemon_schedules_the_jobs_on_the_leader_and_publishes_the_last_drift(
    tmp_path: Path, emulator: NetSuiteEmulator
) -> None:
    from erpbridge.observability.signals import SIGNALS
    from erpbridge.pipeline import Runner
    from erpbridge.scheduler import Daemon

    erp = "ns-daemon-" + tmp_path.name[-10:].replace("_", "-")
    config_file = site(tmp_path / "site", emulator, erp=erp)
    export = tmp_path / "site/var/wms/exports/items/ITEMS.csv"
    export.parent.mkdir(parents=True)
    export.write_bytes(WMS_EXPORT)
    config = load_config(config_file)
    with Ledger.open(config.ledger.reveal_url()) as ledger:
        daemon = Daemon(
            config, ledger, Runner(config, ledger, mappings_root=ROOT / "mappings", worker="host:1")
        )
        jobs = {j.name: j for j in daemon.jobs()}
        assert jobs["job:items_to_wms"].leader_only and jobs["job:catalog_drift"].leader_only
        jobs["job:items_to_wms"].run()
        jobs["job:catalog_drift"].run()
        assert (tmp_path / "site/var/wms/inbound/items/items.txt").is_file()
        assert [r.worker for r in ledger.job_runs(job_name("catalog_drift"))] == ["host:1"]
        SIGNALS.set_catalog_drift(erp, -1)  # a restarted daemon: the figure comes from the ledger
        Daemon(config, ledger, Runner(config, ledger, mappings_root=ROOT / "mappings", worker="host:2"))
        assert SIGNALS.snapshot().catalog_drift[erp] == 4
    listed = CliRunner().invoke(main, ["job", "list", "--config", str(config_file)])
    assert listed.exit_code == 0, listed.output
    assert "items_to_wms" in listed.output and "0 3 * * *" in listed.output and "ok" in listed.output
