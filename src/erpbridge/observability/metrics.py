"""Prometheus metrics, health and readiness on one small HTTP server. The only prometheus_client user.

::

    server = MetricsServer("127.0.0.1", 9464, ledger, scheduler_running=lambda: daemon.running)
    server.start()          # listens at once (port 0: any free port, see server.port)
    ...
    server.stop()           # stops listening and joins the thread

``GET /metrics``  the metrics below, in Prometheus's text format (OpenMetrics when asked for)
``GET /healthz``  200 ``ok``: the process is up and serving
``GET /readyz``   200 ``ready`` when the ledger answers a query (and ``scheduler_running()``, if
                  given, says the scheduler runs); 503 with the reasons otherwise

What the ledger holds is read from the ledger when Prometheus scrapes (:class:`LedgerCollector`),
not counted in the process: the counts survive restarts, and every process on one ledger shows the
same numbers. The collector keeps a cursor in the event log (the chain head it last counted up to)
and reads only the events appended since, so a scrape costs the same on a ledger of ten events or
ten million; the first scrape of a process counts the whole log once. What the ledger does not hold
(signature failures, rate-limit headroom, the reconciler's findings) comes from
:mod:`erpbridge.observability.signals`.

Every metric, its labels, the seed signal it stands for and an alert rule: docs/observability.md.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from ..errors import ConfigError, ErpBridgeError
from ..ledger import Direction, EventKey, Ledger, State
from ..ledger.states import FINAL_STATES
from .signals import SIGNALS, Signals

log = logging.getLogger(__name__)

#: The steps whose latency is the "outbound write latency": ``deliver`` (canonical documents
#: written to the ERP or WMS connector) and ``put`` (X12 written to the partner's folder).
WRITE_STEPS: Final = ("deliver", "put")

#: Histogram buckets of the write latency, in seconds (the ledger records milliseconds).
LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)

_DEAD_LETTER_STATES: Final = (State.QUARANTINED, State.DEAD_LETTERED)
_OPEN_STATES: Final = tuple(sorted((s for s in State if s not in FINAL_STATES), key=lambda s: s.value))
# outcomes: the states a document enters that say how it ended, or how far it got
_OUTCOMES: Final = frozenset(
    {
        State.ARCHIVED,
        State.DROPPED,
        State.REJECTED,
        State.QUARANTINED,
        State.DEAD_LETTERED,
        State.ACK_OVERDUE,
    }
)
_OUTBOUND_OUTCOMES: Final = frozenset({State.SENT, State.ACKNOWLEDGED})
_PAGE: Final = 10_000
_RECENT: Final = 50_000  # the P95 gauge looks at most at this many latest writes per series


def outcome_of(key: EventKey) -> str | None:
    """The ``outcome`` label an event counts under in ``erpbridge_document_outcomes_total``, if any.

    The state the document entered, for ``archived`` (unless it comes from ``rejected``, counted
    when it was rejected), ``dropped``, ``rejected``, ``quarantined``, ``dead_lettered`` and
    ``ack_overdue``; outbound also ``sent`` (written to the partner) and ``acknowledged`` (their
    997 accepted it)."""
    to = key.to_state
    if to is None:
        return None
    if to is State.ARCHIVED and key.from_state is State.REJECTED:
        return None
    if to in _OUTCOMES or (key.direction is Direction.OUT and to in _OUTBOUND_OUTCOMES):
        return to.value
    return None


def p95(values: Sequence[float]) -> float:
    """The 95th percentile of ``values`` by the nearest-rank method (an observed value)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    count: int = 0
    total: float = 0.0
    recent: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=_RECENT))

    def observe(self, seconds: float, when: datetime, since: datetime) -> None:
        i = bisect.bisect_left(LATENCY_BUCKETS, seconds)  # le: a value equal to a bound is in it
        if i < len(self.buckets):
            self.buckets[i] += 1
        self.count += 1
        self.total += seconds
        if when >= since:
            self.recent.append((when, seconds))

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip(LATENCY_BUCKETS, self.buckets, strict=True):
            running += n
            out.append((_float(bound), running))
        out.append(("+Inf", self.count))
        return out


