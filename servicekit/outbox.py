"""The machinery of a durable outbox, shared by the issuer's ledger publication and the verifier's webhooks.

An outbox is a table in the service's own database: a row is written in the same
transaction as the record it announces, and delivered later, at least once, by a
background thread of the service process. What is delivered, and how a delivery is
marked, belongs to each outbox (``issuer.outbox``: ledger entries in order, idempotent by
content id; ``verifier.webhooks``: signed POSTs, each row with its own retry schedule).
This module keeps what they share:

- :class:`DeliveryLoop`: the daemon thread that calls a delivery step, sleeping between
  steps — a short poll while idle, at once again while busy, exponential backoff (0.5 s
  doubling to 30 s) while the step fails — and that another thread can :meth:`~DeliveryLoop.wake`;
- :func:`backoff`: exponential backoff with jitter for per-row retry schedules;
- :func:`crash_point`: ``ZKCRED_CRASH_AT=<name>`` makes the process SIGKILL itself there,
  so crash suites can kill a service between any two steps of a delivery.
"""

from __future__ import annotations

import enum
import logging
import os
import random
import signal
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

CRASH_ENV = "ZKCRED_CRASH_AT"
IDLE_POLL_SECONDS = 1.0
RETRY_MIN_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


def crash_point(name: str) -> None:
    """SIGKILL this process here if ``ZKCRED_CRASH_AT`` names this point (crash suites only)."""
    if os.environ.get(CRASH_ENV) == name:
        logger.warning("crash point %s: killing the process (%s)", name, CRASH_ENV)
        os.kill(os.getpid(), signal.SIGKILL)


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …): exponential with "equal jitter".

    The un-jittered delay is ``min(cap, base · 2^(attempt-1))``; the result is uniform in
    ``[delay/2, delay]``, so receivers that failed together are not retried in lockstep
    while the schedule still grows geometrically.

    >>> [backoff(n, base=5, cap=3600, rng=random.Random(0)) <= 5 * 2 ** (n - 1) for n in (1, 2, 3)]
    [True, True, True]
    >>> backoff(40, base=5, cap=60, rng=random.Random(0)) <= 60
    True
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    delay = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return delay / 2 + (rng or _jitter).uniform(0, delay / 2)


_jitter = random.Random()  # jitter only: no secret depends on it


class Step(enum.Enum):
    """What one delivery step found, and so how long the loop sleeps before the next."""

    IDLE = "idle"  # nothing (more) to do now: poll again after the idle interval
    BUSY = "busy"  # it did a full batch: there may be more, run again at once
    FAILING = "failing"  # it could not deliver (the other side or the database is away): back off


class DeliveryLoop:
    """A daemon thread running ``step`` until stopped; see the module docstring for the timing."""

    def __init__(
        self,
        step: Callable[[], Step],
        *,
        name: str,
        idle: float = IDLE_POLL_SECONDS,
        retry_min: float = RETRY_MIN_SECONDS,
        retry_max: float = RETRY_MAX_SECONDS,
    ) -> None:
        self._step = step
        self.name = name
        self.idle, self.retry_min, self.retry_max = idle, retry_min, retry_max
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Run the next step now (e.g. a row was just committed in this process)."""
        self._wake.set()

    def _run(self) -> None:
        delay, failing = 0.0, False
        while not self._stop.is_set():
            if delay > 0 and self._wake.wait(delay):
                self._wake.clear()
            if self._stop.is_set():
                return
            try:
                result = self._step()
            except Exception:  # a bug or the database away: log, keep trying
                logger.exception("%s: delivery step failed", self.name)
                result = Step.FAILING
            if result is Step.FAILING:  # back off: 0.5 s, 1 s, 2 s, … 30 s
                delay = min(delay * 2, self.retry_max) if failing else self.retry_min
                failing = True
            else:
                delay, failing = (0.0 if result is Step.BUSY else self.idle), False
