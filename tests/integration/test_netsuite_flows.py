"""Issue 6's flows end to end, in-process (``pipeline.Runner`` on a SQLite ledger) against real peers:
MEGAMART's server is a real OpenSSH sshd on 127.0.0.1, NetSuite is the emulator
(tests/netsuite/emulator), reached through ``netsuite_rest`` and ``netsuite_soap`` endpoints of the
configuration.

- A retailer's 850 over SFTP becomes one NetSuite sales order, over REST in one test and over SOAP
  in another; a second pass, the same 850 again and a replay make no second order.
- A revoked token pauses the endpoint (pipeline/pauses.py): the orders wait in the ledger, no
  request is sent while it is paused, a person is notified; the replaced token resumes it by itself
  and every order is delivered once. A refused credential that stays the same (a role fixed in
  NetSuite) waits for ``erpbridge endpoint resume``; a shipment waits with it.
- The warehouse's shipment becomes one item fulfillment with tracking numbers and an 856.
"""

from __future__ import annotations

import getpass
import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from erpbridge.cli.main import main as cli
from erpbridge.config import load_config
from erpbridge.events.jobs import notify_from_ledger
from erpbridge.events.notify import Kind, Notification, Notifications
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.observability.logs import configure_logging
from erpbridge.observability.metrics import MetricsServer
from erpbridge.pipeline import Runner, Summary
from erpbridge.pipeline.replay import replay
from tests.conftest import ROOT
from tests.integration.sites import ERPBRIDGE, WMS_FOLDER, megamart, netsuite_tba, sftp_endpoint
from tests.integration.test_sftp_flow import po_number_of, purchase_order
from tests.netsuite.conftest import (
    CERTIFICATE_ID,
    CLIENT_ID,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    RSA_PEM,
    TOKEN_ID,
    TOKEN_SECRET,
    WSDL,
    make_emulator,
)
from tests.netsuite.emulator import NetSuiteEmulator, Token
from tests.observability.conftest import get
from tests.transports.conftest import Area, SshServer, area, sftp_root, ssh_keys, sshd  # noqa: F401

SAMPLE_850 = ROOT / "edi_samples" / "valid" / "850_004010.edi"

CONFIG = (
    ERPBRIDGE
    + megamart("megamart_sftp")
    + sftp_endpoint("megamart_sftp")
    + """
[endpoints.netsuite]
type = "netsuite_rest"
account = "1234567_SB1"
url = "{rest_url}"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
concurrency = 2
max_attempts = 2
backoff = "10ms"
max_backoff = "50ms"
connect_timeout = "5s"
timeout = "10s"
"""
    + netsuite_tba("netsuite")
    + """
[endpoints.netsuite_m2m]
type = "netsuite_rest"
account = "1234567_SB1"
url = "{rest_url}"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
concurrency = 2
backoff = "10ms"
max_backoff = "50ms"
auth = {{ client_id = {{ env = "NS_CLIENT_ID" }}, certificate_id = "{certificate_id}", private_key = {{ file = "{m2m_key}" }} }}

[endpoints.netsuite_soap]
type = "netsuite_soap"
account = "1234567_SB1"
url = "{soap_url}"
wsdl = "{wsdl}"
mapping = "mappings/netsuite/purchase-order-to-soap-sales-order.yaml"
page_size = 5
backoff = "10ms"
max_backoff = "50ms"
connect_timeout = "5s"
timeout = "10s"
"""
    + netsuite_tba("netsuite_soap")
    + WMS_FOLDER
    + """
[flows.megamart_orders_in]
direction = "in"
partner = "megamart"
source = {{ folder = "{prefix}/megamart/inbound", archive = "{prefix}/megamart/archive" }}
target = {{ endpoint = "{orders_to}" }}
acks = {{ folder = "{prefix}/megamart/outbound" }}
documents = ["x12/850", "x12/997"]
every = "1m"

[flows.megamart_asn_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/ship-notices", archive = "archive/ship-notices" }}
target = {{ folder = "{prefix}/megamart/outbound" }}
documents = {{ ShipNotice = "x12/856" }}
also_deliver = [{{ endpoint = "{asn_to}" }}]
every = "1m"
"""
)


