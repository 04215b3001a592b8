"""What the HTTP connectors (SAP OData, SAP IDoc XML-HTTP, NetSuite REST) read from an answer the
same way: the ``Retry-After`` header, the rate-limit headroom and why a connection failed. Pure:
strings in, values out."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
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


# (remaining, limit) header pairs, the IETF draft's names first (draft-ietf-httpapi-ratelimit-headers),
# then the X- names API gateways send (SAP API Management, Azure, Kong, Cloudflare)
_RATE_LIMIT_HEADERS = (
    ("RateLimit-Remaining", "RateLimit-Limit"),
    ("X-RateLimit-Remaining", "X-RateLimit-Limit"),
    ("X-Rate-Limit-Remaining", "X-Rate-Limit-Limit"),
)
_RATE_LIMIT_FIELD = re.compile(r"\b(limit|remaining|r|l|q)\s*=\s*(\d+)", re.IGNORECASE)


def rate_limit_headroom(status: int, headers: Mapping[str, str]) -> float | None:
    """The share of the rate-limit budget left after an answer, 0.0 to 1.0: 0.0 on HTTP 429,
    ``remaining / limit`` from the rate-limit headers (``RateLimit-Remaining`` and
    ``RateLimit-Limit``, their ``X-`` variants, the draft's combined ``RateLimit: limit=100,
    remaining=40``, or its later ``RateLimit: "default";r=40`` with ``RateLimit-Policy:
    "default";q=100``), ``None`` when the answer says nothing about it. ``headers`` must look names up
    case-insensitively (requests' headers do)."""
    if status == 429:
        return 0.0
    for remaining_name, limit_name in _RATE_LIMIT_HEADERS:
        remaining, limit = _number(headers.get(remaining_name)), _number(headers.get(limit_name))
        if remaining is not None and limit:
            return min(max(remaining / limit, 0.0), 1.0)
    fields = {k.lower()[0]: int(v) for k, v in _RATE_LIMIT_FIELD.findall(headers.get("RateLimit") or "")}
    policy = {
        k.lower()[0]: int(v) for k, v in _RATE_LIMIT_FIELD.findall(headers.get("RateLimit-Policy") or "")
    }
    limit = fields.get("l") or policy.get("q")
    if limit and "r" in fields:
        return min(max(fields["r"] / limit, 0.0), 1.0)
    return None


def _number(value: str | None) -> float | None:
    text = (value or "").strip().split(",")[0].split(";")[0].strip()  # "100, 100;w=60" -> "100"
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None


def connection_reason(error: BaseException) -> str:
    """Why a connection failed, in a few words: "connection refused", or the exception's type."""
    text = str(error)
    for known in _KNOWN_FAILURES:
        if known in text:
            return known.lower()
    return type(error).__name__
