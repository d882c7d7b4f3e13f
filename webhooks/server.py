"""Run the receiver: uvicorn serving the app, plus the applier thread, in one process.

Shutdown on SIGINT/SIGTERM is graceful: uvicorn stops accepting and finishes in-flight requests
(each of which has stored its event before answering), then the applier applies what the inbox
holds and the process exits 0. Events the warehouse could not take in time (it was locked) stay
in the inbox and are applied first after the next start.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from pydantic import SecretStr

from webhooks.app import create_app
from webhooks.inbox import default_inbox_path
from webhooks.settings import ReceiverSettings
from webhooks.worker import Applier

__all__ = ["serve"]

logger = logging.getLogger("webhooks.server")


class _Server(uvicorn.Server):
    """uvicorn's server without re-raising the captured signal after shutdown.

    Stock uvicorn re-raises SIGINT/SIGTERM once it has stopped, which would kill the process
    before the final inbox drain and make the exit status non-zero.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        logger.info("received %s; finishing in-flight requests", signal.Signals(sig).name)
        self.handle_exit(sig, frame)


def serve(
    *,
    db_path: str | Path,
    secrets: Sequence[str | SecretStr],
    host: str = "127.0.0.1",
    port: int = 8787,
    tolerance: float = 300,
    inbox_path: str | Path | None = None,
    apply_interval: float = 0.5,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``POST /webhooks/jobsphere`` and ``GET /healthz`` until SIGINT/SIGTERM.

    The inbox defaults to ``<db_path>.inbox.sqlite3``. ``sock`` (already bound) overrides
    ``host``/``port``, for callers that must know the port before the server starts.
    """
    inbox = Path(inbox_path) if inbox_path is not None else default_inbox_path(db_path)
    settings = ReceiverSettings(
        secrets=tuple(s if isinstance(s, SecretStr) else SecretStr(s) for s in secrets),
        inbox_path=inbox,
        tolerance=tolerance,
    )
    applier = Applier(db_path=db_path, inbox_path=inbox, interval=apply_interval)
    app = create_app(
        settings,
        on_stored=applier.notify,
        health=lambda: {"applier_running": applier.is_running()},
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # one line per event is too much at webhook rates; rejections are logged
        log_level="info",
        timeout_graceful_shutdown=30,
        lifespan="on",
    )
    server = _Server(config)
    # The applier starts before the socket opens and works oldest-first: the inbox backlog of a
    # previous run is applied before anything received in this session.
    applier.start()
    try:
        server.run(sockets=[sock] if sock is not None else None)
    finally:
        report = applier.stop()
        logger.info(
            "receiver stopped: final drain applied %d, stale %d, ignored %d",
            report.applied,
            report.stale,
            report.ignored,
        )
