"""SAP endpoints in the configuration: sap_odata and sap_idoc (file and XML HTTP ports), IDoc flows
and also_deliver; checked at load, every problem naming file and key, secrets only as references."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from erpbridge.config import (
    IdocControl,
    SapIdocEndpoint,
    SapODataEndpoint,
    SecretRef,
    build_connector,
    build_transport,
    build_transports,
    check_environment,
    load_config,
)
from erpbridge.connectors import FolderConnector
from erpbridge.connectors.sap_idoc import SapIdocConnector
from erpbridge.connectors.sap_odata import BasicAuth, OAuthClientCredentials, SapODataConnector
from erpbridge.errors import ConfigError
from erpbridge.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Sap-7731!"

BASE = """\
[erpbridge]
isa_id = "NWOUTFITTERS"

[partners.megamart]
isa_id = "MEGAMART"
endpoint = "megamart"

[partners.blueriver3pl]
isa_id = "BLUERIVER3PL"
endpoint = "megamart"

[endpoints.megamart]
type = "local"
root = "var/megamart"

[endpoints.s4_files]
type = "local"
root = "var/s4"

[endpoints.wms]
type = "folder"
root = "var/wms"

[endpoints.s4]
type = "sap_odata"
url = "https://my123456-api.s4hana.ondemand.com"
client = "100"
mapping = "mappings/sap/purchase-order-to-sales-order.yaml"
page_size = 200
timeout = "30s"

[endpoints.s4.auth]
user = "ERPBRIDGE_COMM"
password = { env = "S4_PASSWORD" }

[endpoints.s4_port]
type = "sap_idoc"
port = "file"
transport = "s4_files"
folder = "in"

[endpoints.s4_port.control]
SNDPOR = "ERPBRIDGE"
SNDPRT = "LS"
SNDPRN = "ERPBRIDGE"
RCVPOR = "SAPS4P"
RCVPRT = "LS"
RCVPRN = "S4PCLNT100"
MANDT = "100"

[endpoints.s4_port.mappings]
PurchaseOrder = "mappings/idoc/purchase-order-to-orders05.yaml"
ShipNotice = "mappings/idoc/ship-notice-to-shpcon.delvry07.yaml"

[endpoints.s4_http]
type = "sap_idoc"
port = "xml_http"
url = "https://s4.example:44300/sap/bc/idoc_xml"
client = "100"
connect_timeout = "5s"
control = { SNDPRN = "ERPBRIDGE", RCVPRN = "S4PCLNT100" }
mappings = { PurchaseOrder = "mappings/idoc/purchase-order-to-orders05.yaml" }
auth = { user = "ERPBRIDGE_IDOC", password = { file = "/run/secrets/s4_idoc" } }

[flows.orders_to_sap]
direction = "in"
partner = "megamart"
target = { endpoint = "s4_port" }
documents = ["x12/850"]
every = "1m"

[flows.shpord_in]
direction = "in"
partner = "blueriver3pl"
source = { endpoint = "s4_port", folder = "out", archive = "out/archive" }
target = { endpoint = "wms", folder = "pick-requests" }
documents = ["idoc/SHPORD.DELVRY07"]
every = "1m"

[flows.confirmations_out]
direction = "out"
partner = "megamart"
source = { endpoint = "wms", folder = "confirmations" }
documents = { ShipNotice = "x12/856" }
also_deliver = [{ endpoint = "s4_port" }]
every = "1m"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "erpbridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).replace(f"{path}: ", "")


