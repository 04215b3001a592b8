"""Retry policy: exponential backoff with jitter, honouring a peer's Retry-After. Pure functions."""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from erpbridge.errors import ConfigError, ErpBridgeError


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how fast a transiently failing document is retried.

    The defaults give 5 attempts over about 15 minutes: after failures 1 to 4 the document waits
    about 60, 120, 240 and 480 seconds (900 s in all, each ±20 % jitter); the 5th failure sends it
    to the dead letters.

    Fields:
        max_attempts: failed attempts after which the document is dead-lettered (>= 1)
        initial_delay: seconds to wait after the first failure
        multiplier: each further wait is this many times the previous one
        max_delay: no computed wait is longer than this many seconds
        jitter: each wait is scaled by a random factor in ``[1 - jitter, 1 + jitter]`` (0 <= jitter < 1),
            so that documents that failed together do not all come back together
        max_retry_after: a peer's ``retry_after`` is honoured up to this many seconds
    """

    max_attempts: int = 5
    initial_delay: float = 60.0
    multiplier: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.2
    max_retry_after: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry policy: max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ConfigError("retry policy: delays must not be negative")
        if self.multiplier < 1:
            raise ConfigError(f"retry policy: multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"retry policy: jitter must be in [0, 1), got {self.jitter}")

    def nominal_delays(self) -> list[float]:
        """The waits without jitter after failures 1 .. max_attempts - 1 (the schedule to document)."""
        return [nominal_delay(n, self) for n in range(1, self.max_attempts)]


def nominal_delay(attempt: int, policy: RetryPolicy) -> float:
    """The wait in seconds after failed attempt number ``attempt`` (1-based), before jitter."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    delay = policy.initial_delay * policy.multiplier ** (attempt - 1)
    return float(min(delay, policy.max_delay))


def backoff_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based).

    The nominal delay (:func:`nominal_delay`) times a jitter factor drawn from ``random()`` (a
    float in [0, 1)): ``1 + jitter * (2 * random() - 1)``. When the peer asked for ``retry_after``
    seconds, the wait is at least that (capped at ``policy.max_retry_after``), never shorter.
    The result is never negative.
    """
    delay = nominal_delay(attempt, policy)
    delay *= 1.0 + policy.jitter * (2.0 * random() - 1.0)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(float(retry_after), policy.max_retry_after))
    return max(delay, 0.0)


def retry_after_of(error: BaseException) -> float | None:
    """The ``retry_after`` seconds an erpbridge error carries in its context, if any and valid."""
    if not isinstance(error, ErpBridgeError):
        return None
    value: Any = error.context.get("retry_after")
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


def is_transient(error: BaseException) -> bool:
    """Whether retrying can help: erpbridge errors say so; anything else counts as transient.

    Unknown errors are retried, but only as often as the policy allows, then dead-lettered.
    """
    if isinstance(error, ErpBridgeError):
        return error.transient
    return True


def describe(error: BaseException) -> str:
    """The error as a one-line reason for the ledger: ``ClassName: message (context)``."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def context_of(error: BaseException) -> Mapping[str, Any]:
    """An erpbridge error's context (partner, file, control numbers...), or an empty mapping."""
    return error.context if isinstance(error, ErpBridgeError) else {}
