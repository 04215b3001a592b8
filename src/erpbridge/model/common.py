"""Parts shared by the canonical documents: parties, addresses, product IDs, terms, carriers.

Every class documents its fields in a ``Fields:`` section of its docstring; the JSON Schemas
take their descriptions from there (and a test checks that every field is documented).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Final, NoReturn, TypeAlias


def finite_decimal(value: Any) -> Decimal | None:
    """A quantity a document or a system gave (text, an int, a float, a Decimal) as a Decimal; None
    when it is empty, a bool, not a number, NaN or infinite (NaN would raise on its first comparison)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True, slots=True)
class Pattern:
    """Metadata for ``Annotated[str, Pattern(...)]``: the string must match ``regex`` in full."""

    regex: str
    description: str


CODE_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
COUNTRY_PATTERN: Final = r"^[A-Z]{2}$"
SSCC_PATTERN: Final = r"^[0-9]{18}$"

Code: TypeAlias = Annotated[str, Pattern(CODE_PATTERN, "a snake_case code")]
"""An open vocabulary value such as a party role, an ID kind or a reference kind: ``ship_to``, ``gln``."""
Currency: TypeAlias = Annotated[str, Pattern(CURRENCY_PATTERN, "an ISO 4217 currency code")]
Country: TypeAlias = Annotated[str, Pattern(COUNTRY_PATTERN, "an ISO 3166-1 alpha-2 country code")]
Sscc: TypeAlias = Annotated[str, Pattern(SSCC_PATTERN, "an SSCC-18 (18 digits)")]

_CODE_RE: Final = re.compile(CODE_PATTERN)


class Purpose(StrEnum):
    """Why a document was sent (X12 BEG01, BAK01, BSN01, BIA01, ...)."""

    ORIGINAL = "original"
    CANCEL = "cancel"
    CHANGE = "change"
    REPLACE = "replace"
    CONFIRMATION = "confirmation"
    DUPLICATE = "duplicate"


class ChargeType(StrEnum):
    """Whether an :class:`AllowanceCharge` lowers (allowance) or raises (charge) the amount due."""

    ALLOWANCE = "allowance"
    CHARGE = "charge"


class ProductIds(Mapping[str, str]):
    """Product identifiers by kind, e.g. ``ProductIds(upc="061414110013", vendor_sku="NW-TS-BLK-S")``.

    An immutable, hashable mapping: kinds are snake_case codes, values non-empty strings. Equality is
    that of mappings (order does not matter); iteration keeps the order given. Conventional kinds:
    ``upc`` (UPC-A, 12 digits), ``ean`` (EAN-13), ``gtin`` (GTIN-14), ``isbn``, ``buyer_part`` (the
    buyer's item number), ``vendor_sku`` (the vendor's item number or style), ``manufacturer_part``,
    ``sku`` (a stock keeping unit of whoever sends the document), ``nrf_color``, ``nrf_size``.
    In JSON: an object, ``{"upc": "061414110013", "vendor_sku": "NW-TS-BLK-S"}``.
    """

    __slots__ = ("_hash", "_items")

    _items: tuple[tuple[str, str], ...]
    _hash: int

    def __init__(self, ids: Mapping[str, str] | Iterable[tuple[str, str]] = (), /, **kinds: str) -> None:
        pairs = list(ids.items() if isinstance(ids, Mapping) else ids) + list(kinds.items())
        seen: dict[str, str] = {}
        for kind, value in pairs:
            if not isinstance(kind, str) or not _CODE_RE.match(kind):
                raise ValueError(f"product ID kind must be a snake_case code, got {kind!r}")
            if not isinstance(value, str) or not value:
                raise ValueError(f"product ID {kind!r} must be a non-empty string, got {value!r}")
            if kind in seen:
                raise ValueError(f"product ID kind {kind!r} given twice")
            seen[kind] = value
        object.__setattr__(self, "_items", tuple(seen.items()))
        object.__setattr__(self, "_hash", hash(frozenset(seen.items())))

    def __getitem__(self, kind: str) -> str:
        for k, v in self._items:
            if k == kind:
                return v
        raise KeyError(kind)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProductIds):
            return self._hash == other._hash and dict(self._items) == dict(other._items)
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other.items())
        return NotImplemented

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"ProductIds is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"ProductIds is immutable (cannot delete {name!r})")

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._items)
        return f"ProductIds({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProductIds, (self._items,))


