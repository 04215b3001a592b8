"""Structured JSON logs and the redaction filter; and a full flow run with known secrets (in
environment variables, referenced by the configuration) after which no secret is found in the logs,
the ledger, the quarantine reasons or the error messages."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from erpbridge.config import check_environment, load_config
from erpbridge.errors import ErpBridgeError, TransportError
from erpbridge.ledger import Ledger
from erpbridge.observability.logs import Redactor, configure_logging, log_context, secrets_of
from erpbridge.pipeline import Runner
from erpbridge.transports.base import Credential
from tests.conftest import ROOT
from tests.integration.conftest import seed_demo_site

pytestmark = pytest.mark.usefixtures("restore_logging")


def lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_one_json_object_per_line_with_context_fields_and_the_exception() -> None:
    buf = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=buf, excepthooks=False)
    log = logging.getLogger("erpbridge.pipeline")
    with log_context(flow="megamart_orders_in", partner="megamart"):
        log.info("received %s", "po.edi", extra={"file": "po.edi", "document": "3f2a"})
        with log_context(partner="other", document="9b"):
            log.debug("inner")
        try:
            raise TransportError("the folder is not there", partner="megamart")
        except ErpBridgeError:
            log.exception("cannot list\nthe folder")
    logging.getLogger("elsewhere").info("outside", extra={"count": 3, "ratio": 0.5, "ok": True, "n": None})
    first, inner, failed, outside = lines(buf)
    assert set(first) == {"time", "level", "logger", "message", "flow", "partner", "file", "document"}
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "erpbridge.pipeline",
        "received po.edi",
    )
    assert (first["flow"], first["partner"], first["file"], first["document"]) == (
        "megamart_orders_in", "megamart", "po.edi", "3f2a",
    )  # fmt: skip
    assert first["time"].endswith("Z") and len(first["time"]) == len("2026-11-23T13:53:27.412Z")
    assert (inner["partner"], inner["document"], inner["flow"]) == ("other", "9b", "megamart_orders_in")
    assert failed["message"] == "cannot list\nthe folder" and failed["level"] == "ERROR"
    assert "TransportError: the folder is not there (partner=megamart)" in failed["exception"]
    assert failed["exception"].startswith("Traceback")
    assert outside == outside | {"count": 3, "ratio": 0.5, "ok": True, "n": None}
    assert "flow" not in outside
    assert buf.getvalue().count("\n") == 4  # a newline in a message or traceback stays inside its line


def test_text_format_and_level() -> None:
    buf = io.StringIO()
    configure_logging(json=False, level="WARNING", stream=buf, excepthooks=False, secrets=["hunter22"])
    log = logging.getLogger("erpbridge.x")
    log.info("not shown")
    log.warning("login with %s", "hunter22", extra={"partner": "megamart"})
    [line] = buf.getvalue().splitlines()
    assert line.endswith("WARNING erpbridge.x: login with *** partner=megamart"), line


def test_the_redactor_masks_known_values_in_every_form_and_obvious_patterns() -> None:
    secret = "p@ss/wörd 'q\"x"
    r = Redactor([secret, "short"])
    from urllib.parse import quote

    for form in (secret, quote(secret, safe=""), repr(secret)[1:-1], json.dumps(secret)[1:-1]):
        assert r.redact(f"before {form} after") == "before *** after", form
    assert r.redact("shortshort") == "******"
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
    cases = {
        "Authorization: Bearer eyJhbGciOi.abc.def": "Authorization: Bearer ***",
        "{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': 'x'}": "{'Authorization': 'Basic ***', 'Accept': 'x'}",
        '"authorization": "Token abc123"': '"authorization": "Token ***"',
        "proxy-authorization=xyz": "proxy-authorization=***",
        "user=bob password=letmein host=x": "user=bob password=*** host=x",
        "https://api.example/x?token=abc123&limit=5": "https://api.example/x?token=***&limit=5",
        '{"client_secret": "s3", "api_key": "k9"}': '{"client_secret": "***", "api_key": "***"}',
        "passphrase: opensesame": "passphrase: ***",
        "postgresql+psycopg://erp:pw123@db:5432/erp": "postgresql+psycopg://erp:***@db:5432/erp",
        f"key:\n{pem}\nend": "key:\n-----BEGIN OPENSSH PRIVATE KEY-----***-----END OPENSSH PRIVATE KEY-----\nend",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow": "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----",
        "the password must not be empty; 3 tokens": "the password must not be empty; 3 tokens",
    }
    for given, expected in cases.items():
        assert r.redact(given) == expected, given
    assert r.redact_value({"auth": ["x", "short", 3, None], 4: ("short",)}) == {
        "auth": ["x", "***", 3, None],
        "4": ["***"],
    }


def test_secrets_from_credentials_and_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_TEST_SECRET", "from-the-env-1234")
    buf = io.StringIO()
    redactor = configure_logging(
        stream=buf,
        excepthooks=False,
        secrets=[
            "plain-value-99",
            Credential.from_env("OBS_TEST_SECRET"),
            Credential.from_env("OBS_UNSET_X"),
        ],
    )
    redactor.add("rotated-later-77")
    logging.getLogger("t").warning("%s %s %s", "plain-value-99", "from-the-env-1234", "rotated-later-77")
    assert lines(buf)[0]["message"] == "*** *** ***"
    with pytest.raises(TypeError, match="Credential or a SecretRef"):
        configure_logging(stream=buf, secrets=[42], excepthooks=False)  # type: ignore[list-item]


SECRETS = {
    "ERPBRIDGE_LEDGER_PASSWORD": "Ledger-Pw/42:%&x",
    "MEGAMART_SFTP_PASSWORD": "sftp-9f8e7d6c5b",
    "MEGAMART_KEY_PASSPHRASE": "phrase-0a1b2c3d4e",
}


def secret_site(root: Path, ledger_url: str) -> Path:
    """The demo site with its ledger on PostgreSQL (a password from the environment) and an SFTP
    endpoint for MEGAMART that no flow uses (a password and a key passphrase from the environment):
    three secrets, no SFTP server needed."""
    site = seed_demo_site(root)
    config = (site / "config.toml").read_text()
    config = config.replace(
        'url = "sqlite:///var/ledger.sqlite3"',
        f'url = "{ledger_url}"\npassword = {{ env = "ERPBRIDGE_LEDGER_PASSWORD" }}',
        1,
    )
    (site / "known_hosts").write_text("sftp.megamart.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n")
    (site / "megamart_ed25519").write_text("not read by this test\n")
    config += """
