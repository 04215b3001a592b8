"""Pausing an endpoint that refuses the credentials is generic (pipeline/pauses.py): SAP's OData
service answering 401 to a wrong password pauses the ``s4`` endpoint like NetSuite's INVALID_LOGIN
pauses a NetSuite one (tests/integration/test_netsuite_flows.py), and the right password resumes it.
Real SAP mock server (tests/sap_odata_server) and sshd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from erpbridge.connectors.sap_odata import SALES_ORDER_SERVICE
from erpbridge.ledger import Direction, State
from erpbridge.pipeline.pauses import fingerprint_matches
from tests.integration.test_sap_flows import make_site, only_flows
from tests.integration.test_sftp_flow import po_number_of, purchase_order
from tests.sap.conftest import PASSWORD, SapServer, sap_client, sap_server  # noqa: F401
from tests.transports.conftest import Area, SshServer, area, sftp_root, ssh_keys, sshd  # noqa: F401


def test_sap_refusing_the_password_pauses_the_endpoint_and_the_right_one_resumes_it(
    tmp_path: Path,
    area: Area,  # noqa: F811
    sshd: SshServer,  # noqa: F811
    sap_server: SapServer,  # noqa: F811
    sap_client: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S4_TEST_PASSWORD", "not-the-password-7f3a")
    site = make_site(tmp_path / "site", area, sshd, orders_to="s4", odata=(sap_server.url, sap_client))
    (site.sftp("megamart", "inbound") / "po-8.edi").write_bytes(purchase_order(8))
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "received"): 1,
        ("megamart_orders_in", "ack_sent"): 1,
        ("megamart_orders_in", "paused"): 1,
    }
    runner, ledger = site.runner()
    with ledger:
        [pause] = ledger.paused_endpoints().values()
        assert pause.endpoint == "s4" and fingerprint_matches(pause.fingerprint, runner.config, "s4")
        assert "not-the-password-7f3a" not in pause.reason
        [doc] = ledger.find(direction=Direction.IN, kind="x12")
        assert (doc.state, doc.attempts) == (State.MAPPED, 0)
    # the fingerprint is a hash of what the endpoint logs in with: another password, another one
    monkeypatch.setenv("S4_TEST_PASSWORD", PASSWORD)
    assert not fingerprint_matches(pause.fingerprint, runner.config, "s4")
    summary = site.run()
    assert not summary.failed, summary.problems
    assert only_flows(summary, "megamart_orders_in") == {
        ("megamart_orders_in", "resumed"): 1,
        ("megamart_orders_in", "delivered"): 1,
    }
    found: list[dict[str, Any]] = sap_server.get(
        SALES_ORDER_SERVICE,
        "A_SalesOrder",
        sap_client,
        **{"$filter": f"PurchaseOrderByCustomer eq '{po_number_of(8)}'"},
    )["results"]
    assert len(found) == 1
    _, ledger = site.runner()
    with ledger:
        assert ledger.paused_endpoints() == {}
