"""An HTTP receiver for event-driven exceptions: signed webhooks from storefronts and other sources.

One endpoint per configured source, ``POST <prefix><source>`` (default ``/events/<source>``). A
request goes through, in this order:

1. **Size** before anything else: no ``Content-Length`` (or a chunked body) is refused with 411, a
   length over the source's ``max_body`` with 413, without reading or hashing the body.
2. **Signature** over the raw bytes, HMAC-SHA256 with each of the source's signing secrets,
   compared with :func:`hmac.compare_digest`. Several secrets may be active at once (rotation: the
   current one and the previous one until its ``not_after``); any of them verifies. A missing,
   malformed or wrong signature, or one made with a secret past its ``not_after``, is logged
   (source, remote address, reason: never a secret, a signature or the body), counted through
   ``on_signature_failure(source)``, and dropped with 401: nothing is recorded or processed. When
   no secret verified and some could not be read (an unset variable), the answer is 503: that is
   our configuration, not the sender's fault, and the sender will deliver again.
3. **Idempotency** on the event ID (a header or a JSON field, per source): the raw body is
   recorded in the ledger, ``record_inbound(partner=source, kind="event/<topic>", payload=body,
   business_key=event_id)``, which returns the existing document for an ID (or a body) it has
   seen. A duplicate is answered 200 and goes no further.
4. **Handling**: a new event is moved to ``validated`` (its signature was verified) and handed to
   the ``handler``; then ``archived``. If the handler raises, the failure is recorded with
   :meth:`Ledger.fail` (transient: ``retry_wait`` with backoff; terminal: ``quarantined``, in
   ``erpbridge dlq list``), and the answer is still 200: the event is in the ledger, and a
   redelivery by the sender would only be a duplicate. :meth:`EventReceiver.process_pending`
   (a scheduled job) hands retried, operator-retried and crash-interrupted events to the
   handler again.

Each request claims its document with its own worker name, so two receivers (threads, processes or
hosts on one ledger) that get the same event at once hand it to a handler once.

Schemes (``scheme`` per source)::

    shopify   X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(secret, body))
              event ID header X-Shopify-Webhook-Id, topic header X-Shopify-Topic
    generic   X-Signature: sha256=<hex HMAC-SHA256(secret, body)>
              event ID header X-Event-Id, topic header X-Event-Topic

Either may take another signature header, an event ID or topic from a JSON field (``data.id``)
instead of a header, and a default topic. The stdlib :mod:`http.server` is the only HTTP server
here (and this module the only user of it). See docs/events.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Literal

from erpbridge.errors import ConfigError, ErpBridgeError, LedgerBusyError, LedgerError
from erpbridge.ledger import Direction, Document, Ledger, State
from erpbridge.transports.base import Credential

log = logging.getLogger(__name__)

#: The ledger kind of an event is this prefix and its topic: ``event/orders/create``.
KIND_PREFIX: Final = "event/"
#: Where the endpoints are: ``POST /events/<source>``.
DEFAULT_PREFIX: Final = "/events/"
#: Bodies larger than this are refused (413) unless a source says otherwise.
DEFAULT_MAX_BODY: Final = 1024 * 1024

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOPIC_BAD = re.compile(r"[^A-Za-z0-9_./:-]+")
_MAX_TOPIC = 64 - len(KIND_PREFIX)
_MAX_EVENT_ID = 128


@dataclass(frozen=True, slots=True)
class Scheme:
    """How a source signs its requests and where it puts the event ID and topic.

    Fields:
        name: ``shopify`` or ``generic``
        signature_header: the header that carries the signature
        encoding: ``base64`` or ``hex``, the digest's encoding in that header
        prefix: text before the digest (``sha256=``)
        event_id_header: the header with the event's ID, by default
        topic_header: the header with the event's topic, by default
    """

    name: str
    signature_header: str
    encoding: Literal["base64", "hex"]
    prefix: str
    event_id_header: str | None
    topic_header: str | None


#: The signature schemes erpbridge knows, by the name a source's ``scheme`` gives.
SCHEMES: Final[Mapping[str, Scheme]] = {
    "shopify": Scheme(
        "shopify", "X-Shopify-Hmac-Sha256", "base64", "", "X-Shopify-Webhook-Id", "X-Shopify-Topic"
    ),
    "generic": Scheme("generic", "X-Signature", "hex", "sha256=", "X-Event-Id", "X-Event-Topic"),
}


def parse_not_after(value: str | date | datetime) -> datetime:
    """A secret's ``not_after`` from configuration: an ISO 8601 date-time with an offset, or a date
    (``2026-12-01``), which means 00:00 UTC that day: the secret verifies until that moment."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0), UTC)
    else:
        try:
            moment = (
                datetime.combine(date.fromisoformat(value), time(0), UTC)
                if len(value) == 10
                else datetime.fromisoformat(value)
            )
        except ValueError:
            raise ConfigError(f"not_after {value!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        raise ConfigError(f"not_after {value!s} needs a UTC offset (e.g. 2026-12-01T00:00:00+00:00)")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """One signing secret of a source: where it is (a :class:`Credential`, read at each request, so a
    new value in a secret file is used without a restart) and, for a secret being retired, the
    moment it stops verifying (``not_after``, aware; ``None``: no end)."""

    credential: Credential
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        if self.not_after is not None and self.not_after.tzinfo is None:
            raise ConfigError(f"signing secret {self.credential.name}: not_after needs a time zone")

    def active(self, now: datetime) -> bool:
        """Whether this secret still verifies at ``now``."""
        return self.not_after is None or now < self.not_after


@dataclass(frozen=True, slots=True)
class EventSource:
    """One sender of events: its name (the endpoint's last part and the ledger's partner), its
    scheme and secrets, and where its event ID and topic are.

    ``event_id_header`` / ``topic_header`` default to the scheme's; a ``*_field`` (a dotted path
    into the JSON body, ``id`` or ``data.id``) is used instead when given. ``default_topic`` is the
    topic when the request names none. ``max_body`` is in bytes.
    """

    name: str
    scheme: str
    secrets: Sequence[SigningSecret]
    signature_header: str | None = None
    event_id_header: str | None = None
    event_id_field: str | None = None
    topic_header: str | None = None
    topic_field: str | None = None
    default_topic: str = "webhook"
    max_body: int = DEFAULT_MAX_BODY

    def __post_init__(self) -> None:
        where = f"event source {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"{where}: a name is 1 to 64 letters, digits, '_', '.' or '-'")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"{where}: unknown scheme {self.scheme!r}; use one of {', '.join(SCHEMES)}")
        if not self.secrets:
            raise ConfigError(f"{where}: needs at least one signing secret")
        if self.max_body < 1:
            raise ConfigError(f"{where}: max_body must be positive")
        if _clean_topic(self.default_topic) != self.default_topic:
            raise ConfigError(f"{where}: default_topic {self.default_topic!r} has characters a topic cannot")
        object.__setattr__(self, "secrets", tuple(self.secrets))

    @property
    def rules(self) -> Scheme:
        """The scheme, with this source's own headers where it sets them."""
        base = SCHEMES[self.scheme]
        return Scheme(
            base.name,
            self.signature_header or base.signature_header,
            base.encoding,
            base.prefix,
            None if self.event_id_field else (self.event_id_header or base.event_id_header),
            None if self.topic_field else (self.topic_header or base.topic_header),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`verify_signature` found.

    Fields:
        ok: a secret active now verified the body
        reason: why not (for the log: never a secret or a signature), ``""`` when ok
        credential: the *name* of the secret that verified (``env:SHOPIFY_SECRET``)
        unreadable: names of secrets that could not be read
    """

    ok: bool
    reason: str = ""
    credential: str | None = None
    unreadable: tuple[str, ...] = ()


def _digest_of(scheme: Scheme, signature: str) -> bytes | None:
    """The raw digest a signature header carries, or None when it is not in the scheme's form."""
    text = signature.strip()
    if scheme.prefix:
        if not text.lower().startswith(scheme.prefix):
            return None
        text = text[len(scheme.prefix) :]
    try:
        raw = base64.b64decode(text, validate=True) if scheme.encoding == "base64" else bytes.fromhex(text)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == hashlib.sha256().digest_size else None


def sign(secret: str | bytes, body: bytes, scheme: str = "generic") -> str:
    """The signature header value ``scheme`` expects for ``body`` (for senders and tests)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, body, hashlib.sha256).digest()
    rules = SCHEMES[scheme]
    encoded = base64.b64encode(digest).decode("ascii") if rules.encoding == "base64" else digest.hex()
    return rules.prefix + encoded


def verify_signature(source: EventSource, signature: str | None, body: bytes, now: datetime) -> Verdict:
    """Check ``signature`` (the header's value, ``None`` if absent) over the raw ``body``.

    Every secret of the source is tried, each with :func:`hmac.compare_digest` and without stopping
    at the first match. A match with a secret past its ``not_after`` does not verify: the reason
    then names that secret, so whoever rotates sees that the sender still signs with the old one.
    """
    rules = source.rules
    if signature is None or not signature.strip():
        return Verdict(False, f"no signature (header {rules.signature_header} missing)")
    provided = _digest_of(rules, signature)
    if provided is None:
        form = f"{rules.prefix}<{rules.encoding} HMAC-SHA256>"
        return Verdict(False, f"malformed signature in {rules.signature_header} (expected {form})")
    verified: SigningSecret | None = None
    retired: SigningSecret | None = None
    unreadable: list[str] = []
    for secret in source.secrets:
        try:
            key = secret.credential.reveal().encode("utf-8")
        except ErpBridgeError:
            unreadable.append(secret.credential.name)
            continue
        expected = hmac.new(key, body, hashlib.sha256).digest()
        if hmac.compare_digest(expected, provided):
            if secret.active(now):
                verified = verified or secret
            else:
                retired = retired or secret
    if verified is not None:
        return Verdict(True, credential=verified.credential.name, unreadable=tuple(unreadable))
    if retired is not None:
        until = retired.not_after.isoformat() if retired.not_after else "?"
        reason = f"signed with retired secret {retired.credential.name} (not after {until})"
    else:
        reason = "signature does not match any active signing secret"
    if unreadable:
        reason += f"; unreadable: {', '.join(unreadable)}"
    return Verdict(False, reason, unreadable=tuple(unreadable))


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A verified, newly recorded event, as the handler gets it.

    Fields:
        source: the source's name (the ledger's partner)
        topic: the event's topic (``orders/create``), as in the ledger kind ``event/<topic>``
        event_id: the sender's event ID (the ledger's business key)
        document_id: the ledger document that holds it (``erpbridge ledger show <id>``)
        payload: the raw body
        received_at: when it was recorded (UTC)
    """

    source: str
    topic: str
    event_id: str
    document_id: str
    payload: bytes
    received_at: datetime

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not JSON)."""
        return json.loads(self.payload)


#: What a handler is: called once per new event; raising records a failure (see the module).
Handler = Callable[[ReceivedEvent], None]


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one request: status, a small JSON body, extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """``accepted``, ``duplicate``, ``bad_signature``, ``refused`` (4xx) or ``error`` (5xx): the
        outcomes of the metrics' ``erpbridge_webhook_requests_total``."""
        if self.status == 200:
            return "duplicate" if self.body.get("status") == "duplicate" else "accepted"
        if self.status == 401:
            return "bad_signature"
        return "error" if self.status >= 500 else "refused"


def _clean_topic(topic: str) -> str:
    cleaned = _TOPIC_BAD.sub("_", topic.strip()).strip("_/") or "webhook"
    return cleaned[:_MAX_TOPIC]


def _field(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _utcnow() -> datetime:
    return datetime.now(UTC)


_SEQ = itertools.count(1)


class EventReceiver:
    """The HTTP receiver of ``sources`` (by name), recording into ``ledger`` and calling ``handler``.

    Args:
        ledger: the ledger events are recorded in (threads share it)
        sources: the configured sources
        handler: called once per new event, on the request's thread: keep it quick (the sender
            waits; Shopify gives up after 5 s) and put long work in the daemon's jobs
        host, port: where to listen (port 0: any free port; see :attr:`address`)
        prefix: the endpoints' path prefix
        on_signature_failure: called with the source's name for every refused signature:
            ``erpbridge.observability.signals.signature_failure``; an exception in it is logged
        on_request: called with the source's name (``-`` for an unknown path) and the
            :attr:`Reply.outcome` of every answer: ``erpbridge.observability.signals.webhook_request``
            (the metrics' ingest rate and success); an exception in it is logged, never passed on
        read_timeout: seconds a client may take to send its request
        worker: this receiver's name in ledger claims (default ``host:pid/events-N``)
        clock: aware UTC datetimes, for tests
    """

    def __init__(
        self,
        ledger: Ledger,
        sources: Sequence[EventSource],
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = DEFAULT_PREFIX,
        on_signature_failure: Callable[[str], None] | None = None,
        on_request: Callable[[str, str], None] | None = None,
        read_timeout: float = 10.0,
        worker: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ConfigError(f"event sources need distinct names, got {names}")
        if not prefix.startswith("/") or not prefix.endswith("/"):
            raise ConfigError(f"the events prefix must start and end with '/', got {prefix!r}")
        self.ledger = ledger
        self.sources: dict[str, EventSource] = {s.name: s for s in sources}
        self.handler = handler
        self.host, self.port, self.prefix = host, port, prefix
        self.on_signature_failure = on_signature_failure
        self.on_request = on_request
        self.read_timeout = read_timeout
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}/events-{next(_SEQ)}"
        self.clock = clock
        self._seq = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- running ------------------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        """Listen and serve on a background thread; returns the address actually bound."""
        if self._server is not None:
            raise ConfigError("the event receiver is already running")
        try:
            server = _Server((self.host, self.port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"the event receiver cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="erpbridge-events", daemon=True
        )
        self._thread.start()
        log.info("event receiver listening on %s:%s", *self.address)
        return self.address

    def stop(self) -> None:
        """Stop listening; requests in hand are finished first."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()  # joins the request threads
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> EventReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` listened on (the real port when 0 was asked for)."""
        if self._server is None:
            return self.host, self.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def url(self, source: str) -> str:
        """The endpoint of ``source`` on this receiver (``http://host:port/events/<source>``)."""
        host, port = self.address
        return f"http://{host}:{port}{self.prefix}{source}"

    # -- one request --------------------------------------------------------------------------

    def source_for(self, path: str) -> EventSource | None:
        """The source whose endpoint ``path`` is (query string ignored)."""
        path = path.split("?", 1)[0]
        if not path.startswith(self.prefix):
            return None
        return self.sources.get(path[len(self.prefix) :])

    def accept(self, source: EventSource, headers: Any, body: bytes, remote: str) -> Reply:
        """Verify, record and hand on one request's body (whose size was already checked).

        ``headers`` needs a case-insensitive ``get`` (``http.client.HTTPMessage`` has one)."""
        rules = source.rules
        verdict = verify_signature(source, headers.get(rules.signature_header), body, self.clock())
        if not verdict.ok:
            if verdict.unreadable:
                log.error(
                    "event source %s: cannot verify a request from %s: %s",
                    source.name,
                    remote,
                    verdict.reason,
                    extra={"event_source": source.name, "remote_addr": remote, "reason": verdict.reason},
                )
                return Reply(503, {"error": "cannot verify signatures now"}, {"Retry-After": "60"})
            self._signature_failure(source.name, remote, verdict.reason)
            return Reply(401, {"error": "signature verification failed"})
        parsed: Any = None
        if source.event_id_field or source.topic_field:
            try:
                parsed = json.loads(body)
            except ValueError:
                return self._refuse(
                    source, remote, "the body is not JSON, and the event ID or topic is in it"
                )
        event_id = self._event_id(source, rules, headers, parsed)
        if event_id is None:
            where = (
                f"field {source.event_id_field}"
                if source.event_id_field
                else f"header {rules.event_id_header}"
            )
            return self._refuse(
                source, remote, f"no usable event ID ({where}: 1 to {_MAX_EVENT_ID} characters)"
            )
        raw_topic = (
            _field(parsed, source.topic_field)
            if source.topic_field
            else headers.get(rules.topic_header)
            if rules.topic_header
            else None
        )
        topic = _clean_topic(str(raw_topic)) if raw_topic not in (None, "") else source.default_topic
        worker = f"{self.worker}#{next(self._seq)}"
        detail = {"event_id": event_id, "topic": str(raw_topic or topic)[:200], "remote": remote}
        try:
            doc, created = self.ledger.record_inbound(
                source.name,
                KIND_PREFIX + topic,
                body,
                business_key=event_id,
                step="receive",
                credential=verdict.credential,
                worker=worker,
                detail=detail | {"scheme": rules.name},
            )
        except LedgerBusyError as exc:
            log.warning(
                "event source %s: event %s not recorded, the ledger is busy: %s", source.name, event_id, exc
            )
            return Reply(503, {"error": "busy, deliver again later"}, {"Retry-After": "5"})
        except ErpBridgeError as exc:
            log.error("event source %s: event %s not recorded: %s", source.name, event_id, exc)
            return Reply(500, {"error": "not recorded"})
        if doc.claimed_by != worker:
            log.info("event source %s: event %s is a duplicate of %s", source.name, event_id, doc.id)
            return Reply(200, {"status": "duplicate", "document": doc.id})
        log.info("event source %s: event %s (%s) recorded as %s", source.name, event_id, topic, doc.id)
        event = ReceivedEvent(source.name, topic, event_id, doc.id, body, doc.created_at)
        self._process(doc, event, worker)
        return Reply(200, {"status": "accepted" if created else "resumed", "document": doc.id})

    def _event_id(self, source: EventSource, rules: Scheme, headers: Any, parsed: Any) -> str | None:
        value = _field(parsed, source.event_id_field) if source.event_id_field else None
        if value is None and rules.event_id_header:
            value = headers.get(rules.event_id_header)
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        text = str(value).strip()
        if not text or len(text) > _MAX_EVENT_ID or not text.isprintable():
            return None
        return text

    def _refuse(self, source: EventSource, remote: str, reason: str) -> Reply:
        log.warning(
            "event source %s: refused a signed request from %s: %s",
            source.name,
            remote,
            reason,
            extra={"event_source": source.name, "remote_addr": remote, "reason": reason},
        )
        return Reply(400, {"error": reason})

    def _signature_failure(self, source: str, remote: str, reason: str) -> None:
        log.warning(
            "event source %s: dropped a request from %s: %s",
            source,
            remote,
            reason,
            extra={"event_source": source, "remote_addr": remote, "reason": reason},
        )
        if self.on_signature_failure is not None:
            try:
                self.on_signature_failure(source)
            except Exception:  # a metrics hook must not turn a 401 into a 500
                log.exception("on_signature_failure hook failed")

    def _process(self, doc: Document, event: ReceivedEvent, worker: str) -> None:
        """Move a claimed event document through validated, the handler and archived (or a failure)."""
        try:
            if doc.state is State.RECEIVED:
                self.ledger.transition(doc.id, State.VALIDATED, step="verify", outcome="ok", worker=worker)
            try:
                self.handler(event)
            except Exception as exc:  # recorded; a bug's traceback is logged
                if not isinstance(exc, ErpBridgeError):
                    log.exception("event handler failed on %s (event %s)", event.document_id, event.event_id)
                else:
                    log.warning("event handler failed on %s: %s", event.document_id, exc)
                self.ledger.fail(doc.id, exc, step="handle", worker=worker)
                return
            self.ledger.transition(doc.id, State.ARCHIVED, step="handle", outcome="ok", worker=worker)
        except (LedgerError, LedgerBusyError) as exc:
            # the event is recorded; its claim runs out and process_pending takes it up again
            log.warning("event %s: could not record its progress: %s", event.document_id, exc)

    def process_pending(self, limit: int = 100) -> int:
        """Hand to the handler the events left in ``received`` or ``validated``: a retry whose time
        has come, an operator's ``erpbridge dlq retry``, a process that died while handling one.
        Returns how many were handled. Safe in several processes at once (ledger claims)."""
        worker = f"{self.worker}#{next(self._seq)}"
        states = [State.RECEIVED, State.VALIDATED]
        done = 0
        for source in self.sources.values():
            candidates = self.ledger.find(
                partner=source.name,
                direction=Direction.IN,
                states=[*states, State.RETRY_WAIT],
                limit=1000,
            )
            for kind in sorted({d.kind for d in candidates if d.kind.startswith(KIND_PREFIX)}):
                for doc in self.ledger.claim(
                    states, limit - done, worker, direction=Direction.IN, partner=source.name, kind=kind
                ):
                    payload = self.ledger.payload(doc.payload_sha256 or "")
                    event = ReceivedEvent(
                        source.name,
                        kind[len(KIND_PREFIX) :],
                        doc.business_key or "",
                        doc.id,
                        payload,
                        doc.created_at,
                    )
                    self._process(doc, event, worker)
                    done += 1
                if done >= limit:
                    return done
        return done

    def _answered(self, source: str, outcome: str) -> None:
        if self.on_request is not None:
            try:
                self.on_request(source, outcome)
            except Exception:
                log.exception("on_request hook failed")


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the requests in hand
    block_on_close = True
    request_queue_size = 128  # a burst of deliveries (socketserver's default of 5 resets them)
    receiver: EventReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "erpbridge-events"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.receiver.read_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def _reply(self, reply: Reply, source: str = "-") -> None:
        self.server.receiver._answered(source, reply.outcome)  # counted before the sender hears back
        data = json.dumps(dict(reply.body)).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        receiver = self.server.receiver
        source = receiver.source_for(self.path)
        if source is None:
            self.close_connection = True
            self._reply(Reply(404, {"error": "no such event source"}))
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._reply(Reply(411, {"error": "send a Content-Length, not a chunked body"}), source.name)
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self.close_connection = True
            status = 411 if length_text is None else 400
            self._reply(Reply(status, {"error": "a Content-Length is required"}), source.name)
            return
        length = int(length_text)
        if length > source.max_body:
            self.close_connection = True  # the body is never read
            log.warning(
                "event source %s: refused %d bytes from %s (limit %d)",
                source.name,
                length,
                self.client_address[0],
                source.max_body,
            )
            self._reply(Reply(413, {"error": f"body over {source.max_body} bytes"}), source.name)
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            log.warning("event source %s: %s sent its body too slowly", source.name, self.client_address[0])
            return
        if len(body) != length:
            self.close_connection = True
            self._reply(Reply(400, {"error": "the body is shorter than its Content-Length"}), source.name)
            return
        self._reply(receiver.accept(source, self.headers, body, self.client_address[0]), source.name)

    def _not_allowed(self) -> None:
        self.close_connection = True
        reply = Reply(int(HTTPStatus.METHOD_NOT_ALLOWED), {"error": "POST only"}, {"Allow": "POST"})
        source = self.server.receiver.source_for(self.path)
        self._reply(reply, source.name if source else "-")

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_PREFIX",
    "KIND_PREFIX",
    "SCHEMES",
    "EventReceiver",
    "EventSource",
    "Handler",
    "ReceivedEvent",
    "Reply",
    "Scheme",
    "SigningSecret",
    "Verdict",
    "parse_not_after",
    "sign",
    "verify_signature",
]
