"""The daemon's configuration: one TOML file, checked completely before anything runs.

::

    config = load_config("config.example.toml")      # reads the file, then parse_config()
    config.partners["megamart"].ack_window            # timedelta(hours=4)
    transport = build_transport(config.endpoints["megamart"], partner="megamart")
    check_environment(config)                         # secrets readable, SFTP key files present

``parse_config`` is pure: it turns the parsed TOML (a dict) into frozen dataclasses and touches
nothing but ``is_dir`` (to find a partner's default mapping folder) and ``load_mapping`` (to check
a flow's ``csv_mapping``). It opens no connection, reads no secret and builds no transport. :func:`build_transport` makes the transport objects of
:mod:`erpbridge.transports` from endpoints, and :func:`check_environment` checks what only the
running machine can tell (environment variables set, secret and key files readable).

Every problem is a :class:`~erpbridge.errors.ConfigError` whose message starts with the file and
the key path, one line per problem (every table is checked, so one run shows them all)::

    config.toml: partners.megamart.ack_window: "4 hours" is not a duration like "4h", "30m", "90s"
    config.toml: flows.megamart_850_in.partner: no [partners.megamrt] in this file (did you mean megamart?)

A TOML syntax error gives tomllib's line and column instead of a key: ``config.toml:12:7: ...``.

Secrets are never values in the file: a secret key takes a reference, ``{ env = "NAME" }`` or
``{ file = "/run/secrets/name" }``, kept as a :class:`SecretRef` (which holds only the reference)
and turned into a :class:`~erpbridge.transports.Credential` (read each time it is used) when a
transport is built. No message ever shows a secret's value: a plain string where a secret belongs is
refused without repeating it, and a database URL with an inline password is refused without
showing the URL's password.

Durations are strings such as ``"90s"``, ``"30m"``, ``"4h"``, ``"1d"``, ``"1h30m"`` or ``"250ms"``
(:func:`parse_duration`, :func:`format_duration`). Cron expressions are the classic five fields
(:class:`Cron`).
"""

from __future__ import annotations

import codecs
import difflib
import functools
import json
import os
import re
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias
from urllib.parse import quote, urlsplit

from .errors import ConfigError
from .model.registry import KINDS
from .transports.base import DEFAULT_IGNORE, Credential

if TYPE_CHECKING:
    from .connectors import Connector
    from .formats.x12 import Dialect, EnvelopeParty
    from .ledger import Ledger
    from .ledger.retry import RetryPolicy
    from .transports import Transport

__all__ = [
    "Config",
    "Cron",
    "Delimiters",
    "DocumentSpec",
    "Endpoint",
    "FolderEndpoint",
    "IdocControl",
    "LedgerSettings",
    "LocalEndpoint",
    "NetSuiteAuth",
    "NetSuiteEndpoint",
    "Partner",
    "Party",
    "Place",
    "Retry",
    "SapAuth",
    "SapIdocEndpoint",
    "SapODataEndpoint",
    "Schedule",
    "Schedules",
    "SecretRef",
    "SftpEndpoint",
    "WmsFlatFileEndpoint",
    "WorkFolders",
    "build_connector",
    "build_transport",
    "build_transports",
    "check_environment",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
]

Version: TypeAlias = Literal["004010", "005010"]
AckKind: TypeAlias = Literal["997", "999", "auto"]
Direction: TypeAlias = Literal["in", "out"]

#: the sections a configuration file may have
SECTIONS: Final = (
    "erpbridge",
    "ledger",
    "retry",
    "partners",
    "endpoints",
    "flows",
    "schedules",
    "observability",
    "events",
    "notify",
    "reconcile",
    "jobs",
)
#: endpoint types that move X12 to and from partners, and those that take canonical documents
#: (a connector: a folder of canonical JSON, SAP over OData, SAP over IDocs, NetSuite over REST or SOAP)
TRANSPORT_TYPES: Final = ("local", "sftp")
CONNECTOR_TYPES: Final = ("folder", "netsuite_rest", "netsuite_soap", "sap_idoc", "sap_odata", "wms_flatfile")
#: the connectors that know where documents go themselves (an API: no folder)
API_TYPES: Final = ("netsuite_rest", "netsuite_soap", "sap_odata")
#: Connectors an outbound flow's target may be instead of a partner's folder (no X12 is written).
DELIVERING_TYPES: Final = ("netsuite_rest", "sap_idoc")
#: what an inbound flow polling SAP over OData takes: the outbound deliveries to pick (docs/sap.md)
ODATA_DELIVERIES: Final = "sap/A_OutbDeliveryHeader"
ENDPOINT_TYPES: Final = tuple(sorted(TRANSPORT_TYPES + CONNECTOR_TYPES))
_CSV_KEYS: Final = (  # outbound flows only
    "csv_mapping", "csv_encoding", "csv_delimiter", "layout", "rejects", "inventory_rules",
)  # fmt: skip
#: what an outbound flow with a layout does with a file that has rejected rows (docs/flatfiles.md)
REJECTS: Final = ("quarantine", "process")
#: the fields of the IDoc control record (EDI_DC40) an sap_idoc endpoint writes, and their lengths
IDOC_CONTROL_FIELDS: Final = {
    "SNDPOR": 10,
    "SNDPRT": 2,
    "SNDPRN": 10,
    "RCVPOR": 10,
    "RCVPRT": 2,
    "RCVPRN": 10,
    "MANDT": 3,
}
#: the mappings of the checkout erpbridge runs from: a relative "mappings/..." path falls back to them
SHIPPED_MAPPINGS: Final = Path(__file__).resolve().parents[2] / "mappings"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?\Z")
_DURATION_HINT: Final = 'is not a duration like "4h", "30m", "90s"'


# -- durations ---------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"4h"``, ``"2d"``, ``"250ms"`` or a combination in that order
    (``"1h30m"``, ``"1s500ms"``).

    Whole numbers only, no spaces. Raises :class:`ValueError` for anything else.
    """
    match = _DURATION.match(text) if isinstance(text, str) and text else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{_show(text)} {_DURATION_HINT}")
    d, h, m, s, ms = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s, milliseconds=ms)


def format_duration(value: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back as ``value`` (whole milliseconds, >= 0)."""
    if value < timedelta(0) or value.microseconds % 1000:
        raise ValueError(f"{value!r}: only whole, non-negative milliseconds can be written as a duration")
    millis = value // timedelta(milliseconds=1)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# -- cron --------------------------------------------------------------------------------------