def test_sap_endpoints_and_flows_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    s4 = config.endpoints["s4"]
    assert isinstance(s4, SapODataEndpoint)
    assert (s4.url, s4.client, s4.page_size, s4.timeout) == (
        "https://my123456-api.s4hana.ondemand.com",
        "100",
        200,
        timedelta(seconds=30),
    )
    assert s4.connect_timeout == timedelta(seconds=10) and s4.verify is True
    assert s4.mapping == ROOT / "mappings" / "sap" / "purchase-order-to-sales-order.yaml"  # shipped
    assert s4.auth.user == "ERPBRIDGE_COMM" and s4.auth.password == SecretRef("env", "S4_PASSWORD")
    port = config.endpoints["s4_port"]
    assert isinstance(port, SapIdocEndpoint)
    assert (port.port, port.transport, port.folder) == ("file", "s4_files", "in")
    assert port.control == IdocControl(
        SNDPOR="ERPBRIDGE",
        SNDPRT="LS",
        SNDPRN="ERPBRIDGE",
        RCVPOR="SAPS4P",
        RCVPRT="LS",
        RCVPRN="S4PCLNT100",
        MANDT="100",
    )
    assert dict(port.mappings) == {
        "PurchaseOrder": ROOT / "mappings" / "idoc" / "purchase-order-to-orders05.yaml",
        "ShipNotice": ROOT / "mappings" / "idoc" / "ship-notice-to-shpcon.delvry07.yaml",
    }
    http = config.endpoints["s4_http"]
    assert isinstance(http, SapIdocEndpoint) and http.port == "xml_http"
    assert (http.url, http.client, http.connect_timeout) == (
        "https://s4.example:44300/sap/bc/idoc_xml",
        "100",
        timedelta(seconds=5),
    )
    assert http.control.fields() == {"SNDPRN": "ERPBRIDGE", "RCVPRN": "S4PCLNT100"}
    assert http.auth is not None and http.auth.password == SecretRef("file", "/run/secrets/s4_idoc")
    assert dict(config.secrets()) == {
        "endpoints.s4.auth.password": SecretRef("env", "S4_PASSWORD"),
        "endpoints.s4_http.auth.password": SecretRef("file", "/run/secrets/s4_idoc"),
    }
    orders = config.flows["orders_to_sap"]
    assert (orders.target.endpoint, orders.target.folder, orders.acks) == ("s4_port", "", orders.acks)
    assert orders.acks is not None and orders.acks.endpoint == "megamart"  # X12 in: our 997s
    shpord = config.flows["shpord_in"]
    assert shpord.reads_idoc and shpord.acks is None
    assert [(d.idoc, d.message_type, d.idoc_type) for d in shpord.documents] == [
        ("SHPORD.DELVRY07", "SHPORD", "DELVRY07")
    ]
    assert (shpord.source.endpoint, shpord.source.folder, shpord.source.archive) == (
        "s4_port",
        "out",
        "out/archive",
    )
    out = config.flows["confirmations_out"]
    assert [(p.endpoint, p.folder) for p in out.also_deliver] == [("s4_port", "")]
    assert not out.reads_idoc


