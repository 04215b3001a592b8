"""What the NetSuite REST and SOAP connectors share (standard library only): account IDs as realm and
host, the per-account concurrency gate, external IDs derived from delivery keys, NetSuite's error
codes sorted into transient and terminal, and item references resolved through a cross-reference.

NetSuite account IDs come in two spellings. The realm of OAuth 1.0 and the ``account`` of a
tokenPassport are upper case with an underscore (``1234567_SB1`` for a sandbox); the host names of
the account's API domains are lower case with a hyphen (``1234567-sb1.suitetalk.api.netsuite.com``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

from ..errors import ConfigError, TransformError

_ACCOUNT = re.compile(r"^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)?$")

#: NetSuite error codes that mean "not now": concurrency governance and request limits. The REST
#: service answers HTTP 429; SOAP answers ExceededConcurrentRequestLimitFault (WS_REQUEST_BLOCKED)
#: or ExceededRequestLimitFault (WS_CONCUR_SESSION_DISALLWD) ("Errors Related to Concurrency
#: Violations", NetSuite Help); RESTlets answer SSS_REQUEST_LIMIT_EXCEEDED.
TRANSIENT_CODES: Final = frozenset(
    {
        "CONCURRENCY_LIMIT_EXCEEDED",
        "CONCURRENT_REQUEST_LIMIT_EXCEEDED",
        "WS_CONCUR_SESSION_DISALLWD",
        "WS_REQUEST_BLOCKED",
        "SSS_REQUEST_LIMIT_EXCEEDED",
        "EXCEEDED_RATE_LIMIT",
        "UNEXPECTED_ERROR",
        "SERVER_ERROR",
        "RCRD_LOCKED_BY_WF",  # a workflow holds the record: it is released when the workflow ends
    }
)

#: NetSuite error codes that mean the credentials were refused (expired, revoked, wrong).
AUTH_CODES: Final = frozenset(
    {
        "INVALID_LOGIN",
        "INVALID_LOGIN_ATTEMPT",
        "INVALID_LOGIN_CREDENTIALS",
        "INVALID_CREDENTIALS",
        "INVALID_TOKEN",
        "INVALID_SESSION",
        "TOKEN_REVOKED",
        "USER_DISABLED",
        "INVALID_ACCOUNT",
        "FEATURE_DISABLED",
        "INSUFFICIENT_PERMISSION",
    }
)


def realm(account: str) -> str:
    """The account ID as OAuth 1.0's realm and the tokenPassport's account: ``1234567_SB1``."""
    _check(account)
    return account.strip().replace("-", "_").upper()


def host_label(account: str) -> str:
    """The account ID as its API domains spell it: ``1234567-sb1``."""
    _check(account)
    return account.strip().replace("_", "-").lower()


def rest_url(account: str) -> str:
    """The account's REST (and SOAP) host: ``https://1234567-sb1.suitetalk.api.netsuite.com``."""
    return f"https://{host_label(account)}.suitetalk.api.netsuite.com"


def _check(account: str) -> None:
    if not isinstance(account, str) or not _ACCOUNT.match(account.strip()):
        raise ConfigError(
            f"a NetSuite account ID is letters and digits, with _SB1 or -sb1 for a sandbox, not {account!r} "
            "(Setup > Company > Company Information, Account ID)"
        )


def external_id(key: str, prefix: str = "") -> str:
    """A NetSuite external ID for a delivery key: the key with characters other than letters,
    digits, ``.``, ``_``, ``-`` and ``:`` replaced by ``_``, cut to fit 100 characters with a hash of
    the whole key (so two long keys never share one), after ``prefix``."""
    safe = re.sub(r"[^A-Za-z0-9._:-]+", "_", key).strip("_")
    whole = prefix + safe
    if len(whole) <= 100 and safe == key:
        return whole
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return (prefix + safe)[: 100 - 17] + "~" + digest


_REPLAY = re.compile(r"\.replay-[0-9a-f]{8}\Z")


def order_key(key: str) -> str:
    """The delivery key a sales order's external ID is made of: an operator's replay of an
    interchange (``<key>.replay-<id>``, erpbridge.pipeline.replay) is the same purchase order, so it
    finds the order the first delivery made rather than making a second one."""
    return _REPLAY.sub("", key)


class AccountGate:
    """The per-account concurrency cap: NetSuite governs concurrent requests per account (SOAP, REST
    and RESTlets together), so every connector of one account in this process takes a slot here
    before each request. A connector configured with another cap for the same account replaces the
    gate (the last configuration wins); configure one value per account."""

    _lock = threading.Lock()
    _gates: ClassVar[dict[str, AccountGate]] = {}

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._slots = threading.BoundedSemaphore(cap)
        self._count = threading.Lock()
        self._busy = 0
        self.headroom = 1.0
        """The share of the cap that was free when the last request asked for a slot: 0.0 means
        it had to wait for one (the rate-limit headroom signal of a NetSuite connector)."""

    @classmethod
    def of(cls, account: str, cap: int) -> AccountGate:
        if cap < 1:
            raise ConfigError(f"a NetSuite concurrency cap is 1 or more, not {cap}")
        key = realm(account)
        with cls._lock:
            found = cls._gates.get(key)
            if found is None or found.cap != cap:
                found = cls(cap)
                cls._gates[key] = found
            return found

    def __enter__(self) -> AccountGate:
        with self._count:
            self.headroom = (self.cap - min(self._busy, self.cap)) / self.cap
            self._busy += 1
        try:
            self._slots.acquire()
        except BaseException:
            with self._count:
                self._busy -= 1
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._slots.release()
        with self._count:
            self._busy -= 1


ItemLookup = Callable[[str | None, str | None], str | None]


def resolve_item_refs(record: Any, lookup: ItemLookup, *, where: str = "record") -> Any:
    """A mapped record with its item references resolved: a reference written ``{"itemId": SKU}`` or
    ``{"upc": UPC}`` (both may be given: the SKU is tried first) becomes ``{"id": internal ID}``
    through ``lookup(sku, upc)``. A reference that already has an ``id`` (or ``internalId``, or
    ``externalId``) is left as it is. An unknown item is a :class:`TransformError` naming it."""
    if isinstance(record, list):
        return [resolve_item_refs(v, lookup, where=f"{where}[{n}]") for n, v in enumerate(record)]
    if not isinstance(record, Mapping):
        return record
    out: dict[str, Any] = {}
    for name, value in record.items():
        if (
            name == "item"
            and isinstance(value, Mapping)
            and ("itemId" in value or "upc" in value)
            and not ({"id", "internalId", "externalId"} & set(value))
        ):
            sku = value.get("itemId")
            upc = value.get("upc")
            found = lookup(str(sku) if sku else None, str(upc) if upc else None)
            if found is None:
                said = " / ".join(f"{k} {v}" for k, v in (("SKU", sku), ("UPC", upc)) if v)
                raise TransformError(
                    f"{where}.item: NetSuite has no item with {said or 'no SKU or UPC'} (add it to NetSuite "
                    "or fix the item cross-reference, then replay)",
                    sku=sku,
                    upc=upc,
                )
            out[name] = {"id": found}
        else:
            out[name] = resolve_item_refs(value, lookup, where=f"{where}.{name}")
    return out


__all__ = [
    "AUTH_CODES",
    "TRANSIENT_CODES",
    "AccountGate",
    "ItemLookup",
    "external_id",
    "host_label",
    "realm",
    "resolve_item_refs",
    "rest_url",
]
