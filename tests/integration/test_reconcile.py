"""The nightly reconciliation end to end against the ERP peers: SAP's OData mock server (stock of plant
1720) and the NetSuite emulator (on-hand of location 1, sales orders), with the flows' real runs on a
SQLite ledger (partners on local folders).

A WMS snapshot that disagrees with both ERPs is dropped and sent as 846s; a second partner's last 846
is from an older snapshot. ``erpbridge reconcile`` finds exactly the seeded differences (and nothing
else), records them in the ledger, writes the report, and exits 1; ``--fix`` posts the NetSuite
adjustment and sends the 846 again, after which a run finds only what erpbridge cannot post (SAP's,
owned by the ERP team). A PO that NetSuite lost is found and replayed; the 846s nobody acknowledged
are found by the acks check once the partner's window has passed; the metrics endpoint shows the
reconciler's delta.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from erpbridge.cli.main import main as cli
from erpbridge.config import load_config
from erpbridge.connectors.sap_odata import STOCK_SERVICE
from erpbridge.ledger import Direction, Ledger, Owner, State
from erpbridge.observability.metrics import MetricsServer
from erpbridge.pipeline import Runner
from erpbridge.pipeline.replay import redeliver
from erpbridge.reconcile.jobs import Reconciler, publish
from tests.conftest import ROOT
from tests.integration.sites import S4_ODATA, WMS_FOLDER
from tests.integration.test_netsuite_flows import fulfillments, sales_orders, shipment_for, skus_of_the_850
from tests.integration.test_sftp_flow import po_number_of, purchase_order
from tests.netsuite.conftest import CONSUMER_KEY, CONSUMER_SECRET, TOKEN_ID, TOKEN_SECRET, make_emulator
from tests.netsuite.emulator import NetSuiteEmulator
from tests.observability.conftest import scrape, value
from tests.sap.conftest import PASSWORD, USER, SapServer, sap_client, sap_server  # noqa: F401

CONFIG = (
    """[erpbridge]
isa_qualifier = "ZZ"
isa_id = "NWOUTFITTERS"

[ledger]
url = "sqlite:///var/ledger.sqlite3"

[partners.megamart]
isa_qualifier = "ZZ"
isa_id = "MEGAMART"
version = "004010"
ack = "997"
ack_window = "4h"
endpoint = "megamart"

[partners.acme]
isa_qualifier = "ZZ"
isa_id = "ACMEHW"
version = "004010"
ack = "997"
ack_window = "4h"
endpoint = "acme"

[endpoints.megamart]
type = "local"
root = "var/partners/megamart"

[endpoints.acme]
type = "local"
root = "var/partners/acme"
"""
    + WMS_FOLDER
    + S4_ODATA
    + """
[endpoints.netsuite]
type = "netsuite_rest"
account = "1234567_SB1"
url = "{rest_url}"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
max_attempts = 2
backoff = "10ms"
max_backoff = "50ms"
connect_timeout = "5s"
timeout = "10s"
auth = {{ consumer_key = {{ env = "NS_CONSUMER_KEY" }}, consumer_secret = {{ env = "NS_CONSUMER_SECRET" }}, token_id = {{ env = "NS_TOKEN_ID" }}, token_secret = {{ env = "NS_TOKEN_SECRET" }} }}

[flows.megamart_orders_in]
direction = "in"
partner = "megamart"
source = {{ folder = "inbound", archive = "archive" }}
target = {{ endpoint = "netsuite" }}
acks = {{ folder = "outbound" }}
documents = ["x12/850", "x12/997"]
every = "1m"

