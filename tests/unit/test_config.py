"""The daemon's configuration: the example loads, broken files say file and key, secrets stay secret."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.config import (
    Config,
    Cron,
    FolderEndpoint,
    LocalEndpoint,
    Observability,
    SecretRef,
    SftpEndpoint,
    build_transport,
    build_transports,
    check_environment,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from erpbridge.errors import ConfigError
from erpbridge.transports import LocalTransport, SftpTransport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"

SECRET = "s3cr3t-Zebra-9931!"

MINIMAL = """\
[erpbridge]
isa_id = "NWOUTFITTERS"

[partners.megamart]
isa_id = "MEGAMART"
endpoint = "megamart"

[endpoints.megamart]
type = "local"
root = "var/megamart"

[endpoints.erp]
type = "folder"
root = "var/erp"

[flows.orders_in]
direction = "in"
partner = "megamart"
target = { endpoint = "erp" }
documents = ["x12/850"]
every = "1m"
"""

SFTP = """
[endpoints.megamart_sftp]
type = "sftp"
host = "sftp.megamart.example"
port = 2222
username = "nwoutfitters"
known_hosts = "keys/known_hosts"
private_key = "keys/megamart_ed25519"
passphrase = { env = "MEGAMART_KEY_PASSPHRASE" }
password = { env = "MEGAMART_SFTP_PASSWORD" }
connect_timeout = "5s"
io_timeout = "2m"
stable_after = 1
"""


def write(tmp_path: Path, text: str, name: str = "erpbridge.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def error_of(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return path, str(info.value)


# -- the example --------------------------------------------------------------------------------


def test_the_example_config_loads_with_what_the_readme_promises() -> None:
    config = load_config(EXAMPLE)
    assert config.file == EXAMPLE
    assert config.us.isa_text == "ZZ:NWOUTFITTERS" and config.us.gs_id == "NWOUTFITTERS"
    assert config.ledger.backend == "sqlite"
    assert config.ledger.path == ROOT / "var" / "ledger.sqlite3"
    assert config.ledger.url == f"sqlite:///{ROOT / 'var' / 'ledger.sqlite3'}"
    assert config.folders.quarantine == ROOT / "var" / "quarantine"
    assert config.folders.archive.is_relative_to(ROOT / "var")
    assert config.folders.outbox.is_relative_to(ROOT / "var")

    mm = config.partners["megamart"]
    assert (mm.party.qualifier, mm.party.id, mm.party.gs_id) == ("ZZ", "MEGAMART", "MEGAMART")
    assert mm.version == "004010" and mm.ack_set == "997" and not mm.test and not mm.request_ta1
    assert mm.ack_window == timedelta(hours=4)
    d = mm.delimiters
    assert (d.element, d.component, d.repetition, d.segment) == ("*", ">", "^", "~")
    assert config.partners["blueriver3pl"].party.isa_text == "ZZ:BLUERIVER3PL"
    assert config.partner_by_isa("zz", "MEGAMART ") is mm

    assert all(isinstance(e, LocalEndpoint | FolderEndpoint) for e in config.endpoints.values())
    for ep in config.endpoints.values():
        assert isinstance(ep, LocalEndpoint | FolderEndpoint)
        assert ep.root.is_relative_to(ROOT / "var")

    inbound = [f for f in config.flows.values() if f.direction == "in"]
    assert len(inbound) == 1
    po = inbound[0]
    assert po.partner == "megamart" and "850" in [s.x12_set for s in po.documents]
    assert isinstance(config.endpoints[po.source.endpoint], LocalEndpoint)
    assert isinstance(config.endpoints[po.target.endpoint], FolderEndpoint)
    assert po.acks is not None and po.acks.endpoint == po.source.endpoint
    outbound = {s.kind: s.to for f in config.flows.values() if f.direction == "out" for s in f.documents}
    assert outbound == {"ShipNotice": "x12/856", "InventoryAdvice": "x12/846"}
    for f in config.flows.values():
        assert f.schedule.every == timedelta(minutes=1) and f.schedule.cron is None
        assert f.retry.max_attempts is not None

    assert config.schedules.reconciliation.trigger_fields()["hour"] == "2"
    assert config.schedules.reconciliation.matches(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert config.schedules.ack_overdue.trigger_fields()["minute"] == "0,15,30,45"
    assert list(config.secrets()) == []
    check_environment(config)


def test_the_example_builds_local_transports_for_every_endpoint() -> None:
    config = load_config(EXAMPLE)
    transports = build_transports(config)
    assert set(transports) == set(config.endpoints)
    megamart = transports["megamart"]
    assert isinstance(megamart, LocalTransport)
    assert megamart.partner == "megamart"
    assert megamart.root == ROOT / "var" / "partners" / "megamart"
    wms = transports["wms"]
    assert isinstance(wms, LocalTransport) and wms.gate.stable_after == 1


def test_the_commented_examples_in_the_example_config_load_too(tmp_path: Path) -> None:
    """Uncommenting the SFTP endpoint and the PostgreSQL URL gives a valid configuration."""
    lines = []
    in_sftp_block = False
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        in_sftp_block = line == "# [endpoints.megamart_sftp]" or (in_sftp_block and line.startswith("# "))
        if in_sftp_block or line.startswith("# password = { env"):
            line = line.removeprefix("# ")
        elif line.startswith('url = "sqlite'):
            line = "# " + line
        elif line.startswith('# url = "postgresql'):
            line = line.removeprefix("# ")
        lines.append(line)
    config = load_text(tmp_path, "\n".join(lines) + "\n")
    sftp = config.endpoints["megamart_sftp"]
    assert isinstance(sftp, SftpEndpoint) and sftp.private_key == Path("/run/secrets/megamart_ed25519")
    assert config.ledger.backend == "postgresql"
    assert config.ledger.password == SecretRef("env", "ERPBRIDGE_LEDGER_PASSWORD")


def test_minimal_config_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, MINIMAL)
    assert config.ledger.path == tmp_path / "var" / "ledger.sqlite3"
    p = config.partners["megamart"]
    assert p.party.isa_text == "ZZ:MEGAMART" and p.name == "MEGAMART"
    assert p.ack == "auto" and p.ack_set == "997" and p.ack_window == timedelta(hours=24)
    assert p.mappings is None and p.overlay is None
    flow = config.flows["orders_in"]
    assert (flow.source.endpoint, flow.source.folder, flow.source.archive) == (
        "megamart",
        "inbound",
        "archive",
    )
    assert (flow.target.endpoint, flow.target.folder) == ("erp", "")
    assert flow.acks is not None and (flow.acks.endpoint, flow.acks.folder) == ("megamart", "outbound")
    assert config.schedules.reconciliation.expression == "0 2 * * *"
    assert config.schedules.ack_overdue.expression == "*/15 * * * *"
    assert flow.retry.policy().max_attempts == 5  # the ledger's default


def test_partner_mapping_folder_default_when_it_exists(tmp_path: Path) -> None:
    (tmp_path / "mappings" / "partners" / "megamart").mkdir(parents=True)
    config = load_text(tmp_path, MINIMAL)
    assert config.partners["megamart"].mappings == tmp_path / "mappings" / "partners" / "megamart"


def test_parse_config_is_pure_over_the_parsed_dict() -> None:
    import tomllib

    data = tomllib.loads(MINIMAL.replace('isa_id = "MEGAMART"', 'isa_id = "MEGAMART"\nversion = "005010"'))
    config = parse_config(data, file="/etc/erpbridge/erpbridge.toml", is_dir=lambda _p: False)
    assert config.base_dir == Path("/etc/erpbridge")
    endpoint = config.endpoints["megamart"]
    assert isinstance(endpoint, LocalEndpoint) and endpoint.root == Path("/etc/erpbridge/var/megamart")
    assert config.partners["megamart"].ack_set == "999"
    assert config.partners["megamart"].delimiters.dialect("005010").repetition == "^"
    assert config.partners["megamart"].delimiters.dialect("004010").repetition is None


def test_retry_overrides_and_cron_schedules(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'every = "1m"', 'cron = "30 6 * * mon-fri"\nretry = { max_attempts = 2, max_delay = "90s" }'
    ).replace("[erpbridge]", '[retry]\ninitial_delay = "10s"\nmax_attempts = 9\n\n[erpbridge]')
    flow = load_text(tmp_path, text).flows["orders_in"]
    assert flow.schedule.every is None and flow.schedule.cron is not None
    assert flow.schedule.cron.trigger_fields()["day_of_week"] == "mon,tue,wed,thu,fri"
    policy = flow.retry.policy()
    assert (policy.max_attempts, policy.initial_delay, policy.max_delay) == (2, 10.0, 90.0)


def test_a_poll_interval_in_milliseconds(tmp_path: Path) -> None:
    flow = load_text(tmp_path, MINIMAL.replace('every = "1m"', 'every = "250ms"')).flows["orders_in"]
    assert flow.schedule.every == timedelta(milliseconds=250)


def test_an_outbound_flow_may_send_on_what_an_inbound_flow_delivers(tmp_path: Path) -> None:
    """A chain (the inbound flow's target is the outbound flow's source) is no loop: it loads."""
    chained = MINIMAL.replace(
        'target = { endpoint = "erp" }', 'target = { endpoint = "erp", folder = "po" }'
    ) + (
        '\n[flows.orders_on]\ndirection = "out"\npartner = "megamart"\nsource = { endpoint = "erp", folder = "po" }\n'
        'target = { folder = "outbound" }\ndocuments = { PurchaseOrder = "x12/850" }\nevery = "1m"\n'
    )
    flows = load_text(tmp_path, chained).flows
    assert flows["orders_in"].target.folder == flows["orders_on"].source.folder == "po"


# -- broken configurations -----------------------------------------------------------------------

# (id, text to replace in MINIMAL, replacement, the expected line after "FILE: ")
BROKEN: list[tuple[str, str, str, str]] = [
    (
        "duration in words",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\nack_window = "4 hours"',
        'partners.megamart.ack_window: "4 hours" is not a duration like "4h", "30m", "90s"',
    ),
    (
        "duration as a number",
        'every = "1m"',
        "every = 60",
        'flows.orders_in.every: 60 is not a duration like "4h", "30m", "90s" (durations are strings: "60s")',
    ),
    (
        "zero duration",
        'every = "1m"',
        'every = "0s"',
        "flows.orders_in.every: must be longer than 0s",
    ),
    (
        "zero milliseconds",
        'every = "1m"',
        'every = "0ms"',
        "flows.orders_in.every: must be longer than 0s",
    ),
    (
        "unknown key with a suggestion",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\nack_windw = "4h"',
        "partners.megamart.ack_windw: unknown key (did you mean ack_window?)",
    ),
    (
        "unknown key without a close match",
        'root = "var/erp"',
        'root = "var/erp"\nzzz = 1',
        "endpoints.erp.zzz: unknown key (known keys: fsync, ignore, root, stable_after, type)",
    ),
    (
        "unknown section",
        "[erpbridge]",
        '[partner.acme]\nisa_id = "ACME"\n\n[erpbridge]',
        "partner: unknown section (did you mean partners?)",
    ),
    (
        "undefined partner",
        'partner = "megamart"',
        'partner = "megamrt"',
        "flows.orders_in.partner: no [partners.megamrt] in this file (did you mean megamart?)",
    ),
    (
        "undefined endpoint",
        'target = { endpoint = "erp" }',
        'target = { endpoint = "sap" }',
        "flows.orders_in.target.endpoint: no [endpoints.sap] in this file; defined: erp, megamart",
    ),
    (
        "unknown endpoint type",
        'type = "folder"',
        'type = "sap_rfc"',
        'endpoints.erp.type: "sap_rfc" is not a known endpoint type (did you mean sap_idoc?); known: folder, local, '
        "netsuite_rest, netsuite_soap, sap_idoc, sap_odata, sftp, wms_flatfile",
    ),
    (
        "wrong kind of endpoint for an inbound target",
        'target = { endpoint = "erp" }',
        'target = { endpoint = "megamart" }',
        "flows.orders_in.target.endpoint: [endpoints.megamart] is a local endpoint; an inbound flow's "
        "target (canonical documents) must be a folder, netsuite_rest, netsuite_soap, sap_idoc, sap_odata or "
        "wms_flatfile endpoint",
    ),
    (
        "version typo",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\nversion = "4010"',
        'partners.megamart.version: "4010" is not one of "004010", "005010" (did you mean 004010?)',
    ),
    (
        "999 for a 004010 partner",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\nack = "999"',
        'partners.megamart.ack: a 999 acknowledges 005010 groups; this partner uses 004010: use "997" or "auto"',
    ),
    (
        "wrong type",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\ntest = "yes"',
        'partners.megamart.test: expected true or false, got "yes" (a string)',
    ),
    (
        "missing required key",
        'isa_id = "NWOUTFITTERS"',
        'gs_id = "NWOUTFITTERS"',
        'erpbridge.isa_id: missing (the ISA06/ISA08 interchange ID, such as isa_id = "NWOUTFITTERS")',
    ),
    (
        "cron hour out of range",
        "[erpbridge]",
        '[schedules]\nreconciliation = "0 25 * * *"\n\n[erpbridge]',
        "schedules.reconciliation: not a cron expression: hour 25 is out of range 0-23",
    ),
    (
        "cron with four fields",
        'every = "1m"',
        'cron = "0 2 * *"',
        'flows.orders_in.cron: not a cron expression: "0 2 * *" has 4 field(s); cron needs 5: '
        'minute hour day-of-month month day-of-week, such as "0 2 * * *"',
    ),
    (
        "every and cron",
        'every = "1m"',
        'every = "1m"\ncron = "0 2 * * *"',
        "flows.orders_in.cron: give every or cron, not both",
    ),
    (
        "delimiter used twice",
        'isa_id = "MEGAMART"',
        'isa_id = "MEGAMART"\ndelimiters = { element = "*", component = "*" }',
        'partners.megamart.delimiters.component: "*" is already the element separator; delimiters must differ',
    ),
    (
        "unknown X12 set",
        'documents = ["x12/850"]',
        'documents = ["x12/850", "x12/851"]',
        'flows.orders_in.documents[1]: "x12/851": no 004010 schema for set "851" (partner megamart uses '
        "004010; known: 810, 846, 850, 855, 856, 940, 945, 997)",
    ),
    (
        "same ISA ID twice",
        "[endpoints.megamart]",
        '[partners.megamart2]\nisa_id = "MEGAMART"\n\n[endpoints.megamart]',
        "partners.megamart2.isa_id: ZZ:MEGAMART is already the ID of [partners.megamart]; "
        "inbound interchanges are routed by it",
    ),
    (
        "two flows read one folder",
        "[flows.orders_in]",
        '[flows.other_in]\ndirection = "in"\npartner = "megamart"\ntarget = { endpoint = "erp" }\n'
        'documents = ["x12/997"]\nevery = "5m"\n\n[flows.orders_in]',
        'flows.orders_in.source: [flows.other_in] already reads folder "inbound" of [endpoints.megamart]; '
        "two flows would take each other's files",
    ),
    (
        "folder leaves the root",
        'target = { endpoint = "erp" }',
        'target = { endpoint = "erp", folder = "../etc" }',
        'flows.orders_in.target.folder: "../etc" must be a /-separated folder below the endpoint\'s root, without ..',
    ),
    (
        "in-memory ledger",
        "[erpbridge]",
        '[ledger]\nurl = "sqlite:///:memory:"\n\n[erpbridge]',
        "ledger.url: the ledger needs a database file (it must outlive the process), not an in-memory database",
    ),
    (
        "unsupported database",
        "[erpbridge]",
        '[ledger]\nurl = "mysql://erp@db/erp"\n\n[erpbridge]',
        'ledger.url: "mysql://": the ledger is SQLite (sqlite:///...) or PostgreSQL (postgresql+psycopg://...)',
    ),
    (
        "a secret reference with both env and file",
        "[erpbridge]",
        '[ledger]\nurl = "postgresql://erp@db/erp"\npassword = { env = "X", file = "y" }\n\n[erpbridge]',
        'ledger.password: give exactly one of env and file: password = { env = "ERPBRIDGE_LEDGER_PASSWORD" }',
    ),
    (
        "outbound kind typo",
        "[flows.orders_in]",
        '[flows.asn_out]\ndirection = "out"\npartner = "megamart"\nsource = { endpoint = "erp", folder = "asn" }\n'
        'documents = { ShipNotise = "x12/856" }\nevery = "1m"\n\n[flows.orders_in]',
        "flows.asn_out.documents.ShipNotise: not a canonical document kind (did you mean ShipNotice?); kinds: "
        "PurchaseOrder, OrderAck, ShipNotice, InventoryAdvice, Invoice, WarehouseShippingOrder, "
        "WarehouseShippingAdvice, GoodsMovement",
    ),
    (
        "outbound flow writing into an inbound flow's folder",
        "[flows.orders_in]",
        '[flows.asn_out]\ndirection = "out"\npartner = "megamart"\nsource = { endpoint = "erp", folder = "asn" }\n'
        'target = { folder = "inbound" }\ndocuments = { ShipNotice = "x12/856" }\nevery = "1m"\n\n[flows.orders_in]',
        'flows.asn_out.target: folder "inbound" of [endpoints.megamart] is the source of [flows.orders_in]: '
        "erpbridge would read back what it writes",
    ),
    (
        "a name with a space",
        "[endpoints.erp]",
        '[partners."mega mart"]\nisa_id = "MM"\n\n[endpoints.erp]',
        "partners.\"mega mart\": a name must be letters, digits, '_' and '-', starting with a letter or digit",
    ),
    (
        "SFTP without a pinned host key",
        "[endpoints.erp]",
        '[endpoints.s]\ntype = "sftp"\nhost = "h"\nusername = "u"\nprivate_key = "k"\n\n[endpoints.erp]',
        "endpoints.s.known_hosts: missing (the OpenSSH known_hosts file pinning the server's host key; "
        "erpbridge never accepts an unknown key)",
    ),
    (
        "SFTP port out of range",
        "[endpoints.erp]",
        '[endpoints.s]\ntype = "sftp"\nhost = "h"\nusername = "u"\nknown_hosts = "kh"\nprivate_key = "k"\n'
        "port = 70000\n\n[endpoints.erp]",
        "endpoints.s.port: 70000 is out of range (1-65535)",
    ),
    (
        "SFTP without a way to log in",
        "[endpoints.erp]",
        '[endpoints.s]\ntype = "sftp"\nhost = "h"\nusername = "u"\nknown_hosts = "kh"\n\n[endpoints.erp]',
        'endpoints.s.private_key: an SFTP endpoint needs private_key = "..." or password = { env = "..." } (or both)',
    ),
    (
        "a section that is not a table",
        "[erpbridge]",
        "schedules = 3\n\n[erpbridge]",
        "schedules: expected a table, got 3 (an integer)",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_configs_name_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    text = MINIMAL.replace(old, new, 1)
    path, message = error_of(tmp_path, text)
    assert message.splitlines() == [f"{path}: {expected}"]


def test_every_broken_table_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace('isa_id = "MEGAMART"', 'isa_id = "MEGAMART"\nack_window = "soon"').replace(
        'type = "folder"', 'type = "folder"\nrooot = "x"'
    )
    path, message = error_of(tmp_path, text)
    assert message.splitlines() == [
        f"{path}: endpoints.erp.rooot: unknown key (did you mean root?)",
        f'{path}: partners.megamart.ack_window: "soon" is not a duration like "4h", "30m", "90s"',
    ]  # the flow refers to both broken tables and says nothing more


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path, message = error_of(tmp_path, MINIMAL.replace('root = "var/erp"', 'root = "var/erp'))
    assert message.startswith(f"{path}:14:")
    assert "invalid TOML" in message and "(at line" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read the configuration: No such file"):
        load_config(tmp_path / "nope.toml")


def test_the_file_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, MINIMAL.replace('every = "1m"', 'every = "often"'), "conf.toml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("conf.toml")
    assert str(info.value).startswith('conf.toml: flows.orders_in.every: "often" is not a duration')


# -- secrets -------------------------------------------------------------------------------------


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEGAMART_SFTP_PASSWORD", SECRET)
    monkeypatch.setenv("MEGAMART_KEY_PASSPHRASE", SECRET + "-pass")
    monkeypatch.setenv("ERPBRIDGE_LEDGER_PASSWORD", SECRET)


def test_secrets_never_show_in_repr_str_or_logs(
    tmp_path: Path, secret_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    text = (
        MINIMAL.replace(
            "[erpbridge]",
            '[ledger]\nurl = "postgresql+psycopg://erpbridge@db.internal:5432/erpbridge"\n'
            'password = { env = "ERPBRIDGE_LEDGER_PASSWORD" }\n\n[erpbridge]',
        )
        + SFTP
    )
    config = load_text(tmp_path, text)
    transport = build_transport(config.endpoints["megamart_sftp"], partner="megamart")
    shown = [repr(config), str(config), repr(transport), repr(getattr(transport, "settings", None))]
    shown += [r.getMessage() for r in caplog.records]
    for text_shown in shown:
        assert SECRET not in text_shown
    assert "env:MEGAMART_SFTP_PASSWORD" in repr(config)
    assert dict(config.secrets()) == {
        "ledger.password": SecretRef("env", "ERPBRIDGE_LEDGER_PASSWORD"),
        "endpoints.megamart_sftp.password": SecretRef("env", "MEGAMART_SFTP_PASSWORD"),
        "endpoints.megamart_sftp.passphrase": SecretRef("env", "MEGAMART_KEY_PASSPHRASE"),
    }
    # the one place the password is filled in: the URL handed to Ledger.open
    assert SECRET.replace("!", "%21") in config.ledger.reveal_url()
    assert SECRET not in repr(config.ledger)


def test_a_secret_written_in_the_file_is_refused_without_repeating_it(tmp_path: Path) -> None:
    text = MINIMAL + SFTP.replace('password = { env = "MEGAMART_SFTP_PASSWORD" }', f'password = "{SECRET}"')
    path, message = error_of(tmp_path, text)
    assert SECRET not in message
    assert message == (
        f"{path}: endpoints.megamart_sftp.password: a secret cannot be written in the file: put secrets in an "
        'environment variable or a file: password = { env = "MEGAMART_SFTP_PASSWORD" } or '
        'password = { file = "/run/secrets/..." }'
    )


def test_a_password_inside_a_database_url_is_refused_without_repeating_it(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "[erpbridge]", f'[ledger]\nurl = "postgresql://erpbridge:{SECRET}@db:5432/erpbridge"\n\n[erpbridge]'
    )
    path, message = error_of(tmp_path, text)
    assert SECRET not in message
    assert message == (
        f"{path}: ledger.url: postgresql://erpbridge:***@db:5432/erpbridge holds a password: put secrets in an "
        'environment variable or a file: url = "postgresql+psycopg://USER@HOST:5432/DB" and '
        'password = { env = "ERPBRIDGE_LEDGER_PASSWORD" }'
    )


def test_a_typo_beside_a_secret_does_not_repeat_the_value(tmp_path: Path) -> None:
    text = MINIMAL + SFTP.replace('password = { env = "MEGAMART_SFTP_PASSWORD" }', f'pasword = "{SECRET}"')
    path, message = error_of(tmp_path, text)
    assert message == f"{path}: endpoints.megamart_sftp.pasword: unknown key (did you mean password?)"


def test_check_environment_names_references_never_values(
    tmp_path: Path, secret_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "known_hosts").write_text("", encoding="utf-8")
    (tmp_path / "keys" / "megamart_ed25519").write_text("", encoding="utf-8")
    config = load_text(tmp_path, MINIMAL + SFTP)
    check_environment(config)  # everything is there

    monkeypatch.delenv("MEGAMART_SFTP_PASSWORD")
    (tmp_path / "keys" / "known_hosts").unlink()
    with pytest.raises(ConfigError) as info:
        check_environment(config)
    message = str(info.value)
    assert SECRET not in message
    assert message.splitlines() == [
        f"{config.source}: endpoints.megamart_sftp.password: environment variable MEGAMART_SFTP_PASSWORD is not set",
        f"{config.source}: endpoints.megamart_sftp.known_hosts: {tmp_path / 'keys' / 'known_hosts'} is not a file",
    ]


def test_secret_files_are_relative_to_the_config(tmp_path: Path) -> None:
    text = MINIMAL + SFTP.replace('{ env = "MEGAMART_SFTP_PASSWORD" }', '{ file = "secrets/pw" }')
    config = load_text(tmp_path, text)
    ep = config.endpoints["megamart_sftp"]
    assert isinstance(ep, SftpEndpoint) and ep.password == SecretRef("file", str(tmp_path / "secrets" / "pw"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw").write_text(SECRET + "\n", encoding="utf-8")
    assert ep.password.credential().reveal() == SECRET
    assert repr(ep.password.credential()) == f"Credential('file:{tmp_path / 'secrets' / 'pw'}')"


# -- transports ----------------------------------------------------------------------------------


def test_sftp_endpoint_builds_an_unconnected_sftp_transport(tmp_path: Path, secret_env: None) -> None:
    config = load_text(tmp_path, MINIMAL + SFTP)
    transport = build_transport(config.endpoints["megamart_sftp"], partner="megamart")
    assert isinstance(transport, SftpTransport)
    s = transport.settings
    assert (s.host, s.port, s.username, s.partner) == (
        "sftp.megamart.example",
        2222,
        "nwoutfitters",
        "megamart",
    )
    assert s.known_hosts == tmp_path / "keys" / "known_hosts"
    assert s.private_key == tmp_path / "keys" / "megamart_ed25519"
    assert s.password is not None and s.password.name == "env:MEGAMART_SFTP_PASSWORD"
    assert s.passphrase is not None and s.passphrase.reveal() == SECRET + "-pass"
    assert (s.connect_timeout, s.banner_timeout, s.auth_timeout, s.io_timeout) == (5.0, 15.0, 30.0, 120.0)
    assert s.stable_after == 1
    assert transport.label == "sftp://nwoutfitters@sftp.megamart.example:2222"


def test_local_and_folder_endpoints_build_local_transports(tmp_path: Path) -> None:
    text = MINIMAL.replace('root = "var/megamart"', 'root = "var/megamart"\nstable_after = 2\nfsync = false')
    config = load_text(tmp_path, text)
    local = build_transport(config.endpoints["megamart"], partner="megamart")
    assert isinstance(local, LocalTransport)
    assert local.root == tmp_path / "var" / "megamart" and local.gate.stable_after == 2 and not local.fsync
    folder = build_transports(config)["erp"]
    assert isinstance(folder, LocalTransport) and folder.root == tmp_path / "var" / "erp"
    assert folder.partner is None


# -- durations and cron --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", timedelta(0)),
        ("250ms", timedelta(milliseconds=250)),
        ("1s500ms", timedelta(milliseconds=1500)),
        ("1m30ms", timedelta(minutes=1, milliseconds=30)),
        ("2000ms", timedelta(seconds=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


NOT_DURATIONS = ["", "4", "4 h", "4hours", "1.5h", "30m1h", "-5m", "h", "4H", "1h 30m"]
NOT_DURATIONS += ["ms", "0.5s", "250 ms", "500ms1s", "5MS"]


@pytest.mark.parametrize("text", NOT_DURATIONS)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like"):
        parse_duration(text)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**9).map(lambda s: timedelta(seconds=s))
    | st.integers(min_value=0, max_value=10**12).map(lambda ms: timedelta(milliseconds=ms))
)
def test_formatting_a_duration_and_parsing_it_gives_it_back(value: timedelta) -> None:
    text = format_duration(value)
    assert parse_duration(text) == value
    assert format_duration(parse_duration(text)) == text


def test_format_duration() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(milliseconds=1500)) == "1s500ms"
    assert format_duration(timedelta(milliseconds=250)) == "250ms"
    with pytest.raises(ValueError, match="whole, non-negative milliseconds"):
        format_duration(timedelta(microseconds=1500))
    with pytest.raises(ValueError, match="whole, non-negative milliseconds"):
        format_duration(timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("expression", "fields"),
    [
        ("0 2 * * *", {"minute": "0", "hour": "2", "day": "*", "month": "*", "day_of_week": "*"}),
        ("*/15 * * * *", {"minute": "0,15,30,45", "hour": "*", "day": "*", "month": "*", "day_of_week": "*"}),
        (
            "0 6 * * 1-5",
            {"minute": "0", "hour": "6", "day": "*", "month": "*", "day_of_week": "mon,tue,wed,thu,fri"},
        ),
        ("0 0 * * 7", {"minute": "0", "hour": "0", "day": "*", "month": "*", "day_of_week": "sun"}),
        ("0 0 1 jan,jul *", {"minute": "0", "hour": "0", "day": "1", "month": "1,7", "day_of_week": "*"}),
        (
            "5-20/5 8-17/3 * * SAT,sun",
            {
                "minute": "5,10,15,20",
                "hour": "8,11,14,17",
                "day": "*",
                "month": "*",
                "day_of_week": "sun,sat",
            },
        ),
        ("@daily", {"minute": "0", "hour": "0", "day": "*", "month": "*", "day_of_week": "*"}),
    ],
)
def test_cron_fields(expression: str, fields: dict[str, str]) -> None:
    assert Cron.parse(expression).trigger_fields() == fields


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("60 * * * *", "minute 60 is out of range 0-59"),
        ("* * 0 * *", "day of month 0 is out of range 1-31"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * * 8", "day of week 8 is out of range 0-7"),
        ("* * * * funday", "day of week 'funday' is not a number or a name (sun..sat)"),
        ("*/0 * * * *", "minute step '0' in '*/0' is not a whole number above 0"),
        ("5/10 * * * *", "a step needs * or a range before it"),
        ("30-10 * * * *", "minute range '30-10' runs backwards"),
        ("0 2 1 * mon", "restricts both the day of month and the day of week"),
        ("0 2 * * * *", "has 6 field(s); cron needs 5"),
        ("0 2 ? * *", "day of month '?' is not a number"),
    ],
)
def test_cron_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Cron.parse(expression)
    assert message in str(info.value)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(0, 59),
    st.integers(0, 23),
    st.integers(0, 6),
)
def test_cron_matches_like_cron(when: datetime, minute: int, hour: int, weekday: int) -> None:
    daily = Cron.parse(f"{minute} {hour} * * *")
    assert daily.matches(when) == (when.minute == minute and when.hour == hour)
    weekly = Cron.parse(f"* * * * {weekday}")
    assert weekly.matches(when) == (when.isoweekday() % 7 == weekday)


def test_a_number_where_a_secret_belongs_is_not_repeated_either(tmp_path: Path) -> None:
    text = MINIMAL + SFTP.replace('password = { env = "MEGAMART_SFTP_PASSWORD" }', "password = 99318871")
    _, message = error_of(tmp_path, text)
    assert "99318871" not in message
    assert "endpoints.megamart_sftp.password: a secret cannot be written in the file" in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://erp:{s}@db/erp",
        "postgresql+psycopg://erp:a/{s}@db:5432/erp",
        "postgres://erp:{s}?x@db/erp",
        "postgresql://erp@db/erp?password={s}",
    ],
)
def test_every_form_of_inline_database_password_is_refused(tmp_path: Path, url: str) -> None:
    text = MINIMAL.replace("[erpbridge]", f'[ledger]\nurl = "{url.format(s=SECRET)}"\n\n[erpbridge]')
    _, message = error_of(tmp_path, text)
    assert "ledger.url: " in message and "holds a password" in message
    assert SECRET not in message


def test_observability_defaults_and_settings(tmp_path: Path) -> None:
    assert load_text(tmp_path, MINIMAL).observability == Observability()
    assert Observability().metrics is None and Observability().log_format == "text"
    config = load_text(
        tmp_path,
        MINIMAL + '\n[observability]\nmetrics = "127.0.0.1:9464"\nlog_format = "json"\nlog_level = "debug"\n',
    )
    assert config.observability == Observability(
        metrics=("127.0.0.1", 9464), log_format="json", log_level="debug"
    )
    assert load_text(
        tmp_path, MINIMAL + '\n[observability]\nmetrics = "[::1]:9100"\n'
    ).observability.metrics == (
        "::1",
        9100,
    )
    every = load_text(tmp_path, MINIMAL + '\n[observability]\nmetrics = ":9100"\n').observability.metrics
    assert every == ("0.0.0.0", 9100)  # ":PORT": every interface


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('metrics = "localhost"', 'observability.metrics: "localhost" is not an address to listen on'),
        ('metrics = "127.0.0.1:0"', "is not an address to listen on"),
        ('metrics = "9464"', '"9464" is not an address to listen on: use HOST:PORT'),
        ('metrics = "host:"', "is not an address to listen on"),
        ('metrics = "host:99999"', "is not an address to listen on"),
        ('metrics = "host:http"', "is not an address to listen on"),
        ('log_format = "xml"', 'observability.log_format: "xml" is not one of "text", "json"'),
        ('log_level = "verbose"', "observability.log_level"),
        ("metric = 1", "observability.metric"),
    ],
)
def test_observability_errors_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    path, error = error_of(tmp_path, MINIMAL + f"\n[observability]\n{table}\n")
    assert message in error and str(path) in error


EVENTS = """
[events]
listen = "127.0.0.1:8081"

