"""Observability: Prometheus metrics, health and readiness endpoints, structured JSON logs.

Modules::

    signals.py   what parts of the daemon report that the ledger does not hold: signature failures,
                 webhook requests, reconciler delta, rate-limit headroom, catalog drift (plain,
                 thread-safe, no third-party import: connectors and receivers call it freely)
    metrics.py   MetricsServer(host, port, ledger): /metrics, /healthz, /readyz on a small threaded
                 HTTP server; a collector that reads the ledger when Prometheus scrapes (the only
                 prometheus_client user)
    logs.py      configure_logging(json=..., level=..., secrets=...): one JSON object per line, and
                 a redaction filter that replaces known secrets and obvious secret patterns by ***

See docs/observability.md.
"""

from .logs import Redactor, configure_logging, log_context
from .signals import (
    SIGNALS,
    Signals,
    set_catalog_drift,
    set_rate_limit_headroom,
    set_reconciler_delta,
    signature_failure,
    webhook_request,
)

__all__ = [
    "SIGNALS",
    "Redactor",
    "Signals",
    "configure_logging",
    "log_context",
    "set_catalog_drift",
    "set_rate_limit_headroom",
    "set_reconciler_delta",
    "signature_failure",
    "webhook_request",
]
