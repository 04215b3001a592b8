"""``erpbridge sap reverse-goods-issue DELIVERY``: an operator's remedy for a goods issue posted in
error on an S/4HANA delivery (the ``ReverseGoodsIssue`` function import of API_OUTBOUND_DELIVERY_SRV,
SAP's VL09), through an ``sap_odata`` endpoint of the configuration. docs/sap.md.

The reversal is recorded in the ledger as an outbound document of kind ``odata/ReverseGoodsIssue``
(business key the delivery; its payload says who, why and when), linked ``replaces`` the goods issue
erpbridge recorded for the delivery, if any. It is recorded (``written``) before SAP is asked, so a
reversal SAP made is never missing from the ledger: an error leaves it ``quarantined`` with the
reason (run the command again once the cause is fixed; ``erpbridge dlq drop`` the failed one), a
crash leaves it ``written`` (``erpbridge status`` lists it as pending work: look at the delivery in
SAP to know whether it was reversed). A delivery SAP shows no goods issue for is left alone
(exit 1). Exit codes: 0 reversed; 1 nothing to reverse; 2 a usage, configuration or SAP error.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

import click

from ..errors import ConfigError, ErpBridgeError
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
    day = posting_date.date() if posting_date else dt.datetime.now(dt.UTC).date()
    with connector, _open(config) as ledger:
        if connector.delivery(delivery).goods_movement_status != "C":
            click.echo(f"SAP delivery {delivery} has no goods issue posted: nothing reversed")
            sys.exit(1)
        issued = ledger.find(direction=Direction.OUT, kind=GOODS_ISSUE, business_key=delivery, limit=100)
        partner = issued[-1].partner if issued else next(iter(config.partners), "sap")
        body = {
            "delivery": delivery,
            "endpoint": endpoint_name,
            "reversed_on": day.isoformat(),
            "reason": reason,
            "by": getpass.getuser(),
        }
        # recorded before SAP is asked: a process that dies after SAP reversed it leaves this record
        # `written` (erpbridge status lists it as pending), not a reversal the ledger never heard of
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
        try:
            done = connector.reverse_goods_issue(delivery, on=day)
        except ErpBridgeError as exc:
            ledger.transition(
                record.id, State.QUARANTINED, step="deliver", detail={"to": endpoint_name, "error": str(exc)}
            )
            raise
        if not done.reversed:  # someone reversed it in SAP between the read and the call
            ledger.transition(record.id, State.QUARANTINED, step="deliver", detail={"to": endpoint_name})
            ledger.transition(
                record.id, State.DROPPED, step="drop", detail={"reason": "SAP shows no goods issue"}
            )
            click.echo(f"SAP delivery {delivery} has no goods issue posted any more: nothing reversed")
            sys.exit(1)
        ledger.transition(record.id, State.SENT, step="deliver", detail={"to": endpoint_name})
        ledger.transition(record.id, State.ARCHIVED, step="no_ack_expected")
        for doc in issued:
            ledger.link(record.id, doc.id, Relation.REPLACES)
    assert done.reversed_on is not None
    click.echo(
        f"reversed the goods issue of SAP delivery {delivery} (posting date {done.reversed_on}); "
        f"recorded as {record.id[:8]}"
    )


__all__ = ["REVERSAL", "sap_group"]
