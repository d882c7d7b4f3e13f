"""The JobSphere API client: one httpx transport (keep-alive pool), retries, typed surface.

``Client(api_key).jobs`` mirrors the JobSphere SDK: ``list()`` iterates typed :class:`Job` objects
across pages, ``create``/``update``/``delete`` write, and ``scan()`` is the pipeline's entry point
(pages of raw record dicts plus a :class:`ScanReport`). The network is swapped through one seam,
``transport`` (tests pass ``httpx.MockTransport``). Every httpx exception and every non-2xx status is
translated here, once, into :mod:`connectors.errors`; the API key is registered with
:mod:`connectors.redaction` and never appears in an error or a log line.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlencode

import httpx
import orjson
from pydantic import ValidationError

from connectors.errors import (
    JobSphereError,
    NetworkError,
    RateLimitedError,
    RetriableError,
    TruncatedResponseError,
    error_for_status,
)
from connectors.models import ApiErrorBody, Job, Page, PageBodyError, decode_page
from connectors.pagination import FetchResult, PumpFactory, Scanner, ScanReport
from connectors.pump import Exchange, PagePump
from connectors.redaction import install_log_redaction, redact, register_secret
from connectors.retry import RetryPolicy, parse_retry_after
from connectors.throttle import AdaptiveLimiter
from connectors.transport import HttptoolsTransport, origin_of, request_bytes

__all__ = ["DEFAULT_BASE_URL", "Client", "JobScan", "Jobs"]

DEFAULT_BASE_URL = "https://api.jobsphere.io/v2"
_USER_AGENT = "jobsphere-etl/0.1 (+httpx)"
_log = logging.getLogger(__name__)


class Client:
    """A JobSphere API v2 client; use it as a context manager so connections are closed."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        page_size: int = 100,
        user_agent: str = _USER_AGENT,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("an API key is required (JOBSPHERE_API_KEY or --api-key)")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
        register_secret(api_key)
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.concurrency = max(1, concurrency)
        self.page_size = page_size
        self.retry = retry or RetryPolicy()
        self._limiter = AdaptiveLimiter(self.concurrency)
        self._sequence = itertools.count()
        self._requests = itertools.count()
        self._request_total = 0
        pool = self.concurrency + 2
        # Requests go straight to an httpx transport (the connection pool) rather than through
        # ``httpx.Client``: the client layer (URL merging, cookies, auth and redirect flows, event
        # hooks) is work this API never needs, and it cost ~40% of the CPU of a page request
        # (1.5 vs 0.9 ms per 100-job page in a loop against the sandbox). The default transport
        # is :class:`HttptoolsTransport` (sockets and llhttp under httpx's types and exceptions),
        # ~40% of ``httpx.HTTPTransport``'s CPU per page; see :mod:`connectors.transport`.
        self._transport: httpx.BaseTransport = transport or HttptoolsTransport(max_keepalive=pool)
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )
        self._timeout = httpx.Timeout(timeout).as_dict()
        self.jobs = Jobs(self)

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    @property
    def requests(self) -> int:
        """HTTP requests sent by this client so far, retries included."""
        return self._request_total

    # -------------------------------------------------------------- requests
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        cancelled: Callable[[], bool] | None = None,
        count_request: Callable[[], None] | None = None,
    ) -> Any:
        """Send with retries and return the decoded JSON body (None for an empty body).

        A non-idempotent request is retried only when the server provably did not act on it
        (429, or a connection that never opened).
        """
        action = f"{method} {path}" + (f" {_describe(params)}" if params else "")

        def attempt() -> Any:
            content, status, _, _ = self._attempt(method, path, params, body, action, count_request)
            if not content:
                return None
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                raise _not_json(action, status, content) from exc

        return self.retry.run(
            attempt,
            action=action,
            retry_if=None if idempotent else _not_processed,
            on_retry=self._on_retry,
            cancelled=cancelled,
        )

    def _on_retry(self, error: RetriableError) -> None:
        if isinstance(error, RateLimitedError):
            self._limiter.rate_limited()

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        action: str,
        count_request: Callable[[], None] | None,
    ) -> tuple[bytes, int, int, int]:
        """One HTTP exchange: the body of a 2xx response, its status, and the sequence numbers
        taken just before the request went out and just after the response came in."""
        content = None if body is None else orjson.dumps(body)
        headers = self._headers
        if content is not None:
            headers = headers.copy()
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        if params:
            # The same URL as ``params=params`` (httpx encodes with urlencode too), at 21 instead
            # of 35 us per request: httpx would build and re-serialize a QueryParams first.
            url += "?" + urlencode(params)
        request = httpx.Request(
            method,
            url,
            headers=headers,
            content=content,
            extensions={"timeout": self._timeout},
        )
        with self._limiter.slot():
            sent = self._begin_attempt(count_request)
            try:
                response = self._transport.handle_request(request)
                try:
                    response.read()
                finally:
                    response.close()
            except httpx.TransportError as exc:
                raise _network_error(exc, action) from exc
            received = self._end_attempt()
        status = response.status_code
        if status >= 300:
            raise self._status_error(response, action)
        self._limiter.succeeded()
        return response.content, status, sent, received

    def _begin_attempt(self, count_request: Callable[[], None] | None) -> int:
        """Count one HTTP attempt; its sequence number, taken just before it goes out."""
        sent = next(self._sequence)
        self._request_total = next(self._requests) + 1
        if count_request is not None:
            count_request()
        return sent

    def _end_attempt(self) -> int:
        """The sequence number taken just after a response came in."""
        return next(self._sequence)

    def _status_error(self, response: httpx.Response, action: str) -> JobSphereError:
        retry_after = None
        if response.status_code == 429:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), now=self.retry.wall_clock()
            )
        return error_for_status(
            response.status_code,
            action=action,
            server_message=_server_message(response.content),
            retry_after=retry_after,
        )

    def fetch_page(
        self,
        page: int,
        limit: int,
        filters: Mapping[str, str],
        cancelled: Callable[[], bool] | None = None,
        count_request: Callable[[], None] | None = None,
        first_error: JobSphereError | None = None,
    ) -> FetchResult:
        """One validated ``GET /jobs`` page, retried (a bad envelope counts as truncated).

        ``first_error`` is how an attempt already made elsewhere (the page pump) failed: it is
        handled as this call's first attempt (retried, waited for, or raised), so a failure is
        treated the same whichever path met it.
        """
        params = _page_params(filters, page, limit)
        action = _page_action(params)
        pending = [first_error] if first_error is not None else []

        def attempt() -> FetchResult:
            if pending:
                raise pending.pop()
            sent_at = datetime.now(UTC)
            content, status, sent, received = self._attempt(
                "GET", "/jobs", params, None, action, count_request
            )
            return _page_result(content, status, sent, received, sent_at, lambda: action)

        return self.retry.run(attempt, action=action, on_retry=self._on_retry, cancelled=cancelled)

    def _page_pump(self, filters: Mapping[str, str]) -> PumpFactory | None:
        """Pages of a concurrent scan multiplexed on one thread (:mod:`connectors.pump`), when
        requests go over the default transport; None otherwise (a caller's transport, such as
        ``httpx.MockTransport`` in tests, keeps the thread pool)."""
        transport = self._transport
        if not isinstance(transport, HttptoolsTransport):
            return None
        url = httpx.URL(self.base_url + "/jobs")
        headers = self._headers
        base_path = url.raw_path.decode("ascii")

        def factory(
            limit: int,
            cancelled: Callable[[], bool],
            count_request: Callable[[], None],
            fallback: Callable[[int, Any], Future[FetchResult]],
        ) -> PagePump:
            # The header block is the one this client's requests carry (Host first, as httpx
            # adds it), taken once from a real request; only the request line differs per page.
            template = httpx.Request("GET", url, headers=headers)
            block = request_bytes(template, b"").split(b"\r\n", 1)[1]

            # urlencode(_page_params(...)), with the filters encoded once.
            start = f"GET {base_path}?" + (f"{urlencode(filters)}&" if filters else "")

            def request_for(page: int) -> bytes:
                return f"{start}page={page}&limit={limit} HTTP/1.1\r\n".encode("ascii") + block

            def finish(page: int, exchange: Exchange) -> FetchResult:
                received = self._end_attempt()

                def action() -> str:  # only an error names the request: not built per page
                    return _page_action(_page_params(filters, page, limit))

                if exchange.error is not None:
                    raise _network_error(exchange.error, action()) from exchange.error
                if exchange.status >= 300:
                    response = httpx.Response(
                        exchange.status, headers=exchange.headers, content=exchange.body
                    )
                    raise self._status_error(response, action())
                result = _page_result(
                    exchange.body,
                    exchange.status,
                    exchange.sent,
                    received,
                    exchange.sent_at,
                    action,
                )
                self._limiter.succeeded()
                return result

            return PagePump(
                transport,
                origin_of(url),
                request_for=request_for,
                begin=lambda: self._begin_attempt(count_request),
                finish=finish,
                limiter=self._limiter,
                cancelled=cancelled,
                fallback=fallback,
                timeouts=self._timeout,
            )

        return factory


