"""The record of a paused endpoint (:meth:`erpbridge.ledger.Ledger.pause_endpoint`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EndpointPause:
    """An endpoint erpbridge sends nothing to until its credential is replaced or an operator resumes it.

    Fields:
        endpoint: the endpoint's name in the configuration
        paused_at: when it was paused (UTC)
        reason: the error that paused it (names credentials by their references only)
        fingerprint: a hash of the credential's values when it was paused (never the values)
        document_id: the document whose delivery was refused, if any
        worker: the process that paused it
    """

    endpoint: str
    paused_at: datetime
    reason: str
    fingerprint: str
    document_id: str | None
    worker: str


__all__ = ["EndpointPause"]