_MODEL = dataclass(frozen=True, slots=True, kw_only=True)


@_MODEL
class DocumentMeta:
    """Where a document came from; the ledger's keys. Every field is optional.

    Fields:
        document_id: erpbridge's own ID of this document (the ledger's key, an idempotency key)
        partner_id: the trading partner as configured in erpbridge
        sender_id: the interchange sender ID as received (X12 ISA06/GS02)
        receiver_id: the interchange receiver ID as received (X12 ISA08/GS03)
        interchange_control_number: the source interchange control number (X12 ISA13)
        group_control_number: the source functional group control number (X12 GS06)
        set_control_number: the source transaction set control number (X12 ST02)
        standard: the source format, e.g. ``x12``, ``idoc``, ``netsuite``
        version: the source format's release, e.g. ``004010``
        test: true when the source was marked as test data (X12 ISA15 ``T``)
    """

    document_id: str | None = None
    partner_id: str | None = None
    sender_id: str | None = None
    receiver_id: str | None = None
    interchange_control_number: str | None = None
    group_control_number: str | None = None
    set_control_number: str | None = None
    standard: Code | None = None
    version: str | None = None
    test: bool | None = None


@_MODEL
class Address:
    """A postal address.

    Fields:
        lines: street lines, in order (X12 N3)
        city: city name (X12 N401)
        state: state or province code (X12 N402)
        postal_code: postal code (X12 N403)
        country: ISO 3166-1 alpha-2 country code, e.g. ``US`` (X12 N404)
    """

    lines: tuple[str, ...] = ()
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: Country | None = None


@_MODEL
class Contact:
    """A person or desk to contact.

    Fields:
        role: what the contact is for, e.g. ``buyer``, ``order_contact``, ``delivery`` (X12 PER01)
        name: the contact's name
        phone: telephone number as given
        email: e-mail address
        fax: fax number as given
    """

    role: Code | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    fax: str | None = None


@_MODEL
class Party:
    """A party to the document: who ships, receives, pays, sells.

    Fields:
        role: the party's role: ``ship_to``, ``bill_to``, ``ship_from``, ``buyer``, ``vendor`` (the
            selling party), ``remit_to``, ``warehouse``, ``depositor``, ``mark_for``, ``store``,
            ``carrier``, ``manufacturer`` (X12 N101)
        id: the party's identifier (X12 N104)
        id_kind: what kind of identifier ``id`` is: ``gln``, ``duns``, ``duns_plus4``,
            ``assigned_by_buyer``, ``assigned_by_seller``, ``store``, ``mutually_defined`` (X12 N103)
        name: the party's name (X12 N102)
        address: the party's postal address
        contacts: people or desks to contact at this party
    """

    role: Code
    id: str | None = None
    id_kind: Code | None = None
    name: str | None = None
    address: Address | None = None
    contacts: tuple[Contact, ...] = ()


@_MODEL
class Reference:
    """A reference number not covered by a named field.

    Fields:
        kind: what the number is, e.g. ``customer_order``, ``release``, ``contract``, ``pro_number``
        value: the reference number
        description: free text that comes with it
    """

    kind: Code
    value: str
    description: str | None = None


@_MODEL
class DateRef:
    """A date (and time) not covered by a named field.

    Fields:
        kind: what the date is, e.g. ``ship_not_before``, ``ship_no_later``, ``promotion_start``
        date: the date
        time: the time of day, if given
    """

    kind: Code
    date: dt.date
    time: dt.time | None = None


@_MODEL
class Note:
    """Free text for people.

    Fields:
        text: the note
        kind: what the note is about, e.g. ``general``, ``shipping``, ``gift_message`` (X12 MSG, NTE01)
    """

    text: str
    kind: Code | None = None


