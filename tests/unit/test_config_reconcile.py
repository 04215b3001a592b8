"""``[reconcile.inventory.erp.<endpoint>]`` refuses what would make ``reconcile inventory --fix`` post
one ERP location's difference more than once."""

from __future__ import annotations

from pathlib import Path

from erpbridge.config import load_config
from tests.unit.test_config_netsuite import BASE, problems, write

ERP = """
[reconcile.inventory.erp.ns]
locations = { LOCATIONS }
adjustment_account = "58"
"""


def test_two_wms_locations_may_not_share_one_erp_location(tmp_path: Path) -> None:
    # each WMS location is compared with the whole on-hand of its ERP location and --fix posts the
    # difference per WMS location: WH1 10 and WH2 5 against NetSuite's 15 would post -5 and -10
    text = BASE + ERP.replace("LOCATIONS", '"WH1" = "1", "WH2" = "1"')
    message = problems(tmp_path, text)
    assert "reconcile.inventory.erp.ns.locations" in message
    assert "WH1" in message and "WH2" in message and '"1"' in message
    one = load_config(write(tmp_path, BASE + ERP.replace("LOCATIONS", '"WH1" = "1", "WH2" = "2"')))
    assert dict(one.reconcile.erps[0].locations) == {"WH1": "1", "WH2": "2"}
