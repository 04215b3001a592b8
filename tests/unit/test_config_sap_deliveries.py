"""The configuration of a flow of SAP's deliveries to pick over OData (docs/sap.md): an inbound flow
whose source is an sap_odata endpoint, and ShipNotices delivered to that endpoint."""

from __future__ import annotations

from pathlib import Path

from erpbridge.config import ODATA_DELIVERIES, Place
from tests.unit.test_config import MINIMAL, error_of, load_text

S4 = """
[endpoints.s4]
type = "sap_odata"
url = "https://my123456-api.s4hana.ondemand.com"
mapping = "mappings/sap/purchase-order-to-sales-order.yaml"
auth = { user = "ERPBRIDGE_COMM", password = { env = "S4_PASSWORD" } }

[partners.blueriver3pl]
isa_id = "BLUERIVER3PL"
"""

DELIVERIES = """
[flows.s4_deliveries]
direction = "in"
partner = "blueriver3pl"
source = { endpoint = "s4", shipping_point = "1710" }
target = { endpoint = "erp", folder = "pick-requests" }
documents = ["sap/A_OutbDeliveryHeader"]
every = "1m"
"""

CONFIRMATIONS = """
[flows.confirmations_out]
direction = "out"
partner = "megamart"
source = { endpoint = "erp", folder = "confirmations" }
documents = { ShipNotice = "x12/856" }
also_deliver = [{ endpoint = "s4" }]
every = "1m"
"""


def test_a_flow_of_deliveries_to_pick_reads_an_sap_odata_endpoint(tmp_path: Path) -> None:
    config = load_text(tmp_path, MINIMAL + S4 + DELIVERIES + CONFIRMATIONS)
    flow = config.flows["s4_deliveries"]
    assert flow.reads_odata and not flow.reads_idoc and flow.acks is None
    assert flow.source == Place(endpoint="s4", folder="", shipping_point="1710")
    assert [d.odata for d in flow.documents] == [ODATA_DELIVERIES.split("/")[1]]
    assert config.flows["confirmations_out"].also_deliver == (Place(endpoint="s4", folder=""),)
    every = load_text(tmp_path, MINIMAL + S4 + DELIVERIES.replace(', shipping_point = "1710"', ""))
    assert every.flows["s4_deliveries"].source.shipping_point is None


def test_what_a_flow_of_deliveries_cannot_have_is_refused_naming_the_key(tmp_path: Path) -> None:
    cases = [
        (
            DELIVERIES.replace('["sap/A_OutbDeliveryHeader"]', '["sap/A_OutbDeliveryHeader", "x12/850"]'),
            'flows.s4_deliveries.documents: a flow polling SAP over OData takes documents = ["sap/A_OutbDeliveryHeader"]',
        ),
        (
            DELIVERIES.replace('source = { endpoint = "s4", shipping_point = "1710" }\n', ""),
            "flows.s4_deliveries.source: missing: a flow of SAP's deliveries to pick reads an sap_odata endpoint",
        ),
        (
            DELIVERIES.replace('endpoint = "s4", shipping_point', 'endpoint = "megamart", shipping_point'),
            "the source of a flow of SAP's deliveries to pick must be a sap_odata endpoint",
        ),
        (
            DELIVERIES.replace('"1710"', '"17-10"'),
            'flows.s4_deliveries.source.shipping_point: "17-10" is not an SAP shipping point',
        ),
        (
            DELIVERIES.replace('shipping_point = "1710"', 'folder = "x"'),
            "flows.s4_deliveries.source.folder: [endpoints.s4] is an sap_odata endpoint",
        ),
        (
            DELIVERIES + 'acks = { folder = "x" }\n',
            "flows.s4_deliveries.acks: a flow polling SAP over OData sends no acknowledgments",
        ),
        (
            DELIVERIES.replace(
                'source = { endpoint = "s4", shipping_point = "1710" }',
                'source = { endpoint = "megamart", shipping_point = "1710" }',
            ).replace('["sap/A_OutbDeliveryHeader"]', '["x12/850"]'),
            "flows.s4_deliveries.source.shipping_point: only a flow reading SAP's deliveries to pick",
        ),
        (
            CONFIRMATIONS.replace('{ ShipNotice = "x12/856" }', '{ Invoice = "x12/810" }'),
            "(sap_odata) takes PurchaseOrders (sales orders) and ShipNotices",
        ),
    ]
    for text, expected in cases:
        _, message = error_of(tmp_path, MINIMAL + S4 + text)
        assert expected in message, (expected, message)


def test_two_flows_of_the_same_shipping_point_would_take_each_other_s_deliveries(tmp_path: Path) -> None:
    twice = DELIVERIES + DELIVERIES.replace("s4_deliveries", "s4_again").replace('"pick-requests"', '"other"')
    _, message = error_of(tmp_path, MINIMAL + S4 + twice)
    assert "flows.s4_again.source: [flows.s4_deliveries] already reads" in message
    other = twice.replace(
        '"1710" }\ntarget = { endpoint = "erp", folder = "other"',
        '"1720" }\ntarget = { endpoint = "erp", folder = "other"',
    )
    assert len(load_text(tmp_path, MINIMAL + S4 + other).flows) == 3
