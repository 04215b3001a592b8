"""The connector interface and the folder connector (canonical JSON files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erpbridge.connectors import Connector, Delivered, FolderConnector
from erpbridge.errors import TransportError
from erpbridge.transports import LocalTransport


def test_folder_connector_delivers_each_key_once(tmp_path: Path) -> None:
    (tmp_path / "erp" / "po").mkdir(parents=True)
    connector = FolderConnector("erp", LocalTransport(tmp_path / "erp"), "po")
    assert isinstance(connector, Connector)
    doc = {"kind": "PurchaseOrder", "po_number": "PO-1", "note": "café"}
    first = connector.deliver(doc, key="PurchaseOrder-megamart-000000001-0001")
    again = connector.deliver(doc, key="PurchaseOrder-megamart-000000001-0001")
    connector.close()
    assert first == again == Delivered("PurchaseOrder-megamart-000000001-0001.json", detail={"folder": "po"})
    files = list((tmp_path / "erp" / "po").iterdir())
    assert [f.name for f in files] == [first.reference]
    assert json.loads(files[0].read_text(encoding="utf-8")) == doc
    connector.close()  # twice is fine


@pytest.mark.parametrize(
    ("key", "name"),
    [("a/b\\c", "a_b_c.json"), ("../../etc/passwd", "etc_passwd.json"), ("PO 7*ü", "PO_7.json")],
)
def test_keys_become_safe_file_names(key: str, name: str) -> None:
    assert FolderConnector.file_name(key) == name


def test_a_failed_delivery_drops_the_session_and_the_next_one_reconnects(tmp_path: Path) -> None:
    connector = FolderConnector("erp", LocalTransport(tmp_path / "erp"), "po")
    with pytest.raises(TransportError):  # the folder is not there yet: transient
        connector.deliver({"kind": "PurchaseOrder"}, key="k")
    (tmp_path / "erp" / "po").mkdir(parents=True)
    assert connector.deliver({"kind": "PurchaseOrder"}, key="k").reference == "k.json"
    connector.close()
