"""What the HTTP connectors (SAP OData, SAP IDoc XML-HTTP, NetSuite REST) read from an answer the
same way: the ``Retry-After`` header and why a connection failed. Pure: strings in, values out."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

_SECONDS = re.compile(r"\d+\Z")
_SECONDS_WITH_FRACTION = re.compile(r"\d+(?:\.\d+)?\Z")
_KNOWN_FAILURES = ("Connection refused", "Name or service not known", "No route to host", "Connection reset")


def retry_after_seconds(value: str | None, *, fractions: bool = False) -> float | None:
    """``Retry-After`` as seconds to wait: delay-seconds (with ``fractions``, a decimal fraction
    too, as NetSuite sends) or an HTTP-date (seconds from now, at least 0); ``None`` when absent or
    unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    if (_SECONDS_WITH_FRACTION if fractions else _SECONDS).match(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, says RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def connection_reason(error: BaseException) -> str:
    """Why a connection failed, in a few words: "connection refused", or the exception's type."""
    text = str(error)
    for known in _KNOWN_FAILURES:
        if known in text:
            return known.lower()
    return type(error).__name__
