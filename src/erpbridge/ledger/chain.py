"""The event log's hash chain: how an event is hashed. Pure functions, no database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from .records import Event

#: ``prev_hash`` of the first event.
GENESIS: Final = "0" * 64

#: Bumped if the hashed fields ever change; part of every hash.
HASH_VERSION: Final = "erpbridge-event-v1"


def canonical_json(detail: Mapping[str, Any]) -> str:
    """``detail`` as the JSON text the ledger stores and hashes: sorted keys, no spaces, UTF-8.

    Values JSON has no type for (dates, decimals, paths) are stored as their ``str()``.
    NaN and infinities are refused (``ValueError``).
    """
    return json.dumps(
        detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str
    )


def utc_text(moment: datetime) -> str:
    """A timestamp as hashed: UTC, microseconds, ``2026-03-02T10:15:00.000000Z``. Naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hash_fields(
    *,
    id: int,
    document_id: str | None,
    step: str,
    outcome: str,
    from_state: str | None,
    to_state: str | None,
    latency_ms: int | None,
    credential: str | None,
    payload_sha256: str | None,
    detail_json: str,
    created_at: datetime,
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of an event's fields as stored (``detail_json`` is the stored JSON text).

    The hashed text is a JSON array in a fixed order, led by :data:`HASH_VERSION`, so the same
    event hashes the same on every backend, and changing any field, or moving the event to
    another place in the chain (``id``, ``prev_hash``), changes the hash.
    """
    fields = [
        HASH_VERSION,
        id,
        document_id,
        step,
        outcome,
        None if from_state is None else str(from_state),
        None if to_state is None else str(to_state),
        latency_ms,
        credential,
        payload_sha256,
        detail_json,
        utc_text(created_at),
        prev_hash,
    ]
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(event: Event) -> str:
    """The hash an :class:`Event` must carry: :func:`hash_fields` over all its fields but ``hash``."""
    return hash_fields(
        id=event.id,
        document_id=event.document_id,
        step=event.step,
        outcome=event.outcome,
        from_state=event.from_state,
        to_state=event.to_state,
        latency_ms=event.latency_ms,
        credential=event.credential,
        payload_sha256=event.payload_sha256,
        detail_json=canonical_json(event.detail),
        created_at=event.created_at,
        prev_hash=event.prev_hash,
    )
