"""NetSuite endpoints in the configuration: netsuite_rest (TBA or OAuth 2.0 client credentials) and
netsuite_soap; checked at load, every problem naming file and key, secrets only as references."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from erpbridge.config import NetSuiteEndpoint, SecretRef, build_connector, build_transports, load_config
from erpbridge.connectors.netsuite_auth import ClientCredentialsAuth, TokenAuth
from erpbridge.connectors.netsuite_rest import NetSuiteRestConnector
from erpbridge.connectors.netsuite_soap import NetSuiteSoapConnector
from erpbridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WSDL = ROOT / "tests" / "netsuite" / "wsdl" / "netsuite.wsdl"

BASE = """\
[erpbridge]
isa_id = "NWOUTFITTERS"

[partners.megamart]
isa_id = "MEGAMART"
endpoint = "megamart"

[endpoints.megamart]
type = "local"
root = "var/megamart"

[endpoints.ns]
type = "netsuite_rest"
account = "1234567_SB1"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
concurrency = 3
page_size = 500
timeout = "60s"

[endpoints.ns.auth]
consumer_key = { env = "NS_CONSUMER_KEY" }
consumer_secret = { env = "NS_CONSUMER_SECRET" }
token_id = { env = "NS_TOKEN_ID" }
token_secret = { file = "/run/secrets/ns_token_secret" }

[endpoints.ns_m2m]
type = "netsuite_rest"
account = "1234567"
mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"
auth = { client_id = { env = "NS_CLIENT_ID" }, certificate_id = "Zk3Pq9", private_key = { file = "/run/secrets/ns.pem" }, algorithm = "ES256" }

[endpoints.ns_soap]
type = "netsuite_soap"
account = "1234567_SB1"
url = "http://127.0.0.1:1/services/NetSuitePort_2024_1"
wsdl = "WSDL_PATH"
mapping = "mappings/netsuite/purchase-order-to-soap-sales-order.yaml"
page_size = 50

[endpoints.ns_soap.auth]
consumer_key = { env = "NS_CONSUMER_KEY" }
consumer_secret = { env = "NS_CONSUMER_SECRET" }
token_id = { env = "NS_TOKEN_ID" }
token_secret = { env = "NS_TOKEN_SECRET" }

[flows.orders_to_netsuite]
direction = "in"
partner = "megamart"
target = { endpoint = "ns" }
documents = ["x12/850"]
every = "1m"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text.replace("WSDL_PATH", str(WSDL)), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    return raised.value.message


def test_netsuite_endpoints_load_with_their_settings_and_secret_references(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    ns = config.endpoints["ns"]
    assert isinstance(ns, NetSuiteEndpoint) and ns.type == "netsuite_rest"
    assert (ns.account, ns.concurrency, ns.page_size, ns.timeout) == (
        "1234567_SB1",
        3,
        500,
        timedelta(seconds=60),
    )
    assert ns.auth.token_secret == SecretRef("file", "/run/secrets/ns_token_secret") and not ns.auth.m2m
    m2m = config.endpoints["ns_m2m"]
    assert isinstance(m2m, NetSuiteEndpoint) and m2m.auth.m2m and m2m.auth.algorithm == "ES256"
    soap = config.endpoints["ns_soap"]
    assert isinstance(soap, NetSuiteEndpoint) and soap.wsdl == str(WSDL) and soap.page_size == 50
    assert {k for k, _ in config.secrets()} == {
        "endpoints.ns.auth.consumer_key",
        "endpoints.ns.auth.consumer_secret",
        "endpoints.ns.auth.token_id",
        "endpoints.ns.auth.token_secret",
        "endpoints.ns_m2m.auth.client_id",
        "endpoints.ns_m2m.auth.private_key",
        "endpoints.ns_soap.auth.consumer_key",
        "endpoints.ns_soap.auth.consumer_secret",
        "endpoints.ns_soap.auth.token_id",
        "endpoints.ns_soap.auth.token_secret",
    }
    assert set(build_transports(config)) == {"megamart"}  # connectors are not transports


def test_build_connector_makes_the_rest_and_soap_connectors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    rest = build_connector(config.endpoints["ns"])
    assert isinstance(rest, NetSuiteRestConnector) and isinstance(rest.settings.auth, TokenAuth)
    assert (rest.settings.concurrency, rest.settings.page_size, rest.settings.read_timeout) == (3, 500, 60.0)
    assert rest.settings.auth.token_secret.name == "file:/run/secrets/ns_token_secret"
    m2m = build_connector(config.endpoints["ns_m2m"])
    assert isinstance(m2m, NetSuiteRestConnector) and isinstance(m2m.settings.auth, ClientCredentialsAuth)
    soap = build_connector(config.endpoints["ns_soap"])  # loads the WSDL; connects to nothing
    assert isinstance(soap, NetSuiteSoapConnector) and soap.settings.page_size == 50
    for c in (rest, m2m, soap):
        c.close()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('account = "1234567_SB1"\nmapping', 'account = "12 34"\nmapping', 'endpoints.ns.account: "12 34" is not a NetSuite account ID'),
        ('token_secret = { file = "/run/secrets/ns_token_secret" }', 'token_secret = "ts-literal-secret"', "endpoints.ns.auth.token_secret: a secret cannot be written in the file"),
        ('token_id = { env = "NS_TOKEN_ID" }\ntoken_secret = { file', 'token_secret = { file', "endpoints.ns.auth.token_id: missing"),
        ('algorithm = "ES256"', 'algorithm = "RS256"', 'endpoints.ns_m2m.auth.algorithm: "RS256" is not one of'),
        ('wsdl = "WSDL_PATH"\n', "", "endpoints.ns_soap.wsdl: missing"),
        ("page_size = 50\n", "page_size = 2\n", "endpoints.ns_soap.page_size: 2 is out of range (5-1000)"),
        ("concurrency = 3", "concurrency = 0", "endpoints.ns.concurrency: 0 is out of range"),
        ('mapping = "mappings/netsuite/purchase-order-to-sales-order.yaml"\nconcurrency', 'mapping = "mappings/netsuite/purchase-order-to-soap-sales-order.yaml"\nconcurrency', "a netsuite_rest endpoint needs PurchaseOrder to netsuite/salesOrder"),
        ("page_size = 500", "page_sise = 500", "endpoints.ns.page_sise: unknown key (did you mean page_size?)"),
        ('[endpoints.ns_soap.auth]\n', '[endpoints.ns_soap.auth]\nclient_id = { env = "X" }\n', "endpoints.ns_soap.auth.client_id: unknown key"),
        ('target = { endpoint = "ns" }', 'target = { endpoint = "ns", folder = "x" }', "flows.orders_to_netsuite.target.folder: [endpoints.ns] is an netsuite_rest endpoint"),
    ],
)  # fmt: skip
def test_broken_netsuite_endpoints_name_file_and_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert BASE.count(old) == 1, old
    message = problems(tmp_path, BASE.replace(old, new))
    assert f"config.toml: {expected}" in message or expected in message, message
    assert str(tmp_path / "config.toml") in message or "config.toml" in message
    assert "ts-literal-secret" not in message