def _float(value: float) -> str:
    return repr(float(value))


def _connector(step: str, detail: Any) -> str:
    """Where a write step wrote: the connector the pipeline names in the event, or ``partner``
    for a ``put`` (the partner's X12 folder)."""
    if isinstance(detail, dict):
        for key in ("to", "target", "connector"):
            value = detail.get(key)
            if isinstance(value, str) and value:
                return value
    return "partner" if step == "put" else "unknown"


class LedgerCollector(Collector):
    """Reads the ledger and the in-process signals when Prometheus scrapes. Thread-safe.

    ``write_steps`` are the event steps whose latencies make the write-latency histogram, and
    ``latency_window`` how far back its P95 gauge looks. ``clock`` (aware UTC) is for tests."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        signals: Signals | None = None,
        write_steps: Iterable[str] = WRITE_STEPS,
        latency_window: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_latency_rows: int = 200_000,
    ) -> None:
        self.ledger = ledger
        self.signals = signals if signals is not None else SIGNALS
        self.write_steps = tuple(write_steps)
        self.latency_window = latency_window
        self.clock = clock
        self.max_latency_rows = max_latency_rows
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._after = 0  # the chain head counted up to
        self._latency_after = 0  # the last latency event read (lags behind on a huge first read)
        self._events: Counter[EventKey] = Counter()
        self._histograms: dict[tuple[str, str, str], _Histogram] = {}

    # -- reading the ledger ---------------------------------------------------------------------

    def _update(self) -> None:
        """Count what the log gained since the last scrape."""
        counted = self.ledger.event_counts(after=self._after)
        if counted.last_event_id < self._after:  # another database than before: count it afresh
            log.warning(
                "the ledger's event log is shorter than at the last scrape (%d < %d): counting it again",
                counted.last_event_id,
                self._after,
            )
            self._reset()
            counted = self.ledger.event_counts(after=0)
        self._events.update(counted.counts)
        self._after = counted.last_event_id
        since = self.clock() - self.latency_window
        read = 0
        while self._latency_after < self._after and read < self.max_latency_rows:
            page = self.ledger.step_latencies(
                self.write_steps, after=self._latency_after, upto=self._after, limit=_PAGE
            )
            for x in page:
                key = (x.partner, x.step, _connector(x.step, x.detail))
                self._histograms.setdefault(key, _Histogram()).observe(
                    x.latency_ms / 1000, x.created_at, since
                )
            read += len(page)
            self._latency_after = page[-1].event_id if len(page) == _PAGE else self._after
        for h in self._histograms.values():
            while h.recent and h.recent[0][0] < since:
                h.recent.popleft()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            started = time.monotonic()
            counts: dict[tuple[str, Direction, State], int] | None
            try:
                self._update()
                counts = self.ledger.partner_counts(_OPEN_STATES)
                up = 1.0
            except ErpBridgeError as exc:
                log.warning("metrics: the ledger did not answer: %s", exc)
                counts, up = None, 0.0
            took = time.monotonic() - started
            yield from self._ledger_metrics(counts)
        yield GaugeMetricFamily(
            "erpbridge_ledger_up", "1 if the ledger answered this scrape's queries, else 0", value=up
        )
        yield GaugeMetricFamily(
            "erpbridge_ledger_scrape_duration_seconds",
            "How long this scrape's ledger queries took",
            value=took,
        )
        yield from self._signal_metrics()

    def _ledger_metrics(self, counts: dict[tuple[str, Direction, State], int] | None) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "erpbridge_documents_received",
            "Documents recorded in the ledger (inbound: received from a partner; outbound: picked up to send)",
            labels=["partner", "direction", "kind"],
        )
        outcomes = CounterMetricFamily(
            "erpbridge_document_outcomes",
            "Documents entering a state that says how they ended or how far they got",
            labels=["partner", "direction", "kind", "outcome"],
        )
        events = CounterMetricFamily(
            "erpbridge_ledger_events",
            "Events in the ledger's log on documents, by step and outcome",
            labels=["partner", "direction", "step", "outcome"],
        )
        by_received: Counter[tuple[str, str, str]] = Counter()
        by_outcome: Counter[tuple[str, str, str, str]] = Counter()
        by_event: Counter[tuple[str, str, str, str]] = Counter()
        for key, n in self._events.items():
            if key.from_state is None and key.to_state is not None:
                by_received[(key.partner, key.direction.value, key.kind)] += n
            outcome = outcome_of(key)
            if outcome is not None:
                by_outcome[(key.partner, key.direction.value, key.kind, outcome)] += n
            by_event[(key.partner, key.direction.value, key.step, key.outcome)] += n
        for labels, n in sorted(by_received.items()):
            received.add_metric(list(labels), n)
        for labels4, n in sorted(by_outcome.items()):
            outcomes.add_metric(list(labels4), n)
        for labels4, n in sorted(by_event.items()):
            events.add_metric(list(labels4), n)
        yield received
        yield outcomes
        yield events

        latency = HistogramMetricFamily(
            "erpbridge_write_latency_seconds",
            f"Latency of the write steps ({', '.join(self.write_steps)}) as the ledger's events record it",
            labels=["partner", "step", "connector"],
        )
        latency_p95 = GaugeMetricFamily(
            "erpbridge_write_latency_p95_seconds",
            f"95th percentile of the write latency over the last {int(self.latency_window.total_seconds())} s",
            labels=["partner", "step", "connector"],
        )
        for hkey, h in sorted(self._histograms.items()):
            latency.add_metric(list(hkey), h.cumulative(), h.total)
            if h.recent:
                latency_p95.add_metric(list(hkey), p95([s for _, s in h.recent]))
        yield latency
        yield latency_p95

        if counts is None:  # the ledger did not answer: no gauge rather than a stale one
            return
        documents = GaugeMetricFamily(
            "erpbridge_documents",
            "Documents per partner in each state that is not final (work in progress, waiting, needing a person)",
            labels=["partner", "direction", "state"],
        )
        dead = GaugeMetricFamily(
            "erpbridge_dead_letters",
            "Open dead letters: documents quarantined or dead-lettered, waiting for a person",
            labels=["partner", "direction", "state"],
        )
        dead_counts: dict[tuple[str, str, str], int] = {}
        for p, d in {(k.partner, k.direction) for k in self._events}:  # known partners show 0
            for st in _DEAD_LETTER_STATES:
                dead_counts[(p, d.value, st.value)] = 0
        for (p, d, st), n in sorted(counts.items()):
            documents.add_metric([p, d.value, st.value], n)
            if st in _DEAD_LETTER_STATES:
                dead_counts[(p, d.value, st.value)] = n
        for labels, n in sorted(dead_counts.items()):
            dead.add_metric(list(labels), n)
        yield documents
        yield dead

    def _signal_metrics(self) -> Iterator[Metric]:
        snap = self.signals.snapshot()
        failures = CounterMetricFamily(
            "erpbridge_signature_failures",
            "Inbound webhooks whose signature did not verify (dropped, never processed)",
            labels=["source"],
        )
        for source, n in sorted(snap.signature_failures.items()):
            failures.add_metric([source], n)
        requests = CounterMetricFamily(
            "erpbridge_webhook_requests",
            "Requests the webhook receiver answered, by outcome",
            labels=["source", "outcome"],
        )
        for pair, n in sorted(snap.webhook_requests.items()):
            requests.add_metric(list(pair), n)
        delta = GaugeMetricFamily(
            "erpbridge_reconciler_delta",
            "Records the reconciler's last run found on one side only (missed events it replays)",
            labels=["job", "partner"],
        )
        for pair, v in sorted(snap.reconciler_delta.items()):
            delta.add_metric(list(pair), v)
        headroom = GaugeMetricFamily(
            "erpbridge_rate_limit_headroom_ratio",
            "Share of a connector's rate-limit budget still available (0 to 1), from its last response",
            labels=["connector"],
        )
        for connector, v in sorted(snap.rate_limit_headroom.items()):
            headroom.add_metric([connector], v)
        drift = GaugeMetricFamily(
            "erpbridge_catalog_drift",
            "SKUs whose weight, dimensions or HS code differ between a connector and the item master",
            labels=["connector"],
        )
        for connector, v in sorted(snap.catalog_drift.items()):
            drift.add_metric([connector], v)
        yield from (failures, requests, delta, headroom, drift)


def build_registry(collector: Collector, *, process_metrics: bool = True) -> CollectorRegistry:
    """A registry of its own (never prometheus_client's global one) with ``collector`` and, with
    ``process_metrics``, the process's CPU, memory, file descriptors, GC and Python version."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    if process_metrics:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: MetricsServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            try:
                body = encoder(owner.registry)
            except Exception as exc:  # a collector's bug: answer 500, keep serving
                log.exception("metrics: cannot render the metrics")
                self._send(
                    HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot render the metrics: {type(exc).__name__}\n"
                )
                return
            self._send(HTTPStatus.OK, body, content_type)
        elif path == "/healthz":
            self._send(HTTPStatus.OK, "ok\n")
        elif path == "/readyz":
            problems = owner.readiness()
            if problems:
                self._send(
                    HTTPStatus.SERVICE_UNAVAILABLE, "not ready\n" + "".join(f"{p}\n" for p in problems)
                )
            else:
                self._send(HTTPStatus.OK, "ready\n")
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n")

    def _send(
        self, status: HTTPStatus, body: bytes | str, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics endpoint: %s %s", self.address_string(), format % args)


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (port 0: a free port), served by
    a thread per request from one background thread. See the module's documentation.

    ``scheduler_running`` (optional) is asked by ``/readyz``: the process is ready only if it
    returns true. ``signals``, ``write_steps`` and ``latency_window`` go to the
    :class:`LedgerCollector`; ``process_metrics`` adds the ``process_*`` and ``python_*`` series."""

    def __init__(
        self,
        host: str,
        port: int,
        ledger: Ledger,
        *,
        scheduler_running: Callable[[], bool] | None = None,
        signals: Signals | None = None,
        write_steps: Iterable[str] = WRITE_STEPS,
        latency_window: timedelta = timedelta(hours=1),
        process_metrics: bool = True,
    ) -> None:
        self.host, self._port = host, port
        self.ledger = ledger
        self.scheduler_running = scheduler_running
        self.collector = LedgerCollector(
            ledger, signals=signals, write_steps=write_steps, latency_window=latency_window
        )
        self.registry = build_registry(self.collector, process_metrics=process_metrics)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose, for port 0, once started)."""
        return self._server.server_address[1] if self._server is not None else self._port

    @property
    def url(self) -> str:
        """``http://host:port`` (once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def readiness(self) -> list[str]:
        """Why the process is not ready (empty: ready): the ledger must answer a query, and
        ``scheduler_running()``, if given, must return true."""
        problems: list[str] = []
        try:
            self.ledger.last_event_id()
        except ErpBridgeError as exc:
            problems.append(f"ledger: {exc}")
        if self.scheduler_running is not None:
            try:
                running = bool(self.scheduler_running())
            except Exception as exc:  # the check itself failed: not ready, and say why  # noqa: BLE001
                problems.append(f"scheduler: the check failed: {type(exc).__name__}: {exc}")
            else:
                if not running:
                    problems.append("scheduler: not running")
        return problems

    def start(self) -> None:
        """Listen and serve in a background thread; :class:`ConfigError` if the address cannot be
        bound (in use, not an address of this machine)."""
        if self._server is not None:
            return
        try:
            server = _Server((self.host, self._port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"the metrics endpoint cannot listen on {self.host}:{self._port}: {exc.strerror or exc}"
            ) from exc
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="erpbridge-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics endpoint listening on %s/metrics", self.url)

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = [
    "LATENCY_BUCKETS",
    "WRITE_STEPS",
    "LedgerCollector",
    "MetricsServer",
    "build_registry",
    "outcome_of",
    "p95",
]
