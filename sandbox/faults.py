"""Fault decisions for the API routes, drawn from one seeded RNG so a run can be replayed.

Each decision is a small method the app asks in a fixed order (latency, drop, rate limit, error,
truncation); a fault whose rate is zero draws nothing, so switching one fault on does not change
the draws of another. Counters of what was injected feed the stats route.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate

from sandbox.config import SandboxConfig

__all__ = ["FaultCounters", "FaultInjector"]


@dataclass
class FaultCounters:
    latency: int = 0
    dropped: int = 0
    rate_limited: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    truncated: int = 0
    drift_inserts: int = 0
    drift_deletes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "latency": self.latency,
            "dropped": self.dropped,
            "rate_limited": self.rate_limited,
            "errors": sum(self.errors.values()),
            "errors_by_status": {str(k): v for k, v in sorted(self.errors.items())},
            "truncated": self.truncated,
            "drift_inserts": self.drift_inserts,
            "drift_deletes": self.drift_deletes,
        }


class FaultInjector:
    """Answers "should this request fail, and how?" for one sandbox."""

    ERROR_STATUSES = (500, 502, 503)

    def __init__(
        self,
        config: SandboxConfig,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.counters = FaultCounters()
        self._rng = random.Random(f"faults:{config.seed}")
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        rate = config.rate_limit
        self._capacity = max(1.0, rate) if rate else 0.0
        self._tokens = self._capacity
        self._refilled_at = monotonic()

    def counters_dict(self) -> dict[str, object]:
        with self._lock:
            return self.counters.as_dict()

    def latency_seconds(self) -> float:
        if self.config.latency_ms <= 0:
            return 0.0
        with self._lock:
            self.counters.latency += 1
        return self.config.latency_ms / 1000.0

    def should_drop(self) -> bool:
        return self._draw(self.config.drop_rate, "dropped")

    def should_truncate(self) -> bool:
        return self._draw(self.config.truncate_rate, "truncated")

    def error_status(self) -> int | None:
        if self.config.error_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.config.error_rate:
                return None
            status = self._rng.choice(self.ERROR_STATUSES)
            self.counters.errors[status] = self.counters.errors.get(status, 0) + 1
            return status

    def truncation_point(self, length: int) -> int:
        """Where to cut a body of ``length`` bytes: always inside it, never at either end."""
        with self._lock:
            return self._rng.randint(1, max(1, length - 1))

    def retry_after(self) -> str | None:
        """None when the request may proceed, else the ``Retry-After`` value for a 429.

        A token bucket refilled at ``rate_limit`` per second, holding at most one second's worth
        (and at least one token, so rates below one request per second still admit a request).
        """
        rate = self.config.rate_limit
        if rate is None:
            return None
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._refilled_at) * rate)
            self._refilled_at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            self.counters.rate_limited += 1
            wait = max(1, math.ceil((1.0 - self._tokens) / rate))
        if self.config.retry_after_format == "http-date":
            return formatdate(self._wall_clock() + wait, usegmt=True)
        return str(wait)

    def count_drift(self, inserts: int, deletes: int) -> None:
        with self._lock:
            self.counters.drift_inserts += inserts
            self.counters.drift_deletes += deletes

    def _draw(self, rate: float, counter: str) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit:
                setattr(self.counters, counter, getattr(self.counters, counter) + 1)
            return hit