def skus_of_the_850() -> list[tuple[str, str]]:
    """(SKU, UPC) of every line of the sample 850."""
    found = []
    for raw in SAMPLE_850.read_text("ascii").split("~"):
        seg = raw.strip().split("*")
        if seg[0] == "PO1":
            found.append((seg[seg.index("VN") + 1], seg[seg.index("UP") + 1]))
    return found


def ordered_quantities() -> list[tuple[str, str]]:
    """(SKU, quantity) of every line of the sample 850."""
    found = []
    for raw in SAMPLE_850.read_text("ascii").split("~"):
        seg = raw.strip().split("*")
        if seg[0] == "PO1":
            found.append((seg[seg.index("VN") + 1], seg[2]))
    return found


@pytest.fixture
def emulator() -> Iterator[NetSuiteEmulator]:
    emulator = make_emulator()
    for sku, _ in skus_of_the_850():
        if not emulator.query("SELECT id FROM item WHERE itemid = ?", sku):
            emulator.add_item(sku)
    try:
        yield emulator
    finally:
        emulator.stop()


@dataclass
class Site:
    root: Path
    area: Area

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    def sftp(self, *parts: str) -> Path:
        return self.area.disk.joinpath(*parts)

    def runner(self) -> tuple[Runner, Ledger]:
        config = load_config(self.config)
        ledger = Ledger.open(config.ledger.reveal_url())
        return Runner(config, ledger, mappings_root=ROOT / "mappings", worker="test:1", settle=True), ledger

    def run(self) -> Summary:
        runner, ledger = self.runner()
        try:
            return runner.run_once()
        finally:
            ledger.close()


def make_site(
    root: Path,
    place: Area,
    server: SshServer,
    emulator: NetSuiteEmulator,
    orders_to: str,
    asn_to: str = "netsuite",
) -> Site:
    root.mkdir(parents=True)
    (root / "var").mkdir()
    text = CONFIG.format(
        port=server.port,
        user=getpass.getuser(),
        known_hosts=server.known_hosts("known_hosts"),
        private_key=server.keys.client,
        prefix=place.prefix,
        orders_to=orders_to,
        asn_to=asn_to,
        rest_url=emulator.url,
        soap_url=emulator.soap_url,
        wsdl=WSDL,
        certificate_id=CERTIFICATE_ID,
        m2m_key=root / "netsuite_m2m.pem",
    )
    (root / "netsuite_m2m.pem").write_text(RSA_PEM, encoding="utf-8")
    (root / "config.toml").write_text(text, encoding="utf-8")
    return Site(root, place)


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NS_CONSUMER_KEY", CONSUMER_KEY)
    monkeypatch.setenv("NS_CONSUMER_SECRET", CONSUMER_SECRET)
    monkeypatch.setenv("NS_TOKEN_ID", TOKEN_ID)
    monkeypatch.setenv("NS_TOKEN_SECRET", TOKEN_SECRET)
    monkeypatch.setenv("NS_CLIENT_ID", CLIENT_ID)


def only_flows(summary: Summary, *names: str) -> dict[tuple[str, str], int]:
    return {k: v for k, v in summary.counts.items() if k[0] in names and v}


def sales_orders(emulator: NetSuiteEmulator, po: str) -> list[tuple[Any, ...]]:
    """The emulator's sales orders for a PO number (its own table, not through erpbridge)."""
    return emulator.query(
        "SELECT id, externalid, entity FROM [transaction] WHERE type = 'SalesOrd' AND otherrefnum = ?", po
    )


