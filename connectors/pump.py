"""The pages of a concurrent scan, requested over several keep-alive connections from one thread.

Why: with one thread per request in flight, each page costs the GIL hand-offs of a thread waking
for its response while the scan, the batch preparer and the loader want the interpreter too.
Fetching 3,000 sandbox pages standalone cost 352-367 us of CPU per page through 8 threads
against 279-283 us through one; a single thread that keeps the same 8 requests in flight on
non-blocking sockets (``selectors``: epoll here) and parses with llhttp, as
:class:`~connectors.transport.HttptoolsTransport` does, does the same work without the hand-offs.

Only the exchange that goes right is handled here: the request is sent, a complete response comes
back, and the client's ``finish`` turns it into a page. Everything else -- a connection that
cannot be opened, a send or read that fails, a read past its timeout, a status other than 2xx, a
body that is not a page -- becomes the error the ordinary request path would have raised, and the
page is handed to ``fallback`` with it: the client's ``fetch_page`` treats that error as its first
attempt (retrying it, waiting out ``Retry-After``, or raising it), so each failure is handled once
and the same way whichever path met it. Connections come from, and go back to, the transport's
keep-alive pool, with the same reuse rules (``Connection: close``, bodies ended by EOF and junk
after a response are not reused). The number in flight follows the client's
:class:`~connectors.throttle.AdaptiveLimiter`, shared with requests on the ordinary path.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.errors import JobSphereError
from connectors.pagination import FetchResult
from connectors.throttle import AdaptiveLimiter
from connectors.transport import (
    Connection,
    HttptoolsTransport,
    ResponseReader,
    receive_some,
    send_request,
)

__all__ = ["Exchange", "PagePump"]

# How long the loop sleeps at most while the limiter has no slot for it (slots held by requests
# on the ordinary path free up without waking the loop).
_LIMITER_POLL = 0.02


@dataclass(slots=True)
class Exchange:
    """One page request and what came back: a response (``status``, ``headers``, ``body``) or
    the transport ``error`` the ordinary path would have raised."""

    page: int
    future: Future[FetchResult]
    sent: int
    sent_at: datetime
    connection: Connection | None = None
    reader: ResponseReader = field(default_factory=ResponseReader)
    deadline: float = 0.0
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    error: httpx.TransportError | None = None


class PagePump:
    """Requests pages on a thread of its own; :meth:`submit` returns a future per page."""

    def __init__(
        self,
        transport: HttptoolsTransport,
        origin: tuple[str, str, int],
        *,
        request_for: Callable[[int], bytes],
        begin: Callable[[], int],
        finish: Callable[[int, Exchange], FetchResult],
        limiter: AdaptiveLimiter,
        cancelled: Callable[[], bool],
        fallback: Callable[[int, JobSphereError], Future[FetchResult]],
        timeouts: dict[str, Any],
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._request_for = request_for
        self._begin = begin
        self._finish = finish
        self._limiter = limiter
        self._cancelled = cancelled
        self._fallback = fallback
        self._timeouts = timeouts
        self._inbox: deque[tuple[int, Future[FetchResult]]] = deque()  # from the caller's thread
        self._queue: deque[tuple[int, Future[FetchResult]]] = deque()  # the loop's own
        # Connections stay registered with the selector while the pump holds them: an idle one
        # that turns readable was closed by the server (or sent junk) and is dropped at once,
        # which spares a readiness check before each reuse and two epoll calls per request.
        self._idle: list[Connection] = []
        self._busy: dict[int, Exchange] = {}  # by socket file descriptor
        self._closing = False
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="jobsphere-pump", daemon=True)
        self._thread.start()

    def submit(self, page: int) -> Future[FetchResult]:
        """Request ``page``; its future holds the page, or the ordinary path's outcome."""
        future: Future[FetchResult] = Future()
        self._inbox.append((page, future))
        # The loop takes the inbox in at the top of every turn. While an exchange is in flight
        # and every slot is taken, the next response (which frees a slot) starts that turn
        # anyway, so a wake-up would only cost a send, an epoll round and a recv: most
        # submissions of a running scan are made then. Appended before looking, so a slot
        # freed meanwhile is freed before the turn that takes this page in.
        if not self._busy or self._limiter.has_room():
            self._wake()
        return future

    def close(self) -> None:
        """Stop: requests not yet answered are abandoned (their futures cancelled), idle
        connections go back to the transport's pool."""
        self._closing = True
        self._wake()
        self._thread.join()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            self._wake_out.send(b"\0")

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        try:
            while not self._closing:
                self._take_inbox()
                if self._cancelled():
                    self._abandon_queued()
                self._send_what_fits()
                for key, _ in self._selector.select(self._timeout()):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            self._wake_in.recv(4096)
                    elif (exchange := self._busy.get(key.fd)) is not None:
                        self._readable(exchange)
                    else:  # idle and readable: closed by the server (or junk)
                        if key.data in self._idle:
                            self._idle.remove(key.data)
                        self._forget(key.data)
                self._expire()
        except BaseException as exc:  # a defect here must not hang the scan: say so per page
            self._take_inbox()
            for future in [e.future for e in self._busy.values()] + [f for _, f in self._queue]:
                _settle(future, exc)
        finally:  # settled futures stay as they are; the rest are cancelled
            self._shut()

    def _take_inbox(self) -> None:
        """Move what the caller submitted onto the loop's own queue (``popleft`` is atomic, so
        a page submitted meanwhile is either moved now or at the next turn)."""
        while self._inbox:
            self._queue.append(self._inbox.popleft())

    def _timeout(self) -> float | None:
        waits = [exchange.deadline for exchange in self._busy.values()]
        if self._queue:
            waits.append(time.monotonic() + _LIMITER_POLL)
        return max(0.0, min(waits) - time.monotonic()) if waits else None

    def _send_what_fits(self) -> None:
        while self._queue and self._limiter.try_acquire():
            page, future = self._queue.popleft()
            if future.cancelled():
                self._limiter.release()
                continue
            self._send(page, future)

    def _send(self, page: int, future: Future[FetchResult]) -> None:
        exchange = Exchange(page, future, sent_at=datetime.now(UTC), sent=self._begin())
        try:
            if self._idle:
                connection = self._idle.pop()
            else:
                connection = self._transport.checkout(self._origin, self._timeouts.get("connect"))
                self._selector.register(connection.sock, selectors.EVENT_READ, connection)
            exchange.connection = connection
            send_request(connection, self._request_for(page), self._timeouts.get("write"))
            connection.sock.settimeout(None)  # reads only once select says the socket is readable
        except httpx.TransportError as exc:
            self._failed(exchange, exc)
            return
        read_timeout = self._timeouts.get("read")
        exchange.deadline = time.monotonic() + (read_timeout if read_timeout else 1e9)
        self._busy[connection.sock.fileno()] = exchange

    def _readable(self, exchange: Exchange) -> None:
        assert exchange.connection is not None
        try:
            receive_some(exchange.connection, exchange.reader)
        except httpx.TransportError as exc:
            self._failed(exchange, exc)
            return
        if exchange.reader.complete:
            self._completed(exchange)

    def _expire(self) -> None:
        now = time.monotonic()
        for exchange in [e for e in self._busy.values() if e.deadline <= now]:
            self._failed(exchange, httpx.ReadTimeout("timed out"))

    # ------------------------------------------------------------- outcomes
    def _completed(self, exchange: Exchange) -> None:
        connection = exchange.connection
        assert connection is not None
        del self._busy[connection.sock.fileno()]
        exchange.status, exchange.headers, exchange.body = exchange.reader.finish()
        if connection.reusable and not self._closing:
            self._idle.append(connection)
        else:
            self._forget(connection)
        self._resolve(exchange)

    def _failed(self, exchange: Exchange, error: httpx.TransportError) -> None:
        self._drop(exchange)
        exchange.error = error
        self._resolve(exchange)

    def _resolve(self, exchange: Exchange) -> None:
        self._limiter.release()
        try:
            result = self._finish(exchange.page, exchange)
        except JobSphereError as error:
            _chain(self._fallback(exchange.page, error), exchange.future)
        except BaseException as exc:
            _settle(exchange.future, exc)
        else:
            _settle(exchange.future, result)

    def _drop(self, exchange: Exchange) -> None:
        """Forget an exchange cut short; its connection cannot be trusted any more."""
        exchange.reader.parser = None
        connection = exchange.connection
        if connection is not None:
            self._busy.pop(connection.sock.fileno(), None)
            self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.close()

    def _abandon_queued(self) -> None:
        for _, future in self._queue:
            future.cancel()
        self._queue.clear()

    def _shut(self) -> None:
        for exchange in list(self._busy.values()):
            self._drop(exchange)
            self._limiter.release()
            exchange.future.cancel()
        self._take_inbox()
        self._abandon_queued()
        for connection in self._idle:
            self._selector.unregister(connection.sock)
            self._transport.checkin(self._origin, connection)
        self._idle.clear()
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()


def _chain(source: Future[FetchResult], target: Future[FetchResult]) -> None:
    """Settle ``target`` as ``source`` settles."""

    def copy(done: Future[FetchResult]) -> None:
        if done.cancelled():
            target.cancel()
        else:
            error = done.exception()
            _settle(target, done.result() if error is None else error)

    source.add_done_callback(copy)


def _settle(future: Future[FetchResult], outcome: FetchResult | BaseException) -> None:
    """Give ``future`` its outcome unless the caller has already given up on it (cancelled)."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
