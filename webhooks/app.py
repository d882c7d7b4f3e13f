"""The receiver ASGI app: verify, validate, store durably, then answer (SPEC section 2).

The order matters. The body is read with a hard cap (``Content-Length`` first, then the bytes as
they stream in), the signature is checked on the raw bytes before anything parses them, the
envelope is validated, and only after the inbox commit (fsynced) does the sender get its 2xx.
The receiver never opens the DuckDB file: the applier (``webhooks.applier``) does that.

It is a plain ASGI callable rather than a framework app: two routes do not need a router,
middleware stack and request objects, and on this hot path (every event, 2 shared cores) the
framework cost about as much CPU as verifying and validating the event.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from pydantic import ValidationError

from connectors.webhook_signature import SIGNATURE_HEADER, SignatureError, verify
from webhooks.envelope import Envelope
from webhooks.inbox import Inbox, InboxEvent
from webhooks.settings import ReceiverSettings

__all__ = ["WEBHOOK_PATH", "ReceiverApp", "create_app"]

WEBHOOK_PATH = "/webhooks/jobsphere"

logger = logging.getLogger("webhooks.receiver")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SIGNATURE_HEADER = SIGNATURE_HEADER.lower().encode()  # ASGI header names are lowercase bytes
_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")
#: The receiver leaves WAL checkpoints to the applier's commits up to this WAL length (~64 MB).
RECEIVER_CHECKPOINT_PAGES = 16_000
#: Default upper bound on how long a commit waits for more events to share it (see _GroupCommit).
GATHER_SECONDS = 0.005


class _ClientDisconnected(Exception):
    pass


def _describe(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['type']}" for err in exc.errors()
    ]
    return "not a JSON event envelope (" + "; ".join(parts[:5]) + ")"


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _GroupCommit:
    """Events that arrive while a commit is in flight share the next one (one fsync).

    Each request still gets its answer only after the commit holding its event returned, so the
    durability promise is unchanged; under concurrency the fsync cost is paid per batch instead of
    per event. Commits run on one dedicated thread (the inbox connection is single-writer anyway),
    so the event loop keeps parsing and verifying requests during the fsync.

    Gathering: a commit that would start with fewer events than the previous batch held waits
    for that many, at most as long as a recent commit took and never over ``gather`` seconds.
    Senders with keep-alive connections (JobSphere's delivery workers, the benchmark's clients)
    send their next event right after their 2xx, so the previous batch size predicts the next;
    without the wait, the first of them to come back triggers a commit of its own and the rest
    wait a whole fsync for the next one, which splits every round into two commits (measured:
    batches alternating 1 and 7 events for 8 senders, twice the fsyncs). Waiting up to one
    commit's duration costs the early events at most what the stragglers would otherwise wait
    for the next commit. A lone sender never waits (its previous batch held one event); the
    idea is PostgreSQL's ``commit_delay``.
    """

    def __init__(self, inbox: Inbox, *, gather: float = GATHER_SECONDS) -> None:
        self._inbox = inbox
        self._gather = gather
        self._queue: list[tuple[InboxEvent, asyncio.Future[bool]]] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._expected = 1
        self._enough: asyncio.Future[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-commit")
        self.commits = 0
        self.events = 0
        self.commit_seconds = 0.0
        self._commit_ewma = 0.0

    async def put(self, event: InboxEvent) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.append((event, future))
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())  # a reference keeps it from GC
        elif self._enough is not None and len(self._queue) >= self._expected:
            _resolve(self._enough)
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                wait = min(self._gather, self._commit_ewma)
                if len(self._queue) < self._expected and wait > 0:
                    self._enough = loop.create_future()
                    timer = loop.call_later(wait, _resolve, self._enough)
                    try:
                        await self._enough
                    finally:
                        timer.cancel()
                        self._enough = None
                batch, self._queue = self._queue, []
                self._expected = len(batch)
                await self._commit(loop, batch)
        finally:
            self._running = False

    async def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[InboxEvent, asyncio.Future[bool]]],
    ) -> None:
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._executor, self._inbox.put_many, [event for event, _ in batch]
            )
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        except BaseException:
            for _, future in batch:
                future.cancel()  # no answer at all, certainly no 2xx
            raise
        else:
            self.commits += 1
            self.events += len(batch)
            took = time.perf_counter() - started
            self.commit_seconds += took
            self._commit_ewma += (took - self._commit_ewma) * 0.2
            for (_, future), stored in zip(batch, results, strict=True):
                if not future.done():  # the sender may have hung up meanwhile
                    future.set_result(stored)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self.commits:
            logger.info(
                "inbox: %d events in %d commits (%.1f per commit, %.1f ms per commit)",
                self.events,
                self.commits,
                self.events / self.commits,
                self.commit_seconds / self.commits * 1000,
            )


async def _respond(
    send: Send,
    status: int,
    payload: dict[str, Any],
    *,
    close: bool = False,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body = orjson.dumps(payload)
    headers = [_JSON, (b"content-length", str(len(body)).encode()), *extra]
    if close:
        headers.append(_CLOSE)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _reject(send: Send, status: int, reason: str, *, close: bool = False) -> None:
    # The reason names what failed, never a secret, a signature or the body.
    logger.warning("webhook rejected with %d: %s", status, reason)
    await _respond(send, status, {"error": reason}, close=close)


class ReceiverApp:
    """``POST /webhooks/jobsphere`` and ``GET /healthz`` as one ASGI callable.

    ``inbox`` is the store events are committed to; ``owns_inbox`` closes it on lifespan
    shutdown. See :func:`create_app` for the other arguments.
    """

    def __init__(
        self,
        settings: ReceiverSettings,
        inbox: Inbox,
        *,
        owns_inbox: bool,
        on_stored: Callable[[], None] | None,
        clock: Callable[[], float],
        health: Callable[[], dict[str, Any]] | None,
        gather: float,
    ) -> None:
        self.inbox = inbox
        self._owns_inbox = owns_inbox
        self._secrets = [s.get_secret_value() for s in settings.secrets]
        self._tolerance = settings.tolerance
        self._limit = settings.max_body_bytes
        self._on_stored = on_stored
        self._clock = clock
        self._health = health
        self._committer = _GroupCommit(inbox, gather=gather)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path, method = scope["path"], scope["method"]
            if path == WEBHOOK_PATH:
                if method == "POST":
                    await self._receive_event(scope, receive, send)
                else:
                    await self._not_allowed(send, "POST")
            elif path == "/healthz":
                if method in ("GET", "HEAD"):
                    await self._healthz(send)
                else:
                    await self._not_allowed(send, "GET, HEAD")
            else:
                await _respond(send, 404, {"error": "not found"})
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _not_allowed(self, send: Send, allow: str) -> None:
        await _respond(
            send, 405, {"error": "method not allowed"}, extra=((b"allow", allow.encode()),)
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Finish the commit thread (after uvicorn drained the requests) and the owned inbox."""
        self._committer.close()
        if self._owns_inbox:
            self.inbox.close()

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The body, or None when a 400/413 has been sent instead."""
        limit = self._limit
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if not declared.isdigit():
                await _reject(send, 400, "invalid Content-Length", close=True)
                return None
            if int(declared) > limit:
                await _reject(send, 413, f"body over {limit} bytes (Content-Length)", close=True)
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                logger.info("webhook sender disconnected before the body was complete")
                await _respond(send, 400, {"error": "client disconnected"})
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reject(send, 413, f"body over {limit} bytes", close=True)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _receive_event(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        header: str | None = None
        for name, value in scope["headers"]:
            if name == _SIGNATURE_HEADER:
                header = value.decode("latin-1")
                break
        try:
            verify(body, header, self._secrets, tolerance=self._tolerance, now=self._clock())
        except SignatureError as exc:
            await _reject(send, 401, str(exc))
            return

        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as exc:
            await _reject(send, 400, _describe(exc))
            return

        event = InboxEvent(
            event_id=envelope.id,
            event_type=envelope.type,
            created_at=envelope.created_at,
            payload=body.decode("utf-8"),
        )
        try:
            stored = await self._committer.put(event)
        except sqlite3.Error as exc:
            # Not stored, so no 2xx: JobSphere will deliver it again.
            logger.error("webhook inbox write failed: %s", exc)
            await _respond(send, 503, {"error": "inbox unavailable"})
            return
        if stored and self._on_stored is not None:
            self._on_stored()
        await _respond(send, 200, {"status": "stored" if stored else "duplicate"})

    async def _healthz(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        backlog = await loop.run_in_executor(None, self.inbox.backlog)
        oldest = backlog.oldest_received_at
        await _respond(
            send,
            200,
            {
                "status": "ok",
                "backlog": backlog.count,
                "oldest_received_at": None if oldest is None else oldest.isoformat(),
                "oldest_age_seconds": None
                if oldest is None
                else round(self._clock() - oldest.timestamp(), 3),
                **(self._health() if self._health is not None else {}),
            },
        )


def create_app(
    settings: ReceiverSettings,
    *,
    inbox: Inbox | None = None,
    on_stored: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
    health: Callable[[], dict[str, Any]] | None = None,
    gather: float = GATHER_SECONDS,
) -> ReceiverApp:
    """Build the receiver app.

    ``inbox`` defaults to one opened on ``settings.inbox_path`` (closed on lifespan shutdown);
    ``on_stored`` is called after each newly stored event (the server uses it to wake the
    applier early); ``clock`` is the receiver's clock for the timestamp tolerance; ``health``
    adds fields to ``/healthz`` (the server reports whether its applier process runs);
    ``gather`` bounds how long a commit waits for more events to share its fsync (0: never).
    """
    store = (
        inbox
        if inbox is not None
        else Inbox(settings.inbox_path, checkpoint_pages=RECEIVER_CHECKPOINT_PAGES)
    )
    return ReceiverApp(
        settings,
        store,
        owns_inbox=inbox is None,
        on_stored=on_stored,
        clock=clock,
        health=health,
        gather=gather,
    )
