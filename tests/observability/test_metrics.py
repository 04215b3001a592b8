"""The metrics endpoint scraped with a real HTTP client after real pipeline runs: the values match
what the runs did and what the ledger holds; counts survive a restart; health and readiness."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from erpbridge.config import load_config
from erpbridge.errors import ConfigError
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.observability.metrics import LATENCY_BUCKETS, MetricsServer, outcome_of, p95
from erpbridge.observability.signals import Signals
from erpbridge.pipeline import Runner
from tests.conftest import ROOT, SAMPLES
from tests.integration.conftest import seed_demo_site
from tests.observability.conftest import Response, Samples, get, matching, scrape, value

IN = {"partner": "megamart", "direction": "in"}
OUT = {"partner": "megamart", "direction": "out"}
ACME = {"partner": "acme", "direction": "in", "kind": "x12"}
RECEIVED = "erpbridge_documents_received_total"


def ledger_series(samples: Samples) -> Samples:
    """The series that come from the ledger (not from this process)."""
    prefixes = ("erpbridge_documents", "erpbridge_document_outcomes", "erpbridge_ledger_events")
    prefixes += ("erpbridge_write_latency_seconds", "erpbridge_dead_letters")
    return {k: v for k, v in samples.items() if k[0].startswith(prefixes)}


def test_a_scrape_after_real_runs_shows_what_they_did(tmp_path: Path) -> None:
    site = seed_demo_site(tmp_path / "site")
    config = load_config(site / "config.toml")
    (site / "var").mkdir(exist_ok=True)
    ledger = Ledger.open(config.ledger.reveal_url())
    runner = Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True)
    signals = Signals()
    with ledger, MetricsServer("127.0.0.1", 0, ledger, signals=signals) as server:
        before = scrape(server.url)
        assert value(before, "erpbridge_ledger_up") == 1.0
        assert matching(before, "erpbridge_documents_received_total") == {}

        summary = runner.run_once()
        did = {(flow, outcome): n for flow, outcome, n in summary.table()}
        assert did[("megamart_orders_in", "received")] == 2 and did[("megamart_orders_in", "ack_sent")] == 2

        after = scrape(server.url)
        # ingest rate: documents received per partner, direction and kind
        assert value(after, "erpbridge_documents_received_total", **IN, kind="x12") == 2
        assert value(after, "erpbridge_documents_received_total", **OUT, kind="x12/997") == 2
        assert value(after, "erpbridge_documents_received_total", **OUT, kind="x12/856") == 1
        assert value(after, "erpbridge_documents_received_total", **OUT, kind="x12/846") == 1
        # ingest success: both POs archived after delivery; the 856 and 846 sent; the 997s archived
        assert value(after, "erpbridge_document_outcomes_total", **IN, kind="x12", outcome="archived") == 2
        assert value(after, "erpbridge_document_outcomes_total", **OUT, kind="x12/856", outcome="sent") == 1
        assert (
            value(after, "erpbridge_document_outcomes_total", **OUT, kind="x12/997", outcome="archived") == 2
        )
        assert matching(after, "erpbridge_document_outcomes_total", outcome="quarantined") == {}
        # dead-letter depth: the partner is known, and it has none
        assert value(after, "erpbridge_dead_letters", **IN, state="quarantined") == 0
        assert value(after, "erpbridge_dead_letters", **IN, state="dead_lettered") == 0
        # write latency: one observation per deliver and per put event the ledger holds
        events = ledger.events()
        for step, expected in (("deliver", 2), ("put", 4)):
            latencies = [e.latency_ms for e in events if e.step == step and e.latency_ms is not None]
            assert len(latencies) == expected
            counts = matching(after, "erpbridge_write_latency_seconds_count", partner="megamart", step=step)
            assert sum(counts.values()) == expected, counts
            [labels] = counts
            connector = dict(labels)["connector"]
            assert connector == ("partner" if step == "put" else runner_connector(events))
            total = value(after, "erpbridge_write_latency_seconds_sum", **dict(labels))
            assert total == pytest.approx(sum(latencies) / 1000)
            inf = value(after, "erpbridge_write_latency_seconds_bucket", **dict(labels), le="+Inf")
            assert inf == expected
            first = value(
                after, "erpbridge_write_latency_seconds_bucket", **dict(labels), le=str(LATENCY_BUCKETS[0])
            )
            assert first == sum(1 for ms in latencies if ms / 1000 <= LATENCY_BUCKETS[0])
            assert value(after, "erpbridge_write_latency_p95_seconds", **dict(labels)) == pytest.approx(
                p95([ms / 1000 for ms in latencies])
            )

        # a file that is not X12 is quarantined, and a PO sent again is a duplicate
        inbound = site / "var" / "partners" / "megamart" / "inbound"
        (inbound / "garbage.edi").write_bytes(b"this is not an interchange")
        shutil.copy(SAMPLES / "valid" / "850_004010.edi", inbound / "resent.edi")
        assert runner.run_once().failed
        third = scrape(server.url)
        assert value(third, "erpbridge_documents_received_total", **IN, kind="x12") == 3
        assert value(third, "erpbridge_dead_letters", **IN, state="quarantined") == 1
        assert value(third, "erpbridge_documents", **IN, state="quarantined") == 1
        assert value(third, "erpbridge_document_outcomes_total", **IN, kind="x12", outcome="quarantined") == 1
        assert value(third, "erpbridge_ledger_events_total", **IN, step="receive", outcome="duplicate") == 1
        [dead] = ledger.dead_letters()
        assert dead.partner == "megamart"

        # an operator drops it: the depth goes back to 0, the drop is counted
        ledger.drop_dead_letter(dead.document_id, reason="not from MEGAMART")
        fourth = scrape(server.url)
        assert value(fourth, "erpbridge_dead_letters", **IN, state="quarantined") == 0
        assert value(fourth, "erpbridge_document_outcomes_total", **IN, kind="x12", outcome="dropped") == 1
        assert value(fourth, "erpbridge_documents", **IN, state="quarantined") is None

        # another process (or this one restarted) on the same ledger shows the same counts
        with MetricsServer("127.0.0.1", 0, ledger, signals=Signals(), process_metrics=False) as other:
            fresh = scrape(other.url)
        assert ledger_series(fresh) == ledger_series(fourth)
        assert all(not name.startswith("process_") for name, _ in fresh)
        assert value(fourth, "process_resident_memory_bytes") is not None  # the default has them

        # what the process reports itself
        signals.webhook_request("shopify", "accepted")
        signals.webhook_request("shopify", "bad_signature")
        signals.signature_failure("shopify")
        signals.set_reconciler_delta("inventory", "megamart", 3)
        signals.set_rate_limit_headroom("netsuite:prod", 0.15)
        signals.set_catalog_drift("netsuite:prod", 12)
        mine = scrape(server.url)
        assert value(mine, "erpbridge_signature_failures_total", source="shopify") == 1
        assert value(mine, "erpbridge_webhook_requests_total", source="shopify", outcome="accepted") == 1
        assert value(mine, "erpbridge_reconciler_delta", job="inventory", partner="megamart") == 3
        assert value(mine, "erpbridge_rate_limit_headroom_ratio", connector="netsuite:prod") == 0.15
        assert value(mine, "erpbridge_catalog_drift", connector="netsuite:prod") == 12
        assert ledger_series(mine) == ledger_series(fourth)  # nothing new in the ledger: the same


def runner_connector(events: list) -> str:  # type: ignore[type-arg]
    [name] = {e.detail["to"] for e in events if e.step == "deliver"}
    return str(name)


def test_openmetrics_when_asked_for(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger, MetricsServer("127.0.0.1", 0, ledger) as server:
        r = get(f"{server.url}/metrics", accept="application/openmetrics-text; version=1.0.0")
        assert r.status == 200 and r.content_type.startswith("application/openmetrics-text")
        assert r.body.rstrip().endswith("# EOF") and "erpbridge_ledger_up 1.0" in r.body


def test_health_and_readiness_then_the_ledger_goes_away(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    ledger = Ledger.open(folder / "ledger.sqlite3")
    ledger.record_inbound("acme", "x12", b"ISA*1")
    scheduler = [True]
    server = MetricsServer("127.0.0.1", 0, ledger, scheduler_running=lambda: scheduler[0])
    server.start()
    try:
        assert get(f"{server.url}/healthz") == Response(200, "ok\n", "text/plain; charset=utf-8")
        ready = get(f"{server.url}/readyz")
        assert (ready.status, ready.body) == (200, "ready\n")
        scheduler[0] = False
        not_ready = get(f"{server.url}/readyz")
        assert (not_ready.status, not_ready.body) == (503, "not ready\nscheduler: not running\n")
        scheduler[0] = True
        assert value(scrape(server.url), RECEIVED, **ACME) == 1
        # the ledger closes and its folder disappears: not ready, still alive, metrics still served
        ledger.close()
        shutil.rmtree(folder)
        gone = get(f"{server.url}/readyz")
        assert gone.status == 503 and gone.body.startswith("not ready\nledger: "), gone.body
        assert get(f"{server.url}/healthz").status == 200
        samples = scrape(server.url)
        assert value(samples, "erpbridge_ledger_up") == 0.0
        # counters keep their last values; gauges that would be stale are left out
        assert value(samples, RECEIVED, **ACME) == 1
        assert matching(samples, "erpbridge_documents") == {}
        assert get(f"{server.url}/nope").status == 404
    finally:
        server.stop()
    server.stop()  # twice is fine
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_readiness_on_postgresql_when_the_database_is_dropped(pg_database: tuple[str, str]) -> None:
    from tests.ledger.conftest import _with_database, drop_database

    admin, name = pg_database
    ledger = Ledger.open(_with_database(admin, name), busy_timeout=5)
    with MetricsServer("127.0.0.1", 0, ledger, process_metrics=False) as server:
        assert get(f"{server.url}/readyz").status == 200
        ledger.close()  # our connections go, then the database does
        drop_database(admin, name)
        gone = get(f"{server.url}/readyz")
        assert gone.status == 503 and "ledger: " in gone.body and name in gone.body, gone.body
        assert value(scrape(server.url), "erpbridge_ledger_up") == 0.0


def test_a_port_in_use_is_a_config_error(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger, MetricsServer("127.0.0.1", 0, ledger) as first:
        second = MetricsServer("127.0.0.1", first.port, ledger)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            second.start()


def test_a_new_log_is_counted_afresh(tmp_path: Path) -> None:
    """A collector that finds the log shorter than it counted (the ledger was replaced) starts over."""
    a = Ledger.open(tmp_path / "a.db")
    for i in range(3):
        a.record_inbound("acme", "x12", f"ISA*{i}".encode())
    server = MetricsServer("127.0.0.1", 0, a, process_metrics=False)
    with server:
        assert value(scrape(server.url), RECEIVED, **ACME) == 3
        b = Ledger.open(tmp_path / "b.db")
        b.record_inbound("globex", "x12", b"ISA*g")
        server.collector.ledger = server.ledger = b
        samples = scrape(server.url)
        assert matching(samples, "erpbridge_documents_received_total") == {
            frozenset({("partner", "globex"), ("direction", "in"), ("kind", "x12")}): 1
        }
    a.close()
    b.close()


def test_outcomes_p95_addresses_and_signal_values() -> None:
    from erpbridge.ledger import EventKey

    def key(d: Direction, frm: State | None, to: State | None) -> EventKey:
        return EventKey("p", d, "x12", "s", "ok", frm, to)

    assert outcome_of(key(Direction.IN, State.DELIVERED, State.ARCHIVED)) == "archived"
    assert outcome_of(key(Direction.IN, State.REJECTED, State.ARCHIVED)) is None  # counted as rejected
    assert outcome_of(key(Direction.IN, State.VALIDATED, State.REJECTED)) == "rejected"
    assert outcome_of(key(Direction.OUT, State.WRITTEN, State.SENT)) == "sent"
    assert outcome_of(key(Direction.IN, State.VALIDATED, State.ACKNOWLEDGED)) is None  # a work state in
    assert outcome_of(key(Direction.OUT, State.SENT, State.ACKNOWLEDGED)) == "acknowledged"
    assert outcome_of(key(Direction.IN, None, None)) is None
    assert p95([1.0]) == 1.0 and p95(list(range(1, 101))) == 95 and p95([5, 1, 3]) == 5
    s = Signals()
    s.set_rate_limit_headroom("c", 1.7)
    s.set_rate_limit_headroom("d", -2)
    s.set_catalog_drift("c", float("nan"))
    s.set_reconciler_delta("j", "p", "x")  # type: ignore[arg-type]
    s.webhook_request("src", "accepted")
    snap = s.snapshot()
    assert snap.rate_limit_headroom == {"c": 1.0, "d": 0.0}
    assert snap.catalog_drift == {} and snap.reconciler_delta == {}
    assert snap.signature_failures == {"src": 0}  # present from the first request
