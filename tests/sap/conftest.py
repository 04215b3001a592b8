"""Fixtures for the SAP OData connector tests: SAP's own OData mock server on 127.0.0.1.

Each pytest(-xdist) worker starts ``node tests/sap_odata_server/server.js`` once: SAP's Fiori tools mock
server (``@sap-ux/fe-mockserver-core``, installed by ``npm ci`` from the lock file; ./scripts/test does
it) serving API_SALES_ORDER_SRV, API_OUTBOUND_DELIVERY_SRV and API_MATERIAL_STOCK_SRV behind basic auth,
OAuth client credentials, session cookies and CSRF tokens (see tests/sap_odata_server/SOURCES.md).
The server listens on a free port it reports on stdout; readiness is a poll of every service's
``$metadata`` with a deadline, never a fixed sleep.

Every test gets its own SAP client (``sap-client``): the mock server keeps separate data per client, so
tests do not see each other's sales orders or picked deliveries.

With ``CI`` set to true, a missing node or an uninstalled server fails the tests; otherwise they are
skipped with the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from erpbridge.connectors.sap_odata import (
    DELIVERY_SERVICE,
    SALES_ORDER_SERVICE,
    STOCK_SERVICE,
    BasicAuth,
    OAuthClientCredentials,
    SapODataConnector,
    SapODataSettings,
)
from erpbridge.transports.base import Credential
from tests.conftest import ROOT

SERVER_DIR = ROOT / "tests" / "sap_odata_server"
MAPPING = ROOT / "mappings" / "sap" / "purchase-order-to-sales-order.yaml"
USER = "ERPBRIDGE_COMM"
PASSWORD = "pw-Sap-9c1e77a2d4"  # secrets the tests look for in messages and logs
CLIENT_ID = "ERPBRIDGE_OAUTH"
CLIENT_SECRET = "cs-Sap-41d0b6f3e8"
READY_WITHIN = 30.0  # seconds for node to load the three services and answer their $metadata


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _die_with_parent() -> None:
    """In the child before exec: have Linux kill node if the pytest worker dies without teardown."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class SapServer:
    """The running test peer."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def invalidate_csrf(self) -> None:
        """Forget every CSRF token, as SAP does when a session ends (a test control, not SAP)."""
        requests.post(f"{self.url}/__control/invalidate-csrf", timeout=10).raise_for_status()

    def stats(self) -> dict[str, int]:
        answer = requests.get(f"{self.url}/__control/stats", timeout=10)
        answer.raise_for_status()
        stats: dict[str, int] = answer.json()
        return stats

    def get(self, service: str, path: str, client: str, **params: str) -> Any:
        """A plain GET (requests, not the connector): what the tests check the connector against."""
        answer = requests.get(
            f"{self.url}{service}/{path}",
            params={"sap-client": client, "$format": "json", **params},
            auth=(USER, PASSWORD),
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["d"]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _read_line(proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    """The server's first stdout line, waiting on the pipe (not sleeping) until the deadline."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    try:
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                return line
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return line
            line += chunk
    finally:
        selector.close()
    return line


def _drain(stream: Any, log: Path) -> None:
    with log.open("ab") as out:
        for chunk in iter(lambda: stream.read1(4096), b""):
            out.write(chunk)


def _wait_ready(server: SapServer, deadline: float) -> None:
    """Every service answers its $metadata with EDMX; polled until the deadline (a failed attempt
    waits on the process, so a dead server ends the wait at once)."""
    for service in (SALES_ORDER_SERVICE, DELIVERY_SERVICE, STOCK_SERVICE):
        while True:
            try:
                answer = requests.get(f"{server.url}{service}/$metadata", auth=(USER, PASSWORD), timeout=5)
                if answer.status_code == 200 and b"<edmx:Edmx" in answer.content:
                    break
                problem = f"HTTP {answer.status_code}"
            except requests.ConnectionError as exc:
                problem = type(exc).__name__
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service}/$metadata not ready ({problem}):\n{server.log_text()[-3000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=0.1)
            if server.proc.poll() is not None:
                raise RuntimeError(f"the SAP OData test server exited:\n{server.log_text()[-3000:]}")


@pytest.fixture(scope="session")
def sap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SapServer]:
    node = shutil.which("node")
    if node is None:
        _unavailable(
            "node is not installed: the SAP OData tests need Node.js (apt-get install -y nodejs npm)"
        )
    if not (SERVER_DIR / "node_modules" / "@sap-ux" / "fe-mockserver-core").is_dir():
        _unavailable(
            f"the SAP OData test server is not installed: run 'npm ci' in {SERVER_DIR} (./scripts/test does it)"
        )
    assert node is not None
    log = tmp_path_factory.mktemp("sap_odata_server") / "server.log"
    env = {
        **os.environ,
        "SAP_MOCK_USER": USER,
        "SAP_MOCK_PASSWORD": PASSWORD,
        "SAP_MOCK_CLIENT_ID": CLIENT_ID,
        "SAP_MOCK_CLIENT_SECRET": CLIENT_SECRET,
    }
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [node, "server.js", "0"],
            cwd=SERVER_DIR,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            preexec_fn=_die_with_parent,
        )
    drain: threading.Thread | None = None
    try:
        deadline = time.monotonic() + READY_WITHIN
        line = _read_line(proc, deadline)
        try:
            port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            raise RuntimeError(
                f"the SAP OData test server did not report its port (got {line!r}):\n{log.read_text()[-3000:]}"
            ) from None
        drain = threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True)
        drain.start()
        server = SapServer(proc, port, log)
        _wait_ready(server, deadline)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if drain is not None:
            drain.join(timeout=10)  # ends at the pipe's end of file, now that node has exited
        if proc.stdout is not None:
            proc.stdout.close()


_clients = itertools.count(101)


@pytest.fixture
def sap_client() -> str:
    """A SAP client (sap-client) of this test's own: its data starts from the seed files."""
    return f"{next(_clients):03d}"


def settings(server: SapServer, client: str, **overrides: Any) -> SapODataSettings:
    values: dict[str, Any] = {
        "url": server.url,
        "auth": BasicAuth(user=USER, password=Credential("env:SAP_TEST_PASSWORD", PASSWORD)),
        "sales_order_mapping": MAPPING,
        "name": "s4test",
        "client": client,
        "connect_timeout": 5.0,
        "read_timeout": 15.0,
        **overrides,
    }
    return SapODataSettings(**values)


def oauth(server: SapServer, secret: str = CLIENT_SECRET) -> OAuthClientCredentials:
    return OAuthClientCredentials(
        token_url=f"{server.url}/sap/bc/sec/oauth2/token",
        client_id=CLIENT_ID,
        client_secret=Credential("env:SAP_TEST_CLIENT_SECRET", secret),
    )


@pytest.fixture
def sap(sap_server: SapServer, sap_client: str) -> Iterator[SapODataConnector]:
    with SapODataConnector(settings(sap_server, sap_client)) as connector:
        yield connector
