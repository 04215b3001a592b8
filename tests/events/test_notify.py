"""Notifications: a real HTTP server and a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from erpbridge.errors import (
    AuthenticationError,
    ConfigError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransportError,
)
from erpbridge.events import (
    EmailNotifier,
    EventReceiver,
    EventSource,
    Kind,
    Notification,
    Notifications,
    ReceivedEvent,
    SigningSecret,
    WebhookNotifier,
    verify_signature,
)
from erpbridge.ledger import Document, Ledger, RetryPolicy, State
from erpbridge.transports.base import Credential
from tests.events.conftest import SMTP_PASSWORD, SMTP_USER, Hook, Mailbox, TlsFiles

HOOK_SECRET = "hook-signing-secret-19e"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """A notifier that keeps what it is sent (or fails the way it is told to)."""

    def __init__(self, name: str = "recorder", fail: Exception | None = None) -> None:
        self.name = name
        self.sent: list[Notification] = []
        self.fail = fail

    def send(self, notification: Notification) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(notification)


@pytest.fixture
def quarantined(ledger: Ledger) -> Document:
    doc, _ = ledger.record_inbound(
        "MEGAMART", "x12/850", b"ISA*...~", file_name="inbound/po-4500012345.edi", business_key="4500012345"
    )
    error = RemoteRejectedError(
        "SAP refused the sales order: material 4711 unknown", status=400, po="4500012345"
    )
    return ledger.fail(doc.id, error, step="deliver")


def notification(doc: Document) -> Notification:
    return Notification.for_document(Kind.QUARANTINED, doc, ledger_event=7)


def read_mail(box: Mailbox, n: int = 0) -> EmailMessage:
    message = email.message_from_bytes(box.messages[n].content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# -- webhook ------------------------------------------------------------------------------------


def test_the_webhook_posts_signed_json_to_a_real_server(hook: Hook, quarantined: Document) -> None:
    note = notification(quarantined)
    WebhookNotifier(hook.url, secret=Credential("env:HOOK", HOOK_SECRET)).send(note)
    [(headers, body)] = hook.requests
    data = json.loads(body)
    assert data["type"] == "erpbridge.notification" and data["id"] == note.id
    assert (data["kind"], data["partner"]) == ("quarantined", "MEGAMART")
    assert data["document"] == {"id": quarantined.id, "kind": "x12/850", "file": "inbound/po-4500012345.edi"}
    assert "material 4711 unknown" in data["reason"]
    assert data["command"] == f"erpbridge ledger show {quarantined.id}"
    assert f"\n    erpbridge dlq retry {quarantined.id}\n" in data["advice"]
    assert data["details"]["business key"] == "4500012345" and data["ledger_event"] == 7
    assert headers["X-Event-Id"] == note.id and headers["X-Event-Topic"] == "erpbridge/quarantined"
    # the signature is the receiver's generic scheme: erpbridge's own check accepts it
    source = EventSource("erpbridge", "generic", [SigningSecret(Credential("s", HOOK_SECRET))])
    assert verify_signature(source, headers["X-Signature"], body, datetime.now(UTC)).ok
    assert not verify_signature(source, headers["X-Signature"], body + b" ", datetime.now(UTC)).ok


def test_webhook_notifications_reach_an_erpbridge_event_receiver(
    hook: Hook, quarantined: Document, ledger: Ledger, tmp_path: Path
) -> None:
    got: list[ReceivedEvent] = []
    source = EventSource("ops", "generic", [SigningSecret(Credential("env:OPS", HOOK_SECRET))])
    with (
        Ledger.open(tmp_path / "other.db") as theirs,
        EventReceiver(theirs, [source], got.append) as receiver,
    ):
        notifier = WebhookNotifier(receiver.url("ops"), secret=Credential("env:HOOK", HOOK_SECRET))
        notifier.send(notification(quarantined))
        notifier.send(notification(quarantined))  # a retry of the same notification: one event
    assert [(e.topic, e.json()["document"]["id"]) for e in got] == [("erpbridge/quarantined", quarantined.id)]


@pytest.mark.parametrize(
    ("status", "headers", "error", "transient"),
    [
        (503, {"Retry-After": "7"}, RemoteUnavailableError, True),
        (429, {}, RemoteUnavailableError, True),
        (400, {}, RemoteRejectedError, False),
        (401, {}, AuthenticationError, False),
        (302, {"Location": "http://127.0.0.1:1/elsewhere"}, RemoteRejectedError, False),
    ],
)
def test_webhook_answers_are_classified_transient_or_terminal(
    hook: Hook, quarantined: Document, status: int, headers: dict[str, str], error: type, transient: bool
) -> None:
    hook.replies.append((status, headers))
    with pytest.raises(error) as caught:
        WebhookNotifier(hook.url).send(notification(quarantined))
    assert caught.value.transient is transient
    assert caught.value.context["url"].startswith("http://127.0.0.1:")
    assert "secret-path" not in str(caught.value)  # the URL's path may be a token: never shown
    if status == 503:
        assert caught.value.retry_after == 7.0
    if status == 302:
        assert "redirect" in str(caught.value) and len(hook.requests) == 1


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def test_webhook_timeouts_and_refused_connections_are_transient(
    quarantined: Document, silent_port: int
) -> None:
    with pytest.raises(TransportError) as caught:
        WebhookNotifier(f"http://127.0.0.1:{silent_port}/x", timeout=0.3).send(notification(quarantined))
    assert caught.value.transient
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = Credential("env:HOOK_URL", f"http://127.0.0.1:{closed}/services/T0/B0/tok3n")
    with pytest.raises(TransportError) as caught:
        WebhookNotifier(url).send(notification(quarantined))
    assert "tok3n" not in str(caught.value)
    with pytest.raises(ConfigError):
        WebhookNotifier("file:///etc/passwd")


# -- email ----------------------------------------------------------------------------------------


def test_the_email_tells_a_person_what_happened_and_what_to_run(smtp: Mailbox, quarantined: Document) -> None:
    notifier = EmailNotifier(
        smtp.relay,
        sender="erpbridge@example.com",
        recipients=["edi-team@example.com", "oncall@example.com"],
        tls="none",
    )
    notifier.send(notification(quarantined))
    [envelope] = smtp.messages
    assert envelope.mail_from == "erpbridge@example.com"
    assert envelope.rcpt_tos == ["edi-team@example.com", "oncall@example.com"]
    mail = read_mail(smtp)
    assert mail["Subject"] == ("[erpbridge] quarantined: MEGAMART inbound x12/850 inbound/po-4500012345.edi")
    assert mail["To"] == "edi-team@example.com, oncall@example.com"
    body = mail.get_content().replace("\r\n", "\n")
    for expected in (
        "What:         quarantined document",
        "Partner:      MEGAMART",
        f"Document:     {quarantined.id}",
        "File:         inbound/po-4500012345.edi",
        "Business key: 4500012345",
        "Reason:       RemoteRejectedError: SAP refused the sales order: material 4711 unknown",
        f"Run:\n    erpbridge ledger show {quarantined.id}\n",
        f"then send it through again:\n    erpbridge dlq retry {quarantined.id}\nor give it up:\n",
    ):
        assert expected in body, expected


def test_email_over_starttls_with_a_login_from_a_secret(
    smtp_tls: Mailbox, tls_files: TlsFiles, quarantined: Document, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = EmailNotifier(
        smtp_tls.relay,
        sender="erpbridge@example.com",
        recipients=["oncall@example.com"],
        username=SMTP_USER,
        password=Credential("env:SMTP_PASSWORD", SMTP_PASSWORD),
        ca_file=str(tls_files.cert),
    )
    notifier.send(notification(quarantined))
    assert smtp_tls.logins == [SMTP_USER] and len(smtp_tls.messages) == 1
    assert "MEGAMART" in read_mail(smtp_tls)["Subject"]

    wrong = EmailNotifier(
        smtp_tls.relay,
        sender="erpbridge@example.com",
        recipients=["oncall@example.com"],
        username=SMTP_USER,
        password=Credential("env:SMTP_PASSWORD", "not-the-password"),
        ca_file=str(tls_files.cert),
    )
    with pytest.raises(AuthenticationError) as refused:
        wrong.send(notification(quarantined))
    assert not refused.value.transient and "not-the-password" not in str(refused.value)

    untrusted = EmailNotifier(
        smtp_tls.relay, sender="erpbridge@example.com", recipients=["oncall@example.com"]
    )
    with pytest.raises(AuthenticationError, match="certificate does not verify"):
        untrusted.send(notification(quarantined))
    assert len(smtp_tls.messages) == 1
    assert SMTP_PASSWORD not in caplog.text


def test_email_refuses_to_go_out_in_the_clear_when_starttls_is_asked(
    smtp: Mailbox, quarantined: Document
) -> None:
    notifier = EmailNotifier(smtp.relay, sender="erpbridge@example.com", recipients=["ops@example.com"])
    with pytest.raises(RemoteRejectedError, match="STARTTLS"):
        notifier.send(notification(quarantined))
    assert smtp.messages == []
    with pytest.raises(ConfigError, match="never sent over an unencrypted connection"):
        EmailNotifier(
            smtp.relay,
            sender="erpbridge@example.com",
            recipients=["ops@example.com"],
            tls="none",
            username="u",
            password=Credential("env:P", "p"),
        )
    with pytest.raises(ConfigError):
        EmailNotifier(smtp.relay, sender="erpbridge@example.com", recipients=["a@b\r\nBcc: x@y"], tls="none")


# -- fan-out, de-duplication window, retries ----------------------------------------------------


def quarantine_of(partner: str, n: int, at: datetime) -> Notification:
    return Notification(
        kind=Kind.QUARANTINED,
        partner=partner,
        title=f"quarantined: {partner} x12/850 po-{n}.edi",
        reason=f"DocumentRejectedError: bad PO {n}",
        command=f"erpbridge ledger show doc-{n}",
        document_id=f"doc-{n}",
        document_kind="x12/850",
        file_name=f"po-{n}.edi",
        occurred_at=at,
    )


def test_one_stuck_partner_sends_one_mail_per_window_not_500(smtp: Mailbox) -> None:
    clock = Clock()
    mail = EmailNotifier(
        smtp.relay, sender="erpbridge@example.com", recipients=["ops@example.com"], tls="none"
    )
    center = Notifications([mail], window=timedelta(minutes=15), clock=clock)
    for n in range(500):
        assert center.notify(quarantine_of("MEGAMART", n, clock.now)) == []
        clock.now += timedelta(seconds=1)  # 500 quarantines in 8 minutes
    assert center.notify(quarantine_of("ACME", 1, clock.now)) == []  # another partner is not held back
    assert [read_mail(smtp, i)["Subject"] for i in range(len(smtp.messages))] == [
        "[erpbridge] quarantined: MEGAMART x12/850 po-0.edi",
        "[erpbridge] quarantined: ACME x12/850 po-1.edi",
    ]
    assert center.pending() == 499

    clock.now = T0 + timedelta(minutes=14, seconds=59)
    assert center.flush() == [] and len(smtp.messages) == 2  # the window is not over yet
    clock.now = T0 + timedelta(minutes=15)
    assert center.flush() == []
    assert len(smtp.messages) == 3
    summary = read_mail(smtp, 2)
    assert summary["Subject"] == "[erpbridge] 499 more quarantined documents for MEGAMART since 09:30 UTC"
    body = summary.get_content().replace("\r\n", "\n")
    assert "What:         499 quarantined documents" in body
    assert (
        "The first 10 (and 489 more):" in body and "doc-1  po-1.edi" in body and "doc-10  po-10.edi" in body
    )
    assert "Run:\n    erpbridge dlq list --partner MEGAMART\n" in body

    # the summary opened a new window: one more quarantine within it is held, then summarised
    clock.now += timedelta(minutes=1)
    center.notify(quarantine_of("MEGAMART", 500, clock.now))
    assert len(smtp.messages) == 3
    clock.now += timedelta(minutes=15)
    center.flush()
    assert read_mail(smtp, 3)["Subject"].startswith("[erpbridge] 1 more quarantined document for MEGAMART")
    # a quiet window closes: the next one goes out at once
    clock.now += timedelta(minutes=15)
    center.flush()
    center.notify(quarantine_of("MEGAMART", 501, clock.now))
    assert read_mail(smtp, 4)["Subject"] == "[erpbridge] quarantined: MEGAMART x12/850 po-501.edi"
    assert len(smtp.messages) == 5


def test_a_failing_notifier_never_raises_and_its_failures_are_retried_after_backoff(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    broken = Recorder("broken", fail=RuntimeError("bug in a notifier"))
    refused = Recorder("refused", fail=RemoteRejectedError("webhook says no", status=400))
    hook.replies.append((503, {"Retry-After": "120"}))
    webhook = WebhookNotifier(hook.url, clock=clock)
    good = Recorder("good")
    policy = RetryPolicy(max_attempts=3, initial_delay=60, jitter=0.0)
    center = Notifications([broken, refused, webhook, good], retry_policy=policy, clock=clock)
    note = quarantine_of("MEGAMART", 1, clock.now)

    failures = center.notify(note)  # does not raise
    assert good.sent == [note]
    by_name = {f.notifier: f for f in failures}
    assert set(by_name) == {"broken", "refused", "webhook"}
    assert by_name["refused"].retry_at is None and not by_name["refused"].transient
    assert (
        by_name["broken"].retry_at == T0 + timedelta(seconds=60)
        and "bug in a notifier" in by_name["broken"].error
    )
    assert by_name["webhook"].retry_at == T0 + timedelta(seconds=120)  # its Retry-After beats 60 s
    assert "given up by refused" in caplog.text and "again at" in caplog.text

    clock.now = T0 + timedelta(seconds=119)
    failures = center.flush()  # only the broken one is due: it fails again (attempt 2)
    assert [(f.notifier, f.retry_at) for f in failures] == [("broken", clock.now + timedelta(seconds=120))]
    clock.now = T0 + timedelta(seconds=120)
    assert center.flush() == []  # the webhook answers 200 now; retried to it alone
    assert [json.loads(b)["id"] for _, b in hook.requests] == [note.id, note.id] and len(good.sent) == 1
    clock.now += timedelta(hours=1)
    failures = center.flush()
    assert [(f.notifier, f.retry_at) for f in failures] == [("broken", None)]  # third attempt: given up
    assert center.pending() == 0


def test_the_windows_and_retries_carry_over_to_another_process() -> None:
    clock = Clock()
    first = Notifications([Recorder("a", fail=TransportError("down"))], clock=clock)
    first.notify(quarantine_of("MEGAMART", 1, clock.now))
    first.notify(quarantine_of("MEGAMART", 2, clock.now))
    state = json.loads(json.dumps(first.state()))  # it goes through the ledger as JSON

    a = Recorder("a")
    second = Notifications([a], clock=clock)
    second.restore(state)
    assert second.restored and second.pending() == 2
    clock.now += timedelta(minutes=15)
    assert second.flush() == []
    assert [(n.title, n.document_id) for n in a.sent] == [
        ("1 more quarantined document for MEGAMART since 09:30 UTC", None),  # the window's summary
        ("quarantined: MEGAMART x12/850 po-1.edi", "doc-1"),  # the retry
    ]
    assert a.sent[0].examples[0].document_id == "doc-2"
    broken = Notifications([Recorder("a")])
    broken.restore({"windows": [{"kind": "nonsense"}]})  # unreadable state: logged, fresh start
    assert broken.pending() == 0


def test_reconciliation_deltas_name_the_check_and_the_remedy(smtp: Mailbox) -> None:
    note = Notification.reconciliation_delta(
        partner="BLUERIVER-3PL",
        check="inventory",
        delta=73,
        threshold=50,
        command="erpbridge reconcile inventory --partner BLUERIVER-3PL",
        details={"report": "var/reports/inventory-2026-03-02.html"},
    )
    EmailNotifier(
        smtp.relay, sender="erpbridge@example.com", recipients=["ops@example.com"], tls="none"
    ).send(note)
    body = read_mail(smtp).get_content().replace("\r\n", "\n")
    assert "reconciliation inventory: 73 differences for BLUERIVER-3PL (threshold 50)" in body
    assert re.search(r"^Report: +var/reports/inventory-2026-03-02\.html$", body, re.MULTILINE)
    assert "Run:\n    erpbridge reconcile inventory --partner BLUERIVER-3PL" in body
    assert Notification.from_json(json.loads(json.dumps(note.to_json()))) == note


def test_ack_overdue_and_dead_letter_notifications_carry_their_own_command(ledger: Ledger) -> None:
    out = ledger.record_outbound("MEGAMART", "x12/856", payload=b"ISA~", state="written", levels=("isa",))
    sent = ledger.transition(out.id, State.SENT, step="put")
    overdue = Notification.for_document(Kind.ACK_OVERDUE, sent, window="1 day, 0:00:00")
    assert overdue.command == f"erpbridge ledger show {out.id}"
    assert f"erpbridge replay {out.id}" in overdue.advice and out.isa13 and out.isa13 in overdue.title
    dead = Notification.for_document(Kind.DEAD_LETTERED, sent)
    assert dead.command == f"erpbridge dlq retry {out.id}"
    with pytest.raises(ConfigError):
        Notification.for_document(Kind.EVENT, sent)
    rejected_in, _ = ledger.record_inbound("ACME", "x12", b"ISA*bad~", file_name="in/bad.edi")
    ledger.transition(rejected_in.id, State.VALIDATED, step="validate")
    rejected_in = ledger.transition(rejected_in.id, State.REJECTED, step="ack")
    ours = Notification.for_document(Kind.REJECTED, rejected_in)
    assert ours.title == "rejected from ACME: inbound x12 in/bad.edi" and "corrected one" in ours.advice
    theirs = Notification.for_document(Kind.REJECTED, sent)
    assert theirs.title.startswith("rejected by MEGAMART: outbound x12/856") and "replay" in theirs.advice
