"""The nightly reconciliation (``erpbridge reconcile``, the daemon's ``reconciliation`` batch): the
ledger against the ERPs, the WMS and the partners, to catch what no event reported. docs/reconciliation.md.

Pure parts (inputs in, discrepancies out): :mod:`.checks` (orders, acknowledgments, shipments),
:mod:`.inventory` (the vectorised stock comparison), :mod:`.report` (CSV and HTML). The job runner
(:mod:`.jobs`) gathers the inputs from the ledger and the connectors, records each run and its
discrepancies in the ledger, and applies the remedies (``--fix``).
"""

from .checks import (
    JOBS,
    REMEDY_KEY,
    InboundOrder,
    InventoryContext,
    Remedies,
    SentDocument,
    Shipment,
    check_acks,
    check_orders,
    check_shipments,
    inventory_discrepancies,
)
from .inventory import ANY_LOCATION, Differences, InventoryComparison, StockTable, Tolerance, compare
from .report import report_csv, report_html
from .result import JobResult, exit_status

__all__ = [
    "ANY_LOCATION",
    "JOBS",
    "REMEDY_KEY",
    "Differences",
    "InboundOrder",
    "InventoryComparison",
    "InventoryContext",
    "JobResult",
    "Remedies",
    "SentDocument",
    "Shipment",
    "StockTable",
    "Tolerance",
    "check_acks",
    "check_orders",
    "check_shipments",
    "compare",
    "exit_status",
    "inventory_discrepancies",
    "report_csv",
    "report_html",
]
