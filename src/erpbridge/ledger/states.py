"""The document state machine: every legal state change, in one table.

Theory of operation
-------------------
A document is one file or record that erpbridge received (``in``) or produces (``out``). It moves
through the states below, and only :meth:`erpbridge.ledger.Ledger.transition` (with ``fail``,
``claim`` and the dead-letter operations, which use the same code path) moves it: each move is
checked against :data:`TRANSITIONS` and appends one event to the hash-chained log in the same
transaction. A move that is not in the table raises
:class:`~erpbridge.errors.IllegalTransitionError` and changes nothing.

Inbound (partner -> erpbridge -> ERP)::

    received ─▶ validated ─▶ acknowledged ─▶ mapped ─▶ delivered ─▶ archived
                    ├─▶ mapped                  (no 997 wanted)
                    ├─▶ rejected ─▶ archived    (our 997/999 rejected it)
                    └─▶ archived                (nothing to deliver: an inbound 997 once applied)

Outbound (ERP -> erpbridge -> partner)::

    picked_up ─▶ mapped ─▶ written ─▶ sent ─▶ acknowledged ─▶ archived
                                       ├─▶ rejected ─▶ archived      (their 997 said R)
                                       ├─▶ ack_overdue ─▶ acknowledged | rejected | sent | dropped
                                       └─▶ archived                  (no acknowledgment expected)

Branches, for both directions. A *work state* (:data:`WORK_STATES`: a worker acts on documents
in it) may fail:

* ``retry_wait``: a transient failure; :meth:`Ledger.fail` sets ``next_attempt_at`` and
  remembers the work state in ``resume_state``. ``claim`` moves it back there when the time comes.
* ``dead_lettered``: transient failures exhausted the retry policy. Listed, retried or dropped
  by an operator.
* ``quarantined``: a terminal error (a bad document, refused credentials): no retry until
  someone fixes the cause, then retried (back to a work state) or dropped.

``archived`` and ``dropped`` are final. ``rejected``, ``ack_overdue``, ``quarantined`` and
``dead_lettered`` need a person (:data:`ATTENTION_STATES`). Leaving ``quarantined`` or
``dead_lettered`` for a work state is a fresh start (attempts back to 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class Direction(StrEnum):
    """Which way a document travels: ``in`` from a partner, ``out`` to a partner."""

    IN = "in"
    OUT = "out"


class State(StrEnum):
    """Every state a document can be in (the meaning depends on the direction, see the module)."""

    # inbound
    RECEIVED = "received"
    VALIDATED = "validated"
    DELIVERED = "delivered"
    # outbound
    PICKED_UP = "picked_up"
    WRITTEN = "written"
    SENT = "sent"
    ACK_OVERDUE = "ack_overdue"
    # both
    ACKNOWLEDGED = "acknowledged"
    MAPPED = "mapped"
    REJECTED = "rejected"
    ARCHIVED = "archived"
    RETRY_WAIT = "retry_wait"
    QUARANTINED = "quarantined"
    DEAD_LETTERED = "dead_lettered"
    DROPPED = "dropped"


_S = State

#: Where a document may go from each state. Nothing else is legal.
TRANSITIONS: Final[Mapping[Direction, Mapping[State, frozenset[State]]]] = {
    Direction.IN: {
        _S.RECEIVED: frozenset({_S.VALIDATED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.VALIDATED: frozenset(
            {_S.ACKNOWLEDGED, _S.MAPPED, _S.REJECTED, _S.ARCHIVED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}
        ),
        _S.ACKNOWLEDGED: frozenset({_S.MAPPED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.MAPPED: frozenset({_S.DELIVERED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.DELIVERED: frozenset({_S.ARCHIVED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.REJECTED: frozenset({_S.ARCHIVED}),
        _S.RETRY_WAIT: frozenset(
            {_S.RECEIVED, _S.VALIDATED, _S.ACKNOWLEDGED, _S.MAPPED, _S.DELIVERED, _S.QUARANTINED, _S.DEAD_LETTERED}
        ),
        _S.QUARANTINED: frozenset({_S.RECEIVED, _S.VALIDATED, _S.ACKNOWLEDGED, _S.MAPPED, _S.DELIVERED, _S.DROPPED}),
        _S.DEAD_LETTERED: frozenset({_S.RECEIVED, _S.VALIDATED, _S.ACKNOWLEDGED, _S.MAPPED, _S.DELIVERED, _S.DROPPED}),
        _S.ARCHIVED: frozenset(),
        _S.DROPPED: frozenset(),
    },
    Direction.OUT: {
        _S.PICKED_UP: frozenset({_S.MAPPED, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.MAPPED: frozenset({_S.WRITTEN, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.WRITTEN: frozenset({_S.SENT, _S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.SENT: frozenset({_S.ACKNOWLEDGED, _S.REJECTED, _S.ACK_OVERDUE, _S.ARCHIVED}),
        _S.ACK_OVERDUE: frozenset({_S.ACKNOWLEDGED, _S.REJECTED, _S.SENT, _S.DROPPED}),
        _S.ACKNOWLEDGED: frozenset({_S.ARCHIVED}),
        _S.REJECTED: frozenset({_S.ARCHIVED}),
        _S.RETRY_WAIT: frozenset({_S.PICKED_UP, _S.MAPPED, _S.WRITTEN, _S.QUARANTINED, _S.DEAD_LETTERED}),
        _S.QUARANTINED: frozenset({_S.PICKED_UP, _S.MAPPED, _S.WRITTEN, _S.DROPPED}),
        _S.DEAD_LETTERED: frozenset({_S.PICKED_UP, _S.MAPPED, _S.WRITTEN, _S.DROPPED}),
        _S.ARCHIVED: frozenset(),
        _S.DROPPED: frozenset(),
    },
}  # fmt: skip

#: States a document may be recorded in (``record_inbound`` / ``record_outbound``).
INITIAL_STATES: Final[Mapping[Direction, frozenset[State]]] = {
    Direction.IN: frozenset({_S.RECEIVED}),
    Direction.OUT: frozenset({_S.PICKED_UP, _S.MAPPED, _S.WRITTEN}),
}

#: States a worker acts on: claimable, and the ones a failure can be retried from.
WORK_STATES: Final[Mapping[Direction, frozenset[State]]] = {
    Direction.IN: frozenset({_S.RECEIVED, _S.VALIDATED, _S.ACKNOWLEDGED, _S.MAPPED, _S.DELIVERED}),
    Direction.OUT: frozenset({_S.PICKED_UP, _S.MAPPED, _S.WRITTEN}),
}

#: States with no way out.
FINAL_STATES: Final[frozenset[State]] = frozenset({_S.ARCHIVED, _S.DROPPED})

#: States where a person has to look (dead-letter depth, rejections, missing acknowledgments).
ATTENTION_STATES: Final[frozenset[State]] = frozenset(
    {_S.QUARANTINED, _S.DEAD_LETTERED, _S.REJECTED, _S.ACK_OVERDUE}
)

#: States a failure leads to; the dead-letter list holds documents in the last two.
FAILURE_STATES: Final[frozenset[State]] = frozenset({_S.RETRY_WAIT, _S.QUARANTINED, _S.DEAD_LETTERED})


def states_of(direction: Direction) -> frozenset[State]:
    """Every state a document of ``direction`` can be in."""
    return frozenset(TRANSITIONS[direction])


def allowed(direction: Direction, state: State) -> frozenset[State]:
    """The states a document of ``direction`` in ``state`` may move to (empty for unknown states)."""
    return TRANSITIONS[direction].get(state, frozenset())


def is_legal(direction: Direction, from_state: State, to_state: State) -> bool:
    """Whether the table allows ``from_state -> to_state`` for a document of ``direction``."""
    return to_state in allowed(direction, from_state)
