"""The IDoc connector: canonical documents become IDoc XML in an SAP file port (local folders here;
over SFTP in tests/integration/test_sap_flows.py) or POSTed to the IDoc XML HTTP route of the SAP test
peer (tests/sap_odata_server), with DOCNUMs from the ledger, once per key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from erpbridge.connectors import Connector
from erpbridge.connectors.sap_idoc import SapIdocConnector, SapIdocSettings
from erpbridge.errors import (
    AuthenticationError,
    DocumentRejectedError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransientError,
    TransportError,
)
from erpbridge.formats.idoc import decode
from erpbridge.ledger import Direction, Ledger, Level, State
from erpbridge.mapping import load_mapping
from erpbridge.mapping.meta import idoc_meta
from erpbridge.transports import LocalTransport
from erpbridge.transports.base import Credential
from tests.conftest import ROOT
from tests.sap.conftest import PASSWORD, USER, SapServer

IDOC = ROOT / "mappings" / "idoc"
ORDERS = IDOC / "purchase-order-to-orders05.yaml"
SHPCON = IDOC / "ship-notice-to-shpcon.delvry07.yaml"
CONTROL = {
    "SNDPOR": "ERPBRIDGE",
    "SNDPRT": "LS",
    "SNDPRN": "ERPBRIDGE",
    "RCVPOR": "SAPS4P",
    "RCVPRT": "LS",
    "RCVPRN": "S4PCLNT100",
    "MANDT": "100",
}


def purchase_order(po_number: str = "4500012345") -> dict[str, Any]:
    doc = json.loads((IDOC / "purchase-order-to-orders05.samples" / "megamart.input.json").read_text())[0]
    doc["po_number"] = po_number
    return dict(doc)


def ship_notice() -> dict[str, Any]:
    given = json.loads((IDOC / "ship-notice-to-shpcon.delvry07.samples" / "shpcon.input.json").read_text())
    return dict(given[0] if isinstance(given, list) else given)


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path / "ledger.sqlite3") as opened:
        yield opened


def file_port(tmp_path: Path, ledger: Ledger, worker: str = "test:1") -> SapIdocConnector:
    (tmp_path / "port" / "in").mkdir(parents=True, exist_ok=True)
    settings = SapIdocSettings(
        name="s4_port",
        port="file",
        control=CONTROL,
        mappings={"PurchaseOrder": ORDERS, "ShipNotice": SHPCON},
        folder="in",
    )
    return SapIdocConnector(
        settings,
        ledger=ledger,
        partner="megamart",
        worker=worker,
        transport=LocalTransport(tmp_path / "port"),
    )


def test_a_purchase_order_becomes_an_orders05_file_with_a_docnum_from_the_ledger(
    tmp_path: Path, ledger: Ledger
) -> None:
    connector = file_port(tmp_path, ledger)
    assert isinstance(connector, Connector)
    delivered = connector.deliver(purchase_order(), key="PurchaseOrder-megamart-000000001-0001")
    assert delivered.created and delivered.reference == "ORDERS_0000000000000001.xml"
    folder = tmp_path / "port" / "in"
    assert sorted(p.name for p in folder.iterdir()) == ["ORDERS_0000000000000001.xml"]
    decoded = decode((folder / delivered.reference).read_bytes())
    assert decoded.errors == []
    [idoc] = decoded.document["idocs"]
    control = idoc["EDI_DC40"]
    assert {k: control[k] for k in CONTROL} == CONTROL
    assert (control["DOCNUM"], control["MESTYP"], control["IDOCTYP"], control["DIRECT"]) == (
        "0000000000000001",
        "ORDERS",
        "ORDERS05",
        "2",
    )
    assert len(control["CREDAT"]) == 8 and len(control["CRETIM"]) == 6
    # read back with the shipped ORDERS05 mapping: the purchase order it was made from
    back = load_mapping(IDOC / "orders05-to-purchase-order.yaml").apply(idoc, idoc_meta(idoc, "megamart"))
    assert back.document is not None
    sent = purchase_order()
    assert back.document["po_number"] == sent["po_number"]
    assert [(line["quantity"], line["product_ids"]) for line in back.document["lines"]] == [
        (line["quantity"], line["product_ids"]) for line in sent["lines"]
    ]
    # the ledger: an outbound IDoc of the partner, its DOCNUM, its bytes, sent and archived
    [doc] = ledger.find(direction=Direction.OUT, kind="idoc/ORDERS.ORDERS05")
    assert (doc.partner, doc.docnum, doc.state, doc.business_key) == (
        "megamart",
        "0000000000000001",
        State.ARCHIVED,
        "4500012345",
    )
    assert ledger.payload(doc.payload_sha256 or "") == (folder / delivered.reference).read_bytes()
    assert delivered.detail["document_id"] == doc.id and delivered.detail["docnum"] == doc.docnum
    assert [e.step for e in ledger.events(doc.id)] == ["write_idoc", "put", "no_ack_expected"]
    assert ledger.control_numbers("*") == {Level.DOCNUM: 1}


def test_the_same_key_never_makes_a_second_idoc(tmp_path: Path, ledger: Ledger) -> None:
    connector = file_port(tmp_path, ledger)
    first = connector.deliver(purchase_order(), key="k-1")
    folder = tmp_path / "port" / "in"
    (folder / first.reference).unlink()  # SAP read the file and removed it
    again = connector.deliver(purchase_order(), key="k-1")
    assert (again.reference, again.created, again.detail["docnum"]) == (
        first.reference,
        False,
        "0000000000000001",
    )
    assert list(folder.iterdir()) == []  # not put again: SAP would post a second order
    other = file_port(tmp_path, ledger, worker="test:2").deliver(purchase_order("4500099999"), key="k-2")
    assert other.reference == "ORDERS_0000000000000002.xml"  # the next DOCNUM, never one again
    shpcon = connector.deliver(ship_notice(), key="k-3")
    assert shpcon.reference == "SHPCON_0000000000000003.xml"
    [idoc] = decode((folder / shpcon.reference).read_bytes()).document["idocs"]
    assert (idoc["EDI_DC40"]["MESTYP"], idoc["EDI_DC40"]["IDOCTYP"]) == ("SHPCON", "DELVRY07")
    assert len(ledger.find(direction=Direction.OUT)) == 3


def test_a_failed_put_is_sent_again_with_the_same_docnum_and_bytes(tmp_path: Path, ledger: Ledger) -> None:
    connector = file_port(tmp_path, ledger)
    folder = tmp_path / "port" / "in"
    folder.rmdir()  # the port's folder is not there (an unmounted share)
    with pytest.raises(TransportError):
        connector.deliver(purchase_order(), key="k-1")
    [doc] = ledger.find(direction=Direction.OUT)
    assert (doc.state, doc.docnum, doc.claimed_by) == (State.WRITTEN, "0000000000000001", None)
    folder.mkdir()
    other_process = file_port(tmp_path, ledger, worker="test:9")
    delivered = other_process.deliver(purchase_order(), key="k-1")
    assert (delivered.reference, delivered.created) == ("ORDERS_0000000000000001.xml", True)
    assert (folder / delivered.reference).read_bytes() == ledger.payload(doc.payload_sha256 or "")
    assert ledger.control_numbers("*") == {Level.DOCNUM: 1}


def test_an_idoc_another_process_is_sending_waits(tmp_path: Path, ledger: Ledger) -> None:
    ledger.record_outbound(
        "megamart",
        "idoc/ORDERS.ORDERS05",
        payload=b"<ORDERS05/>",
        levels=["docnum"],
        state="written",
        idempotency_key="s4_port:k-1",
        worker="other:1",
    )
    with pytest.raises(TransientError, match="being sent by other:1"):
        file_port(tmp_path, ledger).deliver(purchase_order(), key="k-1")
    assert list((tmp_path / "port" / "in").iterdir()) == []


def test_documents_the_port_cannot_take_are_refused_without_spending_a_docnum(
    tmp_path: Path, ledger: Ledger
) -> None:
    connector = file_port(tmp_path, ledger)
    advice = {"kind": "InventoryAdvice", "advice_number": "INV1"}
    with pytest.raises(
        DocumentRejectedError, match="no IDoc mapping for InventoryAdvice; it takes PurchaseOrder, ShipNotice"
    ):
        connector.deliver(advice, key="k-1")
    broken = purchase_order()
    broken["order_date"] = "02/03/2026"
    with pytest.raises(DocumentRejectedError, match="not a valid PurchaseOrder") as caught:
        connector.deliver(broken, key="k-2")
    assert caught.value.context["key"] == "k-2" and caught.value.context["partner"] == "megamart"
    too_long = purchase_order()
    too_long["department"] = "DEPT-0038"  # E1EDK01-ABTNR holds 4 characters
    with pytest.raises(DocumentRejectedError, match="ABTNR has 9 characters"):
        connector.deliver(too_long, key="k-3")
    assert ledger.find(direction=Direction.OUT) == [] and ledger.control_numbers("*") == {}


# -- the XML HTTP port against the SAP test peer -------------------------------------------------


def http_port(
    server: SapServer, client: str, ledger: Ledger, *, password: str = PASSWORD
) -> SapIdocConnector:
    settings = SapIdocSettings(
        name="s4_http",
        port="xml_http",
        control=CONTROL,
        mappings={"PurchaseOrder": ORDERS},
        url=f"{server.url}/sap/bc/idoc_xml",
        client=client,
        user=USER,
        password=Credential("env:S4_IDOC_PASSWORD", password),
        connect_timeout=5,
        read_timeout=10,
    )
    return SapIdocConnector(settings, ledger=ledger, partner="megamart", worker="test:1")


def received(server: SapServer, client: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{server.url}/__control/idocs", params={"client": client}, timeout=10)
    answer.raise_for_status()
    got: list[dict[str, Any]] = answer.json()
    return got


def fail_next(server: SapServer, *answers: dict[str, Any]) -> None:
    requests.post(f"{server.url}/__control/idoc-failures", json=list(answers), timeout=10).raise_for_status()


def test_the_xml_http_port_posts_each_idoc_once(
    sap_server: SapServer, sap_client: str, ledger: Ledger
) -> None:
    connector = http_port(sap_server, sap_client, ledger)
    try:
        first = connector.deliver(purchase_order(), key="k-1")
        assert (first.reference, first.created) == ("DOCNUM 0000000000000001", True)
        again = connector.deliver(purchase_order(), key="k-1")
        assert again.created is False
        connector.deliver(purchase_order("4500054321"), key="k-2")
    finally:
        connector.close()
    got = received(sap_server, sap_client)
    assert [g["docnums"] for g in got] == [["0000000000000001"], ["0000000000000002"]]
    [doc1, doc2] = [decode(g["body"].encode()).document["idocs"][0] for g in got]
    assert doc1["E1EDK01"]["BELNR"] == "4500012345" and doc2["E1EDK01"]["BELNR"] == "4500054321"
    [idoc, _] = sorted(ledger.find(direction=Direction.OUT), key=lambda d: d.docnum or "")
    assert [e.step for e in ledger.events(idoc.id)] == ["write_idoc", "post", "no_ack_expected"]


def test_sap_unavailable_is_retried_with_the_same_docnum(
    sap_server: SapServer, sap_client: str, ledger: Ledger
) -> None:
    connector = http_port(sap_server, sap_client, ledger)
    fail_next(sap_server, {"status": 503, "retryAfter": "2", "body": "<html><body>ICM busy</body></html>"})
    with pytest.raises(RemoteUnavailableError) as caught:
        connector.deliver(purchase_order(), key="k-1")
    assert caught.value.transient and caught.value.retry_after == 2.0 and caught.value.status == 503
    assert "ICM busy" in str(caught.value) and caught.value.context["docnum"] == "0000000000000001"
    fail_next(sap_server, {"status": 429})
    with pytest.raises(RemoteUnavailableError):
        connector.deliver(purchase_order(), key="k-1")
    assert received(sap_server, sap_client) == []
    delivered = connector.deliver(purchase_order(), key="k-1")
    connector.close()
    assert delivered.reference == "DOCNUM 0000000000000001"
    assert [g["docnums"] for g in received(sap_server, sap_client)] == [["0000000000000001"]]


def test_sap_refusals_are_terminal_and_say_why(
    sap_server: SapServer, sap_client: str, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "pw-Wrong-5b1e9c"
    with pytest.raises(AuthenticationError) as caught:
        http_port(sap_server, sap_client, ledger, password=wrong).deliver(purchase_order(), key="k-1")
    assert not caught.value.transient and "HTTP 401" in str(caught.value)
    assert "env:S4_IDOC_PASSWORD" in str(caught.value)
    assert wrong not in str(caught.value) and PASSWORD not in str(caught.value)
    assert all(wrong not in r.getMessage() and PASSWORD not in r.getMessage() for r in caplog.records)
    fail_next(
        sap_server,
        {
            "status": 400,
            "body": "<html><body>IDoc 0000000000000001: partner profile not available</body></html>",
        },
    )
    with pytest.raises(RemoteRejectedError, match=r"HTTP 400.*partner profile not available"):
        http_port(sap_server, sap_client, ledger).deliver(purchase_order(), key="k-1")
    fail_next(sap_server, {"status": 404, "body": "<html><body>Service cannot be reached</body></html>"})
    with pytest.raises(RemoteRejectedError, match=r"HTTP 404.*Service cannot be reached"):
        http_port(sap_server, sap_client, ledger).deliver(purchase_order(), key="k-2")
    assert received(sap_server, sap_client) == []


def test_a_port_that_does_not_answer_is_a_transport_error(tmp_path: Path, ledger: Ledger) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    settings = SapIdocSettings(
        name="s4_http",
        port="xml_http",
        control=CONTROL,
        mappings={"PurchaseOrder": ORDERS},
        url=f"http://127.0.0.1:{port}/sap/bc/idoc_xml",
        user=USER,
        password=Credential("env:X", PASSWORD),
    )
    connector = SapIdocConnector(settings, ledger=ledger, partner="megamart", worker="test:1")
    with pytest.raises(TransportError, match="cannot reach SAP"):
        connector.deliver(purchase_order(), key="k-1")
    [doc] = ledger.find(direction=Direction.OUT)
    assert doc.state == State.WRITTEN and doc.claimed_by is None  # the retry sends this one
    assert ledger.links(doc.id) == []  # links are the pipeline's (it knows the source)
