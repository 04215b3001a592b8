"""Fixtures for the ledger tests: each ledger test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL: the server on 127.0.0.1:5432 (trust auth, user ``postgres`` or ``root``, database
``test``), or the URL in ``ERPBRIDGE_TEST_POSTGRES``. Each test session (each xdist worker)
creates its own database ``erpbridge_test_<pid>``, migrates it once, empties it after every test
and drops it at the end. ``synchronous_commit`` is off for that database only: it changes what
survives a server crash, not what concurrent transactions see, and makes the suite faster.
Without PostgreSQL the PostgreSQL variants are skipped, unless ``CI=true``: then they fail.

SQLite files live in /dev/shm when it exists (fsync is what makes SQLite slow on disk, and the
tests are about locking and consistency, which are the same there).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from erpbridge.ledger import Ledger
from tests.ledger.helpers import FakeClock, reset_postgres

START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _admin_url() -> tuple[str | None, str]:
    explicit = os.environ.get("ERPBRIDGE_TEST_POSTGRES")
    candidates = (
        [explicit] if explicit else [f"postgresql://{u}@127.0.0.1:5432/test" for u in ("postgres", "root")]
    )
    problems = []
    for url in candidates:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as exc:
            problems.append(
                f"{url}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
            )
    return None, "; ".join(problems)


def _with_database(url: str, name: str) -> str:
    return (
        sa.make_url(url)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """A URL to an existing PostgreSQL database we may create databases from."""
    url, why = _admin_url()
    if url is None:
        message = f"PostgreSQL is not reachable ({why}); start it with: {START_HINT}"
        if _in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return url


def create_database(admin: str, name: str) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return _with_database(admin, name)


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_admin: str) -> Iterator[str]:
    """This session's PostgreSQL database, migrated."""
    name = f"erpbridge_test_{os.getpid()}"
    url = create_database(pg_admin, name)
    Ledger.open(url).close()
    yield url
    drop_database(pg_admin, name)


@pytest.fixture
def fresh_pg_url(pg_admin: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own (for migration tests)."""
    name = f"erpbridge_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield create_database(pg_admin, name)
    drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="erpbridge-ledger-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("ledger")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, sqlite_dir: Path) -> Iterator[str]:
    """A ledger database for one test: a new SQLite file, or this session's PostgreSQL database
    (emptied afterwards)."""
    if backend == "sqlite":
        path = sqlite_dir / f"{uuid.uuid4().hex}.db"
        yield str(path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = request.getfixturevalue("pg_url")
    try:
        yield url
    finally:
        reset_postgres(url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(db_url: str, clock: FakeClock) -> Iterator[Ledger]:
    with Ledger.open(db_url, clock=clock) as opened:
        yield opened
