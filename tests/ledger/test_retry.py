"""Retries with backoff, dead letters and quarantine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erpbridge.errors import (
    AuthenticationError,
    ConfigError,
    IllegalTransitionError,
    LedgerError,
    TransportError,
    X12SyntaxError,
)
from erpbridge.ledger import Ledger, RetryPolicy, State, backoff_delay
from erpbridge.ledger.retry import describe, is_transient, nominal_delay, retry_after_of
from tests.ledger.helpers import FakeClock

# --- the pure policy ---------------------------------------------------------------------------


def test_the_default_policy_is_five_attempts_over_about_fifteen_minutes() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 5
    assert policy.nominal_delays() == [60.0, 120.0, 240.0, 480.0]
    assert sum(policy.nominal_delays()) == 900.0


def test_backoff_jitter_and_caps() -> None:
    policy = RetryPolicy()
    assert backoff_delay(1, policy, random=lambda: 0.5) == 60.0
    assert backoff_delay(1, policy, random=lambda: 0.0) == pytest.approx(48.0)
    assert backoff_delay(1, policy, random=lambda: 0.999999) == pytest.approx(72.0, rel=1e-4)
    assert backoff_delay(3, policy, random=lambda: 0.5) == 240.0
    assert nominal_delay(20, policy) == 600.0  # max_delay
    assert backoff_delay(1, RetryPolicy(jitter=0)) == 60.0
    for attempt in range(1, 10):
        for r in (0.0, 0.3, 0.7, 0.99):
            delay = backoff_delay(attempt, policy, random=lambda r=r: r)
            assert 0.8 * nominal_delay(attempt, policy) <= delay <= 1.2 * nominal_delay(attempt, policy)
    with pytest.raises(ValueError):
        nominal_delay(0, policy)


def test_retry_after_is_a_minimum_up_to_a_cap() -> None:
    policy = RetryPolicy()
    assert backoff_delay(1, policy, retry_after=1800, random=lambda: 0.5) == 1800.0
    assert backoff_delay(1, policy, retry_after=5, random=lambda: 0.5) == 60.0  # never shorter than backoff
    assert backoff_delay(1, policy, retry_after=10**9, random=lambda: 0.5) == 3600.0
    assert retry_after_of(TransportError("429", retry_after=30)) == 30.0
    assert retry_after_of(TransportError("429", retry_after="120")) == 120.0
    assert retry_after_of(TransportError("429", retry_after="soon")) is None
    assert retry_after_of(TransportError("429", retry_after=-1)) is None
    assert retry_after_of(TransportError("429", retry_after=float("nan"))) is None
    assert retry_after_of(TimeoutError()) is None


def test_policy_validation_and_error_classification() -> None:
    for bad in ({"max_attempts": 0}, {"jitter": 1.0}, {"multiplier": 0.5}, {"initial_delay": -1}):
        with pytest.raises(ConfigError):
            RetryPolicy(**bad)  # type: ignore[arg-type]
    assert is_transient(TransportError("x")) and is_transient(KeyError("unknown errors are retried, capped"))
    assert not is_transient(AuthenticationError("no"))
    assert describe(TransportError("timed  out\nafter 30s", partner="acme")) == (
        "TransportError: timed out after 30s (partner=acme)"
    )


# --- the ledger applies it ---------------------------------------------------------------------


def _received(ledger: Ledger) -> str:
    return ledger.record_inbound("acme", "x12/850", b"ISA*retry")[0].id


def test_transient_failures_back_off_then_dead_letter(ledger: Ledger, clock: FakeClock) -> None:
    doc_id = _received(ledger)
    ledger.transition(doc_id, "validated", step="validate")
    previous_delay = 0.0
    for attempt in range(1, 5):
        [claimed] = ledger.claim(["validated"], 1, "w1")
        assert claimed.state is State.VALIDATED and claimed.attempts == attempt - 1
        failed = ledger.fail(doc_id, TransportError("ERP timed out", partner="acme"), step="ack", worker="w1")
        assert failed.state is State.RETRY_WAIT and failed.attempts == attempt
        assert failed.resume_state is State.VALIDATED and failed.claimed_by is None
        assert failed.last_error == "TransportError: ERP timed out (partner=acme)"
        assert failed.next_attempt_at is not None
        delay = (failed.next_attempt_at - clock.now).total_seconds()
        nominal = RetryPolicy().nominal_delays()[attempt - 1]
        assert 0.8 * nominal <= delay <= 1.2 * nominal and delay > previous_delay * 0.9
        previous_delay = delay
        assert ledger.claim(["validated"], 1, "w1") == []  # not before its time
        clock.now = failed.next_attempt_at
        event = ledger.events(doc_id)[-1]
        assert (event.outcome, event.to_state, event.detail["attempt"]) == (
            "retry",
            State.RETRY_WAIT,
            attempt,
        )
    [claimed] = ledger.claim(["validated"], 1, "w1")
    assert ledger.events(doc_id)[-1].outcome == "resumed"
    dead = ledger.fail(doc_id, TransportError("still down"), step="ack", worker="w1")
    assert dead.state is State.DEAD_LETTERED and dead.attempts == 5
    [letter] = ledger.dead_letters()
    assert (letter.document_id, letter.state, letter.attempts) == (doc_id, State.DEAD_LETTERED, 5)
    assert letter.reason == "TransportError: still down" and letter.partner == "acme"
    clock.advance(days=1)
    assert ledger.claim(["validated"], 1, "w1") == []
    assert ledger.verify() == len(ledger.events(limit=10_000))


def test_retry_after_from_the_error_is_honoured(ledger: Ledger, clock: FakeClock) -> None:
    doc_id = _received(ledger)
    failed = ledger.fail(doc_id, TransportError("429 Too Many Requests", retry_after=1800), step="deliver")
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at - clock.now >= timedelta(seconds=1800)
    assert ledger.events(doc_id)[-1].detail["context"] == {"retry_after": "1800"}


def test_a_terminal_error_quarantines_at_once_and_can_be_retried(ledger: Ledger) -> None:
    doc_id = _received(ledger)
    ledger.transition(doc_id, "validated", step="validate")
    ledger.transition(doc_id, "mapped", step="map")
    quarantined = ledger.fail(
        doc_id, AuthenticationError("NetSuite refused the token", credential="ns-prod"), step="deliver"
    )
    assert quarantined.state is State.QUARANTINED and quarantined.attempts == 1
    [letter] = ledger.dead_letters(partner="acme")
    assert letter.state is State.QUARANTINED and "NetSuite refused the token" in letter.reason
    assert ledger.dead_letters(partner="globex") == []
    retried = ledger.retry_dead_letter(doc_id)
    assert retried.state is State.MAPPED and retried.attempts == 0 and retried.last_error is None
    assert ledger.dead_letters() == []
    [resolved] = ledger.dead_letters(include_resolved=True)
    assert resolved.resolution == "retried" and resolved.resolved_at is not None
    with pytest.raises(LedgerError, match="not dead-lettered"):
        ledger.retry_dead_letter(doc_id)


def test_dropping_a_dead_letter(ledger: Ledger) -> None:
    doc_id = _received(ledger)
    ledger.fail(doc_id, X12SyntaxError("no IEA"), step="validate")
    dropped = ledger.drop_dead_letter(doc_id, reason="partner resent it as a new interchange")
    assert dropped.state is State.DROPPED
    [letter] = ledger.dead_letters(include_resolved=True)
    assert letter.resolution == "dropped"
    assert ledger.events(doc_id)[-1].detail == {"reason": "partner resent it as a new interchange"}
    with pytest.raises(IllegalTransitionError):
        ledger.fail(doc_id, TimeoutError(), step="validate")  # final states do not fail


def test_unknown_errors_are_retried_but_capped(db_url: str, clock: FakeClock) -> None:
    with Ledger.open(db_url, clock=clock, retry_policy=RetryPolicy(max_attempts=2, jitter=0)) as ledger:
        doc_id = _received(ledger)
        first = ledger.fail(doc_id, KeyError("surprise"), step="map")
        assert first.state is State.RETRY_WAIT
        assert first.next_attempt_at == clock.now + timedelta(seconds=60)
        clock.advance(seconds=60)
        ledger.claim(["received"], 1, "w")
        second = ledger.fail(doc_id, KeyError("surprise"), step="map")
        assert second.state is State.DEAD_LETTERED and second.last_error == "KeyError: 'surprise'"
        operator = ledger.retry_dead_letter(doc_id, to_state="received", detail={"by": "on-call"})
        assert operator.state is State.RECEIVED and operator.attempts == 0
