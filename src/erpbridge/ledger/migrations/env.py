"""Alembic environment of the ledger.

erpbridge runs it programmatically (:meth:`erpbridge.ledger.Ledger.open`), handing over an open
connection in ``config.attributes["connection"]`` whose transaction it commits. Offline mode
(``alembic upgrade head --sql`` with ``script_location = erpbridge.ledger:migrations`` and a
``sqlalchemy.url``) writes the SQL for a DBA to review.

On PostgreSQL the upgrade holds a transaction-scoped advisory lock, so daemons starting together
on a fresh database migrate it once; on SQLite the connection's ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from erpbridge.ledger._schema import Base

#: pg_advisory_xact_lock key for migrations ("erpbridg" as a big-endian 64-bit integer).
MIGRATION_LOCK_KEY = int.from_bytes(b"erpbridg", "big", signed=True)


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    conn = context.config.attributes.get("connection")
    if not isinstance(conn, Connection):
        raise RuntimeError("the ledger's migrations run through erpbridge.ledger.Ledger.open(url)")
    run_online(conn)