[flows.megamart_inventory_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/inventory", archive = "archive/inventory" }}
target = {{ folder = "outbound" }}
documents = {{ InventoryAdvice = "x12/846" }}
csv_mapping = "mappings/wms/inventory-csv-to-inventory-advice.yaml"
every = "1m"

[flows.acme_inventory_out]
direction = "out"
partner = "acme"
enabled = {acme}
source = {{ endpoint = "wms", folder = "outbound/inventory-acme", archive = "archive/inventory-acme" }}
target = {{ folder = "outbound" }}
documents = {{ InventoryAdvice = "x12/846" }}
csv_mapping = "mappings/wms/inventory-csv-to-inventory-advice.yaml"
every = "1m"

[flows.megamart_asn_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/ship-notices", archive = "archive/ship-notices" }}
target = {{ folder = "outbound" }}
documents = {{ ShipNotice = "x12/856" }}
also_deliver = [{{ endpoint = "netsuite" }}]
every = "1m"

[reconcile]
report = "var/reports"
grace = "1m"

[reconcile.inventory]
threshold = 0

[reconcile.inventory.erp.s4]
locations = {{ "BRL-LOU1" = "1720" }}

[reconcile.inventory.erp.netsuite]
locations = {{ "BRL-RNO2" = "1" }}
adjustment_account = "58"
"""
)

HEADER = ["warehouse", "snapshot_at", "sku", "upc", "description", "on_hand", "allocated", "available", "uom"]


def upc(n: int) -> str:
    """A UPC-A with its check digit (the WMS mapping checks it)."""
    body = f"0614141{n:04d}"
    odd = sum(int(c) for c in body[0::2])
    even = sum(int(c) for c in body[1::2])
    return body + str((10 - (3 * odd + even) % 10) % 10)


def snapshot(stock: dict[str, dict[str, Decimal]], at: str) -> str:
    """A WMS CSV export of ``stock`` (warehouse -> SKU -> on hand)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for warehouse, items in stock.items():
        for sku, qty in items.items():
            writer.writerow([warehouse, at, sku, upc(sum(map(ord, sku))), sku, qty, 0, qty, "EA"])
    return out.getvalue()


class Site:
    def __init__(self, root: Path, sap: SapServer, client: str, emulator: NetSuiteEmulator) -> None:
        self.root, self.sap, self.client, self.emulator = root, sap, client, emulator
        (root / "var" / "wms" / "outbound" / "inventory").mkdir(parents=True)
        (root / "var" / "wms" / "outbound" / "inventory-acme").mkdir(parents=True)
        (root / "var" / "wms" / "outbound" / "ship-notices").mkdir(parents=True)
        (root / "var" / "partners" / "megamart" / "inbound").mkdir(parents=True)
        self.write_config(acme=True)

    def write_config(self, *, acme: bool) -> None:
        text = CONFIG.format(
            odata_url=self.sap.url,
            sap_client=self.client,
            sap_user=USER,
            rest_url=self.emulator.url,
            acme="true" if acme else "false",
        )
        (self.root / "config.toml").write_text(text, encoding="utf-8")

    def drop(self, stock: dict[str, dict[str, Decimal]], at: str, *, acme: bool) -> None:
        text = snapshot(stock, at)
        stamp = at.replace(":", "").replace("-", "")
        (self.root / "var/wms/outbound/inventory" / f"STOCK_{stamp}.csv").write_text(text, encoding="utf-8")
        if acme:
            (self.root / "var/wms/outbound/inventory-acme" / f"STOCK_{stamp}.csv").write_text(
                text, encoding="utf-8"
            )

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, [*args, "--config", str(self.root / "config.toml")])
        return result.exit_code, result.output + (
            repr(result.exception)
            if result.exception and not isinstance(result.exception, SystemExit)
            else ""
        )

    def reconciler(self, now: datetime | None = None) -> tuple[Reconciler, Ledger]:
        config = load_config(self.root / "config.toml")
        ledger = Ledger.open(config.ledger.reveal_url())
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test:1", settle=True)
        return Reconciler(
            config, ledger, runner, now=(lambda: now) if now else lambda: datetime.now(UTC)
        ), ledger


@pytest.fixture
def emulator() -> Iterator[NetSuiteEmulator]:
    emulator = make_emulator()
    for sku, _ in skus_of_the_850():  # so that the 850's sales order can be made
        if not emulator.query("SELECT id FROM item WHERE itemid = ?", sku):
            emulator.add_item(sku)
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
    monkeypatch.setenv("S4_TEST_PASSWORD", PASSWORD)


@pytest.fixture
def site(
    tmp_path: Path,
    sap_server: SapServer,  # noqa: F811
    sap_client: str,  # noqa: F811
    emulator: NetSuiteEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Site:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    return Site(tmp_path, sap_server, sap_client, emulator)


def sap_stock(site: Site, plant: str) -> dict[str, Decimal]:
    """SAP's unrestricted stock per material in ``plant``, read with plain requests (not erpbridge)."""
    rows = site.sap.get(
        STOCK_SERVICE, "A_MatlStkInAcctMod", site.client, **{"$filter": f"Plant eq '{plant}'"}
    )
    out: dict[str, Decimal] = {}
    for row in rows["results"]:
        if row["InventoryStockType"] == "01":
            out[row["Material"]] = out.get(row["Material"], Decimal(0)) + Decimal(
                row["MatlWrhsStkQtyInMatlBaseUnit"]
            )
    return out


def netsuite_on_hand(emulator: NetSuiteEmulator, location: int) -> dict[str, Decimal]:
    rows = emulator.query(
        "SELECT i.itemid, l.quantityonhand FROM inventoryitemlocations l JOIN item i ON i.id = l.item "
        "WHERE l.location = ?",
        location,
    )
    return {sku: Decimal(str(q)) for sku, q in rows}


def found_by(ledger: Ledger, run_id: int | None) -> set[tuple[str, str, str, tuple[tuple[str, str], ...]]]:
    return {
        (d.partner, d.subject, d.check, tuple(sorted(d.sides.items())))
        for d in ledger.discrepancies(run_id=run_id)
    }


def test_inventory_differences_are_found_exactly_and_the_remedies_fix_them(site: Site) -> None:
    sap = sap_stock(site, "1720")
    ns = netsuite_on_hand(site.emulator, 1)
    assert sap and ns  # the peers' seeds: five materials in plant 1720, two items at location 1
    # the WMS's truth: SAP's and NetSuite's stock with seeded differences
    lou = dict(sap)
    first, second = sorted(lou)[:2]
    lou[first] += 5  # SAP shows 5 fewer
    del lou[second]  # the WMS has none of it any more: SAP still shows some
    lou["NW-JG-GRY-M"] = Decimal(3)  # SAP has none of it in plant 1720
    rno = dict(ns)
    rno["NW-SK-WHT-3P"] = ns["NW-SK-WHT-3P"] - 4  # NetSuite shows 4 more
    rno["NW-CAP-RED"] = Decimal(12)  # NetSuite lists none at location 1
    older = {"BRL-LOU1": dict(lou), "BRL-RNO2": dict(rno)}
    older["BRL-RNO2"]["NW-TS-BLK-S"] = rno["NW-TS-BLK-S"] + 7  # what ACME was told before

    site.drop(older, "2026-03-15T06:00:00", acme=True)
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out
    site.write_config(acme=False)  # ACME's 846 flow is off while the WMS sends the new snapshot
    site.drop({"BRL-LOU1": lou, "BRL-RNO2": rno}, "2026-03-16T06:00:00", acme=False)
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out

    code, out = site.cli("reconcile", "inventory")
    assert code == 1, out  # over the threshold of 0
    report = out.strip().splitlines()
    html = Path(next(line for line in report if line.startswith("report: ")).removeprefix("report: "))
    assert html.is_file() and html.suffix == ".html" and html.parent == site.root / "var" / "reports"
    _, ledger = site.reconciler()
    with ledger:
        run = ledger.last_job_runs()["reconcile:inventory"]
        got = found_by(ledger, run.id)
        q = lambda v: str(v).rstrip("0").rstrip(".") if "." in str(v) else str(v)  # noqa: E731
        assert got == {
            (
                "s4",
                f"SKU {first} at BRL-LOU1",
                "erp_on_hand",
                (("s4", q(sap[first])), ("wms", q(lou[first]))),
            ),
            (
                "s4",
                f"SKU {second} at BRL-LOU1",
                "erp_on_hand",
                (("s4", q(sap[second])), ("wms", "not listed")),
            ),
            ("s4", "SKU NW-JG-GRY-M at BRL-LOU1", "erp_on_hand", (("s4", "not listed"), ("wms", "3"))),
            (
                "netsuite",
                "SKU NW-SK-WHT-3P at BRL-RNO2",
                "erp_on_hand",
                (("netsuite", q(ns["NW-SK-WHT-3P"])), ("wms", q(rno["NW-SK-WHT-3P"]))),
            ),
            (
                "netsuite",
                "SKU NW-CAP-RED at BRL-RNO2",
                "erp_on_hand",
                (("netsuite", "not listed"), ("wms", "12")),
            ),
            (
                "acme",
                "SKU NW-TS-BLK-S at BRL-RNO2",
                "846_on_hand",
                (("846", q(rno["NW-TS-BLK-S"] + 7)), ("wms", q(rno["NW-TS-BLK-S"]))),
            ),
        }
        owners = {d.partner: d.owner for d in ledger.discrepancies(run_id=run.id)}
        assert owners == {"s4": Owner.ERP, "netsuite": Owner.ERPBRIDGE, "acme": Owner.ERPBRIDGE}
    # the CSV lists the same rows; the page is self-contained
    rows = list(csv.DictReader(io.StringIO(html.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert {(r["partner"], r["subject"]) for r in rows} == {(p, s) for p, s, *_ in got}
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page and "src=" not in page

    # the remedies: one NetSuite adjustment, the 846 to ACME again; then only SAP's are left
    code, out = site.cli("reconcile", "inventory", "--fix")
    assert code == 1, out
    assert (
        "fixed: netsuite: inventory adjustment" in out
        and "fixed: acme: the WMS's snapshot sent again as 2 846(s)" in out
    )
    after = netsuite_on_hand(site.emulator, 1)
    assert after["NW-SK-WHT-3P"] == rno["NW-SK-WHT-3P"] and after["NW-CAP-RED"] == 12
    assert after["NW-TS-BLK-S"] == ns["NW-TS-BLK-S"]  # untouched
    with ledger.__class__.open(load_config(site.root / "config.toml").ledger.reveal_url()) as ledger:
        run = ledger.job_runs("reconcile:inventory", limit=1)[0]
        assert {(p, c) for p, _, c, _ in found_by(ledger, run.id)} == {("s4", "erp_on_hand")}
        assert len(ledger.discrepancies(run_id=run.id)) == 3
        assert run.detail["fixed"] and run.detail["by_partner"] == {
            "s4": 3,
            "netsuite": 0,
            "acme": 0,
            "megamart": 0,
        }
        acme_846s = ledger.find(partner="acme", kind="x12/846", direction=Direction.OUT)
        assert len(acme_846s) == 4  # two locations, sent twice: the old snapshot, then the fix
    # a second fix posts nothing again
    code, out = site.cli("reconcile", "inventory", "--fix")
    assert code == 1 and "netsuite: inventory adjustment" not in out, out
    assert netsuite_on_hand(site.emulator, 1) == after

    # erpbridge status shows the last reconciliation
    code, out = site.cli("status")
    assert code == 0, out
    section = out[out.index("last reconciliation") :]
    assert "inventory" in section and "over threshold" in section and "s4 3" in section


def test_a_lost_po_is_found_and_replayed_and_a_missing_997_is_found(site: Site) -> None:
    inbound = site.root / "var" / "partners" / "megamart" / "inbound"
    for n in (1, 2):
        (inbound / f"po-{n}.edi").write_bytes(purchase_order(n))
    site.drop({"BRL-RNO2": {"NW-TS-BLK-S": Decimal(100)}}, "2026-03-16T06:00:00", acme=False)
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out
    # within [reconcile] grace (1m) the POs are still in flight: not judged
    code, out = site.cli("reconcile", "orders")
    assert code == 0 and "orders: clean" in out, out
    soon = datetime.now(UTC) + timedelta(minutes=2)  # the grace has passed: both are in NetSuite
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        result = reconciler.run_job("orders")
        assert result.verdict == "clean" and result.checked == {"megamart": 2}, result

    # NetSuite loses the sales order of PO 2
    lost = po_number_of(2)

    def lose() -> None:
        [(order,)] = site.emulator.query(
            "SELECT id FROM [transaction] WHERE type = 'SalesOrd' AND otherrefnum = ?", lost
        )
        site.emulator.db.execute("DELETE FROM transactionline WHERE [transaction] = ?", (order,))
        site.emulator.db.execute("DELETE FROM [transaction] WHERE id = ?", (order,))
        site.emulator.db.execute("DELETE FROM _record WHERE type = 'salesorder' AND id = ?", (order,))

    lose()
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        [original] = [d for d in ledger.find(direction=Direction.IN, kind="x12") if d.file_name == "po-2.edi"]
        result = reconciler.run_job("orders")
        assert [(d.subject, d.check, d.owner, d.document_id) for d in result.discrepancies] == [
            (f"PO {lost}", "not_in_erp", Owner.ERPBRIDGE, original.id)
        ]
        # the remedy's replay key is the run's own
        first_key = f"reconcile-{result.run_id}"
        assert result.discrepancies[0].remedy.startswith(f"erpbridge replay {original.id} --key {first_key} ")
        # the remedy (what erpbridge reconcile orders --fix runs): a replay, then a clean run
        done = reconciler.run(["orders"], fix=True)
        [fixed] = done.results
        assert fixed.verdict == "clean" and fixed.fixed[0].startswith(f"{original.id}: replayed as"), fixed
        again = reconciler.run(["orders"], fix=True)  # nothing left to replay
        assert again.results[0].verdict == "clean" and again.results[0].fixed == ()
        [fix_run] = [r for r in ledger.job_runs("reconcile:orders", limit=10) if r.detail.get("fixed")]
    orders = site.emulator.query(
        "SELECT id FROM [transaction] WHERE type = 'SalesOrd' AND otherrefnum = ?", lost
    )
    assert len(orders) == 1
    # the fix's run's remedy again, by hand: the same key, nothing posted
    [fix_line] = fix_run.detail["fixed"]
    fix_key = fix_line.rpartition("(key ")[2].rstrip(")")  # the run whose discrepancies --fix applied
    assert fix_key == f"reconcile-{fix_run.id - 1}"
    code, out = site.cli("replay", original.id, "--key", fix_key)
    assert code == 0 and f"already replayed with key {fix_key!r}" in out, (out, fix_line)
    assert len(site.emulator.query("SELECT id FROM [transaction] WHERE otherrefnum = ?", lost)) == 1

    # NetSuite loses it a second time: a later run's --fix posts it again (its own key)
    lose()
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        done = reconciler.run(["orders"], fix=True)
        [fixed] = done.results
        assert fixed.verdict == "clean" and fixed.fixed[0].startswith(f"{original.id}: replayed as"), fixed
        assert "replayed before" not in fixed.fixed[0]
        replays = [lk for lk in ledger.links(original.id) if str(lk.relation) == "replays"]
        assert len(replays) == 2  # one per run that fixed it
    assert len(site.emulator.query("SELECT id FROM [transaction] WHERE otherrefnum = ?", lost)) == 1

    # the 846 went out; no 997 came back: within the window nothing, after it the acks check finds it
    with ledger.__class__.open(load_config(site.root / "config.toml").ledger.reveal_url()) as ledger:
        [sent] = ledger.find(direction=Direction.OUT, kind="x12/846")
        assert sent.state == State.SENT
    reconciler, ledger = site.reconciler(now=datetime.now(UTC) + timedelta(hours=3))
    with ledger:
        assert reconciler.run_job("acks").discrepancies == []
    later = datetime.now(UTC) + timedelta(hours=5)
    reconciler, ledger = site.reconciler(now=later)
    with ledger:
        result = reconciler.run_job("acks")
        assert [(d.partner, d.check, d.owner, d.document_id) for d in result.discrepancies] == [
            ("megamart", "no_997", Owner.PARTNER, sent.id)
        ]
        assert result.discrepancies[0].remedy == (
            f"erpbridge replay {sent.id} --key reconcile-{result.run_id} --config {site.root / 'config.toml'}"
        )
        # the metrics endpoint (the process's signals, as the daemon serves them) shows the delta
        lines = publish([result], notify=None)
        assert lines == ["reconcile acks: 1 discrepancies for megamart (threshold 0)"]
        with MetricsServer("127.0.0.1", 0, ledger, process_metrics=False) as server:
            samples = scrape(server.url)
        assert value(samples, "erpbridge_reconciler_delta", job="acks", partner="megamart") == 1.0


def delete_fulfillment(emulator: NetSuiteEmulator, fulfillment: int, order: int) -> None:
    """Someone deletes an item fulfillment in NetSuite: its lines go, the order is open again."""
    for line, qty in emulator.query(
        "SELECT orderline, quantity FROM transactionline WHERE [transaction] = ?", fulfillment
    ):
        emulator.db.execute(
            "UPDATE transactionline SET quantityshiprecv = quantityshiprecv - ? "
            "WHERE [transaction] = ? AND linesequencenumber = ?",
            (qty, order, line),
        )
    emulator.db.execute("UPDATE [transaction] SET status = 'B' WHERE id = ?", (order,))
    emulator.db.execute("DELETE FROM transactionline WHERE [transaction] = ?", (fulfillment,))
    emulator.db.execute("DELETE FROM [transaction] WHERE id = ?", (fulfillment,))
    emulator.db.execute("DELETE FROM _record WHERE type = 'itemfulfillment' AND id = ?", (fulfillment,))


def test_a_deleted_item_fulfillment_is_found_and_delivered_again_once_without_a_second_856(
    site: Site,
) -> None:
    (site.root / "var/partners/megamart/inbound/po-3.edi").write_bytes(purchase_order(3))
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out
    notice = shipment_for(3)
    (site.root / "var/wms/outbound/ship-notices/asn-3.json").write_text(json.dumps(notice), encoding="utf-8")
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out
    [(order, _, _)] = sales_orders(site.emulator, po_number_of(3))
    [(made, external, _)] = fulfillments(site.emulator, order)
    outbound = site.root / "var/partners/megamart/outbound"

    def asns() -> list[Path]:
        return [f for f in outbound.iterdir() if f"BSN*00*{notice['shipment_id']}*" in f.read_text()]

    assert len(asns()) == 1
    soon = datetime.now(UTC) + timedelta(minutes=2)
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        result = reconciler.run_job("shipments")
        assert result.verdict == "clean" and result.checked == {"megamart": 1}, result

    delete_fulfillment(site.emulator, made, order)
    assert fulfillments(site.emulator, order) == []
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        [asn] = ledger.find(direction=Direction.OUT, kind="x12/856")
        result = reconciler.run_job("shipments")
        assert [(d.subject, d.check, d.owner, d.document_id) for d in result.discrepancies] == [
            (f"shipment {notice['shipment_id']}", "no_fulfillment", Owner.ERPBRIDGE, asn.id)
        ]
        [found] = result.discrepancies
        assert found.sides["netsuite"] == f"item fulfillment {made} not in netsuite (deleted?)"
        assert found.remedy == f"erpbridge reconcile shipments --fix --config {site.root / 'config.toml'}"
        # the remedy: the 856 mapped back to its ShipNotice, delivered to NetSuite again; a clean run
        done = reconciler.run(["shipments"], fix=True)
        [fixed] = done.results
        assert fixed.verdict == "clean", fixed
        assert fixed.fixed[0].startswith(f"shipment {notice['shipment_id']}: delivered again to netsuite")
        again = reconciler.run(["shipments"], fix=True)  # nothing left to deliver
        assert again.results[0].verdict == "clean" and again.results[0].fixed == ()
        # the same remedy with the same key again: nothing done
        key = fixed.fixed[0].rpartition("key ")[2].partition(")")[0]
        assert fixed.run_id is not None and key == f"reconcile-{fixed.run_id - 1}"  # the run it fixed
        repeat = redeliver(reconciler.runner, asn.id, key=key)
        assert not repeat.created
        assert [d.id for d in ledger.find(direction=Direction.OUT, kind="x12/856")] == [asn.id]
    # NetSuite: one fulfillment again, under the same external ID; the partner: still one 856
    [(remade, external_again, status)] = fulfillments(site.emulator, order)
    assert remade != made and external_again == external and status == "C"
    assert site.emulator.query("SELECT status FROM [transaction] WHERE id = ?", order) == [("F",)]
    assert len(asns()) == 1


def test_a_remedy_that_fails_is_reported_and_the_other_jobs_still_run(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import erpbridge.reconcile.jobs as jobs
    from erpbridge.errors import TransportError

    inbound = site.root / "var" / "partners" / "megamart" / "inbound"
    (inbound / "po-1.edi").write_bytes(purchase_order(1))
    site.drop({"BRL-RNO2": {"NW-TS-BLK-S": Decimal(100)}}, "2026-03-16T06:00:00", acme=False)
    code, out = site.cli("run", "--once", "--quiet")
    assert code == 0, out
    lost = po_number_of(1)
    [(order,)] = site.emulator.query(
        "SELECT id FROM [transaction] WHERE type = 'SalesOrd' AND otherrefnum = ?", lost
    )
    site.emulator.db.execute("DELETE FROM transactionline WHERE [transaction] = ?", (order,))
    site.emulator.db.execute("DELETE FROM [transaction] WHERE id = ?", (order,))
    site.emulator.db.execute("DELETE FROM _record WHERE type = 'salesorder' AND id = ?", (order,))
    soon = datetime.now(UTC) + timedelta(minutes=2)
    real_replay = jobs.replay

    def unreachable(*args: object, **kwargs: object) -> object:
        raise TransportError("cannot reach NetSuite at the account's host: connection refused", endpoint="ns")

    monkeypatch.setattr(jobs, "replay", unreachable)  # the re-post fails as a network outage would
    reconciler, ledger = site.reconciler(now=soon)
    with ledger:
        done = reconciler.run(["orders", "acks"], fix=True, report=site.root / "reports")
        assert [r.job for r in done.results] == ["orders", "acks"]  # acks still ran after orders' failed fix
        [orders, _acks] = done.results
        assert orders.verdict != "clean" and [d.check for d in orders.discrepancies] == ["not_in_erp"]
        [line] = orders.fixed
        assert "replay failed (transient: run the fix again later): cannot reach NetSuite" in line, line
        assert done.report is not None and all(p.exists() for p in done.report)
        monkeypatch.setattr(jobs, "replay", real_replay)  # NetSuite is back
        again = reconciler.run(["orders"], fix=True)
        assert again.results[0].verdict == "clean", again.results[0]
    assert len(site.emulator.query("SELECT id FROM [transaction] WHERE otherrefnum = ?", lost)) == 1
