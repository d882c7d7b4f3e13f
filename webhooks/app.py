"""The receiver ASGI app: verify, validate, store durably, then answer (SPEC section 2).

The order matters. The body is read with a hard cap (``Content-Length`` first, then the bytes as
they stream in), the signature is checked on the raw bytes before anything parses them, the
envelope is validated, and only after the inbox commit (fsynced) does the sender get its 2xx.
The receiver never opens the DuckDB file: the applier (``webhooks.applier``) does that.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.webhook_signature import SIGNATURE_HEADER, SignatureError, verify
from webhooks.envelope import Envelope
from webhooks.inbox import Inbox, InboxEvent
from webhooks.settings import ReceiverSettings

__all__ = ["WEBHOOK_PATH", "create_app"]

WEBHOOK_PATH = "/webhooks/jobsphere"

logger = logging.getLogger("webhooks.receiver")


def _reject(status: int, reason: str, *, close: bool = False) -> JSONResponse:
    # The reason names what failed, never a secret, a signature or the body.
    logger.warning("webhook rejected with %d: %s", status, reason)
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def _describe(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['type']}" for err in exc.errors()
    ]
    return "not a JSON event envelope (" + "; ".join(parts[:5]) + ")"


class _GroupCommit:
    """Requests that arrive while a commit is in flight share the next one (one fsync).

    Each request still gets its answer only after the commit holding its event returned, so
    the durability promise is unchanged; under concurrency the fsync cost is paid per batch
    instead of per event.
    """

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._queue: list[tuple[InboxEvent, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def put(self, event: InboxEvent) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.append((event, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await run_in_threadpool(self._inbox.put_many, [e for e, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), stored in zip(batch, results, strict=True):
                    if not future.done():  # the sender may have hung up meanwhile
                        future.set_result(stored)


def create_app(
    settings: ReceiverSettings,
    *,
    inbox: Inbox | None = None,
    on_stored: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
    health: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """Build the receiver app.

    ``inbox`` defaults to one opened on ``settings.inbox_path`` (closed on lifespan shutdown);
    ``on_stored`` is called after each newly stored event (the server uses it to wake the
    applier early); ``clock`` is the receiver's clock for the timestamp tolerance; ``health``
    adds fields to ``/healthz`` (the server reports whether its applier process runs).
    """
    store = inbox if inbox is not None else Inbox(settings.inbox_path)
    secrets = [s.get_secret_value() for s in settings.secrets]
    limit = settings.max_body_bytes
    committer = _GroupCommit(store)

    async def receive_event(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return _reject(400, "invalid Content-Length", close=True)
            if int(declared) > limit:
                return _reject(413, f"body over {limit} bytes (Content-Length)", close=True)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return _reject(413, f"body over {limit} bytes", close=True)
                chunks.append(chunk)
        except ClientDisconnect:
            logger.info("webhook sender disconnected before the body was complete")
            return JSONResponse({"error": "client disconnected"}, status_code=400)
        body = b"".join(chunks)

        try:
            verify(
                body,
                request.headers.get(SIGNATURE_HEADER),
                secrets,
                tolerance=settings.tolerance,
                now=clock(),
            )
        except SignatureError as exc:
            return _reject(401, str(exc))

        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as exc:
            return _reject(400, _describe(exc))

        event = InboxEvent(
            event_id=envelope.id,
            event_type=envelope.type,
            created_at=envelope.created_at,
            payload=body.decode("utf-8"),
        )
        try:
            stored = await committer.put(event)
        except sqlite3.Error as exc:
            # Not stored, so no 2xx: JobSphere will deliver it again.
            logger.error("webhook inbox write failed: %s", exc)
            return JSONResponse({"error": "inbox unavailable"}, status_code=503)
        if stored and on_stored is not None:
            on_stored()
        return JSONResponse({"status": "stored" if stored else "duplicate"})

    async def healthz(request: Request) -> JSONResponse:
        backlog = await run_in_threadpool(store.backlog)
        oldest = backlog.oldest_received_at
        return JSONResponse(
            {
                "status": "ok",
                "backlog": backlog.count,
                "oldest_received_at": None if oldest is None else oldest.isoformat(),
                "oldest_age_seconds": None
                if oldest is None
                else round(clock() - oldest.timestamp(), 3),
                **(health() if health is not None else {}),
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if inbox is None:
            store.close()

    app = Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive_event, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.inbox = store
    return app
