"""Opening a ledger migrates it; the shipped migration creates exactly the models' schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from erpbridge.errors import ConfigError, LedgerBusyError, LedgerError
from erpbridge.ledger import Ledger, Level
from erpbridge.ledger._schema import Base
from tests.ledger import workers
from tests.ledger.helpers import raw_engine, raw_sql

EXPECTED_TABLES = {
    "alembic_version",
    "chain_head",
    "control_numbers",
    "dead_letters",
    "discrepancies",
    "documents",
    "endpoint_pauses",
    "job_runs",
    "events",
    "links",
    "outbox",
    "payloads",
    "scheduler_locks",
}


@pytest.fixture
def fresh_url(backend: str, sqlite_dir: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database nobody has opened yet."""
    if backend == "sqlite":
        yield str(sqlite_dir / f"fresh-{uuid.uuid4().hex}.db")
    else:
        yield request.getfixturevalue("fresh_pg_url")


def _tables(url: str) -> set[str]:
    engine = raw_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_open_migrates_a_fresh_database_and_twice_is_a_no_op(fresh_url: str) -> None:
    with Ledger.open(fresh_url) as ledger:
        assert _tables(fresh_url) == EXPECTED_TABLES
        assert raw_sql(fresh_url, "SELECT version_num FROM alembic_version") == [("0006",)]
        assert raw_sql(fresh_url, "SELECT id, last_id FROM chain_head") == [(1, 0)]
        doc, _ = ledger.record_inbound("acme", "x12/850", b"ISA*kept")
    with Ledger.open(fresh_url) as again:
        assert again.migrate() == "0006"
        assert again.get(doc.id) == doc
        assert again.verify() == 1
    assert raw_sql(fresh_url, "SELECT version_num FROM alembic_version") == [("0006",)]


def test_the_migration_creates_exactly_the_models(fresh_url: str) -> None:
    Ledger.open(fresh_url).close()
    engine = raw_engine(fresh_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_sqlite_settings(db_url: str, ledger: Ledger, backend: str) -> None:
    if backend != "sqlite":
        assert ledger.backend == "postgresql" and "postgresql+psycopg" in ledger.url
        return
    assert ledger.backend == "sqlite"
    assert raw_sql(db_url, "PRAGMA journal_mode") == [("wal",)]
    with ledger._engine.connect() as conn:  # the ledger's own connections
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_processes_opening_a_fresh_database_together_migrate_it_once(fresh_url: str) -> None:
    results = workers.run(workers.open_ledger, [(fresh_url,)] * 3)
    assert results == ["0006"] * 3
    with Ledger.open(fresh_url) as ledger:
        assert len(ledger.find()) == 3 and ledger.verify() == 3


def test_a_schema_from_a_newer_erpbridge_is_refused(fresh_url: str) -> None:
    Ledger.open(fresh_url).close()
    raw_sql(fresh_url, "UPDATE alembic_version SET version_num = 'fffffff'")
    with pytest.raises(LedgerError, match="cannot bring the ledger schema up to date"):
        Ledger.open(fresh_url)


def test_bad_targets(tmp_path: Path) -> None:
    for target in (
        "mysql://db/erp",
        "sqlite://",
        "sqlite:///:memory:",
        str(tmp_path / "missing" / "l.db"),
        "::nope::/x",
    ):
        with pytest.raises(ConfigError):
            Ledger.open(target)
    with pytest.raises(ConfigError) as caught:
        Ledger.open("mysql://user:hunter2@db/erp")
    assert "hunter2" not in str(caught.value)


def test_an_unreachable_postgresql_is_busy() -> None:
    with pytest.raises(LedgerBusyError) as caught:
        Ledger.open("postgresql://erpbridge:hunter2@127.0.0.1:1/ledger", busy_timeout=2)
    assert caught.value.transient and "hunter2" not in str(caught.value)


def test_the_migrations_ship_inside_the_package() -> None:
    package = resources.files("erpbridge.ledger") / "migrations"
    names = {p.name for p in package.iterdir()}
    assert {"env.py", "script.py.mako", "versions", "__init__.py"} <= names
    revisions = {p.name for p in (package / "versions").iterdir() if p.name.endswith(".py")}
    assert {"rev_0001_initial.py", "rev_0002_job_runs.py"} <= revisions


def test_revision_0003_keeps_the_counters_and_admits_only_known_levels(fresh_url: str) -> None:
    """A ledger made by erpbridge before DOCNUMs (revision 0002) is upgraded in place: its counters
    and documents stay, the level column takes 'docnum' and its CHECK still refuses anything else."""
    from alembic import command
    from alembic.config import Config

    from erpbridge.ledger.ledger import _MIGRATIONS

    engine = raw_engine(fresh_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        raw_sql(
            fresh_url,
            "INSERT INTO control_numbers (partner, level, last_value, wraps, updated_at) "
            "VALUES ('acme', 'isa', 41, 0, CURRENT_TIMESTAMP)",
        )
        with pytest.raises(sa.exc.IntegrityError):
            raw_sql(
                fresh_url,
                "INSERT INTO control_numbers (partner, level, last_value, wraps, updated_at) "
                "VALUES ('*', 'doc', 1, 0, CURRENT_TIMESTAMP)",
            )
    finally:
        engine.dispose()
    with Ledger.open(fresh_url) as ledger:
        assert ledger.control_numbers("acme") == {Level.ISA: 41}
        doc = ledger.record_outbound("acme", "idoc/ORDERS05", levels=["isa", "docnum"])
        assert (doc.isa13, doc.docnum) == ("000000042", "0000000000000001")
    with pytest.raises(sa.exc.IntegrityError):
        raw_sql(
            fresh_url,
            "INSERT INTO control_numbers (partner, level, last_value, wraps, updated_at) "
            "VALUES ('acme', 'bogus', 1, 0, CURRENT_TIMESTAMP)",
        )
    engine = raw_engine(fresh_url)
    try:  # and back: the DOCNUM counter and column go, the rest stays
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
            assert "docnum" not in {c["name"] for c in sa.inspect(conn).get_columns("documents")}
        assert raw_sql(fresh_url, "SELECT level, last_value FROM control_numbers") == [("isa", 42)]
    finally:
        engine.dispose()
