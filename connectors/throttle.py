"""A concurrency limit that halves on 429 and creeps back up on success (AIMD).

Worker threads take a slot around each HTTP attempt. When the server says "too many requests",
holding eight connections open only earns more 429s, so the limit halves (never below one); each
run of successes as long as the current limit raises it by one, back to the configured maximum.
Waiting for ``Retry-After`` happens outside the slot, so other workers keep going meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    """At most ``limit`` concurrent holders; ``limit`` adapts between 1 and ``maximum``."""

    def __init__(self, maximum: int) -> None:
        if maximum < 1:
            raise ValueError("concurrency must be >= 1")
        self.maximum = maximum
        self._limit = maximum
        self._active = 0
        self._streak = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self._active >= self._limit:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            self.release()

    def try_acquire(self) -> bool:
        """Take a slot if one is free now (the page pump cannot block its loop); pair with
        :meth:`release`."""
        with self._cond:
            if self._active >= self._limit:
                return False
            self._active += 1
            return True

    def has_room(self) -> bool:
        """Whether a slot is free at this instant, read without the lock: a hint for a caller
        that only decides whether to wake the page pump, never a reservation."""
        return self._active < self._limit

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify()

    def rate_limited(self) -> None:
        with self._cond:
            self._limit = max(1, self._limit // 2)
            self._streak = 0

    def succeeded(self) -> None:
        with self._cond:
            if self._limit >= self.maximum:
                return
            self._streak += 1
            if self._streak >= self._limit * 4:
                self._limit += 1
                self._streak = 0
                self._cond.notify()