@pytest.mark.parametrize("endpoint", ["netsuite", "netsuite_soap"])
def test_an_850_over_sftp_becomes_one_netsuite_sales_order(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
    endpoint: str,
) -> None:
    site = make_site(tmp_path / "site", area, sshd, emulator, endpoint)
    (site.sftp("megamart", "inbound") / "po-1.edi").write_bytes(purchase_order(1))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "received"): 1,
        ("megamart_orders_in", "ack_sent"): 1,
        ("megamart_orders_in", "delivered"): 1,
    }
    po = po_number_of(1)
    [(order_id, external, customer)] = sales_orders(emulator, po)
    assert str(customer) == "1187"  # MEGAMART's customer, from mappings/netsuite/xref/customers.csv
    lines = emulator.query(
        "SELECT i.itemid, l.quantity FROM transactionline l JOIN item i ON i.id = l.item "
        "WHERE l.[transaction] = ? ORDER BY l.linesequencenumber",
        order_id,
    )
    assert [(sku, float(qty)) for sku, qty in lines] == [
        (sku, float(qty)) for sku, qty in ordered_quantities()
    ]
    runner, ledger = site.runner()
    with ledger:
        [doc] = ledger.find(direction=Direction.IN, kind="x12")
        assert doc.state == State.ARCHIVED
        [deliver] = [e for e in ledger.events(doc.id) if e.step == "deliver"]
        assert deliver.detail["references"] == [str(order_id)] and deliver.detail["to"] == endpoint
        # a second pass does nothing; a replay finds the order and makes no second one
        assert only_flows(runner.run_once(), "megamart_orders_in") == {}
        replayed = replay(runner, doc.id, reason="NetSuite lost it?")
        assert replayed.files == (str(order_id),)
    # the same 850 again from the partner is a duplicate
    (site.sftp("megamart", "inbound") / "po-1-again.edi").write_bytes(purchase_order(1))
    assert only_flows(site.run(), "megamart_orders_in") == {("megamart_orders_in", "duplicate"): 1}
    assert sales_orders(emulator, po) == [(order_id, external, customer)]


class Recorder:
    """A notifier that keeps what it is sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


def dump_ledger(site: Site) -> str:
    """Every row of every table of the site's ledger, as text."""
    with sqlite3.connect(site.root / "var" / "ledger.sqlite3") as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"'))


def last_event(site: Site) -> int:
    _, ledger = site.runner()
    with ledger:
        return ledger.last_event_id()


def calls(emulator: NetSuiteEmulator) -> int:
    """Requests the emulator answered (REST and SOAP)."""
    return len(emulator.log)


