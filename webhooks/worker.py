"""The applier's process handle, kept light: the receiver process never imports the load path.

:class:`Applier` starts ``webhooks.applier.run_loop`` in a spawned process (not a thread, so
batch work never competes with request handling for one GIL) and talks to it through two
events and a queue; the two processes otherwise meet only in the SQLite inbox. Importing this
module does not import Polars, DuckDB or the transforms, so the receiver starts answering
quickly after a restart while the applier process is still warming up.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["Applier", "ApplyReport", "EventLike", "LoopSettings"]

logger = logging.getLogger("webhooks.applier")


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What one drain step did. ``locked`` means the warehouse was busy and nothing moved."""

    applied: int = 0
    stale: int = 0
    ignored: int = 0
    redelivered: int = 0
    locked: bool = False

    @property
    def events(self) -> int:
        return self.applied + self.stale + self.ignored + self.redelivered


class EventLike(Protocol):
    """``multiprocessing.Event``'s interface (its class is not importable for annotations)."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True, slots=True)
class LoopSettings:
    db_path: Path
    inbox_path: Path
    interval: float
    batch_size: int
    lock_timeout: float
    max_backoff: float
    retention: float
    drain_timeout: float
    log_level: int


class Applier:
    """The apply loop in its own process: drains the inbox every ``interval`` s or sooner.

    A separate process, not a thread, so batch work (normalizing, DuckDB) never competes with
    request handling for the receiver's GIL; the two meet only in the SQLite inbox.
    ``notify()`` (called by the receiver after each stored event) wakes the loop once
    ``wake_at`` events arrived, so a burst does not wait for the interval. ``stop()`` makes the
    loop apply what is stored (bounded by ``drain_timeout``) and returns that final report.
    The loop's inbox connection commits its marks without an fsync (see
    :class:`webhooks.inbox.Inbox`), so it never holds the receiver's commits up for one.
    The loop calls :func:`apply_pending` directly, with no Prefect run per batch: a flow run
    costs far more than a micro-batch (see ``flows.webhook_apply``).
    """

    def __init__(
        self,
        *,
        db_path: str | Path,
        inbox_path: str | Path,
        interval: float = 0.5,
        batch_size: int = 1000,
        wake_at: int = 200,
        lock_timeout: float = 1.0,
        max_backoff: float = 5.0,
        retention: float = 7 * 86_400.0,
        drain_timeout: float = 30.0,
    ) -> None:
        self._settings = LoopSettings(
            db_path=Path(db_path),
            inbox_path=Path(inbox_path),
            interval=interval,
            batch_size=batch_size,
            lock_timeout=lock_timeout,
            max_backoff=max_backoff,
            retention=retention,
            drain_timeout=drain_timeout,
            log_level=logging.getLogger().getEffectiveLevel(),
        )
        self.wake_at = wake_at
        self._ctx = multiprocessing.get_context("spawn")
        self._wake = self._ctx.Event()
        self._stop = self._ctx.Event()
        self._reports: multiprocessing.queues.SimpleQueue[ApplyReport] = self._ctx.SimpleQueue()
        self._arrived = 0
        self._arrived_lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None

    def notify(self) -> None:
        with self._arrived_lock:
            self._arrived += 1
            if self._arrived >= self.wake_at:
                self._arrived = 0
                self._wake.set()

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("applier already started")
        self._process = self._ctx.Process(
            target=_child_main,
            args=(self._settings, self._wake, self._stop, self._reports, os.getpid()),
            name="webhook-applier",
        )
        self._process.start()

    def is_running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def stop(self) -> ApplyReport:
        """Ask the loop to drain and exit; wait for it; return the final drain's report."""
        process = self._process
        if process is None:
            return ApplyReport()
        self._stop.set()
        self._wake.set()
        process.join(self._settings.drain_timeout + 30)
        if process.is_alive():
            logger.error("applier did not stop in time; terminating it (events stay in the inbox)")
            process.terminate()
            process.join(10)
        self._process = None
        return self._reports.get() if not self._reports.empty() else ApplyReport()


def _child_main(
    settings: LoopSettings,
    wake: EventLike,
    stop: EventLike,
    reports: multiprocessing.queues.SimpleQueue[ApplyReport],
    parent_pid: int,
) -> None:
    from webhooks.applier import run_loop  # the heavy import happens in the child only

    run_loop(settings, wake, stop, reports, parent_pid)
