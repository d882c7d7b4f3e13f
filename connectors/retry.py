"""Bounded retries: which errors to retry, how long to wait, when to give up.

Only :class:`~connectors.errors.RetriableError` is retried; a fatal error (400/401/403/404, other
4xx) propagates on the first attempt. A 429 waits what ``Retry-After`` says (seconds or an HTTP
date), capped at ``max_delay``; everything else backs off exponentially with full jitter
(``uniform(0, min(max_delay, base_delay * 2**n))``), so many workers hitting one failure do not
retry in lock step. Both the number of attempts and the total time are bounded; a wait that
would cross ``max_total`` is not started. ``sleep``, ``clock`` and ``wall_clock`` are injectable,
so tests run the policy on a fake clock without sleeping.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from connectors.errors import RateLimitedError, RetriableError, RetryExhaustedError

__all__ = ["RetryPolicy", "parse_retry_after"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), else None.

    ``now`` is the wall-clock time (``time.time()``) an HTTP date is measured against; a date in
    the past means "now" (0 s).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        return max(0.0, moment.timestamp() - now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    """How a request is retried; one policy may be shared by many threads."""

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_total: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total < 0:
            raise ValueError("delays must be >= 0")

    def delay(self, attempt: int, error: RetriableError) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, ceiling) if self.jitter else ceiling

    def run(
        self,
        operation: Callable[[], T],
        *,
        action: str,
        retry_if: Callable[[RetriableError], bool] | None = None,
        on_retry: Callable[[RetriableError], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> T:
        """Call ``operation`` until it succeeds, fails fatally, or the bounds are reached.

        ``retry_if`` narrows which retriable errors are retried (non-idempotent requests);
        ``on_retry`` is told about each retried error (the client uses it to throttle on 429);
        ``cancelled`` stops further attempts when the caller no longer wants the result.
        """
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation()
            except RetriableError as error:
                if retry_if is not None and not retry_if(error):
                    raise
                if on_retry is not None:
                    on_retry(error)
                elapsed = self.clock() - started
                wait = self.delay(attempt, error)
                if attempt >= self.max_attempts:
                    reason = f"{attempt} attempts"
                elif elapsed + wait > self.max_total:
                    reason = f"the {self.max_total:g} s retry budget"
                elif cancelled is not None and cancelled():
                    raise
                else:
                    _log.debug(
                        "retrying %s in %.2f s (attempt %d failed: %s)",
                        action,
                        wait,
                        attempt,
                        error.message,
                    )
                    self.sleep(wait)
                    continue
                raise RetryExhaustedError(
                    f"gave up on {action} after {reason} ({elapsed:.1f} s): {error.message}",
                    last_error=error,
                    attempts=attempt,
                ) from error
