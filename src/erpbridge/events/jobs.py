"""The scheduled side of exception events: find in the ledger what to notify, and glue for the receiver.

:func:`notify_from_ledger` is the job the daemon schedules (every minute, in the process that holds
the batches' lock): it reads the ledger's event log from where its last run stopped, notifies every
document that entered ``quarantined``, ``dead_lettered``, ``rejected`` or ``ack_overdue`` since and
is still there (one a person already retried or dropped is left alone), every endpoint paused since
because it refused the credentials (``endpoint_pause`` events), and, for the sources named
in ``event_sources``, every exception event the receiver recorded; it sends the de-duplication
window's summaries and the retries that are due, and records a job run ``notify`` whose detail
keeps the cursor (the last event ID read) and the windows and retries
(:meth:`Notifications.state`), so that a restart or another leader carries on where it stopped.

:func:`notifying_handler` turns every event the receiver accepts into a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from erpbridge.errors import ErpBridgeError
from erpbridge.ledger import JobRun, Ledger, State

from .notify import Failure, Kind, Notification, Notifications
from .receiver import KIND_PREFIX, Handler, ReceivedEvent

log = logging.getLogger(__name__)

#: The job's name in the ledger's job runs (``erpbridge status`` shows it).
NOTIFY_JOB: Final = "notify"

#: Which ledger states are notified, as which kind.
WATCHED: Final[Mapping[State, Kind]] = {
    State.QUARANTINED: Kind.QUARANTINED,
    State.DEAD_LETTERED: Kind.DEAD_LETTERED,
    State.REJECTED: Kind.REJECTED,
    State.ACK_OVERDUE: Kind.ACK_OVERDUE,
}


@dataclass
class NotifyRun:
    """What one run of :func:`notify_from_ledger` did.

    Fields:
        cursor_from: the last event ID read before this run
        cursor: the last event ID read by this run
        events: events read
        notified: notifications found (sent, or held for a summary)
        failures: deliveries that failed (queued again or given up)
        error: the ledger error that cut the run short, if any
        run: the job run recorded (``None`` when there was nothing to record)
    """

    cursor_from: int
    cursor: int
    events: int = 0
    notified: list[Notification] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    run: JobRun | None = None


def last_cursor(ledger: Ledger, job: str = NOTIFY_JOB) -> tuple[int, Mapping[str, Any]]:
    """The cursor and the notification state the last finished run of ``job`` left (0 and {} at first)."""
    for run in ledger.job_runs(job, limit=50):
        cursor = run.detail.get("cursor")
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            state = run.detail.get("state")
            return cursor, state if isinstance(state, Mapping) else {}
    return 0, {}


def notify_from_ledger(
    ledger: Ledger,
    notifications: Notifications,
    *,
    worker: str,
    job: str = NOTIFY_JOB,
    page: int = 1000,
    max_events: int = 50_000,
    event_sources: Collection[str] = (),
) -> NotifyRun:
    """One run of the notification job: notify what entered a watched state since the last run,
    and the exception events the receiver recorded from ``event_sources`` (kind ``event``).

    Reads at most ``max_events`` events (the next run goes on from there). The first run ever
    starts at the beginning of the log; only documents still in a watched state are notified, and
    the window folds them into one summary per kind and partner. Delivery failures never raise
    (they are retried by later runs); a ledger error ends the run early and is recorded in it.
    A run that found nothing and changed nothing is not recorded. Returns what it did.
    """
    started = datetime.now(UTC)
    cursor, state = last_cursor(ledger, job)
    if not notifications.restored:
        notifications.restore(state)
    before = notifications.state()
    result = NotifyRun(cursor_from=cursor, cursor=cursor)
    seen: set[tuple[str, State]] = set()
    try:
        while result.events < max_events:
            events = ledger.events(after=result.cursor, limit=min(page, max_events - result.events))
            if not events:
                break
            for event in events:
                result.cursor = event.id
                result.events += 1
                state_to = event.to_state
                if event.step == "endpoint_pause":  # pipeline/pauses.py: refused credentials
                    notification = Notification.endpoint_paused(
                        endpoint=str(event.detail.get("endpoint") or "?"),
                        reason=str(event.detail.get("error") or "the endpoint refused the credentials"),
                        occurred_at=event.created_at,
                        document_id=event.document_id,
                        ledger_event=event.id,
                    )
                    result.notified.append(notification)
                    result.failures += notifications.notify(notification)
                    continue
                if event.document_id is None:
                    continue
                if state_to is State.RECEIVED and event_sources and _from_receiver(event.detail):
                    doc = ledger.get(event.document_id)
                    if doc.partner in event_sources and doc.kind.startswith(KIND_PREFIX):
                        notification = event_notification(
                            doc.partner,
                            doc.kind[len(KIND_PREFIX) :],
                            doc.business_key or "",
                            doc.id,
                            event.created_at,
                            ledger_event=event.id,
                        )
                        result.notified.append(notification)
                        result.failures += notifications.notify(notification)
                    continue
                if state_to not in WATCHED:
                    continue
                if (event.document_id, state_to) in seen:
                    continue
                doc = ledger.get(event.document_id)
                if doc.state is not state_to:  # someone already retried or dropped it
                    continue
                seen.add((doc.id, state_to))
                window = event.detail.get("window")
                reason = event.detail.get("error")
                notification = Notification.for_document(
                    WATCHED[state_to],
                    doc,
                    reason=str(reason) if reason else None,
                    occurred_at=event.created_at,
                    ledger_event=event.id,
                    window=str(window) if window else None,
                )
                result.notified.append(notification)
                result.failures += notifications.notify(notification)
    except ErpBridgeError as exc:
        result.error = str(exc)
        log.warning("notify job stopped at ledger event %d: %s", result.cursor, exc)
    result.failures += notifications.flush()
    after = notifications.state()
    if (result.cursor, result.notified, result.failures, result.error) == (
        cursor,
        [],
        [],
        None,
    ) and after == before:
        return result
    given_up = [f for f in result.failures if f.retry_at is None]
    detail: dict[str, Any] = {
        "cursor": result.cursor,
        "from": cursor,
        "events": result.events,
        "notified": len(result.notified),
        "failures": [f"{f.notifier}: {f.notification.title}: {f.error}" for f in result.failures[:20]],
        "state": after,
    }
    if result.error:
        detail["error"] = result.error
    run = ledger.start_job(job, worker, started_at=started)
    result.run = ledger.finish_job(run.id, "failed" if result.error or given_up else "ok", detail=detail)
    return result


def _from_receiver(detail: Mapping[str, Any]) -> bool:
    """Whether a ``receive`` event's detail is the one :class:`EventReceiver` records."""
    return "event_id" in detail and "scheme" in detail


