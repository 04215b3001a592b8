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


def test_retry_after_seconds_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from erpbridge.connectors._http import connection_reason, retry_after_seconds

    assert retry_after_seconds("120") == 120.0 and retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds("0.03") is None and retry_after_seconds("0.03", fractions=True) == 0.03
    assert retry_after_seconds("soon") is None and retry_after_seconds("-1") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 < (retry_after_seconds(later) or 0) <= 90
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0  # a naive date in the past
    assert connection_reason(ConnectionError("[Errno 111] Connection refused")) == "connection refused"
    assert connection_reason(TimeoutError("slow")) == "TimeoutError"


@pytest.mark.parametrize(
    ("status", "headers", "headroom"),
    [
        (429, {}, 0.0),  # refused: nothing left, whatever the headers say
        (429, {"X-RateLimit-Remaining": "50", "X-RateLimit-Limit": "100"}, 0.0),
        (200, {"x-ratelimit-remaining": "20", "X-RateLimit-Limit": "100"}, 0.2),  # names: any case
        (200, {"RateLimit-Remaining": "0", "RateLimit-Limit": "60"}, 0.0),
        (200, {"X-Rate-Limit-Remaining": "30", "X-Rate-Limit-Limit": "60"}, 0.5),
        (200, {"RateLimit-Remaining": "100, 100;w=60", "RateLimit-Limit": "100, 100;w=60"}, 1.0),
        (200, {"RateLimit": "limit=100, remaining=40, reset=5"}, 0.4),  # the draft's combined field
        (200, {"RateLimit": '"default";r=10;t=3', "RateLimit-Policy": '"default";q=50;w=60'}, 0.2),
        (200, {"X-RateLimit-Remaining": "150", "X-RateLimit-Limit": "100"}, 1.0),  # clamped
        (200, {}, None),  # nothing said: no reading
        (200, {"RateLimit-Remaining": "many", "RateLimit-Limit": "100"}, None),
        (200, {"RateLimit-Remaining": "5", "RateLimit-Limit": "0"}, None),  # no budget to divide by
        (200, {"RateLimit-Remaining": "nan", "RateLimit-Limit": "100"}, None),
        (200, {"RateLimit": "remaining=40"}, None),  # no limit to divide by
    ],
)
def test_rate_limit_headroom_reads_the_answer(
    status: int, headers: dict[str, str], headroom: float | None
) -> None:
    from requests.structures import CaseInsensitiveDict

    from erpbridge.connectors._http import rate_limit_headroom

    assert rate_limit_headroom(status, CaseInsensitiveDict(headers)) == headroom