@pytest.mark.parametrize("endpoint", ["netsuite", "netsuite_soap"])
def test_a_revoked_token_pauses_the_endpoint_and_the_replaced_token_resumes_it(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = make_site(tmp_path / "site", area, sshd, emulator, endpoint)
    emulator.verifier.integration.tokens[TOKEN_ID].revoked = True  # an administrator revoked it
    for n in (2, 5):
        (site.sftp("megamart", "inbound") / f"po-{n}.edi").write_bytes(purchase_order(n))
    summary = site.run()
    # nothing failed: both 850s acknowledged and waiting; one request found the token refused
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "received"): 2,
        ("megamart_orders_in", "ack_sent"): 2,
        ("megamart_orders_in", "paused"): 2,
    }
    [problem] = summary.problems
    assert f"endpoint {endpoint} paused" in problem and "INVALID_LOGIN" in problem
    assert f"erpbridge endpoint resume {endpoint}" in problem
    assert sales_orders(emulator, po_number_of(2)) == sales_orders(emulator, po_number_of(5)) == []
    assert not (site.root / "var" / "quarantine" / "megamart_orders_in").exists()
    refused = calls(emulator)
    assert [status for _, _, status in emulator.log].count(200) == 0  # (SOAP answers a fault with 500)
    _, ledger = site.runner()
    with ledger:
        docs = ledger.find(direction=Direction.IN, kind="x12")
        assert [(d.state, d.attempts, d.claimed_by) for d in docs] == [(State.MAPPED, 0, None)] * 2
        [pause] = ledger.paused_endpoints().values()
        assert pause.endpoint == endpoint and pause.document_id == docs[0].id
        assert "env:NS_TOKEN_ID" in pause.reason and TOKEN_SECRET not in pause.reason
        [paused_event] = [e for e in ledger.events(docs[0].id) if e.step == "endpoint_pause"]
        # the exception event goes to a person through the notification job
        recorder = Recorder()
        notified = notify_from_ledger(ledger, Notifications([recorder], window=timedelta(0)), worker="test:1")
        assert [n.kind for n in notified.notified] == [Kind.ENDPOINT_PAUSED]
        [sent] = recorder.sent
        assert sent.partner == endpoint and sent.ledger_event == paused_event.id
        assert f"erpbridge endpoint resume {endpoint}" in sent.text() and TOKEN_SECRET not in sent.text()
    # erpbridge status shows it
    with pytest.raises(SystemExit) as done:
        cli(["status", "--config", str(site.config), "--json"])
    assert done.value.code == 0
    status = json.loads(capsys.readouterr().out)
    assert [p["endpoint"] for p in status["paused_endpoints"]] == [endpoint]

    # polls while the token is still revoked: no request to NetSuite, nothing failed, no new event
    events_before = last_event(site)
    summary = site.run()
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "resumed"): 2,
        ("megamart_orders_in", "paused"): 2,
    }
    assert calls(emulator) == refused and not summary.problems
    assert last_event(site) == events_before  # no event either: the ledger does not grow per poll

    # the administrator makes a new token; the site's secret is replaced: the next poll resumes
    emulator.verifier.integration.tokens["tk-new-0001"] = Token("tk-new-0001", "ts-new-secret-0001")
    monkeypatch.setenv("NS_TOKEN_ID", "tk-new-0001")
    monkeypatch.setenv("NS_TOKEN_SECRET", "ts-new-secret-0001")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "resumed"): 2,
        ("megamart_orders_in", "delivered"): 2,
    }
    assert len(sales_orders(emulator, po_number_of(2))) == len(sales_orders(emulator, po_number_of(5))) == 1
    _, ledger = site.runner()
    with ledger:
        assert [d.state for d in ledger.find(direction=Direction.IN, kind="x12")] == [State.ARCHIVED] * 2
        assert ledger.paused_endpoints() == {}
        [resume] = [e for e in ledger.events(limit=10_000) if e.step == "endpoint_resume"]
        assert (
            resume.detail["endpoint"] == endpoint and resume.detail["reason"] == "the credential was replaced"
        )
    assert only_flows(site.run(), "megamart_orders_in") == {}  # and nothing more
    # no secret, old or new, anywhere in the ledger
    everything = dump_ledger(site)
    for secret in (CONSUMER_SECRET, TOKEN_SECRET, "ts-new-secret-0001"):
        assert secret not in everything