def test_sap_oauth_a_ca_bundle_and_service_paths(tmp_path: Path) -> None:
    text = BASE.replace(
        """[endpoints.s4.auth]
user = "ERPBRIDGE_COMM"
password = { env = "S4_PASSWORD" }""",
        """verify = "certs/corporate-ca.pem"
delivery_service = "/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0003"

[endpoints.s4.auth]
token_url = "https://my123456-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token"
client_id = "ERPBRIDGE_OAUTH"
client_secret = { env = "S4_CLIENT_SECRET" }
scope = "API_SALES_ORDER_SRV_0001\"""",
    )
    config = load_config(write(tmp_path, text))
    s4 = config.endpoints["s4"]
    assert isinstance(s4, SapODataEndpoint)
    assert s4.verify == tmp_path / "certs" / "corporate-ca.pem"
    assert s4.delivery_service == "/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0003"
    assert (s4.auth.client_id, s4.auth.scope, s4.auth.user) == (
        "ERPBRIDGE_OAUTH",
        "API_SALES_ORDER_SRV_0001",
        None,
    )
    with pytest.raises(ConfigError) as caught:
        check_environment(config)
    message = str(caught.value)
    assert "endpoints.s4.verify:" in message and "corporate-ca.pem is not a file" in message
    assert "endpoints.s4.auth.client_secret: environment variable S4_CLIENT_SECRET" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'url = "https://my123456-api.s4hana.ondemand.com"',
            'url = "https://my123456-api.s4hana.ondemand.com/sap/opu/odata/sap/API_SALES_ORDER_SRV"',
            'endpoints.s4.url: "https://my123456-api.s4hana.ondemand.com/sap/opu/odata/...": the host only '
            "(https://my123456-api.s4hana.ondemand.com); erpbridge adds the service paths",
        ),
        (
            'client = "100"\nmapping',
            'client = "1000"\nmapping',
            'endpoints.s4.client: "1000" is not an SAP client',
        ),
        ("page_size = 200", "page_size = 0", "endpoints.s4.page_size: 0 is out of range (1-5000)"),
        (
            'mapping = "mappings/sap/purchase-order-to-sales-order.yaml"',
            'mapping = "mappings/idoc/purchase-order-to-orders05.yaml"',
            "purchase-order-to-orders05.yaml maps PurchaseOrder to idoc/ORDERS05; an sap_odata endpoint needs "
            "PurchaseOrder to sap/A_SalesOrder",
        ),
        (
            'mapping = "mappings/sap/purchase-order-to-sales-order.yaml"',
            'mapping = "mappings/sap/nope.yaml"',
            "endpoints.s4.mapping: ",
        ),
        (
            'user = "ERPBRIDGE_COMM"\npassword = { env = "S4_PASSWORD" }',
            'user = "ERPBRIDGE_COMM"\npassword = { env = "S4_PASSWORD" }\ntoken_url = "https://x/t"',
            "endpoints.s4.auth.user: give user and password (basic) or token_url, client_id and client_secret "
            "(OAuth), not both",
        ),
        ('port = "file"', 'port = "ftp"', 'endpoints.s4_port.port: "ftp" is not one of "file", "xml_http"'),
        ('port = "file"', "", "endpoints.s4_port.port: missing"),
        ('folder = "in"', 'folder = "in"\nurl = "https://x/y"', "endpoints.s4_port.url: unknown key"),
        (
            'transport = "s4_files"',
            'transport = "s4"',
            "endpoints.s4_port.transport: [endpoints.s4] is a sap_odata endpoint; a file port's folders are on a "
            "local or sftp endpoint",
        ),
        (
            'transport = "s4_files"',
            'transport = "s4_file"',
            "endpoints.s4_port.transport: no [endpoints.s4_file] in this file (did you mean s4_files?)",
        ),
        ('SNDPRT = "LS"', 'SNDPRT = "LSX"', 'endpoints.s4_port.control.SNDPRT: "LSX" must be 1-2 printable'),
        (
            'SNDPRT = "LS"',
            'SNDPRT = "ls"',
            'endpoints.s4_port.control.SNDPRT: "ls": partner types are upper case',
        ),
        ('MANDT = "100"', 'MANDT = "1x0"', 'endpoints.s4_port.control.MANDT: "1x0" is not an SAP client'),
        ('RCVPRN = "S4PCLNT100"', 'RCVPRM = "S4PCLNT100"', "endpoints.s4_port.control.RCVPRM: unknown key"),
        (
            'ShipNotice = "mappings/idoc/ship-notice-to-shpcon.delvry07.yaml"',
            'ShipNotice = "mappings/idoc/purchase-order-to-orders05.yaml"',
            "endpoints.s4_port.mappings.ShipNotice: ",
        ),
        (
            'ShipNotice = "mappings/idoc/ship-notice-to-shpcon.delvry07.yaml"',
            'ShipNotices = "mappings/idoc/ship-notice-to-shpcon.delvry07.yaml"',
            "endpoints.s4_port.mappings.ShipNotices: unknown key (did you mean ShipNotice?)",
        ),
        (
            'url = "https://s4.example:44300/sap/bc/idoc_xml"',
            'url = "https://s4.example:44300"',
            'endpoints.s4_http.url: "https://s4.example:44300": give the service\'s path too',
        ),
        (
            'url = "https://s4.example:44300/sap/bc/idoc_xml"',
            'url = "https://s4.example:44300/sap/bc/idoc_xml?sap-client=100"',
            'endpoints.s4_http.url: "https://s4.example:44300/sap/bc/idoc_xml?sap-client=100": no query',
        ),
        (
            'auth = { user = "ERPBRIDGE_IDOC", password = { file = "/run/secrets/s4_idoc" } }',
            "",
            "endpoints.s4_http.auth: missing",
        ),
        (
            'auth = { user = "ERPBRIDGE_IDOC", password = { file = "/run/secrets/s4_idoc" } }',
            'auth = { user = "ERPBRIDGE_IDOC", token_url = "https://x/t" }',
            "endpoints.s4_http.auth.token_url: unknown key",
        ),
        (
            'documents = ["idoc/SHPORD.DELVRY07"]',
            'documents = ["idoc/SHPORD.DELVRY09"]',
            'flows.shpord_in.documents[0]: "idoc/SHPORD.DELVRY09": erpbridge has no IDoc schema for basic type '
            '"DELVRY09"',
        ),
        (
            'documents = ["idoc/SHPORD.DELVRY07"]',
            'documents = ["idoc/SHPORD.DELVRY07", "x12/940"]',
            'flows.shpord_in.documents[1]: "x12/940": a flow reads X12 or SAP IDocs, not both',
        ),
        (
            'documents = ["idoc/SHPORD.DELVRY07"]',
            'documents = ["idoc/SHPORD.DELVRY07"]\nacks = { folder = "x" }',
            "flows.shpord_in.acks: an IDoc flow sends no acknowledgments",
        ),
        (
            'source = { endpoint = "s4_port", folder = "out", archive = "out/archive" }',
            'source = { endpoint = "s4_http", folder = "out" }',
            "flows.shpord_in.source.endpoint: [endpoints.s4_http] is an xml_http port; erpbridge reads IDocs "
            "from a file port",
        ),
        (
            'source = { endpoint = "s4_port", folder = "out", archive = "out/archive" }',
            'source = { endpoint = "s4", folder = "out" }',
            "flows.shpord_in.source.endpoint: [endpoints.s4] is a sap_odata endpoint; an inbound IDoc flow's "
            "source (SAP's IDoc XML) must be a local, sftp or sap_idoc endpoint",
        ),
        (
            'source = { endpoint = "s4_port", folder = "out", archive = "out/archive" }',
            'source = { endpoint = "s4_files", folder = "in" }',
            'flows.orders_to_sap.target: folder "in" of [endpoints.s4_files] is the source of [flows.shpord_in]',
        ),
        (
            'target = { endpoint = "s4_port" }',
            'target = { endpoint = "s4_port", folder = "in" }',
            "flows.orders_to_sap.target.folder: [endpoints.s4_port] is an sap_idoc endpoint: its folder says "
            "where documents go; remove this key",
        ),
        (
            'source = { endpoint = "wms", folder = "confirmations" }',
            'source = { endpoint = "s4_port", folder = "confirmations" }',
            "flows.confirmations_out.source.endpoint: [endpoints.s4_port] is a sap_idoc endpoint; an outbound "
            "flow's source (canonical documents) must be a folder endpoint",
        ),
        (
            'documents = { ShipNotice = "x12/856" }\nalso_deliver = [{ endpoint = "s4_port" }]',
            'documents = { InventoryAdvice = "x12/846" }\nalso_deliver = [{ endpoint = "s4" }]',
            "flows.confirmations_out.also_deliver[0]: [endpoints.s4] (sap_odata) takes PurchaseOrders (sales "
            "orders) and ShipNotices (a delivery's picking and goods issue); this flow carries InventoryAdvice",
        ),
        (
            'also_deliver = [{ endpoint = "s4_port" }]',
            'also_deliver = [{ endpoint = "s4_http" }]',
            "flows.confirmations_out.also_deliver[0]: [endpoints.s4_http] has no IDoc mapping for ShipNotice: add "
            '[endpoints.s4_http.mappings] ShipNotice = "mappings/idoc/..."',
        ),
        (
            'also_deliver = [{ endpoint = "s4_port" }]',
            'also_deliver = [{ endpoint = "megamart" }]',
            "flows.confirmations_out.also_deliver.0.endpoint: [endpoints.megamart] is a local endpoint; a place a "
            "flow also delivers to must be a folder, netsuite_rest, netsuite_soap, sap_idoc, sap_odata or wms_flatfile "
            "endpoint",
        ),
        (
            'also_deliver = [{ endpoint = "s4_port" }]',
            'also_deliver = [{ endpoint = "wms", folder = "confirmations" }]',
            'flows.confirmations_out.also_deliver[0]: folder "confirmations" of [endpoints.wms] is the source of '
            "[flows.confirmations_out]",
        ),
        (
            'also_deliver = [{ endpoint = "s4_port" }]',
            'also_deliver = "s4_port"',
            'flows.confirmations_out.also_deliver: expected a list of places such as [{ endpoint = "s4_idoc" }]',
        ),
    ],
)
def test_broken_sap_configs_name_the_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE
    message = error_of(tmp_path, BASE.replace(old, new, 1))
    assert expected in message, message


