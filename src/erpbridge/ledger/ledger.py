"""The reconciliation ledger: every document, payload, state change and delivery, on SQLite or PostgreSQL.

Every public method runs in one database transaction: it either happens completely or not at
all, and every state change appends its event to the hash-chained log in that same transaction.
Database trouble surfaces as :class:`~erpbridge.errors.LedgerBusyError` (transient: locked,
unreachable, timed out, deadlocked) or :class:`~erpbridge.errors.LedgerError` (terminal).

Locking order on PostgreSQL (so that transactions cannot deadlock each other): control number
rows (isa, gs, st), then document rows, then the chain head (``chain_head``) last.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from erpbridge.errors import (
    ConfigError,
    IllegalTransitionError,
    LedgerBusyError,
    LedgerError,
    LedgerIntegrityError,
)
from erpbridge.model.common import DocumentMeta

from . import _db
from ._schema import (
    Base,
    ChainHeadRow,
    ControlNumberRow,
    DeadLetterRow,
    DiscrepancyRow,
    DocumentRow,
    EndpointPauseRow,
    EventRow,
    JobRunRow,
    LinkRow,
    OutboxRow,
    PayloadRow,
    SchedulerLockRow,
)
from .chain import GENESIS, canonical_json, hash_fields
from .numbers import LEDGER_WIDE, MAXIMUM, REUSE_CHECKED, counter_owner, format_number, next_block
from .pauses import EndpointPause
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
from .retry import RetryPolicy, backoff_delay, context_of, describe, is_transient, retry_after_of
from .states import (
    INITIAL_STATES,
    WORK_STATES,
    Direction,
    State,
    allowed,
    is_legal,
)

T = TypeVar("T")
Clock = Callable[[], datetime]

_WRITE: Final = {_db.SQLITE_BEGIN: "IMMEDIATE"}
_MOVE: Final = {_db.SQLITE_BEGIN: "IMMEDIATE", _db.RELAXED_COMMIT: True}  # see transition()
_MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
_ATTENTION_ROWS: Final = (State.QUARANTINED, State.DEAD_LETTERED)

# Statements on the hot paths, built once (building a statement costs more than running it).
_EVENTS: Final = Base.metadata.tables["events"]
_HEAD: Final = Base.metadata.tables["chain_head"]
_HEAD_FOR_UPDATE: Final = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_EVENT: Final = insert(_EVENTS)
_INSERT_LINK: Final = insert(Base.metadata.tables["links"])
_UPDATE_HEAD: Final = (
    update(_HEAD).where(_HEAD.c.id == 1).values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))
)
# the head moved on from the one this process last wrote, or nothing (then read it, locked)
_ADVANCE_HEAD: Final = _UPDATE_HEAD.where(
    _HEAD.c.last_id == bindparam("old_id"), _HEAD.c.last_hash == bindparam("old_hash")
)
_LOCK_DOC: Final = (
    select(DocumentRow)
    .where(DocumentRow.id == bindparam("doc_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)
_LOCK_DOCS: Final = (
    select(DocumentRow)
    .where(DocumentRow.id.in_(bindparam("doc_ids", expanding=True)))
    .order_by(DocumentRow.id)  # one order for every process: no lock cycle between two of these
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)
_PAYLOADS: Final = Base.metadata.tables["payloads"]
_INSERT_PAYLOAD: Final = {
    "postgresql": postgresql.insert(_PAYLOADS).on_conflict_do_nothing(index_elements=["sha256"]),
    "sqlite": sqlite.insert(_PAYLOADS).on_conflict_do_nothing(index_elements=["sha256"]),
}
_COUNTERS: Final = Base.metadata.tables["control_numbers"]
_ADVANCE: Final = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.partner == bindparam("b_partner"),
        _COUNTERS.c.level == bindparam("b_level"),
        _COUNTERS.c.last_value + bindparam("b_count") <= bindparam("b_maximum"),
    )
    .values(last_value=_COUNTERS.c.last_value + bindparam("b_count"), updated_at=bindparam("b_now"))
    .returning(_COUNTERS.c.last_value, _COUNTERS.c.wraps)
)

#: An interchange's three counters (ISA13, GS06, ST02) advanced by one statement: ISA and GS by
#: one, ST by ``b_sets``; a counter that is new or would pass the maximum is left out of what it
#: returns, for :meth:`Ledger._advance`'s longer way.
_ENVELOPE: Final = (Level.ISA, Level.GS, Level.ST)
_STEP: Final = case((_COUNTERS.c.level == Level.ST.value, bindparam("b_sets")), else_=1)
_ADVANCE_ENVELOPE: Final = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.partner == bindparam("b_partner"),
        _COUNTERS.c.level.in_([level.value for level in _ENVELOPE]),
        _COUNTERS.c.last_value + _STEP <= bindparam("b_maximum"),
    )
    .values(last_value=_COUNTERS.c.last_value + _STEP, updated_at=bindparam("b_now"))
    .returning(_COUNTERS.c.level, _COUNTERS.c.last_value, _COUNTERS.c.wraps)
)
_ENVELOPE_MAXIMUM: Final = MAXIMUM[Level.ISA]
#: A block of ``b_count`` numbers of each of the three counters, taken only when all three exist,
#: have never wrapped and have room (:meth:`Ledger.reserve_numbers`).
_RESERVE_ENVELOPE: Final = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.partner == bindparam("b_partner"),
        _COUNTERS.c.level.in_([level.value for level in _ENVELOPE]),
        _COUNTERS.c.wraps == 0,
        _COUNTERS.c.last_value + bindparam("b_count") <= bindparam("b_maximum"),
    )
    .values(last_value=_COUNTERS.c.last_value + bindparam("b_count"), updated_at=bindparam("b_now"))
    .returning(_COUNTERS.c.level, _COUNTERS.c.last_value)
)
#: Numbers reserved and not used given back: only while the counter is still at the block's end
#: (nothing was allocated after it in the transaction), else they stay unused (a gap, never a repeat).
_GIVE_BACK: Final = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.partner == bindparam("b_partner"),
        _COUNTERS.c.level == bindparam("b_level"),
        _COUNTERS.c.last_value == bindparam("b_last"),
    )
    .values(last_value=bindparam("b_back_to"))
)
if any(MAXIMUM[level] != _ENVELOPE_MAXIMUM for level in _ENVELOPE):  # one bound in the statement
    raise RuntimeError("_ADVANCE_ENVELOPE needs one maximum for ISA13, GS06 and ST02")


class _LedgerSession(Session):
    """A ledger transaction: the payloads it stores are inserted together, in one statement, just
    before the first flush that could write a row referring to them (:func:`_write_payloads`)."""


def _write_payloads(s: Session) -> None:
    pending: dict[str, dict[str, Any]] = s.info.pop("payloads", {})
    if pending:
        dialect = s.get_bind().dialect.name
        s.connection().execute(_INSERT_PAYLOAD[dialect], list(pending.values()))


@sa_event.listens_for(_LedgerSession, "before_flush")
def _payloads_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write_payloads(session)


def _batches(items: list[str], size: int) -> list[list[str]]:
    """``items`` in lists of at most ``size`` (under every backend's limit on parameters)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(value: str | None, what: str, max_len: int, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise LedgerError(f"{what} is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len or value != value.strip():
        raise LedgerError(
            f"{what} must be a non-empty string of at most {max_len} characters without surrounding spaces, got {value!r}"
        )
    return value


def _name(value: str, what: str, max_len: int) -> str:
    result = _text(value, what, max_len)
    assert result is not None
    return result


_E = TypeVar("_E", State, Relation, Level, Owner)


def _member(cls: type[_E], value: _E | str, what: str) -> _E:
    """``value`` as a member of the enum ``cls``; LedgerError listing the members otherwise."""
    try:
        return cls(value)
    except ValueError:
        raise LedgerError(f"unknown {what} {value!r}; use one of {', '.join(m.value for m in cls)}") from None


def _state(value: State | str) -> State:
    return _member(State, value, "state")


def _relation(value: Relation | str) -> Relation:
    return _member(Relation, value, "relation")


def _level(value: Level | str) -> Level:
    return _member(Level, value, "control number level")


def _is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    return _db.sqlstate(exc) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _doc(row: DocumentRow) -> Document:
    return Document(
        id=row.id,
        direction=Direction(row.direction),
        partner=row.partner,
        kind=row.kind,
        state=State(row.state),
        business_key=row.business_key,
        idempotency_key=row.idempotency_key,
        isa13=row.isa13,
        gs06=row.gs06,
        st02=row.st02,
        set_count=row.set_count,
        payload_sha256=row.payload_sha256,
        file_name=row.file_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        resume_state=State(row.resume_state) if row.resume_state else None,
        last_error=row.last_error,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        docnum=row.docnum,
    )


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        document_id=row.document_id,
        step=row.step,
        outcome=row.outcome,
        from_state=State(row.from_state) if row.from_state else None,
        to_state=State(row.to_state) if row.to_state else None,
        latency_ms=row.latency_ms,
        credential=row.credential,
        payload_sha256=row.payload_sha256,
        detail=json.loads(row.detail),
        created_at=row.created_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _link(row: LinkRow) -> Link:
    return Link(
        from_document=row.from_document,
        to_document=row.to_document,
        relation=Relation(row.relation),
        created_at=row.created_at,
    )


def _pause(row: EndpointPauseRow) -> EndpointPause:
    return EndpointPause(
        endpoint=row.endpoint,
        paused_at=row.paused_at,
        reason=row.reason,
        fingerprint=row.fingerprint,
        document_id=row.document_id,
        worker=row.worker,
    )


def _discrepancy(row: DiscrepancyRow) -> Discrepancy:
    return Discrepancy(
        id=row.id,
        run_id=row.run_id,
        job=row.job,
        partner=row.partner,
        subject=row.subject,
        check=row.check,
        sides=json.loads(row.sides),
        owner=Owner(row.owner),
        action=row.action,
        remedy=row.remedy,
        delta=row.delta,
        document_id=row.document_id,
        created_at=row.created_at,
    )


def _job_run(row: JobRunRow) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        worker=row.worker,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        detail=json.loads(row.detail),
    )


def _dead_letter(row: DeadLetterRow, doc: DocumentRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        document_id=row.document_id,
        partner=doc.partner,
        kind=doc.kind,
        state=State(row.state),
        reason=row.reason,
        attempts=row.attempts,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
    )


def _outbox(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        document_id=row.document_id,
        target=row.target,
        idempotency_key=row.idempotency_key,
        state=OutboxState(row.state),
        attempts=row.attempts,
        external_ref=row.external_ref,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
    )