_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: (name, lowest, highest, names for lowest..) of the five fields
_CRON_FIELDS: Final = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _WEEKDAYS),
)
_CRON_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class Cron:
    """A classic five-field cron expression: minute, hour, day of month, month, day of week.

    Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of
    those; months and weekdays also take names (``jan``, ``mon-fri``); weekday 0 and 7 are Sunday.
    The ``@daily``-style macros are accepted. Restricting both the day of month and the day of week
    is refused: cron then runs on days matching *either*, which is rarely what was meant and which
    schedulers do not agree on. Use :meth:`parse`; the sets below hold the matching values.
    """

    expression: str
    minutes: frozenset[int] = field(repr=False)
    hours: frozenset[int] = field(repr=False)
    days: frozenset[int] = field(repr=False)
    months: frozenset[int] = field(repr=False)
    weekdays: frozenset[int] = field(repr=False)  # 0 = Sunday .. 6 = Saturday

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """The expression, checked; :class:`ValueError` says which field is wrong and why."""
        if not isinstance(expression, str):
            raise ValueError(f'{_show(expression)} is not a cron expression (a string like "0 2 * * *")')
        text = _CRON_MACROS.get(expression.strip().lower(), expression)
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"{_show(expression)} has {len(fields)} field(s); cron needs 5: "
                'minute hour day-of-month month day-of-week, such as "0 2 * * *"'
            )
        sets = [_cron_field(f, *spec) for f, spec in zip(fields, _CRON_FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        if fields[2] != "*" and fields[4] != "*":
            raise ValueError(
                f"{_show(expression)} restricts both the day of month and the day of week; cron would run "
                "on days matching either one: restrict one and leave the other *"
            )
        return cls(expression, sets[0], sets[1], sets[2], sets[3], weekdays)

    def matches(self, when: datetime) -> bool:
        """Whether the expression fires in the minute of ``when`` (in ``when``'s own time zone)."""
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and when.day in self.days
            and when.month in self.months
            and (when.weekday() + 1) % 7 in self.weekdays
        )

    def trigger_fields(self) -> dict[str, str]:
        """Keyword arguments for APScheduler's ``CronTrigger`` with the same meaning.

        Do not hand the expression to ``CronTrigger.from_crontab``: APScheduler 3 counts weekdays
        from Monday = 0, cron from Sunday = 0. Here weekdays are names, so nothing is ambiguous.
        """

        def numbers(values: frozenset[int], low: int, high: int) -> str:
            if values == frozenset(range(low, high + 1)):
                return "*"
            return ",".join(str(v) for v in sorted(values))

        if self.weekdays == frozenset(range(7)):
            weekday = "*"
        else:
            weekday = ",".join(_WEEKDAYS[d] for d in sorted(self.weekdays))
        return {
            "minute": numbers(self.minutes, 0, 59),
            "hour": numbers(self.hours, 0, 23),
            "day": numbers(self.days, 1, 31),
            "month": numbers(self.months, 1, 12),
            "day_of_week": weekday,
        }

    def __str__(self) -> str:
        return self.expression


def _cron_field(text: str, what: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    def value(v: str) -> int:
        if v.isdigit():
            n = int(v)
        elif v.lower() in names:
            n = names.index(v.lower()) + low
        else:
            named = f" or a name ({names[0]}..{names[-1]})" if names else ""
            raise ValueError(f"{what} {v!r} is not a number{named}")
        if not low <= n <= high:
            raise ValueError(f"{what} {n} is out of range {low}-{high}")
        return n

    found: set[int] = set()
    for part in text.split(","):
        rng, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{what} step {step_text!r} in {part!r} is not a whole number above 0")
            step = int(step_text)
        if rng == "*":
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = value(a), value(b)
            if start > end:
                raise ValueError(f"{what} range {rng!r} runs backwards")
        elif slash:
            raise ValueError(f"{what} {part!r}: a step needs * or a range before it (*/{step} or a-b/{step})")
        else:
            start = end = value(rng)
        found.update(range(start, end + 1, step))
    return frozenset(found)


# -- the configuration's parts ---------------------------------------------------------------


@dataclass(frozen=True)
class SecretRef:
    """Where a secret is: an environment variable or a file. Holds the reference, never the value."""

    kind: Literal["env", "file"]
    source: str  # the variable's name, or the file's absolute path

    @property
    def name(self) -> str:
        """``env:NAME`` or ``file:/path``: what messages and logs show instead of the secret."""
        return f"{self.kind}:{self.source}"

    def credential(self) -> Credential:
        """A :class:`Credential` that reads the secret each time it is revealed."""
        if self.kind == "env":
            return Credential.from_env(self.source)
        return Credential.from_file(self.source)

    def __repr__(self) -> str:
        return f"SecretRef({self.name!r})"


@dataclass(frozen=True, kw_only=True)
class Party:
    """An interchange party: ISA05/07 qualifier, ISA06/08 ID and GS02/03 application ID."""

    qualifier: str
    id: str
    gs_id: str

    @property
    def isa_text(self) -> str:
        """``ZZ:MEGAMART``: what ``erpbridge translate --sender/--receiver`` takes."""
        return f"{self.qualifier}:{self.id}"

    def envelope_party(self) -> EnvelopeParty:
        from .formats.x12 import EnvelopeParty

        return EnvelopeParty(self.qualifier, self.id, self.gs_id)


@dataclass(frozen=True, kw_only=True)
class Delimiters:
    """Delimiters erpbridge writes to this partner (inbound files carry their own in the ISA)."""

    element: str = "*"
    component: str = ">"
    repetition: str = "^"  # used from 00402 on (005010); 004010 writes ISA11 "U"
    segment: str = "~"
    segment_suffix: str = "\n"  # what follows each terminator: "", "\n" or "\r\n"

    def dialect(self, version: str) -> Dialect:
        """The writer's :class:`Dialect` for a release (``"004010"``: no repetition separator)."""
        from .formats.x12 import Dialect

        return Dialect(
            element=self.element,
            component=self.component,
            repetition=self.repetition if version >= "004020" else None,
            segment=self.segment,
            suffix=self.segment_suffix,
        )


@dataclass(frozen=True, kw_only=True)
class Retry:
    """Retry policy settings; ``None`` keeps the default of :class:`erpbridge.ledger.RetryPolicy`."""

    max_attempts: int | None = None
    initial_delay: timedelta | None = None
    max_delay: timedelta | None = None

    def over(self, base: Retry) -> Retry:
        """These settings where set, ``base``'s elsewhere."""
        return Retry(
            max_attempts=self.max_attempts if self.max_attempts is not None else base.max_attempts,
            initial_delay=self.initial_delay if self.initial_delay is not None else base.initial_delay,
            max_delay=self.max_delay if self.max_delay is not None else base.max_delay,
        )

    def policy(self) -> RetryPolicy:
        """The ledger's :class:`RetryPolicy` with these settings."""
        from .ledger.retry import RetryPolicy

        given: dict[str, Any] = {}
        if self.max_attempts is not None:
            given["max_attempts"] = self.max_attempts
        if self.initial_delay is not None:
            given["initial_delay"] = self.initial_delay.total_seconds()
        if self.max_delay is not None:
            given["max_delay"] = self.max_delay.total_seconds()
        return RetryPolicy(**given)


@dataclass(frozen=True, kw_only=True)
class LedgerSettings:
    """Where the ledger lives. ``url`` never holds a password; ``password`` says where it is."""

    url: str  # sqlite:////absolute/path.sqlite3 or postgresql+psycopg://user@host:port/db
    password: SecretRef | None = None
    busy_timeout: timedelta = timedelta(seconds=30)

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    @property
    def path(self) -> Path | None:
        """The SQLite database file, or ``None`` for PostgreSQL."""
        return Path(self.url.partition(":///")[2]) if self.backend == "sqlite" else None

    def reveal_url(self) -> str:
        """The URL with the password filled in, for ``Ledger.open`` only: never log it."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user, _, host = parts.netloc.rpartition("@")
        secret = quote(self.password.credential().reveal(), safe="")
        return parts._replace(netloc=f"{user}:{secret}@{host}").geturl()


@dataclass(frozen=True, kw_only=True)
class WorkFolders:
    """erpbridge's own folders (absolute): copies of what was processed, failures, pending output."""

    archive: Path
    quarantine: Path
    outbox: Path


@dataclass(frozen=True, kw_only=True)
class Partner:
    """A trading partner: how it is addressed in X12 and what it expects from us."""

    id: str  # the key of [partners.<id>]
    name: str
    party: Party
    version: Version
    delimiters: Delimiters
    test: bool  # our interchanges to them carry ISA15 "T"
    ack: AckKind  # what we send for their groups
    request_ta1: bool  # our interchanges to them carry ISA14 "1"
    ack_window: timedelta  # how long they have to acknowledge what we sent
    overlay: str | None  # implementation-guide overlay partner (BIGBOX), for validation
    mappings: Path | None  # their mapping folder, absolute
    endpoint: str | None  # the endpoint their X12 travels over, flows' default

    @property
    def ack_set(self) -> Literal["997", "999"]:
        """The acknowledgment set we send them (``auto``: 999 for 005010, else 997)."""
        if self.ack == "auto":
            return "999" if self.version == "005010" else "997"
        return self.ack


@dataclass(frozen=True, kw_only=True)
class LocalEndpoint:
    """Folders below ``root`` on a local or mounted disk (partner X12)."""

    name: str
    root: Path
    stable_after: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    fsync: bool = True
    type: Literal["local"] = "local"


@dataclass(frozen=True, kw_only=True)
class FolderEndpoint:
    """Canonical JSON documents in folders below ``root``: stand-in for an ERP or WMS connector."""

    name: str
    root: Path
    stable_after: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    fsync: bool = True
    type: Literal["folder"] = "folder"


@dataclass(frozen=True, kw_only=True)
class WmsFlatFileEndpoint:
    """A WMS that takes its work as flat files (connectors/wms_flatfile.py): folders below ``root``
    like a folder endpoint, each document written in ``layout`` after the mapping for its kind."""

    name: str
    root: Path
    layout: Path
    mappings: Mapping[str, Path]
    suffix: str = ".txt"
    stable_after: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    fsync: bool = True
    type: Literal["wms_flatfile"] = "wms_flatfile"


@dataclass(frozen=True, kw_only=True)
class SftpEndpoint:
    """A partner's (or our) SFTP server; host keys pinned in ``known_hosts``."""

    name: str
    host: str
    username: str
    known_hosts: Path
    port: int = 22
    private_key: Path | None = None
    passphrase: SecretRef | None = None
    password: SecretRef | None = None
    connect_timeout: timedelta = timedelta(seconds=15)
    banner_timeout: timedelta = timedelta(seconds=15)
    auth_timeout: timedelta = timedelta(seconds=30)
    channel_timeout: timedelta = timedelta(seconds=15)
    io_timeout: timedelta = timedelta(seconds=60)
    stable_after: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    type: Literal["sftp"] = "sftp"


@dataclass(frozen=True, kw_only=True)
class SapAuth:
    """How erpbridge logs on to SAP: basic (``user`` and ``password``) or OAuth 2.0 client
    credentials (``token_url``, ``client_id``, ``client_secret``, ``scope``). Secrets are references."""

    user: str | None = None
    password: SecretRef | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretRef | None = None
    scope: str | None = None

    def secrets(self) -> Iterator[tuple[str, SecretRef]]:
        for key in ("password", "client_secret"):
            ref = getattr(self, key)
            if ref is not None:
                yield key, ref


@dataclass(frozen=True, kw_only=True)
class SapODataEndpoint:
    """An S/4HANA system over its OData APIs (``erpbridge.connectors.sap_odata``): it takes
    PurchaseOrders and makes sales orders of them. docs/sap.md."""

    name: str
    url: str  # http(s)://host[:port], no path
    auth: SapAuth
    mapping: Path  # PurchaseOrder -> sap/A_SalesOrder
    client: str | None = None  # sap-client, three digits
    connect_timeout: timedelta = timedelta(seconds=10)
    timeout: timedelta = timedelta(seconds=60)
    page_size: int = 500
    verify: bool | Path = True  # or a CA bundle
    sales_order_service: str | None = None  # None: the connector's default path
    delivery_service: str | None = None
    stock_service: str | None = None
    type: Literal["sap_odata"] = "sap_odata"


@dataclass(frozen=True, kw_only=True)
class IdocControl:
    """The control record (EDI_DC40) fields an sap_idoc endpoint writes where the IDoc mapping
    leaves them empty: sender and receiver port, partner type and partner number, and the client."""

    SNDPOR: str | None = None
    SNDPRT: str | None = None
    SNDPRN: str | None = None
    RCVPOR: str | None = None
    RCVPRT: str | None = None
    RCVPRN: str | None = None
    MANDT: str | None = None

    def fields(self) -> dict[str, str]:
        """The fields given, by their SAP names."""
        return {k: v for k in IDOC_CONTROL_FIELDS if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, kw_only=True)
class SapIdocEndpoint:
    """An SAP system's IDoc port (``erpbridge.connectors.sap_idoc``): a file port (``port = "file"``:
    the folder ``folder`` of the local or SFTP endpoint ``transport``) or SAP's IDoc XML HTTP
    inbound service (``port = "xml_http"``: ``url``, ``client``, basic ``auth``). docs/sap.md."""

    name: str
    port: Literal["file", "xml_http"]
    control: IdocControl
    mappings: Mapping[str, Path] = field(default_factory=dict)  # canonical kind -> its IDoc mapping
    transport: str | None = None  # file: the endpoint that holds the port's folders
    folder: str = ""  # file: where erpbridge writes IDocs for SAP
    url: str | None = None  # xml_http: https://host:port/sap/bc/idoc_xml
    client: str | None = None  # xml_http: sap-client
    auth: SapAuth | None = None  # xml_http: basic
    connect_timeout: timedelta = timedelta(seconds=10)
    timeout: timedelta = timedelta(seconds=60)
    verify: bool | Path = True
    type: Literal["sap_idoc"] = "sap_idoc"


@dataclass(frozen=True, kw_only=True)
class NetSuiteAuth:
    """How erpbridge logs on to NetSuite: token-based authentication (``consumer_key``,
    ``consumer_secret``, ``token_id``, ``token_secret``, all secret references) or, for REST only,
    OAuth 2.0 client credentials (``client_id`` and ``private_key`` secret references, the
    ``certificate_id``, ``algorithm`` and ``scopes``). docs/netsuite.md."""

    consumer_key: SecretRef | None = None
    consumer_secret: SecretRef | None = None
    token_id: SecretRef | None = None
    token_secret: SecretRef | None = None
    client_id: SecretRef | None = None
    certificate_id: str | None = None
    private_key: SecretRef | None = None
    algorithm: str = "PS256"
    scopes: tuple[str, ...] = ("rest_webservices",)

    @property
    def m2m(self) -> bool:
        """Whether this is OAuth 2.0 client credentials (else token-based authentication)."""
        return self.client_id is not None

    def secrets(self) -> Iterator[tuple[str, SecretRef]]:
        for key in (
            "consumer_key",
            "consumer_secret",
            "token_id",
            "token_secret",
            "client_id",
            "private_key",
        ):
            ref = getattr(self, key)
            if ref is not None:
                yield key, ref


@dataclass(frozen=True, kw_only=True)
class NetSuiteEndpoint:
    """A NetSuite account over SuiteTalk REST (``type = "netsuite_rest"``,
    ``erpbridge.connectors.netsuite_rest``) or SOAP (``"netsuite_soap"``, with ``wsdl``): it takes
    PurchaseOrders (sales orders) and ShipNotices (item fulfillments of those orders). docs/netsuite.md."""

    name: str
    type: Literal["netsuite_rest", "netsuite_soap"]
    account: str  # 1234567, or 1234567_SB1 for a sandbox
    auth: NetSuiteAuth
    mapping: Path  # PurchaseOrder -> netsuite/salesOrder (REST) or netsuite/soap/SalesOrder (SOAP)
    wsdl: str | None = None  # SOAP: a file (absolute) or an http(s) URL of netsuite.wsdl
    url: str | None = None  # None: the account's own host (REST) or NetSuitePort (SOAP)
    concurrency: int = 4
    max_attempts: int = 4
    backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(seconds=30)
    page_size: int | None = None  # None: 1000 (REST), 100 (SOAP)
    connect_timeout: timedelta = timedelta(seconds=10)
    timeout: timedelta | None = None  # None: 120 s (REST), 180 s (SOAP)
    verify: bool | Path = True
    # REST: GoodsMovements (the WMS's adjustments) become inventory adjustments posted to this
    # account (internal ID), at the NetSuite location (internal ID) of each WMS warehouse code
    adjustment_account: str | None = None
    locations: Mapping[str, str] = field(default_factory=dict)
    subsidiary: str | None = None


Endpoint: TypeAlias = (
    LocalEndpoint
    | SftpEndpoint
    | FolderEndpoint
    | SapODataEndpoint
    | SapIdocEndpoint
    | NetSuiteEndpoint
    | WmsFlatFileEndpoint
)


@dataclass(frozen=True, kw_only=True)
class Place:
    """A folder on an endpoint; ``archive`` is where a source's files go once recorded.
    ``shipping_point``: an inbound flow reading SAP's deliveries to pick over OData reads those of
    this shipping point only (None: all)."""

    endpoint: str
    folder: str
    archive: str | None = None
    shipping_point: str | None = None


@dataclass(frozen=True, kw_only=True)
class DocumentSpec:
    """One kind of document a flow carries: an X12 set, and for outbound flows the canonical kind;
    or, for an inbound flow that reads SAP IDoc XML, the IDoc (``idoc``: ``SHPORD.DELVRY07`` for a
    message type of a basic type, or ``DELVRY07`` for every message type of it)."""

    x12_set: str = ""  # "850" ("" for an IDoc)
    kind: str | None = None  # "ShipNotice" (outbound), None (inbound: the mapping decides)
    idoc: str | None = None  # "SHPORD.DELVRY07" (inbound IDoc flows)
    odata: str | None = None  # "A_OutbDeliveryHeader" (inbound flows polling SAP over OData)

    @property
    def idoc_type(self) -> str | None:
        """The basic type of an IDoc spec (``DELVRY07``)."""
        return self.idoc.rpartition(".")[2] if self.idoc else None

    @property
    def message_type(self) -> str | None:
        """The message type of an IDoc spec (``SHPORD``), or None when any message type is taken."""
        return self.idoc.partition(".")[0] if self.idoc and "." in self.idoc else None

    @property
    def to(self) -> str:
        """``x12/856``: the ``--to`` of ``erpbridge translate``."""
        return f"x12/{self.x12_set}"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """When a flow runs: every ``every``, or when ``cron`` fires (exactly one is set)."""

    every: timedelta | None = None
    cron: Cron | None = None


@dataclass(frozen=True, kw_only=True)
class Flow:
    """One pipeline: partner X12 from ``source`` to canonical ``target`` (in), or the reverse (out)."""

    name: str
    direction: Direction
    partner: str
    source: Place
    target: Place
    documents: tuple[DocumentSpec, ...]
    schedule: Schedule
    retry: Retry  # the effective settings: [retry], then the flow's own
    acks: Place | None = None  # inbound: where our 997/999/TA1 go
    enabled: bool = True
    csv_mapping: Path | None = None  # outbound: the mapping that makes documents of a .csv file
    csv_encoding: str = "utf-8"  # outbound: the encoding of .csv files
    csv_delimiter: str | None = None  # outbound: their delimiter; None: sniffed from the header
    layout: Path | None = None  # outbound: the flat-file layout (formats/flatfile) files are read with
    rejects: Literal["quarantine", "process"] = "quarantine"  # outbound, with a layout: rejected rows
    inventory_rules: Path | None = None  # outbound: per-channel rules applied to InventoryAdvices
    also_deliver: tuple[Place, ...] = ()  # outbound: connectors each document is delivered to too

    @property
    def delivers(self) -> bool:
        """Whether the flow is outbound into a connector (its target is an ERP, no X12 is written:
        ``documents`` lists canonical kinds, such as a WMS's GoodsMovements into NetSuite)."""
        return self.direction == "out" and not any(d.x12_set for d in self.documents)

    @property
    def reads_idoc(self) -> bool:
        """Whether the flow reads SAP IDoc XML (an inbound flow whose documents are ``idoc/...``)."""
        return any(d.idoc for d in self.documents)

    @property
    def reads_odata(self) -> bool:
        """Whether the flow polls SAP over OData (an inbound flow of ``sap/A_OutbDeliveryHeader``:
        the deliveries to pick become pick requests)."""
        return any(d.odata for d in self.documents)


@dataclass(frozen=True, kw_only=True)
class Schedules:
    """The nightly and periodic batches (cron expressions in ``timezone``)."""

    timezone: str = "UTC"
    reconciliation: Cron = field(default_factory=lambda: Cron.parse("0 2 * * *"))
    ack_overdue: Cron = field(default_factory=lambda: Cron.parse("*/15 * * * *"))


#: The kinds of ``[jobs.<name>]`` (erpbridge/catalog/jobs.py, docs/netsuite.md).
JOB_TYPES: Final = ("item_master", "catalog_drift")


@dataclass(frozen=True, kw_only=True)
class ItemJob:
    """``[jobs.<name>]``: a scheduled job between the ERP's item master and the WMS's.

    ``item_master``: the ERP's items (``erp``, a netsuite_rest endpoint, SuiteQL) written as the
    WMS item file ``file`` in ``layout`` into ``wms`` (a folder of a local, folder, wms_flatfile or
    sftp endpoint). ``catalog_drift``: the WMS's item export (``file`` in ``wms``, or its newest
    file) read with ``layout`` and compared per SKU with the ERP's items, drift beyond
    ``weight_tolerance`` (lb), ``dimension_tolerance`` (in) and ``tolerance_pct`` counted.
    ``dimensions``: the ERP's custom fields holding length, width and height, and their unit."""

    name: str
    type: Literal["item_master", "catalog_drift"]
    erp: str
    wms: Place
    layout: Path
    cron: Cron
    file: str | None = None
    enabled: bool = True
    item_types: tuple[str, ...] = ("InvtPart", "Assembly")
    dimensions: tuple[str, str, str, str] | None = None  # length, width, height fields; their unit
    weight_tolerance: float = 0.01
    dimension_tolerance: float = 0.1
    tolerance_pct: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Observability:
    """How the daemon shows itself: a metrics endpoint, the log format and level."""

    metrics: tuple[str, int] | None = None  # (host, port) of /metrics, /healthz, /readyz; None: off
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True, kw_only=True)
class EventSourceSettings:
    """``[events.sources.<name>]``: one sender of signed webhooks (docs/events.md)."""

    name: str
    scheme: Literal["shopify", "generic"]
    secrets: tuple[tuple[SecretRef, datetime | None], ...]  # (where, verifies until)
    signature_header: str | None = None
    event_id_header: str | None = None
    event_id_field: str | None = None
    topic_header: str | None = None
    topic_field: str | None = None
    default_topic: str = "webhook"
    max_body: int = 1_048_576
    notify: bool = False  # each event received is notified


@dataclass(frozen=True, kw_only=True)
class EventsSettings:
    """``[events]``: the HTTP receiver of exception events."""

    listen: tuple[str, int]
    path_prefix: str = "/events/"
    read_timeout: timedelta = timedelta(seconds=10)
    sources: Mapping[str, EventSourceSettings] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EmailSettings:
    """``[notify.email]``: notifications through an SMTP relay."""

    relay: str
    sender: str
    recipients: tuple[str, ...]
    tls: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    ca_file: Path | None = None
    timeout: timedelta = timedelta(seconds=30)
    subject_prefix: str = "[erpbridge]"


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    """``[notify.webhook]``: notifications POSTed as signed JSON."""

    url: str | SecretRef
    secret: SecretRef | None = None
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    """``[notify]``: who hears about what needs a person, and how often."""

    window: timedelta = timedelta(minutes=15)
    schedule: Cron = field(default_factory=lambda: Cron.parse("* * * * *"))
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None


#: The reconciliation jobs (``[reconcile.<job>]``, ``erpbridge reconcile JOB``), in the order they run.
RECONCILE_JOBS: Final = ("orders", "acks", "shipments", "inventory", "catalog")


@dataclass(frozen=True, kw_only=True)
class ReconcileJob:
    """``[reconcile.<job>]``: whether the nightly batch runs the job, and its thresholds.

    ``threshold``: discrepancies per partner tolerated before the job is over its threshold (a
    notification, exit status 1). ``tolerance``/``tolerance_pct`` (inventory): a SKU's difference
    counts only when it is bigger than both (units, and percent of the WMS's quantity)."""

    enabled: bool = True
    threshold: int = 0
    tolerance: float = 0.0
    tolerance_pct: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ReconcileErp:
    """``[reconcile.inventory.erp.<endpoint>]``: an ERP whose on-hand the inventory job compares.

    ``locations`` maps the WMS's location (warehouse code) to the ERP's: an SAP plant, a NetSuite
    location's internal ID. ``adjustment_account`` (NetSuite): the account ``--fix`` posts inventory
    adjustments to. ``stock`` (SAP): compare ``unrestricted`` use stock, or the ``total``."""

    endpoint: str
    locations: Mapping[str, str]
    adjustment_account: str | None = None
    stock: Literal["unrestricted", "total"] = "unrestricted"


@dataclass(frozen=True, kw_only=True)
class ReconcileSettings:
    """``[reconcile]``: the nightly reconciliation (docs/reconciliation.md)."""

    report: Path | None = None  # the report folder; None: <the archive folder's parent>/reports
    lookback: timedelta = timedelta(days=7)  # documents recorded this long ago or later are checked
    grace: timedelta = timedelta(hours=1)  # younger ones are still in flight
    wms_partner: str | None = None  # whose InventoryAdvice documents are the WMS's snapshots; None: any
    sku: tuple[str, ...] = ("vendor_sku", "sku", "upc")  # which product ID is the SKU, first found
    erps: tuple[ReconcileErp, ...] = ()
    jobs: Mapping[str, ReconcileJob] = field(
        default_factory=lambda: MappingProxyType({j: ReconcileJob() for j in RECONCILE_JOBS})
    )


@dataclass(frozen=True, kw_only=True)
class Config:
    """A whole, checked configuration. Paths are absolute; secrets are references only."""

    file: Path
    base_dir: Path
    source: str  # the file as it was named when loaded: what messages show
    us: Party
    ledger: LedgerSettings
    folders: WorkFolders
    retry: Retry
    partners: Mapping[str, Partner]
    endpoints: Mapping[str, Endpoint]
    flows: Mapping[str, Flow]
    schedules: Schedules
    observability: Observability = field(default_factory=Observability)
    events: EventsSettings | None = None
    notify: NotifySettings | None = None
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    jobs: Mapping[str, ItemJob] = field(default_factory=dict)  # [jobs.<name>]

    def partner_by_isa(self, qualifier: str, isa_id: str) -> Partner | None:
        """The partner with this ISA qualifier and ID (as an inbound ISA05/ISA06 names it)."""
        for p in self.partners.values():
            if p.party.qualifier == qualifier.strip().upper() and p.party.id == isa_id.strip():
                return p
        return None

    def secrets(self) -> Iterator[tuple[str, SecretRef]]:
        """Every secret reference with its key path (``endpoints.x.password``)."""
        if self.ledger.password is not None:
            yield "ledger.password", self.ledger.password
        for ep in self.endpoints.values():
            if isinstance(ep, SftpEndpoint):
                for key in ("password", "passphrase"):
                    ref = getattr(ep, key)
                    if ref is not None:
                        yield _join(f"endpoints.{_key(ep.name)}", key), ref
            elif (
                isinstance(ep, SapODataEndpoint | SapIdocEndpoint | NetSuiteEndpoint) and ep.auth is not None
            ):
                for key, ref in ep.auth.secrets():
                    yield f"endpoints.{_key(ep.name)}.auth.{key}", ref
        if self.events is not None:
            for source in self.events.sources.values():
                for n, (ref, _until) in enumerate(source.secrets):
                    yield f"events.sources.{_key(source.name)}.secrets[{n}]", ref
        if self.notify is not None:
            if self.notify.email is not None and self.notify.email.password is not None:
                yield "notify.email.password", self.notify.email.password
            if self.notify.webhook is not None:
                if isinstance(self.notify.webhook.url, SecretRef):
                    yield "notify.webhook.url", self.notify.webhook.url
                if self.notify.webhook.secret is not None:
                    yield "notify.webhook.secret", self.notify.webhook.secret


# -- building transports ---------------------------------------------------------------------


def build_transport(endpoint: Endpoint, *, partner: str | None = None) -> Transport:
    """The transport for an endpoint: :class:`LocalTransport` for local and folder endpoints,
    :class:`SftpTransport` for SFTP (nothing connects until a session opens).

    ``partner`` goes into the context of every error the transport raises. SAP endpoints are not
    transports (:func:`build_connector`): a ConfigError.
    """
    from .transports import LocalTransport

    if isinstance(endpoint, SapODataEndpoint | SapIdocEndpoint | NetSuiteEndpoint):
        raise ConfigError(
            f"[endpoints.{_key(endpoint.name)}] is an {endpoint.type} endpoint, not a transport "
            "(build_connector makes its connector)",
            endpoint=endpoint.name,
        )
    if isinstance(endpoint, SftpEndpoint):
        from .transports.sftp import SftpSettings, SftpTransport

        settings = SftpSettings(
            host=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            known_hosts=endpoint.known_hosts,
            private_key=endpoint.private_key,
            passphrase=endpoint.passphrase.credential() if endpoint.passphrase else None,
            password=endpoint.password.credential() if endpoint.password else None,
            partner=partner,
            connect_timeout=endpoint.connect_timeout.total_seconds(),
            banner_timeout=endpoint.banner_timeout.total_seconds(),
            auth_timeout=endpoint.auth_timeout.total_seconds(),
            channel_timeout=endpoint.channel_timeout.total_seconds(),
            io_timeout=endpoint.io_timeout.total_seconds(),
            stable_after=endpoint.stable_after,
            ignore=endpoint.ignore,
        )
        return SftpTransport(settings)
    return LocalTransport(
        endpoint.root,
        partner=partner,
        stable_after=endpoint.stable_after,
        ignore=endpoint.ignore,
        fsync=endpoint.fsync,
    )


def build_transports(config: Config) -> dict[str, Transport]:
    """A transport for every endpoint, by name; an endpoint that one partner names carries its id."""
    owners: dict[str, list[str]] = {}
    for p in config.partners.values():
        if p.endpoint is not None:
            owners.setdefault(p.endpoint, []).append(p.id)
    return {
        name: build_transport(ep, partner=owners[name][0] if len(owners.get(name, ())) == 1 else None)
        for name, ep in config.endpoints.items()
        if not isinstance(ep, SapODataEndpoint | SapIdocEndpoint | NetSuiteEndpoint)
    }


def build_connector(
    endpoint: Endpoint,
    *,
    folder: str = "",
    transport: Transport | None = None,
    ledger: Ledger | None = None,
    partner: str | None = None,
    worker: str | None = None,
) -> Connector:
    """The connector that takes canonical documents at ``endpoint`` (nothing connects yet):

    - ``folder``: :class:`~erpbridge.connectors.FolderConnector` writing JSON into ``folder``
      (through ``transport``, or the endpoint's own local transport);
    - ``sap_odata``: :class:`~erpbridge.connectors.sap_odata.SapODataConnector`;
    - ``sap_idoc``: :class:`~erpbridge.connectors.sap_idoc.SapIdocConnector`, which takes its DOCNUMs
      from ``ledger`` and records each IDoc there for ``partner`` (claimed as ``worker``); a file
      port writes through ``transport``, the transport of the endpoint that holds its folders;
    - ``netsuite_rest``, ``netsuite_soap``: :class:`~erpbridge.connectors.netsuite_rest.NetSuiteRestConnector`,
      :class:`~erpbridge.connectors.netsuite_soap.NetSuiteSoapConnector` (the SOAP one loads its WSDL).
    """
    if isinstance(endpoint, NetSuiteEndpoint):
        return _netsuite_connector(endpoint)
    if isinstance(endpoint, SapODataEndpoint):
        from .connectors.sap_odata import (
            BasicAuth,
            OAuthClientCredentials,
            SapODataConnector,
            SapODataSettings,
        )

        auth: BasicAuth | OAuthClientCredentials
        a = endpoint.auth
        if a.token_url is not None:
            assert a.client_id is not None and a.client_secret is not None
            auth = OAuthClientCredentials(
                token_url=a.token_url,
                client_id=a.client_id,
                client_secret=a.client_secret.credential(),
                scope=a.scope,
            )
        else:
            assert a.user is not None and a.password is not None
            auth = BasicAuth(user=a.user, password=a.password.credential())
        services = {
            key: value
            for key in ("sales_order_service", "delivery_service", "stock_service")
            if (value := getattr(endpoint, key)) is not None
        }
        return SapODataConnector(
            SapODataSettings(
                url=endpoint.url,
                auth=auth,
                sales_order_mapping=endpoint.mapping,
                name=endpoint.name,
                client=endpoint.client,
                connect_timeout=endpoint.connect_timeout.total_seconds(),
                read_timeout=endpoint.timeout.total_seconds(),
                page_size=endpoint.page_size,
                verify=str(endpoint.verify) if isinstance(endpoint.verify, Path) else endpoint.verify,
                **services,
            )
        )
    if isinstance(endpoint, SapIdocEndpoint):
        from .connectors.sap_idoc import SapIdocConnector, SapIdocSettings

        if ledger is None or partner is None:
            raise ConfigError(
                f"an sap_idoc connector needs the ledger (its DOCNUMs) and a partner: [endpoints.{_key(endpoint.name)}]",
                endpoint=endpoint.name,
            )
        if endpoint.port == "file" and transport is None:
            raise ConfigError(
                f"the file port [endpoints.{_key(endpoint.name)}] needs the transport of [endpoints.{_key(endpoint.transport or '?')}]",
                endpoint=endpoint.name,
            )
        settings = SapIdocSettings(
            name=endpoint.name,
            port=endpoint.port,
            control=endpoint.control.fields(),
            mappings=dict(endpoint.mappings),
            folder=endpoint.folder,
            url=endpoint.url,
            client=endpoint.client,
            user=endpoint.auth.user if endpoint.auth else None,
            password=endpoint.auth.password.credential()
            if endpoint.auth and endpoint.auth.password
            else None,
            connect_timeout=endpoint.connect_timeout.total_seconds(),
            read_timeout=endpoint.timeout.total_seconds(),
            verify=str(endpoint.verify) if isinstance(endpoint.verify, Path) else endpoint.verify,
        )
        return SapIdocConnector(settings, ledger=ledger, partner=partner, worker=worker, transport=transport)
    if isinstance(endpoint, WmsFlatFileEndpoint):
        from .connectors.wms_flatfile import WmsFlatFileConnector, WmsFlatFileSettings

        return WmsFlatFileConnector(
            WmsFlatFileSettings(
                name=endpoint.name,
                layout=endpoint.layout,
                mappings=dict(endpoint.mappings),
                suffix=endpoint.suffix,
            ),
            transport or build_transport(endpoint, partner=partner),
            folder,
        )
    from .connectors import FolderConnector

    if isinstance(endpoint, FolderEndpoint | LocalEndpoint | SftpEndpoint):
        return FolderConnector(endpoint.name, transport or build_transport(endpoint, partner=partner), folder)
    raise ConfigError(f"no connector for endpoint type {endpoint.type}")  # pragma: no cover


def _netsuite_connector(endpoint: NetSuiteEndpoint) -> Connector:
    from .connectors.netsuite_auth import ClientCredentialsAuth, TokenAuth

    a = endpoint.auth
    auth: TokenAuth | ClientCredentialsAuth
    if a.m2m:
        assert a.client_id is not None and a.private_key is not None and a.certificate_id is not None
        auth = ClientCredentialsAuth(
            client_id=a.client_id.credential(),
            certificate_id=a.certificate_id,
            private_key=a.private_key.credential(),
            algorithm=a.algorithm,
            scopes=a.scopes,
        )
    else:
        assert a.consumer_key and a.consumer_secret and a.token_id and a.token_secret
        auth = TokenAuth(
            consumer_key=a.consumer_key.credential(),
            consumer_secret=a.consumer_secret.credential(),
            token_id=a.token_id.credential(),
            token_secret=a.token_secret.credential(),
        )
    common: dict[str, Any] = {
        "account": endpoint.account,
        "sales_order_mapping": endpoint.mapping,
        "name": endpoint.name,
        "url": endpoint.url,
        "concurrency": endpoint.concurrency,
        "max_attempts": endpoint.max_attempts,
        "backoff": endpoint.backoff.total_seconds(),
        "max_backoff": endpoint.max_backoff.total_seconds(),
        "connect_timeout": endpoint.connect_timeout.total_seconds(),
        "verify": str(endpoint.verify) if isinstance(endpoint.verify, Path) else endpoint.verify,
    }
    if endpoint.page_size is not None:
        common["page_size"] = endpoint.page_size
    if endpoint.timeout is not None:
        common["read_timeout"] = endpoint.timeout.total_seconds()
    if endpoint.type == "netsuite_soap":
        from .connectors.netsuite_soap import NetSuiteSoapConnector, NetSuiteSoapSettings

        assert isinstance(auth, TokenAuth) and endpoint.wsdl is not None
        return NetSuiteSoapConnector(NetSuiteSoapSettings(auth=auth, wsdl=endpoint.wsdl, **common))
    from .connectors.netsuite_rest import NetSuiteRestConnector, NetSuiteRestSettings

    return NetSuiteRestConnector(
        NetSuiteRestSettings(
            auth=auth,
            adjustment_account=endpoint.adjustment_account,
            locations=dict(endpoint.locations),
            subsidiary=endpoint.subsidiary,
            **common,
        )
    )


def check_environment(config: Config) -> None:
    """Check what the file alone cannot tell: every secret can be read (and is not empty), SFTP
    known_hosts and key files exist. Raises one :class:`ConfigError` listing every problem; the
    messages name references and files, never a secret's value.
    """
    shown = config.source
    problems: list[str] = []
    for key, ref in config.secrets():
        try:
            ref.credential().reveal()
        except ConfigError as exc:
            problems.append(f"{shown}: {key}: {exc.message}")
    for ep in config.endpoints.values():
        if (
            isinstance(ep, SapODataEndpoint | SapIdocEndpoint | NetSuiteEndpoint)
            and isinstance(ep.verify, Path)
            and not ep.verify.is_file()
        ):
            problems.append(f"{shown}: endpoints.{_key(ep.name)}.verify: {ep.verify} is not a file")
        if isinstance(ep, SftpEndpoint):
            where = f"endpoints.{_key(ep.name)}"
            if not ep.known_hosts.is_file():
                problems.append(f"{shown}: {where}.known_hosts: {ep.known_hosts} is not a file")
            if ep.private_key is not None and not ep.private_key.is_file():
                problems.append(f"{shown}: {where}.private_key: {ep.private_key} is not a file")
    if problems:
        raise ConfigError("\n".join(problems))


# -- loading ---------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a configuration file. Relative paths in it are relative to its folder."""
    shown = os.fspath(path)
    file = Path(path).absolute()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the configuration: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if at:
            message = message[: at.start()]
            raise ConfigError(f"{shown}:{at[1]}:{at[2]}: invalid TOML: {message}") from None
        raise ConfigError(f"{shown}: invalid TOML: {message}") from None
    return parse_config(data, file=file, shown=shown)


def _is_dir(path: Path) -> bool:
    return path.is_dir()


def _load_mapping(path: Path) -> Any:
    from .mapping import load_mapping  # the mapping engine (jsonata) only when a flow names one

    return load_mapping(path)


def parse_config(
    data: Mapping[str, Any],
    *,
    file: str | os.PathLike[str],
    shown: str | None = None,
    is_dir: Callable[[Path], bool] = _is_dir,
    load_mapping: Callable[[Path], Any] = _load_mapping,
) -> Config:
    """Check parsed TOML and build the :class:`Config`; relative paths are resolved against the
    folder of ``file``. ``shown`` is the file name used in messages (default: ``file`` as given).
    ``is_dir`` (a partner's default mapping folder, if it exists) and ``load_mapping`` (a flow's
    ``csv_mapping``: it must load, read ``csv`` and make a kind the flow takes) are the only looks at
    the disk. Raises :class:`ConfigError` listing every problem, one per line.
    """
    path = Path(file).absolute()
    p = _Parser(path, shown if shown is not None else os.fspath(file), is_dir, load_mapping)
    return p.parse(data)


# -- the parser ------------------------------------------------------------------------------


class _Bad(Exception):
    """One problem at one key; collected, then reported together."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


class _Skip(Exception):
    """A table refers to something that is broken itself (and reported already): say nothing more."""


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _join(path: str, name: str) -> str:
    return f"{path}.{_key(name)}" if path else _key(name)


def _show(value: Any) -> str:
    """A value as TOML would show it, shortened, for messages (never used for secrets)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a date/time"


def _either(choices: Collection[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = list(choices)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


_MISSING: Final[Any] = object()


class _Table:
    """One TOML table being read: knows its key path, refuses keys it was not told about."""

    def __init__(self, data: Any, path: str, allowed: Collection[str] | None = None) -> None:
        if not isinstance(data, dict):
            raise _Bad(path, f"expected a table, got {_show(data)} ({_type_name(data)})")
        self.data: dict[str, Any] = data
        self.path = path
        if allowed is not None:
            self.allow(allowed)

    def key(self, name: str) -> str:
        return _join(self.path, name)

    def allow(self, allowed: Collection[str]) -> None:
        for k in self.data:
            if k not in allowed:
                hint = _suggest(k, allowed) or f" (known keys: {', '.join(sorted(allowed))})"
                raise _Bad(self.key(k), f"unknown key{hint}")

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, default: Any = _MISSING, *, hint: str = "") -> Any:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise _Bad(self.key(name), f"missing{f' ({hint})' if hint else ''}")
        return default

    def _typed(self, name: str, kinds: type | tuple[type, ...], what: str, default: Any, hint: str) -> Any:
        value = self.get(name, default, hint=hint)
        if value is default and name not in self.data:
            return value
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            raise _Bad(self.key(name), f"expected {what}, got {_show(value)} ({_type_name(value)})")
        if not isinstance(value, kinds):
            raise _Bad(self.key(name), f"expected {what}, got {_show(value)} ({_type_name(value)})")
        return value

    def string(self, name: str, default: Any = _MISSING, *, hint: str = "", empty: bool = False) -> Any:
        value = self._typed(name, str, "a string", default, hint)
        if isinstance(value, str) and not empty and not value.strip():
            raise _Bad(self.key(name), "must not be empty")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value: bool = self._typed(name, bool, "true or false", default, "")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, low: int, high: int | None = None) -> Any:
        value = self._typed(name, int, "a whole number", default, "")
        if isinstance(value, int) and (value < low or (high is not None and value > high)):
            bounds = f"{low}-{high}" if high is not None else f"{low} or more"
            raise _Bad(self.key(name), f"{value} is out of range ({bounds})")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: Any = _MISSING, *, hint: str = "") -> Any:
        value = self.get(name, default, hint=hint)
        if name in self.data and value not in choices:
            listed = ", ".join(json.dumps(c) for c in choices)
            suggestion = _suggest(value, choices) if isinstance(value, str) else ""
            raise _Bad(self.key(name), f"{_show(value)} is not one of {listed}{suggestion}")
        return value

    def duration(self, name: str, default: Any = _MISSING, *, hint: str = "") -> Any:
        value = self.get(name, default, hint=hint)
        if name not in self.data:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            raise _Bad(self.key(name), f'{value} {_DURATION_HINT} (durations are strings: "{value}s")')
        try:
            result = parse_duration(value)
        except ValueError:
            raise _Bad(self.key(name), f"{_show(value)} {_DURATION_HINT}") from None
        if not result:
            raise _Bad(self.key(name), "must be longer than 0s")
        return result

    def cron(self, name: str, default: Any = _MISSING) -> Any:
        value = self.get(name, default)
        if name not in self.data:
            return value
        try:
            return Cron.parse(value)
        except ValueError as exc:
            raise _Bad(self.key(name), f"not a cron expression: {exc}") from None

    def strings(self, name: str, default: Any) -> Any:
        value = self.get(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Bad(self.key(name), f"expected a list of strings, got {_show(value)}")
        return tuple(value)

    def table(self, name: str, allowed: Collection[str], default: Any = _MISSING) -> Any:
        if name not in self.data and default is not _MISSING:
            return default
        return _Table(self.get(name), self.key(name), allowed)


class _Parser:
    def __init__(
        self,
        file: Path,
        shown: str,
        is_dir: Callable[[Path], bool],
        load_mapping: Callable[[Path], Any] = _load_mapping,
    ) -> None:
        self.file = file
        self.shown = shown
        self.base = file.parent
        self.is_dir = is_dir
        self.load_mapping = load_mapping
        self.problems: list[_Bad] = []
        self.broken: set[tuple[str, str]] = set()  # (section, name) of tables that failed

    # - helpers -

    def path(self, t: _Table, name: str, default: Any = _MISSING, *, hint: str = "") -> Any:
        text = t.string(name, default, hint=hint)
        if name not in t.data:
            return text
        return Path(os.path.normpath(self.base / Path(text).expanduser()))

    def secret(self, t: _Table, name: str) -> SecretRef | None:
        if not t.has(name):
            return None
        value = t.get(name)
        key = t.key(name)
        suggested = "_".join(part for part in key.split(".")[1:]).upper().replace("-", "_")
        if key.startswith("ledger."):
            suggested = "ERPBRIDGE_" + key.replace(".", "_").upper()
        if not isinstance(value, dict):
            # the value is probably the secret itself: never repeat it
            raise _Bad(
                key,
                "a secret cannot be written in the file: put secrets in an environment variable or a "
                f'file: {name} = {{ env = "{suggested}" }} or {name} = {{ file = "/run/secrets/..." }}',
            )
        ref = _Table(value, key, ("env", "file"))
        if len(ref.data) != 1:
            raise _Bad(key, f'give exactly one of env and file: {name} = {{ env = "{suggested}" }}')
        if ref.has("env"):
            variable = ref.string("env")
            if not _ENV_NAME.match(variable):
                raise _Bad(ref.key("env"), f"{_show(variable)} is not an environment variable name")
            return SecretRef("env", variable)
        secret_file: Path = self.path(ref, "file")
        return SecretRef("file", str(secret_file))

    def section(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except _Bad as bad:
            self.problems.append(bad)
        except _Skip:
            pass
        return None

    def named(self, data: Any, section: str) -> dict[str, Any]:
        """The tables of a section such as [partners.*], by name (names checked)."""
        if data is None:
            return {}
        t = _Table(data, section)
        out: dict[str, Any] = {}
        for name, value in t.data.items():
            if not _NAME.match(name):
                self.problems.append(
                    _Bad(
                        t.key(name),
                        "a name must be letters, digits, '_' and '-', starting with a letter or digit",
                    )
                )
                self.broken.add((section, name))
                continue
            out[name] = value
        return out

    def refer(self, t: _Table, name: str, section: str, known: Mapping[str, Any]) -> str:
        ref = t.string(name)
        if (section, ref) in self.broken:
            raise _Skip
        if ref not in known:
            defined = f"; defined: {', '.join(sorted(known))}" if known and not _suggest(ref, known) else ""
            raise _Bad(t.key(name), f"no [{section}.{_key(ref)}] in this file{_suggest(ref, known)}{defined}")
        return str(ref)

    # - sections -

    def parse(self, data: Mapping[str, Any]) -> Config:
        root = _Table(dict(data), "")
        for k in root.data:
            if k not in SECTIONS:
                hint = _suggest(k, SECTIONS) or f" (sections: {', '.join(SECTIONS)})"
                self.problems.append(_Bad(_key(k), f"unknown section{hint}"))
        us, folders = self.section(self.parse_us, root.data.get("erpbridge", {})) or (None, None)
        ledger = self.section(self.parse_ledger, root.data.get("ledger", {}))
        retry = self.section(self.parse_retry, root.data.get("retry", {}), "retry") or Retry()
        schedules = self.section(self.parse_schedules, root.data.get("schedules", {}))
        observability = self.section(self.parse_observability, root.data.get("observability", {}))
        events = self.section(self.parse_events, root.data["events"]) if "events" in root.data else None
        notify = self.section(self.parse_notify, root.data["notify"]) if "notify" in root.data else None

        endpoints: dict[str, Endpoint] = {}
        try:
            raw_endpoints = self.named(root.data.get("endpoints"), "endpoints")
        except _Bad as bad:
            self.problems.append(bad)
            raw_endpoints = {}
        for name, value in raw_endpoints.items():
            ep = self.section(self.parse_endpoint, name, value)
            if ep is None:
                self.broken.add(("endpoints", name))
            else:
                endpoints[name] = ep
        self.check_sap_ports(endpoints, raw_endpoints)

        partners: dict[str, Partner] = {}
        try:
            raw_partners = self.named(root.data.get("partners"), "partners")
        except _Bad as bad:
            self.problems.append(bad)
            raw_partners = {}
        for name, value in raw_partners.items():
            partner = self.section(self.parse_partner, name, value, raw_endpoints)
            if partner is None:
                self.broken.add(("partners", name))
            else:
                partners[name] = partner
        self.section(self.check_partners_distinct, partners, us)

        flows: dict[str, Flow] = {}
        try:
            raw_flows = self.named(root.data.get("flows"), "flows")
        except _Bad as bad:
            self.problems.append(bad)
            raw_flows = {}
        for name, value in raw_flows.items():
            flow = self.section(
                self.parse_flow, name, value, raw_partners, partners, raw_endpoints, retry, endpoints
            )
            if flow is not None:
                flows[name] = flow
        self.section(self.check_flows_distinct, flows, endpoints)
        reconcile = self.section(self.parse_reconcile, root.data.get("reconcile", {}), endpoints)
        jobs: dict[str, ItemJob] = {}
        try:
            raw_jobs = self.named(root.data.get("jobs"), "jobs")
        except _Bad as bad:
            self.problems.append(bad)
            raw_jobs = {}
        for name, value in raw_jobs.items():
            item_job = self.section(self.parse_item_job, name, value, endpoints)
            if item_job is not None:
                jobs[name] = item_job

        if (
            self.problems
            or us is None
            or folders is None
            or ledger is None
            or schedules is None
            or observability is None
            or reconcile is None
        ):
            lines = [
                f"{self.shown}: {p.key}: {p.message}" if p.key else f"{self.shown}: {p.message}"
                for p in self.problems
            ]
            raise ConfigError("\n".join(lines))
        return Config(
            file=self.file,
            base_dir=self.base,
            source=self.shown,
            us=us,
            ledger=ledger,
            folders=folders,
            retry=retry,
            partners=MappingProxyType(partners),
            endpoints=MappingProxyType(endpoints),
            flows=MappingProxyType(flows),
            schedules=schedules,
            observability=observability,
            events=events,
            notify=notify,
            reconcile=reconcile,
            jobs=MappingProxyType(jobs),
        )

    def party(self, t: _Table, hint_id: str) -> Party:
        qualifier = t.string("isa_qualifier", "ZZ")
        if not (1 <= len(qualifier) <= 2 and qualifier.isalnum()):
            raise _Bad(
                t.key("isa_qualifier"),
                f'{_show(qualifier)} is not an ID qualifier (1-2 letters or digits, such as "ZZ" or "01")',
            )
        isa_id = t.string("isa_id", hint=f'the ISA06/ISA08 interchange ID, such as isa_id = "{hint_id}"')
        if not 1 <= len(isa_id) <= 15 or isa_id != isa_id.strip():
            raise _Bad(
                t.key("isa_id"), f"{_show(isa_id)} must be 1-15 characters without leading or trailing spaces"
            )
        gs_id = t.string("gs_id", isa_id)
        if not 2 <= len(gs_id) <= 15 or gs_id != gs_id.strip():
            raise _Bad(
                t.key("gs_id"), f"{_show(gs_id)} must be 2-15 characters without leading or trailing spaces"
            )
        for key, value in (("isa_id", isa_id), ("gs_id", gs_id)):
            if not all(" " <= c <= "~" for c in value):
                raise _Bad(t.key(key), f"{_show(value)} must be printable ASCII")
        return Party(qualifier=qualifier.upper(), id=isa_id, gs_id=gs_id)

    def parse_us(self, data: Any) -> tuple[Party, WorkFolders]:
        t = _Table(data, "erpbridge", ("isa_qualifier", "isa_id", "gs_id", "archive", "quarantine", "outbox"))
        us = self.party(t, "NWOUTFITTERS")
        folders = WorkFolders(
            archive=self.path(t, "archive", self.base / "var" / "archive"),
            quarantine=self.path(t, "quarantine", self.base / "var" / "quarantine"),
            outbox=self.path(t, "outbox", self.base / "var" / "outbox"),
        )
        return us, folders

    def parse_ledger(self, data: Any) -> LedgerSettings:
        t = _Table(data, "ledger", ("url", "password", "busy_timeout"))
        url: str = t.string("url", "sqlite:///var/ledger.sqlite3")
        key = t.key("url")
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep:
            raise _Bad(
                key,
                f'{_show(url)} is not a database URL: use "sqlite:///var/ledger.sqlite3" (a file beside this one) or "postgresql+psycopg://user@host:5432/erpbridge"',
            )
        password = self.secret(t, "password")
        busy_timeout = t.duration("busy_timeout", timedelta(seconds=30))
        if scheme in ("sqlite", "sqlite+pysqlite"):
            if not rest.startswith("/") or "?" in rest:
                raise _Bad(
                    key,
                    f'{_show(url)}: a SQLite URL is sqlite:/// and a file path, such as "sqlite:///var/ledger.sqlite3" (relative to this file) or "sqlite:////srv/erpbridge/ledger.sqlite3"',
                )
            target = rest[1:]
            if not target or target == ":memory:" or target.startswith("file:"):
                raise _Bad(
                    key,
                    "the ledger needs a database file (it must outlive the process), not an in-memory database",
                )
            if password is not None:
                raise _Bad(t.key("password"), "a SQLite ledger has no password; remove this key")
            file = Path(os.path.normpath(self.base / Path(target).expanduser()))
            return LedgerSettings(url=f"sqlite:///{file}", busy_timeout=busy_timeout)
        if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            # everything before the last "@" is user information, even if a password holds "/" or "?"
            before_at, _, after_at = rest.rpartition("@")
            if ":" in before_at or "password" in after_at.partition("?")[2].lower():
                user = before_at.partition(":")[0]
                shown = f"{scheme}://{user}:***@{after_at.partition('?')[0]}"
                raise _Bad(
                    key,
                    f"{shown} holds a password: put secrets in an environment variable or a file: "
                    'url = "postgresql+psycopg://USER@HOST:5432/DB" and password = { env = "ERPBRIDGE_LEDGER_PASSWORD" }',
                )
            parts = urlsplit(url)
            userinfo = parts.netloc.rpartition("@")[0]
            if not parts.hostname or not parts.path.strip("/"):
                raise _Bad(
                    key,
                    f"{_show(url)}: a PostgreSQL URL needs a host and a database: postgresql+psycopg://USER@HOST:5432/DB",
                )
            try:
                parts.port  # noqa: B018 - urlsplit checks the port when asked
            except ValueError:
                raise _Bad(key, f"{_show(url)}: the port is not a number 0-65535") from None
            if password is not None and not userinfo:
                raise _Bad(
                    key,
                    f"{_show(url)}: a password needs a user name in the URL (postgresql+psycopg://USER@HOST/DB)",
                )
            return LedgerSettings(
                url="postgresql+psycopg://" + url.partition("://")[2],
                password=password,
                busy_timeout=busy_timeout,
            )
        raise _Bad(
            key,
            f"{_show(scheme + '://')}: the ledger is SQLite (sqlite:///...) or PostgreSQL (postgresql+psycopg://...)",
        )

    def parse_retry(self, data: Any, path: str) -> Retry:
        t = _Table(data, path, ("max_attempts", "initial_delay", "max_delay"))
        return Retry(
            max_attempts=t.integer("max_attempts", None, low=1, high=100),
            initial_delay=t.duration("initial_delay", None),
            max_delay=t.duration("max_delay", None),
        )

    def parse_schedules(self, data: Any) -> Schedules:
        t = _Table(data, "schedules", ("timezone", "reconciliation", "ack_overdue"))
        timezone = t.string("timezone", "UTC")
        if timezone != "UTC":
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise _Bad(
                    t.key("timezone"),
                    f'{_show(timezone)} is not a time zone such as "UTC" or "America/Chicago"',
                ) from None
        defaults = Schedules()
        return Schedules(
            timezone=timezone,
            reconciliation=t.cron("reconciliation", defaults.reconciliation),
            ack_overdue=t.cron("ack_overdue", defaults.ack_overdue),
        )

    def parse_observability(self, data: Any) -> Observability:
        t = _Table(data, "observability", ("metrics", "log_format", "log_level"))
        return Observability(
            metrics=self.listen_address(t, "metrics", "127.0.0.1:9464") if t.has("metrics") else None,
            log_format=t.choice("log_format", ("text", "json"), "text"),
            log_level=t.choice("log_level", ("debug", "info", "warning", "error"), "info"),
        )

    def listen_address(self, t: _Table, name: str, example: str) -> tuple[str, int]:
        """``HOST:PORT`` (``[::1]:PORT`` for IPv6, ``:PORT`` for every interface) as (host, port)."""
        address = t.string(name, hint=f'an address to listen on, such as "{example}"')
        host, sep, port = str(address).strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) <= 65535:
            raise _Bad(
                t.key(name),
                f'{_show(address)} is not an address to listen on: use HOST:PORT, such as "{example}"',
            )
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        return host or "0.0.0.0", int(port)

    def parse_events(self, data: Any) -> EventsSettings:
        t = _Table(data, "events", ("listen", "path_prefix", "read_timeout", "sources"))
        listen = self.listen_address(t, "listen", "127.0.0.1:8081")
        prefix = t.string("path_prefix", "/events/")
        if not (prefix.startswith("/") and prefix.endswith("/")):
            raise _Bad(
                t.key("path_prefix"), f'{_show(prefix)} must start and end with "/", such as "/events/"'
            )
        sources: dict[str, EventSourceSettings] = {}
        for name, raw in self.named(t.get("sources", {}), "events.sources").items():
            sources[name] = self.parse_event_source(name, raw)
        if not sources:
            raise _Bad(t.key("sources"), "the receiver needs at least one [events.sources.<name>]")
        return EventsSettings(
            listen=listen,
            path_prefix=prefix,
            read_timeout=t.duration("read_timeout", timedelta(seconds=10)),
            sources=MappingProxyType(sources),
        )

    def parse_event_source(self, name: str, data: Any) -> EventSourceSettings:
        path = f"events.sources.{_key(name)}"
        keys = (
            "scheme", "secrets", "signature_header", "event_id_header", "event_id_field", "topic_header",
            "topic_field", "default_topic", "max_body", "notify",
        )  # fmt: skip
        t = _Table(data, path, keys)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            raise _Bad(path, "a source's name is 1 to 64 letters, digits, '_', '.' or '-'")
        raw_secrets = t.get("secrets", hint='a list such as [{ env = "SHOPIFY_SECRET" }]')
        if not isinstance(raw_secrets, list) or not raw_secrets:
            raise _Bad(
                t.key("secrets"), 'give at least one signing secret: secrets = [{ env = "SHOPIFY_SECRET" }]'
            )
        secrets: list[tuple[SecretRef, datetime | None]] = []
        for n, item in enumerate(raw_secrets):
            key = f"{t.key('secrets')}[{n}]"
            if not isinstance(item, dict):
                raise _Bad(
                    key, 'a secret is { env = "NAME" } or { file = "/run/secrets/..." }, never the value'
                )
            ref = self.secret(
                _Table({"secret": {k: v for k, v in item.items() if k != "until"}}, key), "secret"
            )
            if ref is None:  # pragma: no cover - the table above always has the key
                raise _Bad(key, "missing")
            secrets.append((ref, _until(item.get("until"), f"{key}.until")))
        return EventSourceSettings(
            name=name,
            scheme=t.choice("scheme", ("shopify", "generic"), hint='"shopify" or "generic"'),
            secrets=tuple(secrets),
            signature_header=t.string("signature_header", None),
            event_id_header=t.string("event_id_header", None),
            event_id_field=t.string("event_id_field", None),
            topic_header=t.string("topic_header", None),
            topic_field=t.string("topic_field", None),
            default_topic=t.string("default_topic", "webhook"),
            max_body=t.integer("max_body", 1_048_576, low=1),
            notify=t.boolean("notify", False),
        )

    def parse_reconcile(self, data: Any, endpoints: Mapping[str, Endpoint]) -> ReconcileSettings:
        t = _Table(data, "reconcile", ("report", "lookback", "grace", *RECONCILE_JOBS))
        defaults = ReconcileSettings()
        jobs: dict[str, ReconcileJob] = {}
        erps: tuple[ReconcileErp, ...] = ()
        wms_partner, sku = defaults.wms_partner, defaults.sku
        for job in RECONCILE_JOBS:
            inventory = (
                ("tolerance", "tolerance_pct", "wms_partner", "sku", "erp") if job == "inventory" else ()
            )
            j = t.table(job, ("enabled", "threshold", *inventory), _Table({}, t.key(job)))

            def number(name: str, j: _Table = j) -> float:
                value = j.get(name, 0)
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise _Bad(j.key(name), f"expected a number of 0 or more, got {_show(value)}")
                return float(value)

            jobs[job] = ReconcileJob(
                enabled=j.boolean("enabled", True),
                threshold=j.integer("threshold", 0, low=0),
                tolerance=number("tolerance"),
                tolerance_pct=number("tolerance_pct"),
            )
            if job == "inventory":
                wms_partner = j.string("wms_partner", None)
                sku = j.strings("sku", defaults.sku)
                if not sku:
                    raise _Bad(j.key("sku"), 'name at least one product ID kind, such as ["vendor_sku"]')
                erps = tuple(
                    self.parse_reconcile_erp(name, _Table(raw, _join(j.key("erp"), name)), endpoints)
                    for name, raw in self.named(j.get("erp", {}), j.key("erp")).items()
                )
        return ReconcileSettings(
            report=self.path(t, "report", None),
            lookback=t.duration("lookback", defaults.lookback),
            grace=t.duration("grace", defaults.grace),
            wms_partner=wms_partner,
            sku=sku,
            erps=erps,
            jobs=MappingProxyType(jobs),
        )

    def parse_reconcile_erp(self, name: str, t: _Table, endpoints: Mapping[str, Endpoint]) -> ReconcileErp:
        t.allow(("locations", "adjustment_account", "stock"))
        ep = endpoints.get(name)
        if ep is None or ep.type not in ("sap_odata", "netsuite_rest"):
            what = f"is a {ep.type} endpoint" if ep is not None else "is not an endpoint of this file"
            raise _Bad(
                t.path,
                f"{name} {what}: the inventory job reads on-hand from sap_odata and netsuite_rest endpoints",
            )
        raw = t.get("locations", hint='the WMS location to the ERP\'s, such as { "BRL-LOU1" = "1710" }')
        if not isinstance(raw, dict) or not raw or not all(isinstance(v, str) and v for v in raw.values()):
            raise _Bad(
                t.key("locations"), f'expected a table of WMS location = "ERP location", got {_show(raw)}'
            )
        shared: dict[str, list[str]] = {}
        for wms_location, erp_location in raw.items():
            shared.setdefault(erp_location, []).append(str(wms_location))
        for erp_location, wms_locations in shared.items():
            if len(wms_locations) > 1:  # each would be compared with, and adjusted to, the whole
                raise _Bad(
                    t.key("locations"),
                    f'{" and ".join(wms_locations)} both map to {name} location "{erp_location}": the '
                    "inventory job compares each WMS location with the whole of its ERP location, and "
                    "--fix would post the difference once per WMS location; map one WMS location to "
                    "each ERP location",
                )
        account = t.string("adjustment_account", None)
        if account is not None and ep.type != "netsuite_rest":
            raise _Bad(
                t.key("adjustment_account"), "only a netsuite_rest endpoint takes inventory adjustments"
            )
        return ReconcileErp(
            endpoint=name,
            locations=MappingProxyType({str(k): str(v) for k, v in raw.items()}),
            adjustment_account=account,
            stock=t.choice("stock", ("unrestricted", "total"), "unrestricted"),
        )

    def parse_item_job(self, name: str, data: Any, endpoints: Mapping[str, Endpoint]) -> ItemJob:
        """``[jobs.<name>]`` (ItemJob): the endpoints must be here and of the right types, the
        layout must load, the cron must parse."""
        from .errors import ConfigError

        t = _Table(data, _join("jobs", name))
        kind = t.choice("type", JOB_TYPES, hint='"item_master" or "catalog_drift"')
        drift = kind == "catalog_drift"
        t.allow(
            ("type", "erp", "wms", "layout", "file", "cron", "enabled", "item_types", "dimensions")
            + (("weight_tolerance", "dimension_tolerance", "tolerance_pct") if drift else ())
        )
        erp = t.string(
            "erp", hint='the netsuite_rest endpoint whose items are read, such as erp = "netsuite"'
        )
        ep = endpoints.get(erp)
        if ep is None or ep.type != "netsuite_rest":
            what = f"is a {ep.type} endpoint" if ep is not None else "is not an endpoint of this file"
            raise _Bad(t.key("erp"), f"{erp} {what}: the item master is read from a netsuite_rest endpoint")
        w = t.table("wms", ("endpoint", "folder"))
        wms = Place(endpoint=w.string("endpoint"), folder=w.string("folder", "", empty=True))
        target = endpoints.get(wms.endpoint)
        if target is None or target.type not in ("local", "folder", "wms_flatfile", "sftp"):
            what = f"is a {target.type} endpoint" if target is not None else "is not an endpoint of this file"
            raise _Bad(
                w.key("endpoint"),
                f"{wms.endpoint} {what}: the WMS's item files are in a local, folder, wms_flatfile or sftp endpoint",
            )
        layout_name = t.string("layout", "wms-items" if drift else "item-master")
        if "/" not in layout_name and not layout_name.endswith((".yaml", ".yml")):
            t = _Table({**t.data, "layout": f"mappings/wms/layouts/{layout_name}.yaml"}, t.path)
        else:
            t = _Table({**t.data, "layout": layout_name}, t.path)
        layout = self.shipped_path(t, "layout", hint="")
        from .formats.flatfile import load_layout

        try:
            load_layout(layout)
        except ConfigError as exc:  # LayoutError: file:line
            raise _Bad(t.key("layout"), str(exc)) from None
        file = t.string("file", None if drift else "items.txt")
        if file is not None and (not file or "/" in file or file.startswith(".")):
            raise _Bad(
                t.key("file"), f"{_show(file)} is not a file name (no folders: put them in wms.folder)"
            )
        dimensions: tuple[str, str, str, str] | None = None
        if t.has("dimensions"):
            d = t.table("dimensions", ("length", "width", "height", "unit"))
            unit = d.choice("unit", ("in", "cm", "mm", "ft", "m"), "in")
            dimensions = (d.string("length"), d.string("width"), d.string("height"), unit)
            for key, value in zip(("length", "width", "height"), dimensions, strict=False):
                if not re.fullmatch(r"custitem[a-z0-9_]{1,40}", value):
                    raise _Bad(d.key(key), f"{_show(value)} is not a custom item field ID (custitem_...)")
        types = t.strings("item_types", ("InvtPart", "Assembly"))
        if not types or not all(re.fullmatch(r"[A-Za-z]+", k) for k in types):
            raise _Bad(t.key("item_types"), 'expected item types such as ["InvtPart", "Assembly"]')

        def number(key: str, default: float) -> float:
            value = t.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise _Bad(t.key(key), f"expected a number of 0 or more, got {_show(value)}")
            return float(value)

        return ItemJob(
            name=name,
            type=kind,
            erp=erp,
            wms=wms,
            layout=layout,
            cron=t.cron("cron", Cron.parse("30 2 * * *" if drift else "0 2 * * *")),
            file=file,
            enabled=t.boolean("enabled", True),
            item_types=types,
            dimensions=dimensions,
            weight_tolerance=number("weight_tolerance", 0.01),
            dimension_tolerance=number("dimension_tolerance", 0.1),
            tolerance_pct=number("tolerance_pct", 0.0),
        )

    def parse_notify(self, data: Any) -> NotifySettings:
        t = _Table(data, "notify", ("window", "schedule", "email", "webhook"))
        email = self.parse_email(t.get("email")) if t.has("email") else None
        webhook = None
        if t.has("webhook"):
            w = _Table(t.get("webhook"), "notify.webhook", ("url", "secret", "timeout"))
            raw_url = w.get(
                "url", hint='"https://hooks.example.com/erpbridge" or { env = "NOTIFY_WEBHOOK_URL" }'
            )
            url: str | SecretRef
            if isinstance(raw_url, dict):
                url_ref = self.secret(w, "url")
                if url_ref is None:  # pragma: no cover - has("url") above
                    raise _Bad(w.key("url"), "missing")
                url = url_ref
            else:
                plain: str = w.string("url")
                if not re.match(r"https?://", plain):
                    raise _Bad(w.key("url"), f"{_show(plain)} is not an http:// or https:// URL")
                url = plain
            webhook = WebhookSettings(
                url=url, secret=self.secret(w, "secret"), timeout=w.duration("timeout", timedelta(seconds=10))
            )
        return NotifySettings(
            window=t.duration("window", timedelta(minutes=15)),
            schedule=t.cron("schedule", Cron.parse("* * * * *")),
            email=email,
            webhook=webhook,
        )

    def parse_email(self, data: Any) -> EmailSettings:
        e = _Table(data, "notify.email", (
            "relay", "tls", "sender", "recipients", "username", "password", "ca_file", "timeout", "subject_prefix",
        ))  # fmt: skip
        recipients = e.strings("recipients", ())
        if not recipients:
            raise _Bad(
                e.key("recipients"), 'give at least one address: recipients = ["edi-team@example.com"]'
            )
        tls = e.choice("tls", ("starttls", "tls", "none"), "starttls")
        username, password = e.string("username", None), self.secret(e, "password")
        if (username is None) != (password is None):
            raise _Bad(
                e.key("username" if username is None else "password"), "give username and password together"
            )
        if tls == "none" and password is not None:
            raise _Bad(
                e.key("password"), 'a password is never sent without TLS: use tls = "starttls" or "tls"'
            )
        return EmailSettings(
            relay=e.string("relay", hint='the SMTP relay, such as "smtp.example.com:587"'),
            sender=e.string("sender", hint='the From address, such as "erpbridge@example.com"'),
            recipients=tuple(recipients),
            tls=tls,
            username=username,
            password=password,
            ca_file=self.path(e, "ca_file", None),
            timeout=e.duration("timeout", timedelta(seconds=30)),
            subject_prefix=e.string("subject_prefix", "[erpbridge]"),
        )

    def parse_endpoint(self, name: str, data: Any) -> Endpoint:
        path = f"endpoints.{_key(name)}"
        t = _Table(data, path)
        kind = t.get("type", hint=f'one of {", ".join(ENDPOINT_TYPES)}, such as type = "local"')
        if kind not in ENDPOINT_TYPES:
            raise _Bad(
                t.key("type"),
                f"{_show(kind)} is not a known endpoint type{_suggest(str(kind), ENDPOINT_TYPES)}; known: "
                f"{', '.join(ENDPOINT_TYPES)}",
            )
        if kind in ("netsuite_rest", "netsuite_soap"):
            return self.netsuite_endpoint(name, t, kind)
        if kind == "sap_odata":
            return self.sap_odata_endpoint(name, t)
        if kind == "sap_idoc":
            return self.sap_idoc_endpoint(name, t)
        common = ("type", "stable_after", "ignore")
        if kind == "sftp":
            t.allow(
                (
                    *common,
                    "host",
                    "port",
                    "username",
                    "known_hosts",
                    "private_key",
                    "passphrase",
                    "password",
                    "connect_timeout",
                    "banner_timeout",
                    "auth_timeout",
                    "channel_timeout",
                    "io_timeout",
                )
            )
            host = t.string("host")
            username = t.string("username")
            known_hosts = self.path(
                t,
                "known_hosts",
                hint="the OpenSSH known_hosts file pinning the server's host key; erpbridge never accepts an unknown key",
            )
            private_key = self.key_file(t)
            password = self.secret(t, "password")
            passphrase = self.secret(t, "passphrase")
            if private_key is None and password is None:
                raise _Bad(
                    t.key("private_key"),
                    'an SFTP endpoint needs private_key = "..." or password = { env = "..." } (or both)',
                )
            if passphrase is not None and private_key is None:
                raise _Bad(
                    t.key("passphrase"),
                    "a passphrase without a private_key: add private_key or remove passphrase",
                )
            defaults = SftpEndpoint(name=name, host="-", username="-", known_hosts=Path())
            return SftpEndpoint(
                name=name,
                host=host,
                port=t.integer("port", 22, low=1, high=65535),
                username=username,
                known_hosts=known_hosts,
                private_key=private_key,
                passphrase=passphrase,
                password=password,
                connect_timeout=t.duration("connect_timeout", defaults.connect_timeout),
                banner_timeout=t.duration("banner_timeout", defaults.banner_timeout),
                auth_timeout=t.duration("auth_timeout", defaults.auth_timeout),
                channel_timeout=t.duration("channel_timeout", defaults.channel_timeout),
                io_timeout=t.duration("io_timeout", defaults.io_timeout),
                stable_after=t.integer("stable_after", 0, low=0, high=100),
                ignore=t.strings("ignore", DEFAULT_IGNORE),
            )
        if kind == "wms_flatfile":
            return self.wms_flatfile_endpoint(name, t, common)
        t.allow((*common, "root", "fsync"))
        root = self.path(
            t, "root", hint='the folder below which its folders are, such as root = "var/partners/megamart"'
        )
        cls = LocalEndpoint if kind == "local" else FolderEndpoint
        return cls(
            name=name,
            root=root,
            stable_after=t.integer("stable_after", 0, low=0, high=100),
            ignore=t.strings("ignore", DEFAULT_IGNORE),
            fsync=t.boolean("fsync", True),
        )

    def wms_flatfile_endpoint(self, name: str, t: _Table, common: tuple[str, ...]) -> WmsFlatFileEndpoint:
        """``type = "wms_flatfile"``: root, layout (a name in mappings/wms/layouts/ or a path; it must
        load), mappings (canonical kind -> a mapping that reads that kind and makes wms/... rows),
        suffix."""
        from .errors import ConfigError
        from .formats.flatfile import load_layout

        t.allow((*common, "root", "fsync", "layout", "mappings", "suffix"))
        root = self.path(
            t, "root", hint='the folder below which the WMS\'s folders are, such as root = "var/wms"'
        )
        layout_name = t.string("layout", hint='such as "pick-order" (mappings/wms/layouts/) or a path')
        if "/" not in layout_name and not layout_name.endswith((".yaml", ".yml")):
            t = _Table({**t.data, "layout": f"mappings/wms/layouts/{layout_name}.yaml"}, t.path)
        layout = self.shipped_path(t, "layout", hint="")
        try:
            load_layout(layout)
        except ConfigError as exc:
            raise _Bad(t.key("layout"), str(exc)) from None
        m = t.table("mappings", tuple(KINDS), None)
        if m is None or not m.data:
            raise _Bad(
                t.key("mappings"),
                'missing: a mapping per canonical kind, such as mappings = { PurchaseOrder = "mappings/wms/purchase-order-to-pick-order.yaml" }',
            )
        mappings: dict[str, Path] = {}
        for kind in list(m.data):
            path, mapping = self.mapping_file(
                m, kind, hint='such as "mappings/wms/purchase-order-to-pick-order.yaml"'
            )
            if mapping.source != kind or not str(mapping.target).startswith("wms/"):
                raise _Bad(
                    m.key(kind),
                    f"{path} maps {_show(mapping.source)} to {_show(mapping.target)}; a WMS file mapping reads {kind} and makes wms/<rows>",
                )
            mappings[kind] = path
        suffix = t.string("suffix", ".txt")
        if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
            raise _Bad(t.key("suffix"), f'{_show(suffix)} is not a file suffix such as ".txt" or ".csv"')
        return WmsFlatFileEndpoint(
            name=name,
            root=root,
            layout=layout,
            mappings=mappings,
            suffix=suffix,
            stable_after=t.integer("stable_after", 0, low=0, high=100),
            ignore=t.strings("ignore", DEFAULT_IGNORE),
            fsync=t.boolean("fsync", True),
        )

    def mapping_file(self, t: _Table, name: str, *, hint: str = "") -> tuple[Path, Any]:
        """A mapping named by ``t[name]``, resolved and loaded: relative to this file, or under the
        shipped mappings/ when there is no mappings/ folder beside it (as for csv_mapping)."""
        path = self.shipped_path(t, name, hint=hint)
        try:
            return path, self.load_mapping(path)
        except ConfigError as exc:  # MappingError: the message starts with file:line
            raise _Bad(t.key(name), str(exc)) from None

    def sap_url(self, t: _Table, name: str, *, path: bool, hint: str) -> str:
        """An http(s) URL; the host only (``path=False``: OData, where erpbridge adds the service
        paths) or with a path (the IDoc XML HTTP service)."""
        url: str = t.string(name, hint=hint)
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - urlsplit checks the port when asked
        except ValueError:
            raise _Bad(t.key(name), f"{_show(url)}: the port is not a number 0-65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Bad(t.key(name), f"{_show(url)} is not an http(s):// URL ({hint})")
        if parts.username or parts.password:
            raise _Bad(t.key(name), "credentials do not go into the URL: use the [auth] table")
        if parts.query or parts.fragment:
            raise _Bad(t.key(name), f"{_show(url)}: no query or fragment (sap-client is the client key)")
        if not path and parts.path.strip("/"):
            raise _Bad(
                t.key(name),
                f"{_show(url)}: the host only ({parts.scheme}://{parts.netloc}); erpbridge adds the service paths",
            )
        if path and not parts.path.strip("/"):
            raise _Bad(t.key(name), f"{_show(url)}: give the service's path too ({hint})")
        return url

    def sap_client(self, t: _Table) -> str | None:
        client = t.string("client", None)
        if client is not None and not re.fullmatch(r"\d{3}", client):
            raise _Bad(t.key("client"), f'{_show(client)} is not an SAP client (three digits, such as "100")')
        return client if client is None else str(client)

    def sap_verify(self, t: _Table) -> bool | Path:
        value = t.get("verify", True)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            ca: Path = self.path(t, "verify")
            return ca
        raise _Bad(t.key("verify"), f"expected true, false or a CA bundle file, got {_show(value)}")

    def sap_auth(self, t: _Table, *, oauth: bool) -> SapAuth:
        keys = (
            ("user", "password", "token_url", "client_id", "client_secret", "scope")
            if oauth
            else ("user", "password")
        )
        example = '[endpoints.NAME.auth] user = "ERPBRIDGE_COMM" and password = { env = "S4_PASSWORD" }'
        a = t.table("auth", keys, None)
        if a is None:
            raise _Bad(t.key("auth"), f"missing: {example}")
        if a.has("token_url") or a.has("client_id") or a.has("client_secret"):
            for key in ("user", "password"):
                if a.has(key):
                    raise _Bad(
                        a.key(key),
                        "give user and password (basic) or token_url, client_id and client_secret (OAuth), not both",
                    )
            token_url = a.string(
                "token_url", hint="the OAuth token endpoint, such as https://host/sap/bc/sec/oauth2/token"
            )
            if urlsplit(token_url).scheme not in ("http", "https") or not urlsplit(token_url).hostname:
                raise _Bad(a.key("token_url"), f"{_show(token_url)} is not an http(s):// URL")
            client_secret = self.secret(a, "client_secret")
            if client_secret is None:
                raise _Bad(
                    a.key("client_secret"), 'missing: client_secret = { env = "..." } or { file = "..." }'
                )
            return SapAuth(
                token_url=token_url,
                client_id=a.string("client_id"),
                client_secret=client_secret,
                scope=a.string("scope", None),
            )
        user = a.string("user", hint="the SAP user erpbridge logs on as (a communication or system user)")
        password = self.secret(a, "password")
        if password is None:
            raise _Bad(a.key("password"), 'missing: password = { env = "..." } or { file = "..." }')
        return SapAuth(user=user, password=password)

    def sap_odata_endpoint(self, name: str, t: _Table) -> SapODataEndpoint:
        t.allow(
            (
                "type", "url", "client", "mapping", "connect_timeout", "timeout", "page_size", "verify",
                "auth", "sales_order_service", "delivery_service", "stock_service",
            )
        )  # fmt: skip
        url = self.sap_url(
            t, "url", path=False, hint="the API host, such as https://my123456-api.s4hana.ondemand.com"
        )
        client = self.sap_client(t)
        mapping_path, mapping = self.mapping_file(
            t,
            "mapping",
            hint='the sales order mapping, such as "mappings/sap/purchase-order-to-sales-order.yaml"',
        )
        if mapping.source != "PurchaseOrder" or not str(mapping.target).startswith("sap/A_SalesOrder"):
            raise _Bad(
                t.key("mapping"),
                f"{mapping_path} maps {mapping.source} to {mapping.target}; an sap_odata endpoint needs "
                "PurchaseOrder to sap/A_SalesOrder",
            )
        services: dict[str, Any] = {}
        for key in ("sales_order_service", "delivery_service", "stock_service"):
            value = t.string(key, None)
            if value is not None:
                if not value.startswith("/"):
                    raise _Bad(t.key(key), f'{_show(value)} is a path on the host, starting with "/"')
                services[key] = value
        defaults = SapODataEndpoint(name=name, url="-", auth=SapAuth(), mapping=Path())
        return SapODataEndpoint(
            name=name,
            url=url,
            auth=self.sap_auth(t, oauth=True),
            mapping=mapping_path,
            client=client,
            connect_timeout=t.duration("connect_timeout", defaults.connect_timeout),
            timeout=t.duration("timeout", defaults.timeout),
            page_size=t.integer("page_size", defaults.page_size, low=1, high=5000),
            verify=self.sap_verify(t),
            **services,
        )

    def sap_idoc_endpoint(self, name: str, t: _Table) -> SapIdocEndpoint:
        port = t.choice(
            "port",
            ("file", "xml_http"),
            hint='"file" (a folder SAP reads, local or over SFTP) or "xml_http" (SAP\'s IDoc XML HTTP service)',
        )
        common = ("type", "port", "control", "mappings")
        if port == "file":
            t.allow((*common, "transport", "folder"))
        else:
            t.allow((*common, "url", "client", "auth", "connect_timeout", "timeout", "verify"))
        c = t.table("control", tuple(IDOC_CONTROL_FIELDS), None) or _Table({}, t.key("control"))
        values: dict[str, str] = {}
        for key, width in IDOC_CONTROL_FIELDS.items():
            value = c.string(key, None)
            if value is None:
                continue
            if len(value) > width or value != value.strip() or not all(" " < ch <= "~" for ch in value):
                raise _Bad(
                    c.key(key), f"{_show(value)} must be 1-{width} printable characters without spaces"
                )
            values[key] = value
        if "MANDT" in values and not values["MANDT"].isdigit():
            raise _Bad(
                c.key("MANDT"), f'{_show(values["MANDT"])} is not an SAP client (three digits, such as "100")'
            )
        for key in ("SNDPRT", "RCVPRT"):
            if key in values and values[key] != values[key].upper():
                raise _Bad(
                    c.key(key), f'{_show(values[key])}: partner types are upper case, such as "LS" or "KU"'
                )
        mappings: dict[str, Path] = {}
        m = t.table("mappings", tuple(KINDS), None)
        for kind in m.data if m is not None else ():
            assert m is not None
            path, mapping = self.mapping_file(
                m, kind, hint='such as "mappings/idoc/purchase-order-to-orders05.yaml"'
            )
            if mapping.source != kind or not str(mapping.target).startswith("idoc/"):
                raise _Bad(
                    m.key(kind),
                    f"{path} maps {mapping.source} to {mapping.target}; this key needs a mapping from {kind} to an IDoc (target idoc/...)",
                )
            mappings[kind] = path
        defaults = SapIdocEndpoint(name=name, port="file", control=IdocControl())
        if port == "file":
            transport = t.string("transport", hint="the local or sftp endpoint that holds the port's folders")
            folder = self.folder(t, "folder", "", absolute_ok=True)
            return SapIdocEndpoint(
                name=name,
                port="file",
                control=IdocControl(**values),
                mappings=MappingProxyType(mappings),
                transport=str(transport),
                folder=folder,
            )
        return SapIdocEndpoint(
            name=name,
            port="xml_http",
            control=IdocControl(**values),
            mappings=MappingProxyType(mappings),
            url=self.sap_url(
                t,
                "url",
                path=True,
                hint="SAP's IDoc XML service, such as https://s4.example:44300/sap/bc/idoc_xml",
            ),
            client=self.sap_client(t),
            auth=self.sap_auth(t, oauth=False),
            connect_timeout=t.duration("connect_timeout", defaults.connect_timeout),
            timeout=t.duration("timeout", defaults.timeout),
            verify=self.sap_verify(t),
        )

    def netsuite_endpoint(
        self, name: str, t: _Table, kind: Literal["netsuite_rest", "netsuite_soap"]
    ) -> NetSuiteEndpoint:
        soap = kind == "netsuite_soap"
        keys = [
            "type", "account", "mapping", "url", "concurrency", "max_attempts", "backoff", "max_backoff",
            "page_size", "connect_timeout", "timeout", "verify", "auth",
        ]  # fmt: skip
        adjustments = ("adjustment_account", "locations", "subsidiary")
        t.allow((*keys, "wsdl") if soap else (*keys, *adjustments))
        account = t.string("account", hint='the account ID, such as "1234567" or "1234567_SB1" for a sandbox')
        if not re.fullmatch(r"[0-9]+(?:[_-][Ss][Bb][0-9]+)?|[A-Za-z0-9]+", account.strip()):
            raise _Bad(
                t.key("account"),
                f'{_show(account)} is not a NetSuite account ID such as "1234567" or "1234567_SB1" '
                "(Setup > Company > Company Information)",
            )
        target = "netsuite/soap/SalesOrder" if soap else "netsuite/salesOrder"
        shipped = "purchase-order-to-soap-sales-order" if soap else "purchase-order-to-sales-order"
        mapping_path, mapping = self.mapping_file(
            t, "mapping", hint=f'the sales order mapping, such as "mappings/netsuite/{shipped}.yaml"'
        )
        if mapping.source != "PurchaseOrder" or not str(mapping.target).startswith(target):
            raise _Bad(
                t.key("mapping"),
                f"{mapping_path} maps {mapping.source} to {mapping.target}; a {kind} endpoint needs "
                f"PurchaseOrder to {target}",
            )
        wsdl: str | None = None
        if soap:
            wsdl = t.string(
                "wsdl",
                hint='SuiteTalk\'s netsuite.wsdl, a file or "https://webservices.netsuite.com/wsdl/v2024_1_0/netsuite.wsdl"',
            )
            assert wsdl is not None
            if urlsplit(wsdl).scheme in ("http", "https"):
                if not urlsplit(wsdl).hostname:
                    raise _Bad(t.key("wsdl"), f"{_show(wsdl)} is not an http(s):// URL")
            else:
                wsdl = str(self.path(t, "wsdl"))
        url: str | None = None
        if t.has("url"):
            url = self.sap_url(
                t,
                "url",
                path=soap,
                hint="the NetSuitePort_<version> endpoint"
                if soap
                else "the REST host, such as https://1234567-sb1.suitetalk.api.netsuite.com",
            )
        backoff = t.duration("backoff", timedelta(seconds=1))
        max_backoff = t.duration("max_backoff", timedelta(seconds=30))
        if max_backoff < backoff:
            raise _Bad(t.key("max_backoff"), "must be at least backoff")
        page_size = t.integer("page_size", None, low=5 if soap else 1, high=1000)
        return NetSuiteEndpoint(
            name=name,
            type=kind,
            account=account.strip(),
            auth=self.netsuite_auth(t, soap=soap),
            mapping=mapping_path,
            wsdl=wsdl,
            url=url,
            concurrency=t.integer("concurrency", 4, low=1, high=1000),
            max_attempts=t.integer("max_attempts", 4, low=1, high=100),
            backoff=backoff,
            max_backoff=max_backoff,
            page_size=page_size,
            connect_timeout=t.duration("connect_timeout", timedelta(seconds=10)),
            timeout=t.duration("timeout", None),
            verify=self.sap_verify(t),
            **self.netsuite_adjustments(t),
        )

    def netsuite_adjustments(self, t: _Table) -> dict[str, Any]:
        """A netsuite_rest endpoint's ``adjustment_account``, ``locations`` (WMS warehouse code =
        NetSuite location internal ID) and ``subsidiary``: where GoodsMovements are posted."""
        found: dict[str, Any] = {}
        for key in ("adjustment_account", "subsidiary"):
            if t.has(key):
                value = t.string(key)
                if not value.isdigit():
                    raise _Bad(t.key(key), f"{_show(value)} is not a NetSuite internal ID (digits)")
                found[key] = value
        if t.has("locations"):
            raw = t.get("locations")
            if (
                not isinstance(raw, dict)
                or not raw
                or not all(isinstance(v, str) and v.isdigit() for v in raw.values())
            ):
                raise _Bad(
                    t.key("locations"),
                    f'expected a table of WMS warehouse = "NetSuite location internal ID", such as '
                    f'{{ "BRL-LOU1" = "1" }}, got {_show(raw)}',
                )
            found["locations"] = MappingProxyType({str(k): v for k, v in raw.items()})
        if ("adjustment_account" in found) != ("locations" in found):
            missing = "locations" if "adjustment_account" in found else "adjustment_account"
            raise _Bad(t.key(missing), "missing: inventory adjustments need adjustment_account and locations")
        return found

    def netsuite_auth(self, t: _Table, *, soap: bool) -> NetSuiteAuth:
        tba = ("consumer_key", "consumer_secret", "token_id", "token_secret")
        m2m = ("client_id", "certificate_id", "private_key", "algorithm", "scopes")
        example = '[endpoints.NAME.auth] consumer_key = { env = "NS_CONSUMER_KEY" }, consumer_secret, token_id and token_secret'
        a = t.table("auth", tba if soap else (*tba, *m2m), None)
        if a is None:
            raise _Bad(t.key("auth"), f"missing: {example}")
        if any(a.has(k) for k in m2m):
            for key in tba:
                if a.has(key):
                    raise _Bad(
                        a.key(key),
                        "give consumer_key, consumer_secret, token_id and token_secret (token-based) or "
                        "client_id, certificate_id and private_key (OAuth 2.0 client credentials), not both",
                    )
            refs = {}
            for key in ("client_id", "private_key"):
                refs[key] = self.secret(a, key)
                if refs[key] is None:
                    raise _Bad(a.key(key), 'missing: a secret reference, { env = "..." } or { file = "..." }')
            from .connectors.netsuite_auth import ALGORITHMS, SCOPES

            algorithm = a.choice(
                "algorithm", ALGORITHMS, "PS256", hint="PS256 for an RSA key, ES256 for EC P-256"
            )
            scopes = a.strings("scopes", ("rest_webservices",))
            unknown = [s for s in scopes if s not in SCOPES]
            if not scopes or unknown:
                raise _Bad(
                    a.key("scopes"),
                    f"{_show(unknown[0]) if unknown else 'an empty list'}: NetSuite's scopes are "
                    f"{', '.join(sorted(SCOPES))}",
                )
            return NetSuiteAuth(
                client_id=refs["client_id"],
                certificate_id=a.string(
                    "certificate_id", hint="shown by OAuth 2.0 Client Credentials (M2M) Setup"
                ),
                private_key=refs["private_key"],
                algorithm=algorithm,
                scopes=scopes,
            )
        found: dict[str, SecretRef] = {}
        for key in tba:
            ref = self.secret(a, key)
            if ref is None:
                hint = " (SOAP takes token-based authentication only)" if soap else ""
                raise _Bad(a.key(key), f'missing: {key} = {{ env = "..." }} or {{ file = "..." }}{hint}')
            found[key] = ref
        return NetSuiteAuth(
            consumer_key=found["consumer_key"],
            consumer_secret=found["consumer_secret"],
            token_id=found["token_id"],
            token_secret=found["token_secret"],
        )

    def check_sap_ports(self, endpoints: dict[str, Endpoint], raw_endpoints: Mapping[str, Any]) -> None:
        """A file port's ``transport`` names a local or sftp endpoint of this file."""
        for name, ep in list(endpoints.items()):
            if not isinstance(ep, SapIdocEndpoint) or ep.port != "file":
                continue
            key = f"endpoints.{_key(name)}.transport"
            other = ep.transport or ""
            kind = raw_endpoints[other].get("type") if isinstance(raw_endpoints.get(other), dict) else None
            problem = None
            if other not in raw_endpoints:
                known = [n for n, e in endpoints.items() if e.type in TRANSPORT_TYPES]
                problem = f"no [endpoints.{_key(other)}] in this file{_suggest(other, known)}"
            elif ("endpoints", other) in self.broken:
                problem = ""  # reported already
            elif kind not in TRANSPORT_TYPES:
                problem = f"[endpoints.{_key(other)}] is a {kind} endpoint; a file port's folders are on a {' or '.join(TRANSPORT_TYPES)} endpoint"
            if problem is not None:
                if problem:
                    self.problems.append(_Bad(key, problem))
                del endpoints[name]
                self.broken.add(("endpoints", name))

    def key_file(self, t: _Table) -> Path | None:
        if not t.has("private_key"):
            return None
        value = t.get("private_key")
        if isinstance(value, dict):
            ref = _Table(value, t.key("private_key"), ("file", "env"))
            if ref.has("env") or not ref.has("file"):
                raise _Bad(
                    t.key("private_key"),
                    'a private key is a file: private_key = "/run/secrets/partner_ed25519" (or { file = "..." })',
                )
            key_path: Path = self.path(ref, "file")
            return key_path
        key_path = self.path(t, "private_key")
        return key_path

    def delimiters(self, t: _Table) -> Delimiters:
        d = t.table("delimiters", ("element", "component", "repetition", "segment", "segment_suffix"), None)
        if d is None:
            return Delimiters()
        default = Delimiters()
        chars: dict[str, str] = {}
        for name in ("element", "component", "repetition", "segment"):
            value = d.string(name, getattr(default, name), empty=True)
            if len(value) != 1 or value.isalnum() or value.isspace():
                raise _Bad(d.key(name), f"{_show(value)} must be one character, not a letter, digit or space")
            for other, used in chars.items():
                if used == value:
                    raise _Bad(
                        d.key(name),
                        f"{_show(value)} is already the {other} separator; delimiters must differ",
                    )
            chars[name] = value
        suffix = d.choice("segment_suffix", ("", "\n", "\r\n"), default.segment_suffix)
        return Delimiters(segment_suffix=suffix, **chars)

    def parse_partner(self, name: str, data: Any, raw_endpoints: Mapping[str, Any]) -> Partner:
        path = f"partners.{_key(name)}"
        t = _Table(
            data,
            path,
            (
                "name",
                "isa_qualifier",
                "isa_id",
                "gs_id",
                "version",
                "delimiters",
                "test",
                "ack",
                "request_ta1",
                "ack_window",
                "overlay",
                "mappings",
                "endpoint",
            ),
        )
        party = self.party(t, name.upper())
        delimiters = self.delimiters(t)
        for key, value in (("isa_id", party.id), ("gs_id", party.gs_id)):
            for role in ("element", "component", "segment"):
                if getattr(delimiters, role) in value:
                    raise _Bad(
                        t.key(key),
                        f"{_show(value)} contains the {role} separator {getattr(delimiters, role)!r}",
                    )
        version = t.choice("version", ("004010", "005010"), "004010")
        ack = t.choice("ack", ("997", "999", "auto"), "auto")
        if ack == "999" and version != "005010":
            raise _Bad(
                t.key("ack"),
                f'a 999 acknowledges 005010 groups; this partner uses {version}: use "997" or "auto"',
            )
        overlay = t.string("overlay", None)
        if overlay is not None and not _NAME.match(overlay):
            raise _Bad(t.key("overlay"), f'{_show(overlay)} is not an overlay partner name such as "BIGBOX"')
        if t.has("mappings"):
            mappings: Path | None = self.path(t, "mappings")
            if mappings is not None and not self.is_dir(mappings):
                raise _Bad(t.key("mappings"), f"{mappings} is not a folder")
        else:
            candidate = self.base / "mappings" / "partners" / name.lower()
            mappings = candidate if self.is_dir(candidate) else None
        endpoint = None
        if t.has("endpoint"):
            endpoint = self.refer(t, "endpoint", "endpoints", raw_endpoints)
            kind = raw_endpoints[endpoint].get("type") if isinstance(raw_endpoints[endpoint], dict) else None
            if kind in CONNECTOR_TYPES:
                raise _Bad(
                    t.key("endpoint"),
                    f"[endpoints.{_key(endpoint)}] is a {kind} endpoint (canonical documents); a partner's X12 travels over {' or '.join(TRANSPORT_TYPES)}",
                )
        return Partner(
            id=name,
            name=t.string("name", name.upper()),
            party=party,
            version=version,
            delimiters=delimiters,
            test=t.boolean("test", False),
            ack=ack,
            request_ta1=t.boolean("request_ta1", False),
            ack_window=t.duration("ack_window", timedelta(hours=24)),
            overlay=overlay.upper() if overlay else None,
            mappings=mappings,
            endpoint=endpoint,
        )

    def check_partners_distinct(self, partners: Mapping[str, Partner], us: Party | None) -> None:
        seen: dict[tuple[str, str], str] = {}
        if us is not None:
            seen[(us.qualifier, us.id)] = "erpbridge"
        for name, p in partners.items():
            ident = (p.party.qualifier, p.party.id)
            if ident in seen:
                other = seen[ident]
                other_key = "erpbridge" if other == "erpbridge" else f"partners.{_key(other)}"
                raise _Bad(
                    f"partners.{_key(name)}.isa_id",
                    f"{p.party.isa_text} is already the ID of [{other_key}]; inbound interchanges are routed by it",
                )
            seen[ident] = name

    def place(
        self,
        t: _Table,
        name: str,
        *,
        default_endpoint: str | None,
        default_folder: str | None,
        owner: str,
        raw_endpoints: Mapping[str, Any],
        allowed_types: tuple[str, ...],
        archive: bool,
        what: str,
    ) -> Place:
        keys = ("endpoint", "folder", "archive", "shipping_point") if archive else ("endpoint", "folder")
        p = t.table(name, keys, None)
        if p is None:
            p = _Table({}, t.key(name))
        if p.has("endpoint"):
            endpoint = self.refer(p, "endpoint", "endpoints", raw_endpoints)
        elif default_endpoint is not None:
            endpoint = default_endpoint
        else:
            raise _Bad(
                p.key("endpoint"),
                f"missing, and [partners.{_key(owner)}] names no endpoint to default to",
            )
        raw = raw_endpoints.get(endpoint)
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in allowed_types:
            raise _Bad(
                p.key("endpoint"),
                f"[endpoints.{_key(endpoint)}] is a {kind} endpoint; {what} must be a {_either(allowed_types)} endpoint",
            )
        assert isinstance(raw, dict)
        if p.has("shipping_point") and not (archive and kind == "sap_odata"):
            raise _Bad(
                p.key("shipping_point"),
                "only a flow reading SAP's deliveries to pick (an sap_odata source) has a shipping point; remove this key",
            )
        if archive and kind == "sap_odata" and p.has("archive"):
            raise _Bad(
                p.key("archive"),
                "SAP's deliveries are read, not moved: there is nothing to archive; remove this key",
            )
        if kind in API_TYPES or (kind == "sap_idoc" and not archive):
            # a connector that knows where documents go (an IDoc file port: its own folder)
            if p.has("folder"):
                where = "its folder" if kind == "sap_idoc" else "its url"
                raise _Bad(
                    p.key("folder"),
                    f"[endpoints.{_key(endpoint)}] is an {kind} endpoint: {where} says where documents go; remove this key",
                )
            point = p.string("shipping_point", None) if p.has("shipping_point") else None
            if point is not None and not re.fullmatch(r"[A-Z0-9]{1,4}", point):
                raise _Bad(
                    p.key("shipping_point"),
                    f"{_show(point)} is not an SAP shipping point (1 to 4 capitals or digits)",
                )
            return Place(endpoint=endpoint, folder="", shipping_point=point)
        if kind == "sap_idoc":  # a source: the folder SAP's file port writes to
            if raw.get("port") != "file":
                raise _Bad(
                    p.key("endpoint"),
                    f"[endpoints.{_key(endpoint)}] is an {raw.get('port')} port; erpbridge reads IDocs from a file port",
                )
            below = raw_endpoints.get(str(raw.get("transport")))
            kind = below.get("type") if isinstance(below, dict) else None
        is_sftp = kind == "sftp"
        folder = self.folder(p, "folder", default_folder, absolute_ok=is_sftp)
        archive_folder = None
        if archive:
            parent = str(PurePosixPath(folder).parent) if folder not in ("", ".") else ""
            fallback = "archive" if parent in ("", ".") else f"{parent}/archive"
            archive_folder = self.folder(p, "archive", fallback, absolute_ok=is_sftp)
            if archive_folder == folder:
                raise _Bad(
                    p.key("archive"), f"the archive folder cannot be the folder itself ({_show(folder)})"
                )
        return Place(endpoint=endpoint, folder=folder, archive=archive_folder)

    def folder(self, t: _Table, name: str, default: str | None, *, absolute_ok: bool) -> str:
        value: str = t.string(name, _MISSING if default is None else default, empty=True)
        parts = PurePosixPath(value).parts
        if ".." in parts or "\\" in value or "\x00" in value or (value.startswith("/") and not absolute_ok):
            raise _Bad(
                t.key(name),
                f"{_show(value)} must be a /-separated folder below the endpoint's root, without ..",
            )
        normal = str(PurePosixPath(value))
        return "" if normal == "." else normal

    def parse_flow(
        self,
        name: str,
        data: Any,
        raw_partners: Mapping[str, Any],
        partners: Mapping[str, Partner],
        raw_endpoints: Mapping[str, Any],
        retry: Retry,
        endpoints: Mapping[str, Endpoint] | None = None,
    ) -> Flow:
        endpoints = endpoints or {}
        path = f"flows.{_key(name)}"
        t = _Table(data, path)
        direction = t.choice(
            "direction",
            ("in", "out"),
            hint='"in" (partner X12 to canonical) or "out" (canonical to partner X12)',
        )
        common = (
            "direction",
            "partner",
            "source",
            "target",
            "documents",
            "every",
            "cron",
            "retry",
            "enabled",
        )
        t.allow((*common, "acks") if direction == "in" else (*common, *_CSV_KEYS, "also_deliver"))
        partner_id = self.refer(t, "partner", "partners", raw_partners)
        partner = partners[partner_id]
        also: tuple[Place, ...] = ()
        if direction == "in":
            documents = self.inbound_documents(t, partner)
            idoc = any(d.idoc for d in documents)
            odata = any(d.odata for d in documents)
            if odata and not t.has("source"):
                raise _Bad(
                    t.key("source"),
                    'missing: a flow of SAP\'s deliveries to pick reads an sap_odata endpoint, such as source = { endpoint = "s4", shipping_point = "1710" }',
                )
            if odata and t.has("acks"):
                raise _Bad(
                    t.key("acks"), "a flow polling SAP over OData sends no acknowledgments; remove this key"
                )
            if idoc and not t.has("source"):
                raise _Bad(
                    t.key("source"),
                    'missing: an IDoc flow reads the folder SAP\'s file port writes to, such as source = { endpoint = "s4_port", folder = "out" }',
                )
            if idoc and t.has("acks"):
                raise _Bad(
                    t.key("acks"), "an IDoc flow sends no acknowledgments (SAP gets no 997); remove this key"
                )
            source = self.place(
                t,
                "source",
                default_endpoint=partner.endpoint,
                default_folder="inbound",
                owner=partner_id,
                raw_endpoints=raw_endpoints,
                allowed_types=("sap_odata",)
                if odata
                else (*TRANSPORT_TYPES, "sap_idoc")
                if idoc
                else TRANSPORT_TYPES,
                archive=True,
                what="the source of a flow of SAP's deliveries to pick"
                if odata
                else "an inbound IDoc flow's source (SAP's IDoc XML)"
                if idoc
                else "an inbound flow's source (partner X12)",
            )
            target = self.place(
                t,
                "target",
                default_endpoint=None,
                default_folder="",
                owner=partner_id,
                raw_endpoints=raw_endpoints,
                allowed_types=CONNECTOR_TYPES,
                archive=False,
                what="an inbound flow's target (canonical documents)",
            )
            acks = (
                None
                if idoc or odata
                else self.place(
                    t,
                    "acks",
                    default_endpoint=source.endpoint,
                    default_folder="outbound",
                    owner=partner_id,
                    raw_endpoints=raw_endpoints,
                    allowed_types=TRANSPORT_TYPES,
                    archive=False,
                    what="where acknowledgments go (partner X12)",
                )
            )
        else:
            source = self.place(
                t,
                "source",
                default_endpoint=None,
                default_folder="",
                owner=partner_id,
                raw_endpoints=raw_endpoints,
                allowed_types=("folder",),
                archive=True,
                what="an outbound flow's source (canonical documents)",
            )
            target = self.place(
                t,
                "target",
                default_endpoint=partner.endpoint,
                default_folder="outbound",
                owner=partner_id,
                raw_endpoints=raw_endpoints,
                allowed_types=(*TRANSPORT_TYPES, *DELIVERING_TYPES),
                archive=False,
                what="an outbound flow's target (partner X12, or an ERP that takes the documents)",
            )
            acks = None
            target_type = raw_endpoints.get(target.endpoint, {}).get("type")
            if target_type in DELIVERING_TYPES:  # no X12: the documents go to the ERP's connector
                documents = self.delivered_documents(t)
                self.check_takes(t.key("target"), target, documents, endpoints)
            else:
                documents = self.outbound_documents(t, partner)
            also = self.also_deliver(t, documents, partner_id, raw_endpoints, endpoints)
        csv_mapping, csv_encoding, csv_delimiter = self.csv_options(t, documents)
        layout, rejects, inventory_rules = self.flatfile_options(t, documents)
        if t.has("every") and t.has("cron"):
            raise _Bad(t.key("cron"), "give every or cron, not both")
        if t.has("cron"):
            schedule = Schedule(cron=t.cron("cron"))
        else:
            schedule = Schedule(
                every=t.duration("every", hint='how often it runs: every = "1m", or cron = "0 2 * * *"')
            )
        own = self.parse_retry(t.get("retry", {}), t.key("retry"))
        return Flow(
            name=name,
            direction=direction,
            partner=partner_id,
            source=source,
            target=target,
            documents=documents,
            schedule=schedule,
            retry=own.over(retry),
            acks=acks,
            enabled=t.boolean("enabled", True),
            csv_mapping=csv_mapping,
            csv_encoding=csv_encoding,
            csv_delimiter=csv_delimiter,
            layout=layout,
            rejects=rejects,
            inventory_rules=inventory_rules,
            also_deliver=also,
        )

    def also_deliver(
        self,
        t: _Table,
        documents: tuple[DocumentSpec, ...],
        owner: str,
        raw_endpoints: Mapping[str, Any],
        endpoints: Mapping[str, Endpoint],
    ) -> tuple[Place, ...]:
        """An outbound flow's ``also_deliver``: connectors (folder, sap_odata, sap_idoc) that every
        document of the flow goes to as well, each of which must take the flow's kinds."""
        if not t.has("also_deliver"):
            return ()
        value = t.get("also_deliver")
        key = t.key("also_deliver")
        if not isinstance(value, list) or not value:
            raise _Bad(
                key, f'expected a list of places such as [{{ endpoint = "s4_idoc" }}], got {_show(value)}'
            )
        holder = _Table({str(n): v for n, v in enumerate(value)}, key)
        places: list[Place] = []
        for n in range(len(value)):
            where = f"{key}[{n}]"
            place = self.place(
                holder,
                str(n),
                default_endpoint=None,
                default_folder="",
                owner=owner,
                raw_endpoints=raw_endpoints,
                allowed_types=CONNECTOR_TYPES,
                archive=False,
                what="a place a flow also delivers to",
            )
            self.check_takes(where, place, documents, endpoints)
            if place in places:
                raise _Bad(where, f"[endpoints.{_key(place.endpoint)}] is listed twice")
            places.append(place)
        return tuple(places)

    def check_takes(
        self, where: str, place: Place, documents: tuple[DocumentSpec, ...], endpoints: Mapping[str, Endpoint]
    ) -> None:
        """The connector at ``place`` (an outbound flow's target or also_deliver) takes every kind
        the flow carries."""
        kinds = [str(d.kind) for d in documents]
        ep = endpoints.get(place.endpoint)
        if ep is None:
            raise _Skip  # the endpoint is broken: reported already
        if isinstance(ep, SapODataEndpoint) and any(k not in ("PurchaseOrder", "ShipNotice") for k in kinds):
            raise _Bad(
                where,
                f"[endpoints.{_key(ep.name)}] (sap_odata) takes PurchaseOrders (sales orders) and ShipNotices "
                f"(a delivery's picking and goods issue); this flow carries {', '.join(kinds)}",
            )
        rest = isinstance(ep, NetSuiteEndpoint) and ep.type == "netsuite_rest"
        takes = ("PurchaseOrder", "ShipNotice", "GoodsMovement") if rest else ("PurchaseOrder", "ShipNotice")
        if isinstance(ep, NetSuiteEndpoint) and any(k not in takes for k in kinds):
            raise _Bad(
                where,
                f"[endpoints.{_key(ep.name)}] ({ep.type}) takes {', '.join(takes)}; this flow carries {', '.join(kinds)}",
            )
        if isinstance(ep, NetSuiteEndpoint) and ep.type == "netsuite_soap" and "ShipNotice" in kinds:
            raise _Bad(
                where,
                f"[endpoints.{_key(ep.name)}] (netsuite_soap) makes sales orders only; item fulfillments "
                "from ShipNotices go through a netsuite_rest endpoint of the same account",
            )
        if isinstance(ep, NetSuiteEndpoint) and "GoodsMovement" in kinds and ep.adjustment_account is None:
            raise _Bad(
                where,
                f"[endpoints.{_key(ep.name)}] posts GoodsMovements as inventory adjustments: give it "
                'adjustment_account = "<account internal ID>" and locations = { "<WMS warehouse>" = "<location internal ID>" }',
            )
        if isinstance(ep, SapIdocEndpoint):
            missing = [k for k in kinds if k not in ep.mappings]
            if missing:
                raise _Bad(
                    where,
                    f"[endpoints.{_key(ep.name)}] has no IDoc mapping for {', '.join(missing)}: add "
                    f'[endpoints.{_key(ep.name)}.mappings] {missing[0]} = "mappings/idoc/..."',
                )

    def delivered_documents(self, t: _Table) -> tuple[DocumentSpec, ...]:
        """An outbound flow into an ERP's connector (no X12): ``documents`` lists canonical kinds."""
        value = t.get(
            "documents", hint='the canonical kinds the ERP takes, such as documents = ["GoodsMovement"]'
        )
        key = t.key("documents")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _Bad(
                key,
                f'the target takes canonical documents: expected a list of kinds such as ["GoodsMovement"], got {_show(value)}',
            )
        for n, kind in enumerate(value):
            if kind not in KINDS:
                raise _Bad(
                    f"{key}[{n}]",
                    f"not a canonical document kind{_suggest(kind, KINDS)}; kinds: {', '.join(KINDS)}",
                )
        if len(set(value)) != len(value):
            raise _Bad(key, "a kind is listed twice")
        return tuple(DocumentSpec(kind=k) for k in value)

    def csv_options(
        self, t: _Table, documents: tuple[DocumentSpec, ...]
    ) -> tuple[Path | None, str, str | None]:
        """An outbound flow's ``csv_mapping`` (checked: it loads, reads ``csv`` and makes a kind of the
        flow's ``documents``), ``csv_encoding`` and ``csv_delimiter``."""
        if not t.has("csv_mapping"):
            for key in ("csv_encoding", "csv_delimiter"):
                if t.has(key):
                    raise _Bad(t.key(key), 'applies to .csv files, which need csv_mapping = "..." too')
            return None, "utf-8", None
        key = t.key("csv_mapping")
        # like the daemon's mapping folder: no mappings/ beside this file means the shipped ones
        path, mapping = self.mapping_file(
            t, "csv_mapping", hint='such as "mappings/wms/inventory-csv-to-inventory-advice.yaml"'
        )
        if mapping.source != "csv":
            raise _Bad(key, f"{path} reads {_show(mapping.source)}; a CSV mapping says source: csv")
        kinds = [d.kind for d in documents]
        if mapping.target not in kinds:
            raise _Bad(
                key,
                f"{path} makes {mapping.target}, which this flow does not take (documents: {', '.join(map(str, kinds))})",
            )
        encoding = t.string("csv_encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _Bad(
                t.key("csv_encoding"), f'{_show(encoding)} is not an encoding Python knows, such as "cp1252"'
            ) from None
        delimiter = t.string("csv_delimiter", None, empty=True)
        if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
            raise _Bad(
                t.key("csv_delimiter"), f'{_show(delimiter)} is not one character such as ";" or "\\t"'
            )
        return path, encoding, delimiter

    def shipped_path(self, t: _Table, name: str, *, hint: str) -> Path:
        """A file named by ``t[name]``: relative to this file, or under the shipped mappings/ when there
        is no mappings/ folder beside it (as for csv_mapping)."""
        path: Path = self.path(t, name, hint=hint)
        text = PurePosixPath(str(t.data[name]))
        if (
            not text.is_absolute()
            and text.parts[:1] == ("mappings",)
            and not self.is_dir(self.base / "mappings")
        ):
            path = SHIPPED_MAPPINGS.joinpath(*text.parts[1:])
        return path

    def flatfile_options(
        self, t: _Table, documents: tuple[DocumentSpec, ...]
    ) -> tuple[Path | None, Literal["quarantine", "process"], Path | None]:
        """An outbound flow's ``layout`` (a name in mappings/wms/layouts/ or a path; it must load, and
        goes with csv_mapping), ``rejects`` and ``inventory_rules`` (they must load; the flow must
        carry InventoryAdvices)."""
        from .errors import ConfigError

        layout: Path | None = None
        if t.has("layout"):
            if not t.has("csv_mapping"):
                raise _Bad(
                    t.key("layout"), 'a layout\'s rows are made documents by csv_mapping = "..."; add it'
                )
            for key in ("csv_encoding", "csv_delimiter"):
                if t.has(key):
                    raise _Bad(
                        t.key(key), "the layout declares the files' encoding and delimiter; remove this key"
                    )
            name = t.string("layout", hint='such as "inventory-snapshot" (mappings/wms/layouts/) or a path')
            if "/" not in name and not name.endswith((".yaml", ".yml")):
                t = _Table({**t.data, "layout": f"mappings/wms/layouts/{name}.yaml"}, t.path)
            layout = self.shipped_path(t, "layout", hint="")
            from .formats.flatfile import load_layout

            try:
                load_layout(layout)
            except ConfigError as exc:  # LayoutError: file:line
                raise _Bad(t.key("layout"), str(exc)) from None
        rejects = t.choice("rejects", REJECTS, "quarantine")
        if t.has("rejects") and layout is None:
            raise _Bad(t.key("rejects"), 'rejected rows come from a layout; add layout = "..."')
        rules: Path | None = None
        if t.has("inventory_rules"):
            if "InventoryAdvice" not in [d.kind for d in documents]:
                raise _Bad(
                    t.key("inventory_rules"),
                    "applies to InventoryAdvice documents, which this flow does not carry",
                )
            rules = self.shipped_path(
                t, "inventory_rules", hint='such as "mappings/wms/inventory-rules.yaml"'
            )
            from .mapping.inventory_rules import load_rules

            try:
                load_rules(rules)
            except ConfigError as exc:
                raise _Bad(t.key("inventory_rules"), str(exc)) from None
        return layout, rejects, rules

    def x12_set(self, key: str, text: Any, partner: Partner) -> str:
        if not isinstance(text, str) or not text.startswith("x12/"):
            raise _Bad(key, f'{_show(text)} is not an X12 set such as "x12/850"')
        set_id = text[4:]
        known = x12_sets(partner.version)
        if set_id not in known:
            raise _Bad(
                key,
                f"{_show(text)}: no {partner.version} schema for set {_show(set_id)} (partner {partner.id} uses {partner.version}; known: {', '.join(sorted(known))})",
            )
        return set_id

    def idoc_spec(self, key: str, text: str) -> DocumentSpec:
        from .formats.idoc import KNOWN_TYPES

        given = text[len("idoc/") :]
        message, dot, basic = given.rpartition(".")
        known = ", ".join(sorted(KNOWN_TYPES))
        if basic not in KNOWN_TYPES:
            raise _Bad(
                key,
                f'{_show(text)}: erpbridge has no IDoc schema for basic type {_show(basic)} (known: {known}); write idoc/<MESTYP>.<IDOCTYP> or idoc/<IDOCTYP>, such as "idoc/SHPORD.DELVRY07"',
            )
        if dot and not re.fullmatch(r"[A-Z][A-Z0-9_]{0,29}", message):
            raise _Bad(key, f"{_show(text)}: {_show(message)} is not an SAP message type such as SHPORD")
        return DocumentSpec(idoc=given)

    def inbound_documents(self, t: _Table, partner: Partner) -> tuple[DocumentSpec, ...]:
        value = t.get("documents", hint='the X12 sets this flow accepts, such as documents = ["x12/850"]')
        key = t.key("documents")
        if not isinstance(value, list) or not value:
            raise _Bad(key, f'expected a list of X12 sets such as ["x12/850", "x12/997"], got {_show(value)}')
        if any(isinstance(v, str) and v.startswith("sap/") for v in value):
            if value != [ODATA_DELIVERIES]:
                raise _Bad(
                    key,
                    f'a flow polling SAP over OData takes documents = ["{ODATA_DELIVERIES}"] (the outbound '
                    f"deliveries to pick) and nothing else, not {_show(value)}",
                )
            return (DocumentSpec(odata=ODATA_DELIVERIES.partition("/")[2]),)
        if any(isinstance(v, str) and v.startswith("idoc/") for v in value):
            specs = []
            for n, v in enumerate(value):
                if not isinstance(v, str) or not v.startswith("idoc/"):
                    raise _Bad(
                        f"{key}[{n}]",
                        f"{_show(v)}: a flow reads X12 or SAP IDocs, not both (this one lists idoc/...)",
                    )
                specs.append(self.idoc_spec(f"{key}[{n}]", v))
            idocs = [str(s.idoc) for s in specs]
            twice = sorted({i for i in idocs if idocs.count(i) > 1})
            if twice:
                raise _Bad(key, f"idoc/{twice[0]} is listed twice")
            return tuple(specs)
        specs = [DocumentSpec(x12_set=self.x12_set(f"{key}[{n}]", v, partner)) for n, v in enumerate(value)]
        sets = [s.x12_set for s in specs]
        duplicates = sorted({s for s in sets if sets.count(s) > 1})
        if duplicates:
            raise _Bad(key, f"x12/{duplicates[0]} is listed twice")
        return tuple(specs)

    def outbound_documents(self, t: _Table, partner: Partner) -> tuple[DocumentSpec, ...]:
        value = t.get(
            "documents",
            hint='canonical kinds and the X12 set each becomes, such as documents = { ShipNotice = "x12/856" }',
        )
        key = t.key("documents")
        if not isinstance(value, dict) or not value:
            raise _Bad(
                key,
                f'expected a table of kinds to X12 sets such as {{ ShipNotice = "x12/856" }}, got {_show(value)}',
            )
        specs: list[DocumentSpec] = []
        for kind, target in value.items():
            if kind not in KINDS:
                raise _Bad(
                    _join(key, kind),
                    f"not a canonical document kind{_suggest(kind, KINDS)}; kinds: {', '.join(KINDS)}",
                )
            specs.append(DocumentSpec(kind=kind, x12_set=self.x12_set(_join(key, kind), target, partner)))
        return tuple(specs)

    def check_flows_distinct(self, flows: Mapping[str, Flow], endpoints: Mapping[str, Endpoint]) -> None:
        def physical(place: Place, *, target: bool) -> tuple[str, str]:
            """Where a place's files are: an IDoc file port's on the endpoint that holds them."""
            ep = endpoints.get(place.endpoint)
            if isinstance(ep, SapIdocEndpoint) and ep.port == "file" and ep.transport:
                return ep.transport, ep.folder if target else place.folder
            if isinstance(ep, SapODataEndpoint) and not target:  # SAP's deliveries of a shipping point
                return place.endpoint, f"deliveries of shipping point {place.shipping_point or '(all)'}"
            return place.endpoint, place.folder

        readers: dict[tuple[str, str], str] = {}
        for name, flow in flows.items():
            where = physical(flow.source, target=False)
            if where in readers:
                raise _Bad(
                    f"flows.{_key(name)}.source",
                    f"[flows.{_key(readers[where])}] already reads folder {_show(flow.source.folder)} of "
                    f"[endpoints.{_key(flow.source.endpoint)}]; two flows would take each other's files",
                )
            readers[where] = name
        for name, flow in flows.items():
            roles = [("target", flow.target), ("acks", flow.acks)]
            roles += [(f"also_deliver[{n}]", p) for n, p in enumerate(flow.also_deliver)]
            for role, place in roles:
                if place is None or isinstance(
                    endpoints.get(place.endpoint), SapODataEndpoint | NetSuiteEndpoint
                ):
                    continue
                endpoint, folder = physical(place, target=True)
                reader = readers.get((endpoint, folder))
                # an inbound flow's canonical documents read by an outbound flow is a chain (a SHPORD's
                # pick request sent on as a 940), not a loop: allowed
                if (
                    role == "target"
                    and flow.direction == "in"
                    and reader
                    and flows[reader].direction == "out"
                ):
                    continue
                if reader is not None:
                    raise _Bad(
                        f"flows.{_key(name)}.{role}",
                        f"folder {_show(folder)} of [endpoints.{_key(endpoint)}] is the source of "
                        f"[flows.{_key(reader)}]: erpbridge would read back what it writes",
                    )


@functools.cache
def x12_sets(version: str) -> frozenset[str]:
    """The transaction sets erpbridge has schemas for in a release (from the schema data files)."""
    folder = resources.files("erpbridge").joinpath("formats", "x12", "schemas", version)
    return frozenset(
        e.name[:-5] for e in folder.iterdir() if e.name.endswith(".yaml") and e.name[:-5].isdigit()
    )


def _until(value: Any, key: str) -> datetime | None:
    """A signing secret's ``until`` (``None`` when absent), read as the receiver reads it
    (:func:`erpbridge.events.parse_not_after`): a date means 00:00 UTC that day, a date-time needs
    an offset."""
    if value is None:
        return None
    from .events.receiver import parse_not_after  # only configurations with [events] need it

    try:
        if not isinstance(value, str | date):
            raise ConfigError("not a date")
        return parse_not_after(value)
    except ConfigError:
        raise _Bad(key, f"{_show(value)} is not a date (2026-12-01) or a date-time with an offset") from None
