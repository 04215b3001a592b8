"""Helpers shared by the ledger tests and the processes they start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from erpbridge.ledger import GENESIS

TABLES = (
    "events",
    "links",
    "outbox",
    "dead_letters",
    "documents",
    "payloads",
    "control_numbers",
    "scheduler_locks",
    "job_runs",
)


class FakeClock:
    """A clock the test moves by hand; it starts at the real time, so other processes agree."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def raw_engine(url: str) -> sa.Engine:
    """A plain engine on a ledger's database, for raw SQL (what an intruder or a DBA could do)."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool)


def raw_sql(url: str, sql: str, **params: object) -> list[sa.Row[object]]:
    engine = raw_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            conn.execute(sa.text("UPDATE chain_head SET last_id = 0, last_hash = :g"), {"g": GENESIS})
    finally:
        engine.dispose()
