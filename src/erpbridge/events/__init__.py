"""Exception events: a signed-webhook receiver, and notifications to people (webhook, email).

Public surface::

    EventReceiver, EventSource, SigningSecret     the HTTP receiver and its configuration (receiver.py)
    verify_signature, sign, parse_not_after       the signature check, pure
    Notifications, Notification, Kind             fan-out with a de-duplication window and retries (notify.py)
    WebhookNotifier, EmailNotifier, Notifier      the notifiers and their protocol
    notify_from_ledger, notifying_handler         the scheduled job, and receiver -> notification glue (jobs.py)

See docs/events.md.
"""

from .jobs import (
    NOTIFY_JOB,
    NotifyRun,
    event_notification,
    last_cursor,
    notify_from_ledger,
    notifying_handler,
)
from .notify import (
    EmailNotifier,
    Failure,
    Kind,
    Notification,
    Notifications,
    Notifier,
    WebhookNotifier,
    parse_relay,
)
from .receiver import (
    SCHEMES,
    EventReceiver,
    EventSource,
    Handler,
    ReceivedEvent,
    SigningSecret,
    Verdict,
    parse_not_after,
    sign,
    verify_signature,
)

__all__ = [
    "NOTIFY_JOB",
    "SCHEMES",
    "EmailNotifier",
    "EventReceiver",
    "EventSource",
    "Failure",
    "Handler",
    "Kind",
    "Notification",
    "Notifications",
    "Notifier",
    "NotifyRun",
    "ReceivedEvent",
    "SigningSecret",
    "Verdict",
    "WebhookNotifier",
    "event_notification",
    "last_cursor",
    "notify_from_ledger",
    "notifying_handler",
    "parse_not_after",
    "parse_relay",
    "sign",
    "verify_signature",
]