def test_a_refused_role_stays_paused_until_an_operator_resumes_the_endpoint_and_shipments_wait_too(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = make_site(tmp_path / "site", area, sshd, emulator, "netsuite")
    (site.sftp("megamart", "inbound") / "po-6.edi").write_bytes(purchase_order(6))
    assert not site.run().failed
    [(order_id, _, _)] = sales_orders(emulator, po_number_of(6))
    # the token is refused (say, its role lost a permission): the warehouse's shipment waits
    emulator.verifier.integration.tokens[TOKEN_ID].revoked = True
    wms = site.root / "var" / "wms" / "outbound" / "ship-notices"
    (wms / "asn-6.json").write_text(json.dumps(shipment_for(6)), encoding="utf-8")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, ASN_FLOW) == {(ASN_FLOW, "paused"): 1}
    assert (wms / "asn-6.json").exists()  # the file stays in the warehouse's folder
    assert list(site.sftp("megamart", "outbound").glob("856_*.edi")) == []  # no 856 without NetSuite's
    # the administrator fixes the role: the credential is the same, so the endpoint stays paused ...
    emulator.verifier.integration.tokens[TOKEN_ID].revoked = False
    before = calls(emulator)
    assert only_flows(site.run(), ASN_FLOW) == {(ASN_FLOW, "paused"): 1}
    assert calls(emulator) == before
    # ... until an operator resumes it
    with pytest.raises(SystemExit) as done:
        cli(["endpoint", "resume", "netsuite", "--config", str(site.config), "--reason", "role fixed"])
    assert done.value.code == 0
    assert "endpoint netsuite resumed" in capsys.readouterr().out
    summary = site.run()
    assert only_flows(summary, ASN_FLOW) == {(ASN_FLOW, "delivered"): 1, (ASN_FLOW, "sent"): 1}
    assert len(fulfillments(emulator, order_id)) == 1
    assert len(list(site.sftp("megamart", "outbound").glob("856_*.edi"))) == 1
    with pytest.raises(SystemExit) as done:
        cli(["endpoint", "resume", "netsuite", "--config", str(site.config)])
    assert done.value.code == 0 and "is not paused" in capsys.readouterr().out


# -- the warehouse's shipment: an item fulfillment in NetSuite and an 856 to the retailer ----------

ASN_FLOW = "megamart_asn_out"


