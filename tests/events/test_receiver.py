"""The event receiver, over real HTTP on 127.0.0.1, recording into a real SQLite ledger."""

from __future__ import annotations

import hmac
import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from erpbridge.errors import RemoteRejectedError
from erpbridge.events import EventReceiver, EventSource, ReceivedEvent, SigningSecret, sign
from erpbridge.events.receiver import parse_not_after, verify_signature
from erpbridge.ledger import Ledger, State
from erpbridge.transports.base import Credential

CURRENT = "shpss_current_5b2e9f"
PREVIOUS = "shpss_previous_77ad01"
BODY = json.dumps(
    {"id": 820982911946154508, "note": "customer cancelled", "card": "4111-SECRET-BODY"}
).encode()


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", parts.path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        conn.close()


def shopify_headers(
    body: bytes, secret: str = CURRENT, event_id: str = "b54557e4", topic: str = "orders/cancelled"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": sign(secret, body, "shopify"),
        "X-Shopify-Webhook-Id": event_id,
        "X-Shopify-Topic": topic,
    }


class Calls:
    """A handler that records what it is given."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.events: list[ReceivedEvent] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, event: ReceivedEvent) -> None:
        with self.lock:
            self.events.append(event)
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_SECRET", CURRENT)
    monkeypatch.setenv("SHOPIFY_SECRET_OLD", PREVIOUS)


def shopify(previous_until: datetime | None = None, **kwargs: Any) -> EventSource:
    secrets = [SigningSecret(Credential.from_env("SHOPIFY_SECRET"))]
    if previous_until is not None:
        secrets.append(SigningSecret(Credential.from_env("SHOPIFY_SECRET_OLD"), previous_until))
    return EventSource("shopify", "shopify", secrets, **kwargs)


@pytest.fixture
def make_receiver(ledger: Ledger, secrets_env: None) -> Iterator[Callable[..., tuple[EventReceiver, Calls]]]:
    started: list[EventReceiver] = []

    def make(
        *sources: EventSource, handler: Calls | None = None, **kwargs: Any
    ) -> tuple[EventReceiver, Calls]:
        calls = handler or Calls()
        receiver = EventReceiver(kwargs.pop("ledger", ledger), list(sources) or [shopify()], calls, **kwargs)
        receiver.start()
        started.append(receiver)
        return receiver, calls

    yield make
    for receiver in started:
        receiver.stop()


def test_a_good_shopify_signature_is_recorded_once_and_handed_on(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], ledger: Ledger
) -> None:
    outcomes: list[tuple[str, str]] = []
    receiver, calls = make_receiver(on_request=lambda source, outcome: outcomes.append((source, outcome)))
    status, reply = post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    assert status == 200 and reply["status"] == "accepted"
    assert [(e.source, e.topic, e.event_id, e.payload) for e in calls.events] == [
        ("shopify", "orders/cancelled", "b54557e4", BODY)
    ]
    doc = ledger.get(reply["document"])
    assert (doc.partner, doc.kind, doc.business_key, doc.state) == (
        "shopify",
        "event/orders/cancelled",
        "b54557e4",
        State.ARCHIVED,
    )
    events = ledger.events(doc.id)
    assert [(e.step, e.to_state) for e in events] == [
        ("receive", State.RECEIVED),
        ("verify", State.VALIDATED),
        ("handle", State.ARCHIVED),
    ]
    assert events[0].credential == "env:SHOPIFY_SECRET"  # which secret verified; never its value
    assert ledger.payload(doc.payload_sha256 or "") == BODY

    # the same event again (a redelivery) is answered 200 and goes no further
    status, reply = post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    assert (status, reply["status"]) == (200, "duplicate") and len(calls.events) == 1
    assert outcomes == [("shopify", "accepted"), ("shopify", "duplicate")]


def test_generic_scheme_with_the_event_id_and_topic_in_the_body(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WMS_HOOK_SECRET", "wms-hook-secret")
    source = EventSource(
        "wms",
        "generic",
        [SigningSecret(Credential.from_env("WMS_HOOK_SECRET"))],
        event_id_field="event.id",
        topic_field="event.type",
    )
    receiver, calls = make_receiver(source)
    body = json.dumps({"event": {"id": "evt-1", "type": "inventory.adjusted"}}).encode()
    status, _ = post(receiver.url("wms"), body, {"X-Signature": sign("wms-hook-secret", body)})
    assert status == 200
    assert [(e.event_id, e.topic) for e in calls.events] == [("evt-1", "inventory.adjusted")]
    # a different event ID with a new body is a new event; the same ID with another body is not
    other = json.dumps({"event": {"id": "evt-1", "type": "inventory.adjusted"}, "retry": 1}).encode()
    status, reply = post(receiver.url("wms"), other, {"X-Signature": sign("wms-hook-secret", other)})
    assert (status, reply["status"]) == (200, "duplicate")
    no_id = json.dumps({"event": {"type": "inventory.adjusted"}}).encode()
    status, reply = post(receiver.url("wms"), no_id, {"X-Signature": sign("wms-hook-secret", no_id)})
    assert status == 400 and "event ID" in reply["error"]
    assert len(calls.events) == 1 and len(ledger.find(partner="wms")) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no signature (header X-Shopify-Hmac-Sha256 missing)"),
        ({"X-Shopify-Hmac-Sha256": "not base64!"}, "malformed signature"),
        (
            {"X-Shopify-Hmac-Sha256": sign("guessed", BODY, "shopify")},
            "does not match any active signing secret",
        ),
        ({"X-Shopify-Hmac-Sha256": sign(CURRENT, BODY + b" ", "shopify")}, "does not match"),  # body changed
    ],
    ids=["missing", "malformed", "wrong-secret", "tampered-body"],
)
def test_a_bad_or_missing_signature_is_dropped_counted_and_logged_without_secrets(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]],
    ledger: Ledger,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    reason: str,
) -> None:
    failures: list[str] = []
    outcomes: list[str] = []
    receiver, calls = make_receiver(
        on_signature_failure=failures.append, on_request=lambda source, outcome: outcomes.append(outcome)
    )
    caplog.set_level(logging.DEBUG)
    sent = {"X-Shopify-Webhook-Id": "b54557e4", "X-Shopify-Topic": "orders/cancelled", **headers}
    status, reply = post(receiver.url("shopify"), BODY, sent)
    assert status == 401 and reply == {"error": "signature verification failed"}
    assert failures == ["shopify"] and outcomes == ["bad_signature"]
    assert calls.events == [] and ledger.find(partner="shopify") == []
    refused = [r for r in caplog.records if r.levelno == logging.WARNING and "dropped" in r.getMessage()]
    assert len(refused) == 1
    line = refused[0].getMessage()
    assert "shopify" in line and "127.0.0.1" in line and reason in line
    assert (refused[0].event_source, refused[0].remote_addr) == ("shopify", "127.0.0.1")  # type: ignore[attr-defined]
    for secret in (CURRENT, PREVIOUS, "4111-SECRET-BODY", "customer cancelled"):
        assert secret not in caplog.text


def test_rotation_current_and_previous_both_verify_until_the_previous_one_expires(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], caplog: pytest.LogCaptureFixture
) -> None:
    clock = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    failures: list[str] = []
    until = parse_not_after("2026-12-01")
    receiver, calls = make_receiver(
        shopify(until), on_signature_failure=failures.append, clock=lambda: clock[0]
    )
    for n, secret in enumerate((CURRENT, PREVIOUS)):
        body = BODY + str(n).encode()
        status, _ = post(receiver.url("shopify"), body, shopify_headers(body, secret, f"rot-{n}"))
        assert status == 200, secret
    assert [e.event_id for e in calls.events] == ["rot-0", "rot-1"]

    clock[0] = until  # the previous secret's not-after has come: it no longer verifies
    body = BODY + b"late"
    status, _ = post(receiver.url("shopify"), body, shopify_headers(body, PREVIOUS, "rot-late"))
    assert status == 401 and failures == ["shopify"]
    assert (
        "signed with retired secret env:SHOPIFY_SECRET_OLD (not after 2026-12-01T00:00:00+00:00)"
        in caplog.text
    )
    status, _ = post(receiver.url("shopify"), body, shopify_headers(body, CURRENT, "rot-late"))
    assert status == 200 and len(calls.events) == 3
    assert PREVIOUS not in caplog.text and CURRENT not in caplog.text


def test_a_secret_file_rotated_in_place_is_used_without_a_restart(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], tmp_path: Path
) -> None:
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text("first-secret\n")
    source = EventSource("store", "generic", [SigningSecret(Credential.from_file(secret_file))])
    receiver, calls = make_receiver(source)
    headers = {"X-Event-Id": "a"}
    assert (
        post(receiver.url("store"), b"{}", headers | {"X-Signature": sign("first-secret", b"{}")})[0] == 200
    )
    secret_file.write_text("second-secret\n")
    body = b'{"n": 2}'
    assert (
        post(receiver.url("store"), body, {"X-Event-Id": "b", "X-Signature": sign("first-secret", body)})[0]
        == 401
    )
    assert (
        post(receiver.url("store"), body, {"X-Event-Id": "b", "X-Signature": sign("second-secret", body)})[0]
        == 200
    )
    assert [e.event_id for e in calls.events] == ["a", "b"]


def test_signatures_are_compared_with_hmac_compare_digest_for_every_secret(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hmac.compare_digest
    compared: list[tuple[int, int]] = []

    def recording(a: Any, b: Any) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    receiver, calls = make_receiver(shopify(datetime.now(UTC) + timedelta(days=1)))
    status, _ = post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    assert status == 200 and len(calls.events) == 1
    # both secrets compared (no early exit on the first match), raw 32-byte digests
    assert compared == [(32, 32), (32, 32)]
    compared.clear()
    assert post(receiver.url("shopify"), BODY, shopify_headers(BODY, "nope", "x2"))[0] == 401
    assert compared == [(32, 32), (32, 32)]


def test_an_oversized_body_is_refused_before_it_is_read_or_hashed(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    big = b"x" * 1001
    headers = shopify_headers(big)  # signed before hmac.new is watched
    hashed: list[int] = []
    real_new = hmac.new

    def recording_new(*args: Any, **kwargs: Any) -> Any:
        hashed.append(1)
        return real_new(*args, **kwargs)

    monkeypatch.setattr(hmac, "new", recording_new)
    seen: list[tuple[str, str]] = []
    receiver, calls = make_receiver(
        shopify(max_body=1000), on_request=lambda s, outcome: seen.append((s, outcome))
    )
    status, reply = post(receiver.url("shopify"), big, headers)
    assert status == 413 and "1000" in reply["error"]

    # a client announcing 100 MB gets its 413 at once: the server never waits for the body
    host, port = receiver.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/events/shopify")
    conn.putheader("Content-Length", str(100_000_000))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    conn.close()

    assert hashed == [] and calls.events == [] and ledger.find(partner="shopify") == []
    assert seen == [("shopify", "refused"), ("shopify", "refused")]


def test_requests_that_are_not_for_a_source_or_not_posts(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]],
) -> None:
    receiver, calls = make_receiver()
    host, port = receiver.address
    assert post(f"http://{host}:{port}/events/nobody", BODY, shopify_headers(BODY))[0] == 404
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/events/shopify")
    response = conn.getresponse()
    assert (response.status, response.getheader("Allow")) == (405, "POST")
    conn.close()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/events/shopify")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    assert calls.events == []


def test_an_unreadable_secret_answers_503_so_the_sender_delivers_again(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[str] = []
    receiver, calls = make_receiver(on_signature_failure=failures.append)
    monkeypatch.delenv("SHOPIFY_SECRET")
    status, _ = post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    assert status == 503 and failures == [] and calls.events == []
    monkeypatch.setenv("SHOPIFY_SECRET", CURRENT)
    assert post(receiver.url("shopify"), BODY, shopify_headers(BODY))[0] == 200
    assert len(calls.events) == 1


def test_duplicate_event_ids_are_handled_once_across_two_receivers_on_one_sqlite_ledger(
    ledger_path: Path, secrets_env: None
) -> None:
    handled: dict[str, int] = {}
    lock = threading.Lock()

    def handler(event: ReceivedEvent) -> None:
        with lock:
            handled[event.event_id] = handled.get(event.event_id, 0) + 1

    ledgers = [Ledger.open(ledger_path), Ledger.open(ledger_path)]  # as two processes would
    receivers = [EventReceiver(one, [shopify()], handler) for one in ledgers]
    for receiver in receivers:
        receiver.start()
    try:
        events = [f"evt-{n}" for n in range(12)]
        jobs = [
            (receiver, event, json.dumps({"id": event, "copy": copy}).encode())
            for event in events
            for receiver in receivers
            for copy in range(2)  # each event delivered twice to each receiver, with differing bodies
        ]
        barrier = threading.Barrier(len(jobs))
        statuses: list[int] = []

        def send(receiver: EventReceiver, event: str, body: bytes) -> None:
            barrier.wait()
            status, _ = post(receiver.url("shopify"), body, shopify_headers(body, event_id=event))
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=send, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for receiver in receivers:
            receiver.stop()
    try:
        assert statuses == [200] * len(jobs)
        assert handled == dict.fromkeys(events, 1)
        docs = ledgers[0].find(partner="shopify", limit=1000)
        assert sorted(d.business_key or "" for d in docs) == sorted(events)
        assert {d.state for d in docs} == {State.ARCHIVED}
    finally:
        for one in ledgers:
            one.close()


def test_a_failing_handler_quarantines_the_event_and_it_can_be_retried(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]], ledger: Ledger
) -> None:
    calls = Calls(fail=RemoteRejectedError("the ERP refused the cancellation", status=400))
    receiver, _ = make_receiver(handler=calls)
    status, reply = post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    assert (status, reply["status"]) == (200, "accepted")  # recorded: the sender must not resend
    doc = ledger.get(reply["document"])
    assert doc.state is State.QUARANTINED and "the ERP refused the cancellation" in (doc.last_error or "")
    assert [d.document_id for d in ledger.dead_letters()] == [doc.id]

    # a redelivery does not run the handler again; an operator's retry does (through process_pending)
    assert post(receiver.url("shopify"), BODY, shopify_headers(BODY))[1]["status"] == "duplicate"
    assert receiver.process_pending() == 0
    calls.fail = None
    ledger.retry_dead_letter(doc.id)
    assert receiver.process_pending() == 1
    assert ledger.get(doc.id).state is State.ARCHIVED
    assert [e.event_id for e in calls.events] == ["b54557e4", "b54557e4"]
    assert receiver.process_pending() == 0


def test_a_crash_between_recording_and_handling_is_picked_up_by_process_pending(
    ledger_path: Path, secrets_env: None
) -> None:
    from datetime import timedelta as td

    with Ledger.open(ledger_path, lease=td(seconds=1)) as short:
        # what a receiver that died right after recording leaves: a received event, claimed
        doc, _ = short.record_inbound(
            "shopify", "event/orders/create", BODY, business_key="e-9", worker="gone:1/events-1#1"
        )
        calls = Calls()
        receiver = EventReceiver(short, [shopify()], calls)
        assert receiver.process_pending() == 0  # the dead worker's claim is still live
    with Ledger.open(ledger_path, clock=lambda: datetime.now(UTC) + td(seconds=5)) as later:
        receiver = EventReceiver(later, [shopify()], calls)
        assert receiver.process_pending() == 1
        assert [(e.event_id, e.topic, e.payload) for e in calls.events] == [("e-9", "orders/create", BODY)]
        assert later.get(doc.id).state is State.ARCHIVED


def test_verify_signature_is_pure_and_names_what_it_found() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    source = EventSource(
        "s",
        "generic",
        [
            SigningSecret(Credential("new", "k-new")),
            SigningSecret(Credential("old", "k-old"), now - timedelta(seconds=1)),
        ],
    )
    assert verify_signature(source, sign("k-new", b"x"), b"x", now).credential == "new"
    assert verify_signature(source, sign("k-new", b"x").upper().replace("SHA256=", "sha256="), b"x", now).ok
    old = verify_signature(source, sign("k-old", b"x"), b"x", now)
    assert not old.ok and "retired secret old" in old.reason
    assert not verify_signature(source, "sha256=" + "00" * 31, b"x", now).ok  # too short: malformed
    assert not verify_signature(source, "md5=abc", b"x", now).ok


def test_the_hooks_feed_the_observability_signals(
    make_receiver: Callable[..., tuple[EventReceiver, Calls]],
) -> None:
    from erpbridge.observability.signals import Signals

    signals = Signals()
    receiver, _ = make_receiver(
        on_signature_failure=signals.signature_failure, on_request=signals.webhook_request
    )
    post(receiver.url("shopify"), BODY, shopify_headers(BODY))
    post(receiver.url("shopify"), BODY, shopify_headers(BODY, "forged"))
    post(receiver.url("shopify"), BODY, {})
    snap = signals.snapshot()
    assert dict(snap.signature_failures) == {"shopify": 2}
    assert dict(snap.webhook_requests) == {("shopify", "accepted"): 1, ("shopify", "bad_signature"): 2}
