"""``erpbridge sap reverse-goods-issue DELIVERY``: an operator's remedy for a goods issue posted in
error on an S/4HANA delivery (the ``ReverseGoodsIssue`` function import of API_OUTBOUND_DELIVERY_SRV,
SAP's VL09), through an ``sap_odata`` endpoint of the configuration. docs/sap.md.

The reversal is recorded in the ledger as an outbound document of kind ``odata/ReverseGoodsIssue``
(business key the delivery; its payload says who, why and when), linked ``replaces`` the goods issue
erpbridge recorded for the delivery, if any. A delivery SAP shows no goods issue for is left alone
(exit 1). Exit codes: 0 reversed; 1 nothing to reverse; 2 a usage, configuration or SAP error.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

import click

from ..errors import ConfigError
from .ops import _config_option, _guarded, _load, _open

#: The ledger kind of a reversal made with this command.
REVERSAL = "odata/ReverseGoodsIssue"


@click.group("sap")
def sap_group() -> None:
    """Operator remedies on SAP over OData (docs/sap.md)."""


@sap_group.command("reverse-goods-issue")
@click.argument("delivery")
@click.option(
    "--endpoint", "endpoint_name", required=True, help="The sap_odata endpoint of the S/4HANA system."
)
@click.option("--reason", required=True, help="Why (kept in the ledger).")
@click.option(
    "--date",
    "posting_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The reversal's posting date (default: today, UTC).",
)
@_config_option
@_guarded
def reverse_goods_issue_cmd(
    delivery: str,
    endpoint_name: str,
    reason: str,
    posting_date: dt.datetime | None,
    config_file: Path | None,
) -> None:
    """Reverse the goods issue of SAP delivery DELIVERY (ReverseGoodsIssue, SAP's VL09)."""
    from ..config import SapODataEndpoint, build_connector
    from ..connectors.sap_odata import SapODataConnector
    from ..ledger import Direction, Relation, State
    from ..pipeline.warehouse import GOODS_ISSUE

    config = _load(config_file)
    endpoint = config.endpoints.get(endpoint_name)
    if not isinstance(endpoint, SapODataEndpoint):
        known = ", ".join(n for n, e in config.endpoints.items() if isinstance(e, SapODataEndpoint)) or "none"
        raise ConfigError(
            f"{config.source}: [endpoints.{endpoint_name}] is not an sap_odata endpoint (sap_odata endpoints: {known})"
        )
    connector = build_connector(endpoint)
    assert isinstance(connector, SapODataConnector)
    with connector:
        done = connector.reverse_goods_issue(delivery, on=posting_date.date() if posting_date else None)
    if not done.reversed:
        click.echo(f"SAP delivery {delivery} has no goods issue posted: nothing reversed")
        sys.exit(1)
    assert done.reversed_on is not None
    body = {
        "delivery": delivery,
        "endpoint": endpoint_name,
        "reversed_on": done.reversed_on.isoformat(),
        "reason": reason,
        "by": getpass.getuser(),
    }
    with _open(config) as ledger:
        issued = ledger.find(direction=Direction.OUT, kind=GOODS_ISSUE, business_key=delivery, limit=100)
        partner = issued[-1].partner if issued else next(iter(config.partners), "sap")
        record = ledger.record_outbound(
            partner,
            REVERSAL,
            payload=(json.dumps(body, indent=2, sort_keys=True) + "\n").encode(),
            levels=(),
            state=State.WRITTEN,
            business_key=delivery,
            idempotency_key=f"reverse:{endpoint_name}:{delivery}:{dt.datetime.now(dt.UTC).isoformat()}",
            step="reverse_goods_issue",
            detail={"reason": reason, "by": body["by"], "reversed_on": body["reversed_on"]},
        )
        ledger.transition(record.id, State.SENT, step="deliver", detail={"to": endpoint_name})
        ledger.transition(record.id, State.ARCHIVED, step="no_ack_expected")
        for doc in issued:
            ledger.link(record.id, doc.id, Relation.REPLACES)
    click.echo(
        f"reversed the goods issue of SAP delivery {delivery} (posting date {done.reversed_on}); "
        f"recorded as {record.id[:8]}"
    )


__all__ = ["REVERSAL", "sap_group"]