@_MODEL
class Measure:
    """An amount with its unit, for weights, volumes and sizes: ``38.4 LB``.

    Fields:
        value: the amount
        unit: the unit code as exchanged, e.g. ``LB``, ``KG``, ``CF``, ``OZ``
    """

    value: Decimal
    unit: str


@_MODEL
class PaymentTerms:
    """Terms of payment (X12 ITD): "2% 10, net 30" is discount_percent 2, discount_days 10, net_days 30.

    Fields:
        kind: the terms type, e.g. ``basic``, ``end_of_month``, ``fixed_date`` (X12 ITD01)
        basis: the date the days count from, e.g. ``invoice_date``, ``delivery_date`` (X12 ITD02)
        discount_percent: early payment discount in percent (X12 ITD03)
        discount_due_date: pay by this date to get the discount (X12 ITD04)
        discount_days: pay within this many days to get the discount (X12 ITD05)
        net_due_date: the whole amount is due on this date (X12 ITD06)
        net_days: the whole amount is due within this many days (X12 ITD07)
        description: the terms in words (X12 ITD12)
    """

    kind: Code | None = None
    basis: Code | None = None
    discount_percent: Decimal | None = None
    discount_due_date: dt.date | None = None
    discount_days: int | None = None
    net_due_date: dt.date | None = None
    net_days: int | None = None
    description: str | None = None


@_MODEL
class FreightTerms:
    """Who pays freight and where title passes (X12 FOB, W66/W27 payment method).

    Fields:
        payment: who pays freight: ``prepaid``, ``collect``, ``prepaid_and_add``, ``third_party``,
            ``mixed`` (X12 FOB01, W6601, W2704)
        location: where title passes, in words (X12 FOB03)
        incoterm: the Incoterms 2020 code, e.g. ``FCA``, ``DAP``
        description: anything else said about freight terms
    """

    payment: Code | None = None
    location: str | None = None
    incoterm: str | None = None
    description: str | None = None


@_MODEL
class Carrier:
    """The carrier and routing (X12 TD5, CAD, W66, W27).

    Fields:
        scac: the carrier's Standard Carrier Alpha Code, e.g. ``UPSN``, ``FXFE`` (TD503)
        name: the carrier's name
        transport_method: ``motor``, ``private_parcel``, ``air``, ``rail``, ``ocean``, ``ltl``,
            ``customer_pickup`` (TD504)
        service_level: the carrier service, e.g. ``ground``, ``next_day_air``, ``two_day`` (TD512)
        routing: the routing as the partner wrote it, e.g. ``UPS GROUND`` (TD505)
    """

    scac: str | None = None
    name: str | None = None
    transport_method: Code | None = None
    service_level: Code | None = None
    routing: str | None = None


@_MODEL
class AllowanceCharge:
    """An allowance (discount) or charge on a document or line (X12 SAC, ITA).

    Fields:
        type: ``allowance`` or ``charge``
        code: what it is for, e.g. ``freight``, ``promotional_allowance``, ``handling``, ``defective``
        amount: the money amount, always positive; ``type`` gives the sign
        percent: the rate in percent, when given as a percentage
        description: the allowance or charge in words
    """

    type: ChargeType
    code: Code | None = None
    amount: Decimal | None = None
    percent: Decimal | None = None
    description: str | None = None


@_MODEL
class PackInfo:
    """How an item is packed (X12 PO4): 6 inner packs of 4 each in a carton of 24.

    Fields:
        units_per_pack: selling units in one outer pack (X12 PO401)
        inner_packs_per_pack: inner packs in one outer pack (X12 PO414)
        unit_size: the size of one selling unit, e.g. 12 OZ (X12 PO402/PO403)
        packaging: the outer packaging, e.g. ``carton``, ``pallet``, ``case`` (X12 PO404/PO405)
        pack_weight: the gross weight of one outer pack (X12 PO406-PO408)
    """

    units_per_pack: Decimal | None = None
    inner_packs_per_pack: Decimal | None = None
    unit_size: Measure | None = None
    packaging: Code | None = None
    pack_weight: Measure | None = None
