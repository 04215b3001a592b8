"""The daemon (``erpbridge run`` without ``--once``): jobs from the configuration, batches only in the
process that holds the scheduler lock, job runs recorded, and SIGTERM finishing the document in hand."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from erpbridge.config import Cron, load_config
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.ledger.states import WORK_STATES
from erpbridge.pipeline import Runner
from erpbridge.scheduler import Daemon, cron_trigger
from tests.conftest import ROOT
from tests.integration.sites import IN_FLOW, build_site, check_site

DEADLINE = 120.0


def _fast(site_root: Path, every: str = "1s") -> None:
    config = site_root / "config.toml"
    config.write_text(config.read_text().replace('every = "1m"', f'every = "{every}"'), encoding="utf-8")


def _wait_for(what: str, condition: object, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds, failing after ``deadline`` seconds (no fixed sleeps)."""
    end = time.monotonic() + deadline
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("expression", "after", "fires"),
    [
        ("0 2 * * *", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
        # cron's day 0 is Sunday (APScheduler's own numbering would make it Monday)
        ("30 6 * * 0", datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 29, 6, 30, tzinfo=UTC)),
        (
            "0 9 * * mon-fri",
            datetime(2026, 11, 28, 0, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        ),
        (
            "*/15 * * * *",
            datetime(2026, 11, 23, 10, 1, tzinfo=UTC),
            datetime(2026, 11, 23, 10, 15, tzinfo=UTC),
        ),
        ("@daily", datetime(2026, 11, 23, 10, 1, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
        ("0 0 1 */3 *", datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_cron_expressions_fire_when_cron_would(expression: str, after: datetime, fires: datetime) -> None:
    trigger = cron_trigger(Cron.parse(expression), "UTC")
    got = trigger.get_next_fire_time(None, after)
    assert got == fires, f"{expression}: {got} != {fires}"
    assert Cron.parse(expression).matches(got)


def test_jobs_follow_the_configuration(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=0, ship_notices=0, inventory=0)
    text = site.config.read_text()
    text = text.replace('every = "1m"', 'every = "30s"', 1)  # the first flow polls every 30 s
    text += '\n[schedules]\ntimezone = "Europe/Paris"\nreconciliation = "15 3 * * *"\n'
    site.config.write_text(text, encoding="utf-8")
    config = load_config(site.config)
    with Ledger.open(site.ledger_url) as ledger:
        daemon = Daemon(config, ledger, Runner(config, ledger, mappings_root=ROOT / "mappings"))
        jobs = {job.name: job for job in daemon.jobs()}
    polls = {name for name in jobs if name.startswith("poll:")}
    assert polls == {f"poll:{name}" for name, f in config.flows.items() if f.enabled}
    first = next(iter(config.flows))
    trigger = jobs[f"poll:{first}"].trigger
    assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(seconds=30)
    nightly = jobs["reconciliation"]
    assert nightly.leader_only and isinstance(nightly.trigger, CronTrigger)
    fires = nightly.trigger.get_next_fire_time(None, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert fires is not None and (fires.hour, fires.minute, str(fires.tzinfo)) == (3, 15, "Europe/Paris")
    assert jobs["ack_overdue"].leader_only and not jobs[f"poll:{first}"].leader_only


def test_only_the_lock_holder_runs_the_batches_and_each_run_is_recorded(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=3, ship_notices=2, inventory=0)
    config = load_config(site.config)
    with Ledger.open(site.ledger_url) as one, Ledger.open(site.ledger_url) as two:
        first = Daemon(config, one, Runner(config, one, mappings_root=ROOT / "mappings", worker="host:1"))
        second = Daemon(config, two, Runner(config, two, mappings_root=ROOT / "mappings", worker="host:2"))
        summary = first.batch("reconciliation")
        assert summary is not None and summary.counts[(IN_FLOW, "delivered")] == 3
        assert second.batch("reconciliation") is None  # not the leader: skipped
        assert second.batch("ack_overdue") is None
        runs = one.job_runs("reconciliation")
        assert [(r.worker, r.outcome) for r in runs] == [("host:1", "ok")]
        assert runs[0].detail["counts"][IN_FLOW]["delivered"] == 3
        assert runs[0].detail["stuck"] == [] and runs[0].finished_at is not None
        # a poll that did nothing leaves no job run; one that did something does
        assert second.poll(IN_FLOW).table() == []
        assert one.job_runs(f"poll:{IN_FLOW}") == []
        # the leader lets go (it stopped): the other process takes over at its next batch
        first.lock.release()
        assert second.batch("ack_overdue") is not None
        assert [r.worker for r in two.job_runs("ack_overdue")] == ["host:2"]
        assert check_site(site, one) == []


def test_a_failing_batch_is_recorded_and_the_daemon_goes_on(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=1, ship_notices=0, inventory=0)
    config = load_config(site.config)
    said: list[str] = []
    with Ledger.open(site.ledger_url) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="host:1")
        daemon = Daemon(config, ledger, runner, say=said.append)

        def broken() -> None:
            raise RuntimeError("a bug")

        runner.check_ack_overdue = broken  # type: ignore[assignment,method-assign]
        summary = daemon.batch("ack_overdue")
        assert summary is not None and summary.failed is False and summary.problems
        (run,) = ledger.job_runs("ack_overdue")
        assert run.outcome == "failed" and "RuntimeError: a bug" in run.detail["error"]
        assert any("please report it" in line and "Traceback" in line for line in said)


def test_sigterm_finishes_the_document_in_hand_then_stops(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", inbound=300, ship_notices=0, inventory=0)
    _fast(site.root)
    out, err = tmp_path / "daemon.out", tmp_path / "daemon.err"
    daemon = site.erpbridge("run", "--config", str(site.config), "--quiet", stdout=out, stderr=err)
    try:
        with Ledger.open(site.ledger_url) as ledger:
            _wait_for(
                "the daemon to archive some documents",
                lambda: (
                    daemon.poll() is not None
                    or len(ledger.find(direction=Direction.IN, states=[State.ARCHIVED], limit=10)) >= 5
                ),
            )
            assert daemon.poll() is None, err.read_text()
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=DEADLINE) == 0, err.read_text()
            log = err.read_text()
            assert "SIGTERM: stopping after the document in hand" in log and log.rstrip().endswith("stopped")
            # the document in hand was finished: nothing is half done or still claimed
            now = datetime.now(UTC)
            for direction in Direction:
                half_done = ledger.find(
                    direction=direction, states=sorted(WORK_STATES[direction]), limit=1000
                )
                assert half_done == [], [(d.file_name, d.state) for d in half_done]
            claimed = [d for d in ledger.find(limit=100_000) if d.claimed_until and d.claimed_until > now]
            assert claimed == []
            assert ledger.scheduler_lock("batches").acquire()  # released on the way out
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait()
    # the next start takes up the rest: everything exactly once
    rest = site.erpbridge("run", "--once", "--config", str(site.config), "--quiet", stdout=out, stderr=err)
    assert rest.wait(timeout=DEADLINE) == 0, err.read_text()
    with Ledger.open(site.ledger_url) as ledger:
        assert check_site(site, ledger) == []
        assert ledger.job_runs(f"poll:{IN_FLOW}")  # the daemon's polls were recorded


def test_the_daemon_serves_metrics_and_health_and_logs_json(tmp_path: Path) -> None:
    import json
    import socket
    import urllib.request

    site = build_site(tmp_path / "site", inbound=5, ship_notices=0, inventory=0)
    _fast(site.root)
    with socket.socket() as probe:  # a free port for the endpoint
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = site.config.read_text() + f'\n[observability]\nmetrics = "127.0.0.1:{port}"\nlog_format = "json"\n'
    site.config.write_text(text, encoding="utf-8")
    out, err = tmp_path / "daemon.out", tmp_path / "daemon.err"
    daemon = site.erpbridge("run", "--config", str(site.config), stdout=out, stderr=err)

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except OSError:
            return 0, ""

    try:
        with Ledger.open(site.ledger_url) as ledger:
            _wait_for(
                "the five POs to be archived",
                lambda: (
                    daemon.poll() is not None
                    or len(ledger.find(direction=Direction.IN, kind="x12", states=[State.ARCHIVED], limit=10))
                    == 5
                ),
            )
        assert daemon.poll() is None, err.read_text()
        _wait_for("the readiness probe", lambda: get("/readyz")[0] == 200)
        assert get("/healthz")[0] == 200
        status, metrics = get("/metrics")
        assert status == 200 and 'partner="megamart"' in metrics and "erpbridge_" in metrics
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=DEADLINE) == 0, err.read_text()
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait()
    lines = [line for line in err.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = [r["message"] for r in records]
    assert any(m.startswith("metrics on http://127.0.0.1:") for m in messages), messages
    assert any(r.get("job") == f"poll:{IN_FLOW}" for r in records), records
    assert messages[-1] == "stopped"
    assert get("/healthz")[0] == 0  # the endpoint went away with the daemon
