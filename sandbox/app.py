"""The sandbox as a raw ASGI app: JobSphere API v2 at ``/v2`` plus ``/_sandbox`` control routes.

Raw ASGI rather than a framework because the hot path (``GET /v2/jobs``) must serve well over a
thousand pages a second on two cores, and because some faults need the transport itself: a dropped
connection is an aborted socket, not an error response. Faults apply only to ``/v2/jobs`` routes;
the control routes (``/_sandbox/health``, ``/_sandbox/stats``, ``/_sandbox/mutate``) never fail on
purpose.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector
from sandbox.generate import Filters
from sandbox.outbox import Outbox
from sandbox.store import JobStore, JobValidationError
from sandbox.vocab import JOB_TYPES

__all__ = ["SandboxApp", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_MAX_BODY = 1024 * 1024
_MUTATION_KINDS = ("creates", "updates", "deletes", "applications", "status_changes")
_MAX_MUTATIONS = 10_000
_JSON = b"application/json"


class _HTTPError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Headers | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


def _error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message}})


def _int_param(params: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = params.get(name)
    if not values:
        return default
    raw = values[0].strip()
    if not raw.lstrip("-").isdigit():
        raise _HTTPError(400, "bad_request", f"{name} must be an integer, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise _HTTPError(
            400, "bad_request", f"{name} must be between {low} and {high}, got {value}"
        )
    return value


def _filters(params: dict[str, list[str]]) -> Filters:
    job_type = params.get("type", [None])[0]
    if job_type is not None and job_type not in JOB_TYPES:
        raise _HTTPError(400, "bad_request", f"type must be one of {', '.join(JOB_TYPES)}")
    return Filters.of(
        q=params.get("q", [None])[0], location=params.get("location", [None])[0], type=job_type
    )


def _json_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _HTTPError(400, "bad_request", "the body is not valid JSON") from exc


class SandboxApp:
    """One sandbox instance: its store, fault injector, webhook outbox and counters."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.outbox: Outbox | None = None
        if config.webhook_url:
            self.outbox = Outbox(
                config.webhook_url,
                config.webhook_secrets,
                seed=config.seed,
                duplicate_rate=config.webhook_duplicate_rate,
                shuffle=config.webhook_shuffle,
                max_attempts=config.webhook_max_attempts,
                backoff_s=config.webhook_backoff_s,
                timeout_s=config.webhook_timeout_s,
            )
        self.store = JobStore(
            config.jobs,
            config.seed,
            updated_at=config.updated_at,
            on_event=self.outbox.enqueue if self.outbox else None,
        )
        self.faults = FaultInjector(config)
        self.by_status: Counter[str] = Counter()
        self._stats_lock = threading.Lock()  # stats() is read from other threads
        self.state = SimpleNamespace(
            store=self.store, config=config, outbox=self.outbox, faults=self.faults
        )
        self._keys = [(config.api_key.encode(), True)]
        if config.read_only_key:
            self._keys.append((config.read_only_key.encode(), False))

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        try:
            if path == "/v2/jobs" or path.startswith("/v2/jobs/"):
                await self._api(scope, receive, send)
            elif path == "/_sandbox/health" and scope["method"] == "GET":
                await self._respond(send, 200, b'{"status":"ok"}', count=False)
            elif path.startswith("/_sandbox/"):
                status, body = await self._control(scope, receive)
                await self._respond(send, status, body)
            else:
                raise _HTTPError(404, "not_found", f"no route {path}")
        except _HTTPError as exc:
            await self._respond(send, exc.status, _error_body(exc.code, exc.message), exc.headers)

    def stats(self) -> dict[str, Any]:
        """Counters for the stats route and the test handle."""
        with self._stats_lock:
            by_status = dict(sorted(self.by_status.items()))
        faults = self.faults.counters_dict()
        return {
            "requests": {
                "total": sum(by_status.values()) + int(faults["dropped"]),
                "by_status": by_status,
            },
            "faults": faults,
            "webhooks": self.outbox.stats_dict() if self.outbox else None,
            "jobs": {"total": self.store.total(), "version": self.store.version},
            "config": self.config.public_dict(),
        }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.outbox is not None:
                    await asyncio.to_thread(self.outbox.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------- API
    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        delay = self.faults.latency_seconds()
        if delay:
            await asyncio.sleep(delay)
        if self.faults.should_drop():
            await self._drop(receive)
            return
        retry_after = self.faults.retry_after()
        if retry_after is not None:
            raise _HTTPError(
                429,
                "rate_limited",
                "too many requests",
                [(b"retry-after", retry_after.encode())],
            )
        error = self.faults.error_status()
        if error is not None:
            await self._injected_error(send, error)
            return
        status, body = await self._route_api(scope, receive)
        if status == 200 and self.faults.should_truncate():
            body = body[: self.faults.truncation_point(len(body))]
        await self._respond(send, status, body)

    async def _route_api(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        method: str = scope["method"]
        can_write = self._authorize(scope)
        path: str = scope["path"]
        if path == "/v2/jobs":
            if method == "GET":
                return 200, self._list(scope)
            if method == "POST":
                self._require_write(can_write)
                job = self._validated(lambda body: self.store.create(body), await _read(receive))
                return 201, orjson.dumps(job)
            raise _HTTPError(405, "method_not_allowed", f"{method} is not allowed on /v2/jobs")
        job_id = unquote(path[len("/v2/jobs/") :])
        if method == "GET":
            job = self.store.get(job_id)
        elif method == "PUT":
            self._require_write(can_write)
            raw = await _read(receive)
            job = self._validated(lambda body: self.store.update(job_id, body), raw)
        elif method == "DELETE":
            self._require_write(can_write)
            if self.store.delete(job_id):
                return 204, b""
            job = None
        else:
            raise _HTTPError(405, "method_not_allowed", f"{method} is not allowed on a job")
        if job is None:
            raise _HTTPError(404, "not_found", f"no job with id {job_id!r}")
        return 200, orjson.dumps(job)

    def _list(self, scope: Scope) -> bytes:
        params = parse_qs(scope["query_string"].decode("utf-8", "replace"), keep_blank_values=True)
        page = _int_param(params, "page", 1, 1, 10**9)
        limit = _int_param(params, "limit", 20, 1, 100)
        filters = _filters(params)
        inserts, deletes = self.config.drift_inserts, self.config.drift_deletes
        if inserts or deletes:
            added, removed = self.store.apply_drift(inserts, deletes)
            self.faults.count_drift(len(added), len(removed))
        return self.store.page_json(filters, page, limit)

    def _validated(self, action: Callable[[Any], dict[str, Any] | None], raw: bytes) -> Any:
        try:
            return action(_json_body(raw))
        except JobValidationError as exc:
            raise _HTTPError(400, "bad_request", str(exc)) from exc

    # -------------------------------------------------------------- control
    async def _control(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        path, method = scope["path"], scope["method"]
        can_write = self._authorize(scope)
        if path == "/_sandbox/stats" and method == "GET":
            return 200, orjson.dumps(self.stats())
        if path == "/_sandbox/mutate" and method == "POST":
            self._require_write(can_write)
            raw = await _read(receive)
            counts = _mutation_counts(_json_body(raw) if raw.strip() else {})
            return 200, orjson.dumps(self.store.random_mutations(**counts))
        raise _HTTPError(404, "not_found", f"no route {method} {path}")

    # --------------------------------------------------------------- helpers
    def _authorize(self, scope: Scope) -> bool:
        """Check the bearer key; return whether it may write. Never echoes the key."""
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        scheme, _, key = header.partition(b" ")
        if scheme.lower() != b"bearer" or not key.strip():
            raise _HTTPError(401, "unauthorized", "missing bearer API key")
        key = key.strip()
        for known, can_write in self._keys:
            if hmac.compare_digest(key, known):
                return can_write
        raise _HTTPError(401, "unauthorized", "invalid API key")

    def _count(self, status: int) -> None:
        with self._stats_lock:
            self.by_status[str(status)] += 1

    @staticmethod
    def _require_write(can_write: bool) -> None:
        if not can_write:
            raise _HTTPError(403, "forbidden", "this API key may only read")

    async def _respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        headers: Headers | None = None,
        *,
        count: bool = True,
    ) -> None:
        if count:
            self._count(status)
        out: Headers = [(b"content-length", str(len(body)).encode())]
        if status != 204:
            out.append((b"content-type", _JSON))
        out.extend(headers or [])
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body if status != 204 else b""})

    async def _injected_error(self, send: Send, status: int) -> None:
        """5xx as real proxies send them: JSON from the app, HTML from a gateway."""
        if status == 502:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._count(status)
            headers: Headers = [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"text/html"),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        code = "internal_error" if status == 500 else "unavailable"
        await self._respond(send, status, _error_body(code, "injected server error"))

    async def _drop(self, receive: Receive) -> None:
        """Abort the TCP connection without a response.

        uvicorn passes a bound method of its request cycle as ``receive``; its ``transport`` is the
        connection. Aborting it (and yielding so uvicorn notices the disconnect) closes the socket
        with nothing written, which a client sees as a dropped connection.
        """
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is None or not hasattr(transport, "abort"):
            raise ConnectionAbortedError("sandbox dropped the connection (drop_rate)")
        transport.abort()
        for _ in range(3):
            await asyncio.sleep(0)


def _mutation_counts(body: Any) -> dict[str, int]:
    if not isinstance(body, dict):
        raise _HTTPError(400, "bad_request", "the body must be a JSON object of counts")
    unknown = sorted(set(body) - set(_MUTATION_KINDS))
    if unknown:
        raise _HTTPError(400, "bad_request", f"unknown mutation kind(s): {', '.join(unknown)}")
    counts: dict[str, int] = {}
    for kind in _MUTATION_KINDS:
        value = body.get(kind, 0)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 0 <= value <= _MAX_MUTATIONS
        ):
            raise _HTTPError(400, "bad_request", f"{kind} must be an integer 0..{_MAX_MUTATIONS}")
        counts[kind] = value
    return counts


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _HTTPError(400, "bad_request", "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise _HTTPError(413, "payload_too_large", "the body is over 1 MiB")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """Build a sandbox; ``app.state.store`` is its :class:`~sandbox.store.JobStore`."""
    return SandboxApp(config or SandboxConfig())
