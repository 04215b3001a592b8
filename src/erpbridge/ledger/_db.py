"""Engines and the one place where SQLAlchemy's exceptions become erpbridge's.

SQLite: a file, WAL journal, ``synchronous=FULL`` (a committed control number survives a power
cut), foreign keys on, a busy timeout, and transactions that we begin ourselves: ``BEGIN
IMMEDIATE`` for writes (the one writer lock is taken up front, so two writers never deadlock)
and a plain ``BEGIN`` for reads (a consistent snapshot).

PostgreSQL (``postgresql+psycopg://``): READ COMMITTED, row locks where they matter, and a
``lock_timeout`` so a stuck lock turns into :class:`~erpbridge.errors.LedgerBusyError` instead of a
hang.

A write transaction run with the execution option :data:`RELAXED_COMMIT` commits without waiting
for the disk: SQLite ``synchronous=NORMAL`` for that transaction (WAL), PostgreSQL ``SET LOCAL
synchronous_commit = off``. Either way a process crash loses nothing committed, and the database
stays consistent after a power cut or an OS crash; what such a cut can undo is the last relaxed
commits after the last durable one, never a durable commit (both logs are sequential: a durable
commit flushes everything before it). The ledger uses it for state moves only (docs/ledger.md),
on an engine of their own (``create(..., relaxed=True)``) whose connections are relaxed from the
start, so that no transaction has to switch the setting (a statement each time) before it begins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from erpbridge.errors import ConfigError, ErpBridgeError, LedgerBusyError, LedgerError

Backend = Literal["sqlite", "postgresql"]

#: Execution option naming how a SQLite transaction begins (``IMMEDIATE`` or ``DEFERRED``).
SQLITE_BEGIN: Final = "erpbridge_sqlite_begin"

#: Execution option: ``True`` for a write transaction whose commit need not wait for the disk.
RELAXED_COMMIT: Final = "erpbridge_relaxed_commit"

#: SQLSTATEs after which the whole transaction may simply be run again.
RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def ledger_url(target: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL for a ledger: a file path (SQLite) or a ``postgresql://`` URL.

    ``postgresql://`` and ``postgres://`` mean psycopg 3. Raises ConfigError for anything else,
    for in-memory SQLite (the ledger must outlive the process) and for a missing folder.
    """
    text = os.fspath(target)
    if "://" not in text:
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            raise ConfigError(f"the ledger's folder does not exist: {path.parent}", file=str(path))
        return URL.create("sqlite+pysqlite", database=str(path.resolve()))
    try:
        url = make_url(text)
    except sa_exc.ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
            raise ConfigError("the ledger needs a database file, not an in-memory SQLite database")
        return ledger_url(url.database)
    shown = url.render_as_string(hide_password=True)
    raise ConfigError(f"unsupported ledger database {shown!r}: use a file path or postgresql+psycopg://")


def backend_of(url: URL) -> Backend:
    return "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"


def create(
    url: URL, *, busy_timeout: float, application_name: str = "erpbridge", relaxed: bool = False
) -> Engine:
    """An engine for ``url`` with the pragmas, timeouts and transaction control described above;
    ``relaxed``: its connections commit without waiting for the disk unless told otherwise."""
    timeout_ms = max(int(busy_timeout * 1000), 1)
    if backend_of(url) == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {'NORMAL' if relaxed else 'FULL'}")
            finally:
                cursor.close()
            _record.info[RELAXED_COMMIT] = relaxed

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            relaxed = bool(options.get(RELAXED_COMMIT))
            info = conn.connection.info  # the pooled connection's: what its synchronous is now
            if info.get(RELAXED_COMMIT) != relaxed:  # set between transactions, only when it changes
                conn.exec_driver_sql(f"PRAGMA synchronous = {'NORMAL' if relaxed else 'FULL'}")
                info[RELAXED_COMMIT] = relaxed
            mode = options.get(SQLITE_BEGIN, "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name,
            "connect_timeout": max(int(busy_timeout), 1),
            "options": f"-c lock_timeout={timeout_ms}" + (" -c synchronous_commit=off" if relaxed else ""),
        },
    )

    @event.listens_for(engine, "connect")
    def _postgresql_connect(_dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        _record.info[RELAXED_COMMIT] = relaxed

    @event.listens_for(engine, "begin")
    def _postgresql_begin(conn: Connection) -> None:
        relaxed_here = bool(conn.get_execution_options().get(RELAXED_COMMIT))
        if relaxed_here != conn.connection.info.get(RELAXED_COMMIT):  # for this transaction only
            conn.exec_driver_sql(f"SET LOCAL synchronous_commit = {'off' if relaxed_here else 'on'}")

    return engine


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, if the driver reports one."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure: running the transaction again may succeed."""
    return isinstance(exc, sa_exc.DBAPIError) and sqlstate(exc) in RETRYABLE_SQLSTATES


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def translate(exc: sa_exc.SQLAlchemyError, op: str, context: Mapping[str, Any]) -> ErpBridgeError:
    """The erpbridge error for a SQLAlchemy error raised during ``op``.

    Unreachable, locked, timed out, deadlocked or serialization failures (and a dropped
    connection) are :class:`LedgerBusyError` (transient). Everything else (an integrity or
    programming error our code must not hit) is :class:`LedgerError`. The message names the
    operation and the driver's first line, never the SQL parameters (payloads, keys).
    """
    state = sqlstate(exc)
    busy = (
        isinstance(
            exc,
            sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError | sa_exc.TimeoutError,
        )
        or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
        or state in RETRYABLE_SQLSTATES
    )
    extra = {k: v for k, v in context.items() if v is not None}
    if state:
        extra["sqlstate"] = state
    if busy:
        return LedgerBusyError(f"ledger busy or unreachable during {op}: {_reason(exc)}", **extra)
    return LedgerError(f"ledger refused {op}: {_reason(exc)}", **extra)


@contextmanager
def translated(op: str, **context: Any) -> Iterator[None]:
    """Run a block, turning SQLAlchemy errors into erpbridge errors (see :func:`translate`)."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, op, context) from exc
