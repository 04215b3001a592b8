"""The notification job over a real SQLite ledger, and the receiver -> notification glue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from erpbridge.errors import DocumentRejectedError, TransportError
from erpbridge.events import (
    NOTIFY_JOB,
    EmailNotifier,
    EventReceiver,
    EventSource,
    Kind,
    Notifications,
    SigningSecret,
    last_cursor,
    notify_from_ledger,
    notifying_handler,
    sign,
)
from erpbridge.ledger import Ledger, RetryPolicy, State
from erpbridge.transports.base import Credential
from tests.events.conftest import Mailbox
from tests.events.test_notify import Clock, Recorder, read_mail
from tests.events.test_receiver import post


def test_the_job_notifies_what_entered_a_watched_state_once(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, retry_policy=RetryPolicy(max_attempts=1)) as ledger:
        bad, _ = ledger.record_inbound("MEGAMART", "x12/850", b"bad", file_name="in/po-1.edi")
        ledger.fail(bad.id, DocumentRejectedError("mapping: BEG03 is missing"), step="map")
        down, _ = ledger.record_inbound("ACME", "x12/850", b"down", file_name="in/po-2.edi")
        ledger.fail(down.id, TransportError("SAP did not answer"), step="deliver")  # 1 attempt: dead letter
        fixed, _ = ledger.record_inbound("ACME", "x12/850", b"fixed", file_name="in/po-3.edi")
        ledger.fail(fixed.id, DocumentRejectedError("unknown partner item"), step="map")
        ledger.retry_dead_letter(fixed.id)  # someone already dealt with it before the job ran
        out = ledger.record_outbound("MEGAMART", "x12/856", payload=b"ISA~", state="written", levels=("isa",))
        ledger.transition(out.id, State.SENT, step="put")
        ledger.transition(out.id, State.ACK_OVERDUE, step="ack_overdue", detail={"window": "1 day, 0:00:00"})

        recorder = Recorder()
        center = Notifications([recorder], window=timedelta(0))
        run = notify_from_ledger(ledger, center, worker="test:1")
        got = {(n.kind, n.document_id): n for n in recorder.sent}
        assert set(got) == {
            (Kind.QUARANTINED, bad.id),
            (Kind.DEAD_LETTERED, down.id),
            (Kind.ACK_OVERDUE, out.id),
        }
        assert got[Kind.QUARANTINED, bad.id].reason == "DocumentRejectedError: mapping: BEG03 is missing"
        assert got[Kind.DEAD_LETTERED, down.id].command == f"erpbridge dlq retry {down.id}"
        assert got[Kind.ACK_OVERDUE, out.id].details["window"] == "1 day, 0:00:00"
        last = ledger.events()[-1].id
        assert (run.cursor_from, run.cursor, run.failures) == (0, last, [])
        assert run.run is not None and run.run.outcome == "ok" and run.run.detail["cursor"] == last
        assert last_cursor(ledger)[0] == last

        # nothing new: nothing sent, and no job run recorded
        again = notify_from_ledger(ledger, center, worker="test:1")
        assert again.run is None and len(recorder.sent) == 3
        assert len(ledger.job_runs(NOTIFY_JOB)) == 1

        # only what happened since the cursor
        late, _ = ledger.record_inbound("MEGAMART", "x12/850", b"late", file_name="in/po-4.edi")
        ledger.fail(late.id, DocumentRejectedError("bad date"), step="validate")
        third = notify_from_ledger(ledger, center, worker="test:1")
        assert [(n.kind, n.document_id) for n in recorder.sent[3:]] == [(Kind.QUARANTINED, late.id)]
        assert third.cursor_from == last and len(ledger.job_runs(NOTIFY_JOB)) == 2


def test_windows_and_retries_survive_a_change_of_leader(ledger: Ledger, smtp: Mailbox) -> None:
    clock = Clock(datetime.now(UTC))
    start = clock.now
    for n in range(3):
        doc, _ = ledger.record_inbound("MEGAMART", "x12/850", f"bad {n}".encode(), file_name=f"in/po-{n}.edi")
        ledger.fail(doc.id, DocumentRejectedError(f"bad PO {n}"), step="map")
    down = Recorder("email", fail=TransportError("relay down"))
    first = Notifications([down], clock=clock)
    run = notify_from_ledger(ledger, first, worker="host-a:1")
    assert [f.retry_at is not None for f in run.failures] == [True]  # the first one failed, will be retried
    assert first.pending() == 3  # one retry + two held for the window's summary
    assert run.run is not None and run.run.detail["state"]["retries"]

    # another process becomes the leader, with a working relay
    mail = EmailNotifier(
        smtp.relay, sender="erpbridge@example.com", recipients=["ops@example.com"], tls="none"
    )
    second = Notifications([mail], clock=clock)
    clock.now += timedelta(minutes=16)
    run = notify_from_ledger(ledger, second, worker="host-b:1")
    assert run.failures == [] and run.notified == [] and second.pending() == 0
    subjects = sorted(read_mail(smtp, i)["Subject"] for i in range(len(smtp.messages)))
    assert subjects == [
        f"[erpbridge] 2 more quarantined documents for MEGAMART since {start:%H:%M} UTC",
        "[erpbridge] quarantined: MEGAMART inbound x12/850 in/po-0.edi",  # the retry
    ]
    assert "po-1.edi" in read_mail(smtp, 0).get_content() + read_mail(smtp, 1).get_content()


def test_notifying_handler_turns_received_events_into_notifications(ledger: Ledger) -> None:
    recorder = Recorder()
    center = Notifications([recorder])
    source = EventSource("shop", "shopify", [SigningSecret(Credential("env:SHOP", "s3cr3t"))])
    body = b'{"id": 1}'
    with EventReceiver(ledger, [source], notifying_handler(center)) as receiver:
        status, reply = post(
            receiver.url("shop"),
            body,
            {
                "X-Shopify-Hmac-Sha256": sign("s3cr3t", body, "shopify"),
                "X-Shopify-Webhook-Id": "w-1",
                "X-Shopify-Topic": "fulfillment_holds/added",
            },
        )
    assert status == 200
    [note] = recorder.sent
    assert (note.kind, note.partner, note.document_id) == (Kind.EVENT, "shop", reply["document"])
    assert note.title == "exception event from shop: fulfillment_holds/added w-1"
    assert note.command == f"erpbridge ledger show {reply['document']}"
    assert ledger.get(reply["document"]).state is State.ARCHIVED


def test_the_job_notifies_received_events_of_the_sources_it_is_given(ledger: Ledger) -> None:
    sources = [
        EventSource(name, "generic", [SigningSecret(Credential(f"env:{name}", "k"))])
        for name in ("shop", "quiet")
    ]
    with EventReceiver(ledger, sources, lambda event: None) as receiver:
        for source, event_id in (("shop", "e-1"), ("quiet", "e-2"), ("shop", "e-3")):
            body = f'{{"id": "{event_id}"}}'.encode()
            headers = {"X-Signature": sign("k", body), "X-Event-Id": event_id, "X-Event-Topic": "order/hold"}
            assert post(receiver.url(source), body, headers)[0] == 200
    ledger.record_inbound("shop", "x12", b"ISA*not-an-event~", file_name="in/a.edi")  # not from the receiver
    recorder = Recorder()
    center = Notifications([recorder], window=timedelta(0))
    run = notify_from_ledger(ledger, center, worker="test:1", event_sources={"shop"})
    assert [(n.kind, n.partner, n.details["event ID"], n.document_kind) for n in recorder.sent] == [
        (Kind.EVENT, "shop", "e-1", "event/order/hold"),
        (Kind.EVENT, "shop", "e-3", "event/order/hold"),
    ]
    assert all(n.ledger_event for n in recorder.sent) and run.run is not None
    assert notify_from_ledger(ledger, center, worker="test:1", event_sources={"shop"}).notified == []
    assert len(recorder.sent) == 2
