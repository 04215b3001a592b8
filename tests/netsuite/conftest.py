"""Fixtures for the NetSuite connector tests: the emulator (tests/netsuite/emulator) on 127.0.0.1,
seeded with a customer, items and stock, and connectors pointed at it.

The emulator runs in the test process (a thread per request), so there is nothing to install and
nothing to skip; every test gets a fresh one on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from erpbridge.connectors.netsuite_auth import ClientCredentialsAuth, TokenAuth
from erpbridge.connectors.netsuite_rest import NetSuiteRestConnector, NetSuiteRestSettings
from erpbridge.transports.base import Credential
from tests.conftest import ROOT

from .emulator import Integration, NetSuiteEmulator, Token

ACCOUNT = "1234567_SB1"
CONSUMER_KEY = "ck-9a1e0b7d3c5f42e8a61b"
CONSUMER_SECRET = "cs-NetSuite-5e2f81c0d94b7a36"  # the secrets the tests look for in logs and messages
TOKEN_ID = "tk-77c1d0e4a8b2f9356e01"
TOKEN_SECRET = "ts-NetSuite-0b4d6f8a2c1e9375"
CLIENT_ID = "m2m-client-3f8e2a61"
CERTIFICATE_ID = "cert-Zk3Pq9"
REST_MAPPING = ROOT / "mappings" / "netsuite" / "purchase-order-to-sales-order.yaml"
SOAP_MAPPING = ROOT / "mappings" / "netsuite" / "purchase-order-to-soap-sales-order.yaml"
WSDL = Path(__file__).parent / "wsdl" / "netsuite.wsdl"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


RSA_PEM = pem(RSA_KEY)
EC_PEM = pem(EC_KEY)
SECRETS = (CONSUMER_SECRET, TOKEN_SECRET, RSA_PEM.splitlines()[1], EC_PEM.splitlines()[1])


def tba(*, token_id: str = TOKEN_ID, token_secret: str = TOKEN_SECRET) -> TokenAuth:
    return TokenAuth(
        consumer_key=Credential("env:NS_CONSUMER_KEY", CONSUMER_KEY),
        consumer_secret=Credential("env:NS_CONSUMER_SECRET", CONSUMER_SECRET),
        token_id=Credential("env:NS_TOKEN_ID", token_id),
        token_secret=Credential("env:NS_TOKEN_SECRET", token_secret),
    )


def m2m(
    *, key: str = RSA_PEM, algorithm: str = "PS256", certificate_id: str = CERTIFICATE_ID
) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        client_id=Credential("env:NS_CLIENT_ID", CLIENT_ID),
        certificate_id=certificate_id,
        private_key=Credential("file:/run/secrets/netsuite.pem", key),
        algorithm=algorithm,
    )


def make_emulator(**kwargs: Any) -> NetSuiteEmulator:
    integration = Integration(
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        tokens={TOKEN_ID: Token(TOKEN_ID, TOKEN_SECRET)},
        client_id=CLIENT_ID,
        certificates={CERTIFICATE_ID: RSA_KEY.public_key(), "cert-ec": EC_KEY.public_key()},
    )
    emulator = NetSuiteEmulator(account=ACCOUNT, integration=integration, **kwargs)
    emulator.add_customer("MEGAMART STORES INC", customer_id=1187, external="MEGAMART")
    emulator.add_item("NW-TS-BLK-S", upc="061414110013", item_id=501)
    emulator.add_item("NW-SK-WHT-3P", item_id=502)
    emulator.add_item("NW-CAP-RED", upc="061414110020", item_id=503)
    emulator.add_location("Main Warehouse", location_id=1)
    emulator.add_account("Inventory Adjustment", account_id=58)
    emulator.set_on_hand(501, 1, 100)
    emulator.set_on_hand(502, 1, 40)
    return emulator.start()


@pytest.fixture
def emulator() -> Iterator[NetSuiteEmulator]:
    emulator = make_emulator()
    try:
        yield emulator
    finally:
        emulator.stop()


def rest_settings(emulator: NetSuiteEmulator, **kwargs: Any) -> NetSuiteRestSettings:
    values: dict[str, Any] = {
        "account": ACCOUNT,
        "auth": tba(),
        "sales_order_mapping": REST_MAPPING,
        "url": emulator.url,
        "name": "ns",
        "backoff": 0.01,
        "max_backoff": 0.05,
        "connect_timeout": 5,
        "read_timeout": 10,
    }
    values.update(kwargs)
    return NetSuiteRestSettings(**values)


@pytest.fixture
def rest(emulator: NetSuiteEmulator) -> Iterator[NetSuiteRestConnector]:
    with NetSuiteRestConnector(rest_settings(emulator)) as connector:
        yield connector


def purchase_order(po: str = "4500012400", *, lines: Any = None) -> dict[str, Any]:
    return {
        "kind": "PurchaseOrder",
        "po_number": po,
        "order_date": "2026-03-09",
        "requested_delivery_date": "2026-03-27",
        "currency": "USD",
        "lines": lines
        or [
            {
                "line_number": "1",
                "quantity": "24",
                "unit": "EA",
                "unit_price": "9.50",
                "product_ids": {"upc": "061414110013", "vendor_sku": "NW-TS-BLK-S"},
                "description": "CREW TEE BLACK S",
            },
            {
                "line_number": "2",
                "quantity": "4",
                "unit": "EA",
                "product_ids": {"vendor_sku": "NW-SK-WHT-3P"},
            },
        ],
        "meta": {"partner_id": "MEGAMART", "standard": "x12", "version": "004010"},
    }


def soap_settings(emulator: NetSuiteEmulator, **kwargs: Any) -> Any:
    from erpbridge.connectors.netsuite_soap import NetSuiteSoapSettings

    values: dict[str, Any] = {
        "account": ACCOUNT,
        "auth": tba(),
        "wsdl": str(WSDL),
        "sales_order_mapping": SOAP_MAPPING,
        "url": emulator.soap_url,
        "name": "ns-soap",
        "backoff": 0.01,
        "max_backoff": 0.05,
        "page_size": 5,
        "connect_timeout": 5,
        "read_timeout": 10,
    }
    values.update(kwargs)
    return NetSuiteSoapSettings(**values)


@pytest.fixture
def soap(emulator: NetSuiteEmulator) -> Iterator[Any]:
    from erpbridge.connectors.netsuite_soap import NetSuiteSoapConnector

    with NetSuiteSoapConnector(soap_settings(emulator)) as connector:
        yield connector