[events.sources.shopify]
scheme = "shopify"
secrets = [{ env = "SHOPIFY_SECRET" }, { env = "SHOPIFY_SECRET_OLD", until = "2026-12-01" }]
notify = true

[notify.email]
relay = "smtp.example.com:587"
sender = "erpbridge@example.com"
recipients = ["edi-team@example.com"]
username = "erpbridge"
password = { env = "SMTP_PASSWORD" }

[notify.webhook]
url = { env = "NOTIFY_WEBHOOK_URL" }
secret = { file = "/run/secrets/notify" }
"""


def test_events_and_notify_sections(tmp_path: Path) -> None:
    config = load_text(tmp_path, MINIMAL + EVENTS)
    assert config.events is not None and config.notify is not None
    source = config.events.sources["shopify"]
    assert source.scheme == "shopify" and source.notify
    assert [(ref.name, until) for ref, until in source.secrets] == [
        ("env:SHOPIFY_SECRET", None),
        ("env:SHOPIFY_SECRET_OLD", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    assert config.events.listen == ("127.0.0.1", 8081)
    assert config.notify.window == timedelta(minutes=15) and config.notify.email is not None
    assert {key for key, _ in config.secrets()} == {
        "events.sources.shopify.secrets[0]",
        "events.sources.shopify.secrets[1]",
        "notify.email.password",
        "notify.webhook.url",
        "notify.webhook.secret",
    }
    assert load_text(tmp_path, MINIMAL).events is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '{ env = "SHOPIFY_SECRET" }, ',
            '"whsec-literal", ',
            "events.sources.shopify.secrets[0]: a secret is",
        ),
        ('until = "2026-12-01"', 'until = "soon"', 'secrets[1].until: "soon" is not a date'),
        ('scheme = "shopify"', 'scheme = "github"', 'events.sources.shopify.scheme: "github" is not one of'),
        ('listen = "127.0.0.1:8081"', 'listen = "8081"', "events.listen:"),
        (
            'recipients = ["edi-team@example.com"]',
            "recipients = []",
            "notify.email.recipients: give at least one",
        ),
        ('username = "erpbridge"\n', "", "notify.email.username: give username and password together"),
        (
            'url = { env = "NOTIFY_WEBHOOK_URL" }',
            'url = "ftp://x"',
            'notify.webhook.url: "ftp://x" is not an http',
        ),
    ],
)
def test_events_and_notify_errors_name_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in EVENTS
    _, error = error_of(tmp_path, MINIMAL + EVENTS.replace(old, new))
    assert message in error, error
    assert "whsec-literal" not in error


def test_the_commented_sap_and_netsuite_examples_load(tmp_path: Path) -> None:
    """Uncommenting the SAP and NetSuite blocks of the example gives a valid configuration."""
    lines, inside = [], False
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line in ("# [endpoints.s4]", "# [endpoints.netsuite]"):
            inside = True
        elif not line.startswith("# ") and line != "#":
            inside = False
        if inside and line.startswith("# ") and not line.startswith(("# and, in [", "# also_deliver")):
            line = line.removeprefix("# ")
        elif inside and (line == "#" or line.startswith(("# and, in [", "# also_deliver"))):
            line = ""
        lines.append(line)
    text = "\n".join(lines) + "\n"
    assert '[endpoints.netsuite]\ntype = "netsuite_rest"' in text and "[flows.s4_pick_requests]" in text
    config = load_text(tmp_path, text)
    assert {"s4", "s4_files", "s4_port", "netsuite"} <= set(config.endpoints)
    assert config.endpoints["netsuite"].type == "netsuite_rest"
    assert "endpoints.netsuite.auth.token_secret" in {key for key, _ in config.secrets()}
