"""A full run of both connectors, with every logger at DEBUG (requests, urllib3, zeep included), keeps
the secrets out of the logs and out of every error: the consumer secret, the token secret, the private
key, and the consumer key and token ID too (erpbridge treats them as secret references)."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from erpbridge.connectors.netsuite_rest import NetSuiteRestConnector, Package
from erpbridge.connectors.netsuite_soap import NetSuiteSoapConnector
from erpbridge.errors import ErpBridgeError

from .conftest import (
    CONSUMER_KEY,
    EC_PEM,
    SECRETS,
    TOKEN_ID,
    m2m,
    purchase_order,
    rest_settings,
    soap_settings,
    tba,
)
from .emulator import NetSuiteEmulator


def test_a_full_run_logs_no_secret(emulator: NetSuiteEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "zeep", "requests", "oauthlib", "erpbridge"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored when the test ends
    errors: list[ErpBridgeError] = []
    emulator.inject(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.", retry_after="0")
    with NetSuiteRestConnector(rest_settings(emulator)) as rest:
        order = rest.deliver(purchase_order(), key="k-1").reference
        rest.fulfill(order, external="ASN-1", packages=[Package("1Z999AA10123456784", Decimal(1))])
        list(rest.on_hand())
    with NetSuiteRestConnector(
        rest_settings(emulator, auth=m2m(key=EC_PEM, algorithm="ES256", certificate_id="cert-ec"))
    ) as rest:
        rest.deliver(purchase_order("PO-M2M"), key="k-2")
    for bad in (
        rest_settings(emulator, auth=tba(token_secret="x" * 12)),
        rest_settings(emulator, auth=m2m(certificate_id="nope")),
    ):
        with NetSuiteRestConnector(bad) as rest:
            try:
                rest.deliver(purchase_order(), key="k-3")
            except ErpBridgeError as exc:
                errors.append(exc)
    with NetSuiteSoapConnector(soap_settings(emulator)) as soap:
        soap.deliver(purchase_order("PO-SOAP"), key="k-4")
        errors += [
            r.error
            for r in soap.upsert_list([("SalesOrder", "bad", {"entity": {"internalId": "1"}})])
            if r.error
        ]
        list(soap.search_sales_orders(po_number="PO-SOAP"))
    with NetSuiteSoapConnector(soap_settings(emulator, auth=tba(token_secret="y" * 12))) as soap:
        try:
            soap.deliver(purchase_order(), key="k-5")
        except ErpBridgeError as exc:
            errors.append(exc)
    assert len(errors) == 4, errors
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # DEBUG logging really was on
    shown = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [f"{e!s} {e!r} {e.context} {getattr(e, 'details', '')}" for e in errors]
    )
    for secret in (*SECRETS, CONSUMER_KEY, TOKEN_ID, "x" * 12, "y" * 12):
        assert secret not in shown, f"a secret shows: {secret[:6]}..."
    assert "env:NS_TOKEN_ID" in shown  # the credential is named
