"""An httpx transport that speaks HTTP/1.1 through the standard library's ``http.client``.

Why not ``httpx.HTTPTransport``: its protocol layer (httpcore and the pure-Python h11 state
machine) costs ~350 us of CPU per 40 KB page against ~120 us for ``http.client``, whose status
and body reading is mostly C. A full sync makes a request per 100 jobs and is CPU-bound on the
client's two cores, so that difference was ~2.8 of the 10.9 CPU-seconds of a 1,000,000-job scan
(11.2 s -> 8.6 s wall for the scan alone, 18.0 s -> 16.0-16.5 s for the whole sync; see the
README's benchmark notes). Everything above the wire stays httpx: requests and responses are
``httpx.Request``/``httpx.Response``, and every failure is raised as the httpx exception the
default transport would raise, so :mod:`connectors.client` treats both transports alike and tests
may still pass ``httpx.MockTransport``.

What it does: one keep-alive pool of idle connections per origin (LIFO, at most
``max_keepalive`` kept), a connection that the server has closed while idle is noticed before
reuse (readable means EOF or junk) and replaced, the per-request ``timeout`` extension is
honoured for connect, write and read, TLS uses ``httpx.create_ssl_context()`` (certifi roots and
verification, as httpx), and environment proxies are ignored (the client never used them).
The number of connections in use is bounded by the caller (the client's concurrency limiter).
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

__all__ = ["StdlibTransport"]

_T = TypeVar("_T")
_Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client`` with connection reuse; see the module docstring."""

    def __init__(self, *, max_keepalive: int = 10, ssl_context: Any = None) -> None:
        self._max_keepalive = max(0, max_keepalive)
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        timeout = request.extensions.get("timeout", {})
        connection = self._checkout(origin, timeout.get("connect"))
        try:
            status, headers, body = self._exchange(connection, request, timeout)
        except BaseException:
            connection.close()
            raise
        self._checkin(origin, connection)
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    # ------------------------------------------------------------------ pool
    def _checkout(
        self, origin: _Origin, connect_timeout: float | None
    ) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                connection = idle.pop()
                if _still_open(connection):
                    return connection
                connection.close()
        scheme, host, port = origin
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=connect_timeout, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            connection.close()
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}") from exc
        assert connection.sock is not None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _checkin(self, origin: _Origin, connection: http.client.HTTPConnection) -> None:
        # ``http.client`` drops the socket itself after ``Connection: close`` or an
        # HTTP/1.0 response, so a connection without one is not reusable.
        if connection.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(origin, [])
                if not self._closed and len(idle) < self._max_keepalive:
                    idle.append(connection)
                    return
        connection.close()

    # -------------------------------------------------------------- exchange
    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        request: httpx.Request,
        timeout: dict[str, Any],
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        sock = connection.sock
        assert sock is not None
        content = request.read()

        def send() -> None:
            connection.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(content or None)

        sock.settimeout(timeout.get("write"))
        _translated(send, httpx.WriteTimeout, httpx.WriteError)
        sock.settimeout(timeout.get("read"))

        def receive() -> tuple[int, list[tuple[str, str]], bytes]:
            response = connection.getresponse()
            body = response.read()
            return response.status, response.getheaders(), body

        return _translated(receive, httpx.ReadTimeout, httpx.ReadError)


def _translated(
    step: Callable[[], _T],
    on_timeout: type[httpx.TimeoutException],
    on_error: type[httpx.NetworkError],
) -> _T:
    """Run one side of the exchange, raising what ``httpx.HTTPTransport`` would raise."""
    try:
        return step()
    except TimeoutError as exc:
        raise on_timeout("timed out") from exc
    except (http.client.RemoteDisconnected, http.client.IncompleteRead) as exc:
        raise httpx.RemoteProtocolError(
            "the server closed the connection without sending a complete response"
        ) from exc
    except http.client.HTTPException as exc:
        raise httpx.RemoteProtocolError(f"malformed HTTP response ({type(exc).__name__})") from exc
    except OSError as exc:
        raise on_error(str(exc) or type(exc).__name__) from exc


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection has nothing to read; readable means closed (or junk)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
