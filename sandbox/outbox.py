"""Delivers webhook events the way JobSphere promises: at least once, in no guaranteed order.

Events queue in memory and one background thread with its own ``httpx.Client`` POSTs each one,
signed with every configured secret (rotation). A failed or non-2xx delivery is retried with
exponential backoff up to ``max_attempts`` times. Optional chaos: duplicates (the same event, same
id, sent twice) and shuffling within small windows. :meth:`Outbox.wait_drained` lets tests wait
until everything queued has been delivered or given up.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from connectors.webhook_signature import SIGNATURE_HEADER, sign

__all__ = ["Outbox", "OutboxStats"]

_log = logging.getLogger(__name__)
_SHUFFLE_WINDOW = 8
_SHUFFLE_GATHER_S = 0.1  # how long to let a shuffle window fill before sending it


@dataclass
class OutboxStats:
    queued: int = 0
    sent: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    duplicates: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self, pending: int) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "sent": self.sent,
            "failed": self.failed_attempts,
            "gave_up": self.gave_up,
            "duplicates": self.duplicates,
            "pending": pending,
            "sent_by_type": dict(self.by_type),
        }


class Outbox:
    """A queue of signed webhook deliveries drained by one daemon thread."""

    def __init__(
        self,
        url: str,
        secrets: list[str],
        *,
        seed: int = 0,
        duplicate_rate: float = 0.0,
        shuffle: bool = False,
        max_attempts: int = 5,
        backoff_s: float = 0.05,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("webhooks need at least one signing secret")
        self.url = url
        self._secrets = list(secrets)
        self._rng = random.Random(seed)
        self._duplicate_rate = duplicate_rate
        self._shuffle = shuffle
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._transport = transport
        self._queue: deque[bytes] = deque()
        self._pending = 0
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = OutboxStats()

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue one event (twice, now and then, when duplicates are switched on)."""
        body = orjson.dumps(event)
        copies = 2 if self._rng.random() < self._duplicate_rate else 1
        with self._cond:
            for _ in range(copies):
                self._queue.append(body)
            self._pending += copies
            self.stats.queued += 1
            self.stats.duplicates += copies - 1
            self._cond.notify_all()
            self._ensure_thread()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._pending

    def stats_dict(self) -> dict[str, Any]:
        with self._cond:
            return self.stats.as_dict(self._pending)

    def wait_drained(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery succeeded or was given up; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending == 0, timeout=timeout):
                raise TimeoutError(f"{self._pending} webhook deliveries still pending")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the sender; deliveries not yet made are dropped (the sandbox is going away)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stopping.is_set():
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def _next_batch(self) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._stopping.is_set())
            if self._stopping.is_set():
                return []
            if self._shuffle:
                self._cond.wait_for(
                    lambda: len(self._queue) >= _SHUFFLE_WINDOW or self._stopping.is_set(),
                    timeout=_SHUFFLE_GATHER_S,
                )
            size = _SHUFFLE_WINDOW if self._shuffle else 1
            batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
        if self._shuffle:
            self._rng.shuffle(batch)
        return batch

    def _run(self) -> None:
        # A proxy from the environment must never sit between the sandbox and a local receiver.
        local = httpx.URL(self.url).host in {"127.0.0.1", "localhost", "::1"}
        with httpx.Client(
            timeout=self._timeout_s, transport=self._transport, trust_env=not local
        ) as client:
            while not self._stopping.is_set():
                for body in self._next_batch():
                    delivered = self._deliver(client, body)
                    with self._cond:
                        self._pending -= 1
                        if delivered:
                            self.stats.sent += 1
                            event_type = orjson.loads(body).get("type", "?")
                            self.stats.by_type[event_type] = (
                                self.stats.by_type.get(event_type, 0) + 1
                            )
                        else:
                            self.stats.gave_up += 1
                        self._cond.notify_all()

    def _deliver(self, client: httpx.Client, body: bytes) -> bool:
        for attempt in range(self._max_attempts):
            if self._stopping.is_set():
                return False
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(body, self._secrets),
            }
            try:
                response = client.post(self.url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    return True
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            with self._cond:
                self.stats.failed_attempts += 1
            _log.info("webhook delivery attempt %d failed: %s", attempt + 1, reason)
            if attempt + 1 < self._max_attempts:
                self._stopping.wait(self._backoff_s * (2**attempt))
        return False