[endpoints.megamart_sftp]
type = "sftp"
host = "sftp.megamart.example"
username = "nwoutfitters"
known_hosts = "known_hosts"
private_key = "megamart_ed25519"
passphrase = { env = "MEGAMART_KEY_PASSPHRASE" }
password = { env = "MEGAMART_SFTP_PASSWORD" }
"""
    (site / "config.toml").write_text(config)
    return site


def test_a_full_run_with_known_secrets_leaves_none_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_database: tuple[str, str]
) -> None:
    from sqlalchemy.engine import make_url

    admin, name = pg_database
    user = make_url(admin).username
    for variable, secret in SECRETS.items():
        monkeypatch.setenv(variable, secret)
    site = secret_site(tmp_path / "site", f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}")
    config = load_config(site / "config.toml")
    check_environment(config)
    assert sorted(secrets_of(config)) == sorted(SECRETS.values())
    buf = io.StringIO()
    configure_logging(json=True, level="DEBUG", secrets=[ref for _, ref in config.secrets()], stream=buf)
    log = logging.getLogger("erpbridge.test")
    url = config.ledger.reveal_url()  # the password is in it (percent-encoded): trust auth ignores it
    assert "Ledger-Pw%2F42%3A%25%26x" in url

    # a real run: the POs in, acknowledged and delivered, the 856 and 846 out, a file quarantined
    (site / "var" / "partners" / "megamart" / "inbound" / "junk.edi").write_bytes(b"not X12")
    with Ledger.open(url) as ledger:
        runner = Runner(config, ledger, mappings_root=ROOT / "mappings", settle=True)
        with log_context(flow="megamart_orders_in", partner="megamart"):
            summary = runner.run_once()
        assert summary.failed and len(ledger.dead_letters()) == 1
        # log calls that carry the secrets every way a careless caller could
        ledger_pw, sftp_pw, phrase = SECRETS.values()
        log.info("opening %s", url)
        log.info("sftp password is " + sftp_pw)
        log.warning("passphrase %r for %s", phrase, "megamart", extra={"headers": {"X-Key": phrase}})
        with log_context(document="d1", credential=f"user:{sftp_pw}"):
            log.info("context", extra={"values": [ledger_pw, {"nested": sftp_pw}], "url": url})
        try:
            raise TransportError(f"login refused for password {sftp_pw}", partner="megamart", secret=phrase)
        except TransportError:
            log.exception("connect failed with %s", ledger_pw)
        log.error("stack", stack_info=True, extra={"note": f"Authorization: Basic {sftp_pw}"})
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"deprecated option holds {phrase}", UserWarning, stacklevel=1)
        thread = threading.Thread(target=_raise_with, args=(ledger_pw,), name="leaky")
        thread.start()
        thread.join()

        # what the ledger holds: every document's export (events, dead letters, deliveries), the job runs
        stored = json.dumps(
            [ledger.export(d.id).to_json() for d in ledger.find(limit=1000)]
            + [str(d) for d in ledger.dead_letters(include_resolved=True)]
            + [str(e) for e in ledger.events()]
            + [str(j) for j in ledger.job_runs()]
        )
    # error messages: what the run reported, the quarantine's reasons, an error that names the ledger
    reasons = "".join(p.read_text() for p in (site / "var" / "quarantine").rglob("*.reason.txt"))
    assert "junk.edi" in "".join(summary.problems) and reasons
    with pytest.raises(ErpBridgeError) as refused:
        Ledger.open(url.replace(name, name + "_missing"), busy_timeout=3)
    errors = "\n".join([*summary.problems, reasons, str(refused.value), repr(config), str(config.ledger)])
    # and the command itself, failing on a ledger it cannot reach, with the same secrets set
    (site / "config.toml").write_text((site / "config.toml").read_text().replace(name, name + "_missing"))
    cli = subprocess.run(
        [sys.executable, "-m", "erpbridge", "status", "--config", "config.toml"],
        capture_output=True, text=True, timeout=120, cwd=site,
    )  # fmt: skip
    assert cli.returncode != 0 and "missing" in cli.stdout + cli.stderr, cli.stdout + cli.stderr

    logged = buf.getvalue()
    records = lines(buf)
    assert len(records) >= 8 and "***" in logged
    assert any(r.get("logger") == "erpbridge.crash" and "leaky" in r["message"] for r in records)
    assert any(r.get("logger") == "py.warnings" for r in records)
    for where, text in {
        "logs": logged,
        "ledger": stored,
        "errors": errors,
        "cli": cli.stdout + cli.stderr,
    }.items():
        for secret in SECRETS.values():
            from urllib.parse import quote

            for form in {secret, quote(secret, safe="")}:
                assert form not in text, f"{form!r} found in the {where}"


def _raise_with(secret: str) -> None:
    raise RuntimeError(f"a thread failed holding {secret}")
