"""The reconciliation ledger: documents, payloads, states, events, links, control numbers,
outbox and dead letters, on SQLite (default) or PostgreSQL. The only SQLAlchemy user.

Public surface::

    Ledger.open(url_or_path)     open (and migrate) a ledger; see Ledger for every operation
    SchedulerLock                one-leader lock for scheduled batches
    RetryPolicy, backoff_delay   the retry schedule (pure)
    State, Direction, TRANSITIONS, is_legal      the state table (states.py)
    Document, Event, Link, DeadLetter, JobRun, Discrepancy, Owner, OutboxEntry, OutboxState, Export, Allocation, Relation, Level
    EventCounts, EventKey, StepLatency   what the metrics read (event_counts, step_latencies)
    event_hash, GENESIS          the hash chain (pure)

See docs/ledger.md.
"""

from .chain import GENESIS, event_hash
from .ledger import Ledger, SchedulerLock
from .records import (
    Allocation,
    DeadLetter,
    Discrepancy,
    Document,
    Event,
    EventCounts,
    EventKey,
    Export,
    JobRun,
    Level,
    Link,
    OutboxEntry,
    OutboxState,
    Owner,
    Relation,
    StepLatency,
)
from .retry import RetryPolicy, backoff_delay
from .states import TRANSITIONS, Direction, State, is_legal

__all__ = [
    "GENESIS",
    "TRANSITIONS",
    "Allocation",
    "DeadLetter",
    "Direction",
    "Discrepancy",
    "Document",
    "Event",
    "EventCounts",
    "EventKey",
    "Export",
    "JobRun",
    "Ledger",
    "Level",
    "Link",
    "OutboxEntry",
    "OutboxState",
    "Owner",
    "Relation",
    "RetryPolicy",
    "SchedulerLock",
    "State",
    "StepLatency",
    "backoff_delay",
    "event_hash",
    "is_legal",
]
