"""HttptoolsTransport against real loopback sockets: reuse, stale connections, faults, timeouts.

A scripted raw-socket server (not the sandbox) so each test controls exactly what the wire does:
how many connections were opened, a response cut short, a connection closed while idle.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import httpx
import pytest

from connectors import Client
from connectors.errors import NetworkError, RetryExhaustedError
from connectors.retry import RetryPolicy
from connectors.transport import HttptoolsTransport

Handler = Callable[[socket.socket, bytes], bool]
"""Gets the connection and one request's bytes; returns False to close the connection."""

_TIMEOUT = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


def _response(body: bytes, *, extra: str = "", length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n{extra}"
    return head.encode() + b"\r\n" + body


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += conn.recv(65536)
    return head + b"\r\n\r\n" + rest


class _Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.serving: list[threading.Thread] = []
        self.hung_up = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.serving.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while (request := _read_request(conn)) is not None:
                    self.requests.append(request)
                    if not self.handler(conn, request):
                        break
            except OSError:
                pass  # the client hung up mid-exchange, or close() shut the socket down
        self.hung_up.set()

    def close(self) -> None:
        """Shut connections down (not close them under a thread still reading) and wait.

        Closing a socket another thread is blocked on frees its descriptor; the reader then
        fails with EBADF, or worse reads from whatever reused the number, after the test ended.
        """
        self.listener.close()
        for conn in self.open:
            with suppress(OSError):  # already closed by its serving thread
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self.serving:
            thread.join(timeout=5)


@contextmanager
def _serving(handler: Handler) -> Iterator[_Server]:
    server = _Server(handler)
    try:
        yield server
    finally:
        server.close()


def _ok(conn: socket.socket, request: bytes) -> bool:
    conn.sendall(_response(b'{"ok":true}'))
    return True


def _get(transport: HttptoolsTransport, url: str, **timeout: float) -> httpx.Response:
    request = httpx.Request("GET", url, extensions={"timeout": {**_TIMEOUT, **timeout}})
    response = transport.handle_request(request)
    response.read()
    return response


def test_keep_alive_reuses_one_connection() -> None:
    with _serving(_ok) as server:
        transport = HttptoolsTransport(max_keepalive=2)
        for page in range(5):
            response = _get(transport, f"{server.url}/v2/jobs?page={page}&limit=100")
            assert response.status_code == 200
            assert response.json() == {"ok": True}
            assert response.headers["content-type"] == "application/json"
        transport.close()
    assert server.connections == 1
    assert server.requests[3].startswith(b"GET /v2/jobs?page=3&limit=100 HTTP/1.1\r\n")


def test_request_line_headers_and_body_arrive_intact() -> None:
    with _serving(_ok) as server:
        transport = HttptoolsTransport()
        request = httpx.Request(
            "POST",
            f"{server.url}/v2/jobs/a%20b?q=x%26y",
            headers={"Authorization": "Bearer k", "X-Trace": "t1"},
            content=b'{"title":"x"}',
            extensions={"timeout": _TIMEOUT},
        )
        transport.handle_request(request).read()
        transport.close()
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v2/jobs/a%20b?q=x%26y HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    assert headers[b"host"] == f"127.0.0.1:{server.port}".encode()
    assert headers[b"authorization"] == b"Bearer k"
    assert headers[b"x-trace"] == b"t1"
    assert headers[b"content-length"] == b"13"
    assert b"accept-encoding" not in headers  # the body is never compressed behind our back
    assert body == b'{"title":"x"}'


def test_connection_closed_while_idle_is_replaced_before_reuse() -> None:
    def once(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(_response(b"{}"))
        return False  # keep-alive promised, but the server hangs up right after

    with _serving(once) as server:
        transport = HttptoolsTransport()
        first = _get(transport, server.url + "/a")
        assert server.hung_up.wait(5)  # the server's FIN has been sent before we reuse
        second = _get(transport, server.url + "/b")
        transport.close()
    assert (first.status_code, second.status_code) == (200, 200)
    assert server.connections == 2


def test_connection_close_response_is_not_pooled() -> None:
    def closing(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(_response(b"{}", extra="Connection: close\r\n"))
        return False

    with _serving(closing) as server:
        transport = HttptoolsTransport()
        for _ in range(3):
            assert _get(transport, server.url + "/").status_code == 200
        transport.close()
    assert server.connections == 3


def test_chunked_body_arrives_dechunked_and_the_connection_is_reused() -> None:
    def chunked(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n')
        conn.sendall(b"2\r\n1}\r\n0\r\n\r\n")
        return True

    with _serving(chunked) as server:
        transport = HttptoolsTransport()
        bodies = [_get(transport, server.url + "/").content for _ in range(2)]
        transport.close()
    assert bodies == [b'{"a":1}', b'{"a":1}']
    assert server.connections == 1


def test_body_ended_by_the_server_closing_is_whole_and_not_pooled() -> None:
    def until_eof(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        conn.sendall(b'{"data":[],' + b'"meta":{}}')
        conn.shutdown(socket.SHUT_WR)
        return False

    with _serving(until_eof) as server:
        transport = HttptoolsTransport()
        bodies = [_get(transport, server.url + "/").content for _ in range(2)]
        transport.close()
    assert bodies == [b'{"data":[],"meta":{}}'] * 2
    assert server.connections == 2


def test_junk_after_a_whole_response_keeps_the_response_and_drops_the_connection() -> None:
    def trailing(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(_response(b"{}") + b"\x00garbage\r\n")
        return True

    with _serving(trailing) as server:
        transport = HttptoolsTransport()
        responses = [_get(transport, server.url + "/") for _ in range(2)]
        transport.close()
    assert [r.content for r in responses] == [b"{}", b"{}"]
    assert server.connections == 2


def test_malformed_status_line_is_a_remote_protocol_error() -> None:
    def garbage(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        return False

    with _serving(garbage) as server:
        transport = HttptoolsTransport()
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            _get(transport, server.url + "/")
        transport.close()


def test_dropped_connection_is_a_remote_protocol_error() -> None:
    with _serving(lambda conn, request: False) as server:
        transport = HttptoolsTransport()
        with pytest.raises(httpx.RemoteProtocolError):
            _get(transport, server.url + "/")
        transport.close()


def test_body_cut_short_is_a_remote_protocol_error() -> None:
    def truncating(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(_response(b'{"data":[', length=4096))
        return False

    with _serving(truncating) as server:
        transport = HttptoolsTransport()
        with pytest.raises(httpx.RemoteProtocolError):
            _get(transport, server.url + "/")
        transport.close()


def test_silent_server_is_a_read_timeout_and_the_connection_is_not_reused() -> None:
    replies = iter([False, True])

    def silent_then_ok(conn: socket.socket, request: bytes) -> bool:
        if next(replies):
            conn.sendall(_response(b"{}"))
        return True

    with _serving(silent_then_ok) as server:
        transport = HttptoolsTransport()
        with pytest.raises(httpx.ReadTimeout):
            _get(transport, server.url + "/", read=0.2)
        assert _get(transport, server.url + "/").status_code == 200
        transport.close()
    assert server.connections == 2


def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = HttptoolsTransport()
    with pytest.raises(httpx.ConnectError):
        _get(transport, f"http://127.0.0.1:{port}/")


def test_https_speaks_tls_and_a_plain_http_peer_fails_the_handshake() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def plain_http_peer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=plain_http_peer, daemon=True).start()
    transport = HttptoolsTransport()
    try:
        with pytest.raises(httpx.ConnectError):
            _get(transport, f"https://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        listener.close()
        transport.close()


def test_unknown_scheme_is_rejected() -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        _get(HttptoolsTransport(), "ftp://127.0.0.1/")


def test_client_reports_a_connect_error_as_not_sent() -> None:
    """The client's retry rules depend on the httpx exception type the transport raises."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    once = RetryPolicy(max_attempts=1)
    with (
        Client("k", f"http://127.0.0.1:{port}/v2", retry=once) as client,
        pytest.raises(RetryExhaustedError) as caught,
    ):
        client.request("POST", "/jobs", body={"title": "x"}, idempotent=False)
    error = caught.value.last_error
    assert isinstance(error, NetworkError)
    assert error.request_sent is False
    assert "could not connect" in str(error)
