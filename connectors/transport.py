"""An httpx transport that speaks HTTP/1.1 on plain sockets, parsed by ``httptools`` (llhttp, C).

Why not ``httpx.HTTPTransport``: its protocol layer (httpcore and the pure-Python h11 state
machine) costs ~350 us of CPU per 40 KB page. ``http.client`` was the next step (217 us: its
headers go through the ``email`` package in Python). Here a request is one ``sendall`` of the
request line and headers joined once, and the response is fed to llhttp, which calls back once
per header and per body piece: 134 us per page, syscalls included, most of it under the GIL that
the scan, the 8 fetch threads and the batcher share. A full sync makes a request per 100 jobs and is
CPU-bound on the client's two cores, so every microsecond per page is ~10 ms per 1M jobs.
``httptools`` is the parser uvicorn runs on (already a pinned dependency of the sandbox and the
webhook receiver); no HTTP parsing is written here, only the socket plumbing.

Everything above the wire stays httpx: requests and responses are ``httpx.Request``/
``httpx.Response``, and every failure is raised as the httpx exception the default transport
would raise, so :mod:`connectors.client` treats both transports alike and tests may still pass
``httpx.MockTransport``.

What it does: one keep-alive pool of idle connections per origin (LIFO, at most
``max_keepalive`` kept); a connection is pooled only when llhttp says the response allows it
(``Connection: close``, HTTP/1.0 and bodies delimited by EOF do not) and nothing followed the
response; a connection that the server closed while idle is noticed before reuse (readable
means EOF or junk) and replaced; the per-request ``timeout`` extension is honoured for connect,
write and each read; TLS uses ``httpx.create_ssl_context()`` (certifi roots and verification,
as httpx); chunked bodies arrive de-chunked; environment proxies are ignored (the client never
used them). The number of connections in use is bounded by the caller (the client's
concurrency limiter).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from typing import Any

import httptools
import httpx

__all__ = [
    "Connection",
    "HttptoolsTransport",
    "ResponseReader",
    "origin_of",
    "receive_some",
    "request_bytes",
    "send_request",
]

_Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RECV_BYTES = 256 * 1024
_INCOMPLETE = "the server closed the connection without sending a complete response"


class Connection:
    """One socket to one origin; ``reusable`` once a response ended cleanly with keep-alive."""

    __slots__ = ("buffer", "reusable", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reusable = False
        # Received into and handed to llhttp as slices; its callbacks copy what they keep, so
        # one buffer serves every response on this connection (one thread at a time).
        self.buffer = bytearray(_RECV_BYTES)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class ResponseReader:
    """llhttp's callbacks for one response: headers, body pieces, and whether it has ended."""

    __slots__ = ("body", "complete", "delimited", "headers", "headers_done", "keep_alive", "parser")

    def __init__(self) -> None:
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.keep_alive = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.headers_done = False
        # Whether the body's end is announced (length or chunked) rather than marked by EOF.
        self.delimited = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self.delimited = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # Asked now: once ``feed_data`` returns, llhttp has reset for the next message.
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()
        self.complete = True

    def finish(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the complete response; the parser is let go (it holds
        the reader: no cycle left for the GC)."""
        assert self.parser is not None
        status = self.parser.get_status_code()
        self.parser = None
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        return status, self.headers, body


class HttptoolsTransport(httpx.BaseTransport):
    """HTTP/1.1 over sockets with llhttp parsing and connection reuse; see the module docstring."""

    def __init__(self, *, max_keepalive: int = 10, ssl_context: Any = None) -> None:
        self._max_keepalive = max(0, max_keepalive)
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = origin_of(request.url)
        timeout = request.extensions.get("timeout", {})
        connection = self.checkout(origin, timeout.get("connect"))
        try:
            status, headers, body = _exchange(connection, request, timeout)
        except BaseException:
            connection.close()
            raise
        self.checkin(origin, connection)
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
    # Public to connectors.pump, which drives pooled connections from its own thread.
    def checkout(self, origin: _Origin, connect_timeout: float | None) -> Connection:
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                connection = idle.pop()
                if _still_open(connection.sock):
                    return connection
                connection.close()
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._ssl_context is None:
                    self._ssl_context = httpx.create_ssl_context()
                sock = self._ssl_context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ConnectTimeout(f"TLS handshake with {host}:{port} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise httpx.ConnectError(f"TLS handshake with {host}:{port} failed: {exc}") from exc
        return Connection(sock)

    def checkin(self, origin: _Origin, connection: Connection) -> None:
        if connection.reusable:
            with self._lock:
                idle = self._idle.setdefault(origin, [])
                if not self._closed and len(idle) < self._max_keepalive:
                    idle.append(connection)
                    return
        connection.close()


def request_bytes(request: httpx.Request, content: bytes) -> bytes:
    """The request line, the request's headers (Host from its URL if it has none) and the body,
    as one write."""
    lines = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1"]
    if "host" not in request.headers:
        lines.append(f"Host: {request.url.netloc.decode('ascii')}")
    for name, value in request.headers.raw:
        lines.append(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
    if content and "content-length" not in request.headers:
        lines.append(f"Content-Length: {len(content)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


def _exchange(
    connection: Connection, request: httpx.Request, timeout: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    send_request(connection, request_bytes(request, request.read()), timeout.get("write"))
    response = ResponseReader()
    try:
        _receive(connection, response, timeout.get("read"))
    except BaseException:
        response.parser = None  # the parser holds the response: no cycle left for the GC
        raise
    return response.finish()


def send_request(connection: Connection, payload: bytes, write_timeout: float | None) -> None:
    """Write a whole request; failures are raised as httpx's own exceptions. The connection is
    not reusable until its response has ended cleanly. Shared by this transport and
    :mod:`connectors.pump`."""
    connection.reusable = False
    try:
        connection.sock.settimeout(write_timeout)
        connection.sock.sendall(payload)
    except TimeoutError as exc:
        raise httpx.WriteTimeout("timed out") from exc
    except OSError as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__) from exc


def _receive(connection: Connection, response: ResponseReader, read_timeout: float | None) -> None:
    """Read one whole response into ``response``."""
    connection.sock.settimeout(read_timeout)
    while not response.complete:
        receive_some(connection, response)
    # Anything that arrives later while the connection is idle is caught by ``_still_open``.


def receive_some(connection: Connection, response: ResponseReader) -> None:
    """One read from the connection, fed to llhttp; once the response is complete, the
    connection is marked reusable if it allows. Failures are raised as httpx's own exceptions.
    Shared by this transport and :mod:`connectors.pump`, which calls it when epoll says the
    socket is readable."""
    assert response.parser is not None
    try:
        received = connection.sock.recv_into(connection.buffer)
    except TimeoutError as exc:
        raise httpx.ReadTimeout("timed out") from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
    if not received:
        if response.headers_done and not response.delimited:
            response.complete = True  # a body delimited by the end of the connection: it ended
            connection.reusable = False
            return
        raise httpx.RemoteProtocolError(_INCOMPLETE)
    try:
        with memoryview(connection.buffer) as view:
            response.parser.feed_data(view[:received])
    except httptools.HttpParserError as exc:
        if not response.complete:
            raise httpx.RemoteProtocolError(f"malformed HTTP response ({exc})") from exc
        connection.reusable = False  # junk after a whole response: keep it, drop the connection
        return
    if response.complete:
        connection.reusable = response.keep_alive


def origin_of(url: httpx.URL) -> _Origin:
    """Scheme, host and port (the scheme's default if the URL has none): a pool's key."""
    if url.scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])


def _still_open(sock: socket.socket) -> bool:
    """An idle keep-alive connection has nothing to read; readable means closed (or junk)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