def test_secrets_are_references_and_never_repeated(tmp_path: Path) -> None:
    for old, new, key in (
        ('password = { env = "S4_PASSWORD" }', f'password = "{SECRET}"', "endpoints.s4.auth.password"),
        (
            'password = { file = "/run/secrets/s4_idoc" }',
            f'password = "{SECRET}"',
            "endpoints.s4_http.auth.password",
        ),
    ):
        message = error_of(tmp_path, BASE.replace(old, new, 1))
        assert f"{key}: a secret cannot be written in the file" in message
        assert SECRET not in message


def test_build_connector_for_each_endpoint_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S4_PASSWORD", SECRET)
    config = load_config(write(tmp_path, BASE))
    with pytest.raises(ConfigError, match="not a transport"):
        build_transport(config.endpoints["s4_port"])
    assert set(build_transports(config)) == {"megamart", "s4_files", "wms"}
    odata = build_connector(config.endpoints["s4"])
    assert isinstance(odata, SapODataConnector) and odata.name == "s4"
    assert isinstance(odata.settings.auth, BasicAuth) and odata.settings.auth.password.reveal() == SECRET
    assert (odata.settings.client, odata.settings.page_size, odata.settings.read_timeout) == (
        "100",
        200,
        30.0,
    )
    assert SECRET not in repr(odata.settings)
    folder = build_connector(config.endpoints["wms"], folder="pick-requests")
    assert isinstance(folder, FolderConnector) and folder.folder == "pick-requests"
    with pytest.raises(ConfigError, match="needs the ledger"):
        build_connector(config.endpoints["s4_port"])
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        transport = build_transport(config.endpoints["s4_files"])
        idoc = build_connector(
            config.endpoints["s4_port"], transport=transport, ledger=ledger, partner="megamart"
        )
        assert isinstance(idoc, SapIdocConnector)
        assert idoc.settings.control["RCVPRN"] == "S4PCLNT100" and idoc.settings.folder == "in"
        http = build_connector(config.endpoints["s4_http"], ledger=ledger, partner="megamart")
        assert isinstance(http, SapIdocConnector) and http.settings.url.endswith("/sap/bc/idoc_xml")
        http.close()
    oauth = BASE.replace(
        'user = "ERPBRIDGE_COMM"\npassword = { env = "S4_PASSWORD" }',
        'token_url = "https://x.example/sap/bc/sec/oauth2/token"\nclient_id = "C"\n'
        'client_secret = { env = "S4_PASSWORD" }',
    )
    connector = build_connector(load_config(write(tmp_path, oauth)).endpoints["s4"])
    assert isinstance(connector, SapODataConnector)
    assert isinstance(connector.settings.auth, OAuthClientCredentials)