def shipment_for(n: int, *, notice_time: str = "14:30:00") -> dict[str, Any]:
    """The WMS's ShipNotice for the sample 850 of ``purchase_order(n)``: every line shipped, in two
    cartons with UPS tracking numbers (the sample 856's header, parties and carrier)."""
    sample = ROOT / "mappings" / "x12" / "ship-notice-to-856.samples" / "856_004010.input.json"
    notice: dict[str, Any] = json.loads(sample.read_text(encoding="utf-8"))
    lines = [
        {"product_ids": {"vendor_sku": sku, "upc": upc}, "quantity": qty, "unit": "EA"}
        for (sku, upc), (_, qty) in zip(skus_of_the_850(), ordered_quantities(), strict=True)
    ]
    half = max(1, len(lines) // 2)
    cartons = [lines[:half], lines[half:]]
    notice.update(
        shipment_id=f"SHP8{n:07d}",
        notice_time=notice_time,
        package_count=len(cartons),
        orders=[
            {
                "po_number": po_number_of(n),
                "packs": [
                    {
                        "sscc": sscc(f"00614141000000{n:02d}{i}"),
                        "tracking_number": f"1Z999AA1012345678{i}",
                        "weight": {"value": "8.5", "unit": "LB"},
                        "items": carton,
                    }
                    for i, carton in enumerate(cartons, start=1)
                    if carton
                ],
            }
        ],
    )
    return notice


def sscc(body: str) -> str:
    """An SSCC-18: 17 digits and their GS1 mod-10 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def fulfillments(emulator: NetSuiteEmulator, order_id: int) -> list[tuple[Any, ...]]:
    """The emulator's item fulfillments of a sales order (its own tables)."""
    return emulator.query(
        "SELECT id, externalid, status FROM [transaction] WHERE type = 'ItemShip' AND createdfrom = ?",
        order_id,
    )


def test_the_warehouse_shipment_becomes_one_item_fulfillment_with_tracking_and_an_856(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
) -> None:
    site = make_site(tmp_path / "site", area, sshd, emulator, "netsuite")
    (site.sftp("megamart", "inbound") / "po-3.edi").write_bytes(purchase_order(3))
    assert not site.run().failed
    [(order_id, order_external, _)] = sales_orders(emulator, po_number_of(3))
    wms = site.root / "var" / "wms" / "outbound" / "ship-notices"
    notice = shipment_for(3)
    (wms / "asn-3.json").write_text(json.dumps(notice), encoding="utf-8")

    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, ASN_FLOW) == {(ASN_FLOW, "delivered"): 1, (ASN_FLOW, "sent"): 1}
    # NetSuite: one fulfillment of the order, every line, both packages with their tracking numbers
    [(made, external, status)] = fulfillments(emulator, order_id)
    assert external == f"ShipNotice-{notice['shipment_id']}-{po_number_of(3)}" and status == "C"
    shipped = emulator.query(
        "SELECT i.itemid, l.quantity FROM transactionline l JOIN item i ON i.id = l.item "
        "WHERE l.[transaction] = ? ORDER BY l.orderline",
        made,
    )
    assert [(sku, float(q)) for sku, q in shipped] == [(sku, float(q)) for sku, q in ordered_quantities()]
    record = emulator.record("itemfulfillment", made)
    assert record is not None
    assert [p["packageTrackingNumber"] for p in record["package"]["items"]] == [
        "1Z999AA10123456781",
        "1Z999AA10123456782",
    ]
    assert record["package"]["items"][0]["packageWeight"] == 8.5
    assert emulator.query("SELECT status FROM [transaction] WHERE id = ?", order_id) == [("F",)]
    # the retailer: one 856 for the shipment on its server
    sent = sorted(site.sftp("megamart", "outbound").glob("856_*.edi"))
    assert len(sent) == 1 and f"BSN*00*{notice['shipment_id']}*" in sent[0].read_text()
    # the ledger: the 856 answers the 850 the sales order came from, and names the fulfillment
    _, ledger = site.runner()
    with ledger:
        [asn] = ledger.find(direction=Direction.OUT, kind="x12/856")
        [po] = ledger.find(direction=Direction.IN, kind="x12")
        assert order_external.startswith("PurchaseOrder-")
        assert [
            (lk.to_document, str(lk.relation)) for lk in ledger.links(asn.id) if lk.from_document == asn.id
        ] == [(po.id, "answers")]
        [note] = [e for e in ledger.events(asn.id) if e.step == "also_deliver"]
        assert note.detail["references"] == [str(made)] and note.detail["to"] == ["netsuite"]

    # the WMS sends the same shipment again in another file (a new notice time: when it exported,
    # not what it says), and the same file again: both duplicates, no second 856 to the retailer
    # and no second fulfillment in NetSuite
    (wms / "asn-3-again.json").write_text(
        json.dumps(shipment_for(3, notice_time="15:00:00")), encoding="utf-8"
    )
    (wms / "asn-3-copy.json").write_text(json.dumps(notice), encoding="utf-8")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, ASN_FLOW) == {(ASN_FLOW, "duplicate"): 2}
    assert fulfillments(emulator, order_id) == [(made, external, status)]
    assert len(list(site.sftp("megamart", "outbound").glob("856_*.edi"))) == 1


def test_a_shipment_for_an_order_netsuite_does_not_have_is_quarantined_with_the_po(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
) -> None:
    site = make_site(tmp_path / "site", area, sshd, emulator, "netsuite")
    wms = site.root / "var" / "wms" / "outbound" / "ship-notices"
    wms.mkdir(parents=True)
    (wms / "asn-4.json").write_text(json.dumps(shipment_for(4)), encoding="utf-8")
    summary = site.run()
    assert only_flows(summary, ASN_FLOW) == {(ASN_FLOW, "quarantined"): 1}
    assert list(site.sftp("megamart", "outbound").glob("856_*.edi")) == []  # no 856 without NetSuite's
    [reason] = (site.root / "var" / "quarantine" / ASN_FLOW).glob("*.reason.txt")
    assert f"no sales order with PO # {po_number_of(4)}" in reason.read_text()


# -- a full flow with known NetSuite secrets: none of them anywhere --------------------------------


