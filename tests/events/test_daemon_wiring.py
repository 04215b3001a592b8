"""[events] and [notify] in the configuration, run by the daemon: the receiver listens beside the
scheduler, and the leader's notify job tells the configured webhook what needs a person."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from erpbridge.config import load_config
from erpbridge.events import sign
from erpbridge.ledger import Direction, Ledger
from erpbridge.pipeline import Runner
from erpbridge.scheduler import Daemon
from tests.conftest import ROOT
from tests.events.conftest import Hook
from tests.integration.sites import build_site

SECRET = "whsec-daemon-wiring-0042"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_daemon_receives_events_and_notifies_what_needs_a_person(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_SIGNING_SECRET", SECRET)
    site = build_site(tmp_path / "site", inbound=1, ship_notices=0, inventory=0)
    (site.partner / "inbound" / "garbage.edi").write_bytes(b"this is not an interchange")
    port = _free_port()
    site.config.write_text(
        site.config.read_text()
        + f"""
[events]
listen = "127.0.0.1:{port}"

[events.sources.shop]
scheme = "generic"
secrets = [{{ env = "SHOP_SIGNING_SECRET" }}]
event_id_field = "id"
notify = true

[notify]
schedule = "*/5 * * * *"

[notify.webhook]
url = "{hook.url}"
""",
        encoding="utf-8",
    )
    config = load_config(site.config)
    assert [key for key, _ in config.secrets()] == ["events.sources.shop.secrets[0]"]
    with Ledger.open(site.ledger_url) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", worker="host:1")
        daemon = Daemon(config, ledger, runner)
        assert {"notify", "events_pending"} <= {job.name for job in daemon.jobs()}
        runner.run_once()  # the garbage file is quarantined
        daemon.start()
        try:
            body = json.dumps({"id": "evt-1", "type": "order/cancelled"}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/events/shop",
                data=body,
                headers={"X-Signature": sign(SECRET, body), "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200 and json.loads(answer.read())["status"] == "accepted"
            forged = urllib.request.Request(
                f"http://127.0.0.1:{port}/events/shop",
                data=body,
                headers={"X-Signature": sign("wrong", body)},
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(forged, timeout=10)
            assert refused.value.code == 401
            assert len(ledger.find(partner="shop", direction=Direction.IN, limit=10)) == 1
            notified = daemon.notify()  # what the leader's cron job runs (delivered synchronously)
            assert notified is not None and notified >= 2
        finally:
            daemon.stop()
            daemon.wait()
    sent = [json.loads(body) for _headers, body in hook.requests]
    text = json.dumps(sent)
    assert "garbage.edi" in text and "evt-1" in text, text
    assert SECRET not in text
    with pytest.raises(OSError):  # the receiver stopped with the daemon
        urllib.request.urlopen(f"http://127.0.0.1:{port}/events/shop", data=b"{}", timeout=2)
