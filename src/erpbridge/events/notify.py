"""Outbound notifications: tell a person when a document needs them, by webhook and by email.

What is notified (:class:`Kind`): a document ``quarantined`` (a terminal error), ``dead_lettered``
(retries exhausted), ``rejected`` by a partner's acknowledgment, an acknowledgment overdue
(``ack_overdue``), a reconciliation delta over its threshold, and an exception event received by
the event receiver. Each :class:`Notification` says what happened, to which partner, document and
file, the reason, and the one command to run (``erpbridge ledger show <id>``, ``erpbridge dlq retry
<id>``).

:class:`Notifications` fans a notification out to every :class:`Notifier` and never raises into
the daemon: a failure is logged and returned. It also keeps the inbox bearable:

* **de-duplication window**: the first notification of a kind for a partner goes out at once; the
  ones that follow within ``window`` (15 minutes by default) are held and sent as *one summary*
  when the window ends (at the next :meth:`Notifications.notify` or :meth:`Notifications.flush`
  after it). A summary opens a new window, so a stuck partner costs one mail per window, not 500.
* **retries**: a notifier raises :class:`~erpbridge.errors.TransientError` (a timeout, a 5xx or
  429 with its ``Retry-After``, a 4xx SMTP reply) or :class:`~erpbridge.errors.TerminalError` (a
  4xx, refused credentials, an untrusted certificate). The notifier never waits or loops itself:
  :class:`Notifications` sends a transient failure again to that notifier alone, after the
  ledger's backoff (:func:`erpbridge.ledger.backoff_delay`, ``Retry-After`` honoured), at a later
  :meth:`~Notifications.flush`; terminal failures and exhausted retries are logged and dropped.

Windows and pending retries live in memory; :meth:`Notifications.state` and
:meth:`~Notifications.restore` carry them over (the scheduled job keeps them in the ledger, see
:mod:`erpbridge.events.jobs`).

The only module that imports :mod:`smtplib` (import-linter checks it). Webhooks go out with the
stdlib's :mod:`urllib.request`. See docs/events.md.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import hmac
import json
import logging
import random as _random
import smtplib
import ssl
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit

from erpbridge.errors import (
    AuthenticationError,
    ConfigError,
    ErpBridgeError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TerminalError,
    TransportError,
)
from erpbridge.ledger import Direction, Document, RetryPolicy, backoff_delay
from erpbridge.transports.base import Credential

log = logging.getLogger(__name__)


class Kind(StrEnum):
    """What a notification is about."""

    QUARANTINED = "quarantined"
    DEAD_LETTERED = "dead_lettered"
    REJECTED = "rejected"
    ACK_OVERDUE = "ack_overdue"
    RECONCILIATION_DELTA = "reconciliation_delta"
    EVENT = "event"
    ENDPOINT_PAUSED = "endpoint_paused"


#: How each kind is named in a sentence (one, several).
_LABEL: Final[Mapping[Kind, tuple[str, str]]] = {
    Kind.QUARANTINED: ("quarantined document", "quarantined documents"),
    Kind.DEAD_LETTERED: ("dead letter", "dead letters"),
    Kind.REJECTED: ("rejected document", "rejected documents"),
    Kind.ACK_OVERDUE: ("overdue acknowledgment", "overdue acknowledgments"),
    Kind.RECONCILIATION_DELTA: ("reconciliation delta over its threshold", "reconciliation deltas"),
    Kind.EVENT: ("exception event", "exception events"),
    Kind.ENDPOINT_PAUSED: ("paused endpoint", "paused endpoints"),
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, kw_only=True)
class Notification:
    """One thing a person should know about, or a summary of several (``count > 1``).

    Fields:
        kind: what it is about
        partner: the trading partner (or event source)
        title: one line: what happened (an email's subject)
        reason: why, as the ledger has it (``DocumentRejectedError: ... (file=...)``)
        command: the one command to run first
        advice: what to do next, in a sentence or two; further commands on lines of their own,
            indented by four spaces
        document_id, document_kind, file_name: the document concerned, when there is one
        details: more facts worth showing (business key, ISA13, threshold, window)
        occurred_at: when it happened (UTC)
        ledger_event: the ledger event it comes from, if any
        count: how many occurrences this stands for (a summary: more than 1)
        examples: for a summary, the first occurrences it stands for
    """

    kind: Kind
    partner: str
    title: str
    reason: str
    command: str
    advice: str = ""
    document_id: str | None = None
    document_kind: str | None = None
    file_name: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=_utcnow)
    ledger_event: int | None = None
    count: int = 1
    examples: tuple[Notification, ...] = ()

    @property
    def id(self) -> str:
        """A stable ID (the same after a retry): receivers may de-duplicate on it."""
        key = "|".join(
            str(v)
            for v in (
                self.kind.value,
                self.partner,
                self.document_id,
                self.ledger_event,
                self.occurred_at.isoformat(),
                self.count,
                self.title,
            )
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def for_document(
        cls,
        kind: Kind,
        doc: Document,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        ledger_event: int | None = None,
        window: str | None = None,
    ) -> Notification:
        """The notification for a document that entered ``quarantined``, ``dead_lettered``,
        ``rejected`` or ``ack_overdue``: the right command and advice for each."""
        short = doc.id[:8]
        what = f"{doc.direction.value}bound {doc.kind}"
        where = doc.file_name or f"document {short}"
        details: dict[str, str] = {}
        for name, value in (("business key", doc.business_key), ("ISA13", doc.isa13), ("GS06", doc.gs06)):
            if value:
                details[name] = value
        if doc.attempts:
            details["attempts"] = str(doc.attempts)
        show, retry, replay = (
            f"erpbridge ledger show {doc.id}",
            f"erpbridge dlq retry {doc.id}",
            f"erpbridge replay {doc.id}",
        )
        if kind is Kind.QUARANTINED:
            title = f"quarantined: {doc.partner} {what} {where}"
            command = show
            advice = (
                "It will not be retried by itself. Fix the cause named in the reason (the data, the "
                f"mapping or a credential), then send it through again:\n    {retry}\n"
                f"or give it up:\n    erpbridge dlq drop {doc.id} --reason '...'"
            )
            why = reason or doc.last_error or "quarantined"
        elif kind is Kind.DEAD_LETTERED:
            title = f"dead letter: {doc.partner} {what} {where}"
            command = retry
            advice = (
                "Its retries ran out while a peer kept failing. Once the peer answers again, run the "
                f"command above. Its whole timeline:\n    {show}"
            )
            why = reason or doc.last_error or "retries exhausted"
        elif kind is Kind.REJECTED and doc.direction is Direction.OUT:
            title = f"rejected by {doc.partner}: {what} {where}"
            command = show
            advice = (
                "The partner's acknowledgment rejected it. Correct the data at its source and send a "
                f"corrected document. To send the same one again:\n    {replay}"
            )
            why = reason or doc.last_error or "the partner's 997/999 rejected it"
        elif kind is Kind.REJECTED:
            title = f"rejected from {doc.partner}: {what} {where}"
            command = show
            advice = (
                "erpbridge's 997/999 told the partner it rejects this interchange (the command above "
                "shows the findings). The partner has to send a corrected one."
            )
            why = reason or doc.last_error or "our 997/999 rejected it"
        elif kind is Kind.ACK_OVERDUE:
            title = f"no acknowledgment from {doc.partner}: {what} ISA13 {doc.isa13 or '?'}"
            command = show
            within = f" within {window}" if window else ""
            advice = (
                f"No 997/999 came back{within}. Ask the partner whether they received interchange "
                f"{doc.isa13 or short}. To send it again:\n    {replay}"
            )
            why = reason or f"no acknowledgment{within}"
            if window:
                details["window"] = window
        else:
            raise ConfigError(f"for_document makes document notifications, not {kind.value}")
        return cls(
            kind=kind,
            partner=doc.partner,
            title=_one_line(title, 200),
            reason=why,
            command=command,
            advice=advice,
            document_id=doc.id,
            document_kind=doc.kind,
            file_name=doc.file_name,
            details=details,
            occurred_at=occurred_at or doc.updated_at,
            ledger_event=ledger_event,
        )

    @classmethod
    def reconciliation_delta(
        cls,
        *,
        partner: str,
        check: str,
        delta: int | float,
        threshold: int | float,
        command: str,
        reason: str | None = None,
        advice: str = "",
        details: Mapping[str, str] | None = None,
        occurred_at: datetime | None = None,
    ) -> Notification:
        """A reconciliation check (``inventory``, ``po_in_erp``) found ``delta`` differences for
        ``partner``, over its ``threshold``; ``command`` is its one-command remedy or report."""
        return cls(
            kind=Kind.RECONCILIATION_DELTA,
            partner=partner,
            title=_one_line(
                f"reconciliation {check}: {delta} differences for {partner} (threshold {threshold})"
            ),
            reason=reason or f"{check} found {delta} differences, more than the threshold of {threshold}",
            command=command,
            advice=advice,
            details={"check": check, "delta": str(delta), "threshold": str(threshold), **(details or {})},
            occurred_at=occurred_at or _utcnow(),
        )

    @classmethod
    def endpoint_paused(
        cls,
        *,
        endpoint: str,
        reason: str,
        occurred_at: datetime,
        document_id: str | None = None,
        ledger_event: int | None = None,
    ) -> Notification:
        """An endpoint refused erpbridge's credentials and is paused (pipeline/pauses.py): its work
        waits, nothing is lost; a person replaces the credential."""
        return cls(
            kind=Kind.ENDPOINT_PAUSED,
            partner=endpoint,
            title=f"endpoint {endpoint} paused: it refused erpbridge's credentials",
            reason=reason,
            command="erpbridge status",
            advice=(
                "Nothing is sent to this endpoint, and its documents wait (none is lost or failed). "
                "Replace the credential the reason names (an expired or revoked token: make a new one "
                "and put it in the secret store): erpbridge resumes by itself at the next poll. If the "
                "credential was right (a role's permission, a certificate mapping), fix that, then:\n"
                f"    erpbridge endpoint resume {endpoint}"
            ),
            document_id=document_id,
            details={"endpoint": endpoint},
            occurred_at=occurred_at,
            ledger_event=ledger_event,
        )

    # -- rendering ------------------------------------------------------------------------------

    def text(self) -> str:
        """The plain-text body of an email: what, which partner/document/file, why, the command."""
        lines = [self.title, ""]
        rows: list[tuple[str, str | None]] = [
            ("What", _LABEL[self.kind][0] if self.count == 1 else f"{self.count} {_LABEL[self.kind][1]}"),
            ("Partner", self.partner),
            ("Document", self.document_id),
            ("Kind", self.document_kind),
            ("File", self.file_name),
            *((k.capitalize() if k.islower() else k, v) for k, v in self.details.items()),
            ("When", self.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("Reason", self.reason),
        ]
        width = max(len(k) for k, v in rows if v) + 1
        lines += [f"{k + ':':<{width}} {v}" for k, v in rows if v]
        if self.examples:
            more = self.count - len(self.examples)
            lines += ["", f"The first {len(self.examples)}" + (f" (and {more} more):" if more > 0 else ":")]
            for ex in self.examples:
                when = ex.occurred_at.astimezone(UTC).strftime("%H:%M:%S")
                name = ex.file_name or ex.document_kind or ""
                lines.append(f"  {when}  {ex.document_id or '-'}  {name}")
                lines.append(f"      {_one_line(ex.reason, 200)}")
                lines.append(f"      {ex.command}")
        lines += ["", "Run:", f"    {self.command}"]
        if self.advice:  # prose wrapped; indented lines (commands) kept whole for copy and paste
            lines.append("")
            for line in self.advice.splitlines():
                keep = line.startswith("    ")
                lines.append(
                    line if keep else textwrap.fill(line, 76, break_long_words=False, break_on_hyphens=False)
                )
        lines += [
            "",
            "-- ",
            f"erpbridge notification {self.id}"
            + (f", ledger event {self.ledger_event}" if self.ledger_event else ""),
        ]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the webhook's body (with ``type``) and what :meth:`from_json` reads back."""
        return {
            "type": "erpbridge.notification",
            "id": self.id,
            "kind": self.kind.value,
            "partner": self.partner,
            "title": self.title,
            "reason": self.reason,
            "command": self.command,
            "advice": self.advice,
            "document": (
                {"id": self.document_id, "kind": self.document_kind, "file": self.file_name}
                if self.document_id
                else None
            ),
            "details": dict(self.details),
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "ledger_event": self.ledger_event,
            "count": self.count,
            "examples": [e.to_json() for e in self.examples],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        """The notification :meth:`to_json` described (ConfigError if it is not one)."""
        try:
            doc = data.get("document") or {}
            return cls(
                kind=Kind(data["kind"]),
                partner=str(data["partner"]),
                title=str(data["title"]),
                reason=str(data["reason"]),
                command=str(data["command"]),
                advice=str(data.get("advice") or ""),
                document_id=doc.get("id"),
                document_kind=doc.get("kind"),
                file_name=doc.get("file"),
                details={str(k): str(v) for k, v in (data.get("details") or {}).items()},
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                ledger_event=data.get("ledger_event"),
                count=int(data.get("count", 1)),
                examples=tuple(cls.from_json(e) for e in data.get("examples") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"not a stored notification: {type(exc).__name__}: {exc}") from None


class Notifier(Protocol):
    """Something that delivers notifications: :meth:`send` returns when delivered, or raises an
    :class:`~erpbridge.errors.ErpBridgeError` saying whether trying again later can help. It never
    retries or sleeps by itself."""

    @property
    def name(self) -> str:
        """How logs and failures name it (``webhook``, ``email``)."""
        ...

    def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...


# -- the webhook ------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib would turn a redirected POST into a GET without the body


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - _utcnow()).total_seconds(), 0.0)


class WebhookNotifier:
    """POSTs each notification as JSON (:meth:`Notification.to_json` plus ``sent_at``) to ``url``.

    With a ``secret`` the request is signed like the receiver's ``generic`` scheme:
    ``X-Signature: sha256=<hex HMAC-SHA256 of the body>``; ``X-Event-Id`` carries the notification's
    ID (the same on every retry) and ``X-Event-Topic`` ``erpbridge/<kind>``. ``url`` may be a
    :class:`Credential` when the URL itself is a secret (a chat webhook's token in its path);
    messages show only its scheme and host either way. Redirects are not followed.

    2xx is success. 408, 425, 429 and 5xx raise :class:`RemoteUnavailableError` (transient, with
    ``Retry-After``); 401/403 :class:`AuthenticationError`; other codes
    :class:`RemoteRejectedError`; no answer in ``timeout`` seconds or no connection
    :class:`TransportError`; a certificate that does not verify :class:`AuthenticationError`.
    """

    def __init__(
        self,
        url: str | Credential,
        *,
        secret: Credential | None = None,
        timeout: float = 10.0,
        name: str = "webhook",
        ca_file: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._url = url
        self._secret = secret
        self.timeout = timeout
        self._name = name
        self._clock = clock
        if timeout <= 0:
            raise ConfigError(f"notifier {name}: timeout must be positive")
        if isinstance(url, str):
            self._check_url(url)
        context = ssl.create_default_context(cafile=ca_file)
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=context)
        )

    @property
    def name(self) -> str:
        return self._name

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"notifier {self._name}: the webhook URL must be http(s)://host/...")
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def send(self, notification: Notification) -> None:
        url = self._url if isinstance(self._url, str) else self._url.reveal()
        shown = self._check_url(url)
        body = json.dumps(
            notification.to_json() | {"sent_at": self._clock().astimezone(UTC).isoformat()},
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "erpbridge-notify",
            "X-Event-Id": notification.id,
            "X-Event-Topic": f"erpbridge/{notification.kind.value}",
        }
        if self._secret is not None:
            key = self._secret.reveal().encode("utf-8")
            headers["X-Signature"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        ctx: dict[str, Any] = {"notifier": self._name, "url": shown, "partner": notification.partner}
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            code = exc.code
            with exc:
                text = _one_line(exc.read(2000).decode("utf-8", "replace"), 200)
            what = f"the webhook answered HTTP {code}"
            if code in (408, 425, 429) or code >= 500:
                raise RemoteUnavailableError(
                    what,
                    status=code,
                    remote_message=text or None,
                    retry_after=_retry_after(exc.headers.get("Retry-After")),
                    **ctx,
                ) from None
            if code in (401, 403):
                raise AuthenticationError(
                    f"{what}: check the signing secret it expects", status=code, **ctx
                ) from None
            if 300 <= code < 400:
                what += " (a redirect: erpbridge does not follow them; configure the final URL)"
            raise RemoteRejectedError(what, status=code, remote_message=text or None, **ctx) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise AuthenticationError(
                    f"the webhook's TLS certificate does not verify: {reason.verify_message}", **ctx
                ) from None
            raise TransportError(f"cannot reach the webhook: {reason}", **ctx) from None
        except (TimeoutError, OSError) as exc:
            raise TransportError(f"the webhook did not answer: {type(exc).__name__}: {exc}", **ctx) from None


# -- email ------------------------------------------------------------------------------------

Tls = Literal["starttls", "tls", "none"]
#: RFC 5322's hard line limit rather than the folding at 78: Python folds a long subject that has no
#: early space onto its own line, which some readers show with a leading space.
_MAIL_POLICY: Final = email.policy.SMTP.clone(max_line_length=998)
_DEFAULT_PORT: Final[Mapping[str, int]] = {"starttls": 587, "tls": 465, "none": 25}


def _address(value: str, what: str) -> str:
    if (
        not isinstance(value, str)
        or "@" not in value
        or any(c in value for c in "\r\n,<>")
        or value != value.strip()
    ):
        raise ConfigError(f"email notifier: {what} {value!r} is not a plain address (name@domain)")
    return value


def parse_relay(relay: str, tls: Tls = "starttls") -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` as (host, port); the port defaults by ``tls``."""
    text = relay.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise ConfigError(f"email notifier: relay {relay!r} is not host[:port]")
    port = int(port_text) if port_text else _DEFAULT_PORT[tls]
    if not 0 < port < 65536:
        raise ConfigError(f"email notifier: relay port {port} is out of range")
    return host, port


def _smtp_error(code: int, what: str, ctx: dict[str, Any], reply: bytes | str = b"") -> ErpBridgeError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    message = f"{what}: SMTP {code} {_one_line(text, 200)}".rstrip()
    if 400 <= code < 500:
        return RemoteUnavailableError(message, status=code, **ctx)
    return RemoteRejectedError(message, status=code, **ctx)


class EmailNotifier:
    """Sends each notification as a plain-text email through an SMTP relay (:mod:`smtplib`).

    ``tls``: ``starttls`` (default: upgrade the connection before anything is sent, refuse a relay
    that does not offer it), ``tls`` (implicit TLS, port 465) or ``none`` (a local relay on a trusted
    network). The relay's certificate is verified (``ca_file`` for a private CA). ``username`` and
    ``password`` (a :class:`Credential`, read at each send) log in; never over ``tls = "none"``.

    Refused credentials and an untrusted certificate raise :class:`AuthenticationError`; SMTP 5xx
    replies :class:`RemoteRejectedError`; 4xx :class:`RemoteUnavailableError` (transient); no
    connection, a timeout or a dropped connection :class:`TransportError`.
    """

    def __init__(
        self,
        relay: str,
        *,
        sender: str,
        recipients: Sequence[str],
        tls: Tls = "starttls",
        username: str | None = None,
        password: Credential | None = None,
        ca_file: str | None = None,
        timeout: float = 30.0,
        subject_prefix: str = "[erpbridge]",
        name: str = "email",
    ) -> None:
        if tls not in _DEFAULT_PORT:
            raise ConfigError(f"email notifier: tls must be starttls, tls or none, not {tls!r}")
        self.host, self.port = parse_relay(relay, tls)
        self.tls: Tls = tls
        self.sender = _address(sender, "sender")
        self.recipients = tuple(_address(r, "recipient") for r in recipients)
        if not self.recipients:
            raise ConfigError("email notifier: needs at least one recipient")
        if (username is None) != (password is None):
            raise ConfigError("email notifier: give both username and password, or neither")
        if username is not None and tls == "none":
            raise ConfigError(
                "email notifier: a username and password are never sent over an unencrypted connection; "
                'use tls = "starttls" or "tls"'
            )
        if timeout <= 0:
            raise ConfigError("email notifier: timeout must be positive")
        self.username, self._password = username, password
        self.ca_file, self.timeout = ca_file, timeout
        self.subject_prefix = subject_prefix
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def message(self, notification: Notification) -> EmailMessage:
        """The email for ``notification`` (what :meth:`send` sends)."""
        msg = EmailMessage(policy=_MAIL_POLICY)
        subject = _one_line(f"{self.subject_prefix} {notification.title}".strip(), 250)
        msg["Subject"] = subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = email.utils.formatdate(usegmt=True)
        msg["Message-ID"] = email.utils.make_msgid("erpbridge", domain=self.sender.rpartition("@")[2])
        msg["X-Erpbridge-Notification"] = notification.id
        msg["X-Erpbridge-Kind"] = notification.kind.value
        text = notification.text()
        # ASCII goes as 7bit; anything else quoted-printable, which every relay carries (no 8BITMIME needed)
        msg.set_content(text, cte=None if text.isascii() else "quoted-printable")
        return msg

    def send(self, notification: Notification) -> None:
        msg = self.message(notification)
        ctx: dict[str, Any] = {
            "notifier": self._name,
            "relay": f"{self.host}:{self.port}",
            "partner": notification.partner,
        }
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            smtp: smtplib.SMTP
            if self.tls == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.tls == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password.reveal())
                refused = smtp.send_message(msg)
            if refused:
                log.warning(
                    "notifier %s: the relay refused %d of %d recipients: %s",
                    self._name,
                    len(refused),
                    len(self.recipients),
                    ", ".join(sorted(refused)),
                )
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationError(
                f"the relay refused the credentials of {self.username} (SMTP {exc.smtp_code})", **ctx
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise RemoteRejectedError(
                f"the relay does not offer what the configuration needs ({exc}); erpbridge sends no mail "
                "or password in the clear when tls is starttls",
                **ctx,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            transient = any(400 <= c < 500 for c in codes)
            raise _smtp_error(
                min(codes) if transient else max(codes, default=550),
                f"the relay refused every recipient ({', '.join(sorted(exc.recipients))})",
                ctx,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_error(exc.smtp_code, "the relay refused the message", ctx, exc.smtp_error) from None
        except ssl.SSLCertVerificationError as exc:
            raise AuthenticationError(
                f"the relay's TLS certificate does not verify: {exc.verify_message}", **ctx
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(
                f"cannot hand the mail to the relay: {type(exc).__name__}: {exc}", **ctx
            ) from None


# -- fan-out, de-duplication and retries ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """A notification a notifier could not deliver.

    Fields:
        notifier: the notifier's name
        notification: what it was
        error: what went wrong (``ClassName: message``; never a secret)
        transient: whether trying later may help
        retry_at: when it will be tried again; ``None`` when it is given up (terminal, or the last attempt)
    """

    notifier: str
    notification: Notification
    error: str
    transient: bool
    retry_at: datetime | None


@dataclass
class _Window:
    start: datetime
    count: int = 0
    held: list[Notification] = field(default_factory=list)


@dataclass
class _Retry:
    notifier: str
    notification: Notification
    attempts: int
    due: datetime


def _summary_command(kind: Kind, partner: str, examples: Sequence[Notification]) -> str:
    if kind in (Kind.QUARANTINED, Kind.DEAD_LETTERED):
        return f"erpbridge dlq list --partner {partner}"
    if kind in (Kind.ACK_OVERDUE, Kind.REJECTED):
        return f"erpbridge ledger list --partner {partner} --state {kind.value}"
    if kind is Kind.RECONCILIATION_DELTA and examples:
        return examples[-1].command
    return f"erpbridge ledger list --partner {partner}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Notifications:
    """Fans notifications out to ``notifiers``, one summary per kind and partner per ``window``,
    and retries transient failures after the ledger's backoff (``retry_policy``).

    Thread-safe. :meth:`notify` and :meth:`flush` never raise: failures are logged and returned.
    ``max_examples`` occurrences are kept for a summary, ``max_pending`` retries at most (the
    oldest are given up first).
    """

    def __init__(
        self,
        notifiers: Iterable[Notifier],
        *,
        window: timedelta = timedelta(minutes=15),
        retry_policy: RetryPolicy | None = None,
        max_examples: int = 10,
        max_pending: int = 500,
        clock: Callable[[], datetime] = _utcnow,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.notifiers: dict[str, Notifier] = {}
        for notifier in notifiers:
            if notifier.name in self.notifiers:
                raise ConfigError(f"two notifiers are named {notifier.name!r}")
            self.notifiers[notifier.name] = notifier
        if window < timedelta(0):
            raise ConfigError("the notification window cannot be negative")
        self.window = window
        self.policy = retry_policy or RetryPolicy()
        self.max_examples, self.max_pending = max_examples, max_pending
        self._clock, self._random = clock, random
        self._lock = threading.Lock()
        self._windows: dict[tuple[Kind, str], _Window] = {}
        self._retries: list[_Retry] = []
        self.restored = False

    # -- sending ------------------------------------------------------------------------------

    def notify(self, notification: Notification) -> list[Failure]:
        """Send ``notification`` now, or hold it for its window's summary. Never raises."""
        now = self._now()
        with self._lock:
            out = self._close_windows(now)
            key = (notification.kind, notification.partner)
            window = self._windows.get(key)
            if window is None or self.window == timedelta(0):
                self._windows[key] = _Window(start=now)
                out.append(notification)
            else:
                window.count += 1
                if len(window.held) < self.max_examples:
                    window.held.append(notification)
                log.info(
                    "notification held for the %s summary of %s %s: %s",
                    self._window_text(),
                    notification.partner,
                    notification.kind.value,
                    notification.title,
                )
        return self._deliver([(n, None, 0) for n in out], now)

    def flush(self) -> list[Failure]:
        """Send the summaries of windows that have ended and the retries that are due. Never raises."""
        now = self._now()
        with self._lock:
            work: list[tuple[Notification, str | None, int]] = [
                (n, None, 0) for n in self._close_windows(now)
            ]
            due = [r for r in self._retries if r.due <= now]
            self._retries = [r for r in self._retries if r.due > now]
            work += [(r.notification, r.notifier, r.attempts) for r in due]
        return self._deliver(work, now)

    def pending(self) -> int:
        """Notifications held for a summary plus retries waiting."""
        with self._lock:
            return sum(w.count for w in self._windows.values()) + len(self._retries)

    def _now(self) -> datetime:
        try:
            return self._clock().astimezone(UTC)
        except Exception:  # a broken test clock must not break the daemon  # noqa: BLE001
            return _utcnow()

    def _window_text(self) -> str:
        minutes = self.window.total_seconds() / 60
        return f"{minutes:g}-minute"

    def _close_windows(self, now: datetime) -> list[Notification]:
        """Summaries of the windows that ended (each opens a new window); empty ones are closed."""
        out: list[Notification] = []
        for key, window in list(self._windows.items()):
            if now < window.start + self.window:
                continue
            if window.count == 0:
                del self._windows[key]
                continue
            out.append(self._summary(key, window, now))
            self._windows[key] = _Window(start=now)
        return out

    def _summary(self, key: tuple[Kind, str], window: _Window, now: datetime) -> Notification:
        kind, partner = key
        plural = _LABEL[kind][0 if window.count == 1 else 1]
        since = window.start.strftime("%H:%M UTC")
        return Notification(
            kind=kind,
            partner=partner,
            title=f"{window.count} more {plural} for {partner} since {since}",
            reason=(
                f"{window.count} more {plural} for {partner} between {since} and "
                f"{now.strftime('%H:%M UTC')}, held so that one stuck partner sends one message per "
                f"{self._window_text()} window"
            ),
            command=_summary_command(kind, partner, window.held),
            advice="Each one below has its own command; the command above lists them all.",
            details={"window start": window.start.isoformat(), "window": str(self.window)},
            occurred_at=now,
            count=window.count,
            examples=tuple(window.held),
        )

    def _deliver(self, work: list[tuple[Notification, str | None, int]], now: datetime) -> list[Failure]:
        failures: list[Failure] = []
        for notification, only, attempts in work:
            targets = (
                [self.notifiers[only]]
                if only in self.notifiers
                else []
                if only
                else list(self.notifiers.values())
            )
            for notifier in targets:
                try:
                    notifier.send(notification)
                except Exception as exc:  # fan-out never raises into the daemon  # noqa: BLE001
                    failures.append(self._failed(notifier.name, notification, exc, attempts + 1, now))
                else:
                    log.info("notification sent by %s: %s", notifier.name, notification.title)
        return failures

    def _failed(
        self, name: str, notification: Notification, exc: Exception, attempt: int, now: datetime
    ) -> Failure:
        transient = not isinstance(exc, TerminalError)  # errors not erpbridge's count as transient
        retry_at: datetime | None = None
        if transient and attempt < self.policy.max_attempts:
            retry_after = exc.context.get("retry_after") if isinstance(exc, ErpBridgeError) else None
            delay = backoff_delay(
                attempt,
                self.policy,
                retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
                random=self._random,
            )
            retry_at = now + timedelta(seconds=delay)
            with self._lock:
                self._retries.append(_Retry(name, notification, attempt, retry_at))
                while len(self._retries) > self.max_pending:
                    dropped = self._retries.pop(0)
                    log.error("notification given up (too many waiting): %s", dropped.notification.title)
        failure = Failure(name, notification, _describe(exc), transient, retry_at)
        if retry_at is not None:
            log.warning(
                "notification not sent by %s (attempt %d), again at %s: %s: %s",
                name,
                attempt,
                retry_at.isoformat(timespec="seconds"),
                notification.title,
                failure.error,
            )
        else:
            log.error(
                "notification given up by %s after %d attempt(s): %s: %s",
                name,
                attempt,
                notification.title,
                failure.error,
            )
        if not isinstance(exc, ErpBridgeError):
            log.debug("notifier %s raised a non-erpbridge error", name, exc_info=exc)
        return failure

    # -- carrying the state over ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Windows and retries as JSON-ready data (for :meth:`restore`)."""
        with self._lock:
            return {
                "windows": [
                    {
                        "kind": kind.value,
                        "partner": partner,
                        "start": w.start.isoformat(),
                        "count": w.count,
                        "held": [n.to_json() for n in w.held],
                    }
                    for (kind, partner), w in sorted(self._windows.items())
                ],
                "retries": [
                    {
                        "notifier": r.notifier,
                        "attempts": r.attempts,
                        "due": r.due.isoformat(),
                        "notification": r.notification.to_json(),
                    }
                    for r in self._retries
                ],
            }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take over windows and retries from :meth:`state` (another process's, or before a restart).
        What cannot be read is logged and left out; retries for notifiers no longer configured too."""
        windows: dict[tuple[Kind, str], _Window] = {}
        retries: list[_Retry] = []
        try:
            for w in state.get("windows") or ():
                windows[(Kind(w["kind"]), str(w["partner"]))] = _Window(
                    start=datetime.fromisoformat(w["start"]),
                    count=int(w["count"]),
                    held=[Notification.from_json(n) for n in w.get("held") or ()],
                )
            for r in state.get("retries") or ():
                if r["notifier"] in self.notifiers:
                    retries.append(
                        _Retry(
                            r["notifier"],
                            Notification.from_json(r["notification"]),
                            int(r["attempts"]),
                            datetime.fromisoformat(r["due"]),
                        )
                    )
        except (KeyError, TypeError, ValueError, AttributeError, ErpBridgeError) as exc:
            log.error("notification state not restored (%s): starting afresh", _describe(exc))
            windows, retries = {}, []
        with self._lock:
            for key, window in windows.items():
                self._windows.setdefault(key, window)
            self._retries = retries + self._retries
            self.restored = True


__all__ = [
    "EmailNotifier",
    "Failure",
    "Kind",
    "Notification",
    "Notifications",
    "Notifier",
    "WebhookNotifier",
    "parse_relay",
]