class JobScan:
    """Iterable of :class:`Page`; ``report`` is live during iteration and final after it."""

    def __init__(self, scanner: Scanner) -> None:
        self._scanner = scanner

    def __iter__(self) -> Iterator[Page]:
        return self._scanner.pages()

    @property
    def report(self) -> ScanReport:
        return self._scanner.report


class Jobs:
    """``client.jobs``: the jobs resource."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def scan(
        self,
        *,
        q: str | None = None,
        location: str | None = None,
        type: str | None = None,
        start_page: int = 1,
        expected_total: int | None = None,
        stop_before: datetime | tuple[datetime, str] | None = None,
        concurrent: bool = True,
        on_page: Callable[[Page], None] | None = None,
    ) -> JobScan:
        """Every page of the (filtered) listing; see :mod:`connectors.pagination`."""
        client = self._client
        filters = _filters(q, location, type)

        def fetch(
            page: int,
            limit: int,
            cancelled: Callable[[], bool],
            count: Callable[[], None],
            first_error: JobSphereError | None = None,
        ) -> FetchResult:
            return client.fetch_page(page, limit, filters, cancelled, count, first_error)

        return JobScan(
            Scanner(
                fetch,
                page_size=client.page_size,
                concurrency=client.concurrency,
                concurrent=concurrent,
                start_page=start_page,
                expected_total=expected_total,
                stop_before=stop_before,
                on_page=on_page,
                pump=client._page_pump(filters),
            )
        )

    def list(
        self, q: str | None = None, location: str | None = None, type: str | None = None
    ) -> Iterator[Job]:
        """Typed jobs across all pages, fetched lazily one page at a time (SDK style)."""
        for page in self.scan(q=q, location=location, type=type, concurrent=False):
            for record in page.records:
                yield Job.model_validate(record)

    def create(self, job: Mapping[str, Any]) -> Job:
        """``POST /jobs``; retried only when the server provably did not create it."""
        body = self._client.request("POST", "/jobs", body=dict(job), idempotent=False)
        return _job_from(body, "POST /jobs")

    def update(self, job_id: str, changes: Mapping[str, Any]) -> Job:
        """``PUT /jobs/{id}`` with the fields to change."""
        path = f"/jobs/{quote(job_id, safe='')}"
        return _job_from(self._client.request("PUT", path, body=dict(changes)), f"PUT {path}")

    def delete(self, job_id: str) -> None:
        """``DELETE /jobs/{id}``."""
        self._client.request("DELETE", f"/jobs/{quote(job_id, safe='')}")


def _filters(q: str | None, location: str | None, job_type: str | None) -> dict[str, str]:
    given = {"q": q, "location": location, "type": job_type}
    return {key: value for key, value in given.items() if value is not None}


def _describe(params: Mapping[str, Any]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items())


def _job_from(body: Any, action: str) -> Job:
    if isinstance(body, dict) and "id" not in body and isinstance(body.get("data"), dict):
        body = body["data"]
    try:
        return Job.model_validate(body)
    except ValidationError as exc:
        raise TruncatedResponseError(
            f"{action} returned a body that is not a job with an id", status=200
        ) from exc


def _page_params(filters: Mapping[str, str], page: int, limit: int) -> dict[str, Any]:
    return {**filters, "page": page, "limit": limit}


def _page_action(params: Mapping[str, Any]) -> str:
    return f"GET /jobs {_describe(params)}"


def _page_result(
    content: bytes,
    status: int,
    sent: int,
    received: int,
    sent_at: datetime,
    action: Callable[[], str],
) -> FetchResult:
    """A 2xx ``GET /jobs`` body as a page, or the error that says why it is not one (named by
    ``action()``, called only then)."""
    try:
        body = decode_page(content)
    except PageBodyError as exc:
        if exc.malformed:
            raise _not_json(action(), status, content) from exc
        raise TruncatedResponseError(
            f"{action()} returned a body that is not a page envelope ({exc})", status=status
        ) from exc
    return FetchResult(body=body, sent=sent, received=received, sent_at=sent_at)


def _network_error(exc: httpx.TransportError, action: str) -> NetworkError:
    """A transport failure as the client reports it (secrets masked in the cause too)."""
    _scrub(exc)
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(
            f"{action} timed out ({type(exc).__name__})",
            request_sent=not isinstance(exc, httpx.ConnectTimeout),
        )
    return NetworkError(
        f"{action} failed: {_transport_reason(exc)}",
        request_sent=not isinstance(exc, httpx.ConnectError),
    )


def _not_json(action: str, status: int, content: bytes) -> TruncatedResponseError:
    return TruncatedResponseError(
        f"{action} returned {status} with a body that is not valid JSON "
        f"({len(content)} bytes; cut short?)",
        status=status,
    )


def _server_message(content: bytes) -> str | None:
    """The error text of a JSON error body; None for anything else (HTML, empty, junk)."""
    if not content or len(content) > 64_000:
        return None
    try:
        decoded = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, dict):
        return None
    message = ApiErrorBody.model_validate(decoded).summary()
    return redact(message) if message else None


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection without a complete response"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return redact(str(exc)) or type(exc).__name__


def _scrub(exc: BaseException) -> None:
    """Mask secrets in a library exception's text too, since it travels on as ``__cause__``."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)


def _not_processed(error: RetriableError) -> bool:
    if isinstance(error, RateLimitedError):
        return True
    return isinstance(error, NetworkError) and not error.request_sent