def test_a_full_netsuite_flow_with_known_secrets_leaves_none_in_logs_ledger_errors_or_metrics(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    emulator: NetSuiteEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Orders in over TBA, a shipment out over OAuth 2.0 M2M (the private key from a file), a revoked
    token (the pause, its notification, erpbridge status) and the rotated one, with the daemon's
    JSON logs at DEBUG and the metrics endpoint up; then the consumer secret, both token secrets and
    the private key are looked for in the logs, every table of the ledger, every error and message
    shown to a person, and the scraped metrics. The rotated token secret is never registered with
    the log redactor: finding it nowhere shows that nothing logs it, not that it was masked."""
    site = make_site(tmp_path / "site", area, sshd, emulator, "netsuite", asn_to="netsuite_m2m")
    config = load_config(site.config)
    new_secret = "ts-rotated-5d0c7e19a2b84f36"
    key_lines = [line for line in RSA_PEM.splitlines() if not line.startswith("-----")]
    secrets = [CONSUMER_SECRET, TOKEN_SECRET, new_secret, *key_lines]
    buf = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(
        json=True, level="DEBUG", secrets=[ref for _, ref in config.secrets()], stream=buf, excepthooks=False
    )
    shown: list[str] = []  # what a person reads: problems, reasons, notifications, commands' output
    try:
        runner, ledger = site.runner()
        with ledger, MetricsServer("127.0.0.1", 0, ledger) as server:
            (site.sftp("megamart", "inbound") / "po-11.edi").write_bytes(purchase_order(11))
            first = runner.run_once()
            wms = site.root / "var" / "wms" / "outbound" / "ship-notices"
            (wms / "asn-11.json").write_text(json.dumps(shipment_for(11)), encoding="utf-8")
            second = runner.run_once()
            assert not first.failed and not second.failed, first.problems + second.problems
            assert only_flows(second, ASN_FLOW) == {(ASN_FLOW, "delivered"): 1, (ASN_FLOW, "sent"): 1}
            # the token is revoked: paused, notified, shown; then rotated: resumed
            emulator.verifier.integration.tokens[TOKEN_ID].revoked = True
            (site.sftp("megamart", "inbound") / "po-12.edi").write_bytes(purchase_order(12))
            third = runner.run_once()
            assert only_flows(third, "megamart_orders_in")[("megamart_orders_in", "paused")] == 1
            recorder = Recorder()
            notify_from_ledger(ledger, Notifications([recorder], window=timedelta(0)), worker="test:1")
            assert [n.kind for n in recorder.sent] == [Kind.ENDPOINT_PAUSED]
            shown += [n.text() for n in recorder.sent] + [json.dumps(n.to_json()) for n in recorder.sent]
            with pytest.raises(SystemExit):
                cli(["status", "--config", str(site.config)])
            emulator.verifier.integration.tokens["tk-rotated-0001"] = Token("tk-rotated-0001", new_secret)
            monkeypatch.setenv("NS_TOKEN_ID", "tk-rotated-0001")
            monkeypatch.setenv("NS_TOKEN_SECRET", new_secret)
            fourth = runner.run_once()
            assert only_flows(fourth, "megamart_orders_in")[("megamart_orders_in", "delivered")] == 1
            metrics = get(f"{server.url}/metrics").body
            assert "erpbridge_documents_received_total" in metrics
        for summary in (first, second, third, fourth):
            shown += summary.problems
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    shown += [p.read_text() for p in (site.root / "var" / "quarantine").rglob("*.reason.txt")]
    shown.append(capsys.readouterr().out)
    logged = buf.getvalue()
    assert '"level"' in logged and "endpoint netsuite paused" in logged
    assert "endpoint netsuite paused" in "".join(shown)
    for where, text in {
        "logs": logged,
        "ledger": dump_ledger(site),
        "errors and messages": "\n".join(shown),
        "metrics": metrics,
        "emulator's own log": repr(emulator.log),
    }.items():
        for secret in secrets:
            for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
                assert form not in text, f"{form[:12]}... found in the {where}"
