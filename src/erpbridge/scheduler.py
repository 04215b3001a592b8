"""The daemon: APScheduler jobs built from the configuration (``erpbridge run``). The only APScheduler user.

Jobs
----
* ``poll:<flow>``, one per enabled flow, on the flow's own schedule (``every = "1m"`` or
  ``cron = "..."``): one pass over that flow (new files, then the documents whose retry time has
  come). Every process runs the polls: ledger claims keep two processes off the same document.
* ``ack_overdue`` (``[schedules] ack_overdue``, a cron): what we sent that no 997 answered within
  the partner's ``ack_window`` becomes ``ack_overdue``, an exception event.
* ``reconciliation`` (``[schedules] reconciliation``, nightly): every flow once more (anything a
  poll missed), the overdue check, a count of what needs a person or is stuck, then the
  reconciliation jobs of ``[reconcile]`` (:mod:`erpbridge.reconcile`: orders, acks, shipments,
  inventory), recorded in the ledger with their discrepancies, a report written, the
  ``reconciler_delta`` metric set, and each job and partner over its threshold notified.
* ``notify`` (``[notify] schedule``, leader only): what entered quarantined, dead_lettered,
  rejected or ack_overdue since the last run, and the exception events of sources with
  ``notify = true``, to the configured email and webhook (:mod:`erpbridge.events`).
* ``job:<name>``, one per enabled ``[jobs.<name>]`` (leader only, on its ``cron``): the item
  master file for the WMS, or catalog drift (:mod:`erpbridge.catalog.jobs`), each run recorded.
* ``events_pending`` (every minute, with ``[events]``): exception events whose handling must be
  tried again. The receiver itself (``[events] listen``) runs beside the scheduler.

The two batches run in one process only, whichever holds the ledger's scheduler lock
(``batches``: a PostgreSQL advisory lock, or a leased row on SQLite, renewed by the ``leader``
job); the others skip them. Each batch run, and each poll that did something, is recorded in the
ledger's job runs (``erpbridge status`` shows them).

Jobs run one at a time, on one worker thread, so a pass never overlaps another. SIGTERM (or
Ctrl-C) sets :attr:`Runner.stopping <erpbridge.pipeline.Runner.stopping>`: the pass in hand finishes the
document it is on, leaves the rest for the next start, and the daemon exits 0.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config, Cron, SecretRef
from .errors import ErpBridgeError
from .events import (
    EmailNotifier,
    EventReceiver,
    EventSource,
    Notifications,
    Notifier,
    SigningSecret,
    WebhookNotifier,
    notify_from_ledger,
)
from .ledger import Direction, Ledger, SchedulerLock, State
from .ledger.states import ATTENTION_STATES, WORK_STATES
from .observability import signals
from .pipeline import Runner, Summary

#: The scheduler lock's name: its holder runs the batches.
LEADER_LOCK = "batches"

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # our Cron: 0 = Sunday


def cron_trigger(cron: Cron, timezone: str) -> CronTrigger:
    """APScheduler's trigger for one of our checked cron expressions.

    Built from the parsed value sets, not the text: APScheduler numbers weekdays from Monday (0)
    where cron starts on Sunday (0), and it does not know the ``@daily`` macros."""

    def field(values: frozenset[int], full: range) -> str:
        return "*" if set(full) <= values else ",".join(str(v) for v in sorted(values))

    weekdays = "*" if len(cron.weekdays) == 7 else ",".join(_WEEKDAYS[d] for d in sorted(cron.weekdays))
    return CronTrigger(
        minute=field(cron.minutes, range(60)),
        hour=field(cron.hours, range(24)),
        day=field(cron.days, range(1, 32)),
        month=field(cron.months, range(1, 13)),
        day_of_week=weekdays,
        timezone=timezone,
    )


@dataclass(frozen=True)
class Job:
    """One scheduled job: its name, its trigger, and what to run."""

    name: str
    trigger: BaseTrigger
    run: Callable[[], object]
    leader_only: bool = False


class Daemon:
    """The long-running process: the jobs of ``config`` against ``ledger``, through ``runner``.

    ``report`` receives the summary of every pass that did something; ``say`` one-line notices
    (started, stopping, a job that failed). Both default to doing nothing."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        runner: Runner,
        *,
        report: Callable[[str, Summary], None] = lambda job, summary: None,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.config, self.ledger, self.runner = config, ledger, runner
        self.report, self.say = report, say
        self.lock: SchedulerLock = ledger.scheduler_lock(LEADER_LOCK)
        self._stop = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self.notifications = build_notifications(config)
        from .catalog.jobs import publish_last as publish_drift

        publish_drift(ledger, config)  # catalog_drift shows the last catalog_drift runs from the start
        from .reconcile.jobs import publish_last

        publish_last(ledger)  # the reconciler_delta metric shows the last night's runs from the start
        self.receiver = build_receiver(config, ledger, worker=f"{runner.worker}/events")

    # -- the jobs -----------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every job this configuration schedules."""
        tz = self.config.schedules.timezone
        out: list[Job] = []
        for flow in self.config.flows.values():
            if not flow.enabled:
                continue
            trigger: BaseTrigger
            if flow.schedule.cron is not None:
                trigger = cron_trigger(flow.schedule.cron, tz)
            else:
                every = flow.schedule.every or timedelta(minutes=1)
                trigger = IntervalTrigger(seconds=every.total_seconds(), timezone=tz)
            out.append(Job(f"poll:{flow.name}", trigger, partial(self.poll, flow.name)))
        out.append(
            Job(
                "ack_overdue",
                cron_trigger(self.config.schedules.ack_overdue, tz),
                lambda: self.batch("ack_overdue"),
                leader_only=True,
            )
        )
        out.append(
            Job(
                "reconciliation",
                cron_trigger(self.config.schedules.reconciliation, tz),
                lambda: self.batch("reconciliation"),
                leader_only=True,
            )
        )
        for item_job in self.config.jobs.values():  # [jobs.<name>]: item master, catalog drift
            if item_job.enabled:
                out.append(
                    Job(
                        f"job:{item_job.name}",
                        cron_trigger(item_job.cron, tz),
                        partial(self.item_job, item_job.name),
                        leader_only=True,
                    )
                )
        if self.config.notify is not None:
            out.append(
                Job("notify", cron_trigger(self.config.notify.schedule, tz), self.notify, leader_only=True)
            )
        if self.receiver is not None:
            out.append(Job("events_pending", IntervalTrigger(seconds=60, timezone=tz), self.events_pending))
        # the SQLite stand-in for an advisory lock is a lease: the leader renews it well within it
        out.append(Job("leader", IntervalTrigger(seconds=60, timezone=tz), self.lead))
        return out

    def poll(self, flow: str) -> Summary:
        """One pass over ``flow``; recorded as a job run when it did something."""
        started = datetime.now(UTC)
        summary = self._guarded(f"poll:{flow}", lambda: self.runner.run_once([flow], ack_overdue=False))
        if summary.table() or summary.problems:
            record_poll(self.ledger, self.runner.worker, flow, summary, started)
            self.report(f"poll:{flow}", summary)
        return summary

    def lead(self) -> bool:
        """Take the batches' lock if nobody holds it, or renew it; whether this process leads."""
        try:
            if self.lock.held:
                if self.lock.renew():
                    return True
                self.say("lost the scheduler lock: another process runs the batches now")
                return False
            if self.lock.acquire():
                self.say("this process runs the scheduled batches (it holds the scheduler lock)")
                return True
        except ErpBridgeError as exc:
            self.say(f"scheduler lock: {exc}")
        return False

    def batch(self, job: str) -> Summary | None:
        """Run a batch (``ack_overdue`` or ``reconciliation``) if this process leads; else ``None``."""
        if not self.lead():
            return None
        run = self.ledger.start_job(job, self.runner.worker)
        failed: list[str] = []

        def work() -> Summary:
            if job == "ack_overdue":
                return self.runner.check_ack_overdue()
            summary = self.runner.run_once()  # every flow, then the overdue check
            summary.detail.update(self._ledger_health())
            summary.detail["reconcile"] = self.reconcile(summary)
            return summary

        summary = self._guarded(job, work, failed)
        outcome = "failed" if failed or summary.failed else "ok"
        self.ledger.finish_job(
            run.id, outcome, detail=_detail(summary) | ({"error": failed[0]} if failed else {})
        )
        if summary.table() or summary.problems or failed:
            self.report(job, summary)
        return summary

    def reconcile(self, summary: Summary) -> dict[str, Any]:
        """The reconciliation jobs ``[reconcile]`` enables (reconcile/jobs.py), each recorded in the
        ledger with its discrepancies and the report written; the ``reconciler_delta`` metric set, and
        each job and partner over its threshold notified and added to the batch's problems."""
        from .reconcile.jobs import Reconciler, publish

        reconciler = Reconciler(self.config, self.ledger, self.runner)
        done = reconciler.run()
        notify = self.notifications.notify if self.notifications is not None else None
        for line in publish(done.results, notify=notify, remedies=reconciler.remedies):
            summary.problems.append(line)
        for result in done.results:
            summary.add(
                f"reconcile {result.job}", result.verdict.replace(" ", "_"), len(result.discrepancies)
            )
            if result.error:
                summary.problems.append(f"reconcile {result.job}: could not run: {result.error}")
        return {
            "jobs": {r.job: r.verdict for r in done.results},
            "report": str(done.report[1]) if done.report else None,
        }

    def item_job(self, name: str) -> object:
        """A job of ``[jobs.<name>]`` (erpbridge/catalog/jobs.py) if this process leads: it records
        its own run in the ledger; a failed run is said, not raised."""
        if not self.lead():
            return None
        from .catalog.jobs import run_job

        try:
            result = run_job(self.config, self.ledger, name, worker=self.runner.worker)
        except ErpBridgeError as exc:
            self.say(f"job:{name}: {exc}")
            return None
        if result.error:
            self.say(f"job:{name} failed: {result.error}")
        return result

    def notify(self) -> int | None:
        """The ``notify`` job, if this process leads: how many notifications it found."""
        if self.notifications is None or not self.lead():
            return None
        sources = (
            {s.name for s in self.config.events.sources.values() if s.notify} if self.config.events else set()
        )
        run = notify_from_ledger(
            self.ledger, self.notifications, worker=self.runner.worker, event_sources=sources
        )
        if run.error:
            self.say(f"notify: {run.error}")
        for failure in run.failures:
            self.say(f"notify: {failure}")
        return len(run.notified)

    def events_pending(self) -> int:
        """Exception events whose handling is due again (a retry, an operator's dlq retry)."""
        return self.receiver.process_pending() if self.receiver is not None else 0

    def _ledger_health(self) -> dict[str, Any]:
        """What needs a person, and work that no worker holds although its time has come."""
        counts = self.ledger.counts()
        attention = {f"{d.value} {s.value}": n for (d, s), n in counts.items() if s in ATTENTION_STATES and n}
        waiting = sum(n for (d, s), n in counts.items() if s in WORK_STATES[d] or s == State.RETRY_WAIT)
        stuck = [
            doc.id
            for direction in Direction
            for doc in self.ledger.find(
                direction=direction,
                states=sorted(WORK_STATES[direction]),
                updated_before=datetime.now(UTC) - timedelta(hours=1),
                limit=100,
            )
            if doc.claimed_until is None or doc.claimed_until < datetime.now(UTC)
        ]
        return {"attention": attention, "in_progress": waiting, "stuck": stuck}

    def _guarded(self, job: str, work: Callable[[], Summary], failed: list[str] | None = None) -> Summary:
        """Run ``work``; a failure is reported and recorded, never the end of the daemon."""
        try:
            return work()
        except ErpBridgeError as exc:
            message = str(exc)
        except Exception as exc:  # a bug: keep the daemon up, show where  # noqa: BLE001
            message = f"{type(exc).__name__}: {exc}"
            self.say(f"{job}: unexpected error, please report it:\n{traceback.format_exc()}")
        self.say(f"{job} failed: {message}")
        if failed is not None:
            failed.append(message)
        summary = Summary()
        summary.add(job, "job_failed")
        summary.problems.append(f"{job}: {message}")
        return summary

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule the jobs on a background thread; polls start at once."""
        scheduler = BackgroundScheduler(
            timezone=self.config.schedules.timezone,
            executors={"default": ThreadPoolExecutor(1)},  # one job at a time: a pass never overlaps
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        now = datetime.now(UTC)
        for job in self.jobs():
            first: dict[str, Any] = (
                {"next_run_time": now} if job.name.startswith("poll:") or job.name == "leader" else {}
            )
            scheduler.add_job(job.run, job.trigger, id=job.name, name=job.name, **first)
        self._scheduler = scheduler
        if self.receiver is not None:
            host, port = self.receiver.start()
            self.say(f"receiving exception events on http://{host}:{port}{self.receiver.prefix}<source>")
        scheduler.start()

    @property
    def running(self) -> bool:
        """Whether the jobs are scheduled and no stop was asked (the readiness probe)."""
        return self._scheduler is not None and bool(self._scheduler.running) and not self._stop.is_set()

    def stop(self) -> None:
        """Ask the daemon to stop: the document in hand is finished first. Safe from a signal handler."""
        self.runner.stopping.set()
        self._stop.set()

    def wait(self) -> None:
        """Block until :meth:`stop`, then let the job in hand finish and release the lock."""
        self._stop.wait()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
        if self.receiver is not None:
            self.receiver.stop()
        if self.lock.held:
            self.lock.release()

    def run(self) -> int:
        """Start, stop on SIGTERM/SIGINT, and return the exit code (0)."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.say(f"{signal.Signals(signum).name}: stopping after the document in hand...")
            self.stop()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            flows = [j for j in self.jobs() if j.name.startswith("poll:")]
            self.say(
                f"erpbridge running as {self.runner.worker}: {len(flows)} flow(s); stop with SIGTERM or Ctrl-C"
            )
            self.start()
            self.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.say("stopped")
        return 0


