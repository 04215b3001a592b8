"""The state table: consistent, enforced for every illegal pair, and property-tested on both backends."""

from __future__ import annotations

import itertools
import uuid
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import IllegalTransitionError
from erpbridge.ledger import Direction, Document, Ledger, State, is_legal
from erpbridge.ledger.states import (
    ATTENTION_STATES,
    FINAL_STATES,
    INITIAL_STATES,
    TRANSITIONS,
    WORK_STATES,
    allowed,
    states_of,
)


def test_the_table_is_closed_and_every_state_can_finish() -> None:
    for direction, table in TRANSITIONS.items():
        states = set(table)
        for source, targets in table.items():
            assert targets <= states, (direction, source, targets - states)
            assert source not in targets, f"{direction} {source} -> itself"
        assert INITIAL_STATES[direction] <= states
        assert WORK_STATES[direction] <= states
        assert states >= FINAL_STATES
        assert all(not table[s] for s in FINAL_STATES)
        assert states >= ATTENTION_STATES or direction is Direction.IN
        # every state is reachable from a first state, and from every state a final one is
        reachable = _reachable(direction, INITIAL_STATES[direction])
        assert reachable == states, (direction, states - reachable)
        for state in states:
            assert _reachable(direction, {state}) & FINAL_STATES, (direction, state)
        # every work state can fail every way, and comes back from retry_wait
        for state in WORK_STATES[direction]:
            assert {State.RETRY_WAIT, State.QUARANTINED, State.DEAD_LETTERED} <= table[state]
            assert state in table[State.RETRY_WAIT]


def test_the_documented_happy_paths() -> None:
    inbound = ["received", "validated", "acknowledged", "mapped", "delivered", "archived"]
    outbound = ["picked_up", "mapped", "written", "sent", "acknowledged", "archived"]
    for direction, path in ((Direction.IN, inbound), (Direction.OUT, outbound)):
        for a, b in itertools.pairwise(path):
            assert is_legal(direction, State(a), State(b)), (direction, a, b)
    assert is_legal(Direction.OUT, State.SENT, State.ACK_OVERDUE)
    assert not is_legal(Direction.IN, State.RECEIVED, State.SENT)
    assert allowed(Direction.IN, State.SENT) == frozenset()


def _reachable(direction: Direction, start: set[State] | frozenset[State]) -> set[State]:
    seen, todo = set(start), deque(start)
    while todo:
        for nxt in TRANSITIONS[direction][todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _path_to(direction: Direction, goal: State) -> list[State]:
    """The shortest legal path from the direction's first state to ``goal`` (excluding the start)."""
    start = State.RECEIVED if direction is Direction.IN else State.PICKED_UP
    previous: dict[State, State | None] = {start: None}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        if here == goal:
            break
        for nxt in sorted(TRANSITIONS[direction][here]):
            if nxt not in previous:
                previous[nxt] = here
                todo.append(nxt)
    path: list[State] = []
    node: State | None = goal
    while node is not None and node != start:
        path.append(node)
        node = previous[node]
    return path[::-1]


def _new(ledger: Ledger, direction: Direction) -> Document:
    if direction is Direction.IN:
        doc, created = ledger.record_inbound("acme", "x12/850", f"ISA*{uuid.uuid4()}".encode())
        assert created
        return doc
    return ledger.record_outbound("acme", "x12/855", levels=())


def test_every_illegal_transition_is_refused_and_changes_nothing(ledger: Ledger) -> None:
    for direction in Direction:
        for state in sorted(states_of(direction)):
            doc = _new(ledger, direction)
            for step in _path_to(direction, state):
                ledger.transition(doc.id, step, step="walk")
            before = ledger.get(doc.id)
            assert before.state == state
            events = len(ledger.events(doc.id))
            for target in State:
                if is_legal(direction, state, target):
                    continue
                with pytest.raises(IllegalTransitionError) as caught:
                    ledger.transition(doc.id, target, step="illegal")
                assert caught.value.context["from_state"] == state.value
                assert caught.value.context["to_state"] == target.value
                assert caught.value.context["document"] == doc.id
            assert ledger.get(doc.id) == before
            assert len(ledger.events(doc.id)) == events
    assert ledger.verify() == len(ledger.events(limit=100_000))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(direction=st.sampled_from(list(Direction)), data=st.data())
def test_random_transition_sequences_keep_state_and_chain(
    ledger: Ledger, direction: Direction, data: st.DataObject
) -> None:
    doc = _new(ledger, direction)
    state = doc.state
    legal_moves = [state]
    for _ in range(data.draw(st.integers(0, 12), label="length")):
        exits = sorted(allowed(direction, state))
        if exits and data.draw(st.booleans(), label="try a legal move"):
            target = data.draw(st.sampled_from(exits), label="legal target")
        else:
            target = data.draw(st.sampled_from(list(State)), label="any target")
        if is_legal(direction, state, target):
            moved = ledger.transition(doc.id, target, step="random")
            assert moved.state == target
            state = target
            legal_moves.append(target)
        else:
            with pytest.raises(IllegalTransitionError):
                ledger.transition(doc.id, target, step="random")
    assert ledger.get(doc.id).state == state
    events = [e for e in ledger.events(doc.id) if e.to_state is not None]
    assert [e.to_state for e in events] == legal_moves
    assert [e.from_state for e in events[1:]] == legal_moves[:-1]
    assert ledger.verify() >= len(events)