def event_notification(
    source: str,
    topic: str,
    event_id: str,
    document_id: str,
    received_at: datetime,
    *,
    ledger_event: int | None = None,
) -> Notification:
    """The notification (kind ``event``) for an exception event the receiver recorded."""
    return Notification(
        kind=Kind.EVENT,
        partner=source,
        title=f"exception event from {source}: {topic} {event_id}",
        reason=f"{source} sent a {topic} event (ID {event_id})",
        command=f"erpbridge ledger show {document_id}",
        advice=f"The event's body is in the ledger; to write it out:\n    erpbridge ledger export {document_id}",
        document_id=document_id,
        document_kind=KIND_PREFIX + topic,
        details={"event ID": event_id},
        occurred_at=received_at,
        ledger_event=ledger_event,
    )


def notifying_handler(notifications: Notifications) -> Handler:
    """A receiver handler that notifies a person of every event at once, in the receiving process.

    Delivery failures are retried by :class:`Notifications`; they never fail the event. In a
    daemon with several processes, prefer ``notify_from_ledger(..., event_sources=...)``: the
    leader's job then notifies events with the same window and retries as everything else."""

    def handle(event: ReceivedEvent) -> None:
        notifications.notify(
            event_notification(
                event.source, event.topic, event.event_id, event.document_id, event.received_at
            )
        )

    return handle


__all__ = [
    "NOTIFY_JOB",
    "WATCHED",
    "NotifyRun",
    "event_notification",
    "last_cursor",
    "notify_from_ledger",
    "notifying_handler",
]