SHIPMENTS = """
[endpoints.wms]
type = "folder"
root = "var/wms"

[flows.shipments_out]
direction = "out"
partner = "megamart"
source = { endpoint = "wms", folder = "out" }
documents = { ShipNotice = "x12/856" }
also_deliver = [{ endpoint = "ENDPOINT" }]
every = "1m"
"""


def test_a_ship_notice_flow_also_delivers_to_netsuite_rest_not_soap(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + SHIPMENTS.replace("ENDPOINT", "ns")))
    assert [p.endpoint for p in config.flows["shipments_out"].also_deliver] == ["ns"]
    message = problems(tmp_path, BASE + SHIPMENTS.replace("ENDPOINT", "ns_soap"))
    assert (
        "flows.shipments_out.also_deliver[0]: [endpoints.ns_soap] (netsuite_soap) makes sales orders only"
        in message
    )


ADJUSTMENTS = """
[endpoints.wms]
type = "folder"
root = "var/wms"

[flows.adjustments]
direction = "out"
partner = "megamart"
source = { endpoint = "wms", folder = "adjustments" }
target = { endpoint = "ns" }
documents = ["GoodsMovement"]
layout = "inventory-adjustment"
csv_mapping = "mappings/wms/adjustment-xlsx-to-goods-movement.yaml"
every = "5m"
"""
NS_ADJUSTING = 'timeout = "60s"\nadjustment_account = "58"\nlocations = { "BRL-LOU1" = "1" }\n'


def test_a_flow_of_goods_movements_into_netsuite(tmp_path: Path) -> None:
    text = BASE.replace('timeout = "60s"\n', NS_ADJUSTING, 1) + ADJUSTMENTS
    config = load_config(write(tmp_path, text))
    flow = config.flows["adjustments"]
    assert flow.delivers and [d.kind for d in flow.documents] == ["GoodsMovement"]
    assert not config.flows["orders_to_netsuite"].delivers
    ns = config.endpoints["ns"]
    assert isinstance(ns, NetSuiteEndpoint)
    assert ns.adjustment_account == "58" and dict(ns.locations) == {"BRL-LOU1": "1"}
    connector = build_connector(ns)
    assert isinstance(connector, NetSuiteRestConnector)
    assert connector.settings.locations == {"BRL-LOU1": "1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (  # no account: the endpoint cannot post adjustments
            lambda t: t,
            "flows.adjustments.target: [endpoints.ns] posts GoodsMovements as inventory adjustments: give it adjustment_account",
        ),
        (
            lambda t: t.replace('timeout = "60s"\n', 'timeout = "60s"\nadjustment_account = "58"\n', 1),
            "endpoints.ns.locations: missing: inventory adjustments need adjustment_account and locations",
        ),
        (
            lambda t: t.replace('timeout = "60s"\n', NS_ADJUSTING.replace('"1" }', '"Main" }'), 1),
            'endpoints.ns.locations: expected a table of WMS warehouse = "NetSuite location internal ID"',
        ),
        (
            lambda t: t.replace('timeout = "60s"\n', NS_ADJUSTING, 1).replace(
                'documents = ["GoodsMovement"]', 'documents = { GoodsMovement = "x12/947" }'
            ),
            "flows.adjustments.documents: the target takes canonical documents: expected a list of kinds",
        ),
        (
            lambda t: t.replace('timeout = "60s"\n', NS_ADJUSTING, 1).replace(
                'target = { endpoint = "ns" }', 'target = { endpoint = "ns_soap" }'
            ),
            "or an ERP that takes the documents) must be a local, sftp, netsuite_rest or sap_idoc endpoint",
        ),
    ],
)
def test_goods_movement_flows_refused(tmp_path: Path, change: object, message: str) -> None:
    assert callable(change)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, change(BASE + ADJUSTMENTS)))
    assert message in str(info.value)
