"""Where a canonical document came from: :class:`~erpbridge.model.DocumentMeta` from the X12 envelope
or the IDoc control record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def x12_meta(
    interchange: Mapping[str, Any],
    group: Mapping[str, Any],
    tset: Mapping[str, Any],
    partner: str | None = None,
) -> dict[str, Any]:
    """The ``meta`` of a document mapped from ``tset``: sender, receiver, control numbers, release, test flag.

    ``partner`` is the partner as configured in erpbridge; without it, the interchange sender ID.
    """
    isa, gs, st = interchange.get("ISA") or {}, group.get("GS") or {}, tset.get("ST") or {}
    sender = str(isa.get("ISA06", "")).strip() or str(gs.get("GS02", "")).strip()
    meta = {
        "partner_id": partner or sender,
        "sender_id": sender,
        "receiver_id": str(isa.get("ISA08", "")).strip() or str(gs.get("GS03", "")).strip(),
        "interchange_control_number": str(isa.get("ISA13", "")).strip(),
        "group_control_number": str(gs.get("GS06", "")).strip(),
        "set_control_number": str(st.get("ST02", "")).strip(),
        "standard": "x12",
        "version": str(gs.get("GS08", "")).strip()[:6],
        "test": str(isa.get("ISA15", "")).strip() == "T",
    }
    return {k: v for k, v in meta.items() if v not in ("", None)}


def idoc_meta(idoc: Mapping[str, Any], partner: str | None = None) -> dict[str, Any]:
    """The ``meta`` of a document mapped from an IDoc: sender and receiver partner numbers, DOCNUM
    (as the set control number), the basic type (as the version) and the test flag (TEST ``X``)."""
    control = idoc.get("EDI_DC40") or {}
    sender = str(control.get("SNDPRN", "")).strip()
    meta = {
        "partner_id": partner or sender,
        "sender_id": sender,
        "receiver_id": str(control.get("RCVPRN", "")).strip(),
        "set_control_number": str(control.get("DOCNUM", "")).strip(),
        "standard": "idoc",
        "version": str(control.get("IDOCTYP", "")).strip(),
        "test": str(control.get("TEST", "")).strip() == "X",
    }
    return {k: v for k, v in meta.items() if v not in ("", None)}


__all__ = ["idoc_meta", "x12_meta"]
