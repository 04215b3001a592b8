"""The signals that parts of the daemon report in-process, for the metrics endpoint to show.

Most of what the metrics show comes from the ledger when Prometheus scrapes (documents received,
their outcomes, latencies, dead letters): it survives restarts and every process agrees. What the
ledger does not hold is reported here, by the part of the daemon that sees it::

    from erpbridge.observability import signals

    signals.webhook_request("shopify", "accepted")     # the webhook receiver, every request
    signals.signature_failure("shopify")               # ... and when the HMAC does not verify
    signals.set_rate_limit_headroom("netsuite:prod", remaining / limit)   # a connector
    signals.set_reconciler_delta("inventory", "megamart", 3)              # the reconciler
    signals.set_catalog_drift("netsuite:prod", 12)                        # the reconciler

The module functions report to :data:`SIGNALS`, the process's store, which the metrics endpoint
reads. Each call is a dictionary update under a lock: cheap enough for any hot path, and a no-op in
effect when no endpoint is configured. Nothing here raises for a bad value: a metric must never
break a delivery (values are clamped or ignored, as each method says). Tests use their own
:class:`Signals` and hand it to the metrics server.

Counters start at 0 when the process starts (Prometheus's ``rate()`` handles the reset); gauges
are absent until first set, and keep their last value.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field

#: The outcomes a webhook receiver reports (others are accepted too, as given).
WEBHOOK_OUTCOMES = ("accepted", "duplicate", "bad_signature", "refused", "error")


@dataclass(frozen=True)
class SignalsSnapshot:
    """A consistent copy of the signals at one moment (what one scrape shows)."""

    signature_failures: dict[str, float] = field(default_factory=dict)  # source -> count
    webhook_requests: dict[tuple[str, str], float] = field(default_factory=dict)  # (source, outcome)
    reconciler_delta: dict[tuple[str, str], float] = field(default_factory=dict)  # (job, partner)
    rate_limit_headroom: dict[str, float] = field(default_factory=dict)  # connector -> ratio 0..1
    catalog_drift: dict[str, float] = field(default_factory=dict)  # connector -> SKUs


def _label(value: object) -> str:
    return str(value)


def _finite(value: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Signals:
    """A thread-safe store of the in-process signals. See the module's documentation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signature_failures: Counter[str] = Counter()
        self._webhook_requests: Counter[tuple[str, str]] = Counter()
        self._reconciler_delta: dict[tuple[str, str], float] = {}
        self._headroom: dict[str, float] = {}
        self._drift: dict[str, float] = {}

    def signature_failure(self, source: str) -> None:
        """An inbound webhook from ``source`` whose signature did not verify (it was dropped).

        Call :meth:`webhook_request` too (outcome ``bad_signature``): the failure *ratio* the
        seeds alert on is this counter over that one."""
        with self._lock:
            self._signature_failures[_label(source)] += 1

    def webhook_request(self, source: str, outcome: str) -> None:
        """Every request the webhook receiver answered, by ``source`` and ``outcome`` (one of
        :data:`WEBHOOK_OUTCOMES`, or another word). The source's signature-failure counter
        appears at 0 with its first request, so that ``rate()`` sees the first failure."""
        with self._lock:
            self._webhook_requests[(_label(source), _label(outcome))] += 1
            self._signature_failures[_label(source)] += 0

    def set_reconciler_delta(self, job: str, partner: str, value: float) -> None:
        """What the reconciler's last run of ``job`` found for ``partner`` that the ledger, ERP or
        WMS had not (records missing on one side). A value that is not a finite number is ignored."""
        number = _finite(value)
        if number is not None:
            with self._lock:
                self._reconciler_delta[(_label(job), _label(partner))] = number

    def set_rate_limit_headroom(self, connector: str, value: float) -> None:
        """The share of ``connector``'s rate-limit budget still available, from 0.0 (none) to 1.0
        (all), as the last response's headers said (e.g. ``remaining / limit``). Clamped to
        [0, 1]; a value that is not a finite number is ignored."""
        number = _finite(value)
        if number is not None:
            with self._lock:
                self._headroom[_label(connector)] = min(max(number, 0.0), 1.0)

    def set_catalog_drift(self, connector: str, value: float) -> None:
        """How many SKUs the reconciler found with a weight, dimensions or HS code in ``connector``
        that differ from the item master. A value that is not a finite number is ignored."""
        number = _finite(value)
        if number is not None:
            with self._lock:
                self._drift[_label(connector)] = number

    def snapshot(self) -> SignalsSnapshot:
        """A copy of everything, taken under the lock."""
        with self._lock:
            return SignalsSnapshot(
                signature_failures=dict(self._signature_failures),
                webhook_requests=dict(self._webhook_requests),
                reconciler_delta=dict(self._reconciler_delta),
                rate_limit_headroom=dict(self._headroom),
                catalog_drift=dict(self._drift),
            )


#: The process's signals: what the module functions below report to, and the metrics server reads.
SIGNALS = Signals()

signature_failure = SIGNALS.signature_failure
webhook_request = SIGNALS.webhook_request
set_reconciler_delta = SIGNALS.set_reconciler_delta
set_rate_limit_headroom = SIGNALS.set_rate_limit_headroom
set_catalog_drift = SIGNALS.set_catalog_drift

__all__ = [
    "SIGNALS",
    "WEBHOOK_OUTCOMES",
    "Signals",
    "SignalsSnapshot",
    "set_catalog_drift",
    "set_rate_limit_headroom",
    "set_reconciler_delta",
    "signature_failure",
    "webhook_request",
]