def build_notifications(config: Config) -> Notifications | None:
    """The notifiers ``[notify]`` configures, behind one de-duplication window; ``None`` if none."""
    settings = config.notify
    if settings is None:
        return None
    notifiers: list[Notifier] = []
    if settings.email is not None:
        e = settings.email
        notifiers.append(
            EmailNotifier(
                e.relay,
                sender=e.sender,
                recipients=e.recipients,
                tls=e.tls,
                username=e.username,
                password=e.password.credential() if e.password is not None else None,
                ca_file=str(e.ca_file) if e.ca_file is not None else None,
                timeout=e.timeout.total_seconds(),
                subject_prefix=e.subject_prefix,
            )
        )
    if settings.webhook is not None:
        w = settings.webhook
        notifiers.append(
            WebhookNotifier(
                w.url.credential() if isinstance(w.url, SecretRef) else w.url,
                secret=w.secret.credential() if w.secret is not None else None,
                timeout=w.timeout.total_seconds(),
            )
        )
    return Notifications(notifiers, window=settings.window) if notifiers else None


def build_receiver(config: Config, ledger: Ledger, *, worker: str) -> EventReceiver | None:
    """The exception-event receiver ``[events]`` configures (not started); ``None`` without it."""
    settings = config.events
    if settings is None:
        return None
    sources = [
        EventSource(
            s.name,
            s.scheme,
            [SigningSecret(ref.credential(), until) for ref, until in s.secrets],
            signature_header=s.signature_header,
            event_id_header=s.event_id_header,
            event_id_field=s.event_id_field,
            topic_header=s.topic_header,
            topic_field=s.topic_field,
            default_topic=s.default_topic,
            max_body=s.max_body,
        )
        for s in settings.sources.values()
    ]
    host, port = settings.listen
    return EventReceiver(
        ledger,
        sources,
        lambda event: None,  # recorded in the ledger; the notify job tells people (sources' notify)
        host=host,
        port=port,
        prefix=settings.path_prefix,
        on_signature_failure=signals.signature_failure,
        on_request=signals.webhook_request,
        read_timeout=settings.read_timeout.total_seconds(),
        worker=worker,
    )


def record_poll(ledger: Ledger, worker: str, flow: str, summary: Summary, started: datetime) -> None:
    """A pass over ``flow`` that did something, as a ``poll:<flow>`` job run (``failed`` when it
    quarantined or dead-lettered something): ``erpbridge status`` shows each flow's last one."""
    run = ledger.start_job(f"poll:{flow}", worker, started_at=started)
    ledger.finish_job(run.id, "failed" if summary.failed else "ok", detail=_detail(summary))


def _detail(summary: Summary) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for flow, outcome, n in summary.table():
        counts.setdefault(flow, {})[outcome] = n
    return {"counts": counts, "problems": summary.problems[:50]} | dict(summary.detail)


__all__ = [
    "LEADER_LOCK",
    "Daemon",
    "Job",
    "build_notifications",
    "build_receiver",
    "cron_trigger",
    "record_poll",
]