class Ledger:
    """The ledger of one erpbridge installation. Open it with :meth:`Ledger.open`.

    A Ledger is safe to share between threads; each process (after a fork, too) opens its own.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        retry_policy: RetryPolicy,
        lease: timedelta,
        control_reuse_after: timedelta,
        clock: Clock,
        move_engine: Engine | None = None,
    ) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**_WRITE)
        # state moves: on an engine whose connections are relaxed already (_db.create(relaxed=True))
        self._relaxed_engine = move_engine
        self._move_engine = (move_engine or engine).execution_options(**_MOVE)
        self._backend: _db.Backend = _db.backend_of(engine.url)
        self._policy = retry_policy
        self._lease = lease
        self._reuse_after = control_reuse_after
        self._clock = clock
        self._locks: set[SchedulerLock] = set()
        self._open = threading.local()  # per thread: the session of an atomic() in progress
        self._head: tuple[int, str] | None = None  # the chain head this process last committed

    # --- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str],
        *,
        retry_policy: RetryPolicy | None = None,
        busy_timeout: float = 30.0,
        lease: timedelta = timedelta(minutes=5),
        control_reuse_after: timedelta = timedelta(days=365),
        clock: Clock | None = None,
        migrate: bool = True,
    ) -> Ledger:
        """Open the ledger at ``target`` and bring its schema up to date.

        ``target`` is a file path (SQLite, created if missing; its folder must exist) or a
        ``postgresql://`` / ``postgresql+psycopg://`` URL. With ``migrate`` (the default) the
        alembic migrations run to ``head`` first; on an up-to-date database that is a no-op, and
        concurrent openers migrate a fresh database once. ``busy_timeout`` bounds how long a
        statement waits for a lock before :class:`LedgerBusyError`. ``lease`` is how long a
        claim or a SQLite scheduler lock lasts. ``clock`` (aware UTC datetimes) is for tests.

        Raises ConfigError for an unusable target, LedgerBusyError when the database cannot be
        reached, LedgerError when its schema is from an unknown (newer) erpbridge.
        """
        if busy_timeout <= 0:
            raise ConfigError(f"busy_timeout must be positive, got {busy_timeout}")
        if lease <= timedelta(0):
            raise ConfigError(f"lease must be positive, got {lease}")
        url = _db.ledger_url(target)
        engine = _db.create(url, busy_timeout=busy_timeout)
        ledger = cls(
            engine,
            retry_policy=retry_policy or RetryPolicy(),
            lease=lease,
            control_reuse_after=control_reuse_after,
            clock=clock or _utcnow,
            move_engine=_db.create(url, busy_timeout=busy_timeout, relaxed=True),
        )
        try:
            if migrate:
                ledger.migrate()
        except BaseException:
            ledger._dispose()
            raise
        return ledger

    def migrate(self) -> str:
        """Run the alembic migrations up to ``head``; returns the schema revision now in place."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
        try:
            with _db.translated("migrate"), self._write_engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                revision = MigrationContext.configure(conn).get_current_revision()
        except CommandError as exc:
            raise LedgerError(f"cannot bring the ledger schema up to date: {exc}") from exc
        return revision or ""

    def close(self) -> None:
        """Release any scheduler locks this ledger holds and close its connections.

        A lock whose release fails is gone anyway: on PostgreSQL its connection is closed, and
        a SQLite lease runs out."""
        try:
            for lock in list(self._locks):
                with suppress(LedgerBusyError):
                    lock.release()
        finally:
            self._dispose()

    def _dispose(self) -> None:
        self._engine.dispose()
        if self._relaxed_engine is not None:
            self._relaxed_engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def backend(self) -> _db.Backend:
        """``sqlite`` or ``postgresql``."""
        return self._backend

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy :meth:`fail` applies."""
        return self._policy

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    # --- transactions --------------------------------------------------------------------

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            raise LedgerError("the ledger's clock must return aware datetimes")
        return moment.astimezone(UTC)

    @contextmanager
    def _session(self, write: bool, durable: bool = True) -> Iterator[Session]:
        engine = (self._write_engine if durable else self._move_engine) if write else self._engine
        with _LedgerSession(engine, expire_on_commit=False) as session:
            with session.begin():
                yield session
                self._return_unused_numbers(session)  # (reserve_numbers): still locked, given back
                self._write_events(session)  # the transaction's events, chained under the head's lock, last
            if "head" in session.info:  # committed: the head as this transaction left it
                self._head = session.info["head"]

    def _tx(
        self,
        op: str,
        work: Callable[[Session], T],
        *,
        write: bool = True,
        race: bool = False,
        durable: bool = True,
        **context: Any,
    ) -> T:
        """Run ``work`` in one transaction; run it again after a deadlock, a serialization failure
        or (with ``race``) a unique violation from a concurrent insert, at most three times.
        ``durable=False``: the commit does not wait for the disk (:data:`_db.RELAXED_COMMIT`).

        Inside :meth:`atomic` (in this thread), ``work`` runs in the atomic's transaction instead,
        which retries and commits it with the rest."""
        outer = self._in_atomic()
        if outer is not None:
            session, outer_durable = outer
            if write and durable and not outer_durable:
                raise LedgerError(f"{op} commits durably: it cannot run inside atomic(durable=False)")
            if not write:  # a read sees what the atomic wrote so far, its events included
                self._write_events(session)
            return work(session)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._session(write, durable) as session:
                    return work(session)
            except sa_exc.IntegrityError as exc:
                if race and attempt < 3 and _is_unique_violation(exc):
                    continue
                raise _db.translate(exc, op, context) from exc
            except sa_exc.SQLAlchemyError as exc:
                if attempt < 3 and _db.is_retryable(exc):
                    continue
                raise _db.translate(exc, op, context) from exc

    def _in_atomic(self) -> tuple[Session, bool] | None:
        """The transaction of the :meth:`atomic` this thread is in, and whether it is durable."""
        outer: tuple[Session, bool] | None = getattr(self._open, "session", None)
        return outer

    def atomic(self, work: Callable[[], T], *, durable: bool = True, op: str = "atomic") -> T:
        """Run ``work``, which calls this ledger's methods, as one transaction: every call in it
        happens, or none does (each still checks what it checks and appends its events, in
        order). For steps with no I/O between them, e.g. recording a file and validating it, or
        the moves that follow one put: one commit instead of one per call.

        A deadlock, a serialization failure or a concurrent insert of the same unique key runs
        ``work`` again (at most three times), so it must do nothing but ledger calls and pure
        work. ``durable=False`` commits without waiting for the disk, as :meth:`transition` does:
        only for state moves and notes (a recording inside it raises LedgerError). Calls from
        other threads are not part of it. An atomic inside an atomic is part of the outer one.
        """
        if self._in_atomic() is not None:
            return work()

        def run(s: Session) -> T:
            self._open.session = (s, durable)
            try:
                return work()
            finally:
                self._open.session = None

        return self._tx(op, run, race=True, durable=durable)

    def _lock_doc(self, s: Session, doc_id: str) -> DocumentRow:
        locked = self._locked(s)
        if doc_id in locked:  # locked earlier in this transaction (atomic): no need to read it again
            return locked[doc_id]
        row = s.scalars(_LOCK_DOC, {"doc_id": doc_id}).one_or_none()
        if row is None:
            raise LedgerError("no such document", document=doc_id)
        locked[doc_id] = row
        return row

    def _lock_docs(self, s: Session, doc_ids: Iterable[str]) -> None:
        """Lock the documents of ``doc_ids`` not locked yet in this transaction, with one statement
        (in id order), for the calls that follow (:meth:`_lock_doc` finds them then)."""
        locked = self._locked(s)
        wanted = sorted({d for d in doc_ids if d not in locked})
        for start in range(0, len(wanted), 500):  # under every backend's limit on parameters
            for row in s.scalars(_LOCK_DOCS, {"doc_ids": wanted[start : start + 500]}):
                locked[row.id] = row

    @staticmethod
    def _locked(s: Session) -> dict[str, DocumentRow]:
        """The documents this transaction locked or created, by id (held here: the session's
        identity map keeps only weak references, and would let go of a row a call returned)."""
        locked: dict[str, DocumentRow] = s.info.setdefault("locked", {})
        return locked

    def _doc_row(self, s: Session, doc_id: str) -> DocumentRow:
        row = s.get(DocumentRow, doc_id)
        if row is None:
            raise LedgerError("no such document", document=doc_id)
        return row

    def _store_payload(self, s: Session, data: bytes, now: datetime) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LedgerError(f"a payload must be bytes, got {type(data).__name__}")
        data = bytes(data)
        sha = _sha256(data)
        # inserted with the transaction's other payloads, before anything that refers to them is
        # flushed (_write_payloads), without loading a payload that is already there
        pending: dict[str, dict[str, Any]] = s.info.setdefault("payloads", {})
        pending.setdefault(sha, {"sha256": sha, "size": len(data), "data": data, "created_at": now})
        return sha

    def _append_event(
        self,
        s: Session,
        *,
        document_id: str | None,
        step: str,
        outcome: str,
        now: datetime,
        from_state: State | None = None,
        to_state: State | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        payload_sha256: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Add an event to the transaction's events, checked now; :meth:`_write_events` chains
        and inserts them when the transaction is about to commit."""
        step = _name(step, "step", 64)
        outcome = _name(outcome, "outcome", 32)
        _text(credential, "credential (a name, never a secret)", 128, required=False)
        if latency_ms is not None and (not isinstance(latency_ms, int) or latency_ms < 0):
            raise LedgerError(f"latency_ms must be a non-negative integer, got {latency_ms!r}")
        try:
            detail_json = canonical_json(detail or {})
        except (TypeError, ValueError) as exc:
            raise LedgerError(f"event detail is not JSON: {exc}", document=document_id, step=step) from exc
        pending: list[dict[str, Any]] = s.info.setdefault("events", [])
        pending.append(
            {
                "document_id": document_id,
                "step": step,
                "outcome": outcome,
                "from_state": None if from_state is None else from_state.value,
                "to_state": None if to_state is None else to_state.value,
                "latency_ms": latency_ms,
                "credential": credential,
                "payload_sha256": payload_sha256,
                "detail": detail_json,
                "created_at": now,
            }
        )

    def _write_events(self, s: Session) -> list[dict[str, Any]]:
        """Chain and insert the events the transaction added (in the order added): the chain head
        is locked here, last (the locking order), and held only until the commit that follows.
        Core statements, one insert for all of them. Returns their columns as written."""
        self._flush_pending(s)  # the documents (and links) the events refer to
        pending: list[dict[str, Any]] = s.info.pop("events", [])
        if not pending:
            return []
        conn = s.connection()
        known = s.info.get("head") or self._head  # this transaction's events so far, or the last commit's
        if known is not None:  # usually still the head: one conditional update moves and locks it
            written = self._chain(pending, *known)
            new = {"new_id": written[-1]["id"], "new_hash": written[-1]["hash"]}
            if conn.execute(_ADVANCE_HEAD, new | {"old_id": known[0], "old_hash": known[1]}).rowcount != 1:
                known = None  # another process appended since: chain from the head as it is
        if known is None:
            head = conn.execute(_HEAD_FOR_UPDATE).one_or_none()
            if head is None:
                raise LedgerIntegrityError("the event chain head (table chain_head, row 1) is missing")
            written = self._chain(pending, int(head.last_id), str(head.last_hash))
            new = {"new_id": written[-1]["id"], "new_hash": written[-1]["hash"]}
            conn.execute(_UPDATE_HEAD, new)
        conn.execute(_INSERT_EVENT, written)
        s.info["head"] = (new["new_id"], new["new_hash"])
        return written

    @staticmethod
    def _flush_pending(s: Session) -> None:
        """Write what the transaction holds back: the documents it created (the session's flush,
        one batch per kind of statement), then the links of new documents (one insert). New
        documents are not flushed one by one as they are recorded: their INSERTs go together, with
        the state they reached in the transaction (e.g. recorded and validated: one row, no UPDATE).
        Until then :meth:`_inbound_duplicate` and the idempotency check see them through
        ``s.info`` instead of the database. Every read and every row that refers to a document
        (events, links, dead letters, the outbox) comes after this."""
        _write_payloads(s)  # (s.flush() does it too, unless there is nothing to flush)
        s.flush()
        links: list[dict[str, Any]] = s.info.pop("links", [])
        if links:
            s.connection().execute(_INSERT_LINK, links)

    @staticmethod
    def _chain(pending: list[dict[str, Any]], last_id: int, last_hash: str) -> list[dict[str, Any]]:
        """``pending`` events numbered and hashed after the event ``last_id`` whose hash is ``last_hash``."""
        event_id, digest = last_id, last_hash
        for values in pending:
            event_id += 1
            values["id"], values["prev_hash"] = event_id, digest
            fields = {("detail_json" if k == "detail" else k): v for k, v in values.items() if k != "hash"}
            values["hash"] = digest = hash_fields(**fields)
        return pending

    def _claim_if_free(self, row: DocumentRow, worker: str | None, now: datetime) -> None:
        """Claim ``row`` for ``worker`` if it is in a work state and nobody holds a live claim."""
        if worker is None or State(row.state) not in WORK_STATES[Direction(row.direction)]:
            return
        live = row.claimed_until is not None and row.claimed_until > now
        if row.claimed_by in (None, worker) or not live:
            row.claimed_by = worker
            row.claimed_until = now + self._lease

    def _check_claim(self, row: DocumentRow, worker: str | None, now: datetime) -> None:
        if worker is None or row.claimed_by in (None, worker):
            return
        if row.claimed_until is not None and row.claimed_until > now:
            raise LedgerBusyError(
                "the document is claimed by another worker",
                document=row.id,
                partner=row.partner,
                claimed_by=row.claimed_by,
                claimed_until=row.claimed_until.isoformat(),
                reason="claim_lost",
            )

    def _move(
        self,
        s: Session,
        row: DocumentRow,
        to_state: State,
        *,
        step: str,
        outcome: str,
        now: datetime,
        detail: Mapping[str, Any] | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        payload_sha256: str | None = None,
        reason: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """THE one place a document changes state: checks the table, keeps the bookkeeping
        (resume state, attempts, claim, dead letters) and appends the event."""
        direction = Direction(row.direction)
        from_state = State(row.state)
        if not is_legal(direction, from_state, to_state):
            exits = ", ".join(sorted(allowed(direction, from_state))) or "nowhere (a final state)"
            raise IllegalTransitionError(
                f"an {direction.value}bound document cannot go from {from_state} to {to_state}; from {from_state} it may go to {exits}",
                document=row.id,
                partner=row.partner,
                kind=row.kind,
                from_state=from_state.value,
                to_state=to_state.value,
            )
        work = WORK_STATES[direction]
        if to_state in work:
            row.resume_state = None
            if from_state is not State.RETRY_WAIT:  # progress, or an operator's fresh start
                row.attempts = 0
                row.last_error = None
        elif from_state in work:
            row.resume_state = from_state.value
        if to_state not in work:
            row.claimed_by = None
            row.claimed_until = None
        row.next_attempt_at = (next_attempt_at or now) if to_state is State.RETRY_WAIT else None
        if from_state in _ATTENTION_ROWS:
            s.execute(
                update(DeadLetterRow)
                .where(DeadLetterRow.document_id == row.id, DeadLetterRow.resolved_at.is_(None))
                .values(resolved_at=now, resolution="dropped" if to_state is State.DROPPED else "retried")
            )
        if to_state in _ATTENTION_ROWS:
            why = reason or f"{step}: {outcome}"
            row.last_error = why
            self._flush_pending(s)  # the document the dead letter refers to, if it is new
            s.add(
                DeadLetterRow(
                    document_id=row.id,
                    state=to_state.value,
                    reason=why,
                    attempts=row.attempts,
                    created_at=now,
                )
            )
        if payload_sha256 is not None and row.payload_sha256 is None:
            row.payload_sha256 = payload_sha256
        row.state = to_state.value
        row.updated_at = now
        self._append_event(
            s,
            document_id=row.id,
            step=step,
            outcome=outcome,
            now=now,
            from_state=from_state,
            to_state=to_state,
            latency_ms=latency_ms,
            credential=credential,
            payload_sha256=payload_sha256,
            detail=detail,
        )

    def _add_links(
        self,
        s: Session,
        from_id: str,
        links: Iterable[tuple[Relation | str, str]],
        now: datetime,
        *,
        new: bool = False,
    ) -> None:
        """``new``: ``from_id`` was created in this transaction, so it has no links yet: they wait
        for :meth:`_flush_pending` (with the document's INSERT), one insert for the transaction's."""
        if not new:
            self._flush_pending(s)
        pending: list[dict[str, Any]] = s.info.setdefault("links", [])
        for relation, to_id in links:
            rel = _relation(relation)
            if to_id not in self._locked(s):  # (created or locked in this transaction: it is there)
                self._doc_row(s, to_id)
            key = {"from_document": from_id, "to_document": to_id, "relation": rel.value}
            if new:
                if not any(
                    all(p[k] == v for k, v in key.items()) for p in pending if p["from_document"] == from_id
                ):
                    pending.append(key | {"created_at": now})
                continue
            exists = s.scalars(
                select(LinkRow).where(
                    LinkRow.from_document == from_id,
                    LinkRow.to_document == to_id,
                    LinkRow.relation == rel.value,
                )
            ).first()
            if exists is None:
                s.add(LinkRow(from_document=from_id, to_document=to_id, relation=rel.value, created_at=now))
        if not new:
            s.flush()

    # --- recording documents -----------------------------------------------------------------

    def record_inbound(
        self,
        partner: str,
        kind: str,
        payload: bytes,
        *,
        file_name: str | None = None,
        business_key: str | None = None,
        isa13: str | None = None,
        gs06: str | None = None,
        st02: str | None = None,
        docnum: str | None = None,
        meta: DocumentMeta | None = None,
        links: Iterable[tuple[Relation | str, str]] = (),
        step: str = "receive",
        detail: Mapping[str, Any] | None = None,
        credential: str | None = None,
        latency_ms: int | None = None,
        worker: str | None = None,
    ) -> tuple[Document, bool]:
        """Record a received document in state ``received``, once: returns ``(document, created)``.

        Idempotent. The payload is stored (once per content). If this partner already sent a
        document with the same content (SHA-256), the same ISA13, or the same ``kind`` and
        ``business_key`` (an 850's PO number), nothing new is recorded: the existing document
        is returned with ``created=False`` and a ``duplicate`` event on it says which key
        matched and which payload came (unique indexes make this hold across concurrent
        workers and processes too). Give ``isa13`` only for the document that stands for the
        interchange. ``meta`` fills ``isa13``/``gs06``/``st02`` not given explicitly. ``docnum`` is
        the DOCNUM of a received SAP IDoc (the first, for a file of several): kept, not a key.
        ``links`` are ``(relation, other_document_id)``: this document *relation* the other.

        With ``worker``, the document is claimed for that worker (see :meth:`claim`) when it is
        created, or when it already exists in a work state with no live claim on it (a crashed
        worker's document, delivered again): the caller goes on with it only if
        ``document.claimed_by == worker``. Two processes that pick up the same file at once
        thus never both advance it.
        """
        partner = _name(partner, "partner", 64)
        kind = _name(kind, "kind", 64)
        worker = _name(worker, "worker", 200) if worker is not None else None
        if meta is not None:
            if meta.partner_id is not None and meta.partner_id != partner:
                raise LedgerError(
                    f"meta.partner_id {meta.partner_id!r} is not the partner {partner!r}", partner=partner
                )
            isa13 = isa13 if isa13 is not None else meta.interchange_control_number
            gs06 = gs06 if gs06 is not None else meta.group_control_number
            st02 = st02 if st02 is not None else meta.set_control_number
        business_key = _text(business_key, "business_key", 128, required=False)
        isa13 = _text(isa13, "isa13", 16, required=False)
        gs06 = _text(gs06, "gs06", 16, required=False)
        st02 = _text(st02, "st02", 16, required=False)
        docnum = _text(docnum, "docnum", 16, required=False)
        file_name = _text(file_name, "file_name", 1024, required=False)
        links = list(links)

        def work(s: Session) -> tuple[Document, bool]:
            now = self._now()
            sha = self._store_payload(s, payload, now)
            duplicate = self._inbound_duplicate(s, partner, kind, sha, isa13, business_key)
            if duplicate is not None:
                row, matched = duplicate
                info: dict[str, Any] = {"matched_on": matched, "file": file_name, "isa13": isa13}
                info.update({"business_key": business_key, "same_content": row.payload_sha256 == sha})
                self._append_event(
                    s,
                    document_id=row.id,
                    step=step,
                    outcome="duplicate",
                    now=now,
                    latency_ms=latency_ms,
                    credential=credential,
                    payload_sha256=sha,
                    detail={k: v for k, v in info.items() if v is not None} | dict(detail or {}),
                )
                self._claim_if_free(row, worker, now)
                return _doc(row), False
            row = DocumentRow(
                id=str(uuid.uuid4()),
                direction=Direction.IN.value,
                partner=partner,
                kind=kind,
                state=State.RECEIVED.value,
                business_key=business_key,
                isa13=isa13,
                gs06=gs06,
                st02=st02,
                docnum=docnum,
                set_count=1,
                payload_sha256=sha,
                file_name=file_name,
                created_at=now,
                updated_at=now,
                attempts=0,
            )
            self._claim_if_free(row, worker, now)
            s.add(row)  # inserted with the transaction's other new documents (_flush_pending)
            self._locked(s)[row.id] = row  # new: nobody else sees it before the commit
            s.info.setdefault("new_in", []).append(row)
            self._add_links(s, row.id, links, now, new=True)
            self._append_event(
                s,
                document_id=row.id,
                step=step,
                outcome="ok",
                now=now,
                to_state=State.RECEIVED,
                latency_ms=latency_ms,
                credential=credential,
                payload_sha256=sha,
                detail={"file": file_name, **(detail or {})} if file_name else detail,
            )
            return _doc(row), True

        return self._tx("record_inbound", work, race=True, partner=partner, file=file_name, isa13=isa13)

    def preload_inbound(
        self, partner: str, payloads: Iterable[bytes], isa13s: Iterable[str | None] = ()
    ) -> None:
        """Inside :meth:`atomic`, before several :meth:`record_inbound` calls of ``partner``: look
        up in one statement the documents that could make them duplicates (the same content, the
        same ISA13), instead of one lookup per call. Those calls then check their content and
        ISA13 against what was found (and against the transaction's own new documents); a call
        with another key, or a business key, looks up as before. Outside an atomic it does
        nothing. A document another process records in the meantime fails the transaction at its
        insert (a unique index), and the atomic runs again and finds it."""
        outer = self._in_atomic()
        if outer is None:
            return
        s = outer[0]
        partner = _name(partner, "partner", 64)
        shas = {_sha256(bytes(p)) for p in payloads}
        numbers = {n for n in isa13s if n is not None}
        mine = DocumentRow.partner == partner
        rows: list[DocumentRow] = []
        with s.no_autoflush:
            for column, values in ((DocumentRow.payload_sha256, shas), (DocumentRow.isa13, numbers)):
                for batch in _batches(sorted(values), 400):
                    stmt = select(DocumentRow).where(
                        DocumentRow.direction == Direction.IN.value, mine, column.in_(batch)
                    )
                    rows += s.scalars(stmt)
        known = s.info.setdefault("preloaded", {}).setdefault(partner, {"keys": set(), "rows": {}})
        known["keys"] |= {("content", sha) for sha in shas} | {("isa13", n) for n in numbers}
        known["rows"].update({r.id: r for r in rows})

    def _inbound_duplicate(
        self, s: Session, partner: str, kind: str, sha: str, isa13: str | None, business_key: str | None
    ) -> tuple[DocumentRow, str] | None:
        known = s.info.get("preloaded", {}).get(partner)
        wanted = {("content", sha)} | ({("isa13", isa13)} if isa13 is not None else set())
        if known is not None and business_key is None and wanted <= known["keys"]:
            rows = list(known["rows"].values())  # preloaded (preload_inbound): no lookup
        else:
            # the partner in every alternative: each is then one lookup in its unique index (SQLite's
            # multi-index OR, PostgreSQL's BitmapOr) instead of a scan of all the partner's documents
            mine = DocumentRow.partner == partner
            keys = [and_(mine, DocumentRow.payload_sha256 == sha)]
            if isa13 is not None:
                keys.append(and_(mine, DocumentRow.isa13 == isa13))
            if business_key is not None:
                keys.append(and_(mine, DocumentRow.kind == kind, DocumentRow.business_key == business_key))
            with s.no_autoflush:  # this transaction's new documents are not written yet: see below
                stmt = select(DocumentRow).where(DocumentRow.direction == Direction.IN.value, or_(*keys))
                rows = list(s.scalars(stmt))
        new: list[DocumentRow] = s.info.get("new_in", [])
        rows += [r for r in new if r.partner == partner]  # recorded earlier in this transaction
        checks: list[tuple[str, Callable[[DocumentRow], bool]]] = [
            ("content", lambda r: r.payload_sha256 == sha),
            ("isa13", lambda r: isa13 is not None and r.isa13 == isa13),
            (
                "business_key",
                lambda r: business_key is not None and r.kind == kind and r.business_key == business_key,
            ),
        ]
        for matched, check in checks:
            for row in rows:
                if check(row):
                    return row, matched
        return None

    def record_outbound(
        self,
        partner: str,
        kind: str,
        *,
        payload: bytes | Callable[[Allocation], bytes] | None = None,
        levels: Iterable[Level | str] = (Level.ISA, Level.GS, Level.ST),
        sets: int = 1,
        state: State | str = State.PICKED_UP,
        business_key: str | None = None,
        idempotency_key: str | None = None,
        file_name: str | None = None,
        links: Iterable[tuple[Relation | str, str]] = (),
        step: str = "record",
        detail: Mapping[str, Any] | None = None,
        credential: str | None = None,
        latency_ms: int | None = None,
        worker: str | None = None,
        new_key: bool = False,
    ) -> Document:
        """Record a document to send and allocate its control numbers, in one transaction.

        For each of ``levels`` the partner's counter advances (ISA13, GS06 and DOCNUM by one, ST02
        by ``sets``; DOCNUM's counter is one for the whole ledger) under a row lock (PostgreSQL
        ``SELECT ... FOR UPDATE``; SQLite ``BEGIN
        IMMEDIATE``), and the numbers are stored on the document before anything commits: a
        number is issued at most once, even across crashes and concurrent processes, and a
        rolled-back recording consumes none. See :mod:`erpbridge.ledger.numbers` for the wrap.

        ``payload`` may be bytes, or a function that receives the :class:`Allocation` and returns
        the bytes (e.g. the X12 writer with those control numbers); it runs inside the
        transaction, so keep it quick and free of I/O. ``state`` is ``picked_up``, ``mapped``
        or ``written``. With an ``idempotency_key`` already recorded, the existing document is
        returned unchanged and no numbers are allocated. With ``worker``, the document is claimed
        as :meth:`record_inbound` does: go on with it only if ``document.claimed_by == worker``.

        ``new_key=True``: the caller knows that no document holds ``idempotency_key`` yet (it is
        made of the id of a document created in this same transaction, e.g. the acknowledgment of
        a file just recorded), so it is not looked up. The unique index still refuses a second
        document with the key: the transaction fails instead (LedgerError).
        """
        worker = _name(worker, "worker", 200) if worker is not None else None
        partner = _name(partner, "partner", 64)
        kind = _name(kind, "kind", 64)
        initial = _state(state)
        if initial not in INITIAL_STATES[Direction.OUT]:
            choices = ", ".join(sorted(INITIAL_STATES[Direction.OUT]))
            raise LedgerError(
                f"an outbound document starts in one of {choices}, not {initial}", partner=partner
            )
        wanted = {_level(level) for level in levels}
        if not isinstance(sets, int) or not 1 <= sets <= 999_999:
            raise LedgerError(f"sets must be an integer from 1 to 999999, got {sets!r}", partner=partner)
        business_key = _text(business_key, "business_key", 128, required=False)
        idempotency_key = _text(idempotency_key, "idempotency_key", 200, required=False)
        file_name = _text(file_name, "file_name", 1024, required=False)
        links = list(links)

        def work(s: Session) -> Document:
            now = self._now()
            if idempotency_key is not None:
                existing: DocumentRow | None = s.info.get("new_keys", {}).get(idempotency_key)
                if existing is None and not new_key:
                    with s.no_autoflush:  # this transaction's new documents are in new_keys
                        existing = s.scalars(
                            select(DocumentRow).where(DocumentRow.idempotency_key == idempotency_key)
                        ).first()
                if existing is not None:
                    if (existing.direction, existing.partner, existing.kind) != (
                        Direction.OUT.value,
                        partner,
                        kind,
                    ):
                        raise LedgerError(
                            "idempotency key already used for another document",
                            idempotency_key=idempotency_key,
                            document=existing.id,
                        )
                    self._claim_if_free(existing, worker, now)
                    s.flush()
                    return _doc(existing)
            allocation = self._allocate(s, partner, wanted, sets, now)
            data = payload(allocation) if callable(payload) else payload
            sha = self._store_payload(s, data, now) if data is not None else None
            row = DocumentRow(
                id=str(uuid.uuid4()),
                direction=Direction.OUT.value,
                partner=partner,
                kind=kind,
                state=initial.value,
                business_key=business_key,
                idempotency_key=idempotency_key,
                isa13=format_number(Level.ISA, allocation.isa13) if allocation.isa13 is not None else None,
                gs06=format_number(Level.GS, allocation.gs06) if allocation.gs06 is not None else None,
                st02=format_number(Level.ST, allocation.st02) if allocation.st02 is not None else None,
                docnum=(
                    format_number(Level.DOCNUM, allocation.docnum) if allocation.docnum is not None else None
                ),
                set_count=sets if allocation.st02 is not None else 1,
                payload_sha256=sha,
                file_name=file_name,
                created_at=now,
                updated_at=now,
                attempts=0,
            )
            self._claim_if_free(row, worker, now)
            s.add(row)  # inserted with the transaction's other new documents (_flush_pending)
            self._locked(s)[row.id] = row  # new: nobody else sees it before the commit
            if idempotency_key is not None:
                s.info.setdefault("new_keys", {})[idempotency_key] = row
            self._add_links(s, row.id, links, now, new=True)
            numbers = {"isa13": row.isa13, "gs06": row.gs06, "st02": row.st02, "docnum": row.docnum}
            info: dict[str, Any] = {k: v for k, v in numbers.items() if v is not None}
            if allocation.wrapped:
                info["wrapped"] = [level.value for level in allocation.wrapped]
            self._append_event(
                s,
                document_id=row.id,
                step=step,
                outcome="ok",
                now=now,
                to_state=initial,
                latency_ms=latency_ms,
                credential=credential,
                payload_sha256=sha,
                detail=info | dict(detail or {}),
            )
            return _doc(row)

        return self._tx("record_outbound", work, race=idempotency_key is not None, partner=partner, kind=kind)

    def reserve_numbers(self, partner: str, interchanges: int) -> None:
        """Inside :meth:`atomic`, before up to ``interchanges`` :meth:`record_outbound` calls for
        ``partner`` that each take one ISA13, one GS06 and one ST02 (e.g. a chunk's 997s): take
        those numbers in one statement, for those calls to use in turn, instead of one statement
        each. The counters stay locked until the commit, as with any allocation, and the numbers
        not used by then are given back before it, so no number is skipped. A counter that is new
        or has wrapped makes it do nothing (each call then takes the longer way, with its checks).
        Outside an atomic it does nothing."""
        outer = self._in_atomic()
        if outer is None or interchanges < 1:
            return
        s, durable = outer
        if not durable:
            raise LedgerError("reserve_numbers allocates control numbers: not inside atomic(durable=False)")
        partner = _name(partner, "partner", 64)
        pools: dict[str, dict[Level, list[int]]] = s.info.setdefault("reserved", {})
        if partner in pools:
            return  # one reservation per partner and transaction
        params = {
            "b_partner": partner,
            "b_count": interchanges,
            "b_maximum": _ENVELOPE_MAXIMUM,
            "b_now": self._now(),
        }
        got = {Level(level): int(last) for level, last in s.connection().execute(_RESERVE_ENVELOPE, params)}
        if len(got) < len(_ENVELOPE):  # not all three: give back what was taken, no reservation
            for level, last in got.items():
                back = {
                    "b_partner": partner,
                    "b_level": level.value,
                    "b_last": last,
                    "b_back_to": last - interchanges,
                }
                s.connection().execute(_GIVE_BACK, back)
            return
        # per level: [next number to use, last number reserved]
        pools[partner] = {level: [last - interchanges + 1, last] for level, last in got.items()}

    def _return_unused_numbers(self, s: Session) -> None:
        """Give back the reserved numbers no call used (the last ones of each block), before the
        commit: the counters are still locked by this transaction, so no other process took a
        number after them (and if this transaction did, the block's rest is left unused)."""
        pools: dict[str, dict[Level, list[int]]] = s.info.pop("reserved", {})
        for partner, pool in pools.items():
            for level, (following, last) in pool.items():
                if following <= last:
                    back = {
                        "b_partner": partner,
                        "b_level": level.value,
                        "b_last": last,
                        "b_back_to": following - 1,
                    }
                    s.connection().execute(_GIVE_BACK, back)

    def _allocate(self, s: Session, partner: str, levels: set[Level], sets: int, now: datetime) -> Allocation:
        numbers: dict[Level, int] = {}
        wrapped: list[Level] = []
        pool = s.info.get("reserved", {}).get(partner)
        if (
            pool is not None
            and levels == set(_ENVELOPE)
            and sets == 1
            and all(a <= b for a, b in pool.values())
        ):
            for level in _ENVELOPE:  # from the block reserve_numbers took
                numbers[level] = pool[level][0]
                pool[level][0] += 1
            return Allocation(
                isa13=numbers[Level.ISA], gs06=numbers[Level.GS], st02=numbers[Level.ST], sets=1, wrapped=()
            )
        advanced: dict[Level, tuple[int, int]] = {}  # by the one statement: last value and wraps
        if levels.issuperset(_ENVELOPE):
            params = {"b_partner": partner, "b_sets": sets, "b_maximum": _ENVELOPE_MAXIMUM, "b_now": now}
            for level, last, wraps in s.connection().execute(_ADVANCE_ENVELOPE, params):
                advanced[Level(level)] = (int(last), int(wraps))
        for level in (Level.ISA, Level.GS, Level.ST, Level.DOCNUM):  # always this order: no lock cycles
            if level not in levels:
                continue
            count = sets if level is Level.ST else 1
            if level in advanced:
                last, wraps = advanced[level]
                first, wrap = last - count + 1, False
                if level in REUSE_CHECKED and wraps > 0:
                    self._check_reuse(s, partner, level, first, now)
            else:  # a new counter, or a wrap: the longer way
                first, wrap = self._advance(s, counter_owner(partner, level), level, count, now)
            if wrap:
                wrapped.append(level)
            numbers[level] = first
        return Allocation(
            isa13=numbers.get(Level.ISA),
            gs06=numbers.get(Level.GS),
            st02=numbers.get(Level.ST),
            sets=sets if Level.ST in numbers else 1,
            wrapped=tuple(wrapped),
            docnum=numbers.get(Level.DOCNUM),
        )

    def _advance(self, s: Session, partner: str, level: Level, count: int, now: datetime) -> tuple[int, bool]:
        """Take the next ``count`` numbers of a counter; the row stays locked until commit.

        Usually one ``UPDATE ... RETURNING`` (which locks the row like ``SELECT ... FOR
        UPDATE``); a new counter or a wrap takes the longer way through :meth:`_counter`."""
        maximum = MAXIMUM[level]
        params = {
            "b_partner": partner,
            "b_level": level.value,
            "b_count": count,
            "b_maximum": maximum,
            "b_now": now,
        }
        returned = s.connection().execute(_ADVANCE, params).first()  # (Core: no autoflush)
        if returned is not None:
            last, wraps = returned
            first = int(last) - count + 1
            if level in REUSE_CHECKED and wraps > 0:
                self._check_reuse(s, partner, level, first, now)
            return first, False
        row = self._counter(s, partner, level, now)
        first, wrap = next_block(row.last_value, count, maximum)
        if wrap and level in LEDGER_WIDE:
            raise LedgerError(
                f"the {level} counter is at its maximum {maximum}: no number is ever issued twice",
                level=level.value,
            )
        if level in REUSE_CHECKED and (wrap or row.wraps > 0):
            self._check_reuse(s, partner, level, first, now)
        row.last_value = first + count - 1
        row.updated_at = now
        if wrap:
            row.wraps += 1
        s.flush()
        return first, wrap

    def _counter(self, s: Session, partner: str, level: Level, now: datetime) -> ControlNumberRow:
        """The partner's counter row for ``level``, created at 0 if new, locked until commit."""
        stmt = (
            select(ControlNumberRow)
            .where(ControlNumberRow.partner == partner, ControlNumberRow.level == level.value)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = s.scalars(stmt).one_or_none()
        if row is None:
            insert = postgresql.insert if self._backend == "postgresql" else sqlite.insert
            s.execute(
                insert(ControlNumberRow)
                .values(partner=partner, level=level.value, last_value=0, wraps=0, updated_at=now)
                .on_conflict_do_nothing(index_elements=["partner", "level"])
            )
            row = s.scalars(stmt).one()
        return row

    def _check_reuse(self, s: Session, partner: str, level: Level, number: int, now: datetime) -> None:
        column = DocumentRow.isa13 if level is Level.ISA else DocumentRow.gs06
        shown = format_number(level, number)
        last_used = s.scalar(
            select(func.max(DocumentRow.created_at)).where(
                DocumentRow.direction == Direction.OUT.value, DocumentRow.partner == partner, column == shown
            )
        )
        if last_used is not None:
            if last_used.tzinfo is None:
                last_used = last_used.replace(tzinfo=UTC)
            if now - last_used < self._reuse_after:
                name = "ISA13" if level is Level.ISA else "GS06"
                raise LedgerError(
                    f"{name} for {partner} would wrap to {shown}, which was sent on {last_used:%Y-%m-%d}, "
                    f"less than {self._reuse_after.days} days ago; the partner could take the new interchange "
                    "for a duplicate",
                    partner=partner,
                    level=level.value,
                    number=shown,
                )

    def control_numbers(self, partner: str) -> dict[Level, int]:
        """The last number issued to ``partner`` per level (levels never used are absent). The
        ledger-wide DOCNUM counter is under the partner ``"*"``."""
        partner = _name(partner, "partner", 64)

        def work(s: Session) -> dict[Level, int]:
            rows = s.scalars(select(ControlNumberRow).where(ControlNumberRow.partner == partner)).all()
            return {Level(r.level): r.last_value for r in rows}

        return self._tx("control_numbers", work, write=False, partner=partner)

    def set_control_number(self, partner: str, level: Level | str, last_value: int) -> None:
        """Set the last number issued (e.g. to continue a legacy translator's numbering).

        Counters only move forward: a value below the current one raises LedgerError, because
        the numbers in between may already be with the partner. DOCNUM's counter is ledger-wide:
        any ``partner`` sets it (the one under ``"*"``).
        """
        lvl = _level(level)
        partner = counter_owner(_name(partner, "partner", 64), lvl)
        if not isinstance(last_value, int) or not 0 <= last_value <= MAXIMUM[lvl]:
            raise LedgerError(
                f"{lvl} control numbers run 0 .. {MAXIMUM[lvl]}, not {last_value!r}", partner=partner
            )

        def work(s: Session) -> None:
            now = self._now()
            row = self._counter(s, partner, lvl, now)
            if last_value < row.last_value:
                raise LedgerError(
                    f"the {lvl} counter is at {row.last_value}; it cannot go back to {last_value}",
                    partner=partner,
                    level=lvl.value,
                )
            row.last_value = last_value
            row.updated_at = now

        self._tx("set_control_number", work, partner=partner, level=lvl.value)

    # --- moving documents --------------------------------------------------------------------

    def transition(
        self,
        doc_id: str,
        to_state: State | str,
        *,
        step: str,
        outcome: str = "ok",
        detail: Mapping[str, Any] | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        worker: str | None = None,
        payload: bytes | None = None,
        reason: str | None = None,
        outbox: Iterable[str] = (),
    ) -> Document:
        """Move a document to ``to_state`` and append the event, in one transaction.

        Raises :class:`IllegalTransitionError` (nothing changes) unless the state table
        (:mod:`erpbridge.ledger.states`) allows the move from the current state. With
        ``worker``, raises LedgerBusyError (``reason=claim_lost``) when another worker holds a
        live claim on the document. ``payload`` is stored and referred to by the event (and
        becomes the document's payload if it had none, e.g. an outbound document's written
        X12). ``reason`` is the dead-letter reason when moving to ``quarantined`` or
        ``dead_lettered``. ``outbox`` targets are enqueued for delivery in the same
        transaction (key ``<doc_id>:<target>``, see :meth:`enqueue`). Moving forward resets
        ``attempts``; moving to a state that is not a work state releases the claim.
        """
        target = _state(to_state)
        targets = [_name(t, "outbox target", 128) for t in outbox]

        def work(s: Session) -> Document:
            return self._transition_in(
                s,
                doc_id,
                target,
                step=step,
                outcome=outcome,
                detail=detail,
                latency_ms=latency_ms,
                credential=credential,
                worker=worker,
                payload=payload,
                reason=reason,
                targets=targets,
            )

        # a state move is redone from the ledger if a power cut undoes it: no need to wait for the disk
        return self._tx("transition", work, durable=False, document=doc_id, to_state=target.value, step=step)

    def transitions(
        self, moves: Sequence[tuple[str, State | str, Mapping[str, Any]]], *, worker: str | None = None
    ) -> list[Document]:
        """Several :meth:`transition` calls in one transaction, in order: ``(doc_id, to_state,
        keyword arguments of transition)`` each (``worker`` for all of them). The same checks and
        events as one call each, but the documents are locked with one statement first. All the
        moves happen, or none does. Returns each document after its move."""
        checked = [(doc_id, _state(to), dict(kw)) for doc_id, to, kw in moves]
        for _, _, kw in checked:
            if "worker" in kw:
                raise LedgerError("give transitions() its worker once, not in a move")
            kw["targets"] = [_name(t, "outbox target", 128) for t in kw.pop("outbox", ())]

        def work(s: Session) -> list[Document]:
            self._lock_docs(s, (doc_id for doc_id, _, _ in checked))
            return [self._transition_in(s, doc_id, to, worker=worker, **kw) for doc_id, to, kw in checked]

        if not checked:
            return []
        return self._tx("transitions", work, durable=False, documents=len(checked))

    def _transition_in(
        self,
        s: Session,
        doc_id: str,
        target: State,
        *,
        step: str,
        outcome: str = "ok",
        detail: Mapping[str, Any] | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        worker: str | None = None,
        payload: bytes | None = None,
        reason: str | None = None,
        targets: Sequence[str] = (),
    ) -> Document:
        """:meth:`transition`'s work in the transaction ``s``."""
        now = self._now()
        row = self._lock_doc(s, doc_id)
        self._check_claim(row, worker, now)
        sha = self._store_payload(s, payload, now) if payload is not None else None
        self._move(
            s,
            row,
            target,
            step=step,
            outcome=outcome,
            now=now,
            detail=detail,
            latency_ms=latency_ms,
            credential=credential,
            payload_sha256=sha,
            reason=reason,
        )
        for name in targets:
            self._enqueue(s, row, name, f"{row.id}:{name}", now)
        return _doc(row)

    def note(
        self,
        doc_id: str,
        *,
        step: str,
        outcome: str,
        detail: Mapping[str, Any] | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        payload: bytes | None = None,
    ) -> Event:
        """Append an event to a document without changing its state (a step with no move, e.g.
        ``archive_remote``); ``payload`` is stored and referred to by the event."""

        def work(s: Session) -> Event:
            now = self._now()
            row = self._doc_row(s, doc_id)
            sha = self._store_payload(s, payload, now) if payload is not None else None
            self._append_event(
                s,
                document_id=row.id,
                step=step,
                outcome=outcome,
                now=now,
                latency_ms=latency_ms,
                credential=credential,
                payload_sha256=sha,
                detail=detail,
            )
            v = self._write_events(s)[-1]  # now, for its id and hash (inside an atomic() too)
            states = {k: State(v[k]) if v[k] else None for k in ("from_state", "to_state")}
            return Event(**(v | {"detail": json.loads(v["detail"])} | states))

        return self._tx("note", work, document=doc_id, step=step)

    def fail(
        self,
        doc_id: str,
        error: BaseException,
        *,
        step: str,
        worker: str | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Document:
        """Record that ``step`` failed for a document in a work state, and decide what follows.

        * A transient error (``error.transient``; errors that are not erpbridge's count as
          transient) with attempts left: ``retry_wait``, with ``next_attempt_at`` after
          :func:`~erpbridge.ledger.retry.backoff_delay` (at least the ``retry_after`` seconds in
          the error's context, if any). :meth:`claim` resumes it when that time has come.
        * A transient error on the policy's last attempt: ``dead_lettered``.
        * A terminal error: ``quarantined`` at once.

        The reason (``ClassName: message (context)``) goes to ``last_error``, the event and the
        dead letter. Returns the document as it is now.
        """
        reason = describe(error)
        transient = is_transient(error)
        context = {k: str(v) for k, v in context_of(error).items()}

        def work(s: Session) -> Document:
            now = self._now()
            row = self._lock_doc(s, doc_id)
            self._check_claim(row, worker, now)
            attempts = row.attempts + 1
            info: dict[str, Any] = {"error": reason, "transient": transient, "attempt": attempts}
            if context:
                info["context"] = context
            info |= dict(detail or {})
            row.attempts = attempts
            row.last_error = reason
            common: dict[str, Any] = {
                "step": step,
                "now": now,
                "latency_ms": latency_ms,
                "credential": credential,
            }
            if transient and attempts < self._policy.max_attempts:
                delay = backoff_delay(attempts, self._policy, retry_after=retry_after_of(error))
                when = now + timedelta(seconds=delay)
                info |= {"delay_s": round(delay, 3), "next_attempt_at": when.isoformat()}
                self._move(
                    s, row, State.RETRY_WAIT, outcome="retry", next_attempt_at=when, detail=info, **common
                )
            elif transient:
                self._move(
                    s, row, State.DEAD_LETTERED, outcome="dead_lettered", reason=reason, detail=info, **common
                )
            else:
                self._move(
                    s, row, State.QUARANTINED, outcome="quarantined", reason=reason, detail=info, **common
                )
            return _doc(row)

        return self._tx("fail", work, document=doc_id, step=step)

    # --- work distribution ---------------------------------------------------------------

    def claim(
        self,
        states: Iterable[State | str],
        limit: int,
        worker: str,
        *,
        lease: timedelta | None = None,
        direction: Direction | str | None = None,
        partner: str | None = None,
        kind: str | None = None,
    ) -> list[Document]:
        """Claim up to ``limit`` documents in ``states`` for ``worker``, oldest first (of one
        ``direction``, ``partner`` and ``kind`` when given).

        Claimable: documents in one of ``states`` not waiting for a retry, and documents in
        ``retry_wait`` whose ``resume_state`` is one of ``states`` and whose ``next_attempt_at``
        has come (those are moved back to their resume state, with an event); in both cases
        only if no live claim is on them. Each gets ``claimed_by=worker`` and a lease
        (``claimed_until``, default the ledger's ``lease``); a crashed worker's claims expire.

        Two workers never receive the same document while a claim is live: PostgreSQL uses
        ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED`` (workers skip each other's rows instead of
        waiting); SQLite has one writer at a time (``BEGIN IMMEDIATE``).
        """
        wanted = sorted({_state(s).value for s in states})
        worker = _name(worker, "worker", 200)
        if not isinstance(limit, int) or limit < 1:
            raise LedgerError(f"limit must be a positive integer, got {limit!r}")
        how_long = lease or self._lease
        way = Direction(direction).value if direction is not None else None
        if not wanted:
            return []

        def work(s: Session) -> list[Document]:
            now = self._now()
            ready = and_(
                DocumentRow.state.in_(wanted),
                or_(DocumentRow.next_attempt_at.is_(None), DocumentRow.next_attempt_at <= now),
            )
            resumable = and_(
                DocumentRow.state == State.RETRY_WAIT.value,
                DocumentRow.resume_state.in_(wanted),
                DocumentRow.next_attempt_at <= now,
            )
            stmt = select(DocumentRow).where(
                or_(ready, resumable),
                or_(DocumentRow.claimed_until.is_(None), DocumentRow.claimed_until <= now),
            )
            if way is not None:
                stmt = stmt.where(DocumentRow.direction == way)
            if partner is not None:
                # SQLite would search the partner's index and filter every document the partner ever
                # had; hidden from it behind coalesce(), the states' index finds the few at work
                column = (
                    func.coalesce(DocumentRow.partner, "")
                    if self._backend == "sqlite"
                    else DocumentRow.partner
                )
                stmt = stmt.where(column == partner)
            if kind is not None:
                stmt = stmt.where(DocumentRow.kind == kind)
            stmt = (
                stmt.order_by(DocumentRow.created_at, DocumentRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True, key_share=True)
                .execution_options(populate_existing=True)
            )
            rows = list(s.scalars(stmt).all())
            for row in rows:
                row.claimed_by = worker
                row.claimed_until = now + how_long
                if row.state == State.RETRY_WAIT.value and row.resume_state is not None:
                    self._move(
                        s,
                        row,
                        State(row.resume_state),
                        step="retry",
                        outcome="resumed",
                        now=now,
                        detail={"attempt": row.attempts + 1, "worker": worker},
                    )
                    row.claimed_by = worker
                    row.claimed_until = now + how_long
            s.flush()
            return [_doc(row) for row in rows]

        return self._tx("claim", work, worker=worker)

    def release(self, doc_id: str, worker: str) -> bool:
        """Give up ``worker``'s claim on a document; False if it did not hold one."""

        def work(s: Session) -> bool:
            result = s.execute(
                update(DocumentRow)
                .where(DocumentRow.id == doc_id, DocumentRow.claimed_by == worker)
                .values(claimed_by=None, claimed_until=None)
            )
            return bool(getattr(result, "rowcount", 0))

        return self._tx("release", work, document=doc_id, worker=worker)

    def scheduler_lock(self, name: str, *, lease: timedelta | None = None) -> SchedulerLock:
        """A named lock that one process at a time holds, for scheduled batches (one leader).

        PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection the lock
        keeps open; it ends with :meth:`SchedulerLock.release` or when the process dies. SQLite:
        a row in ``scheduler_locks`` with a lease (default the ledger's ``lease``) that the
        holder extends with :meth:`SchedulerLock.renew`; an expired lease can be taken over.
        Nothing is acquired until :meth:`SchedulerLock.acquire` (or ``with``).
        """
        return SchedulerLock(self, _name(name, "lock name", 128), lease or self._lease)

    # --- job runs ------------------------------------------------------------------------

    def start_job(
        self,
        job: str,
        worker: str,
        *,
        detail: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
    ) -> JobRun:
        """Record that ``worker`` started a run of the scheduled ``job`` (outcome ``running``);
        ``started_at`` (default now) for a run recorded once it turned out to matter."""
        job, worker = _name(job, "job", 128), _name(worker, "worker", 200)

        def work(s: Session) -> JobRun:
            row = JobRunRow(
                job=job,
                worker=worker,
                started_at=started_at or self._now(),
                finished_at=None,
                outcome="running",
                detail=canonical_json(dict(detail or {})),
            )
            s.add(row)
            s.flush()
            return _job_run(row)

        return self._tx("start_job", work, job=job)

    def finish_job(self, run_id: int, outcome: str, *, detail: Mapping[str, Any] | None = None) -> JobRun:
        """Close a job run with ``outcome`` (``ok`` or ``failed``) and what it did."""
        if outcome not in ("ok", "failed"):
            raise LedgerError(f"a job run ends ok or failed, not {outcome!r}")

        def work(s: Session) -> JobRun:
            row = s.get(JobRunRow, run_id)
            if row is None:
                raise LedgerError(f"no job run {run_id}")
            row.finished_at, row.outcome = self._now(), outcome
            row.detail = canonical_json(dict(detail or {}))
            s.flush()
            return _job_run(row)

        return self._tx("finish_job", work, run=run_id)

    def job_runs(self, job: str | None = None, *, limit: int = 20) -> list[JobRun]:
        """The latest runs, newest first; of one ``job`` if given."""

        def work(s: Session) -> list[JobRun]:
            stmt = select(JobRunRow).order_by(JobRunRow.started_at.desc(), JobRunRow.id.desc()).limit(limit)
            if job is not None:
                stmt = stmt.where(JobRunRow.job == job)
            return [_job_run(r) for r in s.scalars(stmt)]

        return self._tx("job_runs", work, job=job)

    def last_job_runs(self) -> dict[str, JobRun]:
        """The latest run of every job that ever ran, by job name."""

        def work(s: Session) -> dict[str, JobRun]:
            latest = (
                select(JobRunRow.job, func.max(JobRunRow.id).label("last")).group_by(JobRunRow.job).subquery()
            )
            rows = s.scalars(select(JobRunRow).join(latest, JobRunRow.id == latest.c.last))
            return {r.job: _job_run(r) for r in rows}

        return self._tx("last_job_runs", work)

    # --- reconciliation discrepancies -----------------------------------------------------

    def record_discrepancies(self, run_id: int, found: Iterable[Discrepancy]) -> int:
        """Record what the reconciliation job run ``run_id`` found, in one transaction; how many.

        The run's ``job`` and the discrepancies' are the caller's business (``reconcile:inventory``
        and ``inventory``); ``id``, ``run_id`` and ``created_at`` of the records given are ignored."""
        rows = [
            {
                "job": _name(d.job, "job", 64),
                "partner": _name(d.partner, "partner", 128),
                "subject": d.subject[:300],
                "check": _name(d.check, "check", 64),
                "sides": canonical_json({str(k): str(v) for k, v in d.sides.items()}),
                "owner": _member(Owner, d.owner, "owner").value,
                "action": d.action,
                "remedy": d.remedy,
                "delta": float(d.delta),
                "document_id": d.document_id,
            }
            for d in found
        ]

        def work(s: Session) -> int:
            if s.get(JobRunRow, run_id) is None:
                raise LedgerError(f"no job run {run_id}")
            now = self._now()
            if rows:
                s.execute(insert(DiscrepancyRow), [{**r, "run_id": run_id, "created_at": now} for r in rows])
            return len(rows)

        return self._tx("record_discrepancies", work, run=run_id)

    def discrepancies(
        self,
        *,
        run_id: int | None = None,
        job: str | None = None,
        partner: str | None = None,
        limit: int | None = 10_000,
    ) -> list[Discrepancy]:
        """Recorded discrepancies, in the order they were recorded: of one run, job or partner."""

        def work(s: Session) -> list[Discrepancy]:
            stmt = select(DiscrepancyRow).order_by(DiscrepancyRow.id)
            if run_id is not None:
                stmt = stmt.where(DiscrepancyRow.run_id == run_id)
            if job is not None:
                stmt = stmt.where(DiscrepancyRow.job == job)
            if partner is not None:
                stmt = stmt.where(DiscrepancyRow.partner == partner)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [_discrepancy(r) for r in s.scalars(stmt)]

        return self._tx("discrepancies", work, write=False, run=run_id)

    def discrepancy_counts(self, run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """How many discrepancies each of ``run_ids`` recorded, per partner (runs without any: absent)."""
        wanted = sorted(set(run_ids))

        def work(s: Session) -> dict[int, dict[str, int]]:
            out: dict[int, dict[str, int]] = {}
            if not wanted:
                return out
            stmt = (
                select(DiscrepancyRow.run_id, DiscrepancyRow.partner, func.count())
                .where(DiscrepancyRow.run_id.in_(wanted))
                .group_by(DiscrepancyRow.run_id, DiscrepancyRow.partner)
            )
            for run, partner, n in s.execute(stmt):
                out.setdefault(int(run), {})[str(partner)] = int(n)
            return out

        return self._tx("discrepancy_counts", work, write=False)

    # --- endpoint pauses -----------------------------------------------------------------

    def pause_endpoint(
        self,
        endpoint: str,
        *,
        reason: str,
        fingerprint: str,
        worker: str,
        document_id: str | None = None,
    ) -> tuple[EndpointPause, bool]:
        """Pause ``endpoint`` (it refused the credentials): ``(pause, created)``. An endpoint already
        paused stays paused as it was (``created=False``). A new pause appends an ``endpoint_pause``
        event (on ``document_id``, the document whose delivery was refused, if any): the exception
        event the notification job tells a person about. ``fingerprint`` is a hash of the credential's
        values, never the values; ``reason`` must name credentials by their references only."""
        endpoint = _name(endpoint, "endpoint", 128)
        worker = _name(worker, "worker", 200)
        fingerprint = _name(fingerprint, "fingerprint", 64)

        def work(s: Session) -> tuple[EndpointPause, bool]:
            row = s.get(EndpointPauseRow, endpoint, with_for_update=True)
            if row is not None:
                return _pause(row), False
            now = self._now()
            if document_id is not None:
                self._doc_row(s, document_id)
            row = EndpointPauseRow(
                endpoint=endpoint,
                paused_at=now,
                reason=reason,
                fingerprint=fingerprint,
                document_id=document_id,
                worker=worker,
            )
            s.add(row)
            s.flush()
            self._append_event(
                s,
                document_id=document_id,
                step="endpoint_pause",
                outcome="paused",
                now=now,
                detail={"endpoint": endpoint, "error": reason},
            )
            return _pause(row), True

        return self._tx("pause_endpoint", work, race=True, endpoint=endpoint)

    def resume_endpoint(self, endpoint: str, *, by: str, reason: str) -> EndpointPause | None:
        """Resume a paused endpoint (``by``: the worker or operator; ``reason``: why, e.g. the
        credential was replaced): the pause it ends, or None when it was not paused. Appends an
        ``endpoint_resume`` event."""
        endpoint = _name(endpoint, "endpoint", 128)

        def work(s: Session) -> EndpointPause | None:
            row = s.get(EndpointPauseRow, endpoint, with_for_update=True)
            if row is None:
                return None
            ended = _pause(row)
            s.delete(row)
            s.flush()
            self._append_event(
                s,
                document_id=None,
                step="endpoint_resume",
                outcome="ok",
                now=self._now(),
                detail={
                    "endpoint": endpoint,
                    "by": by,
                    "reason": reason,
                    "paused_at": ended.paused_at.isoformat(),
                },
            )
            return ended

        return self._tx("resume_endpoint", work, endpoint=endpoint)

    def paused_endpoints(self) -> dict[str, EndpointPause]:
        """Every paused endpoint, by name."""

        def work(s: Session) -> dict[str, EndpointPause]:
            return {r.endpoint: _pause(r) for r in s.scalars(select(EndpointPauseRow))}

        return self._tx("paused_endpoints", work, write=False)

    # --- dead letters --------------------------------------------------------------------

    def dead_letters(
        self, *, partner: str | None = None, include_resolved: bool = False, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters (``dead_lettered`` and ``quarantined`` documents), oldest first.

        Only open ones unless ``include_resolved``."""

        def work(s: Session) -> list[DeadLetter]:
            stmt = select(DeadLetterRow, DocumentRow).join(
                DocumentRow, DocumentRow.id == DeadLetterRow.document_id
            )
            if not include_resolved:
                stmt = stmt.where(DeadLetterRow.resolved_at.is_(None))
            if partner is not None:
                stmt = stmt.where(DocumentRow.partner == partner)
            stmt = stmt.order_by(DeadLetterRow.id).limit(limit)
            return [_dead_letter(dl, doc) for dl, doc in s.execute(stmt)]

        return self._tx("dead_letters", work, write=False, partner=partner)

    def retry_dead_letter(
        self,
        doc_id: str,
        *,
        to_state: State | str | None = None,
        step: str = "operator",
        detail: Mapping[str, Any] | None = None,
    ) -> Document:
        """Send a ``dead_lettered`` or ``quarantined`` document back to work, attempts at 0.

        It goes to ``to_state`` or else the work state it failed in (its ``resume_state``), or
        else its direction's first state; the dead letter is marked ``retried``."""

        def work(s: Session) -> Document:
            now = self._now()
            row = self._lock_doc(s, doc_id)
            if row.state not in (State.DEAD_LETTERED.value, State.QUARANTINED.value):
                raise LedgerError(
                    f"the document is {row.state}, not dead-lettered or quarantined", document=doc_id
                )
            if to_state is not None:
                target = _state(to_state)
            elif row.resume_state is not None:
                target = State(row.resume_state)
            else:
                target = State.RECEIVED if row.direction == Direction.IN.value else State.PICKED_UP
            self._move(s, row, target, step=step, outcome="retried", now=now, detail=detail)
            return _doc(row)

        return self._tx("retry_dead_letter", work, document=doc_id)

    def drop_dead_letter(self, doc_id: str, *, reason: str, step: str = "operator") -> Document:
        """Give up on a ``dead_lettered`` or ``quarantined`` document: it becomes ``dropped`` (final)."""
        reason = _name(reason, "reason", 2000)

        def work(s: Session) -> Document:
            now = self._now()
            row = self._lock_doc(s, doc_id)
            self._move(
                s, row, State.DROPPED, step=step, outcome="dropped", now=now, detail={"reason": reason}
            )
            return _doc(row)

        return self._tx("drop_dead_letter", work, document=doc_id)

    # --- links ---------------------------------------------------------------------------

    def link(self, from_document: str, to_document: str, relation: Relation | str) -> Link:
        """Record ``from_document <relation> to_document`` (idempotent); both must exist."""
        rel = _relation(relation)

        def work(s: Session) -> Link:
            now = self._now()
            self._doc_row(s, from_document)
            self._add_links(s, from_document, [(rel, to_document)], now)
            row = s.scalars(
                select(LinkRow).where(
                    LinkRow.from_document == from_document,
                    LinkRow.to_document == to_document,
                    LinkRow.relation == rel.value,
                )
            ).one()
            return _link(row)

        return self._tx("link", work, race=True, document=from_document, relation=rel.value)

    def links(self, doc_id: str) -> list[Link]:
        """Links from and to a document, oldest first."""

        def work(s: Session) -> list[Link]:
            stmt = (
                select(LinkRow)
                .where(or_(LinkRow.from_document == doc_id, LinkRow.to_document == doc_id))
                .order_by(LinkRow.id)
            )
            return [_link(r) for r in s.scalars(stmt)]

        return self._tx("links", work, write=False, document=doc_id)

    # --- outbox --------------------------------------------------------------------------

    def _enqueue(self, s: Session, doc: DocumentRow, target: str, key: str, now: datetime) -> OutboxRow:
        row = s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == key)).first()
        if row is not None:
            if row.document_id != doc.id or row.target != target:
                raise LedgerError(
                    "idempotency key already used for another delivery",
                    idempotency_key=key,
                    document=row.document_id,
                    target=row.target,
                )
            return row
        row = OutboxRow(
            document_id=doc.id,
            target=target,
            idempotency_key=key,
            state=OutboxState.PENDING.value,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        return row

    def enqueue(self, doc_id: str, target: str, *, idempotency_key: str | None = None) -> OutboxEntry:
        """Queue a delivery of a document to ``target``; idempotent by ``idempotency_key``.

        The key (default ``<doc_id>:<target>``) is unique in the outbox; enqueueing it again
        returns the existing entry. It is what the target should dedupe on (NetSuite
        externalId, SAP reference), so a delivery repeated after a crash has one effect.
        """
        target = _name(target, "target", 128)
        key = _name(idempotency_key or f"{doc_id}:{target}", "idempotency_key", 200)

        def work(s: Session) -> OutboxEntry:
            now = self._now()
            return _outbox(self._enqueue(s, self._doc_row(s, doc_id), target, key, now))

        return self._tx("enqueue", work, race=True, document=doc_id, target=target)

    def outbox(
        self,
        *,
        state: OutboxState | str | None = OutboxState.PENDING,
        target: str | None = None,
        document_id: str | None = None,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        """Outbox entries, oldest first (by default the pending ones)."""

        def work(s: Session) -> list[OutboxEntry]:
            stmt = select(OutboxRow)
            if state is not None:
                stmt = stmt.where(OutboxRow.state == OutboxState(state).value)
            if target is not None:
                stmt = stmt.where(OutboxRow.target == target)
            if document_id is not None:
                stmt = stmt.where(OutboxRow.document_id == document_id)
            return [_outbox(r) for r in s.scalars(stmt.order_by(OutboxRow.id).limit(limit))]

        return self._tx("outbox", work, write=False)

    def _lock_outbox(self, s: Session, key: str) -> OutboxRow:
        row = s.scalars(
            select(OutboxRow)
            .where(OutboxRow.idempotency_key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if row is None:
            raise LedgerError("no such outbox entry", idempotency_key=key)
        return row

    def mark_delivered(
        self,
        idempotency_key: str,
        *,
        external_ref: str | None = None,
        latency_ms: int | None = None,
        credential: str | None = None,
    ) -> OutboxEntry:
        """Mark a delivery done (idempotent) and append a ``deliver`` event to its document.

        ``external_ref`` is the target's ID for the delivered record (for reconciliation)."""
        external_ref = _text(external_ref, "external_ref", 200, required=False)

        def work(s: Session) -> OutboxEntry:
            now = self._now()
            row = self._lock_outbox(s, idempotency_key)
            if row.state == OutboxState.DELIVERED.value:
                return _outbox(row)
            row.state = OutboxState.DELIVERED.value
            row.delivered_at = now
            row.updated_at = now
            row.external_ref = external_ref
            info = {
                "target": row.target,
                "idempotency_key": row.idempotency_key,
                "external_ref": external_ref,
            }
            self._append_event(
                s,
                document_id=row.document_id,
                step="deliver",
                outcome="delivered",
                now=now,
                latency_ms=latency_ms,
                credential=credential,
                detail={k: v for k, v in info.items() if v is not None},
            )
            return _outbox(row)

        return self._tx("mark_delivered", work, idempotency_key=idempotency_key)

    def mark_delivery_failed(
        self,
        idempotency_key: str,
        error: BaseException,
        *,
        latency_ms: int | None = None,
        credential: str | None = None,
    ) -> OutboxEntry:
        """Count a failed delivery attempt (``failed`` for a terminal error, else still ``pending``)
        and append an event; the document itself moves through :meth:`fail`."""
        reason = describe(error)
        transient = is_transient(error)

        def work(s: Session) -> OutboxEntry:
            now = self._now()
            row = self._lock_outbox(s, idempotency_key)
            if row.state == OutboxState.DELIVERED.value:
                raise LedgerError("the delivery is already done", idempotency_key=idempotency_key)
            row.attempts += 1
            row.last_error = reason
            row.updated_at = now
            if not transient:
                row.state = OutboxState.FAILED.value
            self._append_event(
                s,
                document_id=row.document_id,
                step="deliver",
                outcome="delivery_failed",
                now=now,
                latency_ms=latency_ms,
                credential=credential,
                detail={"target": row.target, "idempotency_key": row.idempotency_key, "error": reason},
            )
            return _outbox(row)

        return self._tx("mark_delivery_failed", work, idempotency_key=idempotency_key)

    # --- reading -------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document:
        """The document as it is now; LedgerError if there is none with that ID."""
        return self._tx("get", lambda s: _doc(self._doc_row(s, doc_id)), write=False, document=doc_id)

    def find(
        self,
        *,
        partner: str | None = None,
        direction: Direction | str | None = None,
        kind: str | None = None,
        states: Iterable[State | str] | None = None,
        business_key: str | None = None,
        isa13: str | None = None,
        gs06: str | None = None,
        st02: str | None = None,
        docnum: str | None = None,
        idempotency_key: str | None = None,
        updated_before: datetime | None = None,
        created_since: datetime | None = None,
        id_prefix: str | None = None,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[Document]:
        """Documents matching every criterion given, oldest first (e.g. the outbound document a
        997 acknowledges: ``find(partner=..., direction="out", gs06=...)``; or the ones whose
        acknowledgment is overdue: ``find(states=["sent"], updated_before=cutoff)``).

        ``created_since`` keeps documents recorded at or after that time, ``id_prefix`` those whose
        ID starts with it (``erpbridge ledger show 3f2a``), and ``newest_first`` reverses the order."""
        wanted = [_state(s).value for s in states] if states is not None else None

        def work(s: Session) -> list[Document]:
            stmt = select(DocumentRow)
            filters = {
                DocumentRow.partner: partner,
                DocumentRow.direction: Direction(direction).value if direction is not None else None,
                DocumentRow.kind: kind,
                DocumentRow.business_key: business_key,
                DocumentRow.isa13: isa13,
                DocumentRow.gs06: gs06,
                DocumentRow.st02: st02,
                DocumentRow.docnum: docnum,
                DocumentRow.idempotency_key: idempotency_key,
            }
            for column, value in filters.items():
                if value is not None:
                    stmt = stmt.where(column == value)
            if wanted is not None:
                stmt = stmt.where(DocumentRow.state.in_(wanted))
            if updated_before is not None:
                stmt = stmt.where(DocumentRow.updated_at < updated_before)
            if created_since is not None:
                stmt = stmt.where(DocumentRow.created_at >= created_since)
            if id_prefix is not None:
                stmt = stmt.where(DocumentRow.id.startswith(id_prefix, autoescape=True))
            order = (
                (DocumentRow.created_at.desc(), DocumentRow.id.desc())
                if newest_first
                else (DocumentRow.created_at, DocumentRow.id)
            )
            stmt = stmt.order_by(*order).limit(limit)
            return [_doc(r) for r in s.scalars(stmt)]

        return self._tx("find", work, write=False, partner=partner)

    def last_event_times(self) -> dict[str, datetime]:
        """The time of the last event on any document, per partner (``erpbridge status``)."""

        def work(s: Session) -> dict[str, datetime]:
            stmt = (
                select(DocumentRow.partner, func.max(EventRow.created_at))
                .join(EventRow, EventRow.document_id == DocumentRow.id)
                .group_by(DocumentRow.partner)
            )
            return {str(partner): when for partner, when in s.execute(stmt) if when is not None}

        return self._tx("last_event_times", work, write=False)

    def events(self, doc_id: str | None = None, *, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events in chain order: a document's, or (``doc_id=None``) all, from ``after`` + 1."""

        def work(s: Session) -> list[Event]:
            stmt = select(EventRow).where(EventRow.id > after)
            if doc_id is not None:
                stmt = stmt.where(EventRow.document_id == doc_id)
            return [_event(r) for r in s.scalars(stmt.order_by(EventRow.id).limit(limit))]

        return self._tx("events", work, write=False, document=doc_id)

    def payload(self, sha256: str) -> bytes:
        """A stored payload by its SHA-256; LedgerError if there is none."""

        def work(s: Session) -> bytes:
            row = s.get(PayloadRow, sha256)
            if row is None:
                raise LedgerError("no such payload", sha256=sha256)
            return bytes(row.data)

        return self._tx("payload", work, write=False, sha256=sha256)

    def counts(self) -> dict[tuple[Direction, State], int]:
        """How many documents are in each (direction, state): the status page and its metrics."""

        def work(s: Session) -> dict[tuple[Direction, State], int]:
            stmt = select(DocumentRow.direction, DocumentRow.state, func.count()).group_by(
                DocumentRow.direction, DocumentRow.state
            )
            return {(Direction(d), State(st)): int(n) for d, st, n in s.execute(stmt)}

        return self._tx("counts", work, write=False)

    def partner_counts(
        self, states: Iterable[State | str] | None = None
    ) -> dict[tuple[str, Direction, State], int]:
        """How many documents each partner has in each (direction, state); only in ``states`` if
        given (the metrics ask for the states that are not final, so the query stays on the state
        index instead of counting every archived document). Dead-letter depth is the
        ``quarantined`` plus ``dead_lettered`` counts: each has exactly one open dead letter."""
        wanted = [_state(s).value for s in states] if states is not None else None

        def work(s: Session) -> dict[tuple[str, Direction, State], int]:
            stmt = select(DocumentRow.partner, DocumentRow.direction, DocumentRow.state, func.count())
            if wanted is not None:
                stmt = stmt.where(DocumentRow.state.in_(wanted))
            stmt = stmt.group_by(DocumentRow.partner, DocumentRow.direction, DocumentRow.state)
            return {(str(p), Direction(d), State(st)): int(n) for p, d, st, n in s.execute(stmt)}

        return self._tx("partner_counts", work, write=False)

    def last_event_id(self) -> int:
        """The id of the last event in the log (0 when it is empty): one row read, the cheapest
        question the ledger answers (the metrics endpoint's readiness probe asks it)."""

        def work(s: Session) -> int:
            last = s.execute(select(_HEAD.c.last_id).where(_HEAD.c.id == 1)).scalar_one_or_none()
            if last is None:
                raise LedgerIntegrityError("the event chain head (table chain_head, row 1) is missing")
            return int(last)

        return self._tx("last_event_id", work, write=False)

    def event_counts(self, *, after: int = 0) -> EventCounts:
        """How many events of documents the log holds after event ``after``, by partner, direction,
        kind, step, outcome and states, up to the last event at the time of the call (returned as
        ``last_event_id``: pass it as ``after`` next time to count only what came since).

        Every event up to the chain head is committed when the head is read (the head moves in
        the event's transaction, under its lock), so counting from one head to the next never
        misses an event nor counts one twice. A ``last_event_id`` below ``after`` means the log is
        not the one counted before (another database): start again from 0."""

        def work(s: Session) -> EventCounts:
            last = s.execute(select(_HEAD.c.last_id).where(_HEAD.c.id == 1)).scalar_one_or_none()
            head = int(last or 0)
            if head <= after:
                return EventCounts(last_event_id=head, counts={})
            columns = (
                DocumentRow.partner,
                DocumentRow.direction,
                DocumentRow.kind,
                EventRow.step,
                EventRow.outcome,
                EventRow.from_state,
                EventRow.to_state,
            )
            stmt = (
                select(*columns, func.count())
                .join(DocumentRow, DocumentRow.id == EventRow.document_id)
                .where(EventRow.id > after, EventRow.id <= head)
                .group_by(*columns)
            )
            counts = {
                EventKey(
                    partner=str(partner),
                    direction=Direction(direction),
                    kind=str(kind),
                    step=str(step),
                    outcome=str(outcome),
                    from_state=State(from_state) if from_state else None,
                    to_state=State(to_state) if to_state else None,
                ): int(n)
                for partner, direction, kind, step, outcome, from_state, to_state, n in s.execute(stmt)
            }
            return EventCounts(last_event_id=head, counts=counts)

        return self._tx("event_counts", work, write=False)

    def step_latencies(
        self, steps: Iterable[str], *, after: int = 0, upto: int | None = None, limit: int = 10_000
    ) -> list[StepLatency]:
        """The events of ``steps`` that carry a latency, on documents, after event ``after`` and up
        to ``upto`` (default: no bound), in chain order, at most ``limit``: page with the last
        ``event_id`` as the next ``after``. The id range makes a page a primary-key range scan."""
        wanted = sorted({_name(step, "step", 64) for step in steps})
        if not isinstance(limit, int) or limit < 1:
            raise LedgerError(f"limit must be a positive integer, got {limit!r}")

        def work(s: Session) -> list[StepLatency]:
            if not wanted:
                return []
            stmt = (
                select(EventRow, DocumentRow.partner, DocumentRow.direction, DocumentRow.kind)
                .join(DocumentRow, DocumentRow.id == EventRow.document_id)
                .where(EventRow.id > after, EventRow.step.in_(wanted), EventRow.latency_ms.is_not(None))
                .order_by(EventRow.id)
                .limit(limit)
            )
            if upto is not None:
                stmt = stmt.where(EventRow.id <= upto)
            return [
                StepLatency(
                    event_id=row.id,
                    document_id=str(row.document_id),
                    partner=str(partner),
                    direction=Direction(direction),
                    kind=str(kind),
                    step=row.step,
                    outcome=row.outcome,
                    latency_ms=int(row.latency_ms or 0),
                    created_at=row.created_at,
                    detail=json.loads(row.detail),
                )
                for row, partner, direction, kind in s.execute(stmt)
            ]

        return self._tx("step_latencies", work, write=False)

    def export(self, doc_id: str) -> Export:
        """Everything about one document: itself, its payload bytes, every payload its events refer
        to, its events (chain order), links, dead letters and deliveries."""

        def work(s: Session) -> Export:
            doc = self._doc_row(s, doc_id)
            events = [
                _event(r)
                for r in s.scalars(
                    select(EventRow).where(EventRow.document_id == doc_id).order_by(EventRow.id)
                )
            ]
            links = [
                _link(r)
                for r in s.scalars(
                    select(LinkRow)
                    .where(or_(LinkRow.from_document == doc_id, LinkRow.to_document == doc_id))
                    .order_by(LinkRow.id)
                )
            ]
            shas = {e.payload_sha256 for e in events if e.payload_sha256} | (
                {doc.payload_sha256} if doc.payload_sha256 else set()
            )
            payloads = {
                r.sha256: bytes(r.data)
                for r in s.scalars(select(PayloadRow).where(PayloadRow.sha256.in_(shas)))
            }
            dead = [
                _dead_letter(r, doc)
                for r in s.scalars(
                    select(DeadLetterRow)
                    .where(DeadLetterRow.document_id == doc_id)
                    .order_by(DeadLetterRow.id)
                )
            ]
            deliveries = [
                _outbox(r)
                for r in s.scalars(
                    select(OutboxRow).where(OutboxRow.document_id == doc_id).order_by(OutboxRow.id)
                )
            ]
            return Export(
                document=_doc(doc),
                payload=payloads.get(doc.payload_sha256) if doc.payload_sha256 else None,
                payloads=payloads,
                events=tuple(events),
                links=tuple(links),
                dead_letters=tuple(dead),
                outbox=tuple(deliveries),
            )

        return self._tx("export", work, write=False, document=doc_id)

    def verify(self) -> int:
        """Walk the event log's hash chain; return the number of events when it holds.

        Checks, in chain order, that event ids run 1, 2, 3 ... without gaps, that each event's
        ``prev_hash`` is the previous event's hash, that each event's fields hash to its stored
        ``hash``, and that the chain head (last id and hash) matches the last event. Raises
        :class:`LedgerIntegrityError` at the first problem, naming the event (``event=<id>``),
        what was expected and what was found. A consistent snapshot is read (REPEATABLE READ on
        PostgreSQL), so verifying while workers append is fine.
        """

        def work(s: Session) -> int:
            if self._backend == "postgresql":
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            head = s.get(ChainHeadRow, 1)
            if head is None:
                raise LedgerIntegrityError("the event chain head (table chain_head, row 1) is missing")
            expected_id, prev = 1, GENESIS
            stmt = select(EventRow).order_by(EventRow.id).execution_options(yield_per=1000)
            with closing(s.scalars(stmt)) as rows:  # closes PostgreSQL's server-side cursor on errors too
                for row in rows:
                    where: dict[str, Any] = {"event": row.id, "document": row.document_id, "step": row.step}
                    if row.id != expected_id:
                        missing = (
                            f"event {expected_id}"
                            if row.id == expected_id + 1
                            else f"events {expected_id}..{row.id - 1}"
                        )
                        raise LedgerIntegrityError(
                            f"{missing} missing from the event log: event {row.id} follows event {expected_id - 1}",
                            **where,
                        )
                    if row.prev_hash != prev:
                        raise LedgerIntegrityError(
                            f"event {row.id}: prev_hash {row.prev_hash} is not the hash of event {row.id - 1} ({prev}); "
                            f"event {row.id - 1} was changed or replaced",
                            **where,
                            expected=prev,
                            found=row.prev_hash,
                        )
                    digest = hash_fields(
                        id=row.id,
                        document_id=row.document_id,
                        step=row.step,
                        outcome=row.outcome,
                        from_state=row.from_state,
                        to_state=row.to_state,
                        latency_ms=row.latency_ms,
                        credential=row.credential,
                        payload_sha256=row.payload_sha256,
                        detail_json=row.detail,
                        created_at=row.created_at,
                        prev_hash=row.prev_hash,
                    )
                    if digest != row.hash:
                        raise LedgerIntegrityError(
                            f"event {row.id}: its fields hash to {digest} but its stored hash is {row.hash}; "
                            "the event was changed after it was written",
                            **where,
                            expected=row.hash,
                            found=digest,
                        )
                    expected_id, prev = row.id + 1, row.hash
            count = expected_id - 1
            if (head.last_id, head.last_hash) != (count, prev):
                raise LedgerIntegrityError(
                    f"the chain head says {head.last_id} events ending in {head.last_hash}, but the log has {count} "
                    f"ending in {prev}; events at the end were removed, or the head was changed",
                    event=count + 1 if head.last_id > count else head.last_id,
                    expected=f"{head.last_id}:{head.last_hash}",
                    found=f"{count}:{prev}",
                )
            return count

        return self._tx("verify", work, write=False)


class SchedulerLock:
    """A named lock held by one process at a time (see :meth:`Ledger.scheduler_lock`).

    ::

        with ledger.scheduler_lock("nightly") as lock:
            if lock.held:
                run_the_batch()   # call lock.renew() now and then on SQLite
    """

    def __init__(self, ledger: Ledger, name: str, lease: timedelta) -> None:
        self.name = name
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ledger = ledger
        self._lease = lease
        self._conn: Connection | None = None
        self._held = False
        digest = hashlib.sha256(f"erpbridge:scheduler:{name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (as of its last acquire or renew)."""
        return self._held

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True if this object now holds it."""
        if self._held:
            return self.renew()
        ledger = self._ledger
        if ledger.backend == "postgresql":
            with _db.translated("scheduler_lock", lock=self.name):
                conn = ledger._engine.connect()
                try:
                    got = bool(
                        conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one()
                    )
                    conn.commit()
                except BaseException:
                    conn.invalidate()
                    conn.close()
                    raise
            if got:
                self._conn = conn
            else:
                conn.close()
        else:
            got = ledger._tx("scheduler_lock", self._take, lock=self.name)
        self._held = got
        if got:
            ledger._locks.add(self)
        return got

    def _take(self, s: Session) -> bool:
        now = self._ledger._now()
        row = s.get(SchedulerLockRow, self.name, populate_existing=True)
        if row is None:
            s.add(
                SchedulerLockRow(
                    name=self.name, holder=self.holder, acquired_at=now, expires_at=now + self._lease
                )
            )
            return True
        if row.holder != self.holder and row.expires_at > now:
            return False
        if row.holder != self.holder:
            row.acquired_at = now
        row.holder = self.holder
        row.expires_at = now + self._lease
        return True

    def renew(self) -> bool:
        """Extend the lease (SQLite) or check the connection holding the lock (PostgreSQL).

        False means the lock is lost (lease taken over, connection gone): stop the batch."""
        if not self._held:
            return False
        ledger = self._ledger
        if ledger.backend == "postgresql":
            assert self._conn is not None
            try:
                with _db.translated("scheduler_lock", lock=self.name):
                    self._conn.execute(text("SELECT 1")).scalar_one()
                    self._conn.commit()
            except LedgerBusyError:
                self._drop_connection()
                self._held = False
        else:
            self._held = ledger._tx("scheduler_lock", self._extend, lock=self.name)
        if not self._held:
            ledger._locks.discard(self)
        return self._held

    def _extend(self, s: Session) -> bool:
        now = self._ledger._now()
        row = s.get(SchedulerLockRow, self.name, populate_existing=True)
        if row is None or row.holder != self.holder:
            return False
        row.expires_at = now + self._lease
        return True

    def release(self) -> None:
        """Give the lock up (no-op if not held). On PostgreSQL the lock's connection is closed."""
        if not self._held:
            return
        self._held = False
        ledger = self._ledger
        ledger._locks.discard(self)
        if ledger.backend == "postgresql":
            conn = self._conn
            if conn is None:
                return
            try:
                with _db.translated("scheduler_lock", lock=self.name):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                    conn.commit()
            finally:
                self._drop_connection()
        else:

            def work(s: Session) -> None:
                s.execute(
                    delete(SchedulerLockRow).where(
                        SchedulerLockRow.name == self.name, SchedulerLockRow.holder == self.holder
                    )
                )

            ledger._tx("scheduler_lock", work, lock=self.name)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.invalidate()  # never back to the pool: the session may still hold the lock
            conn.close()

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"SchedulerLock({self.name!r}, held={self._held})"


__all__ = ["Ledger", "SchedulerLock"]
